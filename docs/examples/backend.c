/* Choosing a backend (docs/guide.md, "Choosing a backend"). Built and run
 * by the suite (guide.backend.<backend>). */
#include <evq.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

int main(void) {
  /* guide:begin list */
  const char *names[8];
  int count = evq_backends(names, 8); /* compiled in, best first */
  for (int i = 0; i < count && i < 8; i++) printf("%s\n", names[i]);
  /* guide:end list */
  CHECK(count >= 1 && count <= 8);

  /* guide:begin choose */
  evq_options_t opts = {0};
  opts.backend = "poll"; /* NULL: $EVQ_BACKEND if set, else the best */
  evq_t *q;
  int rc = evq_create(&q, &opts);
  if (rc == EVQ_ENOTSUP) /* not in this build (Windows has iocp alone) */
    rc = evq_create(&q, NULL);
  if (rc == 0) printf("using %s\n", evq_backend(q));
  /* guide:end choose */
  CHECK(rc == 0);
  int has_poll = 0;
  for (int i = 0; i < count; i++) has_poll |= strcmp(names[i], "poll") == 0;
  const char *env = getenv("EVQ_BACKEND");
  const char *want = has_poll ? "poll" : env && *env ? env : names[0];
  CHECK(strcmp(evq_backend(q), want) == 0);
  evq_free(q);

  /* An unknown name is refused, never replaced by another backend. */
  opts.backend = "no-such-backend";
  CHECK(evq_create(&q, &opts) == EVQ_ENOTSUP);

  /* Compiled in is not the same as usable here (io_uring). */
  /* guide:begin check */
  char why[128];
  if (evq_backend_check("io_uring", why, sizeof why) != 0)
    printf("io_uring: not here: %s\n", why);
  /* guide:end check */
  for (int i = 0; i < count; i++) {
    rc = evq_backend_check(names[i], why, sizeof why);
    opts.backend = names[i];
    int made = evq_create(&q, &opts);
    CHECK(made == rc); /* the check answers what evq_create would */
    if (made == 0) evq_free(q);
  }
  CHECK(evq_backend_check("no-such-backend", NULL, 0) == EVQ_ENOTSUP);
  return 0;
}
