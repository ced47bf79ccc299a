/*
 * Pools of receive buffers (evq_io.h, evq_op_recv_pool): one allocation,
 * a stack of free ids, and a byte per buffer saying the caller holds it,
 * so that a buffer given back twice is refused rather than handed out to
 * two receives. The lowest of the operation files, it also makes the
 * queue's operations state, which holds the list of pools.
 */
#include "io.h"

#include <stdlib.h>
#include <string.h>

#define POOL_MAX 32768u /* io_uring's most entries in a buffer ring */

/* Under the lock: q's operations state, made at the first need. */
evq__io_t *evq__io_state(evq_t *q) {
  if (q->io) return q->io;
  evq__io_t *io = calloc(1, sizeof *io);
  if (!io) return NULL;
  evq__list_init(&io->done);
  evq__list_init(&io->run);
  evq__list_init(&io->pools);
  q->io = io;
  return io;
}

/* Under the lock (or in evq_free): the kernel's buffer group goes first. */
static void pool_release(evq__pool_t *p) {
  if (p->native) p->q->ops->pool_detach(p->q->b, p->group);
  evq__list_unlink(&p->link);
  free(p->mem);
  free(p->free_ids);
  free(p->lent);
  free(p);
}

int evq_pool_create(evq_t *q, evq_pool_t **out, uint32_t count,
                    uint32_t size) {
  if (!q || !out || count == 0 || count > POOL_MAX || size == 0 ||
      size > INT32_MAX || (uint64_t)count * size > SIZE_MAX / 2)
    return EVQ_EINVAL;
  evq__pool_t *p = calloc(1, sizeof *p);
  if (!p) return EVQ_ENOMEM;
  evq__list_init(&p->link);
  p->q = q;
  p->count = p->nfree = count;
  p->size = size;
  /* Zeroed: where the kernel fills the buffers (io_uring's buffer rings),
   * valgrind cannot see it write, and would call every byte received
   * uninitialised. A large calloc maps zero pages without touching them. */
  p->mem = calloc(count, size);
  p->free_ids = malloc(sizeof *p->free_ids * count);
  p->lent = calloc(count, 1);
  evq__mutex_lock(&q->lock);
  evq__io_t *io = p->mem && p->free_ids && p->lent ? evq__io_state(q) : NULL;
  if (io) evq__list_push_back(&io->pools, &p->link);
  /* Where the backend receives into pools itself, the kernel holds the
   * free buffers; a pool it cannot take is emulated. */
  if (io && q->ops->pool_attach &&
      ((q->io_native >> EVQ_IO_RECV_POOL) & 1u))
    p->native = q->ops->pool_attach(q->b, p->mem, count, size,
                                    &p->group) == 0;
  evq__mutex_unlock(&q->lock);
  if (!io) {
    pool_release(p);
    return EVQ_ENOMEM;
  }
  /* Lowest ids on top: a quiet server keeps using the same few buffers. */
  for (uint32_t i = 0; i < count; i++)
    p->free_ids[i] = (uint16_t)(count - 1 - i);
  *out = (evq_pool_t *)p;
  return 0;
}

void *evq_pool_buf(const evq_pool_t *pool, uint32_t id) {
  const evq__pool_t *p = (const evq__pool_t *)pool;
  if (!p || id >= p->count) return NULL;
  return p->mem + (size_t)id * p->size;
}

uint32_t evq_pool_size(const evq_pool_t *pool) {
  return pool ? ((const evq__pool_t *)pool)->size : 0;
}

int evq_pool_put(evq_pool_t *pool, uint32_t id) {
  evq__pool_t *p = (evq__pool_t *)pool;
  if (!p || id >= p->count) return EVQ_EINVAL;
  evq__mutex_lock(&p->q->lock);
  int rc = p->lent[id] ? 0 : EVQ_EINVAL;
  if (rc == 0) {
    p->lent[id] = 0;
    p->nlent--;
    if (p->native)
      p->q->ops->pool_put(p->q->b, p->group, id);
    else
      p->free_ids[p->nfree++] = (uint16_t)id;
  }
  evq__mutex_unlock(&p->q->lock);
  return rc;
}

int evq_pool_free(evq_pool_t *pool) {
  evq__pool_t *p = (evq__pool_t *)pool;
  if (!p) return EVQ_EINVAL;
  evq_t *q = p->q;
  evq__mutex_lock(&q->lock);
  bool busy = p->users || p->nlent;
  if (!busy) pool_release(p);
  evq__mutex_unlock(&q->lock);
  return busy ? EVQ_EBUSY : 0;
}

/* The id goes to the caller with the completion: lent from now on. */
int32_t evq__pool_take(evq__pool_t *p) {
  if (p->nfree == 0) return -1;
  uint32_t id = p->free_ids[--p->nfree];
  p->lent[id] = 1;
  p->nlent++;
  return (int32_t)id;
}

void evq__pool_untake(evq__pool_t *p, uint32_t id) {
  p->lent[id] = 0;
  p->nlent--;
  p->free_ids[p->nfree++] = (uint16_t)id;
}

void evq__pools_free(evq__io_t *io) {
  while (!evq__list_empty(&io->pools))
    pool_release(EVQ__CONTAINER(io->pools.next, evq__pool_t, link));
}
