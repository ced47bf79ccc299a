/* A backend the build lacks gets one answer, whichever way it is asked
 * for: evq_options_t.backend and EVQ_BACKEND both fail with EVQ_ENOTSUP,
 * whose text names the build, and the reason evq_backend_check() gives a
 * program is the line EVQ_BACKEND makes evq_create() print for a person:
 * that the name is not a backend of this build, and which backends are. */
#define _GNU_SOURCE
#include "harness.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A real backend's name that this build does not have. */
static const char *absent_name(void) {
  static const char *const all[] = {"kqueue", "iocp", "io_uring", "epoll"};
  const char *names[8];
  int n = evq_backends(names, 8);
  for (size_t a = 0; a < sizeof all / sizeof all[0]; a++) {
    int found = 0;
    for (int i = 0; i < n && i < 8; i++) found |= strcmp(names[i], all[a]) == 0;
    if (!found) return all[a];
  }
  return "no-such-backend";
}

/* evq_create() with EVQ_BACKEND=name in a child; its stderr into said. */
static void create_from_env(const char *name, char *said, size_t cap) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 2);
    setenv("EVQ_BACKEND", name, 1);
    evq_t *q = NULL;
    _exit(evq_create(&q, NULL) == EVQ_ENOTSUP && !q ? 0 : 1);
  }
  close(p[1]);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < cap && (r = read(p[0], said + got, cap - 1 - got)) > 0)
    got += (size_t)r;
  said[got] = '\0';
  close(p[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

UNIT(backend_absent_one_answer) {
  const char *name = absent_name();
  char why[128];
  CHECK_EQ(evq_backend_check(name, why, sizeof why), EVQ_ENOTSUP);
  CHECK(strncmp(why, "not a backend of this build (it has: ", 37) == 0);
  const char *names[8];
  int n = evq_backends(names, 8);
  for (int i = 0; i < n && i < 8; i++) CHECK(strstr(why, names[i]) != NULL);

  /* A program: the code, and a text that does not blame a backend. */
  evq_options_t opts = {0};
  opts.backend = name;
  evq_t *q = NULL;
  int rc = evq_create(&q, &opts);
  CHECK_EQ(rc, EVQ_ENOTSUP);
  CHECK(q == NULL);
  CHECK(strstr(evq_strerror(rc), "not in this build") != NULL);

  /* A person: the same reason, word for word. */
  char said[512], want[256];
  create_from_env(name, said, sizeof said);
  snprintf(want, sizeof want, "evq: EVQ_BACKEND=%s: %s\n", name, why);
  if (strcmp(said, want) != 0)
    fprintf(stderr, "EVQ_BACKEND printed '%s', not '%s'\n", said, want);
  CHECK(strcmp(said, want) == 0);
}
