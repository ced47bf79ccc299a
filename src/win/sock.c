/* The per-socket poll state machine (sock.h has the diagram). Everything
 * here runs under the queue lock. */
#include "sock.h"

/* The AFD events s needs watched. A deregistered socket wants nothing.
 * Once end of stream has been reported, an edge registration has nothing
 * left to learn from the read side (no data can follow a FIN), so a re-arm
 * after reading EOF reports nothing new. */
static ULONG sock_want(const evq__sock_t *s) {
  if (s->st.key == 0) return 0;
  uint32_t dirs = s->dirs;
  if (s->rd_closed && s->mode == EVQ_EDGE) dirs &= ~(uint32_t)EVQ_READABLE;
  return evq__afd_events(dirs);
}

void evq__sock_cancel(evq__sock_t *s) {
  if (s->state != EVQ__SOCK_PENDING) return;
  evq__afd_cancel(s->group->afd, &s->poll);
  s->state = EVQ__SOCK_CANCELLING;
}

/* A wider poll than needed costs at most one completion that reports
 * nothing, so a pending poll is kept whenever it covers the want. */
int evq__sock_sync(evq__sock_t *s) {
  if (s->state == EVQ__SOCK_CANCELLING || s->closed) return 0;
  ULONG want = sock_want(s);
  if (s->state == EVQ__SOCK_PENDING) {
    if (want == 0 || (want & ~s->polled) != 0) evq__sock_cancel(s);
    return 0;
  }
  if (want == 0) return 0;
  int rc = evq__afd_poll(s->group->afd, &s->poll, s->base, want);
  if (rc == EVQ_EBADF) {
    s->closed = true; /* closed while registered: wait for deregister */
    return 0;
  }
  if (rc != 0) return rc;
  s->state = EVQ__SOCK_PENDING;
  s->polled = want;
  evq__state_submitted(&s->st);
  return 0;
}

/* A poll we cancelled may have finished first; its result is for a set of
 * events no longer wanted, and the next poll sees the same readiness if it
 * still holds. */
uint32_t evq__sock_completed(evq__sock_t *s) {
  bool cancelled = s->state == EVQ__SOCK_CANCELLING;
  s->state = EVQ__SOCK_IDLE;
  NTSTATUS st = s->poll.iosb.Status;
  if (cancelled || st == EVQ__STATUS_CANCELLED) return 0;
  if (st < 0) {
    if (st == EVQ__STATUS_INVALID_HANDLE) s->closed = true;
    return s->closed ? 0 : EVQ_ERROR;
  }
  if (s->poll.info.count == 0) return 0;
  ULONG events = s->poll.info.handles[0].events;
  if (events & AFD_POLL_LOCAL_CLOSE) {
    s->closed = true; /* like epoll: a closed descriptor reports nothing */
    return 0;
  }
  ULONG ends = AFD_POLL_DISCONNECT;
  if (!s->dgram) ends |= AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL; /* afd.c */
  if (events & ends) s->rd_closed = true;
  return evq__afd_results(events, s->dgram);
}
