/* The Ancillary Function Driver (\Device\Afd), the kernel side of Winsock.
 *
 * IOCTL_AFD_POLL is the request under select() and WSAPoll(): it completes
 * once any of the given sockets shows one of the asked-for events. Issued
 * asynchronously on an AFD handle that is associated with a completion
 * port, it turns readiness into completion packets, which is how evq gets
 * epoll-like readiness from an I/O completion port. The structures below
 * are the driver's ABI; they are not in the SDK headers. */
#ifndef EVQ_AFD_H
#define EVQ_AFD_H

#include "win.h"

#define EVQ_IOCTL_AFD_POLL 0x00012024

/* NTSTATUS values used here. <ntstatus.h> has them but clashes with
 * <windows.h>, which defines some of them with another type. */
#define EVQ__STATUS_PENDING ((NTSTATUS)0x00000103L)
#define EVQ__STATUS_INVALID_HANDLE ((NTSTATUS)0xC0000008L)
#define EVQ__STATUS_CANCELLED ((NTSTATUS)0xC0000120L)

/* AFD poll events. */
#define AFD_POLL_RECEIVE 0x0001u
#define AFD_POLL_RECEIVE_EXPEDITED 0x0002u
#define AFD_POLL_SEND 0x0004u
#define AFD_POLL_DISCONNECT 0x0008u   /* peer shut down its sending side */
#define AFD_POLL_ABORT 0x0010u        /* connection reset */
#define AFD_POLL_LOCAL_CLOSE 0x0020u  /* the socket handle was closed */
#define AFD_POLL_ACCEPT 0x0080u
#define AFD_POLL_CONNECT_FAIL 0x0100u

typedef struct evq__afd_handle_info {
  HANDLE handle;
  ULONG events;
  NTSTATUS status;
} evq__afd_handle_info_t;

/* One poll of one socket. The kernel writes iosb and info while the
 * request is pending, so an evq__afd_poll_t must stay put until its
 * completion packet has been dequeued. */
typedef struct evq__afd_poll {
  IO_STATUS_BLOCK iosb;
  struct {
    LARGE_INTEGER timeout;
    ULONG count;
    ULONG exclusive;
    evq__afd_handle_info_t handles[1];
  } info;
} evq__afd_poll_t;

/* Opens an AFD handle and associates it with port under key. */
int evq__afd_open(HANDLE port, ULONG_PTR key, HANDLE *out);

/* Starts polling socket for events. Returns 0 when a completion packet
 * will follow (also when the poll finished at once), else EVQ_E*. */
int evq__afd_poll(HANDLE afd, evq__afd_poll_t *p, SOCKET socket,
                  ULONG events);

/* Asks the driver to finish p early; the packet still follows. */
void evq__afd_cancel(HANDLE afd, evq__afd_poll_t *p);

/* The base service provider's socket under s (AFD knows only those),
 * and s's type (SOCK_STREAM, SOCK_DGRAM). */
int evq__afd_base_socket(SOCKET s, SOCKET *base, int *type);

/* AFD events to watch for a set of EVQ directions (0 for none). */
ULONG evq__afd_events(uint32_t directions);

/* EVQ result flags for the AFD events of a finished poll on a stream or
 * (dgram) datagram socket. */
uint32_t evq__afd_results(ULONG events, bool dgram);

#endif
