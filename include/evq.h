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
/** \defgroup sockets Sockets */
/** \defgroup networking Networking */
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
 * being asked for. Descriptors must be non-blocking (the socket helpers,
 * evq_tcp_listen() and the others, make them so).
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
  X(EACCES, -21, "permission denied")

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
  EVQ_CHILD_SIGNALED = 1u << 12 /**< With EVQ_CHILD: a signal ended the
                                     child; data is its number. */
};

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
                        child (EVQ_CHILD); 0 otherwise. */
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

/* ------------------------------------------------------------------------ */
/**
 * \addtogroup sockets
 * TCP sockets ready for a queue: listen, connect, accept, read, write,
 * socket pairs, and close; the Networking group has the rest (IPv6, UDP,
 * Unix sockets, options).
 *
 * Every socket made here is non-blocking and close-on-exec. Calls that
 * take a queue use it only to re-arm an edge-mode registration when they
 * hit would-block; q may be NULL for a socket that is not registered.
 * @{
 */

/**
 * Listens on host:port (host NULL: 127.0.0.1, else a numeric IPv4
 * address; port 0: any; backlog 0 or less: the system's maximum).
 */
EVQ_API int evq_tcp_listen(evq_fd_t *out, const char *host, uint16_t port,
                           int backlog);

/**
 * Starts connecting to host:port; returns 0 when connected or under way.
 * Wait for EVQ_WRITABLE, then evq_connect_result() gives the outcome.
 */
EVQ_API int evq_tcp_connect(evq_fd_t *out, const char *host, uint16_t port);

/**
 * Accepts one connection into out. Errors: EVQ_EAGAIN when none is
 * pending; EVQ_EMFILE when out of descriptors (see "Accepting when out of
 * descriptors" below: the pending connections were closed).
 * A TCP socket accepted from a listener made by evq has TCP_NODELAY on,
 * as the listener has. Linux passes the listener's setting on to each
 * accepted socket, so evq spends no system call on it there; from a
 * listener made elsewhere, a socket accepted on Linux keeps that
 * listener's setting (set EVQ_SO_NODELAY on the listener or the socket).
 */
EVQ_API int evq_accept(evq_t *q, evq_fd_t listener, evq_fd_t *out);

/**
 * Reads up to len bytes: returns the count, 0 at end of stream,
 * EVQ_EAGAIN, or another negative code. On POSIX fd may be any descriptor
 * (a pipe, a terminal), not only a socket.
 */
EVQ_API ptrdiff_t evq_read(evq_t *q, evq_fd_t fd, void *buf, size_t len);

/**
 * Writes up to len bytes: returns the count written, EVQ_EAGAIN, EVQ_EPIPE,
 * or another negative code. Never raises SIGPIPE.
 */
EVQ_API ptrdiff_t evq_write(evq_t *q, evq_fd_t fd, const void *buf,
                            size_t len);

/**
 * Makes a connected pair of stream sockets (socketpair(2) on POSIX,
 * loopback TCP on Windows).
 */
EVQ_API int evq_socketpair(evq_fd_t out[2]);

/** The pending error of a socket (0 if none), as an EVQ_E* code. */
EVQ_API int evq_socket_error(evq_fd_t fd);

/** The local port a socket is bound to, or a negative code. */
EVQ_API int evq_socket_port(evq_fd_t fd);

/** Closes a socket made by these helpers (or any descriptor on POSIX).
 * A close interrupted by a signal counts as done (the descriptor is closed
 * then on Linux, macOS and the BSDs): never retry it. */
EVQ_API int evq_close(evq_fd_t fd);

/** @} */

/**
 * \addtogroup networking
 *
 * Addresses, stream and datagram sockets over IPv4, IPv6 and Unix
 * domain, socket options. docs/networking.md has the whole picture:
 * what differs per OS and what evq makes the same.
 *
 * The rules of the section above hold here too: every socket is
 * non-blocking and close-on-exec (not inheritable on Windows); no call
 * raises SIGPIPE; would-block is EVQ_EAGAIN, and a call that takes a queue
 * then re-arms an edge-mode registration (q may be NULL for a socket that is
 * not registered). evq resolves no host names, because resolving blocks:
 * resolve on a thread of your own (getaddrinfo) and give evq the numeric
 * address.
 *
 * Accepting when out of descriptors. When accept() fails because the
 * process (EMFILE) or the system (ENFILE) has no descriptor left, the
 * connection would stay in the kernel's queue: a level-triggered loop would
 * be woken for it again at once, forever (a spin), and an edge-triggered
 * one never (a stall). So evq keeps one spare descriptor per process,
 * opened with the first listener made by evq_listen() or evq_tcp_listen()
 * (or the first connection evq_accept() takes, for a listener made
 * elsewhere).
 * On EMFILE/ENFILE, evq_accept() closes the spare, accepts the connection
 * with the descriptor that frees, closes it at once (the client sees the
 * connection closed, not a hang), reopens the spare, and goes on until no
 * connection is pending. It then returns EVQ_EMFILE if it closed any
 * (EVQ_EAGAIN if none was pending), and the listener is re-armed as after
 * EVQ_EAGAIN. So: treat EVQ_EMFILE as "connections are being refused"
 * (log it, close idle connections if you can) and keep waiting; do not
 * retry in a loop. New connections are accepted normally as soon as
 * descriptors are free. If the spare could not be kept (descriptors ran out
 * before the first listener, or another thread took the freed descriptor),
 * EVQ_EMFILE is returned with the connection still pending: pause accepting
 * for a while (a timer) in that case. Thread-safe. Windows has no
 * per-process descriptor limit; there evq_accept() returns EVQ_EMFILE or
 * EVQ_ENOMEM (no buffer space) with the connection still pending, and the
 * same advice applies.
 *
 * @{
 */

/**
 * Address families: evq's own numbers, not the OS's AF_* values.
 */
enum evq_family { EVQ_AF_INET = 1, EVQ_AF_INET6 = 2, EVQ_AF_UNIX = 3 };

/**
 * A socket address of any family: IPv4, IPv6 (with a scope id), or Unix (a
 * path, or on Linux a name in the abstract namespace). The caller's storage;
 * a zeroed one is empty, an address only as an output. The size (144 bytes:
 * 128 for the OS's socket address, its length and room to grow) is part of
 * the ABI; the layout is not: use the calls below. Plain data: copy it
 * freely.
 */
typedef struct evq_addr {
  uint64_t evq__opaque[18];
} evq_addr_t;

/**
 * Room for the longest text evq_addr_format() writes, the NUL included.
 */
#define EVQ_ADDR_STRLEN 128

/**
 * Sets *a to a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "fe80::1%2" with
 * a numeric scope id) address and a port. Names are not resolved. Errors:
 * EVQ_EINVAL (NULL, not a numeric address in one of these forms, port
 * below 0 or above 65535). On error *a is unchanged.
 */
EVQ_API int evq_addr_ip(evq_addr_t *a, const char *ip, int port);

/**
 * Sets *a from text: "1.2.3.4:80", "[::1]:80", "[fe80::1%2]:80", a Unix
 * path (text that starts with '/' or '.'), or "@name" for a Linux abstract
 * name. These are exactly the forms evq_addr_format() writes. Errors:
 * EVQ_EINVAL (NULL, malformed, a host name, a missing or out-of-range
 * port, a path too long), EVQ_ENOTSUP (an abstract name off Linux). On
 * error *a is unchanged.
 */
EVQ_API int evq_addr_parse(evq_addr_t *a, const char *text);

/**
 * Sets *a to the Unix domain address of path (any path, relative ones
 * included); a leading '@' names the Linux abstract namespace (no file is
 * made). Errors: EVQ_EINVAL (NULL, empty, "@" alone, longer than the OS
 * takes: 107 bytes on Linux and Windows, 103 on macOS and the BSDs),
 * EVQ_ENOTSUP (an abstract name off Linux). On error *a is unchanged.
 */
EVQ_API int evq_addr_unix(evq_addr_t *a, const char *path);

/**
 * Writes a as text, NUL-terminated, in the forms evq_addr_parse() reads
 * ("1.2.3.4:80", "[::1]:80", "/path", "@name"; IPv6 in its RFC 5952 form,
 * an IPv4-mapped one as "[::ffff:1.2.3.4]:80"); an unnamed Unix socket
 * (one that never bound, e.g. the client end of a Unix connection) is "".
 * Returns the length of the text. EVQ_ADDR_STRLEN is always enough.
 * Errors: EVQ_EINVAL (NULL, an empty address, cap too small: then buf holds
 * "" if cap > 0).
 */
EVQ_API int evq_addr_format(const evq_addr_t *a, char *buf, size_t cap);

/**
 * The family of a: EVQ_AF_INET, EVQ_AF_INET6 or EVQ_AF_UNIX. Errors:
 * EVQ_EINVAL (NULL or empty).
 */
EVQ_API int evq_addr_family(const evq_addr_t *a);

/**
 * The port of an IP address (0 to 65535). Errors: EVQ_EINVAL (NULL, empty,
 * a Unix address).
 */
EVQ_API int evq_addr_port(const evq_addr_t *a);

/**
 * Flags of evq_listen() and evq_dgram_bind().
 */
enum evq_sock_flag {
  /**
   * SO_REUSEPORT: several sockets may bind the same address and port
   * (Linux then spreads connections and datagrams over them; macOS and the
   * BSDs only allow the sharing). EVQ_ENOTSUP on Windows, which has no
   * such option. IP addresses only.
   */
  EVQ_SOCK_REUSEPORT = 1u << 0,
  /**
   * An IPv6 socket also takes IPv4 traffic, whose addresses then appear as
   * IPv4-mapped IPv6 ("[::ffff:1.2.3.4]:80"). Without it an IPv6 socket is
   * IPv6 only, on every OS (the OSes differ in their default). IPv6
   * addresses only. A dual-stack UDP socket also sends to IPv4 addresses:
   * see evq_sendto.
   */
  EVQ_SOCK_DUALSTACK = 1u << 1
};

/**
 * Makes a listening stream socket: TCP on an IPv4 or IPv6 address (port 0:
 * any free port; SO_REUSEADDR is on, so a restarted server can bind a port
 * whose old connections are in TIME_WAIT; on Windows that is the default
 * and the port is bound exclusively instead), or a Unix domain socket on a
 * path or abstract name. A Unix path is a file that stays after the socket
 * is closed, and evq never removes one: unlink a stale one before listening
 * (else EVQ_EADDRINUSE). backlog <= 0 means the system's maximum. Errors:
 * EVQ_EINVAL (NULL, an empty address, unknown flags, a flag the family does
 * not take), EVQ_EADDRINUSE, EVQ_EADDRNOTAVAIL (not a local address),
 * EVQ_EACCES, EVQ_ENOENT (the path's directory does not exist), EVQ_ENOTSUP
 * (the OS lacks the family or the flag: IPv6 disabled, Unix sockets on
 * Windows before 10 1803 and under wine), EVQ_EMFILE, EVQ_ENOMEM.
 */
EVQ_API int evq_listen(evq_fd_t *out, const evq_addr_t *addr, int backlog,
                       uint32_t flags);

/**
 * Starts connecting a new stream socket to addr (TCP, or a Unix domain
 * stream socket). Returns 0 when connected or under way: register the
 * socket for EVQ_WRITABLE, and when it is reported call
 * evq_connect_result(). TCP sockets made by evq have TCP_NODELAY on (turn
 * it off with evq_setsockopt). Errors, at once: EVQ_EINVAL (NULL, an empty
 * address), EVQ_ECONNREFUSED (some OSes refuse at once, loopback and Unix
 * sockets especially), EVQ_ENOENT (no such Unix path), EVQ_EAGAIN (a Unix
 * listener's queue is full, on Linux: nothing was started; try again
 * later), EVQ_EHOSTUNREACH, EVQ_EADDRNOTAVAIL, EVQ_EACCES, EVQ_ENOTSUP,
 * EVQ_EMFILE, EVQ_ENOMEM.
 */
EVQ_API int evq_connect(evq_fd_t *out, const evq_addr_t *addr);

/**
 * The outcome of a connect started by evq_connect() or evq_tcp_connect(),
 * the same way on every OS: 0 connected; EVQ_EAGAIN still under way (wait
 * for EVQ_WRITABLE again; in edge mode evq re-arms it, as any would-block
 * does); or why it failed: EVQ_ECONNREFUSED, EVQ_ETIMEDOUT,
 * EVQ_EHOSTUNREACH, EVQ_ECONNRESET... The reason is the socket's pending
 * error, which the first reader takes: where something else read it first
 * (libkqueue, the kqueue emulation on Linux, reads it to fill its event; or
 * the caller's own SO_ERROR or evq_socket_error), evq still sees that the
 * attempt failed (the socket is neither connected nor connecting) and
 * reports EVQ_ECONNREFUSED. A failure means: close the socket. Errors of
 * the call: EVQ_EBADF, EVQ_EINVAL (a listening socket), EVQ_ENOTCONN (a
 * datagram socket that has no peer).
 */
EVQ_API int evq_connect_result(evq_t *q, evq_fd_t fd);

/**
 * Makes a datagram socket bound to addr: UDP on an IPv4 or IPv6 address
 * (port 0: any free port), or a Unix domain datagram socket on a path or
 * abstract name (a path stays after close, as with evq_listen). Flags:
 * EVQ_SOCK_REUSEPORT, EVQ_SOCK_DUALSTACK. On Windows the port is bound
 * exclusively, and a UDP socket does not report the ICMP "port
 * unreachable" answers to its earlier sends as receive errors (Windows
 * does by default; POSIX does only for a connected socket). Errors: as
 * evq_listen; EVQ_ENOTSUP for Unix datagram sockets on Windows, which has
 * none.
 */
EVQ_API int evq_dgram_bind(evq_fd_t *out, const evq_addr_t *addr,
                           uint32_t flags);

/**
 * Makes an unbound datagram socket of a family (EVQ_AF_INET, EVQ_AF_INET6
 * or EVQ_AF_UNIX), for sending; an IP one gets a free port at its first
 * send and can then receive the answers, a Unix one cannot be answered
 * (bind it for that). An IPv6 one is IPv6 only on every OS, as one bound
 * without EVQ_SOCK_DUALSTACK (Linux's own default is dual-stack, Windows'
 * and the BSDs' is not); for a dual-stack one, bind "[::]:0" with the
 * flag. Errors: EVQ_EINVAL (NULL, unknown family), EVQ_ENOTSUP,
 * EVQ_EMFILE, EVQ_ENOMEM.
 */
EVQ_API int evq_dgram_open(evq_fd_t *out, int family);

/**
 * Connects a datagram socket to addr: sends with to = NULL go there, and
 * only datagrams from there are received. May be called again to change
 * the peer. An ICMP "port unreachable" answer to an earlier send is
 * reported on every OS: a wait reports the socket readable (with
 * EVQ_ERROR on POSIX; Windows keeps it in the receive queue instead), never
 * closed, and the next evq_recvfrom returns EVQ_ECONNREFUSED, once (on
 * POSIX a send made first may return it instead); the socket goes on
 * working. An unconnected socket hears of no such answer. addr may be
 * any address evq_sendto's `to` may be: an IPv4 one on a dual-stack socket
 * is connected to as its IPv4-mapped form, which evq_peer_addr reports.
 * Errors: EVQ_EINVAL (NULL, empty address, not a datagram socket, addr of
 * a family the socket does not take), EVQ_EBADF, EVQ_ENOENT,
 * EVQ_ECONNREFUSED (a Unix path nobody is bound to), EVQ_EHOSTUNREACH.
 */
EVQ_API int evq_dgram_connect(evq_fd_t fd, const evq_addr_t *addr);

/**
 * Sends one datagram of len bytes (0 is a valid, empty datagram) to `to`,
 * or to the connected peer with to = NULL. Returns len (datagrams are sent
 * whole or not at all), or: EVQ_EAGAIN, EVQ_EMSGSIZE (longer than the
 * protocol allows: 65,507 bytes for UDP over IPv4), EVQ_ENOTCONN (to = NULL
 * on a socket with no peer; any send on a listening socket),
 * EVQ_ECONNREFUSED (see evq_dgram_connect), EVQ_EACCES (a broadcast
 * address without EVQ_SO_BROADCAST), EVQ_EHOSTUNREACH, EVQ_EINVAL (NULL
 * buffer with len > 0; `to` of a family the socket does not take, below;
 * `to` on a connected socket, except on Linux, which sends there: portable
 * code passes NULL). On a stream socket it is evq_write (to is ignored)
 * and may send less than len.
 *
 * The addresses a UDP socket takes, the same on every OS:
 * - an IPv4 socket: IPv4 ones;
 * - an IPv6-only socket (bound without EVQ_SOCK_DUALSTACK, or made by
 *   evq_dgram_open): IPv6 ones, but no IPv4-mapped one ("[::ffff:1.2.3.4]",
 *   an IPv4 host);
 * - a dual-stack socket bound to "[::]": both. An IPv4 `to` is sent to as
 *   its IPv4-mapped form, over IPv4: the receiver sees an IPv4 sender.
 *   Bound to an IPv6 address ("[::1]") it has no IPv4 source and takes
 *   IPv6 ones only; bound to a mapped one, IPv4 ones only.
 *
 * Any other `to` is EVQ_EINVAL, a mistake in the program, not the
 * network's EVQ_EHOSTUNREACH (which Linux says of an IPv4 host from an
 * IPv6-only socket): nothing is sent and the socket is as it was, except
 * that the failed send may have bound it to a free port, as any first
 * send does. Why a dual-stack socket takes plain IPv4 addresses, and not
 * only mapped ones: the flag says the socket speaks IPv4, and an IPv4
 * address from a resolver or a configuration should not need rewriting.
 * Linux sends to it; FreeBSD and Windows refuse it (their IPv6 sockets
 * take IPv6 socket addresses only), so there evq sends to the mapped
 * form. Boost.Asio, libuv and mio hand the address to the OS, so that the
 * same call sends on Linux and fails elsewhere; evq gives one answer.
 */
EVQ_API ptrdiff_t evq_sendto(evq_t *q, evq_fd_t fd, const void *buf,
                             size_t len, const evq_addr_t *to);

/**
 * Receives one datagram into buf and, if from is not NULL, its sender's
 * address into *from. Returns its length (0 is an empty datagram, not an
 * end of stream), or: EVQ_EAGAIN; EVQ_EMSGSIZE when the datagram was
 * longer than len: its first len bytes are in buf, *from is set, the rest
 * is lost (the same on every OS); EVQ_ECONNREFUSED (see
 * evq_dgram_connect); EVQ_ENOTCONN (a listening socket); EVQ_EINVAL (NULL
 * buffer with len > 0). On a dual-stack socket an IPv4 sender is its
 * IPv4-mapped address ("[::ffff:1.2.3.4]:80", EVQ_AF_INET6) on every OS,
 * to answer as it is. On a stream socket it is evq_read (0 is then the
 * end of the stream) and *from is made empty.
 */
EVQ_API ptrdiff_t evq_recvfrom(evq_t *q, evq_fd_t fd, void *buf, size_t len,
                               evq_addr_t *from);

/**
 * evq_dgram_t.flags: the datagram was longer than cap; len = cap bytes of
 * it are in buf, the rest is lost.
 */
#define EVQ_DGRAM_TRUNCATED 0x1u

/**
 * One datagram of evq_recv_many().
 */
typedef struct evq_dgram {
  void *buf;            /**< in: where to store the datagram */
  size_t cap;           /**< in: the size of buf */
  size_t len;           /**< out: the bytes stored */
  uint32_t flags;       /**< out: EVQ_DGRAM_TRUNCATED */
  uint32_t reserved32;  /**< set to zero: room to grow */
  uintptr_t reserved[2]; /**< set to zero */
  evq_addr_t addr;      /**< out: the sender */
} evq_dgram_t;

/**
 * Receives up to n datagrams in one call: recvmmsg() on Linux (one system
 * call for the batch), one receive after another elsewhere. Returns how
 * many were received, each in its msgs[i] with len, flags and addr set:
 * 1 to n, and fewer than n means none is left (edge mode is then re-armed
 * as after EVQ_EAGAIN: no need to call again until it is reported). Or
 * EVQ_EAGAIN when none is waiting, or an error from the first receive, as
 * evq_recvfrom's, except that a datagram longer than its cap is not an
 * error but flagged EVQ_DGRAM_TRUNCATED. An error after the first datagram
 * ends the batch; on Linux the next call reports it, elsewhere it is
 * dropped (such errors are ICMP reports on connected sockets, hints in any
 * case). Errors: EVQ_EINVAL (msgs NULL, n < 1, a NULL buf with cap > 0).
 */
EVQ_API int evq_recv_many(evq_t *q, evq_fd_t fd, evq_dgram_t *msgs, int n);

/**
 * Socket options of evq_setsockopt() and evq_getsockopt(); values are ints,
 * flags 0 or 1.
 */
enum evq_sockopt {
  EVQ_SO_NODELAY = 1,   /**< TCP_NODELAY: send small writes at once; TCP only */
  EVQ_SO_KEEPALIVE = 2, /**< SO_KEEPALIVE with the OS's timings; TCP only */
  /**
   * Kernel buffer sizes in bytes; any socket. The OS adjusts what it is
   * given (Linux doubles it for its bookkeeping and reports the double;
   * every OS has a minimum and a maximum): read it back to know.
   */
  EVQ_SO_RCVBUF = 3,
  EVQ_SO_SNDBUF = 4,
  /**
   * SO_REUSEADDR (POSIX; on by evq_listen for TCP): matters only before
   * bind, so it is mostly for reading and for sockets made elsewhere.
   * EVQ_ENOTSUP on Windows, whose SO_REUSEADDR would let another socket
   * take a port in use (Windows rebinds a port in TIME_WAIT without it). IP
   * sockets only.
   */
  EVQ_SO_REUSEADDR = 5,
  /**
   * SO_REUSEPORT (see EVQ_SOCK_REUSEPORT): EVQ_ENOTSUP on Windows. IP
   * sockets only.
   */
  EVQ_SO_REUSEPORT = 6,
  /**
   * SO_BROADCAST: may send to a broadcast address; UDP only.
   */
  EVQ_SO_BROADCAST = 7
};

/**
 * Sets an option (EVQ_SO_*) to value. Errors: EVQ_EINVAL (unknown option,
 * a negative value), EVQ_ENOTSUP (the option does not apply to this kind
 * of socket, or the OS lacks it), EVQ_EBADF.
 */
EVQ_API int evq_setsockopt(evq_fd_t fd, int opt, int value);

/**
 * Reads an option into *value. Errors: as evq_setsockopt; EVQ_EINVAL for a
 * NULL value.
 */
EVQ_API int evq_getsockopt(evq_fd_t fd, int opt, int *value);

/**
 * Directions of evq_shutdown().
 */
enum evq_shut { EVQ_SHUT_RD = 1, EVQ_SHUT_WR = 2, EVQ_SHUT_RDWR = 3 };

/**
 * Shuts down one or both directions of a connected socket. After
 * EVQ_SHUT_WR the peer reads end of stream once it has read the data sent
 * before, and its registration reports EVQ_READ_CLOSED; this side can
 * still read. After EVQ_SHUT_RD reads return 0 (end of stream). Errors:
 * EVQ_EINVAL (how is not one of these), EVQ_ENOTCONN, EVQ_EBADF.
 */
EVQ_API int evq_shutdown(evq_fd_t fd, int how);

/**
 * One buffer of evq_readv()/evq_writev() (struct iovec's layout, WSABUF's
 * meaning).
 */
typedef struct evq_iovec {
  void *base; /**< the buffer */
  size_t len; /**< its size in bytes */
} evq_iovec_t;

/**
 * Reads into n buffers in order, in one system call: returns the bytes
 * read (filling each buffer before the next), 0 at end of stream,
 * EVQ_EAGAIN, or another negative code as evq_read. At most 1024 buffers
 * (64 on Windows) are used per call: a longer array reads less, as a short
 * read may. Errors: EVQ_EINVAL (iov NULL with n > 0, n < 0, a NULL base
 * with len > 0).
 */
EVQ_API ptrdiff_t evq_readv(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov,
                            int n);

/**
 * Writes n buffers in order, in one system call: returns the bytes written
 * (possibly fewer than their total), EVQ_EAGAIN, EVQ_EPIPE, or another
 * negative code as evq_write. Never raises SIGPIPE. Errors: as
 * evq_readv.
 */
EVQ_API ptrdiff_t evq_writev(evq_t *q, evq_fd_t fd, const evq_iovec_t *iov,
                             int n);

/**
 * The address a socket is bound to (for one not yet bound, the family's
 * wildcard address with port 0, or an unnamed Unix address). Errors:
 * EVQ_EINVAL (NULL), EVQ_EBADF.
 */
EVQ_API int evq_local_addr(evq_fd_t fd, evq_addr_t *a);

/**
 * The address of a socket's peer. Errors: EVQ_EINVAL (NULL), EVQ_ENOTCONN
 * (not connected, a listener, a datagram socket with no peer), EVQ_EBADF.
 */
EVQ_API int evq_peer_addr(evq_fd_t fd, evq_addr_t *a);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* EVQ_H */
