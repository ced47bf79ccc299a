/* amalgamate: part of the io_uring backend */
/* The io_uring backend's table of pinned files: uring_files.h says why and
 * how a slot lives. */
#define _GNU_SOURCE
#include "uring_files.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define UD_CLEAR 2 /* low bits of a clear's user_data; the slot above them */

/* The kernel refuses a table larger than RLIMIT_NOFILE (and than its own
 * limit, 32,768 slots before Linux 5.15): halve until one is taken. The
 * table starts empty: -1 in every slot. */
void evq__ufiles_init(evq__ufiles_t *f, evq__ring_t *ring, uint32_t want) {
  memset(f, 0, sizeof *f);
  f->free_head = f->clear_head = EVQ__NO_SLOT;
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

static uint32_t take_free(evq__ufiles_t *f) {
  uint32_t slot = f->free_head;
  if (slot != EVQ__NO_SLOT) {
    f->free_head = f->next[slot];
    return slot;
  }
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

static void push(uint32_t *head, uint32_t *next, uint32_t slot) {
  next[slot] = *head;
  *head = slot;
}

uint32_t evq__ufiles_pin(evq__ufiles_t *f, evq__ring_t *ring, int fd) {
  uint32_t slot = take_free(f);
  if (slot == EVQ__NO_SLOT) return slot;
  struct io_uring_rsrc_update up = {.offset = slot,
                                    .data = (uint64_t)(uintptr_t)&fd};
  if (evq__ring_register(ring, IORING_REGISTER_FILES_UPDATE, &up, 1) == 1)
    return slot;
  push(&f->free_head, f->next, slot); /* still empty */
  return EVQ__NO_SLOT;
}

void evq__ufiles_unpin(evq__ufiles_t *f, uint32_t slot) {
  push(&f->clear_head, f->next, slot);
}

uint32_t evq__ufiles_take_clear(evq__ufiles_t *f) {
  uint32_t slot = f->clear_head;
  if (slot != EVQ__NO_SLOT) f->clear_head = f->next[slot];
  return slot;
}

/* The array the kernel reads the new descriptor from must outlive the
 * request (it may run later, in a worker): a constant does. */
static const int no_file = -1;

void evq__ufiles_prep_clear(struct io_uring_sqe *sqe, uint32_t slot) {
  sqe->opcode = IORING_OP_FILES_UPDATE;
  sqe->fd = -1;
  sqe->addr = (uint64_t)(uintptr_t)&no_file;
  sqe->len = 1;
  sqe->off = slot;
  sqe->user_data = ((uint64_t)slot << 32) | UD_CLEAR;
}

void evq__ufiles_cleared(evq__ufiles_t *f, uint64_t ud, int res) {
  uint32_t slot = (uint32_t)(ud >> 32);
  push(res == 1 ? &f->free_head : &f->clear_head, f->next, slot);
}
