/* Backends that are compiled in but cannot be used here say so and why,
 * and asking for one never falls back silently to another. */
#define _GNU_SOURCE
#include "harness.h"

#include <string.h>
#ifdef __linux__
#include <sys/wait.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

UNIT(backend_check) {
  char why[128];
  CHECK_EQ(evq_backend_check(NULL, why, sizeof why), EVQ_EINVAL);
  CHECK_EQ(evq_backend_check("no-such-backend", why, sizeof why), EVQ_ENOTSUP);
  CHECK(strstr(why, "not a backend") != NULL);
  const char *names[8];
  int n = evq_backends(names, 8);
  CHECK(n >= 1);
  CHECK_OK(evq_backend_check(names[0], why, sizeof why)); /* the default */
  CHECK_EQ(why[0], '\0');
  CHECK_EQ(evq_backend_check("no-such-backend", NULL, 0), EVQ_ENOTSUP);
  CHECK_EQ(evq_backend_check("no-such-backend", why, 1), EVQ_ENOTSUP);
  CHECK_EQ(why[0], '\0'); /* truncated to fit, never overflowing */
}

#ifdef __linux__
static int compiled_in(const char *name) {
  const char *names[8];
  int n = evq_backends(names, 8);
  for (int i = 0; i < n && i < 8; i++)
    if (strcmp(names[i], name) == 0) return 1;
  return 0;
}

/* In a child that a seccomp filter forbids io_uring_setup (as Docker's
 * default profile and kernel.io_uring_disabled=2 do), io_uring is refused
 * with its reason, through evq_backend_check and through EVQ_BACKEND, and
 * epoll keeps working. */
static int forbidden_child(int err_fd) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1 /* EPERM */),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return 10;
  char why[128];
  if (evq_backend_check("io_uring", why, sizeof why) != EVQ_ENOTSUP) return 11;
  if (!strstr(why, "not permitted")) return 12;
  dup2(err_fd, 2);
  setenv("EVQ_BACKEND", "io_uring", 1);
  evq_t *q = NULL;
  if (evq_create(&q, NULL) != EVQ_ENOTSUP || q) return 13;
  unsetenv("EVQ_BACKEND");
  if (evq_create(&q, NULL) != 0) return 14;
  evq_free(q);
  return 0;
}

static void io_uring_unavailable(void) {
  if (!compiled_in("io_uring")) { /* a build without it says that instead */
    char why[128];
    CHECK_EQ(evq_backend_check("io_uring", why, sizeof why), EVQ_ENOTSUP);
    CHECK(strstr(why, "not a backend") != NULL);
    return;
  }
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) _exit(forbidden_child(p[1]));
  close(p[1]);
  char said[512] = {0};
  size_t got = 0;
  ssize_t r;
  while ((r = read(p[0], said + got, sizeof said - 1 - got)) > 0) got += (size_t)r;
  close(p[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  CHECK(strstr(said, "EVQ_BACKEND=io_uring") != NULL);
  CHECK(strstr(said, "not permitted") != NULL);
}
#endif

UNIT(io_uring_unavailable) {
#ifdef __linux__
  io_uring_unavailable();
#else /* io_uring is Linux's: elsewhere it is no backend of the build */
  char why[128];
  CHECK_EQ(evq_backend_check("io_uring", why, sizeof why), EVQ_ENOTSUP);
#endif
}
