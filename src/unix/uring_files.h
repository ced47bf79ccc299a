/* The io_uring backend's table of pinned files (uring_files.c).
 *
 * A poll request names its descriptor by number when it reaches the
 * kernel, which is the next wait, not the evq_register() that asked for
 * it; a number closed and taken by another file in between (dup2, a new
 * socket) would have the request watch the new file under the old
 * registration's token. epoll watches the file a registration was made
 * with, and so must io_uring: evq_register() puts the file in the ring's
 * table of registered files (IORING_REGISTER_FILES_UPDATE, the one system
 * call of a registration, as epoll_ctl is epoll's), and every request of
 * the registration names that slot (IOSQE_FIXED_FILE).
 *
 * The table's size is fixed when the ring is made (the kernel cannot grow
 * one whose requests are in flight); a registration that finds no free
 * slot, or a file the kernel will not put in a table (another io_uring),
 * is polled by number, and uring.c checks the file's identity before each
 * such request instead (evq__file_id).
 *
 * A slot's life: free -> pinned (evq_register) -> to clear (deregistered:
 * the table still holds the file, which must close when the caller
 * closes it) -> clearing (an IORING_OP_FILES_UPDATE written into the next
 * submission) -> free once its completion comes. Only a free slot is
 * handed out, so no clear meant for one registration can drop the file of
 * the next. All of it runs under the queue lock. */
#ifndef EVQ_URING_FILES_H
#define EVQ_URING_FILES_H

#include "ring.h"

#include <stdbool.h>
#include <stdint.h>

#define EVQ__NO_SLOT UINT32_MAX

typedef struct evq__ufiles {
  uint32_t size;   /* slots in the kernel's table; 0: no table */
  uint32_t fresh;  /* slots below it have been handed out at least once */
  uint32_t free_head, clear_head; /* lists linked through next[] */
  uint32_t *next;  /* per slot handed out: its link */
  uint32_t cap;    /* entries of next[] */
} evq__ufiles_t;

/* Registers an empty table of up to want slots (fewer if the kernel or
 * RLIMIT_NOFILE allows fewer; none at all is not an error). */
void evq__ufiles_init(evq__ufiles_t *f, evq__ring_t *ring, uint32_t want);
void evq__ufiles_free(evq__ufiles_t *f);

/* Puts fd's file in a free slot and returns the slot, or EVQ__NO_SLOT when
 * it cannot (no free slot, no memory, a file the kernel refuses, a bad
 * descriptor: the caller then checks fd itself). */
uint32_t evq__ufiles_pin(evq__ufiles_t *f, evq__ring_t *ring, int fd);
/* The registration of slot is gone: its file is dropped by the next
 * submission. */
void evq__ufiles_unpin(evq__ufiles_t *f, uint32_t slot);

/* Waiter, before it submits: the next slot to clear (its SQE prepared by
 * evq__ufiles_prep_clear), or EVQ__NO_SLOT. */
uint32_t evq__ufiles_take_clear(evq__ufiles_t *f);
void evq__ufiles_prep_clear(struct io_uring_sqe *sqe, uint32_t slot);
/* user_data of a clear's completion: told from records (8-aligned
 * pointers, with a parity bit) and the backend's small constants. */
static inline bool evq__ufiles_is_clear(uint64_t ud) { return (ud & 7) == 2; }
/* A clear completed with res: the slot is free again (or, if the kernel
 * failed it, to be cleared again). */
void evq__ufiles_cleared(evq__ufiles_t *f, uint64_t ud, int res);

#endif
