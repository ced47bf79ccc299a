/* Which path a queue takes for each kind of operation (evq_io_path): on
 * io_uring the kernel's own requests (their opcodes came by 5.6), unless
 * EVQ_IO_EMULATE=1 (docs/reliability.md), the close included; the
 * multishot kinds as multishots until a kernel refuses the flag (a fresh
 * queue has asked none yet), the pool receive only with buffer rings
 * (5.19); every other POSIX backend emulates. */
#include "harness.h"
#include "evq_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static int kernel_at_least(int major, int minor) {
  struct utsname u;
  int ma = 0, mi = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2) return 0;
  return ma > major || (ma == major && mi >= minor);
}

TEST(io_path) {
  evq_t *q = tq_queue();
  const char *emulate = getenv("EVQ_IO_EMULATE");
  int native = strcmp(tq_backend, "io_uring") == 0 && kernel_at_least(5, 6) &&
               !(emulate && strcmp(emulate, "1") == 0);
  for (int k = EVQ_IO_ACCEPT; k <= EVQ_IO_CLOSE; k++) {
    int want = EVQ_PATH_EMULATED;
    if (native)
      want = k == EVQ_IO_ACCEPT_MULTI ? EVQ_PATH_NATIVE_MULTI
             : k != EVQ_IO_RECV_POOL  ? EVQ_PATH_NATIVE
             : kernel_at_least(5, 19) ? EVQ_PATH_NATIVE_MULTI
                                      : EVQ_PATH_EMULATED;
    CHECK_EQ(evq_io_path(q, k), want);
  }
  evq_free(q);
}
