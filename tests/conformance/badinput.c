/* Every bad call gets its documented code, and a failed call loses
 * nothing: the state it was given keeps working afterwards. */
#include "harness.h"

#include <string.h>

TEST(bad_input_table) {
  evq_t *q = tq_queue();
  evq_t *other = tq_queue(); /* before the close below: it opens fds */
  evq_fd_t p[2], dead[2], unused;
  tq_pair(p);
  tq_pair(dead);
  evq_fd_t closed = dead[0];
  evq_close(dead[0]);
  evq_close(dead[1]);
  evq_event_t ev[4];
  evq_timer_t t;
  evq_timer_init(&t);
  evq_options_t bogus = {.backend = "no-such-backend"};
  evq_t *none = (evq_t *)1;

  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  const struct {
    const char *what;
    long long got, want;
  } cases[] = {
    {"create NULL out", evq_create(NULL, NULL), EVQ_EINVAL},
    {"create unknown backend", evq_create(&none, &bogus), EVQ_ENOTSUP},
    {"register NULL queue", evq_register(NULL, p[1], EVQ_READABLE, EVQ_LEVEL, 0), EVQ_EINVAL},
    {"register fd -1", evq_register(q, EVQ_INVALID_FD, EVQ_READABLE, EVQ_LEVEL, 0), EVQ_EBADF},
    {"register closed fd", evq_register(q, closed, EVQ_READABLE, EVQ_LEVEL, 0), EVQ_EBADF},
    {"register no interests", evq_register(q, p[1], 0, EVQ_LEVEL, 0), EVQ_EINVAL},
    {"register result-only flag", evq_register(q, p[1], EVQ_ERROR, EVQ_LEVEL, 0), EVQ_EINVAL},
    {"register unknown flag", evq_register(q, p[1], 1u << 30, EVQ_LEVEL, 0), EVQ_EINVAL},
    {"register mode 0", evq_register(q, p[1], EVQ_READABLE, (evq_mode_t)0, 0), EVQ_EINVAL},
    {"register mode 99", evq_register(q, p[1], EVQ_READABLE, (evq_mode_t)99, 0), EVQ_EINVAL},
    {"register twice", evq_register(q, p[0], EVQ_WRITABLE, EVQ_EDGE, 2), EVQ_EEXIST},
    {"modify unknown", evq_modify(q, p[1], EVQ_READABLE, EVQ_LEVEL, 0), EVQ_ENOENT},
    {"modify bad mode", evq_modify(q, p[0], EVQ_WRITABLE, (evq_mode_t)7, 3), EVQ_EINVAL},
    {"modify no interests", evq_modify(q, p[0], 0, EVQ_LEVEL, 3), EVQ_EINVAL},
    {"deregister unknown", evq_deregister(q, p[1]), EVQ_ENOENT},
    {"deregister NULL queue", evq_deregister(NULL, p[0]), EVQ_EINVAL},
    {"rearm unknown", evq_rearm(q, p[1], EVQ_READABLE), EVQ_ENOENT},
    {"rearm no directions", evq_rearm(q, p[0], 0), EVQ_EINVAL},
    {"wait NULL queue", evq_wait(NULL, ev, 4, 0), EVQ_EINVAL},
    {"wait NULL events", evq_wait(q, NULL, 4, 0), EVQ_EINVAL},
    {"wait capacity 0", evq_wait(q, ev, 0, 0), EVQ_EINVAL},
    {"wait capacity -1", evq_wait(q, ev, -1, 0), EVQ_EINVAL},
    {"wait timeout -2", evq_wait(q, ev, 4, -2), EVQ_EINVAL},
    {"wait timeout INT64_MIN", evq_wait(q, ev, 4, INT64_MIN), EVQ_EINVAL},
    {"wake NULL", evq_wake(NULL), EVQ_EINVAL},
    {"timer start NULL queue", evq_timer_start(NULL, &t, 1, 0, 0), EVQ_EINVAL},
    {"timer start NULL timer", evq_timer_start(q, NULL, 1, 0, 0), EVQ_EINVAL},
    {"timer negative delay", evq_timer_start(q, &t, -1, 0, 0), EVQ_EINVAL},
    {"timer negative period", evq_timer_start(q, &t, 1, -5, 0), EVQ_EINVAL},
    {"timer stop not running", evq_timer_stop(q, &t), EVQ_ENOENT},
    {"timer stop NULL", evq_timer_stop(q, NULL), EVQ_EINVAL},
    {"read closed fd", evq_read(NULL, closed, ev, 1), EVQ_EBADF},
    {"write closed fd", evq_write(NULL, closed, "x", 1), EVQ_EBADF},
    {"read NULL buffer", evq_read(NULL, p[1], NULL, 4), EVQ_EINVAL},
    {"listen bad address", evq_tcp_listen(&unused, "not-an-ip", 0, 1), EVQ_EINVAL},
    {"connect bad address", evq_tcp_connect(&unused, "999.1.1.1", 80), EVQ_EINVAL},
    {"listen NULL out", evq_tcp_listen(NULL, NULL, 0, 1), EVQ_EINVAL},
    {"accept NULL out", evq_accept(q, p[0], NULL), EVQ_EINVAL},
    {"socketpair NULL", evq_socketpair(NULL), EVQ_EINVAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].got != cases[i].want)
      fprintf(stderr, "case '%s': got %lld (%s), want %lld (%s)\n",
              cases[i].what, cases[i].got, evq_strerror((int)cases[i].got),
              cases[i].want, evq_strerror((int)cases[i].want));
    CHECK_EQ(cases[i].got, cases[i].want);
  }
  CHECK(none == NULL); /* a failed create leaves NULL, not garbage */

  /* A timer running on one queue cannot be started on another. */
  CHECK_OK(evq_timer_start(q, &t, 1000 * MS, 0, 9));
  CHECK_EQ(evq_timer_start(other, &t, 1, 0, 9), EVQ_EBUSY);
  CHECK_EQ(evq_timer_stop(other, &t), EVQ_ENOENT);
  CHECK_OK(evq_timer_stop(q, &t));

  /* Nothing was lost: the first registration still reports with its
   * original token and level mode, despite the failed calls on it. */
  tq_send(p[1], 1);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
    CHECK_EQ(ev[0].token, 1);
    CHECK_EQ(ev[0].flags & (EVQ_READABLE | EVQ_WRITABLE | EVQ_PRIORITY), EVQ_READABLE);
  }
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(other);
  evq_free(q);
}

/* Two queues in one process are independent; names and the backend list
 * are consistent; EVQ_BACKEND selects the default. */
TEST(queues_are_independent) {
  evq_t *a = tq_queue(), *b = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(a, p[0], EVQ_WRITABLE, EVQ_LEVEL, 1));
  CHECK_OK(evq_register(b, p[0], EVQ_WRITABLE, EVQ_LEVEL, 2));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(a, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 1);
  CHECK_EQ(tq_wait(b, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_wake(a));
  CHECK_EQ(tq_wait(b, ev, 4, 0), 1); /* b's fd event, but no wake */
  CHECK_EQ(ev[0].token, 2);
  CHECK_OK(evq_deregister(a, p[0]));
  CHECK_OK(evq_deregister(b, p[0]));
  CHECK_EQ(tq_wait(a, ev, 4, 0), 1);
  CHECK_EQ(ev[0].token, WAKE_TOKEN);
  evq_free(a);
  evq_free(b);
  evq_close(p[0]);
  evq_close(p[1]);

  const char *names[8];
  int n = evq_backends(names, 8);
  CHECK(n >= 1 && n <= 8);
  int found = 0;
  for (int i = 0; i < n; i++) found |= strcmp(names[i], tq_backend) == 0;
  CHECK(found);
  CHECK(tq_setenv("EVQ_BACKEND", tq_backend) == 0);
  evq_t *d = NULL;
  CHECK_OK(evq_create(&d, NULL));
  CHECK(strcmp(evq_backend(d), tq_backend) == 0);
  evq_free(d);
  CHECK(tq_setenv("EVQ_BACKEND", "no-such-backend") == 0);
  CHECK_EQ(evq_create(&d, NULL), EVQ_ENOTSUP);
  evq_options_t o = {.backend = tq_backend};
  CHECK_OK(evq_create(&d, &o)); /* an explicit choice beats the variable */
  evq_free(d);
}
