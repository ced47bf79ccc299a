/* Helpers for the networking cases (conformance/net_*.c, posix/net_*.c):
 * waiting for a token, receiving a datagram through evq in edge mode,
 * addresses as text, connected stream pairs over evq_listen/evq_connect,
 * Unix socket paths unique to the process. */
#ifndef EVQ_NETTEST_H
#define EVQ_NETTEST_H

#include "harness.h"

#include <string.h>
#ifdef _WIN32
#include <winsock2.h> /* before windows.h */
#include <windows.h>
#else
#include <unistd.h>
#endif

/* Waits (5 s at most) until an event with token arrives; returns the
 * flags of the events with that token seen meanwhile. */
static inline uint32_t nt_wait_token(evq_t *q, uintptr_t token) {
  evq_event_t ev[16];
  int64_t end = evq_now() + 5000 * MS;
  uint32_t flags = 0;
  while (flags == 0) {
    int64_t left = end - evq_now();
    CHECK(left > 0); /* the event never came */
    int n = tq_wait(q, ev, 16, left);
    for (int i = 0; i < n; i++)
      if (ev[i].token == token) flags |= ev[i].flags;
  }
  return flags;
}

/* One datagram from fd (registered for EVQ_READABLE in edge mode with
 * token): evq_recvfrom until it gives one, waiting on EVQ_EAGAIN. */
static inline ptrdiff_t nt_recv(evq_t *q, evq_fd_t fd, uintptr_t token,
                                void *buf, size_t cap, evq_addr_t *from) {
  for (;;) {
    ptrdiff_t r = evq_recvfrom(q, fd, buf, cap, from);
    if (r != EVQ_EAGAIN) return r;
    nt_wait_token(q, token);
  }
}

/* An address as text, in one of four rotating buffers. */
static inline const char *nt_str(const evq_addr_t *a) {
  static char bufs[4][EVQ_ADDR_STRLEN];
  static unsigned next;
  char *b = bufs[next++ % 4];
  int n = evq_addr_format(a, b, EVQ_ADDR_STRLEN);
  CHECK(n >= 0);
  CHECK_EQ((size_t)n, strlen(b));
  return b;
}

static inline int nt_same(const evq_addr_t *a, const evq_addr_t *b) {
  return strcmp(nt_str(a), nt_str(b)) == 0;
}

/* The address fd is bound to. */
static inline evq_addr_t nt_local(evq_fd_t fd) {
  evq_addr_t a;
  CHECK_OK(evq_local_addr(fd, &a));
  return a;
}

/* A path for a Unix socket, unique to this process and tag; removed
 * first in case a crashed run left it. */
static inline void nt_unix_path(char *buf, size_t cap, const char *tag) {
#ifdef _WIN32
  char dir[MAX_PATH];
  DWORD n = GetTempPathA(sizeof dir, dir);
  CHECK(n > 0 && n < sizeof dir);
  snprintf(buf, cap, "%sevq-%lu-%s", dir, (unsigned long)GetCurrentProcessId(),
           tag);
  DeleteFileA(buf);
#else
  snprintf(buf, cap, "/tmp/evq-%ld-%s", (long)getpid(), tag);
  unlink(buf);
#endif
  CHECK(strlen(buf) < 100);
}

static inline void nt_unlink(const char *path) {
#ifdef _WIN32
  DeleteFileA(path);
#else
  unlink(path);
#endif
}

static inline int nt_file_exists(const char *path) {
#ifdef _WIN32
  return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
#else
  return access(path, F_OK) == 0;
#endif
}

/* Connects a new socket to listener l (listening on la) and accepts it:
 * *c the connecting end, *s the accepted one; both connected (checked with
 * evq_connect_result after EVQ_WRITABLE). Uses tokens 901 and 902. */
static inline void nt_connect_pair(evq_t *q, evq_fd_t l, evq_fd_t *c,
                                   evq_fd_t *s) {
  evq_addr_t la = nt_local(l);
  CHECK_OK(evq_connect(c, &la));
  CHECK_OK(evq_register(q, *c, EVQ_WRITABLE, EVQ_ONESHOT, 901));
  CHECK_OK(evq_register(q, l, EVQ_READABLE, EVQ_EDGE, 902));
  int accepted = 0, connected = 0;
  int64_t end = evq_now() + 5000 * MS;
  while (!accepted || !connected) {
    if (!accepted) {
      int rc = evq_accept(q, l, s);
      if (rc == 0) accepted = 1;
      else CHECK_EQ(rc, EVQ_EAGAIN);
    }
    if (!connected) {
      int rc = evq_connect_result(q, *c);
      if (rc == 0) connected = 1;
      else CHECK_EQ(rc, EVQ_EAGAIN);
    }
    if (accepted && connected) break;
    evq_event_t ev[4];
    CHECK(evq_now() < end);
    tq_wait(q, ev, 4, 100 * MS);
  }
  CHECK_OK(evq_deregister(q, *c));
  CHECK_OK(evq_deregister(q, l));
}

/* Sends len bytes of a pattern on a and reads them back on b (both
 * non-blocking, not registered), checking every byte. */
static inline void nt_transfer(evq_fd_t a, evq_fd_t b, size_t len,
                               unsigned seed) {
  static char out[1 << 16], in[1 << 16];
  CHECK(len <= sizeof out);
  for (size_t i = 0; i < len; i++) out[i] = (char)(i * 131 + seed);
  size_t sent = 0, got = 0;
  int64_t end = evq_now() + 5000 * MS;
  while (got < len) {
    CHECK(evq_now() < end);
    if (sent < len) {
      ptrdiff_t w = evq_write(NULL, a, out + sent, len - sent);
      if (w != EVQ_EAGAIN) {
        CHECK_OK(w);
        sent += (size_t)w;
      }
    }
    ptrdiff_t r = evq_read(NULL, b, in + got, len - got);
    if (r == EVQ_EAGAIN) {
      tq_sleep_ms(1);
      continue;
    }
    CHECK(r > 0);
    got += (size_t)r;
  }
  CHECK(memcmp(out, in, len) == 0);
}

#endif
