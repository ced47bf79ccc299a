/* Windows platform layer: locks, the monotonic clock, Winsock start-up and
 * the mapping from Win32, Winsock and NTSTATUS codes to EVQ_E* codes. */
#include "win.h"

#include <stdlib.h>

_Static_assert(sizeof(evq_mutex_t) == sizeof(SRWLOCK),
               "evq_mutex_t must have the layout of an SRWLOCK");

/* SRW locks need no cleanup and cannot fail to initialise. */
int evq__mutex_init(evq_mutex_t *m) {
  InitializeSRWLock((PSRWLOCK)m);
  return 0;
}
void evq__mutex_free(evq_mutex_t *m) { (void)m; }
void evq__mutex_lock(evq_mutex_t *m) { AcquireSRWLockExclusive((PSRWLOCK)m); }
void evq__mutex_unlock(evq_mutex_t *m) {
  ReleaseSRWLockExclusive((PSRWLOCK)m);
}

const char *evq__getenv(const char *name) { return getenv(name); }

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

int evq__from_win32(DWORD err) {
  switch (err) {
  case 0: return 0;
  case ERROR_INVALID_PARAMETER: case WSAEINVAL: case WSAEFAULT:
  case WSAEAFNOSUPPORT: case WSAEPROTONOSUPPORT:
    return EVQ_EINVAL;
  case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: case WSAENOBUFS:
  case ERROR_NO_SYSTEM_RESOURCES: case ERROR_COMMITMENT_LIMIT:
    return EVQ_ENOMEM;
  case ERROR_INVALID_HANDLE: case WSAEBADF: case WSAENOTSOCK:
  case WSANOTINITIALISED:
    return EVQ_EBADF;
  case ERROR_ALREADY_EXISTS: return EVQ_EEXIST;
  case ERROR_NOT_FOUND: case ERROR_FILE_NOT_FOUND: return EVQ_ENOENT;
  case WSAEWOULDBLOCK: case WSAEINPROGRESS: case WSAEALREADY:
  case ERROR_IO_PENDING:
    return EVQ_EAGAIN;
  case ERROR_BUSY: return EVQ_EBUSY;
  case ERROR_NOT_SUPPORTED: case WSAEOPNOTSUPP: case ERROR_INVALID_FUNCTION:
    return EVQ_ENOTSUP;
  case WSAEMFILE: case ERROR_TOO_MANY_OPEN_FILES: return EVQ_EMFILE;
  case WSAECONNREFUSED: case ERROR_CONNECTION_REFUSED:
    return EVQ_ECONNREFUSED;
  case WSAECONNRESET: case WSAECONNABORTED: case WSAENETRESET:
  case ERROR_NETNAME_DELETED: case ERROR_CONNECTION_ABORTED:
    return EVQ_ECONNRESET;
  case WSAESHUTDOWN: case ERROR_BROKEN_PIPE: case ERROR_NO_DATA:
    return EVQ_EPIPE;
  case WSAEADDRINUSE: case ERROR_ADDRESS_ALREADY_ASSOCIATED:
    return EVQ_EADDRINUSE;
  case WSAENOTCONN: case ERROR_NOT_CONNECTED: return EVQ_ENOTCONN;
  case WSAETIMEDOUT: case ERROR_SEM_TIMEOUT: case WAIT_TIMEOUT:
    return EVQ_ETIMEDOUT;
  case WSAEADDRNOTAVAIL: return EVQ_EADDRNOTAVAIL;
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
