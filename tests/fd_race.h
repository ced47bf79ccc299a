/* The tests' own opening and closing of descriptor numbers that evq may be
 * asking the kernel about on another thread at that moment: a close evq
 * cannot see (evq.h, "Closing"), or a new descriptor taking a number just
 * freed. ThreadSanitizer models a descriptor as memory and reports each
 * such pair of calls as a data race, though the kernel serialises them.
 * tests/tsan.supp suppresses those reports by these functions' names: each
 * makes one call on descriptors and touches no memory of evq's or the
 * tests', so a report with one of them in a stack is about a descriptor,
 * and a race on memory never has them in its stacks (the suppressions are
 * matched against every frame of both stacks). Not inlined, so that their
 * names are in the stacks. */
#ifndef EVQ_TESTS_FD_RACE_H
#define EVQ_TESTS_FD_RACE_H

#include "evq_net.h"

#define TQ_FD_CALL static __attribute__((noinline, unused))

TQ_FD_CALL int tq_fd_close(evq_fd_t fd) { return evq_close(fd); }
TQ_FD_CALL int tq_fd_socketpair(evq_fd_t p[2]) { return evq_socketpair(p); }

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>

TQ_FD_CALL int tq_fd_dup3(int from, int to) {
  return dup3(from, to, O_CLOEXEC);
}
TQ_FD_CALL int tq_fd_dup(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }
TQ_FD_CALL int tq_fd_pipe(int p[2]) { return pipe2(p, O_NONBLOCK | O_CLOEXEC); }
#endif

#endif
