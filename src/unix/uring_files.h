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
 * A slot's life: clean (empty) -> pinned (evq_register) -> dirty (its
 * registration is gone, the table still holds the file, which must close
 * when the caller closes it) -> pinned again, the next registration's
 * update replacing the file at no extra cost; or, still dirty when the
 * waiter next submits, cleared (one io_uring_register for all of them)
 * -> clean. Every change is a system call made under the queue lock, done
 * when it returns: no clear can be in flight when a slot is handed out. */
#ifndef EVQ_URING_FILES_H
#define EVQ_URING_FILES_H

#include "ring.h"

#include <stdbool.h>
#include <stdint.h>

#define EVQ__NO_SLOT UINT32_MAX

typedef struct evq__ufiles {
  uint32_t size;   /* slots in the kernel's table; 0: no table */
  uint32_t fresh;  /* slots below it have been handed out at least once */
  uint32_t clean, dirty; /* lists linked through next[] */
  uint32_t *next;  /* per slot handed out: its link */
  uint32_t cap;    /* entries of next[] */
} evq__ufiles_t;

/* Registers an empty table of up to want slots (fewer if the kernel or
 * RLIMIT_NOFILE allows fewer; none at all is not an error). */
void evq__ufiles_init(evq__ufiles_t *f, evq__ring_t *ring, uint32_t want);
void evq__ufiles_free(evq__ufiles_t *f);

/* Puts fd's file in a slot and returns the slot, or EVQ__NO_SLOT when it
 * cannot (no slot left, no memory, a file the kernel refuses, a bad
 * descriptor: the caller then checks fd itself). */
uint32_t evq__ufiles_pin(evq__ufiles_t *f, evq__ring_t *ring, int fd);
/* The registration of slot is gone: its file goes with the next pin of
 * the slot or the next evq__ufiles_flush. */
void evq__ufiles_unpin(evq__ufiles_t *f, uint32_t slot);
/* Before the waiter submits: drops the files of slots still dirty. */
static inline bool evq__ufiles_dirty(const evq__ufiles_t *f) {
  return f->dirty != EVQ__NO_SLOT;
}
void evq__ufiles_flush(evq__ufiles_t *f, evq__ring_t *ring);

#endif
