/* POSIX sockets as the portable socket layer sees them (src/net.h includes
 * this before anything else): the system's socket headers, and the few
 * facts in which POSIX differs from Windows. Then what this directory's
 * socket files (net_os.c, net_io.c, net_accept.c) share. */
#ifndef EVQ_UNIX_NET_OS_H
#define EVQ_UNIX_NET_OS_H

/* glibc hides SO_REUSEPORT (and IOV_MAX) from strict C11 without it; it
 * must come before any system header, hence this header's place first in
 * net.h, and net.h's first in every socket file. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#if defined(__linux__) && !defined(SO_REUSEPORT)
#error "SO_REUSEPORT hidden: a system header came before net_os.h"
#endif

/* The options behind EVQ_SO_REUSEADDR and EVQ_SO_REUSEPORT; -1 where the
 * system has no such option. */
#define EVQ__SO_REUSEADDR SO_REUSEADDR
#ifdef SO_REUSEPORT
#define EVQ__SO_REUSEPORT SO_REUSEPORT
#else
#define EVQ__SO_REUSEPORT (-1)
#endif

/* evq.h documents at most this many buffers per vectored call (IOV_MAX is
 * 1024 on Linux and the BSDs; a smaller one is respected). */
#if defined(IOV_MAX) && IOV_MAX < 1024
#define EVQ__IOV_MAX IOV_MAX
#else
#define EVQ__IOV_MAX 1024
#endif

/* End of stream needs no re-arm: the kernel reports the peer's shutdown
 * as soon as it comes. */
#define EVQ__EOF_REARMS 0

/* EVQ_EMFILE from evq__os_accept: the connections that could not be
 * taken were refused with the spare descriptor (net_accept.c), so the
 * listener is drained as after would-block. */
#define EVQ__EMFILE_DRAINS 1

/* Abstract Unix names ("@name": a NUL first, no file): Linux makes them;
 * a name with a NUL first reads as one everywhere. */
#ifdef __linux__
#define EVQ__ABSTRACT_MAKE 1
#else
#define EVQ__ABSTRACT_MAKE 0
#endif
#define EVQ__ABSTRACT_READ 1

/* The BSDs and macOS have a length byte first in every socket address. */
static inline void evq__sa_set_len(struct sockaddr *sa, size_t len) {
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__OpenBSD__) || defined(__DragonFly__)
  sa->sa_len = (uint8_t)len;
#else
  (void)sa, (void)len;
#endif
}

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set per socket instead */
#endif

/* errno -> EVQ_E*, with the socket errors the core's table does not name
 * folded into the codes evq.h documents for the networking calls. */
int evq__net_error(int err);

/* evq__os_write's send() failed with err (net_io.c). */
ptrdiff_t evq__net_write_failed(int fd, const void *buf, size_t len, int err);

/* evq__os_read and evq__os_write (net.h): inline, the hot path. read()
 * also serves pipes; send() with MSG_NOSIGNAL keeps SIGPIPE away, and is a
 * copy less than writev's sendmsg(). */
static inline ptrdiff_t evq__os_read(int fd, void *buf, size_t len) {
  ssize_t r;
  do r = read(fd, buf, len);
  while (r < 0 && errno == EINTR);
  return r >= 0 ? r : evq__net_error(errno);
}

static inline ptrdiff_t evq__os_write(int fd, const void *buf, size_t len) {
  ssize_t r;
  do r = send(fd, buf, len, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r >= 0 ? r : evq__net_write_failed(fd, buf, len, errno);
}

/* ---- For this directory's socket files ---------------------------------- */

/* Non-blocking, close-on-exec and no SIGPIPE, for a descriptor made
 * without the flags (accept without accept4, socketpair). */
int evq__net_set_flags(int fd);

#endif
