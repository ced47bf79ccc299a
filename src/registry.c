/*
 * The registration table: a slot array indexed by registration id, plus a
 * map from descriptor to id.
 *
 * Slots carry a generation that changes each time a slot is reused, and
 * kernel events carry (id, generation). So an event the kernel queued for a
 * registration that has since been removed (or removed and replaced by a new
 * one on the same descriptor number) no longer matches and is dropped: this
 * is what makes "no event after deregister" hold without draining the
 * kernel.
 *
 * The map is keyed by the descriptor value rather than indexed by it because
 * Windows SOCKETs are not small integers. Linear probing with backward-shift
 * deletion keeps it tombstone-free.
 */
#include "evq_internal.h"

#include <stdlib.h>
#include <string.h>

#define NO_SLOT UINT32_MAX

int evq__registry_init(evq_registry_t *r) {
  memset(r, 0, sizeof *r);
  r->free_head = NO_SLOT;
  return 0;
}

void evq__registry_free(evq_registry_t *r) {
  free(r->slots);
  free(r->free_next);
  free(r->map_fd);
  free(r->map_id);
  memset(r, 0, sizeof *r);
}

static uint32_t hash_fd(evq_fd_t fd, uint32_t mask) {
  uint64_t h = (uint64_t)fd * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 32) & mask;
}

static void map_put(evq_registry_t *r, evq_fd_t fd, uint32_t id) {
  uint32_t mask = r->map_cap - 1, i = hash_fd(fd, mask);
  while (r->map_id[i] != 0) i = (i + 1) & mask;
  r->map_fd[i] = (uint64_t)fd;
  r->map_id[i] = id + 1;
  r->map_used++;
}

static int map_grow(evq_registry_t *r) {
  uint32_t old_cap = r->map_cap, cap = old_cap ? old_cap * 2 : 64;
  uint64_t *old_fd = r->map_fd;
  uint32_t *old_id = r->map_id;
  uint64_t *nfd = malloc(sizeof *nfd * cap);
  uint32_t *nid = calloc(cap, sizeof *nid);
  if (!nfd || !nid) {
    free(nfd);
    free(nid);
    return EVQ_ENOMEM;
  }
  r->map_fd = nfd;
  r->map_id = nid;
  r->map_cap = cap;
  r->map_used = 0;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old_id[i]) map_put(r, (evq_fd_t)old_fd[i], old_id[i] - 1);
  free(old_fd);
  free(old_id);
  return 0;
}

/* One probe for an insertion: the index of fd if present (*found), else
 * the empty index where it belongs. The map must have room. */
static uint32_t map_probe(const evq_registry_t *r, evq_fd_t fd, bool *found) {
  uint32_t mask = r->map_cap - 1, i = hash_fd(fd, mask);
  for (; r->map_id[i] != 0; i = (i + 1) & mask)
    if (r->map_fd[i] == (uint64_t)fd) {
      *found = true;
      return i;
    }
  *found = false;
  return i;
}

static uint32_t map_find(const evq_registry_t *r, evq_fd_t fd) {
  if (r->map_cap == 0) return NO_SLOT;
  uint32_t mask = r->map_cap - 1, i = hash_fd(fd, mask);
  for (; r->map_id[i] != 0; i = (i + 1) & mask)
    if (r->map_fd[i] == (uint64_t)fd) return i;
  return NO_SLOT;
}

/* Backward-shift deletion: pull later members of the probe run into the
 * hole so lookups never need tombstones. */
static void map_erase(evq_registry_t *r, uint32_t hole) {
  uint32_t mask = r->map_cap - 1, i = hole;
  r->map_id[hole] = 0;
  r->map_used--;
  for (;;) {
    i = (i + 1) & mask;
    if (r->map_id[i] == 0) return;
    uint32_t home = hash_fd((evq_fd_t)r->map_fd[i], mask);
    /* Move i into the hole unless its home lies cyclically in (hole, i]. */
    bool stays = hole <= i ? (home > hole && home <= i)
                           : (home > hole || home <= i);
    if (stays) continue;
    r->map_fd[hole] = r->map_fd[i];
    r->map_id[hole] = r->map_id[i];
    r->map_id[i] = 0;
    hole = i;
  }
}

evq_reg_t *evq__registry_find(evq_registry_t *r, evq_fd_t fd) {
  uint32_t i = map_find(r, fd);
  return i == NO_SLOT ? NULL : &r->slots[r->map_id[i] - 1];
}

static int slots_grow(evq_registry_t *r) {
  uint32_t cap = r->cap ? r->cap * 2 : 64;
  evq_reg_t *slots = realloc(r->slots, sizeof *slots * cap);
  if (!slots) return EVQ_ENOMEM;
  r->slots = slots;
  uint32_t *next = realloc(r->free_next, sizeof *next * cap);
  if (!next) return EVQ_ENOMEM;
  r->free_next = next;
  r->cap = cap;
  return 0;
}

static uint32_t next_gen(uint32_t gen) {
  return gen + 1 ? gen + 1 : 1; /* keys never carry generation 0 */
}

int evq__registry_add(evq_registry_t *r, evq_fd_t fd, evq_reg_t **out) {
  if ((r->map_used + 1) * 4 > r->map_cap * 3 && map_grow(r) != 0)
    return EVQ_ENOMEM;
  bool found;
  uint32_t pos = map_probe(r, fd, &found);
  if (found) return EVQ_EEXIST;
  uint32_t id;
  if (r->free_head != NO_SLOT) {
    id = r->free_head;
    r->free_head = r->free_next[id];
  } else {
    if (r->nslots == r->cap && slots_grow(r) != 0) return EVQ_ENOMEM;
    id = r->nslots++;
    r->slots[id].gen = 0;
  }
  evq_reg_t *reg = &r->slots[id];
  uint32_t gen = next_gen(reg->gen);
  memset(reg, 0, sizeof *reg);
  reg->gen = gen;
  reg->id = id;
  reg->fd = fd;
  r->map_fd[pos] = (uint64_t)fd; /* slots_grow left the map alone */
  r->map_id[pos] = id + 1;
  r->map_used++;
  r->count++;
  *out = reg;
  return 0;
}

/* A freed slot takes a generation no key was ever made with, so every
 * outstanding key for it misses; reuse moves on to yet another one. */
void evq__registry_remove(evq_registry_t *r, evq_reg_t *reg) {
  uint32_t i = map_find(r, reg->fd);
  if (i != NO_SLOT) map_erase(r, i);
  uint32_t id = reg->id, gen = next_gen(reg->gen);
  memset(reg, 0, sizeof *reg);
  reg->id = id;
  reg->gen = gen;
  reg->fd = EVQ_INVALID_FD;
  r->free_next[id] = r->free_head;
  r->free_head = id;
  r->count--;
}
