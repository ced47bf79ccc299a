/* Names of the EVQ_E* codes. The OS-to-EVQ mappings live in the platform
 * layers (src/unix/sys.c, src/win/sys.c); this table is the one place that
 * says what each code means. */
#include "evq_internal.h"

static const char *const names[] = {
    "EVQ_OK: success",
    "EVQ_EINVAL: invalid argument",
    "EVQ_ENOMEM: out of memory",
    "EVQ_EBADF: bad descriptor",
    "EVQ_EEXIST: descriptor already registered",
    "EVQ_ENOENT: not registered or not running",
    "EVQ_EAGAIN: operation would block",
    "EVQ_EBUSY: queue or timer busy elsewhere",
    "EVQ_ENOTSUP: not supported by this backend",
    "EVQ_EMFILE: too many open descriptors",
    "EVQ_ECONNREFUSED: connection refused",
    "EVQ_ECONNRESET: connection reset by peer",
    "EVQ_EPIPE: connection closed by peer",
    "EVQ_EADDRINUSE: address already in use",
    "EVQ_ENOTCONN: socket not connected",
    "EVQ_ETIMEDOUT: timed out",
    "EVQ_EADDRNOTAVAIL: address not available",
    "EVQ_EIO: input/output or other system error",
};

const char *evq_strerror(int code) {
  if (code > 0 || -code >= (int)(sizeof names / sizeof names[0]))
    return "EVQ_E?: unknown error";
  return names[-code];
}
