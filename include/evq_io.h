/**
 * \file
 * evq's completion operations: accept, receive, send, connect and close
 * handed to the queue, which carries them out and reports each one's end as
 * an event in the same evq_wait() batch as readiness, timers and signals.
 *
 * Include this header for them; it includes evq_net.h and evq.h. With
 * readiness (evq_register()) the program makes its own read and write for
 * every event; with operations the queue does the I/O: the kernel itself
 * where it can (io_uring, IOCP), and elsewhere evq inside evq_wait() when
 * the socket is ready (a send that can go at once, in the submitting
 * call), with the same results. docs/completion.md gives the
 * design, and for each rule below how each kernel keeps it.
 *
 * Rules that hold for every operation, on every backend:
 *  - Ownership. From a submission that returned 0 until its final
 *    completion (one without EVQ_OP_MORE) has been returned by evq_wait(),
 *    the evq_op_t and every buffer, iovec array and address it names are
 *    evq's: do not move, free or touch them. Then they are the caller's.
 *  - Exactly once. Every submission that returned 0 gets exactly one final
 *    completion; a multishot operation gets any number of EVQ_OP_MORE ones
 *    before it. evq_op_active() turns 0 when the final one is written into
 *    the batch. A submission that returns an error takes nothing and gets
 *    no completion.
 *  - Delivery. Only evq_wait() delivers, each completion as one event:
 *    token the submission's, flags EVQ_OP (with EVQ_OP_MORE, EVQ_OP_BUFFER
 *    as they apply), data the result (evq_op_result()). What does not fit
 *    in the batch waits for the next. Order promised: one operation's
 *    completions in order; sends on a socket in submission order; receives
 *    on a socket in submission order, their bytes in stream order; a close
 *    after every other operation of its socket. Nothing else.
 *  - Errors. A submission refuses bad arguments at once (EVQ_EINVAL,
 *    EVQ_EBUSY, EVQ_EEXIST, EVQ_EBADF, EVQ_ENOMEM, each said below);
 *    everything the I/O itself meets, a bad descriptor included, comes as
 *    the completion's result, so a program handles I/O errors in one place.
 *  - One model per socket. A socket is registered for readiness or used
 *    with operations on a queue, not both: either way round the call gets
 *    EVQ_EEXIST; evq_io_release() or evq_deregister() switches it. A socket
 *    takes operations from one queue while it is open. A number whose
 *    operations met EVQ_EBADF (it named no socket) is held by none of them
 *    once their final completions have been returned.
 *  - Any thread. Submissions, evq_op_cancel() and evq_pool_put() may come
 *    from any thread, also while another waits; a sleeping waiter is woken
 *    when the operation can make progress.
 *  - No allocation per operation: the caller owns each evq_op_t; evq
 *    allocates a record per socket (reused) and nothing per operation.
 *  - Stream sockets only (TCP, Unix stream); evq does not check the type.
 *
 * Results are int32_t, as both kernels report them: a send or receive
 * longer than INT32_MAX bytes is refused (EVQ_EINVAL).
 */
#ifndef EVQ_IO_H
#define EVQ_IO_H

#include "evq_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * \addtogroup operations
 * Completion operations (this group is evq_io.h: include it for them).
 *
 * The rules of evq_io.h hold for each: the operation and its buffers are
 * evq's until its final completion, exactly one final completion per
 * accepted submission, I/O errors as results, one model per socket.
 * @{
 */

/**
 * Storage for one operation, which the caller owns. The size (256 bytes)
 * is part of the ABI and leaves room for evq to grow; the layout is not:
 * never read or write it. Prepare it with evq_op_init() (or zero it) once;
 * after its final completion it may be submitted again.
 */
typedef struct evq_op {
  uint64_t evq__opaque[32];
} evq_op_t;

/** A pool of equal buffers owned by a queue, for evq_op_recv_pool(). */
typedef struct evq_pool evq_pool_t;

/** Prepares op for its first submission (zeroed storage is also ready). */
EVQ_API void evq_op_init(evq_op_t *op);

/**
 * 1 from a submission that returned 0 until its final completion is
 * written into an evq_wait() batch (or evq_free() ended it), else 0. Any
 * thread; a value read while another thread waits may be old at once.
 */
EVQ_API int evq_op_active(const evq_op_t *op);

/**
 * Accepts one connection on listener. Completes with the new socket
 * (evq_op_socket()): non-blocking, close-on-exec, TCP_NODELAY for TCP, as
 * evq_accept() makes it, and the caller's from the completion. If peer is
 * not NULL it receives the peer's address. Out of descriptors: the
 * connections pending then are refused (as evq_accept() does where it
 * can) and the result is EVQ_EMFILE.
 * Errors (returned): EVQ_EINVAL (q or op NULL), EVQ_EBUSY (op active, or a
 * multishot accept runs on listener), EVQ_EEXIST (listener registered for
 * readiness on q), EVQ_EBADF (listener being closed by evq_op_close()),
 * EVQ_ENOMEM.
 */
EVQ_API int evq_op_accept(evq_t *q, evq_op_t *op, evq_fd_t listener,
                          evq_addr_t *peer, uintptr_t token);

/**
 * Accepts connections on listener until cancelled or closed: one
 * completion with EVQ_OP_MORE per connection (the new socket, as
 * evq_op_accept()'s; no address: ask evq_peer_addr()). Out of descriptors:
 * the pending connections are refused and a completion EVQ_EMFILE with
 * EVQ_OP_MORE says so, after which accepting goes on; where no connection
 * can be refused (Windows) the operation ends with EVQ_EMFILE. It ends
 * (final completion) with EVQ_ECANCELED on cancel or close, or with the
 * listener's error. Errors as evq_op_accept()'s; EVQ_EBUSY also when any
 * accept is active on listener.
 */
EVQ_API int evq_op_accept_multi(evq_t *q, evq_op_t *op, evq_fd_t listener,
                                uintptr_t token);

/**
 * Receives into buf: completes with 1 to len bytes (what had arrived: evq
 * never waits to fill buf), 0 at end of stream, or an error. Receives on a
 * socket are served one at a time, in submission order.
 * Errors: EVQ_EINVAL (NULL, len 0 or above INT32_MAX), EVQ_EBUSY (op
 * active, or a pool receive runs on fd), EVQ_EEXIST, EVQ_EBADF,
 * EVQ_ENOMEM.
 */
EVQ_API int evq_op_recv(evq_t *q, evq_op_t *op, evq_fd_t fd, void *buf,
                        size_t len, uintptr_t token);

/**
 * Receives into pool buffers until it ends: each completion (with
 * EVQ_OP_MORE and EVQ_OP_BUFFER) lends one buffer of the pool, id
 * evq_op_buffer(), holding the result's 1 to size bytes; the buffer is the
 * caller's until evq_pool_put(). A buffer is taken only when data is
 * there, so an idle socket holds none. A completion carries a buffer if
 * and only if EVQ_OP_BUFFER is set. It ends (final completion, no buffer)
 * at end of stream (0), on an error, on cancel or close (EVQ_ECANCELED),
 * or with EVQ_ENOBUFS when data came and the pool had no buffer: the data
 * stays in the socket; give buffers back and submit again. It never
 * stalls silently. Errors as evq_op_recv()'s, and EVQ_EINVAL for a pool of
 * another queue; EVQ_EBUSY also when any receive is active on fd.
 */
EVQ_API int evq_op_recv_pool(evq_t *q, evq_op_t *op, evq_fd_t fd,
                             evq_pool_t *pool, uintptr_t token);

/**
 * Sends len bytes of buf. Completes with len once every byte was sent (evq
 * finishes short sends itself), or with an error. Sends on a socket
 * complete in submission order and their bytes never interleave. A send
 * that fails, or is cancelled after some of its bytes went, breaks the
 * stream: every send queued behind it, and every later send on the socket,
 * ends with EVQ_ECANCELED, none of its bytes sent. A send cancelled before
 * any of its bytes went ends alone. A peer that resets gives
 * EVQ_ECONNRESET or EVQ_EPIPE, as the kernel says. Never raises SIGPIPE.
 * Errors: EVQ_EINVAL (NULL, len 0 or above INT32_MAX), EVQ_EBUSY (op
 * active), EVQ_EEXIST, EVQ_EBADF, EVQ_ENOMEM.
 */
EVQ_API int evq_op_send(evq_t *q, evq_op_t *op, evq_fd_t fd, const void *buf,
                        size_t len, uintptr_t token);

/**
 * Sends n buffers as one send (evq_op_send()'s rules); completes with
 * their total. The array and the buffers are evq's until the completion.
 * Errors: EVQ_EINVAL (NULL, n < 1, a total of 0 or above INT32_MAX), and
 * evq_op_send()'s.
 */
EVQ_API int evq_op_sendv(evq_t *q, evq_op_t *op, evq_fd_t fd,
                         const evq_iovec_t *iov, int n, uintptr_t token);

/**
 * Makes a stream socket and connects it to addr. Completes with the
 * socket, connected (evq_op_socket(); the caller's from then, with
 * TCP_NODELAY for TCP, and already tied to q for operations), or with the
 * reason evq_connect_result() would give, evq having closed the socket. A
 * cancel closes it too.
 * Errors: EVQ_EINVAL (NULL, or an address evq could not have made),
 * EVQ_EBUSY (op active). Making the socket is part of the I/O: its
 * failure (EVQ_EMFILE, EVQ_ENOTSUP for a family the system lacks) is the
 * result.
 */
EVQ_API int evq_op_connect(evq_t *q, evq_op_t *op, const evq_addr_t *addr,
                           uintptr_t token);

/**
 * Closes fd after ending every operation on it: each completes once (with
 * EVQ_ECANCELED unless it had finished), then the close completes, after
 * them, with 0 or EVQ_EIO. Use it for a socket that has operations: a
 * plain close is invisible to evq, as for registrations. Where the kernel
 * still has requests on fd (io_uring, IOCP) the socket is closed once they
 * have ended; elsewhere it is closed at once. Either way operations on fd, and
 * another close, are refused with EVQ_EBADF until the close's completion
 * has been returned, and only then may the number be reused. A socket
 * without operations is simply closed.
 * Errors: EVQ_EINVAL (q or op NULL), EVQ_EBUSY (op active), EVQ_EEXIST (fd
 * registered for readiness on q: evq_deregister_close() is its way),
 * EVQ_EBADF (a close of fd is under way).
 */
EVQ_API int evq_op_close(evq_t *q, evq_op_t *op, evq_fd_t fd,
                         uintptr_t token);

/**
 * Asks for op's end. Returns 0 while op is active: its final completion
 * will come, once, with EVQ_ECANCELED, or with its real result if it
 * finished first; completions with EVQ_OP_MORE made before the cancel took
 * effect are still delivered first (their buffers must go back). An op
 * queued behind another of its socket's (a send behind a send, a receive
 * behind a receive) ends when that one has, so that completions keep
 * their order; a close ends them all. Returns
 * EVQ_ENOENT when op is not active (its final completion delivered, or
 * never submitted): harmless. Never blocks; any thread.
 * Errors: EVQ_EINVAL (NULL, or op active on another queue), EVQ_ENOENT.
 */
EVQ_API int evq_op_cancel(evq_t *q, evq_op_t *op);

/**
 * Ends fd's use with operations on q (its record), so that it can be
 * registered for readiness, given to another queue or closed by the
 * caller. Errors: EVQ_EINVAL, EVQ_ENOENT (fd has no record on q),
 * EVQ_EBUSY (an operation on fd is active).
 */
EVQ_API int evq_io_release(evq_t *q, evq_fd_t fd);

/**
 * Makes a pool of count buffers of size bytes each, owned by q, for
 * evq_op_recv_pool(). Errors: EVQ_EINVAL (NULL, count 0 or above 32,768,
 * size 0 or above INT32_MAX, or count * size overflowing), EVQ_ENOMEM.
 * evq_free() frees q's pools.
 */
EVQ_API int evq_pool_create(evq_t *q, evq_pool_t **pool, uint32_t count,
                            uint32_t size);

/** The memory of buffer id of pool (id below the pool's count), or NULL. */
EVQ_API void *evq_pool_buf(const evq_pool_t *pool, uint32_t id);

/** The size of each buffer of pool, 0 for NULL. */
EVQ_API uint32_t evq_pool_size(const evq_pool_t *pool);

/**
 * Gives a lent buffer back to its pool; any thread. Errors: EVQ_EINVAL
 * (NULL, an id out of range, or a buffer that is not lent: giving one back
 * twice is refused, never a corrupted pool).
 */
EVQ_API int evq_pool_put(evq_pool_t *pool, uint32_t id);

/**
 * Frees pool. Errors: EVQ_EINVAL (NULL), EVQ_EBUSY (a pool receive uses
 * it, or a buffer is lent).
 */
EVQ_API int evq_pool_free(evq_pool_t *pool);

/** What evq_io_path() answers: how a queue carries out a kind of
 * operation. */
enum evq_io_path {
  EVQ_PATH_EMULATED = 1, /**< evq does the I/O when the socket is ready. */
  EVQ_PATH_NATIVE = 2,   /**< The kernel does it (io_uring, IOCP). */
  EVQ_PATH_NATIVE_MULTI = 3 /**< The kernel does it, and for a multishot
                                 kind keeps it running itself. */
};

/** Kinds of operation, for evq_io_path(). */
enum evq_io_kind {
  EVQ_IO_ACCEPT = 1,
  EVQ_IO_ACCEPT_MULTI = 2,
  EVQ_IO_RECV = 3,
  EVQ_IO_RECV_POOL = 4,
  EVQ_IO_SEND = 5,
  EVQ_IO_CONNECT = 6,
  EVQ_IO_CLOSE = 7
};

/**
 * How q carries out operations of kind (enum evq_io_kind): an
 * enum evq_io_path value. The path never changes a result. Errors:
 * EVQ_EINVAL (q NULL or kind unknown).
 */
EVQ_API int evq_io_path(evq_t *q, int kind);

/** An operation's result in a completion: bytes, 0, a socket, or a
 * negative EVQ_E* code. */
static inline int32_t evq_op_result(const evq_event_t *ev) {
  return (int32_t)ev->data;
}

/** The id of the pool buffer a completion lends (with EVQ_OP_BUFFER). */
static inline uint32_t evq_op_buffer(const evq_event_t *ev) {
  return ev->flags >> EVQ_OP_BUFFER_SHIFT;
}

/** The socket an accept's or a connect's completion gives (its result
 * >= 0). */
static inline evq_fd_t evq_op_socket(const evq_event_t *ev) {
  return (evq_fd_t)(int32_t)ev->data;
}

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* EVQ_IO_H */
