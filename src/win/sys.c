/* Windows platform layer: locks, the monotonic clock, Winsock start-up and
 * the mapping from Win32, Winsock and NTSTATUS codes to EVQ_E* codes. */
#include "win.h"
#include "core.h"

#include <stdio.h>
#include <stdlib.h>

_Static_assert(sizeof(evq__mutex_t) == sizeof(SRWLOCK),
               "evq__mutex_t must have the layout of an SRWLOCK");

/* SRW locks need no cleanup and cannot fail to initialise. */
int evq__mutex_init(evq__mutex_t *m) {
  InitializeSRWLock((PSRWLOCK)m);
  return 0;
}
void evq__mutex_free(evq__mutex_t *m) { (void)m; }
void evq__mutex_lock(evq__mutex_t *m) { AcquireSRWLockExclusive((PSRWLOCK)m); }
void evq__mutex_unlock(evq__mutex_t *m) {
  ReleaseSRWLockExclusive((PSRWLOCK)m);
}

const char *evq__getenv(const char *name) { return getenv(name); }

void evq__complain(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, fmt, a, b);
}

/* QueryPerformanceCounter is monotonic and ticks at a fixed frequency that
 * cannot change while the system runs, so caching it is safe. Whole seconds
 * and the remainder are scaled apart so the product cannot overflow. */
int64_t evq_now(void) {
  static _Atomic int64_t freq;
  int64_t f = freq;
  if (f == 0) {
    LARGE_INTEGER li;
    QueryPerformanceFrequency(&li);
    freq = f = li.QuadPart;
  }
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  int64_t sec = c.QuadPart / f, rem = c.QuadPart % f;
  return sec * 1000000000 + rem * 1000000000 / f;
}

/* Win32 and Winsock errors -> EVQ_E* codes, by the names of evq.h's table
 * (NTSTATUS values go through RtlNtStatusToDosError into this one). */
#define WIN32_ERROR_MAP(X) \
  X(ERROR_INVALID_PARAMETER, EINVAL)              \
  X(WSAEINVAL, EINVAL)                            \
  X(WSAEFAULT, EINVAL)                            \
  X(WSAEAFNOSUPPORT, EINVAL)                      \
  X(WSAEPROTONOSUPPORT, EINVAL)                   \
  X(ERROR_NOT_ENOUGH_MEMORY, ENOMEM)              \
  X(ERROR_OUTOFMEMORY, ENOMEM)                    \
  X(WSAENOBUFS, ENOMEM)                           \
  X(ERROR_NO_SYSTEM_RESOURCES, ENOMEM)            \
  X(ERROR_COMMITMENT_LIMIT, ENOMEM)               \
  X(ERROR_INVALID_HANDLE, EBADF)                  \
  X(WSAEBADF, EBADF)                              \
  X(WSAENOTSOCK, EBADF)                           \
  X(WSANOTINITIALISED, EBADF)                     \
  X(ERROR_ALREADY_EXISTS, EEXIST)                 \
  X(ERROR_NOT_FOUND, ENOENT)                      \
  X(ERROR_FILE_NOT_FOUND, ENOENT)                 \
  X(WSAEWOULDBLOCK, EAGAIN)                       \
  X(WSAEINPROGRESS, EAGAIN)                       \
  X(WSAEALREADY, EAGAIN)                          \
  X(ERROR_IO_PENDING, EAGAIN)                     \
  X(ERROR_BUSY, EBUSY)                            \
  X(ERROR_NOT_SUPPORTED, ENOTSUP)                 \
  X(WSAEOPNOTSUPP, ENOTSUP)                       \
  X(ERROR_INVALID_FUNCTION, ENOTSUP)              \
  X(WSAEMFILE, EMFILE)                            \
  X(ERROR_TOO_MANY_OPEN_FILES, EMFILE)            \
  X(WSAECONNREFUSED, ECONNREFUSED)                \
  X(ERROR_CONNECTION_REFUSED, ECONNREFUSED)       \
  X(WSAECONNRESET, ECONNRESET)                    \
  X(WSAECONNABORTED, ECONNRESET)                  \
  X(WSAENETRESET, ECONNRESET)                     \
  X(ERROR_NETNAME_DELETED, ECONNRESET)            \
  X(ERROR_CONNECTION_ABORTED, ECONNRESET)         \
  X(WSAESHUTDOWN, EPIPE)                          \
  X(ERROR_BROKEN_PIPE, EPIPE)                     \
  X(ERROR_NO_DATA, EPIPE)                         \
  X(WSAEADDRINUSE, EADDRINUSE)                    \
  X(ERROR_ADDRESS_ALREADY_ASSOCIATED, EADDRINUSE) \
  X(WSAENOTCONN, ENOTCONN)                        \
  X(ERROR_NOT_CONNECTED, ENOTCONN)                \
  X(WSAETIMEDOUT, ETIMEDOUT)                      \
  X(ERROR_SEM_TIMEOUT, ETIMEDOUT)                 \
  X(WAIT_TIMEOUT, ETIMEDOUT)                      \
  X(WSAEADDRNOTAVAIL, EADDRNOTAVAIL)              \
  X(WSAEMSGSIZE, EMSGSIZE)                        \
  X(WSAEHOSTUNREACH, EHOSTUNREACH)                \
  X(WSAENETUNREACH, EHOSTUNREACH)                 \
  X(WSAEHOSTDOWN, EHOSTUNREACH)                   \
  X(WSAENETDOWN, EHOSTUNREACH)                    \
  X(ERROR_HOST_UNREACHABLE, EHOSTUNREACH)         \
  X(ERROR_NETWORK_UNREACHABLE, EHOSTUNREACH)      \
  X(WSAEACCES, EACCES)                            \
  X(WSAENOPROTOOPT, ENOTSUP)                      \
  X(WSAEDESTADDRREQ, ENOTCONN)

int evq__from_win32(DWORD err) {
  switch (err) {
  case 0: return 0;
#define EVQ__FROM_WIN32(code, name) \
  case code:                        \
    return EVQ_##name;
    WIN32_ERROR_MAP(EVQ__FROM_WIN32)
#undef EVQ__FROM_WIN32
  default: return EVQ_EIO;
  }
}

/* ntdll translates NTSTATUS to the Win32 code a kernel32 wrapper would have
 * set; one table then serves both. */
int evq__from_ntstatus(NTSTATUS status) {
  if (status >= 0) return 0;
  return evq__from_win32(RtlNtStatusToDosError(status));
}

static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;
static int winsock_rc;

static BOOL CALLBACK winsock_start(PINIT_ONCE once, PVOID arg, PVOID *ctx) {
  (void)once, (void)arg, (void)ctx;
  WSADATA data;
  int err = WSAStartup(MAKEWORD(2, 2), &data);
  winsock_rc = err ? evq__from_win32((DWORD)err) : 0;
  return TRUE;
}

/* Winsock stays initialised for the life of the process: a library cannot
 * know when its caller's last socket is gone, and WSACleanup would pull
 * the stack from under the caller's own sockets. */
int evq__winsock_init(void) {
  InitOnceExecuteOnce(&winsock_once, winsock_start, NULL, NULL);
  return winsock_rc;
}
