/* amalgamate: part of the iocp backend */
/* Completion operations Windows carries out itself (backend.h, evq__bop_t;
 * docs/completion.md, docs/windows.md): AcceptEx, ConnectEx, WSARecv and
 * WSASend, each with the OVERLAPPED in the caller's op, their packets on
 * the port that carries the AFD polls, cancelled with CancelIoEx. The
 * core decides what each result means (src/io_native.c) and re-posts the
 * rest of a short send; accepts are iocp_accept.c's. The pool receive
 * stays emulated over AFD readiness, as Windows has no buffer the kernel
 * picks.
 *
 * A request is issued in the submitting call, under the lock: Windows has
 * no batch to join, and a socket's packets come to the port whichever
 * thread issued it. One that ends at issue on a socket that skips its
 * packet (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), or that fails at issue
 * (no packet either way), waits on a list for the next wait instead, so
 * every op ends once, from evq_wait, as with a packet. */
#include "net.h"
#include "iocp_state.h"

#include <stdlib.h>
#include <string.h>

/* How long evq_free waits, in all, for the packets of cancelled ops. */
#define DRAIN_MS 10000

typedef evq__iocp_op_t win_op_t;

static win_op_t *area(evq__bop_t *op) { return evq__iocp_op(op); }

static evq__bop_t *bop_of(OVERLAPPED *o) {
  return EVQ__CONTAINER((uint64_t *)(void *)o, evq__bop_t, area);
}

static bool is_accept(const evq__bop_t *op) {
  return op->kind == EVQ_IO_ACCEPT || op->kind == EVQ_IO_ACCEPT_MULTI;
}

/* EVQ_IOCP_NO_SKIP=1 keeps every success's packet, the path of a socket
 * behind a layered provider, and EVQ_IOCP_ACCEPT_SOCKETS=N lets the queue
 * make N accept sockets, then fails the next as Windows out of handles
 * does: test settings, so that the suite runs both paths. */
void evq__iocp_io_init(evq__iocp_t *b) {
  evq__list_init(&b->io_flight);
  evq__list_init(&b->io_done);
  evq__list_init(&b->io_ready);
  const char *no_skip = evq__getenv("EVQ_IOCP_NO_SKIP");
  b->no_skip = no_skip && *no_skip == '1';
  const char *sockets = evq__getenv("EVQ_IOCP_ACCEPT_SOCKETS");
  b->accept_sockets = sockets ? strtol(sockets, NULL, 10) : -1;
}

/* AcceptEx and ConnectEx are reached through a socket, once per queue. */
static int extensions(evq__iocp_t *b, SOCKET s) {
  if (b->accept_ex) return 0;
  GUID ga = WSAID_ACCEPTEX, gc = WSAID_CONNECTEX;
  DWORD n;
  if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &gc, sizeof gc,
               &b->connect_ex, sizeof b->connect_ex, &n, NULL, NULL) != 0 ||
      WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &ga, sizeof ga,
               &b->accept_ex, sizeof b->accept_ex, &n, NULL, NULL) != 0) {
    b->accept_ex = NULL;
    return evq__net_last_error();
  }
  return 0;
}

/* A socket's first native op: its packets come to this port from now on
 * (once per socket: one given to another queue before is refused, and the
 * core emulates its ops). Unix-domain sockets stay emulated too (AcceptEx
 * and ConnectEx are not known for them here: wine has none). Successes
 * skip the port where the provider is an IFS one (no layered provider
 * that may post a packet even so: libuv's test too). */
int evq__iocp_io_adopt(void *bp, intptr_t fd) {
  evq__iocp_t *b = bp;
  SOCKET s = (SOCKET)fd;
  WSAPROTOCOL_INFOW info;
  int len = sizeof info;
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0)
    return evq__net_last_error();
  if (info.iAddressFamily == AF_UNIX || extensions(b, s) != 0)
    return EVQ_ENOTSUP;
  if (!CreateIoCompletionPort((HANDLE)s, b->port, EVQ__KEY_OP, 0))
    return evq__from_win32(GetLastError());
  if (!b->no_skip && (info.dwServiceFlags1 & XP1_IFS_HANDLES) &&
      SetFileCompletionNotificationModes(
          (HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                         FILE_SKIP_SET_EVENT_ON_HANDLE))
    return EVQ__IOCP_SKIP;
  return 0;
}

/* ---- results ------------------------------------------------------------ */

/* The result of op's request that succeeded with bytes transferred. */
static int32_t succeeded(evq__bop_t *op, DWORD bytes) {
  if (op->kind != EVQ_IO_CONNECT) return (int32_t)(bytes & INT32_MAX);
  /* getpeername and shutdown need the state ConnectEx does not set. */
  if (setsockopt((SOCKET)op->fd, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL,
                 0) != 0)
    return evq__net_last_error();
  return 0;
}

/* The result of op's request that failed with Winsock's err, as the
 * emulation says it (the same error functions). */
static int32_t failed(evq__bop_t *op, DWORD err) {
  if (err == WSA_OPERATION_ABORTED) return EVQ_ECANCELED;
  if (op->kind == EVQ_IO_RECV) {
    int rc = evq__net_recv_error(err);
    return rc == EVQ__READ_SHUT ? 0 : rc;
  }
  if (op->kind == EVQ_IO_SEND) return evq__net_send_error((evq_fd_t)op->fd, err);
  return evq__net_error(err);
}

/* ---- issuing -------------------------------------------------------------- */

/* What the call that issued op said (ok, else err; bytes if ok): a packet
 * will come (pending, or done on a socket that does not skip), or the op
 * ended now (done on one that skips; failed, which posts nothing). */
static void issued(evq__iocp_t *b, evq__bop_t *op, bool ok, DWORD err,
                   DWORD bytes) {
  if (ok ? !(op->sock_flags & EVQ__IOCP_SKIP) : err == WSA_IO_PENDING) {
    op->where = EVQ__IOCP_FLIGHT;
    evq__list_push_back(&b->io_flight, &op->link);
    b->io_inflight++;
    return;
  }
  evq__iocp_ended_now(b, op, ok ? succeeded(op, bytes) : failed(op, err));
}

/* ConnectEx wants a bound socket: the wildcard of the family, as a
 * connect(2) binds implicitly. */
static void issue_connect(evq__iocp_t *b, evq__bop_t *op) {
  const struct sockaddr *to = op->addr;
  SOCKADDR_STORAGE any;
  memset(&any, 0, sizeof any);
  any.ss_family = to->sa_family;
  int len = to->sa_family == AF_INET6 ? (int)sizeof(struct sockaddr_in6)
                                      : (int)sizeof(struct sockaddr_in);
  if (to->sa_family != AF_UNIX &&
      bind((SOCKET)op->fd, (struct sockaddr *)&any, len) != 0) {
    evq__iocp_ended_now(b, op, evq__net_last_error());
    return;
  }
  BOOL ok = b->connect_ex((SOCKET)op->fd, to, (int)op->addrlen, NULL, 0, NULL,
                          &area(op)->req.ov);
  issued(b, op, ok, ok ? 0 : (DWORD)WSAGetLastError(), 0);
}

/* One WSABUF for a buffer; Winsock counts in ULONG, so a longer one is
 * cut, which the core sees as a short send or receive. */
static WSABUF wsabuf(void *buf, size_t len) {
  WSABUF w = {len > ULONG_MAX ? ULONG_MAX : (ULONG)len, buf};
  return w;
}

static void issue_recv(evq__iocp_t *b, evq__bop_t *op) {
  win_op_t *u = area(op);
  WSABUF w = wsabuf(op->buf, op->len);
  DWORD got = 0;
  u->flags = 0;
  int r = WSARecv((SOCKET)op->fd, &w, 1, &got, &u->flags, &u->req.ov, NULL);
  issued(b, op, r == 0, r == 0 ? 0 : (DWORD)WSAGetLastError(), got);
}

/* Winsock copies the WSABUF array at the call: it may live on the stack. */
static void issue_send(evq__iocp_t *b, evq__bop_t *op) {
  WSABUF w[EVQ__IOV_MAX];
  DWORD n = 1, sent = 0;
  if (op->iov)
    n = evq__wsabufs(op->iov, op->niov < EVQ__IOV_MAX ? op->niov : EVQ__IOV_MAX,
                     w);
  else
    w[0] = wsabuf(op->buf, op->len);
  int r = WSASend((SOCKET)op->fd, w, n, &sent, 0, &area(op)->req.ov, NULL);
  issued(b, op, r == 0, r == 0 ? 0 : (DWORD)WSAGetLastError(), sent);
}

void evq__iocp_io_submit(void *bp, evq__bop_t *op) {
  evq__iocp_t *b = bp;
  memset(&area(op)->req, 0, sizeof area(op)->req);
  switch (op->kind) {
  case EVQ_IO_ACCEPT:
  case EVQ_IO_ACCEPT_MULTI: evq__iocp_accept_submit(b, op); break;
  case EVQ_IO_CONNECT: issue_connect(b, op); break;
  case EVQ_IO_RECV: issue_recv(b, op); break;
  case EVQ_IO_SEND: issue_send(b, op); break;
  default: evq__iocp_ended_now(b, op, EVQ_EINVAL); /* never: no other kind */
  }
}

/* The kernel reports the op either way: its packet comes, cancelled or
 * not, or it ended at issue and its result waits for the next wait. */
bool evq__iocp_io_cancel(void *bp, evq__bop_t *op) {
  (void)bp;
  if (op->where != EVQ__IOCP_FLIGHT) return true;
  if (is_accept(op)) evq__iocp_accept_cancel(op);
  else CancelIoEx((HANDLE)op->fd, &area(op)->req.ov);
  return true;
}

/* ---- completions -------------------------------------------------------- */

void evq__iocp_io_prepare(evq__iocp_t *b) {
  while (!evq__list_empty(&b->io_done)) {
    evq__link_t *l = b->io_done.next;
    evq__list_unlink(l);
    evq__list_push_back(&b->io_ready, l);
  }
}

int evq__iocp_io_ready(evq__iocp_t *b, evq__raw_t *raw, int cap) {
  int n = 0;
  while (n < cap && !evq__list_empty(&b->io_ready)) {
    evq__bop_t *op = EVQ__CONTAINER(b->io_ready.next, evq__bop_t, link);
    evq__list_unlink(&op->link);
    raw[n].key = (uintptr_t)op;
    raw[n].flags = EVQ__RAW_OP_DONE;
    raw[n++].data = 0;
  }
  return n;
}

void evq__iocp_io_raw(evq__raw_t *raw, OVERLAPPED *o, DWORD bytes) {
  bool slot = ((evq__iocp_req_t *)o)->slot;
  raw->key = slot ? (uintptr_t)o : (uintptr_t)bop_of(o);
  raw->flags = slot ? EVQ__RAW_SLOT : EVQ__RAW_OP;
  raw->data = bytes;
}

bool evq__iocp_io_complete(evq__iocp_t *b, evq__raw_t *raw) {
  if (raw->flags & EVQ__RAW_SLOT) return evq__iocp_accept_complete(b, raw);
  evq__bop_t *op = (evq__bop_t *)(uintptr_t)raw->key;
  win_op_t *u = area(op);
  int32_t res = u->res;
  if (raw->flags & EVQ__RAW_OP) {
    evq__list_unlink(&op->link);
    b->io_inflight--;
    if (NT_SUCCESS((NTSTATUS)u->req.ov.Internal))
      res = succeeded(op, raw->data);
    else if (op->kind == EVQ_IO_SEND && raw->data > 0)
      /* A send cancelled or failed part-way: the bytes that went are its
       * result, so the core knows the stream has a hole (the next
       * request, or the cancel, ends it as on every backend). */
      res = (int32_t)(raw->data & INT32_MAX);
    else
      res = failed(op, evq__iocp_error(op, &u->req.ov));
  }
  op->where = 0;
  raw->key = (uintptr_t)op;
  raw->flags = EVQ_OP;
  raw->data = (uint32_t)res;
  return true;
}

/* ---- the end ------------------------------------------------------------ */

/* An op that ended at issue: an accept's socket is the queue's to close,
 * as no caller will see it. */
static void forget_ended(evq__link_t *l) {
  while (!evq__list_empty(l)) {
    evq__bop_t *op = EVQ__CONTAINER(l->next, evq__bop_t, link);
    evq__list_unlink(&op->link);
    if (is_accept(op) && area(op)->res >= 0) closesocket((SOCKET)area(op)->res);
    op->where = 0;
  }
}

/* A packet dequeued at evq_free: its request is over. */
static void forget_flight(evq__iocp_t *b, OVERLAPPED *o) {
  if (((evq__iocp_req_t *)o)->slot) {
    evq__iocp_accept_forget(b, (evq__accept_slot_t *)(void *)o);
    return;
  }
  evq__bop_t *op = bop_of(o);
  evq__list_unlink(&op->link);
  b->io_inflight--;
  op->where = 0;
}

/* evq_free: every request in flight is cancelled and its packet awaited,
 * so that Windows writes into no op or buffer once they are the caller's;
 * the port's other packets go where destroy() would take them. */
void evq__iocp_io_drain(void *bp) {
  evq__iocp_t *b = bp;
  forget_ended(&b->io_done);
  forget_ended(&b->io_ready);
  for (evq__link_t *l = b->io_flight.next; l != &b->io_flight; l = l->next)
    evq__iocp_io_cancel(b, EVQ__CONTAINER(l, evq__bop_t, link));
  DWORD start = GetTickCount();
  while (b->io_inflight > 0 && GetTickCount() - start < DRAIN_MS) {
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(b->port, b->entries, b->cap, &n, 100,
                                     FALSE))
      continue;
    for (ULONG i = 0; i < n; i++) {
      if (b->entries[i].lpCompletionKey == EVQ__KEY_OP)
        forget_flight(b, b->entries[i].lpOverlapped);
      else
        evq__iocp_drain_packet(b, &b->entries[i]);
    }
  }
}

void evq__iocp_io_free(evq__iocp_t *b) { evq__iocp_accept_free(b); }
