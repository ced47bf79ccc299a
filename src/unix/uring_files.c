/* amalgamate: part of the io_uring backend */
/* The io_uring backend's table of pinned files: uring_files.h says why and
 * how a slot lives. */
#define _GNU_SOURCE
#include "uring_files.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* The kernel refuses a table larger than RLIMIT_NOFILE (and than its own
 * limit, 32,768 slots before Linux 5.15): halve until one is taken. The
 * table starts empty: -1 in every slot. */
void evq__ufiles_init(evq__ufiles_t *f, evq__ring_t *ring, uint32_t want) {
  memset(f, 0, sizeof *f);
  f->clean = f->dirty = EVQ__NO_SLOT;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
    want = (uint32_t)rl.rlim_cur;
  int *empty = want ? malloc(sizeof *empty * want) : NULL;
  if (!empty) return; /* polled by number, identity checked */
  memset(empty, 0xff, sizeof *empty * want);
  for (uint32_t n = want; n >= 64; n /= 2)
    if (evq__ring_register(ring, IORING_REGISTER_FILES, empty, n) == 0) {
      f->size = n;
      break;
    }
  free(empty);
}

void evq__ufiles_free(evq__ufiles_t *f) {
  free(f->next);
  f->next = NULL;
}

static uint32_t pop(uint32_t *head, const uint32_t *next) {
  uint32_t slot = *head;
  if (slot != EVQ__NO_SLOT) *head = next[slot];
  return slot;
}

static void push(uint32_t *head, uint32_t *next, uint32_t slot) {
  next[slot] = *head;
  *head = slot;
}

/* A slot never handed out, its link made room for. */
static uint32_t take_fresh(evq__ufiles_t *f) {
  if (f->fresh >= f->size) return EVQ__NO_SLOT;
  if (f->fresh == f->cap) {
    uint32_t cap = f->cap ? 2 * f->cap : 64;
    if (cap > f->size) cap = f->size;
    uint32_t *next = realloc(f->next, sizeof *next * cap);
    if (!next) return EVQ__NO_SLOT;
    f->next = next;
    f->cap = cap;
  }
  return f->fresh++;
}

static int update(evq__ring_t *ring, uint32_t slot, const int *fds, unsigned n) {
  struct io_uring_rsrc_update up = {.offset = slot,
                                    .data = (uint64_t)(uintptr_t)fds};
  return evq__ring_register(ring, IORING_REGISTER_FILES_UPDATE, &up, n);
}

/* A dirty slot first: its file goes with this update, with no call of its
 * own. */
uint32_t evq__ufiles_pin(evq__ufiles_t *f, evq__ring_t *ring, int fd) {
  uint32_t *from = &f->dirty;
  uint32_t slot = pop(from, f->next);
  if (slot == EVQ__NO_SLOT) {
    from = &f->clean;
    slot = pop(from, f->next);
    if (slot == EVQ__NO_SLOT) slot = take_fresh(f);
  }
  if (slot == EVQ__NO_SLOT || update(ring, slot, &fd, 1) == 1) return slot;
  push(from, f->next, slot); /* as it was */
  return EVQ__NO_SLOT;
}

void evq__ufiles_unpin(evq__ufiles_t *f, uint32_t slot) {
  push(&f->dirty, f->next, slot);
}

/* One update clears a window of slots: -1 for each dirty one, and
 * IORING_REGISTER_FILES_SKIP for the others (Linux 5.12+; before, or if
 * the kernel refuses the window for any reason, one update per slot). A
 * slot the kernel would not clear stays dirty for the next flush. */
#define WINDOW 256

static void clear_window(evq__ufiles_t *f, evq__ring_t *ring, uint32_t base,
                         int *fds, uint32_t n) {
  if (n == 0) return;
  bool whole = update(ring, base, fds, n) == (int)n;
  static const int no_file = -1;
  for (uint32_t i = 0; i < n; i++) {
    if (fds[i] != -1) continue;
    bool done = whole || update(ring, base + i, &no_file, 1) == 1;
    push(done ? &f->clean : &f->dirty, f->next, base + i);
  }
}

void evq__ufiles_flush(evq__ufiles_t *f, evq__ring_t *ring) {
  int fds[WINDOW];
  uint32_t base = 0, n = 0, slot, list = f->dirty;
  f->dirty = EVQ__NO_SLOT;
  while ((slot = pop(&list, f->next)) != EVQ__NO_SLOT) {
    if (n && (slot < base || slot >= base + WINDOW)) {
      clear_window(f, ring, base, fds, n);
      n = 0;
    }
    if (n == 0) base = slot >= WINDOW / 2 ? slot - WINDOW / 2 : 0;
    while (n <= slot - base) fds[n++] = IORING_REGISTER_FILES_SKIP;
    fds[slot - base] = -1;
  }
  clear_window(f, ring, base, fds, n);
}
