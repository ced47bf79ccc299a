/* Runs one conformance case: `conformance <case> [backend]`. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#else
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#endif

enum { MAX_CASES = 1024 };

static struct {
  const char *name;
  void (*fn)(void);
  int per_backend;
} cases[MAX_CASES];
static int ncases;

void tq_register(const char *name, void (*fn)(void), int per_backend) {
  if (ncases == MAX_CASES) {
    fprintf(stderr, "harness: more than %d cases\n", MAX_CASES);
    abort();
  }
  cases[ncases].name = name;
  cases[ncases].fn = fn;
  cases[ncases].per_backend = per_backend;
  ncases++;
}

/* `conformance --check FILE`: FILE lists "test NAME" / "unit NAME" lines,
 * the cases the build registered with ctest. Every case compiled in must
 * be there and every line must be a case compiled in. */
static int check_list(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "harness: cannot open %s\n", path);
    return 1;
  }
  static char listed[MAX_CASES];
  char kind[8], name[128];
  int bad = 0, lines = 0;
  while (fscanf(f, "%7s %127s", kind, name) == 2) {
    lines++;
    int found = -1;
    for (int i = 0; i < ncases; i++)
      if (strcmp(cases[i].name, name) == 0 &&
          cases[i].per_backend == (strcmp(kind, "test") == 0))
        found = i;
    if (found < 0) {
      fprintf(stderr, "harness: ctest runs %s %s, which is not compiled in\n",
              kind, name);
      bad = 1;
    } else {
      listed[found] = 1;
    }
  }
  fclose(f);
  for (int i = 0; i < ncases; i++)
    if (!listed[i]) {
      fprintf(stderr,
              "harness: case %s is compiled in but ctest never runs it "
              "(write it as TEST(name) or UNIT(name) at the start of a "
              "line, name in [a-z0-9_])\n",
              cases[i].name);
      bad = 1;
    }
  if (!bad) printf("harness: %d cases, all registered with ctest\n", lines);
  return bad;
}

const char *tq_backend;

void tq_fail(const char *file, int line, const char *what, int kind,
             long long a, long long b) {
  fprintf(stderr, "%s:%d: [%s] check failed: %s", file, line,
          tq_backend ? tq_backend : "-", what);
  if (kind == 1) fprintf(stderr, " (%lld vs %lld)", a, b);
  if (kind == 2) fprintf(stderr, " returned %lld: %s", a, evq_strerror((int)a));
  fputc('\n', stderr);
  fflush(stderr);
  abort();
}

/* TQ_ONE_WAITER=1: the suite's queues promise one waiting thread
 * (EVQ_OPT_ONE_WAITER; the *.one_waiter runs of tests/CMakeLists.txt). */
uint32_t tq_flags(void) {
  const char *v = getenv("TQ_ONE_WAITER");
  return v && *v == '1' ? EVQ_OPT_ONE_WAITER : 0;
}

evq_t *tq_queue(void) {
  evq_options_t o = {.backend = tq_backend, .wake_token = WAKE_TOKEN,
                     .flags = tq_flags()};
  evq_t *q = NULL;
  CHECK_OK(evq_create(&q, &o));
  CHECK(q != NULL);
  if (tq_backend) CHECK(strcmp(evq_backend(q), tq_backend) == 0);
  return q;
}

void tq_pair(evq_fd_t fds[2]) { CHECK_OK(evq_socketpair(fds)); }

void tq_send(evq_fd_t fd, size_t n) {
  char buf[4096];
  memset(buf, 'x', sizeof buf);
  while (n > 0) {
    ptrdiff_t w = evq_write(NULL, fd, buf, n < sizeof buf ? n : sizeof buf);
    if (w == EVQ_EAGAIN) {
      tq_sleep_ms(1);
      continue;
    }
    CHECK_OK(w);
    n -= (size_t)w;
  }
}

size_t tq_drain(evq_t *q, evq_fd_t fd) {
  char buf[65536];
  size_t total = 0;
  for (;;) {
    ptrdiff_t r = evq_read(q, fd, buf, sizeof buf);
    if (r == EVQ_EAGAIN || r == 0) return total;
    CHECK_OK(r);
    total += (size_t)r;
  }
}

int tq_wait(evq_t *q, evq_event_t *ev, int cap, int64_t timeout_ns) {
  int n = evq_wait(q, ev, cap, timeout_ns);
  CHECK_OK(n);
  CHECK(n <= cap);
  return n;
}

void tq_check_sleeps(evq_t *q) {
  evq_event_t ev[8];
  uint64_t before = evq__wait_rounds(q);
  CHECK_EQ(tq_wait(q, ev, 8, 200 * MS), 0);
  uint64_t rounds = evq__wait_rounds(q) - before;
  if (rounds > TQ_SPIN_ROUNDS)
    fprintf(stderr, "an empty wait of 200 ms went round %llu times: it spins\n",
            (unsigned long long)rounds);
  CHECK(rounds <= TQ_SPIN_ROUNDS);
}

evq_event_t tq_wait_one(evq_t *q, uintptr_t token) {
  evq_event_t ev[4];
  CHECK_EQ(tq_wait(q, ev, 4, 5000 * MS), 1);
  CHECK_EQ(ev[0].token, token);
  return ev[0];
}

int tq_find(const evq_event_t *ev, int n, uintptr_t token) {
  for (int i = 0; i < n; i++)
    if (ev[i].token == token) return i;
  return -1;
}

int tq_count_events(evq_t *q, uintptr_t token, int64_t timeout_ns,
                    uint32_t *flags_seen) {
  evq_event_t ev[64];
  int count = 0;
  int64_t end = evq_now() + timeout_ns, left = timeout_ns;
  /* At least one wait, even when this thread was preempted past the end
   * before making one: what is ready already is always collected. */
  do {
    int n = tq_wait(q, ev, 64, left > 0 ? left : 0);
    for (int i = 0; i < n; i++)
      if (ev[i].token == token) {
        count++;
        if (flags_seen) *flags_seen |= ev[i].flags;
      }
  } while ((left = end - evq_now()) > 0);
  return count;
}

#ifdef _WIN32
BOOL evq__console_event(DWORD type); /* src/win/signal.c, for tests */

void tq_raise(int signo) {
  (void)evq__console_event(signo == SIGINT ? CTRL_C_EVENT : CTRL_BREAK_EVENT);
}

int tq_wine(void) { /* wine's ntdll says its version; Windows' has none */
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}
void tq_sleep_ms(int ms) { Sleep((DWORD)ms); }
int tq_setenv(const char *name, const char *value) {
  return _putenv_s(name, value);
}
int tq_shutdown_write(evq_fd_t fd) { return shutdown(fd, SD_SEND); }
int tq_shutdown_read(evq_fd_t fd) { return shutdown(fd, SD_RECEIVE); }

struct tq_thread {
  HANDLE h;
  void (*fn)(void *);
  void *arg;
};
static DWORD WINAPI thread_main(LPVOID p) {
  tq_thread_t *t = p;
  t->fn(t->arg);
  return 0;
}
tq_thread_t *tq_thread_start(void (*fn)(void *), void *arg) {
  tq_thread_t *t = malloc(sizeof *t);
  CHECK(t != NULL);
  t->fn = fn;
  t->arg = arg;
  t->h = CreateThread(NULL, 0, thread_main, t, 0, NULL);
  CHECK(t->h != NULL);
  return t;
}
void tq_thread_join(tq_thread_t *t) {
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
  free(t);
}

/* The handles of the children made here, by process id: a process id
 * stays the child's only while a handle to it is open. */
static struct {
  DWORD pid;
  HANDLE h;
} children[32];

/* The entry of pid; pid 0 finds a free one. */
static int child_entry(DWORD pid) {
  for (int i = 0; i < (int)(sizeof children / sizeof children[0]); i++)
    if (children[i].pid == pid) return i;
  CHECK(!"no such child of tq_child_spawn (or more than 32)");
  return -1;
}

evq_pid_t tq_child_spawn(int code, int delay_ms) {
  char exe[MAX_PATH], cmd[MAX_PATH + 48];
  CHECK(GetModuleFileNameA(NULL, exe, sizeof exe) > 0);
  snprintf(cmd, sizeof cmd, "\"%s\" --exit %d %d", exe, code, delay_ms);
  STARTUPINFOA si = {.cb = sizeof si};
  PROCESS_INFORMATION pi;
  CHECK(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
  CloseHandle(pi.hThread);
  int i = child_entry(0);
  children[i].pid = pi.dwProcessId;
  children[i].h = pi.hProcess;
  return pi.dwProcessId;
}
void tq_child_kill(evq_pid_t pid) {
  CHECK(TerminateProcess(children[child_entry(pid)].h, TQ_CHILD_KILLED));
}
void tq_child_wait_ended(evq_pid_t pid) {
  HANDLE h = children[child_entry(pid)].h;
  CHECK_EQ(WaitForSingleObject(h, INFINITE), WAIT_OBJECT_0);
}
int tq_child_reap(evq_pid_t pid) {
  int i = child_entry(pid);
  DWORD code;
  CHECK_EQ(WaitForSingleObject(children[i].h, INFINITE), WAIT_OBJECT_0);
  CHECK(GetExitCodeProcess(children[i].h, &code));
  CloseHandle(children[i].h);
  children[i].pid = 0;
  return (int)code;
}
#else
int tq_wine(void) { return 0; }
void tq_raise(int signo) { CHECK(kill(getpid(), signo) == 0); }
int tq_setenv(const char *name, const char *value) {
  return setenv(name, value, 1);
}
int tq_shutdown_write(evq_fd_t fd) { return shutdown(fd, SHUT_WR); }
int tq_shutdown_read(evq_fd_t fd) { return shutdown(fd, SHUT_RD); }
void tq_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

struct tq_thread {
  pthread_t id;
  void (*fn)(void *);
  void *arg;
};
static void *thread_main(void *p) {
  tq_thread_t *t = p;
  t->fn(t->arg);
  return NULL;
}
tq_thread_t *tq_thread_start(void (*fn)(void *), void *arg) {
  tq_thread_t *t = malloc(sizeof *t);
  CHECK(t != NULL);
  t->fn = fn;
  t->arg = arg;
  CHECK(pthread_create(&t->id, NULL, thread_main, t) == 0);
  return t;
}
void tq_thread_join(tq_thread_t *t) {
  CHECK(pthread_join(t->id, NULL) == 0);
  free(t);
}

evq_pid_t tq_child_spawn(int code, int delay_ms) {
  fflush(NULL); /* nothing buffered is written twice */
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    while (delay_ms < 0) pause();
    if (delay_ms) tq_sleep_ms(delay_ms);
    _exit(code);
  }
  return pid;
}
void tq_child_kill(evq_pid_t pid) { CHECK(kill(pid, SIGTERM) == 0); }
void tq_child_wait_ended(evq_pid_t pid) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  CHECK(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == 0);
}
int tq_child_reap(evq_pid_t pid) {
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  return WEXITSTATUS(status);
}
#endif

int main(int argc, char **argv) {
#ifndef _WIN32
  signal(SIGPIPE, SIG_IGN);
#endif
  if (argc < 2) {
    for (int i = 0; i < ncases; i++)
      printf("%s %s\n", cases[i].per_backend ? "test" : "unit", cases[i].name);
    return 0;
  }
  if (strcmp(argv[1], "--check") == 0 && argc == 3) return check_list(argv[2]);
  /* A child process for the cases that watch one (tq_child_spawn): ends
   * with that code after that many ms, or runs until killed (< 0). */
  if (strcmp(argv[1], "--exit") == 0 && argc == 4) {
    int ms = atoi(argv[3]);
    while (ms < 0) tq_sleep_ms(1000);
    if (ms > 0) tq_sleep_ms(ms);
    return atoi(argv[2]);
  }
  tq_backend = argc > 2 ? argv[2] : NULL;
  for (int i = 0; i < ncases; i++) {
    if (strcmp(cases[i].name, argv[1]) != 0) continue;
    if (cases[i].per_backend && !tq_backend) {
      fprintf(stderr, "%s needs a backend argument\n", argv[1]);
      return 2;
    }
    cases[i].fn();
    printf("ok %s%s%s\n", argv[1], tq_backend ? "." : "",
           tq_backend ? tq_backend : "");
    return 0;
  }
  fprintf(stderr, "no case named %s\n", argv[1]);
  return 2;
}
