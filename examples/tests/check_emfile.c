/* Test client for evq_echo run out of descriptors: run.sh starts it under
 * `ulimit -n 32`, so it can hold about 25 connections. Of 40, the rest
 * wait in the kernel's backlog while accept() fails with EMFILE; once
 * descriptors are freed, the server's accept-retry timer must take them
 * (no new connection arrives to make the listener fire again). */
#include "testlib.h"

#define CONNS 40

int main(int argc, char **argv) {
  int port = tl_port(argc, argv);
  int fds[CONNS], served[CONNS] = {0}, nserved = 0;
  char msg[CONNS][16];
  for (int i = 0; i < CONNS; i++) {
    fds[i] = tl_connect(port);
    snprintf(msg[i], sizeof msg[i], "probe %d\n", i);
    tl_send_str(fds[i], msg[i]);
  }
  tl_sleep_ms(1000);
  for (int i = 0; i < CONNS; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    if (poll(&p, 1, 0) == 1) {
      tl_expect(fds[i], msg[i]);
      served[i] = 1;
      nserved++;
    }
  }
  printf("# %d of %d served while out of descriptors\n", nserved, CONNS);
  CHECK(nserved > 0, "no connection served at all");
  CHECK(nserved < CONNS, "all served: the descriptor limit was not reached");
  PASS("out of descriptors: some connections wait, the server lives on");
  for (int i = 0; i < CONNS; i++)
    if (served[i]) close(fds[i]);
  for (int i = 0; i < CONNS; i++) /* 10 s each at most (SO_RCVTIMEO) */
    if (!served[i]) tl_expect(fds[i], msg[i]);
  PASS("once descriptors are free, every waiting connection is served");
  for (int i = 0; i < CONNS; i++)
    if (served[i]) fds[i] = -1;
  tl_hold_until_stopped(fds, CONNS);
  return 0;
}
