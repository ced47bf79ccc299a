/* The fault injector's run-time (faultlib.c), as the scenario sees it. */
#ifndef EVQF_FAULTLIB_H
#define EVQF_FAULTLIB_H

typedef struct {
  const char *name;
  const char *what; /* F, S, SITE: the errors; N, DEAD: why not */
  int faultable;    /* 0 N, 1 F or S, 2 SITE, 3 DEAD */
  const char *fn;   /* SITE, DEAD: the calling function */
  const char *line; /* DEAD: the line of source */
} evqf_function_t;

/* functions.h as a table, ended by a NULL name. */
extern const evqf_function_t evqf_functions[];

int evqf_errno_value(const char *name);
const char *evqf_errno_name(int value);

/* The injected fault has happened. */
int evqf_fired(void);
/* Allocations the library made and has not freed. */
long evqf_live_allocations(void);
/* Hits so far of every site of fn. */
unsigned long evqf_hits(const char *fn);
/* The site to fail is a call of fn (inject mode). */
int evqf_target_is(const char *fn);
/* 0 off, 1 record, 2 inject. */
int evqf_mode(void);
/* Writes the sites and their hits to EVQ_FAULT_OUT (a forked child: to
 * EVQ_FAULT_OUT.child.PID). */
void evqf_dump(void);
void evqf_dump_child(void);
void evqf_dump_to(const char *path);

#endif
