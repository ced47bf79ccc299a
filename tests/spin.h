/* The suite's spin rule (docs/reliability.md, "A suite that does not fail
 * by chance"), shared by the conformance harness, the fuzzer and the load
 * programs.
 *
 * A wait that reports nothing must sleep. It is told by counting, not by
 * timing: evq's wait loop sleeps in the backend once per turn, so a
 * sleeping wait makes one turn, or a few (a completion that carries
 * nothing for the caller, a change that lands late), while a spinning one
 * makes hundreds in a millisecond. CPU time, which the suite once
 * compared with wall time, is charged by a loaded virtual machine for
 * time a process did not run; load can make a spin turn fewer times, but
 * never a sleeping wait turn more. */
#ifndef EVQ_TESTS_SPIN_H
#define EVQ_TESTS_SPIN_H

#include "evq.h"

#include <stdint.h>

/* The wait loop's turns so far (src/evq.c; a test hook, not API). */
uint64_t evq__wait_rounds(evq_t *q);

/* More turns than this in one empty wait is a spin. */
#define TQ_SPIN_ROUNDS 16

#endif
