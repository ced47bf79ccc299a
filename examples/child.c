/*
 * evq_child: runs a command, copies its output as it arrives and reports
 * how it ended, with the output pipes and the exit as events on one queue.
 *
 *   evq_child [-v] [--timeout-ms N] [--grace-ms N] [--] COMMAND [ARG...]
 *
 * The options end at "--" or at the first word that is not an option
 * (`evq_child ls -l`, `evq_child -v -- ls -l`).
 *
 * COMMAND (found through PATH) runs with its standard output and standard
 * error each a pipe to evq_child, which copies them byte for byte to its
 * own standard output and standard error; standard input is shared. The
 * exit status is the command's: its exit code, or 128 + N if signal N
 * ended it (as a shell reports it), after "evq_child: killed by signal N
 * (name)" on standard error. 127 if the command cannot be run.
 *
 *  --timeout-ms N  after N ms sends the command SIGTERM, saying "evq_child:
 *                  timed out after N ms, sent SIGTERM", and SIGKILL if it
 *                  still runs --grace-ms later.
 *  --grace-ms N    (default 2000) also how long output may stay open once
 *                  the command has exited: a process the command started
 *                  in the background can hold the pipes for ever, and is
 *                  not waited for beyond that ("evq_child: output still
 *                  open N ms after the exit, not waiting").
 *  -v              says on standard error when each pipe ends and how the
 *                  command exited, in the order evq_child learns of them.
 * A SIGTERM sent to evq_child is passed on to the command, whose end is
 * then reported as usual. Ctrl-C (SIGINT) is left alone: the terminal sends
 * it to the command as well, since both are in its foreground group.
 *
 * What it shows: a child's exit (evq_child_add) and the end of its output
 * (EOF on the pipes) are separate events that come in either order: a
 * command can close its output and go on running, or exit while something
 * it started still writes; the program is done when it has both, or the
 * output is given up. Pipes are polled like sockets (POSIX). The exit is
 * reaped by evq during evq_wait, so a batch's exit event is handled before
 * its timers: a kill() sent after the reap could reach a process that
 * reused the pid.
 *
 * The copy to evq_child's own output is a blocking write: its stdout may be
 * a terminal or a pipe shared with other processes, whose O_NONBLOCK flag
 * is not its to change. While such a write blocks, the command blocks on
 * its full pipe too, so nothing is lost; the timers are late by as much.
 */
#define _POSIX_C_SOURCE 200809L
#include <evq_net.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MS 1000000LL
enum { /* tokens; the pipes' are their index in streams[] */
  TOKEN_STDOUT = 0,
  TOKEN_STDERR = 1,
  TOKEN_CHILD = 2,
  TOKEN_TIMEOUT,
  TOKEN_KILL,
  TOKEN_LINGER,
  TOKEN_SIGTERM
};

typedef struct stream {
  const char *name;
  int fd;                  /* read end of the pipe, -1 once closed */
  int out;                 /* where the copy goes: 1 or 2 */
  int broken;              /* writing the copy failed: discard the rest */
} stream_t;

static evq_t *q;
static stream_t streams[2] = {{"stdout", -1, 1, 0}, {"stderr", -1, 2, 0}};
static pid_t child;
static int exited, status = 1, verbose;
static long timeout_ms = -1, grace_ms = 2000;
static evq_timer_t timeout, kill_timer, linger;

static void fail(const char *what, int rc) {
  fprintf(stderr, "evq_child: %s: %s\n", what, evq_strerror(rc));
  exit(1);
}

#ifdef __GNUC__
__attribute__((format(printf, 1, 2)))
#endif
static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "evq_child: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void start_timer(evq_timer_t *t, long ms, uintptr_t token) {
  int rc = evq_timer_start(q, t, ms * MS, 0, token);
  if (rc != 0) fail("timer", rc);
}

static void stop_timer(evq_timer_t *t) {
  if (evq_timer_active(t)) evq_timer_stop(q, t);
}

/* Writes all of buf to fd, which may block. evq_write never raises SIGPIPE
 * (it works on any descriptor; no queue is needed for an unregistered
 * one), so a reader that went away is an error code here. */
static void copy_out(stream_t *s, const char *buf, size_t len) {
  while (len > 0 && !s->broken) {
    ptrdiff_t w = evq_write(NULL, s->out, buf, len);
    if (w == EVQ_EAGAIN) { /* someone made our output non-blocking */
      struct pollfd p = {.fd = s->out, .events = POLLOUT};
      poll(&p, 1, -1);
      continue;
    }
    if (w < 0) {
      /* Keep reading the pipe, so the command does not block on it. */
      s->broken = 1;
      if (s->out != 2)
        fprintf(stderr, "evq_child: copying %s: %s; discarding the rest\n",
                s->name, evq_strerror((int)w));
      return;
    }
    buf += w;
    len -= (size_t)w;
  }
}

static void stream_close(stream_t *s) {
  int rc = evq_deregister(q, s->fd);
  if (rc != 0) fail("deregister", rc);
  close(s->fd);
  s->fd = -1;
}

/* Edge mode: read until EAGAIN (more later) or the end of the stream. */
static void stream_read(stream_t *s) {
  static char buf[65536];
  for (;;) {
    ptrdiff_t r = evq_read(q, s->fd, buf, sizeof buf);
    if (r == EVQ_EAGAIN) return;
    if (r > 0) {
      copy_out(s, buf, (size_t)r);
      continue;
    }
    if (r < 0) note("reading %s: %s", s->name, evq_strerror((int)r));
    else if (verbose) note("%s ended", s->name);
    stream_close(s);
    return;
  }
}

static int streams_open(void) {
  return streams[0].fd >= 0 || streams[1].fd >= 0;
}

static void send_child(int signo, const char *name) {
  /* Only while the exit is unreported: until then the pid is unreaped
   * (running or a zombie), so it cannot name another process. */
  if (!exited && kill(child, signo) != 0 && errno != ESRCH)
    note("kill %s: %s", name, strerror(errno));
}

static void on_exit_event(const evq_event_t *ev) {
  exited = 1;
  stop_timer(&timeout);
  stop_timer(&kill_timer);
  if (ev->flags & EVQ_ERROR) {
    /* Reaped by someone else: cannot happen here, nothing else waits. */
    note("the exit status was lost");
    status = 1;
  } else if (ev->flags & EVQ_CHILD_SIGNALED) {
    int signo = (int)ev->data;
    note("killed by signal %d (%s)", signo, strsignal(signo));
    status = 128 + signo;
  } else {
    status = (int)ev->data;
    if (verbose) note("exited with %d", status);
  }
  if (streams_open()) start_timer(&linger, grace_ms, TOKEN_LINGER);
}

static int spawn(char **argv) {
  int fds[2][2];
  for (int i = 0; i < 2; i++) {
    if (pipe(fds[i]) != 0) {
      perror("evq_child: pipe");
      exit(1);
    }
    /* All four close-on-exec: the command gets its ends only as the
     * dup2()ed 1 and 2, and nothing leaks into it or its children. */
    for (int j = 0; j < 2; j++)
      fcntl(fds[i][j], F_SETFD, FD_CLOEXEC);
    fcntl(fds[i][0], F_SETFL, fcntl(fds[i][0], F_GETFL) | O_NONBLOCK);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0][1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1][1], 2);
  int err = posix_spawnp(&child, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[0][1]);
  close(fds[1][1]);
  if (err != 0) {
    /* Some systems report a failed exec here, others as exit 127. */
    fprintf(stderr, "evq_child: cannot run %s: %s\n", argv[0], strerror(err));
    close(fds[0][0]);
    close(fds[1][0]);
    return 127;
  }
  for (int i = 0; i < 2; i++) {
    streams[i].fd = fds[i][0];
    int rc = evq_register(q, streams[i].fd, EVQ_READABLE, EVQ_EDGE,
                          (uintptr_t)i);
    if (rc != 0) fail("register pipe", rc);
  }
  /* The command may already have ended: evq reports it at the next wait
   * all the same, since nobody has reaped it yet. */
  int rc = evq_child_add(q, child, TOKEN_CHILD);
  if (rc != 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    fail("watch child", rc);
  }
  return 0;
}

static int parse_long(const char *arg, long lo, long hi, long *out) {
  char *end;
  long v = strtol(arg, &end, 10);
  if (end == arg || *end != '\0' || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int usage(void) {
  fprintf(stderr, "usage: evq_child [-v] [--timeout-ms N] [--grace-ms N] "
                  "[--] COMMAND [ARG...]\n");
  return 2;
}

int main(int argc, char **argv) {
  int i = 1;
  /* Options until "--" or the first word that is not one: the command
   * (`evq_child ls -l`); "--" is needed only for a command whose name
   * starts with "-". */
  for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "-v") == 0) {
      verbose = 1;
    } else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 0, 86400000, &timeout_ms)) {
      i++;
    } else if (strcmp(argv[i], "--grace-ms") == 0 && i + 1 < argc &&
               parse_long(argv[i + 1], 0, 86400000, &grace_ms)) {
      i++;
    } else {
      return usage();
    }
  }
  if (i < argc && strcmp(argv[i], "--") == 0) i++;
  if (i >= argc) return usage();
  char **command = argv + i;

  int rc = evq_create(&q, NULL);
  if (rc != 0) fail("create", rc);
  evq_timer_init(&timeout);
  evq_timer_init(&kill_timer);
  evq_timer_init(&linger);
  /* Before the spawn, so that a SIGTERM from then on is passed on rather
   * than ending evq_child alone. The command starts with SIGTERM at its
   * default: exec resets a caught signal. */
  if ((rc = evq_signal_add(q, SIGTERM, TOKEN_SIGTERM)) != 0)
    fail("SIGTERM", rc);
  if (spawn(command) != 0) {
    evq_free(q);
    return 127;
  }
  if (timeout_ms >= 0) start_timer(&timeout, timeout_ms, TOKEN_TIMEOUT);

  evq_event_t ev[16];
  while (!exited || streams_open()) {
    int n = evq_wait(q, ev, 16, EVQ_FOREVER);
    if (n < 0) fail("wait", n);
    /* The exit first: evq has reaped the command already (the pid is
     * free for reuse), and a timer in the same batch must not kill it. */
    for (int k = 0; k < n; k++)
      if (ev[k].flags & EVQ_CHILD) on_exit_event(&ev[k]);
    for (int k = 0; k < n; k++) {
      uintptr_t t = ev[k].token;
      if (ev[k].flags & EVQ_CHILD) continue;
      if (ev[k].flags & EVQ_SIGNAL) {
        send_child(SIGTERM, "SIGTERM");
      } else if (t == TOKEN_TIMEOUT) {
        note("timed out after %ld ms, sent SIGTERM", timeout_ms);
        send_child(SIGTERM, "SIGTERM");
        start_timer(&kill_timer, grace_ms, TOKEN_KILL);
      } else if (t == TOKEN_KILL) {
        note("still running %ld ms after SIGTERM, sent SIGKILL", grace_ms);
        send_child(SIGKILL, "SIGKILL");
      } else if (t == TOKEN_LINGER) {
        note("output still open %ld ms after the exit, not waiting",
             grace_ms);
        for (int s = 0; s < 2; s++)
          if (streams[s].fd >= 0) stream_close(&streams[s]);
      } else if (t <= TOKEN_STDERR && streams[t].fd >= 0) {
        stream_read(&streams[t]);
      }
    }
  }

  stop_timer(&linger);
  evq_signal_remove(q, SIGTERM);
  evq_free(q);
  return status;
}
