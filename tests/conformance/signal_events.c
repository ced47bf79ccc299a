/* Signals as events, on every OS: on POSIX real signals (SIGUSR1 and
 * SIGUSR2), on Windows the console's Ctrl-C and Ctrl-Break, which evq
 * reports as SIGINT and SIGBREAK (TQ_SIG_A, TQ_SIG_B, tq_raise). What only
 * POSIX has (dispositions, fork, interrupted waits) is in posix/signals.c
 * and posix/unix_only.c. */
#include "harness.h"

#include <signal.h>
#include <stdatomic.h>

/* Deliveries made while nobody waits are kept and coalesce, with a count. */
TEST(signal_counts_coalesce) {
  evq_t *q = tq_queue();
  CHECK_OK(evq_signal_add(q, TQ_SIG_A, 5));
  for (int i = 0; i < 3; i++) tq_raise(TQ_SIG_A);
  evq_event_t e = tq_wait_one(q, 5);
  CHECK_EQ(e.flags, EVQ_SIGNAL);
  CHECK_EQ(e.data, 3);
  CHECK_EQ(tq_count_events(q, 5, 20 * MS, NULL), 0);
  tq_raise(TQ_SIG_A);
  CHECK_EQ(tq_wait_one(q, 5).data, 1);
  CHECK_OK(evq_signal_remove(q, TQ_SIG_A));
  evq_free(q);
}

/* Every queue subscribed to a signal gets each delivery. */
TEST(signal_every_queue) {
  evq_t *a = tq_queue(), *b = tq_queue();
  CHECK_OK(evq_signal_add(a, TQ_SIG_B, 1));
  CHECK_OK(evq_signal_add(b, TQ_SIG_B, 2));
  tq_raise(TQ_SIG_B);
  CHECK_EQ(tq_wait_one(a, 1).flags, EVQ_SIGNAL);
  CHECK_EQ(tq_wait_one(b, 2).flags, EVQ_SIGNAL);
  evq_free(a); /* freeing a queue ends its subscriptions */
  tq_raise(TQ_SIG_B);
  CHECK_EQ(tq_wait_one(b, 2).data, 1);
  evq_free(b);
}

TEST(signal_bad_input) {
  evq_t *q = tq_queue();
#ifdef _WIN32 /* SIGTERM: no console event is */
  const int bad[] = {0, -1, SIGTERM, 100000};
#else
  const int bad[] = {0, -1, SIGKILL, SIGSTOP, 100000};
#endif
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_EQ(evq_signal_add(q, bad[i], 1), EVQ_EINVAL);
  CHECK_EQ(evq_signal_add(NULL, TQ_SIG_A, 1), EVQ_EINVAL);
  CHECK_EQ(evq_signal_remove(q, TQ_SIG_A), EVQ_ENOENT);
  CHECK_EQ(evq_signal_remove(q, 0), EVQ_EINVAL);
  CHECK_OK(evq_signal_add(q, TQ_SIG_A, 1));
  CHECK_EQ(evq_signal_add(q, TQ_SIG_A, 2), EVQ_EEXIST);
  tq_raise(TQ_SIG_A);
  CHECK_EQ(tq_wait_one(q, 1).data, 1); /* the failed add changed nothing */
  evq_free(q);
}

/* evq_signal_remove drops deliveries not yet collected (evq.h): a new
 * subscription starts from nothing. */
TEST(signal_remove_drops_pending) {
  evq_t *q = tq_queue();
  CHECK_OK(evq_signal_add(q, TQ_SIG_B, 5));
  tq_raise(TQ_SIG_B); /* caught by evq, not yet collected */
  CHECK_OK(evq_signal_remove(q, TQ_SIG_B));
  CHECK_OK(evq_signal_add(q, TQ_SIG_B, 6));
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 20 * MS), 0);
  tq_raise(TQ_SIG_B);
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, 6);
  CHECK_EQ(ev[0].data, 1);
  CHECK_OK(evq_signal_remove(q, TQ_SIG_B));
  evq_free(q);
}

typedef struct {
  evq_t *q;
  atomic_int stop;
} sig_churn_t;

static void churn_subscriptions(void *arg) {
  sig_churn_t *c = arg;
  for (int i = 0; i < 2000; i++) {
    CHECK_OK(evq_signal_add(c->q, TQ_SIG_B, 9));
    CHECK_OK(evq_signal_remove(c->q, TQ_SIG_B));
  }
  atomic_store(&c->stop, 1);
}

static void send_signals(void *arg) {
  sig_churn_t *c = arg;
  while (!atomic_load(&c->stop)) tq_raise(TQ_SIG_A);
}

/* Subscribing and unsubscribing from one thread while signals land on
 * others and a waiter collects: nothing is lost for the steady
 * subscription, nothing breaks for the churning one. */
TEST(signal_threads) { /* tq: acts-while-waiting */
  sig_churn_t c = {.q = tq_queue()};
  evq_t *other = tq_queue();
  CHECK_OK(evq_signal_add(c.q, TQ_SIG_A, 1));
  CHECK_OK(evq_signal_add(other, TQ_SIG_B, 2)); /* keeps TQ_SIG_B handled */
  tq_thread_t *t1 = tq_thread_start(churn_subscriptions, &c);
  tq_thread_t *t2 = tq_thread_start(send_signals, &c);
  long seen = 0;
  evq_event_t ev[8];
  while (!atomic_load(&c.stop)) {
    int n = tq_wait(c.q, ev, 8, 10 * MS);
    for (int i = 0; i < n; i++) {
      CHECK(ev[i].token == 1 || ev[i].token == 9);
      if (ev[i].token == 1) seen += ev[i].data;
    }
  }
  tq_thread_join(t1);
  tq_thread_join(t2);
  tq_raise(TQ_SIG_A); /* at least this one is there to collect */
  for (int k = 0; k < 100 && seen == 0; k++) {
    int n = tq_wait(c.q, ev, 8, 10 * MS);
    for (int i = 0; i < n; i++)
      if (ev[i].token == 1) seen += ev[i].data;
  }
  CHECK(seen > 0);
  evq_free(c.q);
  evq_free(other);
}
