/*
 * The registry's paths for descriptors, inline: a registration and a
 * deregistration are a handful of loads and stores on by_fd and the slot,
 * and as calls into registry.c (a probe helper, a memset of the slot, the
 * map's branch for other kinds) they cost 65 + 47 + 17 of the 425
 * instructions of a re-registration (docs/performance.md, issue 23). What
 * these cannot do (growth, numbers from EVQ__BY_FD_MAX, other kinds) goes
 * to registry.c's functions, which keep the same invariants.
 */
#ifndef EVQ_REGISTRY_H
#define EVQ_REGISTRY_H

#include "core.h"

#define EVQ__NO_SLOT UINT32_MAX

/* Keys never carry generation 0 (a state's key 0 means "deregistered"):
 * generations are odd, a new slot's first is 1 (it starts at
 * EVQ__GEN_NEW), and each step adds 2, one addition where skipping 0 took
 * a compare and a select on both the add and the remove path. */
#define EVQ__GEN_NEW UINT32_MAX
static inline uint32_t evq__next_gen(uint32_t gen) { return gen + 2; }

/* The live registration of descriptor fd, or NULL. */
static inline evq__reg_t *evq__registry_find_fd(evq__registry_t *r,
                                                evq_fd_t fd) {
  uint64_t ident = (uint64_t)fd;
  if (ident >= r->by_fd_cap)
    return ident < EVQ__BY_FD_MAX
               ? NULL
               : evq__registry_find(r, EVQ__KIND_FD, ident);
  uint32_t id = r->by_fd[ident];
  return id ? &r->slots[id - 1] : NULL;
}

/* evq__registry_add for a descriptor, with the caller's interests, mode
 * and token in place (watched is left to the caller, which sets it once
 * the backend took the registration): 0 and *out, EVQ_EEXIST,
 * EVQ_ENOMEM. Inline while by_fd and the slots have room, as they do in
 * steady state; each field is stored once (stores through r may alias the
 * slot's, so the compiler would keep a zeroing store that a later one
 * overwrites). */
static inline int evq__registry_add_fd(evq__registry_t *r, evq_fd_t fd,
                                       uint32_t interests, uint8_t mode,
                                       uintptr_t token, evq__reg_t **out) {
  uint64_t ident = (uint64_t)fd;
  uint32_t id = r->free_head;
  evq__reg_t *reg;
  if (ident >= r->by_fd_cap || (id == EVQ__NO_SLOT && r->nslots == r->cap)) {
    int rc = evq__registry_add(r, EVQ__KIND_FD, ident, &reg);
    if (rc != 0) return rc;
  } else {
    uint32_t *cell = &r->by_fd[ident];
    if (*cell) return EVQ_EEXIST;
    if (id != EVQ__NO_SLOT) {
      r->free_head = r->free_next[id];
    } else {
      id = r->nslots++;
      r->slots[id].gen = EVQ__GEN_NEW;
    }
    *cell = id + 1;
    r->count++;
    reg = &r->slots[id];
    reg->gen = evq__next_gen(reg->gen);
    reg->id = id;
    reg->ident = ident;
    reg->handle = 0;
    reg->merge = 0;
    reg->kind = EVQ__KIND_FD;
    reg->bstate = NULL; /* watched: the caller's, true once add() took it */
  }
  reg->token = token;
  reg->interests = reg->armed = interests;
  reg->mode = mode;
  *out = reg;
  return 0;
}

/* A freed slot takes a generation no key was ever made with, so every
 * outstanding key for it misses; reuse moves on to yet another one. mode 0
 * marks it free for evq__registry_next; the other fields are filled again
 * when it is taken, so nothing else is cleared. watched is the exception:
 * evq__registry_add_fd leaves it to its caller, so between the take and
 * evq_register's store it holds what it held (uninitialised in a slot new
 * from realloc), and nothing may read it there. */
static inline void evq__registry_free_slot(evq__registry_t *r,
                                           evq__reg_t *reg) {
  uint32_t id = reg->id;
  reg->gen = evq__next_gen(reg->gen);
  reg->mode = 0;
  reg->bstate = NULL;
  r->free_next[id] = r->free_head;
  r->free_head = id;
  r->count--;
}

/* evq__registry_remove, the by_fd part inline. */
static inline void evq__registry_drop(evq__registry_t *r, evq__reg_t *reg) {
  if (reg->kind == EVQ__KIND_FD && reg->ident < EVQ__BY_FD_MAX) {
    r->by_fd[reg->ident] = 0;
    evq__registry_free_slot(r, reg);
  } else {
    evq__registry_remove(r, reg);
  }
}

#endif /* EVQ_REGISTRY_H */
