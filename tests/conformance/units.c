/* Backend-independent units: error names, the timer heap and the
 * registry map against simple reference models. */
#include "harness.h"
#include "core.h"

#include <string.h>

/* The codes are ABI: their values and names, written out here by hand so
 * that a change to evq.h's table cannot pass unnoticed. */
UNIT(error_names) {
  static const struct {
    int code, value;
    const char *name;
  } want[] = {
      {EVQ_OK, 0, "EVQ_OK"},
      {EVQ_EINVAL, -1, "EVQ_EINVAL"},
      {EVQ_ENOMEM, -2, "EVQ_ENOMEM"},
      {EVQ_EBADF, -3, "EVQ_EBADF"},
      {EVQ_EEXIST, -4, "EVQ_EEXIST"},
      {EVQ_ENOENT, -5, "EVQ_ENOENT"},
      {EVQ_EAGAIN, -6, "EVQ_EAGAIN"},
      {EVQ_EBUSY, -7, "EVQ_EBUSY"},
      {EVQ_ENOTSUP, -8, "EVQ_ENOTSUP"},
      {EVQ_EMFILE, -9, "EVQ_EMFILE"},
      {EVQ_ECONNREFUSED, -10, "EVQ_ECONNREFUSED"},
      {EVQ_ECONNRESET, -11, "EVQ_ECONNRESET"},
      {EVQ_EPIPE, -12, "EVQ_EPIPE"},
      {EVQ_EADDRINUSE, -13, "EVQ_EADDRINUSE"},
      {EVQ_ENOTCONN, -14, "EVQ_ENOTCONN"},
      {EVQ_ETIMEDOUT, -15, "EVQ_ETIMEDOUT"},
      {EVQ_EADDRNOTAVAIL, -16, "EVQ_EADDRNOTAVAIL"},
      {EVQ_EIO, -17, "EVQ_EIO"},
      {EVQ_EINTR, -18, "EVQ_EINTR"},
      {EVQ_EMSGSIZE, -19, "EVQ_EMSGSIZE"},
      {EVQ_EHOSTUNREACH, -20, "EVQ_EHOSTUNREACH"},
      {EVQ_EACCES, -21, "EVQ_EACCES"},
      {EVQ_ENOBUFS, -22, "EVQ_ENOBUFS"},
      {EVQ_ECANCELED, -23, "EVQ_ECANCELED"},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    CHECK_EQ(want[i].code, want[i].value);
    CHECK(strcmp(evq_errname(want[i].code), want[i].name) == 0);
    const char *s = evq_strerror(want[i].code);
    size_t len = strlen(want[i].name);
    CHECK(strncmp(s, want[i].name, len) == 0 && strncmp(s + len, ": ", 2) == 0);
    CHECK(strstr(s, "unknown") == NULL);
  }
  CHECK(strcmp(evq_errname(EVQ_ECANCELED - 1), "EVQ_E?") == 0);
  CHECK(strstr(evq_strerror(EVQ_ECANCELED - 1), "unknown") != NULL);
  CHECK(strstr(evq_strerror(1), "unknown") != NULL);
}

static unsigned rnd(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

UNIT(timer_heap_model) {
  enum { N = 3000 };
  static evq__timer_t t[N];
  static char in[N];
  evq__timers_t h = {0};
  unsigned seed = 7;
  for (int step = 0; step < 200000; step++) {
    int i = (int)(rnd(&seed) % N);
    if (!in[i]) {
      t[i].lower_bound = rnd(&seed) % 1000;
      evq__timers_insert(&h, &t[i]);
      in[i] = 1;
    } else if (rnd(&seed) % 2) {
      evq__timers_remove(&h, &t[i]);
      in[i] = 0;
    } else {
      evq__timer_t *m = h.root;
      CHECK(m != NULL);
      for (int k = 0; k < N; k += 97) /* spot-check the heap order */
        if (in[k]) CHECK(m->lower_bound <= t[k].lower_bound);
      evq__timers_remove(&h, m);
      in[m - t] = 0;
    }
  }
  int64_t last = -1;
  uint64_t last_seq = 0;
  while (h.root) {
    evq__timer_t *m = h.root;
    CHECK(m->lower_bound >= last);
    if (m->lower_bound == last) CHECK(m->seq > last_seq);
    last = m->lower_bound;
    last_seq = m->seq;
    evq__timers_remove(&h, m);
    in[m - t] = 0;
  }
  CHECK_EQ(h.count, 0);
  for (int i = 0; i < N; i++) CHECK_EQ(in[i], 0);
}

/* The identity of model entry i: half small, half around the bound above
 * which descriptors leave the array for the map. */
static uint64_t model_ident(uint32_t i, uint32_t n) {
  return i < n / 2 ? i : EVQ__BY_FD_MAX - n / 4 + (i - n / 2);
}

/* Keys are (kind, ident): the same ident under two kinds is two entries
 * (kind 1 stands in for the kinds that are not descriptors). Descriptors
 * below EVQ__BY_FD_MAX are found by index, the others through the map. */
UNIT(registry_model) {
  enum { N = 5000, KINDS = 2 };
  static uint64_t key[KINDS][N]; /* 0: not registered */
  evq__registry_t r;
  evq__registry_init(&r);
  unsigned seed = 3;
  for (int step = 0; step < 300000; step++) {
    uint32_t i = rnd(&seed) % N;
    uint64_t ident = model_ident(i, N);
    uint8_t kind = (uint8_t)(rnd(&seed) % KINDS);
    uint64_t *k = &key[kind][i];
    evq__reg_t *reg = evq__registry_find(&r, kind, ident);
    CHECK((reg != NULL) == (*k != 0));
    if (reg) {
      CHECK_EQ(evq__key(reg->id, reg->gen), *k);
      CHECK(reg->kind == kind && reg->ident == ident);
      CHECK(evq__registry_get(&r, *k) == reg);
      evq__registry_remove(&r, reg);
      CHECK(evq__registry_get(&r, *k) == NULL); /* stale key misses */
      *k = 0;
    } else {
      CHECK_OK(evq__registry_add(&r, kind, ident, &reg));
      CHECK(reg != NULL);
      reg->mode = EVQ_LEVEL; /* live, as evq_register leaves it */
      evq__reg_t *again = NULL;
      CHECK_EQ(evq__registry_add(&r, kind, ident, &again), EVQ_EEXIST);
      CHECK(again == NULL);
      CHECK(reg->gen != 0);
      *k = evq__key(reg->id, reg->gen);
    }
  }
  uint32_t live = 0;
  for (int i = 0; i < N; i++) live += (key[0][i] != 0) + (key[1][i] != 0);
  CHECK_EQ(r.count, live);
  evq__registry_free(&r);
}

/* The harness itself: tq_count_events waits at least once, so an event
 * that is ready already is counted even when the thread reaches the loop
 * after its end (preempted on a loaded machine; here, a budget of 0). */
TEST(harness_counts_ready_event) {
  evq_t *q = tq_queue();
  evq_fd_t p[2];
  tq_pair(p);
  CHECK_OK(evq_register(q, p[0], EVQ_READABLE, EVQ_LEVEL, 1));
  tq_send(p[1], 1);
  CHECK_EQ(tq_count_events(q, 1, 0, NULL), 1);
  CHECK_OK(evq_deregister(q, p[0]));
  evq_close(p[0]);
  evq_close(p[1]);
  evq_free(q);
}
