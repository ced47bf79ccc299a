/*
 * The backend interface: everything a backend (one file per kernel
 * mechanism, and its helpers: src/unix/epoll.c, poll.c, kqueue.c, uring.c
 * with uring_poll.c, uring_files.c and ring.c; src/win/iocp.c with afd.c,
 * sock.c, group.c and proc.c) sees of the core, and everything the core
 * asks of a backend. docs/design.md has the same
 * contract as a table, with which lock is held for each operation.
 *
 * A backend never sees struct evq. It gets its own state pointer (made by
 * init) in every call, the registrations it is told about, and a few core
 * services declared at the end of this file. That is what lets the core
 * change without touching five backends, and a backend be read on its own.
 */
#ifndef EVQ_BACKEND_H
#define EVQ_BACKEND_H

#include "evq_io.h" /* and through it evq_net.h, evq.h */
#include "list.h"

#include <stdbool.h>

/* Directions a registration can ask for, and every result flag. */
#define EVQ__DIRECTIONS (EVQ_READABLE | EVQ_WRITABLE | EVQ_PRIORITY)
/* Both halves closed: what a hang-up (POLLHUP, EPOLLHUP) reports. */
#define EVQ__HANGUP (EVQ_READ_CLOSED | EVQ_WRITE_CLOSED)
#define EVQ__RESULTS \
  (EVQ__DIRECTIONS | EVQ_ERROR | EVQ_READ_CLOSED | EVQ_WRITE_CLOSED)

/* What a registration watches, and what its ident is: a descriptor, a
 * signal number, a process id. Signals are the core's and the platform's
 * (no backend sees them); a child process is polled by the backend through
 * reg->handle (a pidfd, a process handle) or its pid (kqueue's EVFILT_PROC),
 * and a backend that cannot returns EVQ_ENOTSUP from add(), after which the
 * core watches it through SIGCHLD. */
enum evq__kind {
  EVQ__KIND_FD = 0,
  EVQ__KIND_SIGNAL = 1,
  EVQ__KIND_CHILD = 2,
  /* A socket used with completion operations (src/io.h): the backend
   * watches reg->handle, the socket, in edge mode for both directions. */
  EVQ__KIND_IO = 3
};

/* One registration, as the registry stores it. Backends read ident, kind,
 * id, gen, interests, mode and armed, and own bstate; the rest is the
 * core's. Slots move when the registry grows, so a backend that must find a
 * registration later keeps its key (evq__key), never a pointer to it. */
typedef struct evq__reg {
  uint64_t ident;     /* by kind: descriptor (an evq_fd_t), signo, pid */
  intptr_t handle;    /* CHILD: what to poll (pidfd, process handle) or
                         -1; IO: the socket */
  uint32_t id;        /* slot index */
  uint32_t gen;       /* changes at every free and reuse of the slot */
  uintptr_t token;    /* core: the caller's token */
  uint32_t interests; /* EVQ__DIRECTIONS the caller asked for */
  uint32_t armed;     /* directions that may still report (emulated modes) */
  uint64_t merge;     /* core: round and index of its event in a batch */
  uint8_t kind;       /* enum evq__kind */
  uint8_t mode;       /* evq_mode_t */
  bool watched;       /* core: add() took it, so remove() must go */
  void *bstate;       /* the backend's: a value, or an evq__state_t */
} evq__reg_t;

static inline evq_fd_t evq__reg_fd(const evq__reg_t *reg) {
  return (evq_fd_t)reg->ident;
}

/* What the kernel watches for reg: the descriptor, or what the platform
 * opened for another kind (a child's pidfd or process handle); -1 for
 * none (a signal, a child without a pidfd). */
static inline intptr_t evq__reg_handle(const evq__reg_t *reg) {
  return reg->kind == EVQ__KIND_FD ? (intptr_t)reg->ident : reg->handle;
}

/* A registration's key: what a backend hands the kernel as user data and
 * gets back with each event. The generation makes the key of a removed (or
 * removed and reused) slot miss. */
static inline uint64_t evq__key(uint32_t id, uint32_t gen) {
  return ((uint64_t)gen << 32) | id;
}

/* What a registration was before evq_modify changed it. */
typedef struct evq__conf {
  uint32_t interests;
  uint8_t mode;
} evq__conf_t;

/* A kernel event as a backend hands it to the core: the key of the
 * registration it is for, the EVQ__RESULTS flags seen, and a data word for
 * kinds that carry one. A backend with a complete() hook may put its own
 * value in key; complete() turns it into a registration key. */
typedef struct evq__raw {
  uint64_t key;
  uint32_t flags;
  uint32_t data;
} evq__raw_t;

/* ---- Per-registration state that can outlive the registration ----------
 *
 * A completion-based backend (IOCP's AFD polls; io_uring's poll requests)
 * gives the kernel requests that finish after the caller deregistered, and
 * the kernel may still write into memory of the request until then. Such a
 * backend allocates its per-registration struct with evq__state_new (an
 * evq__state_t first, then its own fields), counts the requests it hands
 * the kernel with evq__state_submitted, and reports each one's end with
 * evq__state_completed. The core frees the state once the registration is
 * gone AND nothing is in flight, calling the backend's release() first. At
 * evq_free the core detaches every state, the backend's destroy() ends the
 * requests still in flight, and states whose requests never end are leaked
 * on purpose: a leak is safe, a kernel write into freed memory is not. */
typedef struct evq__state {
  evq__link_t link;  /* on the queue's list of every state */
  uint64_t key;      /* its registration's key; 0 once deregistered */
  uint32_t inflight; /* kernel requests that still refer to it */
} evq__state_t;

/* ---- Completion operations a backend carries out itself ---------------
 *
 * An operation of evq_io.h as a backend with native operations (io_uring)
 * sees it: the core fills what the kernel needs for the next request, and
 * keeps everything else (order, remainders, cancels, delivery) to itself.
 * The backend owns link and area while the op is submitted, and reports
 * each of the kernel's completions for it as a raw event with EVQ_OP in
 * flags, key the bop's address, data the result (an EVQ_E* code when
 * negative), EVQ_OP_MORE when the kernel's request goes on, and
 * EVQ_OP_BUFFER with the id when a pool buffer came with it. */
typedef struct evq__bop {
  evq__link_t link;        /* the backend's: its lists */
  void *buf;               /* RECV, SEND: the bytes of this request */
  size_t len;
  const struct evq_iovec *iov; /* SEND: this request's buffers, or NULL */
  const void *addr;        /* CONNECT: the OS's address and its length */
  intptr_t fd;             /* the socket */
  int32_t niov;
  uint32_t addrlen;
  uint16_t group;          /* RECV_POOL: the pool's buffer group */
  uint8_t kind;            /* EVQ_IO_* (a vector send: SEND with iov) */
  bool cancel;             /* the core asked for the op's end */
  bool wait_data;          /* RECV_POOL: the next request only waits for
                              the socket to be readable (a single-shot
                              poll): the pool was empty, the socket idle */
  bool single;             /* ACCEPT_MULTI, RECV_POOL: one request, not
                              a multishot (the core posts it again) */
  uint8_t where;           /* the backend's: where the op stands */
  uint8_t sock_flags;      /* what io_adopt said of the socket */
  uint64_t area[9];        /* the backend's own (a message header) */
} evq__bop_t;

/* The kinds that keep going until they end, holding the read side alone:
 * the core keeps them running, and a backend's multishot requests are
 * theirs. */
static inline bool evq__op_multi(int kind) {
  return kind == EVQ_IO_ACCEPT_MULTI || kind == EVQ_IO_RECV_POOL;
}

/* ---- The operations ----------------------------------------------------
 *
 * Locking: every operation but poll() and kick() runs with the queue lock
 * held; poll() runs without it, on the one waiting thread, and must touch
 * only what that thread owns; kick() may run on any thread and in signal
 * handlers. b is the backend's own state, made by init(). */
typedef struct evq__backend {
  const char *name;
  /* Modes the core emulates, as bits (1u << mode); init may choose others
   * (evq__set_emulated_modes), e.g. by what the kernel offers. For those
   * the core keeps
   * reg->armed: it clears delivered directions (edge) or everything
   * (oneshot) on delivery, drops what is not armed, and calls rearm() when
   * armed changes. Modes not set here the kernel does alone. */
  uint8_t emulated_modes;
  /* A change made by another thread reaches a waiter blocked in the kernel
   * only when it goes round again (the change lands in prepare()): the core
   * kicks a sleeping waiter after each change. */
  bool changes_need_kick;
  /* The kernel may report one registration more than once per poll (read
   * and write apart): the core merges them into one event. */
  bool splits_directions;
  /* reg->bstate is an evq__state_t made by evq__state_new: the core detaches
   * it at deregistration instead of forgetting it. */
  bool keeps_states;
  /* An edge read event may lack EVQ_READ_CLOSED though the peer's end
   * came with the data (libkqueue): operations read on to would-block
   * instead of taking a short read as the socket emptied. */
  bool edge_hides_end;

  int (*init)(evq_t *q, uint32_t max_events, void **b);
  void (*destroy)(void *b);
  /* Start watching reg: 0 or an EVQ_E* code (and nothing changed). */
  int (*add)(void *b, evq__reg_t *reg);
  /* reg already holds the new interests and mode; old the previous ones.
   * 0 or an EVQ_E* code; on failure the core restores reg. */
  int (*modify)(void *b, evq__reg_t *reg, evq__conf_t old);
  /* Stop watching reg; must work for a descriptor closed while registered.
   * closing: the descriptor is closed right after (evq_deregister_close),
   * or the queue freed (evq_free), so kernel work that makes moot may be
   * skipped, and must be where the kernel object may be shared (a forked
   * child's copy of epoll). The core drops reg whatever this returns. */
  int (*remove)(void *b, evq__reg_t *reg, bool closing);
  /* Emulated modes: reg->armed changed (a delivery, evq_rearm, I/O that hit
   * would-block). May be NULL if the backend emulates no mode. */
  void (*rearm)(void *b, evq__reg_t *reg);
  /* On the waiter, just before poll(): apply deferred changes. May be NULL. */
  void (*prepare)(void *b);
  /* Block up to timeout_ns (-1: forever; 0: not at all; rounded up to the
   * kernel's resolution) and store at most cap raw events. Returns their
   * count (0 on timeout, on EINTR, or when only the wake mechanism fired:
   * wake-ups are the core's flag, not an event) or an EVQ_E* code. */
  int (*poll)(void *b, evq__raw_t *raw, int cap, int64_t timeout_ns);
  /* Under the lock, for each raw event before the core looks it up: finish
   * the kernel request behind it, set raw->key and raw->flags, and return
   * false to drop it. NULL for backends whose raw keys are final. */
  bool (*complete)(void *b, evq__raw_t *raw);
  /* Make a blocked poll() return. Async-signal-safe. */
  void (*kick)(void *b);
  /* The descriptor of the kernel object, readable while poll() would
   * report something (evq_fd); -1 if there is none. Under the lock. May
   * be NULL. */
  intptr_t (*fd)(void *b);
  /* Under the lock: a raw key matched no live registration (an event
   * queued before a deregistration, or one the kernel keeps reporting for
   * a closed descriptor). May be NULL. */
  void (*stale)(void *b, uint64_t key);
  /* A state made with evq__state_new is about to be freed: let go of what
   * the backend hangs on it. May be NULL. */
  void (*release)(void *b, evq__state_t *st);
  /* Under the lock, after a round that delivered nothing: true when
   * changes made in that round (a kernel request replaced for a modify)
   * are still to be submitted, and a poll without waiting could report at
   * once; the core then goes round again even when the wait's time is up,
   * so a wait of 0 sees what a modify made ready. May be NULL. */
  bool (*unsettled)(void *b);

  /* Completion operations (NULL for a backend that has none: the core
   * emulates them). Kinds the backend does itself are those it named with
   * evq__set_io_native. All under the lock. */
  /* Before the first native op on the socket fd (its record's, once):
   * flags of the backend's (0 to 255) that every later bop of the socket
   * carries in sock_flags, or an EVQ_E* code after which the core
   * emulates that socket's operations (a socket the kernel object cannot
   * take: IOCP's port association is once per socket). May be NULL. */
  int (*io_adopt)(void *b, intptr_t fd);
  /* Queue op for the kernel (it goes in with the next wait, or at once
   * where the kernel has no batch). */
  void (*io_submit)(void *b, evq__bop_t *op);
  /* The core wants op's end: true if the kernel will report it (a cancel
   * is on its way), false if op never reached the kernel (taken back). */
  bool (*io_cancel)(void *b, evq__bop_t *op);
  /* A pool of count buffers of size bytes at mem: 0 and *group, or an
   * EVQ_E* code (the pool is then emulated). */
  int (*pool_attach)(void *b, void *mem, uint32_t count, uint32_t size,
                     uint16_t *group);
  void (*pool_detach)(void *b, uint16_t group);
  /* Buffer id of group goes back to the kernel. */
  void (*pool_put)(void *b, uint16_t group, uint32_t id);
  /* evq_free: ends every request in the kernel and waits until the kernel
   * is done with them (no buffer is touched after), closing the sockets
   * accepts in flight bring. */
  void (*io_drain)(void *b);
} evq__backend_t;

/* Services for init() only: the modes this queue's backend emulates, when
 * they depend on the kernel; and, before init fails with EVQ_ENOTSUP, why
 * the backend cannot be used here (evq_backend_check, EVQ_BACKEND). */
void evq__set_emulated_modes(evq_t *q, uint8_t modes);
/* The kinds of operation (bits 1u << EVQ_IO_*) the backend carries out
 * itself; the core emulates the others. Any time under the lock: a kernel
 * found lacking a feature takes its kind back to the emulation. */
void evq__set_io_native(evq_t *q, uint32_t kinds);
/* Of the native multishot kinds, those the kernel keeps running by itself
 * (EVQ_PATH_NATIVE_MULTI); for the others each request is single
 * (bop->single) and the core posts it again after each completion. */
void evq__set_io_multishot(evq_t *q, uint32_t kinds);
void evq__unavailable(evq_t *q, const char *why);
/* The queue's EVQ_OPT_* flags (evq_options_t), for init(). */
uint32_t evq__options(const evq_t *q);

/* Compiled-in backends, best first (backends.c, generated by the build). */
extern const evq__backend_t *const evq__backends[];

/* ---- Core services for backends (all under the queue lock) ------------ */

/* Walks the live registrations: *cursor starts at 0; NULL at the end. */
evq__reg_t *evq__registry_next(evq_t *q, uint32_t *cursor);
/* The live registration with this key, or NULL. */
evq__reg_t *evq__registry_lookup(evq_t *q, uint64_t key);
/* The live registration in slot id, whatever its generation, or NULL. */
evq__reg_t *evq__registry_slot(evq_t *q, uint32_t id);
/* Gives reg a new generation, so its old key misses from now on (what the
 * kernel still holds under it reports as stale), and returns the new key.
 * For a backend that keeps no state under the old key. */
uint64_t evq__registry_rekey(evq_t *q, evq__reg_t *reg);
/* How many registrations are live. */
uint32_t evq__registry_count(evq_t *q);

/* Per-registration states (see above). new returns NULL when out of memory;
 * on success reg->bstate is the new state. */
void *evq__state_new(evq_t *q, evq__reg_t *reg, size_t size);
static inline void evq__state_submitted(evq__state_t *st) { st->inflight++; }
/* One request of st ended. Returns true while st's registration is live;
 * false once it is gone, and then st may have been freed. */
bool evq__state_completed(evq_t *q, evq__state_t *st);
/* Walks the queue's states, for destroy(): NULL gives the first, NULL comes
 * after the last. Take the next one before st may be freed. */
evq__state_t *evq__state_next(evq_t *q, evq__state_t *st);

/* Called by the I/O helpers when an operation hit would-block. */
void evq__io_blocked(evq_t *q, evq_fd_t fd, uint32_t directions);

/* A timeout for kernels that take whole milliseconds: rounded up, so a
 * wait never ends early; at most max_ms (the core goes round again with
 * what is left); -1 for forever. */
static inline int64_t evq__timeout_ms(int64_t ns, int64_t max_ms) {
  if (ns < 0) return -1;
  int64_t ms = ns / 1000000 + (ns % 1000000 != 0);
  return ms > max_ms ? max_ms : ms;
}

/* Platform layer (src/unix/, src/win/). */
const char *evq__getenv(const char *name);

#endif /* EVQ_BACKEND_H */
