/**
 * \file
 * evq: a cross-platform event queue for C.
 *
 * One evq_t blocks one thread until something happens (a descriptor is
 * readable or writable, a timer expires, another thread calls evq_wake) and
 * returns what happened as a batch of evq_event_t, each carrying the token
 * the caller chose when it registered the source.
 *
 * Conventions used by every call below:
 *  - Functions return 0 (or a count) on success and a negative EVQ_E* code
 *    on failure. The codes are the same on every OS; evq_strerror() names
 *    them. A failed call changes nothing.
 *  - Time is nanoseconds on a monotonic clock (evq_now()).
 *  - evq_wait() may be called by one thread at a time per queue. Every other
 *    call may be made from any thread, also while a thread is blocked in
 *    evq_wait(), and takes effect without waiting for that wait to time out.
 *    evq_wake() is also async-signal-safe.
 *
 * Sockets made ready for a queue (addresses, TCP, UDP, Unix domain,
 * reading and writing) are declared in evq_net.h, which includes this
 * header. What differs between backends is gathered in one section,
 * "Portability", below.
 *
 * How to use all this, with examples and the pitfalls (fork, closed and
 * duplicated descriptors, running out of descriptors, Windows): the guide,
 * docs/guide.md. The semantics shared by every backend are pinned by the
 * conformance suite in tests/. `make docs` turns the comments of this file
 * into an HTML reference (Doxygen).
 */
#ifndef EVQ_H
#define EVQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * \def EVQ_API
 * Marks the functions the library exports. Empty for the static library;
 * a program that links evq as a Windows DLL defines EVQ_SHARED before
 * including this header (the CMake target evq_shared does it).
 */
#if defined(_WIN32) && defined(EVQ_SHARED)
#  ifdef EVQ_BUILDING
#    define EVQ_API __declspec(dllexport)
#  else
#    define EVQ_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(EVQ_SHARED)
#  define EVQ_API __attribute__((visibility("default")))
#else
#  define EVQ_API
#endif

/* The API reference's topics, in the order to read them: Doxygen lists
 * groups in the order it meets them, and each section below adds its
 * calls and its description to one. */
/** \defgroup lifecycle Queue lifecycle */
/** \defgroup registration Descriptor registration */
/** \defgroup events Events and trigger modes */
/** \defgroup waiting Waiting */
/** \defgroup timers Timers */
/** \defgroup signals Signals */
/** \defgroup children Child processes */
/** \defgroup sockets Sockets (evq_net.h) */
/** \defgroup operations Completion operations (evq_io.h) */
/** \defgroup embedding Embedding */
/** \defgroup portability Portability: what every backend guarantees */
/** \defgroup errors Errors */
/** \defgroup version Version */

/**
 * \addtogroup version
 * The version of the header and of the library linked.
 *
 * evq follows semantic versioning (README, "Versioning"). The three
 * EVQ_VERSION_* lines below are the one place the version is written
 * down: the build reads them and CHANGELOG.md must have a section for them.
 * @{
 */
/** The major version. */
#define EVQ_VERSION_MAJOR 0
/** The minor version. */
#define EVQ_VERSION_MINOR 1
/** The patch version. */
#define EVQ_VERSION_PATCH 0

/** The version of this header as one number, 0xMMmmpp (each part below
 * 256), for comparisons: `#if EVQ_VERSION_HEX >= 0x000200`. */
#define EVQ_VERSION_HEX                                                      \
  ((EVQ_VERSION_MAJOR << 16) | (EVQ_VERSION_MINOR << 8) | EVQ_VERSION_PATCH)

/** The version of this header as a string, "MAJOR.MINOR.PATCH". */
#define EVQ_VERSION_STRING                                                   \
  EVQ__STRINGIFY(EVQ_VERSION_MAJOR) "." EVQ__STRINGIFY(EVQ_VERSION_MINOR) "." \
  EVQ__STRINGIFY(EVQ_VERSION_PATCH)
#define EVQ__STRINGIFY(x) EVQ__STRINGIFY2(x)
#define EVQ__STRINGIFY2(x) #x

/**
 * The version of the library actually linked, as EVQ_VERSION_HEX. With a
 * shared library it may differ from the header the program was compiled
 * with. A program built with header H works with library L when L >= H and
 * L has H's major version (and, while the major version is 0, its minor
 * version too); check that at start-up to fail clearly, not strangely.
 */
EVQ_API unsigned evq_version(void);

/** The version of the library actually linked, as EVQ_VERSION_STRING. */
EVQ_API const char *evq_version_string(void);
/** @} */

/**
 * \addtogroup registration
 * Watching descriptors: register, modify, deregister, re-arm.
 *
 * interests is a non-empty set of EVQ_READABLE, EVQ_WRITABLE, EVQ_PRIORITY.
 * EVQ_ERROR, EVQ_READ_CLOSED and EVQ_WRITE_CLOSED are reported without
 * being asked for. Descriptors must be non-blocking (the sockets of
 * evq_net.h are).
 *
 * \anchor closing
 * Closing. Deregister a descriptor before closing it (or use
 * evq_deregister_close()). evq cannot see a close, so a descriptor closed
 * while registered stays in evq's table until deregistered, and meanwhile:
 *  - a new file that gets its number is never reported under it, on every
 *    backend, even when the number is reused before the first wait;
 *  - the closed file itself may go on being reported under the
 *    registration until you deregister it (on some backends, and on others
 *    while a dup keeps the file open: see \ref portability "Portability");
 *  - evq_deregister() succeeds; after it nothing more is reported, no later
 *    wait spins because of it, and the number can be registered again.
 *
 * docs/guide.md ("Closed and duplicated descriptors") says more.
 */

/**
 * \ingroup registration
 * A descriptor: a file descriptor (int) on POSIX, a SOCKET (uintptr_t) on
 * Windows.
 */
#ifdef _WIN32
typedef uintptr_t evq_fd_t;
#  define EVQ_INVALID_FD ((evq_fd_t)~(uintptr_t)0)
#else
typedef int evq_fd_t;
/** \ingroup registration
 * A descriptor value that is never valid: -1 on POSIX, INVALID_SOCKET on
 * Windows. */
#  define EVQ_INVALID_FD (-1)
#endif

/**
 * \ingroup lifecycle
 * A queue. Opaque: made by evq_create(), freed by evq_free().
 */
typedef struct evq evq_t;

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup errors
 * Every call that can fail returns one of these codes (negative).
 *
 * The codes are the same on every OS: POSIX errno values and Windows'
 * Win32, Winsock and NTSTATUS codes are mapped to them (docs/windows.md
 * has the Windows table). The original OS error is not kept; an OS error
 * evq does not map becomes EVQ_EIO. A call that fails changes nothing.
 * @{
 */

/**
 * The table of error codes, one X(name, value, text) per code.
 *
 * The enum evq_error, evq_strerror() and evq_errname() are all made from
 * it, so they cannot drift; on POSIX the errno of the same name maps to
 * each code (EBADF to EVQ_EBADF). Include it with your own X to build a
 * table of your own (a switch, a name list) that follows evq's.
 *
 * What each code means:
 *
 * - EVQ_EINVAL (-1): an argument is wrong: a NULL pointer, a capacity
 *   below 1, an unknown flag, mode or option, reserved fields not zero, an
 *   empty interest set, a negative delay or period, a timeout below -1, a
 *   signal number that cannot be caught, a pid <= 0, a malformed address
 *   or one of the wrong family for the call.
 * - EVQ_ENOMEM (-2): out of memory (or of kernel buffers).
 * - EVQ_EBADF (-3): the descriptor is invalid or closed, or not a socket
 *   where a socket is needed.
 * - EVQ_EEXIST (-4): the descriptor is already registered with this queue
 *   (the signal already subscribed, the process already watched).
 * - EVQ_ENOENT (-5): the descriptor is not registered with this queue (the
 *   signal not subscribed, the process not watched or not a child that can
 *   be waited for); the timer is not running on this queue.
 * - EVQ_EAGAIN (-6): the operation would block: no data to read, no room
 *   to write, no connection to accept. Not a failure: wait for the next
 *   event.
 * - EVQ_EBUSY (-7): another thread is already in evq_wait() on this queue;
 *   the timer runs on another queue.
 * - EVQ_ENOTSUP (-8): the backend is unknown, not compiled in or not
 *   usable here (evq_backend_check() says why), or cannot poll this kind
 *   of descriptor or this interest, or has no descriptor for evq_fd()
 *   (\ref portability "Portability" says which).
 * - EVQ_EMFILE (-9): the process (or the system) has no descriptor left.
 * - EVQ_ECONNREFUSED (-10): nothing listens at the address connected to.
 * - EVQ_ECONNRESET (-11): the peer reset or aborted the connection.
 * - EVQ_EPIPE (-12): a write to a connection the peer has closed.
 * - EVQ_EADDRINUSE (-13): the address is already in use.
 * - EVQ_ENOTCONN (-14): the socket is not connected.
 * - EVQ_ETIMEDOUT (-15): the connection timed out.
 * - EVQ_EADDRNOTAVAIL (-16): the address is not available on this machine.
 * - EVQ_EIO (-17): an input/output error, or any other OS error.
 * - EVQ_EINTR (-18): a signal handler ran during evq_wait(), which had
 *   nothing to return; only for a queue made with EVQ_OPT_EINTR.
 * - EVQ_EMSGSIZE (-19): a datagram longer than the buffer given (the rest
 *   of it is lost), or one too long to send.
 * - EVQ_EHOSTUNREACH (-20): no route to the host or to its network.
 * - EVQ_EACCES (-21): permission denied: a privileged port, a Unix socket
 *   path's permissions, a broadcast without EVQ_SO_BROADCAST.
 * - EVQ_ENOBUFS (-22): a completion's buffer pool had no buffer when data
 *   came (evq_io.h); the OS's own shortage of buffers is EVQ_ENOMEM.
 * - EVQ_ECANCELED (-23): a completion operation ended by evq_op_cancel(),
 *   evq_op_close(), or a send before it that failed (evq_io.h).
 */
#define EVQ_ERRNO_MAP(X)                                                    \
  X(EINVAL, -1, "invalid argument")                                       \
  X(ENOMEM, -2, "out of memory")                                          \
  X(EBADF, -3, "bad descriptor")                                          \
  X(EEXIST, -4, "descriptor already registered")                          \
  X(ENOENT, -5, "not registered or not running")                          \
  X(EAGAIN, -6, "operation would block")                                  \
  X(EBUSY, -7, "queue or timer busy elsewhere")                           \
  X(ENOTSUP, -8, "not in this build, or not supported by this backend")  \
  X(EMFILE, -9, "too many open descriptors")                              \
  X(ECONNREFUSED, -10, "connection refused")                              \
  X(ECONNRESET, -11, "connection reset by peer")                          \
  X(EPIPE, -12, "connection closed by peer")                              \
  X(EADDRINUSE, -13, "address already in use")                            \
  X(ENOTCONN, -14, "socket not connected")                                \
  X(ETIMEDOUT, -15, "timed out")                                          \
  X(EADDRNOTAVAIL, -16, "address not available")                          \
  X(EIO, -17, "input/output or other system error")                       \
  X(EINTR, -18, "interrupted by a signal handler")                        \
  X(EMSGSIZE, -19, "message too long")                                    \
  X(EHOSTUNREACH, -20, "host or network unreachable")                     \
  X(EACCES, -21, "permission denied")                                     \
  X(ENOBUFS, -22, "buffer pool empty")                                    \
  X(ECANCELED, -23, "operation cancelled")

/** The error codes: EVQ_OK and one EVQ_E* per line of EVQ_ERRNO_MAP. */
enum evq_error {
  EVQ_OK = 0, /**< Success. */
#define EVQ__ERROR_ENUM(name, value, text) EVQ_##name = value,
  EVQ_ERRNO_MAP(EVQ__ERROR_ENUM)
#undef EVQ__ERROR_ENUM
};

/**
 * Names and describes an error code ("EVQ_EBADF: bad descriptor"). Never
 * returns NULL; an unknown code gives "EVQ_E?: unknown error".
 */
EVQ_API const char *evq_strerror(int code);

/**
 * The name of an error code alone ("EVQ_EBADF"); "EVQ_OK" for 0 and
 * "EVQ_E?" for an unknown code. Never NULL.
 */
EVQ_API const char *evq_errname(int code);

/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup events
 * What evq_wait() returns, and when a registration reports.
 *
 * Readiness is a hint: act on an event by trying the I/O, and treat
 * EVQ_EAGAIN as "nothing after all". The result flags other than the
 * directions asked for say more on some backends than on others
 * (\ref portability "Portability").
 * @{
 */

/** Interests (evq_register()) and results (evq_event_t.flags). */
enum evq_flag {
  /* Interests (evq_register) and results (evq_event_t.flags). */
  EVQ_READABLE = 1u << 0,     /**< Data to read, a connection to accept,
                                   or end of stream. */
  EVQ_WRITABLE = 1u << 1,     /**< Room to write; a connect finished. */
  EVQ_PRIORITY = 1u << 2,     /**< Out-of-band data; not offered by every
                                   backend (EVQ_ENOTSUP there). */
  /* Results only. */
  EVQ_ERROR = 1u << 3,        /**< The descriptor has a pending error
                                   (evq_socket_error() reads it). */
  EVQ_READ_CLOSED = 1u << 4,  /**< The peer will send nothing more; some
                                   kernels report it only once the data
                                   sent before the close has been read. */
  EVQ_WRITE_CLOSED = 1u << 5, /**< Writing can no longer succeed. */
  /* Kinds of event that are not descriptor readiness. */
  EVQ_TIMER = 1u << 8,        /**< A timer expired; data = expirations. */
  EVQ_WAKE = 1u << 9,         /**< evq_wake() was called; data = 0. */
  EVQ_SIGNAL = 1u << 10,      /**< A signal arrived; data = how many times
                                   since the last event (they coalesce). */
  EVQ_CHILD = 1u << 11,       /**< A child process ended; data = its exit
                                   code, or with EVQ_CHILD_SIGNALED the
                                   number of the signal that ended it. */
  EVQ_CHILD_SIGNALED = 1u << 12, /**< With EVQ_CHILD: a signal ended the
                                     child; data is its number. */
  /* Completions of operations (evq_io.h). */
  EVQ_OP = 1u << 13,          /**< An operation's completion; data is its
                                   result (evq_op_result()). */
  EVQ_OP_MORE = 1u << 14,     /**< With EVQ_OP: more completions of this
                                   operation will come; it is still evq's. */
  EVQ_OP_BUFFER = 1u << 15    /**< With EVQ_OP: a pool buffer is lent, its
                                   id in the flags' bits 16 to 31. */
};

/** The shift of a lent buffer's id in evq_event_t.flags (EVQ_OP_BUFFER). */
#define EVQ_OP_BUFFER_SHIFT 16

/**
 * One event: which source, and what happened to it. A wait reports each
 * registration at most once, with every flag seen. Readiness is what the
 * kernel saw, which your own I/O may have consumed since: the I/O call
 * then returns EVQ_EAGAIN, as after any spurious event, which every caller
 * must handle anyway (\ref portability "Portability": how old it can be).
 */
typedef struct evq_event {
  uintptr_t token; /**< The token given at registration, timer start or
                        (for EVQ_WAKE) evq_create(). */
  uint32_t flags;  /**< EVQ_* flags of enum evq_flag. */
  uint32_t data;   /**< Per kind: the timer expirations this event covers
                        (EVQ_TIMER), the deliveries of a signal
                        (EVQ_SIGNAL), the exit code or signal number of a
                        child (EVQ_CHILD), an operation's result as an
                        int32_t (EVQ_OP); 0 otherwise. */
} evq_event_t;

/**
 * Trigger modes, chosen per registration; identical on every backend.
 */
typedef enum evq_mode {
  /**
   * Edge: a direction is reported once when it becomes ready. After that,
   * another event for that direction is guaranteed only once an I/O call
   * on it has returned would-block: read or write until EVQ_EAGAIN. Do the
   * I/O through evq_read(), evq_write(), evq_accept() (which tell evq), or
   * call evq_rearm() after your own I/O returned EAGAIN. Some backends
   * report more than that (\ref portability "Portability"): portable code
   * must neither rely on it nor mind it.
   */
  EVQ_EDGE = 1,
  /** Level: every evq_wait() reports the descriptor while it is ready. */
  EVQ_LEVEL = 2,
  /**
   * Oneshot: the first event disarms the registration; evq_modify()
   * re-arms it. No event is delivered while disarmed.
   */
  EVQ_ONESHOT = 3
} evq_mode_t;

/** \ingroup waiting
 * A timeout for evq_wait() that never expires. */
#define EVQ_FOREVER ((int64_t)-1)

/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup lifecycle
 * Creating and freeing a queue, and choosing its backend.
 * @{
 */

/** Options for evq_create(); zero-initialise, then set what you need. */
typedef struct evq_options {
  /**
   * Backend name ("epoll", "io_uring", "kqueue", "iocp", "poll"). NULL: the
   * EVQ_BACKEND environment variable if set, else the best backend
   * compiled in.
   */
  const char *backend;
  /** Token carried by the event that evq_wake() produces. */
  uintptr_t wake_token;
  /**
   * Kernel events fetched per evq_wait() at most; 0 means 256, and any
   * value above 65,536 means 65,536, on every backend. Memory for them is
   * allocated once, by evq_create().
   */
  uint32_t max_events;
  /** EVQ_OPT_* flags; 0 for the defaults. */
  uint32_t flags;
  /** Zero. Room for options to come without changing the struct's size. */
  uintptr_t reserved[4];
} evq_options_t;

/**
 * evq_options_t.flags: a wait during which a signal handler ran returns
 * EVQ_EINTR (if it has no event to return) instead of resuming with the
 * time left, so that a language runtime that runs its handlers only after
 * the C call returns (CPython, Ruby, OCaml) gets control back (not on
 * Windows: \ref portability "Portability").
 */
#define EVQ_OPT_EINTR 0x1u

/**
 * evq_options_t.flags: the caller promises that every evq_wait() and the
 * evq_free() of the queue are called from one thread, the same each time
 * (evq_create() and every other call may come from any thread, as
 * always). In return, on io_uring the ring is made for one issuer
 * (IORING_SETUP_SINGLE_ISSUER, Linux 6.0) whose completions run only when
 * it waits (IORING_SETUP_DEFER_TASKRUN, 6.1): the kernel then does less
 * work per request and interrupts the waiter less. On an older kernel,
 * each flag it refuses is left out, and the queue works as without the
 * option. Other backends accept the option and ignore it.
 *
 * What changes on io_uring with the option: evq_fd() returns EVQ_ENOTSUP
 * (completions may wait for the waiter's next call, unseen by a host
 * loop); and the kernel accepts registrations only from the waiter's
 * thread once it has waited, so that evq_register() from another thread
 * then watches the descriptor by number, checking before each request
 * that the number still names the file registered (as when the kernel's
 * table of files is full), and a pool that evq_pool_create() makes from
 * another thread then is emulated (evq receives into it when the socket
 * is readable), with the same results. Before the first wait, every thread
 * may register. Breaking the promise makes evq_wait() fail (EVQ_EEXIST)
 * on io_uring, and an evq_free() from another thread may leave the
 * kernel writing into buffers of operations still in flight.
 */
#define EVQ_OPT_ONE_WAITER 0x2u

/**
 * Creates a queue.
 *
 * \param q     receives the queue (NULL after a failure)
 * \param opts  NULL for all defaults
 * \return 0, or EVQ_EINVAL (q NULL, unknown flags, reserved fields not
 *         zero), EVQ_ENOTSUP (unknown or unavailable backend:
 *         evq_backend_check() says why, in the words evq_create() prints
 *         when the backend was named by EVQ_BACKEND), EVQ_ENOMEM,
 *         EVQ_EMFILE.
 *
 * Every descriptor evq opens is close-on-exec.
 */
EVQ_API int evq_create(evq_t **q, const evq_options_t *opts);

/**
 * Frees the queue and everything evq allocated for it. Registered
 * descriptors are not closed; running timers are dropped (their storage is
 * the caller's and may be reused). No thread may be in evq_wait(). NULL is
 * ignored.
 */
EVQ_API void evq_free(evq_t *q);

/** Names the backend the queue uses ("epoll", "poll", ...). */
EVQ_API const char *evq_backend(const evq_t *q);

/**
 * Fills names with the backends compiled into this build, best first, and
 * returns how many there are (which may exceed cap).
 */
EVQ_API int evq_backends(const char **names, int cap);

/**
 * Tells whether a queue can be made on the named backend here. A backend
 * compiled in may still be unavailable: io_uring on an old kernel, or one
 * where it is disabled by sysctl, seccomp or a container.
 *
 * \param name  a backend name, as evq_backends() gives them
 * \param why   NULL, or where to put a one-line reason when the backend
 *              cannot be used ("not a backend of this build (it has:
 *              epoll, io_uring, poll)" for a name the build lacks)
 * \param cap   the size of why, in bytes
 * \return 0, or the code evq_create() would give (EVQ_ENOTSUP, ...);
 *         EVQ_EINVAL for a NULL name.
 *
 * When EVQ_BACKEND names a backend that cannot be used, evq_create() also
 * prints this reason to stderr.
 */
EVQ_API int evq_backend_check(const char *name, char *why, size_t cap);

/** @} */

/* ------------------------------------------------------------------------ */
/** \addtogroup registration
 * @{ */

/**
 * Starts watching fd.
 *
 * \param q          the queue
 * \param fd         a non-blocking descriptor not yet registered with q
 * \param interests  EVQ_READABLE, EVQ_WRITABLE and/or EVQ_PRIORITY
 * \param mode       EVQ_EDGE, EVQ_LEVEL or EVQ_ONESHOT
 * \param token      returned in every event of this registration
 * \return 0, or EVQ_EINVAL (NULL queue, empty or unknown interests, unknown
 *         mode), EVQ_EBADF (invalid or closed fd), EVQ_EEXIST (already
 *         registered with this queue), EVQ_ENOTSUP (the backend cannot poll
 *         this kind of descriptor, such as a regular file under epoll),
 *         EVQ_ENOMEM.
 */
EVQ_API int evq_register(evq_t *q, evq_fd_t fd, uint32_t interests,
                         evq_mode_t mode, uintptr_t token);

/**
 * Replaces interests, mode and token of a registration and re-arms it
 * (oneshot and edge). Errors: as evq_register(), and EVQ_ENOENT if fd is
 * not registered.
 */
EVQ_API int evq_modify(evq_t *q, evq_fd_t fd, uint32_t interests,
                       evq_mode_t mode, uintptr_t token);

/**
 * Stops watching fd. When it returns, no event for this registration will
 * be delivered by any later evq_wait(), even one the kernel had already
 * queued, and even if fd is closed and its number reused. (Events a wait
 * already handed out, in a batch the caller is still going through, are
 * the caller's.) Succeeds for a registered fd that was closed meanwhile.
 * Errors: EVQ_EINVAL, EVQ_ENOENT.
 */
EVQ_API int evq_deregister(evq_t *q, evq_fd_t fd);

/**
 * Deregisters fd and closes it (evq_close()), the usual end of a
 * connection, in fewer system calls where the close itself drops the
 * kernel's interest (\ref portability "Portability"); if another
 * descriptor keeps the file open, what the kernel still holds is cleared
 * later as for any closed descriptor (\ref closing "Closing"). The same
 * promise as evq_deregister(): nothing more is reported. Errors: EVQ_EINVAL, EVQ_ENOENT (not registered; then fd is not
 * closed), or those of evq_close().
 */
EVQ_API int evq_deregister_close(evq_t *q, evq_fd_t fd);

/**
 * Closes a descriptor: a socket of evq_net.h, or any descriptor on POSIX.
 * A close interrupted by a signal counts as done (the descriptor is closed
 * then on Linux, macOS and the BSDs): never retry it. Errors: EVQ_EBADF,
 * EVQ_EIO.
 */
EVQ_API int evq_close(evq_fd_t fd);

/**
 * Tells evq that I/O on fd in the given directions (EVQ_READABLE,
 * EVQ_WRITABLE) returned would-block, so an edge-mode registration reports
 * the next readiness. Needed only for I/O not done through evq_read(),
 * evq_write() or evq_accept(); free where the kernel tracks edges.
 * Errors: EVQ_EINVAL, EVQ_ENOENT.
 */
EVQ_API int evq_rearm(evq_t *q, evq_fd_t fd, uint32_t directions);

/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup waiting
 * Blocking for events, and waking a blocked waiter.
 * @{
 */

/**
 * Blocks until at least one event is ready or the timeout passes, then
 * stores up to capacity events and returns how many.
 *
 * \param q           the queue; one thread at a time may wait on it
 * \param events      where the events go
 * \param capacity    how many fit, at least 1; events that do not fit stay
 *                    queued for the next call
 * \param timeout_ns  EVQ_FOREVER, 0 to poll without blocking, or a positive
 *                    number of nanoseconds, rounded up to the backend's
 *                    resolution so the wait never returns early with
 *                    nothing to report
 * \return the number of events stored, 0 on timeout, or EVQ_EINVAL (NULL,
 *         capacity < 1, timeout < -1), EVQ_EBUSY (another thread is
 *         waiting on q), EVQ_EINTR (see below), EVQ_ENOMEM (the kernel
 *         had no memory for the wait, as poll(2) may say; nothing is
 *         lost: wait again).
 *
 * Signals do not end a wait: on EINTR it resumes with the time left (a
 * signal handler that wants the wait to return calls evq_wake()), unless
 * the queue was made with EVQ_OPT_EINTR: then a wait during which a signal
 * handler ran, and that has nothing to return, returns EVQ_EINTR.
 */
EVQ_API int evq_wait(evq_t *q, evq_event_t *events, int capacity,
                     int64_t timeout_ns);

/**
 * Makes the current or next evq_wait() return an EVQ_WAKE event carrying
 * the wake_token of evq_options_t. Wake-ups made before a wait collects
 * them coalesce into one event. Safe from any thread and from a signal
 * handler. Returns 0, or EVQ_EINVAL for a NULL queue.
 */
EVQ_API int evq_wake(evq_t *q);

/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup embedding
 * Running a queue inside another loop (GLib, another evq, a language
 * runtime's selector).
 *
 * The host watches evq_fd() for readability and sleeps no longer than
 * evq_next_timeout(); whenever the descriptor is readable or the timeout
 * passed, it calls evq_wait(q, events, n, 0) to collect. Once evq_fd() has
 * been called, wake-ups, signals and changes that move the next timer
 * earlier also make the descriptor readable, so the host learns of them.
 * @{
 */

/**
 * Stores in fd the descriptor of the queue's kernel object (the epoll,
 * io_uring or kqueue descriptor): readable while the queue has something
 * to deliver other than a timer. Do not read, close or register it
 * elsewhere but in a host loop. Errors: EVQ_EINVAL (NULL), EVQ_ENOTSUP
 * (the backend has no such descriptor: \ref portability "Portability").
 */
EVQ_API int evq_fd(evq_t *q, evq_fd_t *fd);

/**
 * Nanoseconds until the earliest timer of q is due: 0 if one is due or a
 * wake-up or signal is already pending, EVQ_FOREVER (-1) with no timer
 * running. EVQ_EINVAL for NULL.
 */
EVQ_API int64_t evq_next_timeout(evq_t *q);

/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup portability
 * What every backend guarantees, and what differs between them today.
 *
 * The calls above and below promise the same on every backend; the
 * conformance suite runs each promise on all five. Backends still differ
 * in what they report beyond a promise, in what they can watch and in
 * what a call costs. The right column says what they do today, so that
 * you can understand what you see; it is not promised, may change in any
 * release, and portable code must neither rely on it nor mind it.
 *
 * | Topic | Guaranteed on every backend | Today, not promised |
 * |---|---|---|
 * | Stale events | An event may be stale or spurious: act on it by trying the I/O, which then returns EVQ_EAGAIN. | io_uring reports what the kernel saw when a poll request completed, which may be before the last wait (completions that did not fit a wait's array wait for the next one): data your I/O consumed since, or less than has arrived since (an edge or oneshot registration reports the rest once re-armed, a level one at the next wait). |
 * | Edge mode | After an I/O call in a direction returned would-block (or evq_rearm() said so), the next readiness in that direction is reported once. | epoll may report new readiness earlier, and a ready direction once more after evq rebuilt its epoll instance (see \ref closing "Closing"). Where evq emulates edge (poll, io_uring, IOCP), a hang-up or error is reported once and then nothing until evq_rearm() or evq_modify(). |
 * | Result flags | The directions asked for; with EVQ_READABLE, EVQ_READ_CLOSED at the latest once the data sent before the peer's close has been read. | EVQ_READ_CLOSED, EVQ_WRITE_CLOSED and EVQ_ERROR come earlier or more often on some kernels (docs/guide.md, "Which result flags are hints where"). |
 * | Closed while registered | A new file that gets the number is never reported under the registration; evq_deregister() succeeds, and nothing is reported after it. | The closed file reports nothing on poll and kqueue; on epoll while a dup keeps it open, and on io_uring always (it holds the file until the first wait after evq_deregister()), it may go on being reported. |
 * | What can be registered | Sockets. | POSIX: whatever the kernel polls (pipes, terminals, eventfd); a regular file is EVQ_ENOTSUP on epoll, always ready on poll and io_uring, readable while there is data after the offset on kqueue. Windows: sockets only (EVQ_ENOTSUP for the rest). |
 * | EVQ_PRIORITY | Reported where offered; EVQ_ENOTSUP where not, never ignored. | Offered by epoll and poll; EVQ_ENOTSUP on io_uring, kqueue and IOCP. |
 * | Timeouts | A wait never returns early with nothing to report (timeouts round up). | Nanoseconds on io_uring, kqueue and epoll (Linux 5.11+); milliseconds on poll, IOCP and older epoll. |
 * | Costs | evq_rearm() and evq_deregister_close() have the same effect everywhere. | evq_rearm() costs nothing where the kernel tracks edges (epoll, kqueue); evq_deregister_close() skips the removal where the close drops the kernel's interest (epoll, kqueue). |
 * | evq_fd() | A descriptor where the backend has one, else EVQ_ENOTSUP. | epoll, io_uring, kqueue have one; poll, IOCP and kqueue through libkqueue do not. |
 * | Signals | evq_signal_add() for the signals the platform has. | POSIX signals; on Windows the console's control events (SIGINT for Ctrl-C, SIGBREAK for Ctrl-Break, 1 (SIGHUP) for the console being closed). EVQ_OPT_EINTR changes nothing on Windows, whose waits signals do not interrupt. |
 * | Children | One EVQ_CHILD event per watched child, which evq reaps on POSIX. While any child is watched without a process descriptor, evq catches SIGCHLD (see Signals). | Linux polls a pidfd (5.3+), kqueue uses EVFILT_PROC (through libkqueue: SIGCHLD), Windows waits on the process handle; elsewhere SIGCHLD and waitpid() on the watched pids. |
 *
 * docs/guide.md ("Choosing a backend") compares the backends, and
 * docs/networking.md does the same for the sockets of evq_net.h.
 * @{
 */
/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup signals
 * Signals as events: POSIX signals, and on Windows the console's control
 * events.
 *
 * \ref portability "Portability" says which numbers Windows has.
 *
 * A queue subscribes to a signal number with a token; every delivery makes
 * an EVQ_SIGNAL event with that token, its data counting the deliveries
 * coalesced into it: the times evq's handler ran, which may be fewer than
 * the signals sent, since the kernel merges a signal sent again while it
 * is still pending. Every queue subscribed to a signal gets it. A signal
 * that arrives while no thread waits is kept for the next wait. While any
 * queue is subscribed, evq's handler replaces the signal's disposition
 * (process-wide, on every thread), whatever it was, SIG_IGN included (a
 * shell's background job starts with SIGINT ignored: subscribing catches
 * it); when the last subscription ends, the disposition evq found is
 * restored. evq does not chain to a handler it replaced. In a child made
 * by fork(), evq restores the dispositions it changed and forgets the
 * parent's subscriptions.
 * @{
 */

/**
 * Subscribes q to signo. Errors: EVQ_EINVAL (NULL, a signal number out of
 * range, SIGKILL or SIGSTOP, or a number the platform cannot catch),
 * EVQ_EEXIST (already subscribed), EVQ_ENOMEM.
 */
EVQ_API int evq_signal_add(evq_t *q, int signo, uintptr_t token);

/**
 * Ends the subscription; pending deliveries not yet collected are dropped.
 * Errors: EVQ_EINVAL, EVQ_ENOENT (not subscribed).
 */
EVQ_API int evq_signal_remove(evq_t *q, int signo);

/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup children
 * Child processes as events.
 *
 * Watch a process the caller started (fork, posix_spawn, CreateProcess):
 * its exit is one EVQ_CHILD event with the token, data holding the exit
 * code (or, with EVQ_CHILD_SIGNALED, the number of the signal that ended
 * it), and then the watch is over. On POSIX evq reaps that process (and no
 * other): do not wait for it yourself. If the caller reaped it anyway, the
 * watch still ends with one event, EVQ_CHILD | EVQ_ERROR and data 0. The
 * pid is free for reuse once evq_wait() returned its event: send it
 * signals only while the watch runs. Where the backend cannot watch a
 * process descriptor, evq watches SIGCHLD (through evq_signal_add()'s
 * mechanism, replacing the disposition it finds, see Signals) and tries
 * waitpid() on the watched pids only; \ref portability "Portability"
 * says where that is.
 * @{
 */

/** A process id: pid_t on POSIX, a process id (DWORD) on Windows. */
#ifdef _WIN32
typedef uint32_t evq_pid_t;
#else
typedef int evq_pid_t;
#endif

/**
 * Starts watching pid, a child of this process. A child that has already
 * ended (not yet reaped) reports at the next wait. Errors: EVQ_EINVAL
 * (NULL queue, pid <= 0), EVQ_EEXIST (already watched by q), EVQ_ENOENT
 * (no such process, or not a child that can be waited for), EVQ_ENOMEM.
 */
EVQ_API int evq_child_add(evq_t *q, evq_pid_t pid, uintptr_t token);

/**
 * Stops watching pid (the process is then neither reported nor reaped by
 * evq). Errors: EVQ_EINVAL, EVQ_ENOENT (not watched, or its exit was
 * already reported).
 */
EVQ_API int evq_child_remove(evq_t *q, evq_pid_t pid);

/** @} */

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup timers
 * One-shot and periodic timers, delivered as EVQ_TIMER events.
 *
 * Storage is the caller's: evq never allocates for a timer. Keep an
 * evq_timer_t alive and unmoved while it runs. Start and stop cost
 * O(log n) in the number of running timers.
 * @{
 */

/**
 * Storage for one timer, which the caller owns and evq alone reads and
 * writes. The size (96 bytes) is part of the ABI; the layout is not.
 */
typedef struct evq_timer {
  /** Private to evq; prepare it with evq_timer_init() before first use.
   * The size (96 bytes) is part of the ABI and leaves room for evq to grow
   * without changing it; the layout is not: never read or write it. */
  uint64_t evq__opaque[12];
} evq_timer_t;

/**
 * Monotonic clock, nanoseconds. Unaffected by changes of the wall-clock
 * time; its origin is arbitrary.
 */
EVQ_API int64_t evq_now(void);

/**
 * Prepares timer storage (marks it not running). Never call it on a
 * running timer.
 */
EVQ_API void evq_timer_init(evq_timer_t *t);

/**
 * Starts (or restarts, if running) a timer that expires after delay_ns,
 * then every period_ns if period_ns > 0.
 *
 * \param q          the queue whose evq_wait() reports the timer
 * \param t          initialised storage that stays put while it runs
 * \param delay_ns   nanoseconds from now to the first expiry, at least 0
 * \param period_ns  0 for a one-shot timer, else the period
 * \param token      returned in the timer's EVQ_TIMER events
 * \return 0, or EVQ_EINVAL (NULL, delay < 0, period < 0), EVQ_EBUSY (the
 *         timer runs on another queue).
 *
 * A periodic timer keeps its schedule: expiry k is at start + delay +
 * k*period however late it is delivered; a delivery that covers missed
 * periods says how many in event.data. A timer never fires before its
 * deadline; timers with equal deadlines fire in start order. Restarting a
 * running timer to a later deadline (a timeout pushed back on activity)
 * costs O(1).
 */
EVQ_API int evq_timer_start(evq_t *q, evq_timer_t *t, int64_t delay_ns,
                            int64_t period_ns, uintptr_t token);

/**
 * Stops a timer. When it returns, the timer delivers no further event.
 * Errors: EVQ_EINVAL (NULL), EVQ_ENOENT (not running on q).
 */
EVQ_API int evq_timer_stop(evq_t *q, evq_timer_t *t);

/**
 * Reports whether the timer is running (1) or not (0). A one-shot timer
 * stops running when its event is collected.
 */
EVQ_API int evq_timer_active(const evq_timer_t *t);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* EVQ_H */
