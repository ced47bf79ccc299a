/* POSIX stream sockets: listen, connect and its result, accept with the
 * spare descriptor that keeps a server from spinning or stalling when the
 * process runs out of descriptors (evq.h, "Accepting when out of
 * descriptors"; docs/networking.md). */
#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Flags evq_listen and evq_dgram_bind apply before bind(). */
static int bind_options(int fd, int af, uint32_t flags) {
  if (af == AF_INET6) { /* the OSes differ in their default: say it */
    int v6only = !(flags & EVQ_SOCK_DUALSTACK);
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only))
      return evq__net_error(errno);
  }
  if (flags & EVQ_SOCK_REUSEPORT) {
#ifdef SO_REUSEPORT
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one))
      return evq__net_error(errno);
#else
    return EVQ_ENOTSUP;
#endif
  }
  return 0;
}

/* Linux hands an accepted socket its listener's TCP_NODELAY, so a listener
 * that has it saves evq_accept a system call per connection (a sixth of
 * what accepting, serving and closing one costs). Elsewhere evq_accept
 * sets it on each socket, not trusting every BSD to copy it. */
#ifdef __linux__
#define ACCEPT_INHERITS_NODELAY 1
#else
#define ACCEPT_INHERITS_NODELAY 0
#endif

static void no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int evq__net_bound(int type, const evq_addr_t *addr, uint32_t flags,
                   int *out) {
  int af = AF_UNSPEC;
  if (!out || evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  if ((flags & ~(uint32_t)(EVQ_SOCK_REUSEPORT | EVQ_SOCK_DUALSTACK)) ||
      ((flags & EVQ_SOCK_DUALSTACK) && af != AF_INET6) ||
      ((flags & EVQ_SOCK_REUSEPORT) && af == AF_UNIX))
    return EVQ_EINVAL;
  int fd, rc = evq__net_socket(af, type, &fd);
  if (rc != 0) return rc;
  if (type == SOCK_STREAM && af != AF_UNIX) {
    int one = 1; /* rebind a port whose old connections are in TIME_WAIT */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    no_delay(fd); /* for the accepted sockets (above) */
  }
  rc = bind_options(fd, af, flags);
  if (rc == 0 && bind(fd, evq__sa(addr), (socklen_t)evq__caddr(addr)->len))
    rc = evq__net_error(errno);
  if (rc != 0) {
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

int evq_listen(evq_fd_t *out, const evq_addr_t *addr, int backlog,
               uint32_t flags) {
  if (!out) return EVQ_EINVAL;
  evq__spare_ensure();
  int fd, rc = evq__net_bound(SOCK_STREAM, addr, flags, &fd);
  if (rc != 0) return rc;
  if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    rc = evq__net_error(errno);
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

int evq_tcp_listen(evq_fd_t *out, const char *host, uint16_t port,
                   int backlog) {
  evq_addr_t a;
  if (evq_addr_ip(&a, host ? host : "127.0.0.1", port) != 0)
    return EVQ_EINVAL;
  return evq_listen(out, &a, backlog, 0);
}

int evq_connect(evq_fd_t *out, const evq_addr_t *addr) {
  int af = AF_UNSPEC;
  if (!out || evq__addr_check(addr, &af) != 0) return EVQ_EINVAL;
  int fd, rc = evq__net_socket(af, SOCK_STREAM, &fd);
  if (rc != 0) return rc;
  if (af != AF_UNIX) no_delay(fd);
  /* EINTR: the connect goes on in the background, as EINPROGRESS. */
  if (connect(fd, evq__sa(addr), (socklen_t)evq__caddr(addr)->len) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    rc = evq__net_error(errno);
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

int evq_tcp_connect(evq_fd_t *out, const char *host, uint16_t port) {
  evq_addr_t a;
  if (evq_addr_ip(&a, host ? host : "127.0.0.1", port) != 0)
    return EVQ_EINVAL;
  return evq_connect(out, &a);
}

/* The pending error is the reason, but the first reader takes it; a
 * socket that is neither connected nor connecting has failed even when the
 * reason was taken (libkqueue reads SO_ERROR to fill its event). Connecting
 * or failed is told by a one-byte MSG_PEEK: a connecting socket would
 * block; a failed one reads end of stream (Linux, the BSDs: the kernel
 * shut it down) or ENOTCONN. */
int evq_connect_result(evq_t *q, evq_fd_t fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return evq__net_error(errno);
  if (err != 0) return evq__net_error(err);
  struct sockaddr_storage ss;
  len = sizeof ss;
  if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) return 0;
  if (errno != ENOTCONN && errno != EINVAL) return evq__net_error(errno);
  int rc = evq__net_listening(fd), af, type;
  if (rc != 0) return rc == 1 ? EVQ_EINVAL : rc;
  rc = evq__net_kind(fd, &af, &type);
  if (rc != 0) return rc;
  if (type != SOCK_STREAM) return EVQ_ENOTCONN;
  char c;
  ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r > 0) return 0; /* connected since getpeername */
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    evq__io_blocked(q, fd, EVQ_WRITABLE);
    return EVQ_EAGAIN;
  }
  if (r == 0 || errno == ENOTCONN) return EVQ_ECONNREFUSED; /* reason gone */
  return evq__net_error(errno); /* the reason, arrived since SO_ERROR */
}

/* ---- accept, and the spare descriptor ----------------------------------
 *
 * One spare per process, opened at the first listen (or the first accept
 * if the listener was made elsewhere). On EMFILE/ENFILE, refuse_one()
 * closes it, accepts one pending connection with the descriptor that
 * frees, closes that, and reopens the spare. The lock keeps two threads
 * from doing that at once; spare_fd is atomic only so that the check on
 * the success path takes no lock. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int spare_fd = -1;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

/* A child forked while another thread held the lock gets it free. */
static void spare_prepare(void) { pthread_mutex_lock(&spare_lock); }
static void spare_parent(void) { pthread_mutex_unlock(&spare_lock); }
static void spare_child(void) {
  pthread_mutex_init(&spare_lock, NULL);
}
static void spare_init(void) {
  pthread_atfork(spare_prepare, spare_parent, spare_child);
}

/* "/" exists in every mount namespace and chroot; /dev/null may not. */
static int open_spare(void) { return open("/", O_RDONLY | O_CLOEXEC); }

void evq__spare_ensure(void) {
  if (atomic_load_explicit(&spare_fd, memory_order_relaxed) >= 0) return;
  pthread_once(&spare_once, spare_init);
  pthread_mutex_lock(&spare_lock);
  if (atomic_load_explicit(&spare_fd, memory_order_relaxed) < 0)
    atomic_store_explicit(&spare_fd, open_spare(), memory_order_relaxed);
  pthread_mutex_unlock(&spare_lock);
}

/* 1: a pending connection was taken and closed; 0: none was pending;
 * -1: no spare to free (or another thread took the descriptor it freed). */
static int refuse_one(int listener) {
  pthread_once(&spare_once, spare_init);
  pthread_mutex_lock(&spare_lock);
  int r = -1, spare = atomic_load_explicit(&spare_fd, memory_order_relaxed);
  if (spare < 0) spare = open_spare();
  if (spare >= 0) {
    close(spare);
    int fd;
    do {
#ifdef __linux__
      fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
#else
      fd = accept(listener, NULL, NULL);
#endif
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
      close(fd);
      r = 1;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      r = 0;
    } else if (errno == ECONNABORTED) {
      r = 1; /* one connection gone from the queue all the same */
    }
    spare = open_spare();
  }
  atomic_store_explicit(&spare_fd, spare, memory_order_relaxed);
  pthread_mutex_unlock(&spare_lock);
  return r;
}

static int accept_one(int listener, struct sockaddr_storage *ss) {
  socklen_t len = sizeof *ss;
  int fd;
#ifdef __linux__
  do fd = accept4(listener, (struct sockaddr *)ss, &len,
                  SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
#else
  do fd = accept(listener, (struct sockaddr *)ss, &len);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
  if (evq__net_set_flags(fd) != 0) {
    close(fd);
    return -EIO;
  }
#endif
  return fd;
}

int evq_accept(evq_t *q, evq_fd_t listener, evq_fd_t *out) {
  if (!out) return EVQ_EINVAL;
  int refused = 0;
  for (;;) {
    struct sockaddr_storage ss;
    ss.ss_family = AF_UNSPEC;
    int fd = accept_one(listener, &ss);
    if (fd >= 0) {
      if (!ACCEPT_INHERITS_NODELAY &&
          (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
        no_delay(fd);
      evq__spare_ensure();
      *out = fd;
      return 0;
    }
    if (-fd != EMFILE && -fd != ENFILE) {
      int rc = evq__net_error(-fd);
      if (rc != EVQ_EAGAIN) return rc;
      evq__io_blocked(q, listener, EVQ_READABLE);
      return refused ? EVQ_EMFILE : EVQ_EAGAIN;
    }
    int r = refuse_one(listener);
    if (r == 1) {
      refused++;
      continue;
    }
    evq__io_blocked(q, listener, EVQ_READABLE);
    return r == 0 && !refused ? EVQ_EAGAIN : EVQ_EMFILE;
  }
}
