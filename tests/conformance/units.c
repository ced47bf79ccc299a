/* Backend-independent units: error names, the timer heap and the
 * registry map against simple reference models. */
#include "harness.h"
#include "evq_internal.h"

#include <string.h>

UNIT(strerror_names) {
  for (int code = 0; code >= EVQ_EIO; code--) {
    const char *s = evq_strerror(code);
    CHECK(s != NULL && strncmp(s, "EVQ_", 4) == 0);
    CHECK(strstr(s, "unknown") == NULL);
  }
  CHECK(strstr(evq_strerror(EVQ_EIO - 1), "unknown") != NULL);
  CHECK(strstr(evq_strerror(1), "unknown") != NULL);
}

static unsigned rnd(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

UNIT(timer_heap_model) {
  enum { N = 3000 };
  static evq_timer_t t[N];
  static char in[N];
  evq_timers_t h = {0};
  unsigned seed = 7;
  for (int step = 0; step < 200000; step++) {
    int i = (int)(rnd(&seed) % N);
    if (!in[i]) {
      t[i].deadline = rnd(&seed) % 1000;
      evq__timers_insert(&h, &t[i]);
      in[i] = 1;
    } else if (rnd(&seed) % 2) {
      evq__timers_remove(&h, &t[i]);
      in[i] = 0;
    } else {
      evq_timer_t *m = evq__timers_min(&h);
      CHECK(m != NULL);
      for (int k = 0; k < N; k += 97) /* spot-check the heap order */
        if (in[k]) CHECK(m->deadline <= t[k].deadline);
      evq__timers_remove(&h, m);
      in[m - t] = 0;
    }
  }
  int64_t last = -1;
  uint64_t last_seq = 0;
  while (h.root) {
    evq_timer_t *m = evq__timers_min(&h);
    CHECK(m->deadline >= last);
    if (m->deadline == last) CHECK(m->seq > last_seq);
    last = m->deadline;
    last_seq = m->seq;
    evq__timers_remove(&h, m);
    in[m - t] = 0;
  }
  CHECK_EQ(h.count, 0);
  for (int i = 0; i < N; i++) CHECK_EQ(in[i], 0);
}

UNIT(registry_model) {
  enum { N = 5000 };
  static uint64_t key[N]; /* 0: not registered */
  evq_registry_t r;
  CHECK_OK(evq__registry_init(&r));
  unsigned seed = 3;
  for (int step = 0; step < 300000; step++) {
    int fd = (int)(rnd(&seed) % N);
    evq_reg_t *reg = evq__registry_find(&r, (evq_fd_t)fd);
    CHECK((reg != NULL) == (key[fd] != 0));
    if (reg) {
      CHECK_EQ(evq_key(reg->id, reg->gen), key[fd]);
      CHECK(evq__registry_get(&r, key[fd]) == reg);
      evq__registry_remove(&r, reg);
      CHECK(evq__registry_get(&r, key[fd]) == NULL); /* stale key misses */
      key[fd] = 0;
    } else {
      CHECK_OK(evq__registry_add(&r, (evq_fd_t)fd, &reg));
      CHECK(reg != NULL);
      evq_reg_t *again = NULL;
      CHECK_EQ(evq__registry_add(&r, (evq_fd_t)fd, &again), EVQ_EEXIST);
      CHECK(again == NULL);
      CHECK(reg->gen != 0);
      key[fd] = evq_key(reg->id, reg->gen);
    }
  }
  uint32_t live = 0;
  for (int i = 0; i < N; i++) live += key[i] != 0;
  CHECK_EQ(r.count, live);
  evq__registry_free(&r);
}
