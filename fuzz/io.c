/* The fuzzer's completion operations (evq_io.h): receives into a buffer of
 * the caller's, pool receives from two small pools (2 x 16 and 4 x 512
 * bytes, so that EVQ_ENOBUFS comes), sends and sendvs of 1 B to 1 MiB,
 * cancels, evq_op_close with operations in flight, pool puts (and puts of
 * buffers not lent), evq_io_release, and evq_free with operations in
 * flight, on eight evq_op_t slots, on the socketpairs and TCP pairs the
 * readiness operations use. Each submission's answer is checked against
 * the contract when it is made; each completion when a wait returns it
 * (oracle.c hands them here); what must hold:
 *
 *  - exactly once: every submission that returned 0 gets one final
 *    completion, and nothing after it (a later completion with its token
 *    is a violation); evq_op_active is 1 from the submission until the
 *    wait that returns the final one, and 0 after; at the end of a run,
 *    every operation cancelled ends within 2 s; a refused submission gets
 *    nothing;
 *  - flags: EVQ_OP always; EVQ_OP_MORE and EVQ_OP_BUFFER only on a pool
 *    receive's completions that lend a buffer, and there both;
 *  - order: completions of receives on a socket in their submission order,
 *    of sends too; an evq_op_close's after every other operation of the
 *    record it ends;
 *  - sends: each ends with its whole length or an error, never short, and
 *    with EVQ_ECANCELED only if cancelled, closed, or behind a send that
 *    failed or was cut (cancelled after some bytes went); after such a
 *    one, every later send ends EVQ_ECANCELED; errors only on a socket one
 *    end of which was shut down or closed;
 *  - the peer's bytes, however it reads them (evq_read, read(2), receive
 *    operations), are exactly the concatenation of the sends that
 *    completed, in order, and then perhaps a prefix of the one that cut
 *    the stream: each send's bytes say which send and which byte they are
 *    (a send's first byte tells it from the next 255), so a send that went
 *    with no bytes is seen as skipped, and one that completed with its
 *    length must not be;
 *  - receives: 1 to len bytes, in stream order, or 0 only once the stream
 *    may have ended; EVQ_ECANCELED only if cancelled or closed;
 *  - pools: a lent buffer is not lent again until put back; a put of one
 *    lent is 0, of one not lent EVQ_EINVAL; EVQ_ENOBUFS only if every
 *    buffer of the pool was lent at some point since the receive was
 *    submitted (for a shared pool, the buffers another receive took first
 *    may come in its completions later); evq_pool_free is EVQ_EBUSY while
 *    a buffer is lent; a receive whose socket holds data gets a
 *    completion without a cancel (no silent stall);
 *  - one model per socket: an operation on a number registered for
 *    readiness, and a registration of a number with a record, get
 *    EVQ_EEXIST; evq_io_release is EVQ_EBUSY while an operation of the
 *    number is active, and so is a receive beside a pool receive;
 *    submissions while the number's evq_op_close has not completed get
 *    EVQ_EBADF.
 *
 * What the fuzzer itself keeps to, as a caller must: no plain close (or
 * dup2 over) a number with operations in flight (a record without any is
 * released first); operations on a file through one number's record at a
 * time; no new descriptor on a number that an operation submitted while
 * it was closed still targets; no buffer touched while evq owns it; no
 * evq_write once sends go through operations, and no read beside a
 * receive operation (which of them got which bytes would be a race).
 *
 * What the model leaves open, as the contract does: whether a cancel
 * beats the completion (both results are allowed, and a send cancelled
 * may or may not have cut the stream: the bytes decide), which of two
 * sockets' completions comes first, and the bytes of a file whose stream
 * two records may have written (a record ended with its stream maybe cut,
 * then a new one on a dup).
 */
#define _GNU_SOURCE
#include "model.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const size_t recv_sizes[] = {1, 7, 100, 1000, 4096, 65536};
static const size_t send_sizes[] = {1,     7,     100,    1000,
                                    4096,  20000, 262144, 1u << 20};
static const uint32_t pool_count[NPOOLS] = {2, 4};
static const uint32_t pool_size[NPOOLS] = {16, 512};

/* The buffers each slot's operation owns while in flight (evq's, not to
 * be touched: a submission on an active slot, which must be refused, gets
 * the spare row instead). */
static uint8_t rbuf[NSLOTS + 1][65536];
static uint8_t sbuf[NSLOTS + 1][1u << 20];
static evq_iovec_t siov[NSLOTS + 1][3];

static const char *const kind_names[] = {"-", "recv", "recv_pool", "send",
                                         "close"};
static const char *op_str(const run_t *r, int i);

/* Byte i of send number no of file f: at i = 0, distinct for 256
 * consecutive sends, which tells the reader which send begins. */
static uint8_t spattern(int f, int no, size_t i) {
  return (uint8_t)((unsigned)no * 37u + (unsigned)f * 13u + i * 7 + (i >> 8) +
                   101);
}

static fsend_t *find_send(run_t *r, int f, int no) {
  for (int i = 0; i < r->nsends; i++)
    if (r->sends[i].file == f && r->sends[i].no == no) return &r->sends[i];
  return NULL;
}

/* Whether the stream may have ended or broken: one end shut down or
 * closed (its last descriptor, or evq_op_close), or no file at all. */
static bool hurt(const run_t *r, int f) {
  if (f < 0) return true;
  const file_t *fl = &r->files[f];
  if (fl->shut || fl->refs == 0 || fl->peer < 0) return true;
  const file_t *p = &r->files[fl->peer];
  return p->shut || p->refs == 0;
}

bool fz_io_number_held(const run_t *r, int fd) {
  return fd >= 0 && fd < MAX_FD && (r->iorec[fd] || r->closing[fd]);
}

bool fz_io_number_claimed(const run_t *r, int fd) {
  for (int i = 0; i < NSLOTS; i++)
    if (r->slot[i].active && r->slot[i].fd == fd && r->slot[i].file < 0)
      return true;
  return false;
}

bool fz_io_receiving(const run_t *r, int file) {
  for (int i = 0; i < NSLOTS; i++)
    if (r->slot[i].active && r->slot[i].file == file &&
        (r->slot[i].kind == OPK_RECV || r->slot[i].kind == OPK_POOL))
      return true;
  return false;
}

static bool rec_active(const run_t *r, int rec) {
  for (int i = 0; i < NSLOTS; i++)
    if (r->slot[i].active && r->slot[i].rec == rec &&
        r->slot[i].kind != OPK_CLOSE)
      return true;
  return false;
}

static fpool_t *pool_of(run_t *r, int i) {
  fpool_t *p = &r->pools[i];
  if (p->p) return p;
  int rc = evq_pool_create(r->q, &p->p, pool_count[i], pool_size[i]);
  fz_expect(r, "evq_pool_create", rc, 0);
  if (rc != 0) return NULL;
  p->count = pool_count[i];
  p->size = pool_size[i];
  return p;
}

/* fd's record ends (evq_io_release, evq_op_close): a later operation on
 * the file, through any of its numbers, makes a new one (whose sends may
 * follow a stream this one cut: fz_io_submit gives such a stream up). */
static void record_ends(run_t *r, int fd) {
  int f = fd >= 0 && fd < MAX_FD ? r->fd_file[fd] : -1;
  if (f >= 0 && r->files[f].op_fd == fd) r->files[f].op_fd = -1;
  r->iorec[fd] = 0;
}

/* A plain close of a number with a record: never while an operation of
 * it is active (evq_op_close is the way then: a plain close is invisible
 * to evq); else its record is released first. */
bool fz_io_may_close(run_t *r, int fd) {
  int rec = r->iorec[fd];
  if (!rec) return true;
  if (rec_active(r, rec)) return false;
  fz_expect(r, "evq_io_release before a close", evq_io_release(r->q, fd), 0);
  record_ends(r, fd);
  return true;
}

/* A submission's answer: want, or (either) 0 too; rule names a breach of
 * it. */
static void expect_answer(run_t *r, const char *call, int rc, int want,
                          bool either, const char *rule) {
  if (rc == want || (either && rc == 0)) return;
  if (either)
    fz_breach(r, rule, "%s returned %s, expected %s or 0", call,
              evq_errname(rc), evq_errname(want));
  else
    fz_breach(r, rule, "%s returned %d (%s), expected %d (%s)", call, rc,
              evq_errname(rc), want, evq_errname(want));
}

static void accepted(run_t *r, int i, int kind, int fd, int file, size_t len,
                     int pool, uintptr_t token) {
  fop_t *s = &r->slot[i];
  if (!r->iorec[fd]) {
    r->iorec[fd] = ++r->nrecs;
    r->rec_born_closed[r->nrecs] = file < 0;
  }
  *s = (fop_t){.active = true, .kind = kind, .fd = fd, .file = file,
               .rec = r->iorec[fd], .send = -1, .pool = pool, .len = len,
               .token = token, .sub_seq = fz_tick(r)};
  if (file >= 0) r->files[file].op_fd = fd;
}

void fz_io_submit(run_t *r, int kind, int h, int size, int slotno,
                  bool concurrent) {
  int fd = r->hfd[h % MAX_H];
  if (fd < 0 || fd >= MAX_FD) return;
  int i = slotno % NSLOTS;
  fop_t *s = &r->slot[i];
  /* The model may lag the waiter's batch: another thread submits only on
   * slots it knows to be idle. */
  if (concurrent && s->active) return;
  int file = r->fd_file[fd];
  bool closing = r->closing[fd] != 0;
  if (file >= 0) {
    int k = r->files[file].kind;
    if (k != K_UNIX && k != K_TCP) return; /* stream sockets only */
    /* One record per socket: two numbers' records would interleave its
     * sends, which nothing orders. */
    if (r->files[file].op_fd >= 0 && r->files[file].op_fd != fd) return;
  } else if (!closing && fcntl(fd, F_GETFD) != -1) {
    return; /* open, but not the model's (the listener, evq's own) */
  }
  int pi = size % NPOOLS;
  fpool_t *pool = NULL;
  if (kind == OPK_POOL && !(pool = pool_of(r, pi))) return;
  size_t len = kind == OPK_RECV   ? recv_sizes[size % COUNT(recv_sizes)]
               : kind == OPK_SEND ? send_sizes[size % COUNT(send_sizes)]
                                  : 0;
  bool vec = kind == OPK_SEND && (slotno / NSLOTS) % 2;

  /* What evq must answer. */
  int want = 0;
  bool either = false;
  const char *rule = "rc";
  int rec = r->iorec[fd];
  if (s->active) {
    want = EVQ_EBUSY;
  } else if (r->regs[fd].live) {
    want = EVQ_EEXIST;
  } else if (closing && !(file >= 0 && rec)) {
    /* "until then operations on fd are refused with EVQ_EBADF"; a number
     * the system gave again (evq closed it) may be taken as new, and once
     * a record was made on it, it is. */
    want = EVQ_EBADF;
    if (file >= 0) either = true;
    else rule = "closing-ebadf";
  } else if (rec && (kind == OPK_RECV || kind == OPK_POOL)) {
    /* A pool receive runs alone on its socket's receive side. An op
     * cancelled may have ended already in evq, undelivered. */
    bool conflict = false, all_asked = true;
    for (int j = 0; j < NSLOTS; j++) {
      fop_t *o = &r->slot[j];
      if (!o->active || o->rec != rec) continue;
      if ((kind == OPK_RECV && o->kind == OPK_POOL) ||
          (kind == OPK_POOL && (o->kind == OPK_RECV || o->kind == OPK_POOL))) {
        conflict = true;
        all_asked &= o->asked;
      }
    }
    if (conflict) {
      want = EVQ_EBUSY;
      either = all_asked;
      rule = "pool-alone";
    }
  }

  int no = 0, b = s->active ? NSLOTS : i; /* b: the buffers' row */
  if (kind == OPK_SEND) {
    if (r->nsends >= MAX_SENDS) return;
    no = file >= 0 ? r->files[file].nsends : 0;
    for (size_t k = 0; k < len; k++) sbuf[b][k] = spattern(file, no, k);
    size_t third = len / 3;
    siov[b][0] = (evq_iovec_t){sbuf[b], third};
    siov[b][1] = (evq_iovec_t){sbuf[b] + third, third};
    siov[b][2] = (evq_iovec_t){sbuf[b] + 2 * third, len - 2 * third};
  }
  uintptr_t token = fz_new_token(r, 3, i);
  evq_op_t *op = &r->op[i];
  int rc;
  char call[96];
  switch (kind) {
  case OPK_RECV:
    rc = evq_op_recv(r->q, op, fd, rbuf[b], len, token);
    snprintf(call, sizeof call, "evq_op_recv(fd %d, %zu bytes, slot %d)", fd,
             len, i);
    break;
  case OPK_POOL:
    rc = evq_op_recv_pool(r->q, op, fd, pool->p, token);
    snprintf(call, sizeof call, "evq_op_recv_pool(fd %d, pool %d, slot %d)",
             fd, pi, i);
    break;
  default:
    rc = vec ? evq_op_sendv(r->q, op, fd, siov[b], 3, token)
             : evq_op_send(r->q, op, fd, sbuf[b], len, token);
    snprintf(call, sizeof call, "evq_op_%s(fd %d, %zu bytes, slot %d)",
             vec ? "sendv" : "send", fd, len, i);
    break;
  }
  fz_trace(r, "  %s -> %s (token %lu)", call, evq_errname(rc),
           (unsigned long)token);
  expect_answer(r, call, rc, want, either, rule);
  if (rc != 0) {
    fz_kill_token(r, token, "never submitted (the call refused it)");
    if (!s->active && evq_op_active(op))
      fz_breach(r, "op-active", "%s refused with %s, yet evq_op_active is 1",
                call, evq_errname(rc));
    return;
  }
  if (s->active)
    fz_violation(r, "%s accepted an evq_op_t whose final completion has not "
                    "come", call);
  accepted(r, i, kind, fd, file, len, pi, token);
  if (kind == OPK_SEND) {
    s->send = r->nsends++;
    r->sends[s->send] = (fsend_t){.file = file, .no = no, .slot = i,
                                  .len = len, .state = SEND_PENDING};
    if (file >= 0) {
      file_t *fl = &r->files[file];
      if (!fl->op_sent) {
        fl->op_sent = true;
        fl->raw_end = fl->tx;
      }
      /* A new record after one that may have cut the stream, or whose
       * sends are still in flight: evq starts it whole, and its bytes may
       * follow a cut send's or mingle with them. */
      if (fl->nsends > 0 && fl->send_rec != s->rec) {
        bool pending = false;
        for (int j = 0; j < r->nsends - 1; j++)
          pending |= r->sends[j].file == file &&
                     r->sends[j].state == SEND_PENDING;
        if (pending || fl->stream != STREAM_WHOLE) fl->stream_lost = true;
      }
      fl->send_rec = s->rec;
      fl->nsends++;
    }
  }
  if (kind == OPK_POOL && pool->nlent == pool->count)
    pool->exhausted_seq = fz_tick(r);
  if (!concurrent && !evq_op_active(op))
    fz_breach(r, "op-active", "%s returned 0, yet evq_op_active is 0", call);
}

static void ask(run_t *r, fop_t *s) {
  s->asked = true;
  if (s->send >= 0) r->sends[s->send].asked = true;
}

void fz_io_cancel(run_t *r, int slotno, bool concurrent) {
  int i = slotno % NSLOTS;
  fop_t *s = &r->slot[i];
  int rc = evq_op_cancel(r->q, &r->op[i]);
  fz_trace(r, "  evq_op_cancel(slot %d) -> %s", i, evq_errname(rc));
  /* Its final may be in the waiter's batch already when another thread
   * asks. */
  bool ok = !s->active ? rc == EVQ_ENOENT
                       : rc == 0 || (concurrent && rc == EVQ_ENOENT);
  if (!ok)
    fz_breach(r, s->active && rc == EVQ_EINVAL ? "op-cancel-einval" : "op-cancel",
              "evq_op_cancel of %s %s returned %s",
              s->active ? "active" : "inactive", op_str(r, i),
              evq_errname(rc));
  if (rc == 0 && s->active) ask(r, s);
  if (s->active && rc != 0 && !concurrent) s->uncancellable = true;
}

void fz_io_close(run_t *r, int h, int slotno, bool concurrent) {
  int fd = r->hfd[h % MAX_H];
  if (fd < 0 || fd >= MAX_FD) return;
  int i = slotno % NSLOTS;
  fop_t *s = &r->slot[i];
  if (concurrent && s->active) return;
  int file = r->fd_file[fd];
  bool closing = r->closing[fd] != 0;
  /* A number the model does not own is never closed. */
  if (file < 0 && !closing && fcntl(fd, F_GETFD) != -1) return;
  int want = 0;
  bool either = false;
  const char *rule = "rc";
  if (s->active) {
    want = EVQ_EBUSY;
  } else if (r->regs[fd].live) {
    want = EVQ_EEXIST; /* evq_deregister_close is its way */
  } else if (closing && !(file >= 0 && r->iorec[fd])) {
    want = EVQ_EBADF; /* a close of fd is under way */
    if (file >= 0) either = true;
    else rule = "closing-ebadf";
  }
  uintptr_t token = fz_new_token(r, 3, i);
  int rc = evq_op_close(r->q, &r->op[i], fd, token);
  char call[64];
  snprintf(call, sizeof call, "evq_op_close(fd %d, slot %d)", fd, i);
  fz_trace(r, "  %s -> %s (token %lu)", call, evq_errname(rc),
           (unsigned long)token);
  expect_answer(r, call, rc, want, either, rule);
  if (rc != 0) {
    fz_kill_token(r, token, "never submitted (the call refused it)");
    return;
  }
  if (s->active)
    fz_violation(r, "%s accepted an evq_op_t whose final completion has not "
                    "come", call);
  int rec = r->iorec[fd];
  *s = (fop_t){.active = true, .kind = OPK_CLOSE, .fd = fd, .file = file,
               .rec = rec, .send = -1, .token = token,
               .sub_seq = fz_tick(r)};
  /* Every operation of the record ends, cancelled unless it had finished. */
  for (int j = 0; j < NSLOTS; j++)
    if (j != i && rec && r->slot[j].active && r->slot[j].rec == rec)
      ask(r, &r->slot[j]);
  if (rec) record_ends(r, fd);
  r->closing[fd] = i + 1;
  if (file >= 0) {
    fz_fd_unbind(r, fd);
    if (r->files[file].refs == 0) fz_settle_tcp(r, file, true);
  }
  if (!concurrent && !evq_op_active(&r->op[i]))
    fz_breach(r, "op-active", "%s returned 0, yet evq_op_active is 0", call);
}

void fz_io_put(run_t *r, int pi, int which, bool concurrent) {
  fpool_t *p = &r->pools[pi % NPOOLS];
  if (!p->p) return;
  int k = which % (int)(p->nlent + 1);
  if (k < (int)p->nlent) {
    uint32_t id = 0;
    for (int seen = -1; id < p->count; id++)
      if (p->lent[id] && ++seen == k) break;
    int rc = evq_pool_put(p->p, id);
    fz_trace(r, "  evq_pool_put(pool %d, %u) -> %s", pi % NPOOLS, id,
             evq_errname(rc));
    fz_expect(r, "evq_pool_put of a lent buffer", rc, 0);
    if (rc == 0) {
      p->lent[id] = false;
      p->nlent--;
    }
    return;
  }
  /* One not lent: refused. Not from another thread: the waiter may hold a
   * batch that lends it, which the model has not seen. */
  if (concurrent) return;
  uint32_t id = 0;
  while (id < p->count && p->lent[id]) id++;
  if (which & 0x80) id = p->count + (uint32_t)(which & 3); /* out of range */
  int rc = evq_pool_put(p->p, id);
  fz_trace(r, "  evq_pool_put(pool %d, %u, not lent) -> %s", pi % NPOOLS, id,
           evq_errname(rc));
  fz_expect(r, "evq_pool_put of a buffer not lent", rc, EVQ_EINVAL);
}

void fz_io_release(run_t *r, int h, bool concurrent) {
  int fd = r->hfd[h % MAX_H];
  if (fd < 0 || fd >= MAX_FD || r->closing[fd]) return;
  int rec = r->iorec[fd];
  int rc = evq_io_release(r->q, fd);
  fz_trace(r, "  evq_io_release(fd %d) -> %s", fd, evq_errname(rc));
  if (!rec) {
    fz_expect(r, "evq_io_release of a number without operations", rc,
              EVQ_ENOENT);
    return;
  }
  if (rec_active(r, rec)) {
    /* "EVQ_EBUSY (an operation on fd is active)": active is evq_op_active,
     * 1 until the final completion is returned. */
    if (concurrent)
      fz_expect_one_of(r, "evq_io_release (another thread)", rc, 0,
                       EVQ_EBUSY, 0);
    else if (rc != EVQ_EBUSY)
      fz_breach(r, "release-busy",
                "evq_io_release(fd %d) returned %s while an operation of it "
                "is active (its final completion not yet returned)",
                fd, evq_errname(rc));
  } else {
    fz_expect(r, "evq_io_release with no operation active", rc, 0);
  }
  if (rc == 0) record_ends(r, fd);
}

/* ---- the peer's bytes ----------------------------------------------------- */

/* Sends no to m - 1 of file p went with no byte: the peer's stream goes on
 * with send m where they would have begun. */
static void skipped(run_t *r, int p, int no, int m) {
  fsend_t *sd = find_send(r, p, no);
  if (!sd) return;
  sd->skipped = true;
  if (sd->state == SEND_OK)
    fz_breach(r, "send-data", "send #%d of file %d completed with its whole "
                              "length (%zu), yet the peer's stream goes on "
                              "with send #%d's first byte where it would begin",
              no, p, sd->len, m);
  if (sd->must_cut)
    fz_breach(r, "send-data", "send #%d of file %d must have cut the stream (a "
                              "later send ended EVQ_ECANCELED with no cancel of "
                              "its own), yet none of its bytes went",
              no, p);
}

/* The first byte of a send reached the peer. */
static void first_byte(run_t *r, const file_t *pf, int p, const fsend_t *sd) {
  if (sd->state == SEND_CANCELLED && !sd->asked)
    fz_breach(r, "send-data", "send #%d of file %d ended EVQ_ECANCELED behind "
                              "a broken stream, yet its bytes reached the peer",
              sd->no, p);
  if (pf->stream == STREAM_CUT && pf->cut_no < sd->no)
    fz_breach(r, "send-data", "bytes of send #%d of file %d reached the peer "
                              "after send #%d cut the stream",
              sd->no, p, pf->cut_no);
}

void fz_io_check_sends(run_t *r, int f, const uint8_t *buf, size_t n) {
  file_t *rf = &r->files[f];
  int p = rf->peer;
  file_t *pf = &r->files[p];
  if (pf->stream_lost) return;
  for (size_t k = 0; k < n; k++) {
    if (rf->rd_off == 0) {
      int m = -1;
      for (int no = rf->rd_no; no < pf->nsends && no < rf->rd_no + 256; no++)
        if (spattern(p, no, 0) == buf[k]) {
          m = no;
          break;
        }
      if (m < 0) {
        fz_breach(r, "data", "byte %zu (0x%02x) of a read from file %d begins "
                             "none of its peer's sends from #%d on (%d sent)",
                  k, buf[k], f, rf->rd_no, pf->nsends);
        return;
      }
      for (int no = rf->rd_no; no < m; no++) skipped(r, p, no, m);
      rf->rd_no = m;
    }
    fsend_t *sd = find_send(r, p, rf->rd_no);
    uint8_t want = spattern(p, rf->rd_no, rf->rd_off);
    if (!sd || buf[k] != want) {
      fz_breach(r, "data", "byte %zu of a read from file %d is 0x%02x, but "
                           "byte %zu of its peer's send #%d is 0x%02x",
                k, f, buf[k], rf->rd_off, rf->rd_no, want);
      return;
    }
    if (rf->rd_off == 0) first_byte(r, pf, p, sd);
    sd->seen++;
    if (++rf->rd_off == sd->len) {
      rf->rd_no++;
      rf->rd_off = 0;
    }
  }
}

/* ---- completions ---------------------------------------------------------- */

static const char *op_str(const run_t *r, int i) {
  static char s[4][96];
  static int next;
  char *b = s[next++ % 4];
  const fop_t *o = &r->slot[i];
  snprintf(b, sizeof s[0], "%s on fd %d (slot %d, token %lu)",
           kind_names[o->kind], o->fd, i, (unsigned long)o->token);
  return b;
}

/* Receives on a record complete in submission order, sends too. */
static void check_order(run_t *r, int i) {
  const fop_t *s = &r->slot[i];
  bool rd = s->kind == OPK_RECV || s->kind == OPK_POOL;
  for (int j = 0; j < NSLOTS; j++) {
    const fop_t *o = &r->slot[j];
    if (j == i || !o->active || !s->rec || o->rec != s->rec ||
        o->sub_seq > s->sub_seq)
      continue;
    bool same = rd ? o->kind == OPK_RECV || o->kind == OPK_POOL
                   : o->kind == OPK_SEND;
    /* A cancelled one ending ahead of those before it is a finding of its
     * own (the emulation ends a queued op at its cancel). */
    if (same)
      fz_breach(r, s->asked ? "op-order-cancelled" : "op-order",
                "a completion of %s (%s) came before the final "
                               "one of %s (%s), submitted before it on the "
                               "same socket",
                op_str(r, i), s->asked ? "cancelled" : "not cancelled",
                op_str(r, j), o->asked ? "cancelled" : "not cancelled");
  }
}

static void send_done(run_t *r, const fop_t *s, int32_t res) {
  fsend_t *sd = &r->sends[s->send];
  int f = sd->file;
  file_t *pf = f >= 0 ? &r->files[f] : NULL;
  bool track = pf && !pf->stream_lost;
  fsend_t *cand = track && pf->cut_no >= 0 ? find_send(r, f, pf->cut_no) : NULL;
  if (res > 0) {
    sd->state = SEND_OK;
    if ((size_t)res != sd->len)
      fz_breach(r, "send-short", "a send of %zu bytes completed with %d",
                sd->len, res);
    if (f < 0)
      fz_breach(r, "op-result", "a send on a closed number completed with %d",
                res);
    if (!track) return;
    if (sd->skipped)
      fz_breach(r, "send-data", "send #%d of file %d completed with its whole "
                                "length, but the peer's stream had gone on "
                                "with a later send where it would begin",
                sd->no, f);
    if (pf->stream == STREAM_CUT)
      fz_breach(r, "send-cut", "send #%d of file %d completed after send #%d "
                               "cut the stream: every later send must end "
                               "EVQ_ECANCELED",
                sd->no, f, pf->cut_no);
    if (pf->stream == STREAM_MAYBE_CUT) {
      /* The cancelled one before it ended alone: none of it went. */
      if (cand && cand->seen > 0)
        fz_breach(r, "send-cut", "send #%d of file %d was cancelled after %zu "
                                 "of its bytes went, yet the later send #%d "
                                 "completed",
                  cand->no, f, cand->seen, sd->no);
      pf->stream = STREAM_WHOLE;
      pf->cut_no = -1;
    }
  } else if (res == EVQ_ECANCELED) {
    sd->state = SEND_CANCELLED;
    if (!track) return;
    if (sd->seen == sd->len)
      fz_breach(r, "send-cut", "every byte of send #%d of file %d reached the "
                               "peer, yet it ended EVQ_ECANCELED",
                sd->no, f);
    if (sd->asked) {
      if (pf->stream == STREAM_CUT) return;
      if (sd->seen > 0) {
        pf->stream = STREAM_CUT;
        pf->cut_no = sd->no;
      } else if (!sd->skipped && pf->stream == STREAM_WHOLE) {
        pf->stream = STREAM_MAYBE_CUT; /* the bytes will tell */
        pf->cut_no = sd->no;
      }
      return;
    }
    /* Not cancelled, not closed: only a broken stream ends it so. */
    if (sd->seen > 0)
      fz_breach(r, "send-cut", "send #%d of file %d ended EVQ_ECANCELED with "
                               "no cancel of its own, yet %zu of its bytes went",
                sd->no, f, sd->seen);
    if (pf->stream == STREAM_WHOLE && r->rec_born_closed[s->rec]) {
      /* The record was made by an operation on the number while it named
       * no file (its I/O failed: EVQ_EBADF), and outlived it. */
      fz_breach(r, "stale-record", "send #%d of file %d (fd %d) ended "
                                   "EVQ_ECANCELED with no cancel, no close "
                                   "and no failed send on this socket: the "
                                   "number's record was made while it was "
                                   "closed, by an operation whose result was "
                                   "an error, and still holds it",
                sd->no, f, s->fd);
      pf->stream = STREAM_CUT;
    } else if (pf->stream == STREAM_WHOLE) {
      fz_breach(r, "send-cut", "send #%d of file %d ended EVQ_ECANCELED with no "
                               "cancel, no close, and no failed or cut send "
                               "before it",
                sd->no, f);
    } else if (pf->stream == STREAM_MAYBE_CUT && cand) {
      cand->must_cut = true;
      if (cand->skipped)
        fz_breach(r, "send-cut", "send #%d of file %d ended EVQ_ECANCELED "
                                 "behind cancelled send #%d, which ended alone "
                                 "(the peer's stream went on past it)",
                  sd->no, f, cand->no);
      pf->stream = STREAM_CUT;
    }
  } else if (res < 0) {
    sd->state = SEND_FAILED;
    if (!hurt(r, f))
      fz_breach(r, "op-result", "send #%d of file %d failed with %s, but "
                                "neither end was shut down or closed",
                sd->no, f, evq_errname(res));
    if (!track) return;
    if (pf->stream == STREAM_CUT)
      fz_breach(r, "send-cut", "send #%d of file %d ended %s after send #%d "
                               "cut the stream: every later send must end "
                               "EVQ_ECANCELED",
                sd->no, f, evq_errname(res), pf->cut_no);
    else if (pf->stream == STREAM_MAYBE_CUT && cand && cand->seen > 0)
      fz_breach(r, "send-cut", "send #%d of file %d ended %s, but the "
                               "cancelled send #%d before it had cut the "
                               "stream",
                sd->no, f, evq_errname(res), cand->no);
    pf->stream = STREAM_CUT;
    pf->cut_no = sd->no;
  } else {
    fz_breach(r, "send-short", "a send of %zu bytes completed with 0", sd->len);
  }
}

/* A receive's end that carries no bytes: end of stream, cancelled, or an
 * error, each only when it may be. */
static void recv_end(run_t *r, const fop_t *s, int i, int32_t res) {
  if (res == 0 ? !hurt(r, s->file)
               : res == EVQ_ECANCELED ? !s->asked
                                      : !hurt(r, s->file) || res == EVQ_ENOBUFS)
    fz_breach(r, "op-result", "%s ended with %s%s", op_str(r, i),
              res == 0 ? "0 (end of stream)" : evq_errname(res),
              res == EVQ_ECANCELED ? ", but it was neither cancelled nor closed"
                                   : ", but neither end was shut down or closed");
}

static void pool_enobufs(run_t *r, const fop_t *s, int i) {
  fpool_t *p = &r->pools[s->pool];
  if (p->exhausted_seq >= s->sub_seq) return;
  bool shared = false;
  for (int j = 0; j < NSLOTS; j++)
    shared |= j != i && r->slot[j].active && r->slot[j].kind == OPK_POOL &&
              r->slot[j].pool == s->pool;
  if (shared) {
    /* Another receive's completions, not yet returned, may hold the rest. */
    int need = (int)(p->count - p->nlent);
    if (need > p->owed) p->owed = need;
    return;
  }
  fz_breach(r, "enobufs", "%s ended EVQ_ENOBUFS, but since its submission pool "
                          "%d never had all its %u buffers lent (%u now)",
            op_str(r, i), s->pool, p->count, p->nlent);
}

void fz_io_event(run_t *r, const evq_event_t *e, tok_t *t) {
  int i = t->idx;
  fop_t *s = &r->slot[i];
  int32_t res = evq_op_result(e);
  fz_trace(r, "    completion token %lu flags 0x%x result %d (%s)",
           (unsigned long)e->token, e->flags, res,
           res < 0 ? evq_errname(res) : "");
  if (t->dead_seq || !s->active || s->token != e->token) {
    fz_breach(r, "op-after-final", "a completion (flags 0x%x, result %d) for "
                                   "token %lu, whose operation was %s",
              e->flags, res, (unsigned long)e->token,
              t->why ? t->why : "not active");
    return;
  }
  bool more = e->flags & EVQ_OP_MORE, buffer = e->flags & EVQ_OP_BUFFER;
  if (!(e->flags & EVQ_OP) ||
      (e->flags & ~(uint32_t)(EVQ_OP | EVQ_OP_MORE | EVQ_OP_BUFFER |
                              0xffff0000u)) ||
      (!buffer && (e->flags >> EVQ_OP_BUFFER_SHIFT)))
    fz_breach(r, "op-flags", "a completion of %s with flags 0x%x",
              op_str(r, i), e->flags);
  if (s->kind == OPK_POOL ? more != buffer : more || buffer)
    fz_breach(r, "op-flags", "a completion of %s with%s EVQ_OP_MORE and "
                             "with%s EVQ_OP_BUFFER",
              op_str(r, i), more ? "" : "out", buffer ? "" : "out");
  s->completions++;
  if (s->kind != OPK_CLOSE) check_order(r, i);
  switch (s->kind) {
  case OPK_RECV:
    if (res > 0) {
      if ((size_t)res > s->len || s->file < 0)
        fz_breach(r, "op-result", "%s of %zu bytes completed with %d",
                  op_str(r, i), s->len, res);
      else {
        fz_check_pattern(r, s->file, rbuf[i], (size_t)res);
        r->files[s->file].rx += (uint64_t)res;
        fz_bump(r, s->file);
      }
    } else {
      recv_end(r, s, i, res);
    }
    break;
  case OPK_POOL: {
    fpool_t *p = &r->pools[s->pool];
    if (more) {
      uint32_t id = evq_op_buffer(e);
      if (id >= p->count || p->lent[id]) {
        fz_breach(r, "pool-lend", "%s lent buffer %u of pool %d, %s",
                  op_str(r, i), id, s->pool,
                  id >= p->count ? "which it does not have"
                                 : "which the caller holds (not put back)");
        break;
      }
      p->lent[id] = true;
      if (++p->nlent == p->count) p->exhausted_seq = fz_tick(r);
      if (p->owed > 0) p->owed--;
      if (res < 1 || (uint32_t)res > p->size || s->file < 0) {
        fz_breach(r, "op-result", "%s lent a buffer of %u bytes holding %d",
                  op_str(r, i), p->size, res);
        break;
      }
      fz_check_pattern(r, s->file, evq_pool_buf(p->p, id), (size_t)res);
      r->files[s->file].rx += (uint64_t)res;
      fz_bump(r, s->file);
    } else if (res > 0) {
      fz_breach(r, "op-result", "%s ended with %d and no buffer",
                op_str(r, i), res);
    } else if (res == EVQ_ENOBUFS) {
      pool_enobufs(r, s, i);
    } else {
      recv_end(r, s, i, res);
    }
    break;
  }
  case OPK_SEND:
    send_done(r, s, res);
    break;
  case OPK_CLOSE:
    if (res != 0 && res != EVQ_EIO && !(res == EVQ_EBADF && s->file < 0) &&
        !(res == EVQ_ECANCELED && s->asked))
      fz_breach(r, "op-result", "%s ended with %s", op_str(r, i),
                evq_errname(res));
    /* After every other operation of its socket. */
    for (int j = 0; j < NSLOTS; j++)
      if (j != i && s->rec && r->slot[j].active && r->slot[j].rec == s->rec)
        fz_breach(r, "op-order", "%s completed before %s ended",
                  op_str(r, i), op_str(r, j));
    break;
  }
  if (more) return;
  /* The final one: the op is the caller's again, and nothing may follow. */
  s->active = false;
  fz_kill_token(r, s->token, "ended by an earlier final completion");
  /* A record whose operation found its number closed (EVQ_EBADF) ends
   * with the last of its operations: the number's next socket, if the
   * system gives it one, starts with a record of its own. */
  if (res == EVQ_EBADF && s->kind != OPK_CLOSE) r->rec_badf[s->rec] = true;
  if (s->rec && r->rec_badf[s->rec] && r->iorec[s->fd] == s->rec &&
      !r->closing[s->fd] && !rec_active(r, s->rec))
    record_ends(r, s->fd);
  if (s->kind == OPK_CLOSE && r->closing[s->fd] == i + 1) r->closing[s->fd] = 0;
  if (evq_op_active(&r->op[i]))
    fz_breach(r, "op-active", "evq_op_active is 1 for %s after its final "
                              "completion was returned",
              op_str(r, i));
}

/* ---- around each wait ---------------------------------------------------- */

void fz_io_before_wait(run_t *r, bool single) {
  memset(r->io_busy, 0, sizeof r->io_busy);
  for (int i = 0; i < NSLOTS; i++) {
    const fop_t *s = &r->slot[i];
    if (single && (evq_op_active(&r->op[i]) != 0) != s->active)
      fz_breach(r, "op-active", "before a wait, evq_op_active is %d for slot %d, "
                                "whose operation %s",
                evq_op_active(&r->op[i]), i,
                s->active ? "has had no final completion" : "ended");
    if (!s->active || s->file < 0) continue;
    r->io_busy[s->file] = true;
    if (r->files[s->file].peer >= 0) r->io_busy[r->files[s->file].peer] = true;
  }
  /* Their I/O is I/O: an edge registration of the file may report again. */
  for (int f = 0; f < r->nfiles; f++)
    if (r->io_busy[f]) r->files[f].activity++, r->files[f].io_wait = r->waits;
}

void fz_io_after_wait(run_t *r) {
  for (int i = 0; i < NSLOTS; i++)
    if ((evq_op_active(&r->op[i]) != 0) != r->slot[i].active)
      fz_breach(r, "op-active", "after a wait, evq_op_active is %d for slot %d, "
                                "whose operation %s",
                evq_op_active(&r->op[i]), i,
                r->slot[i].active ? "has had no final completion" : "ended");
  for (int f = 0; f < r->nfiles; f++)
    if (r->io_busy[f]) r->files[f].activity++, r->files[f].io_wait = r->waits;
  for (int k = 0; k < NPOOLS; k++) {
    fpool_t *p = &r->pools[k];
    if (p->owed <= 0) continue;
    bool others = false;
    for (int j = 0; j < NSLOTS; j++)
      others |= r->slot[j].active && r->slot[j].kind == OPK_POOL &&
                r->slot[j].pool == k;
    if (!others)
      fz_breach(r, "enobufs", "a pool receive ended EVQ_ENOBUFS while pool %d "
                              "had %d buffers the other receives never lent",
                k, p->owed);
    if (!others) p->owed = 0;
  }
}

/* ---- the end of a run ---------------------------------------------------- */

bool fz_io_empty_pool_waiting(const run_t *r) {
  for (int i = 0; i < NSLOTS; i++) {
    const fop_t *s = &r->slot[i];
    if (s->active && s->kind == OPK_POOL &&
        r->pools[s->pool].nlent == r->pools[s->pool].count)
      return true;
  }
  return false;
}

bool fz_io_any_active(const run_t *r) {
  for (int i = 0; i < NSLOTS; i++)
    if (r->slot[i].active) return true;
  return false;
}

/* An op whose cancel failed (a rule let go: EVQ_FUZZ_IGNORE, or an open
 * finding), or one queued behind it, which waits for it to keep the
 * socket's order: no final completion is owed. */
static bool excused(const run_t *r, int i) {
  for (int j = 0; j < NSLOTS; j++)
    if (r->slot[j].active && r->slot[j].uncancellable &&
        r->slot[j].rec == r->slot[i].rec)
      return true;
  return false;
}

static bool owed_final(const run_t *r) {
  for (int i = 0; i < NSLOTS; i++)
    if (r->slot[i].active && !excused(r, i)) return true;
  return false;
}

void fz_io_wind_down(run_t *r) {
  if (r->free_in_flight) return;
  int64_t budget = r->sleep_left;
  r->sleep_left = 10000 * MS;
  /* A receive whose socket holds data completes without a cancel: a
   * buffer, its end, or EVQ_ENOBUFS (never a silent stall). */
  uint64_t before[NSLOTS];
  bool watch[NSLOTS];
  int avail[NSLOTS];
  bool waiting = false;
  for (int i = 0; i < NSLOTS; i++) {
    const fop_t *s = &r->slot[i];
    avail[i] = 0;
    watch[i] = s->active && !s->asked && s->file >= 0 &&
               (s->kind == OPK_RECV || s->kind == OPK_POOL) &&
               r->fd_file[s->fd] == s->file &&
               ioctl(s->fd, FIONREAD, &avail[i]) == 0 && avail[i] > 0;
    /* Only the first receive of its socket: the data may be all its. */
    for (int j = 0; j < NSLOTS && watch[i]; j++)
      if (r->slot[j].active && r->slot[j].rec == s->rec &&
          r->slot[j].sub_seq < s->sub_seq &&
          (r->slot[j].kind == OPK_RECV || r->slot[j].kind == OPK_POOL))
        watch[i] = false;
    before[i] = s->completions;
    waiting |= watch[i];
  }
  for (int round = 0; waiting && round < 50; round++) {
    fz_wait(r, 10 * MS, EV_CAP, true);
    waiting = false;
    for (int i = 0; i < NSLOTS; i++)
      waiting |= watch[i] && r->slot[i].completions == before[i];
  }
  for (int i = 0; i < NSLOTS; i++)
    if (watch[i] && r->slot[i].completions == before[i])
      fz_breach(r, r->rec_born_closed[r->slot[i].rec] ? "stale-record"
                                                      : "op-stall",
                "%s, with %d bytes waiting in its socket, got no completion "
                "in 50 waits of 10 ms%s",
                op_str(r, i), avail[i],
                r->rec_born_closed[r->slot[i].rec]
                    ? " (its record was made by an operation on the number "
                      "while it was closed)"
                    : "");
  /* Every operation ends once: cancelled, then its final completion. */
  for (int i = 0; i < NSLOTS; i++)
    if (r->slot[i].active && r->slot[i].kind != OPK_CLOSE)
      fz_io_cancel(r, i, false);
  for (int round = 0; owed_final(r) && round < 200; round++)
    fz_wait(r, 10 * MS, EV_CAP, true);
  bool left = false;
  for (int i = 0; i < NSLOTS; i++) {
    if (!r->slot[i].active) continue;
    left = true;
    if (!excused(r, i))
      fz_breach(r, "op-lost", "%s never got its final completion (%llu "
                              "completions, cancelled 2 s before)",
                op_str(r, i), (unsigned long long)r->slot[i].completions);
  }
  if (left) { /* after a rule let go (EVQ_FUZZ_IGNORE): evq_free ends them */
    r->free_in_flight = true;
    r->sleep_left = budget;
    return;
  }
  /* The records go; so do the pools, once every buffer is back. */
  for (int fd = 0; fd <= r->max_fd && fd < MAX_FD; fd++)
    if (r->iorec[fd] && !r->closing[fd]) {
      fz_expect(r, "evq_io_release at the end", evq_io_release(r->q, fd), 0);
      record_ends(r, fd);
    }
  for (int k = 0; k < NPOOLS; k++) {
    fpool_t *p = &r->pools[k];
    if (!p->p) continue;
    if (p->nlent)
      fz_expect(r, "evq_pool_free with buffers lent", evq_pool_free(p->p),
                EVQ_EBUSY);
    for (uint32_t id = 0; id < p->count; id++)
      if (p->lent[id]) {
        fz_expect(r, "evq_pool_put of a lent buffer", evq_pool_put(p->p, id),
                  0);
        p->lent[id] = false;
      }
    p->nlent = 0;
    fz_expect(r, "evq_pool_put of a buffer given back",
              evq_pool_put(p->p, 0), EVQ_EINVAL);
    fz_expect(r, "evq_pool_free", evq_pool_free(p->p), 0);
    p->p = NULL;
  }
  r->sleep_left = budget;
}

/* After evq_free: every op the caller's, no completion delivered; with
 * operations in flight, the caller's sockets left open. */
void fz_io_after_free(run_t *r) {
  for (int i = 0; i < NSLOTS; i++)
    if (evq_op_active(&r->op[i]))
      fz_breach(r, "op-free", "evq_op_active is 1 for %s after evq_free",
                op_str(r, i));
  for (int fd = 0; fd <= r->max_fd && fd < MAX_FD; fd++)
    if (r->iorec[fd] && r->fd_file[fd] >= 0 && fcntl(fd, F_GETFD) == -1)
      fz_breach(r, "op-free", "evq_free closed fd %d, a socket of the "
                              "caller's with operations",
                fd);
}

void fz_print_io_op(FILE *f, int op, const op_t *o) {
  switch (op) {
  case FZ_OP_RECV:
    fprintf(f, " h%d %zu bytes slot %d", o->a % MAX_H,
            recv_sizes[o->b % COUNT(recv_sizes)], o->c % NSLOTS);
    break;
  case FZ_OP_SEND:
    fprintf(f, " h%d %zu bytes slot %d%s", o->a % MAX_H,
            send_sizes[o->b % COUNT(send_sizes)], o->c % NSLOTS,
            (o->c / NSLOTS) % 2 ? " (sendv)" : "");
    break;
  case FZ_OP_RECV_POOL:
    fprintf(f, " h%d pool %d slot %d", o->a % MAX_H, o->b % NPOOLS,
            o->c % NSLOTS);
    break;
  case FZ_OP_CANCEL:
    fprintf(f, " slot %d", o->a % NSLOTS);
    break;
  case FZ_OP_CLOSE:
    fprintf(f, " h%d slot %d", o->a % MAX_H, o->c % NSLOTS);
    break;
  case FZ_POOL_PUT:
    fprintf(f, " pool %d which %d%s", o->b % NPOOLS, o->a,
            o->a & 0x80 ? " (or out of range)" : "");
    break;
  case FZ_IO_RELEASE:
    fprintf(f, " h%d", o->a % MAX_H);
    break;
  }
}
