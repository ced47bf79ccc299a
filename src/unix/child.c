/*
 * Child processes on POSIX: which pid can be watched, what a backend can
 * poll for it, and reaping exactly that pid.
 *
 * On Linux 5.3+ a pidfd (pidfd_open) is readable once the process ends, so
 * epoll and poll watch it like any descriptor. Elsewhere, and on older
 * kernels, reg->handle stays -1: kqueue watches the pid (EVFILT_PROC), and
 * the other backends fall back to SIGCHLD, after which the core tries
 * waitid on each watched pid. Neither path ever reaps a child evq was not
 * asked to watch.
 */
#define _GNU_SOURCE
#include "unix.h"
#include "core.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

int evq__child_signal(void) { return SIGCHLD; }

/* EVQ_CHILD_FALLBACK=1 makes evq ignore pidfds, so the SIGCHLD path can be
 * tested on a kernel that has them. */
static int open_pidfd(pid_t pid) {
#if defined(__linux__) && defined(SYS_pidfd_open)
  const char *off = evq__getenv("EVQ_CHILD_FALLBACK");
  if (off && *off == '1') return -1;
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0 && evq__set_cloexec(fd) != 0) {
    close(fd);
    return -1;
  }
  return fd; /* -1 (ENOSYS, or no room): the SIGCHLD path */
#else
  (void)pid;
  return -1;
#endif
}

/* waitid with WNOWAIT tells whether pid is our child without reaping it,
 * whether it still runs or has ended. */
int evq__child_open(evq__reg_t *reg) {
  pid_t pid = (pid_t)reg->ident;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD ? EVQ_ENOENT : evq__from_errno(errno);
  reg->handle = open_pidfd(pid);
  return 0;
}

int evq__child_reap(evq__reg_t *reg, uint32_t *flags, uint32_t *data) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  int r;
  do r = waitid(P_PID, (id_t)reg->ident, &info, WEXITED | WNOHANG);
  while (r != 0 && errno == EINTR);
  if (r != 0) return evq__from_errno(errno);
  if (info.si_pid == 0) return 0; /* still running */
  if (info.si_code == CLD_EXITED) {
    *flags = 0;
    *data = (uint32_t)info.si_status;
  } else {
    *flags = EVQ_CHILD_SIGNALED;
    *data = (uint32_t)info.si_status;
  }
  return 1;
}

void evq__child_close(evq__reg_t *reg) {
  if (reg->handle >= 0) close((int)reg->handle);
  reg->handle = -1;
}
