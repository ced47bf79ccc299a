/* fuzz_replay: runs fuzzer inputs without libFuzzer, with any compiler.
 *
 *   fuzz_replay PATH...        runs every input (files, or every file of
 *                              each directory) on every backend compiled in
 *   fuzz_replay --print FILE   prints an input's operations
 *
 * The suite runs the committed corpus this way (ctest fuzz.corpus), so the
 * corpus is checked under every sanitizer leg and valgrind, not only where
 * clang is. A violation aborts with the operation and the rule broken. */
#define _GNU_SOURCE
#include "fuzz.h"

#include "evq.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long inputs, ops;

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  *len = n;
  return buf;
}

static void run_file(const char *path) {
  size_t len;
  unsigned char *data = slurp(path, &len);
  if (getenv("EVQ_FUZZ_VERBOSE")) fprintf(stderr, "replay: %s\n", path);
  LLVMFuzzerTestOneInput(data, len);
  inputs++;
  ops += (long)(len / 4);
  free(data);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    exit(1);
  }
  if (!S_ISDIR(st.st_mode)) {
    run_file(path);
    return;
  }
  DIR *d = opendir(path);
  if (!d) {
    perror(path);
    exit(1);
  }
  char **names = NULL;
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    names = realloc(names, sizeof *names * (n + 1));
    if (asprintf(&names[n], "%s/%s", path, e->d_name) < 0) exit(1);
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name); /* the same order every time */
  for (size_t i = 0; i < n; i++) {
    run_file(names[i]);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--print") == 0) {
    size_t len;
    unsigned char *data = slurp(argv[2], &len);
    evqfuzz_print(data, len);
    free(data);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH... | --print FILE\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) run_path(argv[i]);
  if (inputs == 0) {
    fprintf(stderr, "fuzz_replay: no inputs found\n");
    return 1;
  }
  const char *names[16];
  int nb = evqfuzz_backends(names, 16);
  printf("fuzz_replay: %ld inputs, %ld operations, each on %d backends (", inputs,
         ops, nb);
  for (int i = 0; i < nb && i < 16; i++) printf("%s%s", i ? ", " : "", names[i]);
  printf("): no violation\n");
  return 0;
}
