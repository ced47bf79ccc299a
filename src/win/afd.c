/* Talking to \Device\Afd: opening a handle for polls, issuing and
 * cancelling IOCTL_AFD_POLL, finding a socket's base handle, and the
 * translation between AFD poll events and EVQ flags. */
#include "afd.h"

NTSTATUS NTAPI NtCancelIoFileEx(HANDLE file, PIO_STATUS_BLOCK request,
                                PIO_STATUS_BLOCK status);

/* Any name under \Device\Afd opens the driver; the suffix only labels the
 * handle in tools such as Process Explorer. */
int evq__afd_open(HANDLE port, ULONG_PTR key, HANDLE *out) {
  UNICODE_STRING name;
  RtlInitUnicodeString(&name, L"\\Device\\Afd\\Evq");
  OBJECT_ATTRIBUTES attr;
  InitializeObjectAttributes(&attr, &name, 0, NULL, NULL);
  IO_STATUS_BLOCK iosb;
  HANDLE afd;
  NTSTATUS st = NtCreateFile(&afd, SYNCHRONIZE, &attr, &iosb, NULL, 0,
                             FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN,
                             0, NULL, 0);
  if (st < 0) return evq__from_ntstatus(st);
  if (!CreateIoCompletionPort(afd, port, key, 0)) {
    int rc = evq__from_win32(GetLastError());
    CloseHandle(afd);
    return rc;
  }
  /* Nobody waits on the AFD handle itself: spare the kernel signalling it
   * at every completion. Failure only costs that small saving. */
  SetFileCompletionNotificationModes(afd, FILE_SKIP_SET_EVENT_ON_HANDLE);
  *out = afd;
  return 0;
}

int evq__afd_poll(HANDLE afd, evq__afd_poll_t *p, SOCKET socket,
                  ULONG events) {
  p->info.timeout.QuadPart = INT64_MAX; /* wait for readiness, not time */
  p->info.count = 1;
  p->info.exclusive = FALSE; /* other polls on this socket keep running */
  p->info.handles[0].handle = (HANDLE)socket;
  p->info.handles[0].events = events;
  p->info.handles[0].status = 0;
  p->iosb.Status = EVQ__STATUS_PENDING;
  /* The APC context becomes the packet's lpOverlapped: it leads back to p. */
  NTSTATUS st = NtDeviceIoControlFile(afd, NULL, NULL, p, &p->iosb,
                                      EVQ_IOCTL_AFD_POLL, &p->info,
                                      sizeof p->info, &p->info,
                                      sizeof p->info);
  /* Success at once still queues a packet (the handle does not skip the
   * port on success), so both outcomes mean "a packet will come". */
  return st >= 0 ? 0 : evq__from_ntstatus(st);
}

/* STATUS_NOT_FOUND (the poll finished meanwhile) is fine: its packet is
 * on its way either way. */
void evq__afd_cancel(HANDLE afd, evq__afd_poll_t *p) {
  IO_STATUS_BLOCK iosb;
  (void)NtCancelIoFileEx(afd, &p->iosb, &iosb);
}

static SOCKET socket_ioctl(SOCKET s, DWORD code) {
  SOCKET out = INVALID_SOCKET;
  DWORD bytes;
  if (WSAIoctl(s, code, NULL, 0, &out, sizeof out, &bytes, NULL, NULL) != 0)
    return INVALID_SOCKET;
  return out;
}

/* Not a socket: a closed or bogus handle is EBADF, a live handle of some
 * other kind (file, pipe) is one AFD cannot poll. */
static int not_a_socket(SOCKET s) {
  DWORD flags;
  return GetHandleInformation((HANDLE)s, &flags) ? EVQ_ENOTSUP : EVQ_EBADF;
}

/* Layered service providers (LSPs) wrap the base socket in their own
 * handle, which AFD does not know. SIO_BASE_HANDLE unwraps them all at
 * once, but some LSPs fail it; the SIO_BSP_HANDLE_* ioctls, which exist so
 * select() can find a handle to wait on, then unwrap one layer at a time.
 * The hop limit guards against a provider that answers with itself. */
int evq__afd_base_socket(SOCKET s, SOCKET *base, int *type) {
  /* SIO_BASE_HANDLE alone does not prove s is a live socket: wine answers
   * it for any handle value, closed ones included. */
  int len = sizeof *type;
  if (getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)type, &len) != 0)
    return WSAGetLastError() == WSAENOTSOCK ? not_a_socket(s)
                                            : evq__from_win32(WSAGetLastError());
  for (int hop = 0; hop < 8; hop++) {
    SOCKET b = socket_ioctl(s, SIO_BASE_HANDLE);
    if (b != INVALID_SOCKET) {
      *base = b;
      return 0;
    }
    int err = WSAGetLastError();
    if (err == WSAENOTSOCK) return not_a_socket(s);
    SOCKET next = socket_ioctl(s, SIO_BSP_HANDLE_POLL);
    if (next == INVALID_SOCKET || next == s)
      next = socket_ioctl(s, SIO_BSP_HANDLE_SELECT);
    if (next == INVALID_SOCKET || next == s) return evq__from_win32(err);
    s = next;
  }
  return EVQ_ENOTSUP;
}

/* Resets and failed connects are watched whatever is asked, like epoll's
 * EPOLLERR/EPOLLHUP; LOCAL_CLOSE tells that the socket is gone. A peer's
 * shutdown is end of stream, so it belongs to the reading direction: were
 * it watched without EVQ_READABLE, a half-closed socket would complete
 * every poll at once. */
ULONG evq__afd_events(uint32_t directions) {
  ULONG e = 0;
  if (directions & EVQ_READABLE)
    e |= AFD_POLL_RECEIVE | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT;
  if (directions & EVQ_WRITABLE) e |= AFD_POLL_SEND;
  if (e) e |= AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL | AFD_POLL_LOCAL_CLOSE;
  return e;
}

/* Mirrors what epoll reports on Linux for the same condition: end of
 * stream reads (0 bytes), and a reset or refused connection makes both
 * directions "ready" to fail with the error. A datagram socket has no
 * connection to lose: there an abort or failed connect is how wine
 * reports an ICMP error (Windows makes it a receive that fails), an error
 * pending on a socket that goes on working, as epoll's EPOLLERR. */
uint32_t evq__afd_results(ULONG events, bool dgram) {
  uint32_t f = 0;
  if (events & (AFD_POLL_RECEIVE | AFD_POLL_ACCEPT)) f |= EVQ_READABLE;
  if (events & AFD_POLL_SEND) f |= EVQ_WRITABLE;
  if (events & AFD_POLL_DISCONNECT) f |= EVQ_READABLE | EVQ_READ_CLOSED;
  if (events & (AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL))
    f |= EVQ_READABLE | EVQ_WRITABLE | EVQ_ERROR |
         (dgram ? 0 : EVQ_READ_CLOSED | EVQ_WRITE_CLOSED);
  return f;
}
