/* evq_http's completion mode (http_io.c), which `evq_http --completion`
 * runs: the same server as http.c's, written with evq_io.h's operations. */
#ifndef EVQ_EXAMPLE_HTTP_IO_H
#define EVQ_EXAMPLE_HTTP_IO_H

/* Serves until SIGINT, SIGTERM or (until_eof) the end of standard input;
 * returns the process's exit status. */
int http_run_io(long port, long max_conns, long idle_ms, int until_eof);

#endif
