/*
 * Signals on Windows: the console's control events, which are what a
 * Windows program gets where a POSIX one gets SIGINT and friends. Ctrl-C is
 * SIGINT, Ctrl-Break SIGBREAK, and the console window being closed is
 * signal 1 (SIGHUP's number, as libuv does). One console control handler
 * is installed while any queue watches any of them; Windows runs it on a
 * thread of its own, so, unlike a POSIX handler, it may take a lock.
 *
 * The handler returns TRUE (handled: the default action, ending the
 * process, does not happen) only when a queue watches that event. For the
 * close event Windows ends the process anyway once the handler returns or
 * a few seconds have passed.
 */
#include "win.h"
#include "core.h"

#include <signal.h>
#include <stdlib.h>

#define SIG_CLOSE 1 /* SIGHUP's number */

typedef struct win_sig_node {
  evq_t *q;
  struct win_sig_node *next;
  int watches[EVQ__NSIG];
} win_sig_node_t;

static SRWLOCK win_sig_lock = SRWLOCK_INIT;
static win_sig_node_t *win_sig_head;
static int win_sig_queues[EVQ__NSIG];
static int win_sig_total;

static int signo_of(DWORD type) {
  switch (type) {
  case CTRL_C_EVENT: return SIGINT;
  case CTRL_BREAK_EVENT: return SIGBREAK;
  case CTRL_CLOSE_EVENT: return SIG_CLOSE;
  default: return 0;
  }
}

static BOOL WINAPI win_sig_handler(DWORD type) {
  int signo = signo_of(type);
  if (!signo) return FALSE;
  AcquireSRWLockShared(&win_sig_lock);
  BOOL handled = win_sig_queues[signo] > 0;
  for (win_sig_node_t *n = win_sig_head; n; n = n->next)
    if (n->watches[signo]) evq__signal_raised(n->q, signo);
  ReleaseSRWLockShared(&win_sig_lock);
  return handled;
}

int evq__sig_check(int signo) {
  return signo == SIGINT || signo == SIGBREAK || signo == SIG_CLOSE
             ? 0 : EVQ_EINVAL;
}

static win_sig_node_t *win_sig_find(evq_t *q, win_sig_node_t ***link) {
  win_sig_node_t **l = &win_sig_head;
  for (; *l; l = &(*l)->next)
    if ((*l)->q == q) {
      if (link) *link = l;
      return *l;
    }
  return NULL;
}

int evq__sig_watch(evq_t *q, int signo) {
  AcquireSRWLockExclusive(&win_sig_lock);
  int rc = 0;
  win_sig_node_t *n = win_sig_find(q, NULL);
  if (!n && !(n = calloc(1, sizeof *n))) {
    rc = EVQ_ENOMEM;
  } else {
    if (!n->q) {
      n->q = q;
      n->next = win_sig_head;
      win_sig_head = n;
    }
    if (win_sig_total == 0 && !SetConsoleCtrlHandler(win_sig_handler, TRUE))
      rc = evq__from_win32(GetLastError());
    if (rc == 0) {
      win_sig_total++;
      win_sig_queues[signo]++;
      n->watches[signo]++;
    }
  }
  ReleaseSRWLockExclusive(&win_sig_lock);
  return rc;
}

/* The exclusive lock waits for a handler walking the list, so none touches
 * q once this returns. */
void evq__sig_unwatch(evq_t *q, int signo) {
  AcquireSRWLockExclusive(&win_sig_lock);
  win_sig_node_t **link;
  win_sig_node_t *n = win_sig_find(q, &link);
  if (n && n->watches[signo]) {
    n->watches[signo]--;
    win_sig_queues[signo]--;
    if (--win_sig_total == 0) SetConsoleCtrlHandler(win_sig_handler, FALSE);
    int any = 0;
    for (int s = 0; s < EVQ__NSIG; s++) any |= n->watches[s];
    if (!any) {
      *link = n->next;
      free(n);
    }
  }
  ReleaseSRWLockExclusive(&win_sig_lock);
}

/* For the tests: wine's GenerateConsoleCtrlEvent fails without a real
 * console, so they run the handler as Windows would for an event. */
BOOL evq__console_event(DWORD type) { return win_sig_handler(type); }
