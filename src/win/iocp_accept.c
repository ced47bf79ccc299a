/* amalgamate: part of the iocp backend */
/* Accepts on IOCP (docs/windows.md, "Native operations"): AcceptEx into a
 * socket made beforehand, one slot per request in flight (the socket, the
 * buffer AcceptEx writes the two addresses into, the OVERLAPPED), slots
 * kept for the next request so that steady state allocates nothing.
 *
 * A multishot accept keeps ACCEPT_DEPTH requests in flight, as IOCP
 * servers do (libuv keeps 32): one at a time, every connection waits for
 * a turn of the waiter's loop between a request's packet and the next
 * request. Under wine, 1,000 connections arriving at once were accepted
 * and echoed (tests/load/io_server.c) in 38.7 s with one request, 31.1 s
 * with 8 and 15.6 s with 64; the emulation's accept() loop took 5.1 s. Each
 * connection is reported with EVQ_OP_MORE and its slot issued again; the
 * final completion comes when the last slot has ended: cancelled, or after
 * an error that ends the accept (the others are cancelled then). */
#include "net.h"
#include "iocp_state.h"

#include <stdlib.h>
#include <string.h>

/* Requests in flight per multishot accept: each holds a socket. */
#define ACCEPT_DEPTH 64

typedef evq__accept_slot_t slot_t;

static bool multi(const evq__bop_t *op) {
  return op->kind == EVQ_IO_ACCEPT_MULTI && !op->single;
}

static slot_t *slot_get(evq__iocp_t *b) {
  slot_t *slot = b->slots;
  if (slot) b->slots = slot->next;
  else slot = malloc(sizeof *slot);
  return slot;
}

/* The slot leaves its op (if it had joined it) for the free list. */
static void retire(evq__iocp_t *b, slot_t *slot, bool joined) {
  if (joined) {
    evq__iocp_op_t *u = evq__iocp_op(slot->op);
    slot_t **p = &u->slots;
    while (*p != slot) p = &(*p)->next;
    *p = slot->next;
    u->nslots--;
  }
  slot->next = b->slots;
  b->slots = slot;
}

/* An accept's socket, given to the caller as the emulation's is:
 * inheriting the listener's state (which getpeername and shutdown need),
 * then made as evq__os_accept makes one, its number fitting the result. */
static int32_t accepted(const evq__bop_t *op, SOCKET s, int af) {
  SOCKET l = (SOCKET)op->fd;
  int rc = 0;
  if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&l,
                 sizeof l) != 0)
    rc = evq__net_last_error();
  else if ((uintptr_t)s > (uintptr_t)INT32_MAX)
    rc = EVQ_EMFILE;
  else
    rc = evq__os_accepted(s, af);
  if (rc != 0) {
    closesocket(s);
    return rc;
  }
  return (int32_t)s;
}

/* One AcceptEx of op's into slot, its socket made now: 0, or the code it
 * failed with. One done at once on a listener that skips its packets
 * gets a packet posted here, so that every slot ends on the port. */
static int issue(evq__iocp_t *b, evq__bop_t *op, slot_t *slot, int af) {
  evq_fd_t s;
  if (b->accept_sockets == 0) return evq__net_error(WSAEMFILE);
  int rc = evq__os_socket(af, SOCK_STREAM, &s);
  if (rc != 0) return rc;
  if (b->accept_sockets > 0) b->accept_sockets--;
  memset(&slot->req, 0, sizeof slot->req);
  slot->req.slot = 1;
  slot->op = op;
  slot->sock = (SOCKET)s;
  slot->af = af;
  DWORD got = 0;
  if (b->accept_ex((SOCKET)op->fd, slot->sock, slot->addrs, 0, EVQ__ADDR_ROOM,
                   EVQ__ADDR_ROOM, &got, &slot->req.ov)) {
    if (!(op->sock_flags & EVQ__IOCP_SKIP) ||
        PostQueuedCompletionStatus(b->port, 0, EVQ__KEY_OP, &slot->req.ov))
      rc = 0;
    else
      rc = evq__from_win32(GetLastError());
  } else {
    DWORD err = (DWORD)WSAGetLastError();
    rc = err == WSA_IO_PENDING ? 0 : evq__net_error(err);
  }
  if (rc != 0) {
    closesocket(slot->sock);
    return rc;
  }
  b->io_inflight++;
  return 0;
}

void evq__iocp_accept_submit(evq__iocp_t *b, evq__bop_t *op) {
  evq__iocp_op_t *u = evq__iocp_op(op);
  SOCKADDR_STORAGE name;
  int len = sizeof name, rc = 0;
  u->slots = NULL;
  u->nslots = 0;
  u->err = 0;
  if (getsockname((SOCKET)op->fd, (struct sockaddr *)&name, &len) != 0) {
    evq__iocp_ended_now(b, op, evq__net_last_error());
    return;
  }
  for (int i = 0; i < (multi(op) ? ACCEPT_DEPTH : 1) && rc == 0; i++) {
    slot_t *slot = slot_get(b);
    rc = slot ? issue(b, op, slot, name.ss_family) : EVQ_ENOMEM;
    if (rc == 0) {
      slot->next = u->slots;
      u->slots = slot;
      u->nslots++;
    } else if (slot) {
      retire(b, slot, false);
    }
  }
  if (u->nslots == 0) {
    evq__iocp_ended_now(b, op, rc);
    return;
  }
  op->where = EVQ__IOCP_FLIGHT;
  evq__list_push_back(&b->io_flight, &op->link);
}

void evq__iocp_accept_cancel(evq__bop_t *op) {
  for (slot_t *s = evq__iocp_op(op)->slots; s; s = s->next)
    CancelIoEx((HANDLE)op->fd, &s->req.ov);
}

/* A connection reset before AcceptEx took it is no accept's end: POSIX's
 * accept never returns it either. */
static bool transient(DWORD err) {
  return err == WSAECONNRESET || err == WSAECONNABORTED;
}

/* The slot's request ended with res (a socket, or a code; err the
 * Winsock error of a failure): the slot goes again (a multishot's
 * connection, a reset) or retires. Returns the code that ends the op
 * when the slot could not go again, else 0. */
static int32_t next_request(evq__iocp_t *b, slot_t *slot, int32_t res,
                            DWORD err) {
  evq__bop_t *op = slot->op;
  evq__iocp_op_t *u = evq__iocp_op(op);
  bool again = !op->cancel && !u->err &&
               (res >= 0 ? multi(op) : transient(err));
  int32_t rc = again ? issue(b, op, slot, slot->af) : 0;
  if (!again || rc != 0) retire(b, slot, true);
  return rc;
}

/* The op's last slot ended: it leaves the kernel. */
static void op_over(evq__bop_t *op) {
  evq__list_unlink(&op->link);
  op->where = 0;
}

bool evq__iocp_accept_complete(evq__iocp_t *b, evq__raw_t *raw) {
  slot_t *slot = (slot_t *)(uintptr_t)raw->key;
  evq__bop_t *op = slot->op;
  evq__iocp_op_t *u = evq__iocp_op(op);
  DWORD err = 0;
  int32_t res;
  b->io_inflight--;
  if (NT_SUCCESS((NTSTATUS)slot->req.ov.Internal)) {
    res = accepted(op, slot->sock, slot->af);
  } else {
    err = evq__iocp_error(op, &slot->req.ov);
    closesocket(slot->sock);
    res = err == WSA_OPERATION_ABORTED ? EVQ_ECANCELED : evq__net_error(err);
  }
  uint16_t before = u->nslots;
  int32_t rc = next_request(b, slot, res, err);
  if (res < 0 && u->nslots == before) return false; /* a reset: went again */
  int32_t end = rc != 0 ? rc : res < 0 && res != EVQ_ECANCELED ? res : 0;
  if (multi(op) && end != 0 && !u->err) { /* it ends: the others go */
    u->err = end;
    evq__iocp_accept_cancel(op);
  }
  uint32_t flags = EVQ_OP;
  if (!multi(op)) {
    res = rc != 0 ? rc : res;
  } else if (res >= 0) {
    flags |= EVQ_OP_MORE;
  } else if (u->nslots > 0) {
    return false; /* the final waits for the last slot */
  }
  if (u->nslots == 0) {
    op_over(op);
    int32_t final = op->cancel || !u->err ? EVQ_ECANCELED : u->err;
    if (res >= 0 && multi(op)) evq__iocp_ended_now(b, op, final);
    else res = multi(op) ? final : res;
  }
  raw->key = (uintptr_t)op;
  raw->flags = flags;
  raw->data = (uint32_t)res;
  return true;
}

void evq__iocp_accept_forget(evq__iocp_t *b, slot_t *slot) {
  evq__bop_t *op = slot->op;
  closesocket(slot->sock); /* accepted or not, no caller will see it */
  b->io_inflight--;
  retire(b, slot, true);
  if (evq__iocp_op(op)->nslots == 0) op_over(op);
}

void evq__iocp_accept_free(evq__iocp_t *b) {
  while (b->slots) {
    slot_t *next = b->slots->next;
    free(b->slots);
    b->slots = next;
  }
}
