/* Every function outside evq that the library calls, and what the fault
 * walk does with it (docs/reliability.md, "Fault injection").
 *
 *   F(name, "ERRNO ...")  can fail: every call site is made to fail with
 *                         each of these, one site and one error per run
 *   S(name, "ERRNO ...")  a system call made through syscall(2): its sites
 *                         are told apart by the number, name is syscall_X
 *   F(name, "")           renamed but never failed: free (the wrappers
 *                         count allocations), syscall (see S)
 *   N(name, "reason")     cannot fail for the arguments evq passes, or is
 *                         not a system call (pure computation)
 *
 *   SITE(name, "function", "ERRNO ...")  the errors of name's calls made
 *                         from that function (the innermost, inlined or
 *                         not), where fewer are possible than elsewhere
 *   DEAD("function", name, "line", "why")  a call this build can never
 *                         make (the line of source, as written, in that
 *                         function); the walk says so instead of failing,
 *                         and faults it as any other once it is reached
 *
 * The errors are those the call can return given what evq passes: EFAULT
 * never (evq's pointers are valid), EINVAL only where an argument comes
 * from the caller or the environment. tests/fault/walk.sh fails when the
 * library calls a function that is in none of the three lists, so a new
 * call (the io_uring backend, new socket code) cannot go unfaulted: add it
 * here, with a wrapper in faultlib.c for F. The walk also fails when a
 * call site of an F or S function is never reached by the scenario. */

/* Memory. */
F(malloc, "ENOMEM")
F(calloc, "ENOMEM")
F(realloc, "ENOMEM")
F(free, "") /* renamed (to count allocations), never failed */

/* Descriptors, I/O. EBADF where the descriptor may be the caller's. */
F(close, "EINTR EIO EBADF")
F(read, "EAGAIN EINTR EIO ECONNRESET ENOTCONN ETIMEDOUT EBADF")
F(write, "EAGAIN EINTR EIO EPIPE ENOSPC EDQUOT EBADF")
F(fcntl, "EBADF")
F(pipe, "EMFILE ENFILE")
F(pipe2, "EMFILE ENFILE")
F(dup, "EMFILE EBADF")
F(dup3, "EMFILE EBUSY EINTR")
F(open, "EMFILE ENFILE ENOMEM EACCES")
F(fstat, "EBADF ENOMEM")
F(readv, "EAGAIN EINTR EIO ECONNRESET ENOTCONN ETIMEDOUT EBADF")
F(writev, "EAGAIN EINTR EIO EPIPE ENOSPC EDQUOT EBADF")
F(mmap, "ENOMEM") /* no MAP_LOCKED: no EAGAIN */
N(munmap, "cannot fail for a mapping evq made (EINVAL only for bad arguments)")
F(ioctl, "EBADF ENOTTY EINVAL")
F(poll, "EINTR ENOMEM EINVAL")
F(epoll_create1, "EMFILE ENFILE ENOMEM")
F(epoll_ctl, "EBADF EEXIST ENOENT ENOMEM ENOSPC EPERM ELOOP")
F(epoll_wait, "EINTR")
F(eventfd, "EMFILE ENFILE ENODEV ENOMEM")

/* Sockets. EBADF, ENOTSOCK where the socket may be the caller's. */
F(socket, "EMFILE ENFILE ENOBUFS ENOMEM EACCES EAFNOSUPPORT")
F(socketpair, "EMFILE ENFILE ENOMEM")
F(bind, "EADDRINUSE EACCES EADDRNOTAVAIL ENOMEM")
F(listen, "EADDRINUSE")
/* evq connects non-blocking stream sockets (EINPROGRESS, never a wait, so
 * never EINTR) and datagram sockets (no wait at all). */
F(connect, "ECONNREFUSED EADDRNOTAVAIL EAGAIN ENETUNREACH EACCES EPERM ETIMEDOUT")
F(accept4, "EAGAIN ECONNABORTED EINTR EMFILE ENFILE ENOBUFS ENOMEM EPERM EPROTO EBADF EINVAL ENOTSOCK")
F(accept, "EAGAIN ECONNABORTED EINTR EMFILE ENFILE ENOBUFS ENOMEM EPERM EPROTO EBADF EINVAL ENOTSOCK")
F(send, "EAGAIN EINTR EPIPE ECONNRESET ENOBUFS ENOMEM ENOTCONN EBADF ENOTSOCK")
F(recv, "EAGAIN EINTR ECONNRESET ENOTCONN ENOMEM EBADF ENOTSOCK")
F(sendto, "EAGAIN EINTR EPIPE ECONNREFUSED EMSGSIZE ENOBUFS ENOMEM ENETUNREACH EACCES EBADF ENOTSOCK")
F(recvfrom, "EAGAIN EINTR ECONNREFUSED ECONNRESET ENOTCONN ENOMEM EBADF ENOTSOCK")
F(recvmmsg, "EAGAIN EINTR ECONNREFUSED ENOMEM EBADF ENOTSOCK")
F(sendmsg, "EAGAIN EINTR EPIPE ECONNRESET ENOBUFS ENOMEM ENOTCONN EBADF ENOTSOCK")
F(recvmsg, "EAGAIN EINTR ECONNRESET ENOTCONN ENOMEM EBADF ENOTSOCK")
F(shutdown, "ENOTCONN EBADF ENOTSOCK")
F(setsockopt, "ENOMEM ENOBUFS EBADF ENOTSOCK")
F(getsockopt, "EBADF ENOTSOCK ENOBUFS")
F(getsockname, "EBADF ENOTSOCK ENOBUFS")
F(getpeername, "EBADF ENOTSOCK ENOTCONN ENOBUFS")
F(getaddrinfo, "EAI_AGAIN EAI_FAIL EAI_MEMORY EAI_NONAME EAI_SYSTEM")
N(freeaddrinfo, "cannot fail")
N(gai_strerror, "pure")
N(inet_pton, "pure: parses text (0 for text that is no address is a result, not a failure)")
N(inet_ntop, "pure")
N(htons, "pure (a call only in unoptimised builds)")
N(ntohs, "pure (a call only in unoptimised builds)")
N(htonl, "pure (a call only in unoptimised builds)")
N(ntohl, "pure (a call only in unoptimised builds)")
N(__isoc99_sscanf, "pure")
N(uname, "cannot fail (EFAULT only)")
N(getrlimit, "cannot fail for RLIMIT_NOFILE (EFAULT, EINVAL only for bad arguments)")

/* Signals and processes. */
F(sigaction, "EINVAL")
N(pthread_sigmask, "cannot fail for SIG_BLOCK/SIG_SETMASK and a valid set")
N(sigpending, "cannot fail (EFAULT only)")
N(sigwait, "cannot fail for a valid set")
N(sigemptyset, "pure")
N(sigfillset, "pure")
N(sigaddset, "pure: evq passes valid signal numbers")
N(sigismember, "pure")
F(waitid, "ECHILD") /* evq always passes WNOHANG: no EINTR */
F(pthread_atfork, "ENOMEM")
N(pthread_once, "cannot fail")
N(pthread_self, "cannot fail")
N(pthread_equal, "cannot fail: compares two thread ids")
N(pthread_mutex_lock, "cannot fail for a default mutex used correctly")
N(pthread_mutex_unlock, "cannot fail for a default mutex used correctly")
N(pthread_mutex_init, "cannot fail for a default mutex (glibc)")
N(pthread_mutex_destroy, "cannot fail for an unlocked mutex")
N(sched_yield, "cannot fail on Linux")

/* Time and environment. */
N(clock_gettime, "cannot fail for CLOCK_MONOTONIC (EINVAL only for a clock the kernel lacks)")
N(getenv, "a lookup in memory: NULL is an answer, not a failure")
N(secure_getenv, "a lookup in memory")
N(abort, "does not return")
N(fprintf, "a complaint on standard error: whether it is written changes nothing")
N(stderr, "data, not a call")

/* Compiler and libc plumbing, not calls evq decides to make. */
N(__errno_location, "libc plumbing")
N(__stack_chk_fail, "compiler plumbing")
N(strcmp, "pure")
N(strlen, "pure")
N(strnlen, "pure")
N(strrchr, "pure")
N(memchr, "pure")
N(strncmp, "pure")
N(memcpy, "pure")
N(memmove, "pure")
N(memset, "pure")
N(memcmp, "pure")
N(snprintf, "pure")

/* syscall(2), by number. */
F(syscall, "")
S(syscall_futex_wait, "EAGAIN EINTR")
S(syscall_futex_wake, "")
S(syscall_epoll_pwait2, "EINTR ENOSYS")
S(syscall_pidfd_open, "EMFILE ENFILE ENOMEM ESRCH ENOSYS")
S(syscall_io_uring_setup, "EMFILE ENFILE ENOMEM EPERM ENOSYS")
S(syscall_io_uring_enter, "EAGAIN EBUSY EINTR")
S(syscall_io_uring_register, "ENOMEM EBUSY EINTR")

/* Narrower errors at some sites (the function is matched anywhere in the
 * chain of inlined calls, innermost first). */
/* The descriptor is evq's own, new and valid. */
SITE(epoll_ctl, "ep_init", "ENOMEM ENOSPC")
/* Re-adding live registrations to a new epoll instance: only the kernel's
 * limits can refuse them (a closed descriptor is meant to stay silent). */
SITE(epoll_ctl, "rebuild", "ENOMEM ENOSPC")
/* Putting back the disposition found, for a signal installed before:
 * cannot fail. */
SITE(sigaction, "evq__sig_unwatch", "")
SITE(sigaction, "sig_child", "")
/* The identity of a descriptor poll(2) has just reported: only the
 * kernel's memory can be short (EBADF would be a close, a real one). */
SITE(fstat, "pl_poll", "ENOMEM")
/* The access mode of a pipe poll(2) has just reported: cannot fail. */
SITE(fcntl, "pl_poll", "")
/* The same, of a registered file io_uring is about to poll by number
 * (uring.c, same_file): EBADF would be a close, a real one. */
SITE(fstat, "same_file", "ENOMEM")
SITE(fcntl, "same_file", "")

/* Code no backend of a Linux build runs. */
DEAD("evq__state_new", calloc, "evq__state_t *st = calloc(1, size < sizeof *st ? sizeof *st : size);",
     "only backends that keep per-registration states call it (iocp; io_uring when it lands)")
DEAD("evq__wakefd_close", close, "if (w->write_fd != w->read_fd) close(w->write_fd);",
     "the wake descriptor is an eventfd on Linux: one descriptor, not a pipe's two")
DEAD("map_queues", mmap, ": mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE,",
     "the kernel maps both io_uring rings at once (IORING_FEAT_SINGLE_MMAP, Linux 5.4+)")
DEAD("map_queues", mmap, "r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,",
     "a second copy of the call the compiler made in evq__ring_init for a kernel that maps the rings apart; the copy this kernel runs is faulted")
DEAD("evq__ring_enter", syscall, "long rc = syscall(__NR_io_uring_enter, r->fd, submit, min_complete, flags,",
     "the copy inlined in evq__ring_peek: a ring with DEFER_TASKRUN whose deferred work arrived between the wait's own enter and its look at the completion queue, a race no scenario makes happen on demand")
DEAD("open_spare", open, "static int open_spare(void) { return open(\"/\", O_RDONLY | O_CLOEXEC); }",
     "the copy in refuse_one: an accept meeting EMFILE while the spare descriptor is closed, which takes an earlier failed open of it in the same run, two faults the walk does not combine")
DEAD("evq__ur_io_drain", close, "if (accept && cqe->res >= 0) close(cqe->res);",
     "a socket an accept brings while evq_free drains the kernel's requests: a race no scenario makes happen on demand")
