/* poll(2)'s event bits and evq's flags, both ways: the poll backend and the
 * io_uring backend (whose poll requests take and give the same bits) share
 * them. As on epoll, hang-up and error also count as readable and
 * writable, so the caller's I/O call returns at once; half-close (RDHUP) is
 * asked for with READABLE only, so a write-only registration does not spin
 * on a peer's shutdown. */
#ifndef EVQ_POLLMASK_H
#define EVQ_POLLMASK_H

#include "backend.h"

#include <poll.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0 /* not Linux: hang-up still arrives as POLLHUP */
#endif

static inline uint32_t evq__poll_mask(uint32_t dirs) {
  uint32_t m = 0;
  if (dirs & EVQ_READABLE) m |= POLLIN | POLLRDHUP;
  if (dirs & EVQ_WRITABLE) m |= POLLOUT;
  if (dirs & EVQ_PRIORITY) m |= POLLPRI;
  return m;
}

static inline uint32_t evq__poll_results(uint32_t e) {
  uint32_t f = 0;
  if (e & POLLIN) f |= EVQ_READABLE;
  if (e & POLLOUT) f |= EVQ_WRITABLE;
  if (e & POLLPRI) f |= EVQ_PRIORITY;
  if (e & POLLRDHUP) f |= EVQ_READ_CLOSED;
  if (e & POLLHUP)
    f |= EVQ_READ_CLOSED | EVQ_WRITE_CLOSED | EVQ_READABLE | EVQ_WRITABLE;
  if (e & POLLERR) f |= EVQ_ERROR | EVQ_READABLE | EVQ_WRITABLE;
  return f;
}

#endif
