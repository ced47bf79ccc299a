/* Names of the EVQ_E* codes, made from the one table in evq.h so that a
 * code, its name and its text cannot drift apart. The OS-to-EVQ mappings
 * live in the platform layers (src/unix/sys.c, src/win/sys.c), keyed by the
 * same names. */
#include "backend.h"

#include <stddef.h>

typedef struct {
  int code;
  const char *name, *text;
} error_info_t;

static const error_info_t errors[] = {
    {0, "EVQ_OK", "EVQ_OK: success"},
#define EVQ__ERROR_INFO(name, value, text) \
  {value, "EVQ_" #name, "EVQ_" #name ": " text},
    EVQ_ERRNO_MAP(EVQ__ERROR_INFO)
#undef EVQ__ERROR_INFO
};

static const error_info_t *error_info(int code) {
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    if (errors[i].code == code) return &errors[i];
  return NULL;
}

const char *evq_strerror(int code) {
  const error_info_t *e = error_info(code);
  return e ? e->text : "EVQ_E?: unknown error";
}

const char *evq_errname(int code) {
  const error_info_t *e = error_info(code);
  return e ? e->name : "EVQ_E?";
}
