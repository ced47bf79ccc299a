/* The fuzzer's operations on descriptors and timers (fuzz.h): each one
 * made for real on the queue under test, its result checked against what
 * evq.h says, and told to the model. exec.c decodes them from the input. */
#define _GNU_SOURCE
#include "model.h"

#include "../tests/fd_race.h"

void fz_add_pair(run_t *r, int fd0, int fd1, int k0, int k1) {
  int h0 = fz_free_slot(r, -1), h1 = fz_free_slot(r, h0);
  if (h0 < 0 || h1 < 0 || fd0 >= MAX_FD || fd1 >= MAX_FD ||
      fz_io_number_claimed(r, fd0) || fz_io_number_claimed(r, fd1)) {
    close(fd0);
    close(fd1);
    return;
  }
  int f0 = fz_new_file(r, k0), f1 = fz_new_file(r, k1);
  if (f0 < 0 || f1 < 0) fz_violation(r, "fuzzer: out of files");
  r->files[f0].peer = f1;
  r->files[f1].peer = f0;
  r->hfd[h0] = fd0;
  r->hfd[h1] = fd1;
  fz_fd_bind(r, fd0, f0);
  fz_fd_bind(r, fd1, f1);
  fz_trace(r, "  fds %d (h%d, file %d) and %d (h%d, file %d), %s", fd0, h0, f0,
        fd1, h1, f1, fz_kind_names[k0]);
}

void fz_op_tcp(run_t *r) {
  if (fz_free_slot(r, -1) < 0) return;
  int port = evq_socket_port(r->listener);
  if (port <= 0) fz_violation(r, "evq_socket_port: %d", port);
  evq_fd_t c, s;
  int rc = evq_tcp_connect(&c, NULL, (uint16_t)port);
  if (rc != 0) fz_violation(r, "evq_tcp_connect: %s", evq_strerror(rc));
  int64_t end = evq_now() + 5000 * MS;
  while ((rc = evq_accept(NULL, r->listener, &s)) == EVQ_EAGAIN &&
         evq_now() < end)
    fz_wait_fd(r->listener, POLLIN, 10);
  if (rc != 0) fz_violation(r, "evq_accept: %s", evq_strerror(rc));
  fz_wait_fd(c, POLLOUT, 5000);
  if (evq_socket_error(c) != 0) fz_violation(r, "TCP connect failed");
  fz_add_pair(r, c, s, K_TCP, K_TCP);
}

void fz_op_register(run_t *r, int fd, uint32_t interests, int mode,
                        bool modify) {
  reg_t *g = &r->regs[fd];
  uintptr_t token = fz_new_token(r, 1, fd);
  int file = r->fd_file[fd];
  char call[96];
  snprintf(call, sizeof call, "evq_%s(fd %d, %s)",
           modify ? "modify" : "register", fd, fz_mode_name(mode));
  int rc = modify ? evq_modify(r->q, fd, interests, mode, token)
                  : evq_register(r->q, fd, interests, mode, token);
  fz_trace(r, "  %s -> %s (token %lu)", call, evq_errname(rc),
        (unsigned long)token);
  if (!modify) {
    if (g->live)
      fz_expect(r, call, rc, EVQ_EEXIST);
    else if (r->iorec[fd]) /* one model per socket (evq_io.h) */
      fz_expect(r, call, rc, EVQ_EEXIST);
    else if (file < 0)
      fz_expect(r, call, rc, EVQ_EBADF);
    else if (rc == EVQ_ENOTSUP && (interests & EVQ_PRIORITY))
      ; /* documented: an interest the backend cannot poll */
    else if (rc == EVQ_EEXIST)
      fz_breach(r, "eexist", "%s returned EVQ_EEXIST, but the number is open and "
                          "not registered (a leftover of an earlier "
                          "registration)", call);
    else
      fz_expect(r, call, rc, 0);
  } else if (!g->live) {
    fz_expect(r, call, rc, EVQ_ENOENT);
  } else if (!g->unbound_seq) {
    if (!(rc == EVQ_ENOTSUP && (interests & EVQ_PRIORITY)))
      fz_expect(r, call, rc, 0);
  } else {
    /* Modify of a registration whose number was closed (and perhaps
     * reused): evq.h says nothing; any of these is acceptable. */
    if (!(rc == EVQ_ENOTSUP && (interests & EVQ_PRIORITY)))
      fz_expect_one_of(r, call, rc, 0, EVQ_EBADF, EVQ_ENOENT);
  }
  if (rc != 0) {
    fz_kill_token(r, token, "never registered (the call failed)");
    return;
  }
  if (modify) {
    fz_kill_token(r, g->token, "replaced by evq_modify");
    if (!g->unbound_seq) {
      g->tainted = false;
    } else if (file >= 0) {
      /* Modified after its number was closed and now names another file:
       * it watches that one now (no MUST: the backend may have forgotten
       * it), and a backend that watches open files may still report the
       * old one. */
      g->alt = g->file;
      g->file = file;
      g->unbound_seq = 0;
    }
  } else {
    memset(g, 0, sizeof *g);
    g->live = true;
    g->file = file;
    g->alt = -1;
  }
  g->interests = interests;
  g->mode = mode;
  g->token = token;
  g->fired = false;
  g->delivered = 0;
  g->must = mode == EVQ_EDGE ? interests : 0;
  if (mode == EVQ_EDGE && fz_rebuild_may_come(r)) g->may_repeat = DIRS;
}

void fz_op_deregister(run_t *r, int fd) {
  reg_t *g = &r->regs[fd];
  int rc = evq_deregister(r->q, fd);
  fz_trace(r, "  evq_deregister(fd %d) -> %s", fd, evq_errname(rc));
  char call[64];
  snprintf(call, sizeof call, "evq_deregister(fd %d%s)", fd,
           g->live && g->unbound_seq ? ", closed" : "");
  fz_expect(r, call, rc, g->live ? 0 : EVQ_ENOENT);
  if (g->live) {
    fz_kill_token(r, g->token, "deregistered");
    g->live = false;
  }
}

/* evq_deregister_close: deregisters (when registered) and closes the
 * number, whatever file it names now; evq_close's error if it names none.
 * Not registered: EVQ_ENOENT, and the descriptor is left open. */
void fz_op_deregister_close(run_t *r, int fd) {
  reg_t *g = &r->regs[fd];
  bool open = r->fd_file[fd] >= 0;
  int rc = evq_deregister_close(r->q, fd);
  fz_trace(r, "  evq_deregister_close(fd %d) -> %s", fd, evq_errname(rc));
  if (!g->live) {
    fz_expect(r, "evq_deregister_close of an unregistered number", rc, EVQ_ENOENT);
    if (open && fcntl(fd, F_GETFD) == -1)
      fz_breach(r, "rc", "evq_deregister_close of an unregistered number closed it");
    return;
  }
  fz_expect(r, "evq_deregister_close", rc, open ? 0 : EVQ_EBADF);
  fz_kill_token(r, g->token, "deregistered (evq_deregister_close)");
  g->live = false;
  if (open) {
    int file = r->fd_file[fd];
    fz_fd_unbind(r, fd);
    if (r->files[file].refs == 0) fz_settle_tcp(r, file, true);
  }
}

/* I/O on number fd hit would-block in these directions, and evq was told
 * (evq_read, evq_write, evq_rearm): an edge registration of that number
 * reports the next fz_readiness. */
static void blocked(run_t *r, int fd, uint32_t dirs, bool told_while_ready) {
  reg_t *g = &r->regs[fd];
  if (!g->live || g->mode != EVQ_EDGE) return;
  dirs &= g->interests;
  /* evq finds the registration by number, so the re-arm reaches it even
   * when the number names another file by now: it may report again
   * (io_uring goes on watching the file it holds). What it owes then is
   * nothing: its file is not the number's. */
  g->delivered &= ~dirs;
  if (!told_while_ready && !g->unbound_seq) g->must |= dirs;
}

void fz_op_rearm(run_t *r, int fd, uint32_t dirs) {
  reg_t *g = &r->regs[fd];
  int file = r->fd_file[fd];
  uint32_t ready = file >= 0 ? fz_readiness(r, file) : 0;
  int rc = evq_rearm(r->q, fd, dirs);
  fz_expect(r, "evq_rearm", rc, g->live ? 0 : EVQ_ENOENT);
  if (!g->live) return;
  /* Re-armed while ready: no kernel owes a new edge (epoll has none to
   * give), but a re-report is allowed. */
  for (uint32_t d = EVQ_READABLE; d <= EVQ_WRITABLE; d <<= 1)
    if (dirs & d) blocked(r, fd, d, (fz_visible(ready, g->interests) & d) != 0);
}

void fz_op_write(run_t *r, int fd, size_t n, bool fill) {
  int file = r->fd_file[fd];
  static uint8_t buf[65536];
  size_t total = 0, limit = fill ? (r->files[file].kind == K_TCP ? 1u << 20 : 4u << 20) : n;
  while (total < limit) {
    size_t chunk = limit - total < sizeof buf ? limit - total : sizeof buf;
    fz_fill_pattern(buf, chunk, file, r->files[file].tx);
    ptrdiff_t w = evq_write(r->q, fd, buf, chunk);
    if (w > 0) {
      r->files[file].tx += (uint64_t)w;
      total += (size_t)w;
      fz_bump(r, file);
      if (!fill) break;
      continue;
    }
    if (w == 0) fz_breach(r, "rc", "evq_write wrote 0 bytes of %zu", chunk);
    /* Linux wakes a pipe's readers on every write to it while epoll
     * watches (pipe_write: "Epoll nonsensically wants a wakeup"), even one
     * that found it full and wrote nothing: an edge registration on the
     * read end may be reported again, as evq.h lets epoll do. */
    if (w == EVQ_EAGAIN) {
      fz_bump(r, file);
      blocked(r, fd, EVQ_WRITABLE, false);
    }
    else if (w != EVQ_EPIPE && w != EVQ_ECONNRESET && w != EVQ_EBADF &&
             w != EVQ_ENOTCONN)
      fz_breach(r, "rc", "evq_write: unexpected %s", evq_errname((int)w));
    break;
  }
  fz_trace(r, "  wrote %zu bytes on fd %d", total, fd);
  fz_settle_tcp(r, file, false);
}

void fz_op_read(run_t *r, int fd, size_t n, bool drain, bool raw) {
  int file = r->fd_file[fd];
  static uint8_t buf[65536];
  size_t total = 0, limit = drain ? 8u << 20 : n;
  while (total < limit) {
    size_t chunk = limit - total < sizeof buf ? limit - total : sizeof buf;
    ptrdiff_t got;
    if (raw) {
      got = read(fd, buf, chunk);
      if (got < 0) got = errno == EAGAIN ? EVQ_EAGAIN : EVQ_EIO;
    } else {
      got = evq_read(r->q, fd, buf, chunk);
    }
    if (got > 0) {
      fz_check_pattern(r, file, buf, (size_t)got);
      r->files[file].rx += (uint64_t)got;
      total += (size_t)got;
      fz_bump(r, file);
      if (!drain) break;
      continue;
    }
    if (got == EVQ_EAGAIN && !raw) blocked(r, fd, EVQ_READABLE, false);
    else if (got < 0 && got != EVQ_EAGAIN && got != EVQ_ECONNRESET &&
             got != EVQ_EBADF && got != EVQ_EIO && got != EVQ_ENOTCONN)
      fz_breach(r, "rc", "evq_read: unexpected %s", evq_errname((int)got));
    break;
  }
  fz_trace(r, "  read %zu bytes on fd %d", total, fd);
}

void fz_op_close(run_t *r, int fd) {
  int file = r->fd_file[fd];
  if (!fz_io_may_close(r, fd)) return;
  if (tq_fd_close(fd) != 0) fz_violation(r, "close(%d): %s", fd, strerror(errno));
  fz_fd_unbind(r, fd);
  fz_trace(r, "  closed fd %d (file %d, %d left)", fd, file, r->files[file].refs);
  if (r->files[file].refs == 0) fz_settle_tcp(r, file, true);
}

void fz_op_dup2(run_t *r, int src, int target) {
  if (target < 0 || target == src || target >= MAX_FD) return;
  if (fz_io_number_held(r, target)) return; /* a record's, or evq's */
  /* A closed number must really be free: never clobber a descriptor the
   * model does not own (the listener, the queue's own). */
  if (r->fd_file[target] < 0 && fcntl(target, F_GETFD) != -1) return;
  int file = r->fd_file[src];
  if (tq_fd_dup3(src, target) != target)
    fz_violation(r, "dup3(%d, %d): %s", src, target, strerror(errno));
  fz_fd_unbind(r, target);
  fz_fd_bind(r, target, file);
  fz_trace(r, "  dup2(%d, %d): file %d", src, target, file);
}

void fz_op_timer_start(run_t *r, int i, int64_t delay, int64_t period) {
  ftimer_t *t = &r->timers[i];
  uintptr_t token = fz_new_token(r, 2, i);
  int64_t before = evq_now();
  int rc = evq_timer_start(r->q, &t->t, delay, period, token);
  int64_t after = evq_now();
  fz_expect(r, "evq_timer_start", rc, 0);
  if (t->running) fz_kill_token(r, t->token, "its timer was restarted");
  t->running = true;
  t->token = token;
  t->t_before = before;
  t->t_after = after;
  t->delay = delay;
  t->period = period;
  t->expirations = 0;
}

void fz_op_timer_stop(run_t *r, int i, bool concurrent) {
  ftimer_t *t = &r->timers[i];
  int rc = evq_timer_stop(r->q, &t->t);
  /* A oneshot timer the waiting thread is collecting right now may be
   * gone already. */
  if (!t->running)
    fz_expect(r, "evq_timer_stop", rc, EVQ_ENOENT);
  else if (concurrent && t->period == 0)
    fz_expect_one_of(r, "evq_timer_stop", rc, 0, EVQ_ENOENT, 0);
  else
    fz_expect(r, "evq_timer_stop", rc, 0);
  if (t->running) fz_kill_token(r, t->token, "its timer was stopped");
  t->running = false;
  if (evq_timer_active(&t->t)) fz_breach(r, "timer", "timer active after stop");
}
