/*
 * The registration table: a slot array indexed by registration id, plus a
 * map from (kind, ident) to id.
 *
 * Slots carry a generation that changes each time a slot is reused, and
 * kernel events carry (id, generation). So an event the kernel queued for a
 * registration that has since been removed (or removed and replaced by a new
 * one on the same descriptor number) no longer matches and is dropped: this
 * is what makes "no event after deregister" hold without draining the
 * kernel.
 *
 * Descriptors are found by index, as libev's anfds are: POSIX hands out
 * the lowest free number, so an array as long as the highest registered
 * descriptor is dense, costs 4 bytes per number, and a lookup is one load
 * (a hash probe cost 38 of the 505 instructions of a re-registration, and
 * insertion and erasure as much again). Numbers from EVQ__BY_FD_MAX up
 * (a Windows SOCKET is a handle, not a small integer, and may be large)
 * and the other kinds go to a map keyed by the ident, the kind in the
 * key's top byte; linear probing with backward-shift deletion keeps it
 * tombstone-free.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define NO_SLOT EVQ__NO_SLOT

void evq__registry_init(evq__registry_t *r) {
  memset(r, 0, sizeof *r);
  r->free_head = NO_SLOT;
}

void evq__registry_free(evq__registry_t *r) {
  free(r->slots);
  free(r->free_next);
  free(r->by_fd);
  free(r->map_key);
  free(r->map_id);
  memset(r, 0, sizeof *r);
}

static uint64_t map_key(uint8_t kind, uint64_t ident) {
  return ident ^ ((uint64_t)kind << 56);
}

static uint32_t hash_key(uint64_t key, uint32_t mask) {
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static void map_put(evq__registry_t *r, uint64_t key, uint32_t id) {
  uint32_t mask = r->map_cap - 1, i = hash_key(key, mask);
  while (r->map_id[i] != 0) i = (i + 1) & mask;
  r->map_key[i] = key;
  r->map_id[i] = id + 1;
  r->map_used++;
}

static int map_grow(evq__registry_t *r) {
  uint32_t old_cap = r->map_cap, cap = old_cap ? old_cap * 2 : 64;
  uint64_t *old_key = r->map_key;
  uint32_t *old_id = r->map_id;
  uint64_t *nkey = malloc(sizeof *nkey * cap);
  uint32_t *nid = calloc(cap, sizeof *nid);
  if (!nkey || !nid) {
    free(nkey);
    free(nid);
    return EVQ_ENOMEM;
  }
  r->map_key = nkey;
  r->map_id = nid;
  r->map_cap = cap;
  r->map_used = 0;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old_id[i]) map_put(r, old_key[i], old_id[i] - 1);
  free(old_key);
  free(old_id);
  return 0;
}

/* One probe for an insertion: the index of key if present (*found), else
 * the empty index where it belongs. The map must have room. */
static uint32_t map_probe(const evq__registry_t *r, uint64_t key,
                          bool *found) {
  uint32_t mask = r->map_cap - 1, i = hash_key(key, mask);
  for (; r->map_id[i] != 0; i = (i + 1) & mask)
    if (r->map_key[i] == key) {
      *found = true;
      return i;
    }
  *found = false;
  return i;
}

static uint32_t map_find(const evq__registry_t *r, uint64_t key) {
  if (r->map_cap == 0) return NO_SLOT;
  uint32_t mask = r->map_cap - 1, i = hash_key(key, mask);
  for (; r->map_id[i] != 0; i = (i + 1) & mask)
    if (r->map_key[i] == key) return i;
  return NO_SLOT;
}

/* Backward-shift deletion: pull later members of the probe run into the
 * hole so lookups never need tombstones. */
static void map_erase(evq__registry_t *r, uint32_t hole) {
  uint32_t mask = r->map_cap - 1, i = hole;
  r->map_id[hole] = 0;
  r->map_used--;
  for (;;) {
    i = (i + 1) & mask;
    if (r->map_id[i] == 0) return;
    uint32_t home = hash_key(r->map_key[i], mask);
    /* Move i into the hole unless its home lies cyclically in (hole, i]. */
    bool stays = hole <= i ? (home > hole && home <= i)
                           : (home > hole || home <= i);
    if (stays) continue;
    r->map_key[hole] = r->map_key[i];
    r->map_id[hole] = r->map_id[i];
    r->map_id[i] = 0;
    hole = i;
  }
}

static bool by_fd(uint8_t kind, uint64_t ident) {
  return kind == EVQ__KIND_FD && ident < EVQ__BY_FD_MAX;
}

/* Room for descriptor fd in by_fd: the next power of two above it. */
static int by_fd_grow(evq__registry_t *r, uint32_t fd) {
  uint32_t cap = r->by_fd_cap ? r->by_fd_cap : 64;
  while (cap <= fd) cap *= 2;
  uint32_t *a = realloc(r->by_fd, sizeof *a * cap);
  if (!a) return EVQ_ENOMEM;
  memset(a + r->by_fd_cap, 0, sizeof *a * (cap - r->by_fd_cap));
  r->by_fd = a;
  r->by_fd_cap = cap;
  return 0;
}

evq__reg_t *evq__registry_find(evq__registry_t *r, uint8_t kind,
                               uint64_t ident) {
  if (by_fd(kind, ident)) {
    uint32_t id = ident < r->by_fd_cap ? r->by_fd[ident] : 0;
    return id ? &r->slots[id - 1] : NULL;
  }
  uint32_t i = map_find(r, map_key(kind, ident));
  return i == NO_SLOT ? NULL : &r->slots[r->map_id[i] - 1];
}

static int slots_grow(evq__registry_t *r) {
  uint32_t cap = r->cap ? r->cap * 2 : 64;
  evq__reg_t *slots = realloc(r->slots, sizeof *slots * cap);
  if (!slots) return EVQ_ENOMEM;
  r->slots = slots;
  uint32_t *next = realloc(r->free_next, sizeof *next * cap);
  if (!next) return EVQ_ENOMEM;
  r->free_next = next;
  r->cap = cap;
  return 0;
}

/* Every field of a slot taken for a registration, zero but for its
 * generation, kind and ident (the slot of a removal is not cleared). */
static void reg_fill(evq__reg_t *reg, uint8_t kind, uint64_t ident) {
  reg->gen = evq__next_gen(reg->gen);
  reg->ident = ident;
  reg->handle = 0;
  reg->token = 0;
  reg->interests = reg->armed = 0;
  reg->merge = 0;
  reg->kind = kind;
  reg->mode = 0;
  reg->watched = false;
  reg->bstate = NULL;
}

/* Where (kind, ident) goes: its cell of by_fd or of the map, made room
 * for; EVQ_EEXIST if taken, EVQ_ENOMEM. */
static int place(evq__registry_t *r, uint8_t kind, uint64_t ident,
                 uint32_t **cell) {
  if (by_fd(kind, ident)) {
    if (ident >= r->by_fd_cap && by_fd_grow(r, (uint32_t)ident) != 0)
      return EVQ_ENOMEM;
    *cell = &r->by_fd[ident];
    return **cell ? EVQ_EEXIST : 0;
  }
  if ((r->map_used + 1) * 4 > r->map_cap * 3 && map_grow(r) != 0)
    return EVQ_ENOMEM;
  bool found;
  uint64_t key = map_key(kind, ident);
  uint32_t pos = map_probe(r, key, &found);
  if (found) return EVQ_EEXIST;
  r->map_key[pos] = key;
  *cell = &r->map_id[pos]; /* stays 0, free, until the slot is had */
  return 0;
}

int evq__registry_add(evq__registry_t *r, uint8_t kind, uint64_t ident,
                      evq__reg_t **out) {
  uint32_t *cell;
  int rc = place(r, kind, ident, &cell);
  if (rc != 0) return rc;
  uint32_t id;
  if (r->free_head != NO_SLOT) {
    id = r->free_head;
    r->free_head = r->free_next[id];
  } else {
    if (r->nslots == r->cap && slots_grow(r) != 0) return EVQ_ENOMEM;
    id = r->nslots++;
    r->slots[id].gen = EVQ__GEN_NEW;
  }
  evq__reg_t *reg = &r->slots[id];
  reg_fill(reg, kind, ident);
  reg->id = id;
  *cell = id + 1; /* slots_grow left by_fd and the map alone */
  if (!by_fd(kind, ident)) r->map_used++;
  r->count++;
  if (kind != EVQ__KIND_FD) r->others++;
  if (kind == EVQ__KIND_IO) r->io++;
  *out = reg;
  return 0;
}

void evq__registry_remove(evq__registry_t *r, evq__reg_t *reg) {
  if (by_fd(reg->kind, reg->ident)) {
    r->by_fd[reg->ident] = 0;
  } else {
    uint32_t i = map_find(r, map_key(reg->kind, reg->ident));
    if (i != NO_SLOT) map_erase(r, i);
  }
  if (reg->kind != EVQ__KIND_FD) r->others--;
  if (reg->kind == EVQ__KIND_IO) r->io--;
  evq__registry_free_slot(r, reg);
}

/* ---- Services for backends (backend.h), under the queue lock ---------- */

evq__reg_t *evq__registry_next(evq_t *q, uint32_t *cursor) {
  evq__registry_t *r = &q->registry;
  while (*cursor < r->nslots) {
    evq__reg_t *reg = &r->slots[(*cursor)++];
    if (reg->mode != 0) return reg;
  }
  return NULL;
}

evq__reg_t *evq__registry_lookup(evq_t *q, uint64_t key) {
  return evq__registry_get(&q->registry, key);
}

uint64_t evq__registry_rekey(evq_t *q, evq__reg_t *reg) {
  (void)q;
  reg->gen = evq__next_gen(reg->gen);
  return evq__key(reg->id, reg->gen);
}

evq__reg_t *evq__registry_slot(evq_t *q, uint32_t id) {
  evq__registry_t *r = &q->registry;
  return id < r->nslots && r->slots[id].mode != 0 ? &r->slots[id] : NULL;
}

uint32_t evq__registry_count(evq_t *q) { return q->registry.count; }
