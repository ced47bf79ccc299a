/*
 * The sources of events other than descriptors, by kind of registration
 * (core.h, evq__source_t). Completion operations are the fourth (io_source.c).
 */
#include "core.h"

const evq__source_t *const evq__sources[EVQ__KINDS] = {
    [EVQ__KIND_FD] = NULL,
    [EVQ__KIND_SIGNAL] = &evq__source_signal,
    [EVQ__KIND_CHILD] = &evq__source_child,
    [EVQ__KIND_IO] = &evq__source_io,
};
