/* IP addresses as text, and which destinations a UDP socket takes: see
 * net_ip.h. No OS calls and no OS headers (net_dgram.c fetches what the
 * rule needs), so the core's rules apply. */
#include "net_ip.h"
#include "backend.h"

#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A decimal number of 1 to max_digits digits, no sign, at most limit;
 * leading zeros are refused when strict. Returns the characters used, 0
 * if there is no such number. */
static size_t decimal(const char *s, size_t len, unsigned max_digits,
                      uint32_t limit, int strict, uint32_t *out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < len && is_digit(s[i])) {
    if (i == max_digits) return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
    i++;
  }
  if (i == 0 || v > limit || (strict && i > 1 && s[0] == '0')) return 0;
  *out = (uint32_t)v;
  return i;
}

/* Exactly a dotted quad: s[0..len). */
static int parse4(const char *s, size_t len, uint8_t out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= len || s[i] != '.') return EVQ_EINVAL;
      i++;
    }
    uint32_t v;
    size_t n = decimal(s + i, len - i, 3, 255, 1, &v);
    if (n == 0) return EVQ_EINVAL;
    out[part] = (uint8_t)v;
    i += n;
  }
  return i == len ? 0 : EVQ_EINVAL;
}

/* Exactly an IPv6 address without scope: s[0..len). */
static int parse6(const char *s, size_t len, uint8_t out[16]) {
  uint16_t groups[8];
  int ng = 0, gap = -1; /* gap: how many groups came before "::" */
  size_t i = 0;
  if (len >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  } else if (len >= 1 && s[0] == ':') {
    return EVQ_EINVAL;
  }
  while (i < len) {
    size_t start = i;
    unsigned v = 0;
    while (i < len && i - start < 5 && hex_value(s[i]) >= 0)
      v = v * 16 + (unsigned)hex_value(s[i++]);
    if (i < len && s[i] == '.') { /* a dotted quad ends the address */
      uint8_t q[4];
      if (ng > 6 || parse4(s + start, len - start, q) != 0) return EVQ_EINVAL;
      groups[ng++] = (uint16_t)(q[0] << 8 | q[1]);
      groups[ng++] = (uint16_t)(q[2] << 8 | q[3]);
      i = len;
      break;
    }
    if (i == start || i - start > 4 || ng == 8) return EVQ_EINVAL;
    groups[ng++] = (uint16_t)v;
    if (i == len) break;
    if (s[i] != ':') return EVQ_EINVAL;
    i++;
    if (i < len && s[i] == ':') {
      if (gap >= 0) return EVQ_EINVAL; /* a second "::" */
      gap = ng;
      i++;
    } else if (i == len) {
      return EVQ_EINVAL; /* a single trailing ':' */
    }
  }
  if (gap < 0 ? ng != 8 : ng > 7) return EVQ_EINVAL;
  int zeros = 8 - ng;
  for (int g = 0, k = 0; g < 8; g++) {
    uint16_t v = 0;
    if (gap >= 0 && g >= gap && g < gap + zeros) v = 0;
    else v = groups[k++];
    out[2 * g] = (uint8_t)(v >> 8);
    out[2 * g + 1] = (uint8_t)v;
  }
  return 0;
}

/* s[0..len), no port. */
static int parse_ip(const char *s, size_t len, evq__ip_t *ip) {
  evq__ip_t r;
  memset(&r, 0, sizeof r);
  const char *pct = memchr(s, '%', len);
  if (!memchr(s, ':', len)) {
    if (pct || parse4(s, len, r.bytes) != 0) return EVQ_EINVAL;
  } else {
    size_t addr_len = pct ? (size_t)(pct - s) : len;
    if (parse6(s, addr_len, r.bytes) != 0) return EVQ_EINVAL;
    if (pct) {
      size_t rest = len - addr_len - 1;
      if (rest == 0 ||
          decimal(pct + 1, rest, 10, UINT32_MAX, 0, &r.scope) != rest)
        return EVQ_EINVAL;
    }
    r.v6 = 1;
  }
  *ip = r;
  return 0;
}

int evq__ip_parse(const char *text, evq__ip_t *ip) {
  if (!text || !ip) return EVQ_EINVAL;
  return parse_ip(text, strlen(text), ip);
}

int evq__ip_parse_port(const char *text, evq__ip_t *ip) {
  if (!text || !ip) return EVQ_EINVAL;
  size_t len = strlen(text);
  const char *host = text, *colon;
  size_t host_len;
  if (text[0] == '[') {
    const char *close = memchr(text, ']', len);
    if (!close || close[1] != ':') return EVQ_EINVAL;
    host = text + 1;
    host_len = (size_t)(close - host);
    colon = close + 1;
    if (!memchr(host, ':', host_len)) return EVQ_EINVAL; /* "[1.2.3.4]" */
  } else {
    colon = strrchr(text, ':');
    if (!colon) return EVQ_EINVAL;
    host_len = (size_t)(colon - text);
    if (memchr(text, ':', host_len)) return EVQ_EINVAL; /* IPv6 needs [] */
  }
  size_t port_len = len - (size_t)(colon + 1 - text);
  uint32_t port;
  if (port_len == 0 ||
      decimal(colon + 1, port_len, 5, 65535, 0, &port) != port_len)
    return EVQ_EINVAL;
  evq__ip_t r;
  if (parse_ip(host, host_len, &r) != 0) return EVQ_EINVAL;
  r.port = (uint16_t)port;
  *ip = r;
  return 0;
}

/* Appends to a bounded buffer; overflow is remembered, not written. */
typedef struct out {
  char *buf;
  size_t cap, len;
} out_t;

static void put(out_t *o, const char *s) {
  for (; *s; s++, o->len++)
    if (o->len < o->cap) o->buf[o->len] = *s;
}

static void put_uint(out_t *o, uint32_t v, int hex) {
  char tmp[12];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % (hex ? 16 : 10)];
    v /= hex ? 16 : 10;
  } while (v);
  char s[12];
  for (int i = 0; i < n; i++) s[i] = tmp[n - 1 - i];
  s[n] = 0;
  put(o, s);
}

static void put_quad(out_t *o, const uint8_t *b) {
  for (int i = 0; i < 4; i++) {
    if (i) put(o, ".");
    put_uint(o, b[i], 0);
  }
}

/* The first 12 bytes of an IPv4-mapped IPv6 address, ::ffff:a.b.c.d. */
static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};

static void put_v6(out_t *o, const uint8_t *b) {
  if (memcmp(b, v4_mapped_prefix, 12) == 0) {
    put(o, "::ffff:");
    put_quad(o, b + 12);
    return;
  }
  uint16_t g[8];
  for (int i = 0; i < 8; i++) g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
  int best = -1, best_len = 1; /* a run must be 2 groups or more */
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      put(o, "::");
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best + best_len) put(o, ":");
    put_uint(o, g[i], 1);
  }
}

int evq__ip_format(const evq__ip_t *ip, char *buf, size_t cap) {
  out_t o = {buf, cap, 0};
  if (ip->v6) {
    put(&o, "[");
    put_v6(&o, ip->bytes);
    if (ip->scope) {
      put(&o, "%");
      put_uint(&o, ip->scope, 0);
    }
    put(&o, "]");
  } else {
    put_quad(&o, ip->bytes);
  }
  put(&o, ":");
  put_uint(&o, ip->port, 0);
  if (o.len >= cap) {
    if (cap > 0) buf[0] = 0;
    return EVQ_EINVAL;
  }
  buf[o.len] = 0;
  return (int)o.len;
}

static int ip_is_mapped(const evq__ip_t *ip) {
  return ip->v6 && memcmp(ip->bytes, v4_mapped_prefix, 12) == 0;
}

static int ip_is_any6(const evq__ip_t *ip) {
  static const uint8_t zeros[16];
  return ip->v6 && memcmp(ip->bytes, zeros, 16) == 0;
}

/* The OSes agree where this refuses (each fails such a send, if with
 * another code: EAFNOSUPPORT, ENETUNREACH, WSAEFAULT...) and differ only
 * on a plain IPv4 `to` on a dual-stack socket, which Linux sends and
 * FreeBSD and Windows refuse (their IPv6 sockets take IPv6 socket
 * addresses only): evq sends it, mapped, everywhere. */
int evq__ip_dest(const evq__ip_t *local, int v6only, const evq__ip_t *to) {
  /* An IPv4 socket: to the OS a mapped address is IPv6 like any other. */
  if (!local->v6) return to->v6 ? EVQ__DEST_REFUSE : EVQ__DEST_AS_IS;
  /* An IPv6 host: not from a socket bound to an IPv4-mapped address. */
  if (to->v6 && !ip_is_mapped(to))
    return ip_is_mapped(local) ? EVQ__DEST_REFUSE : EVQ__DEST_AS_IS;
  /* An IPv4 host, plain or mapped: only a dual-stack socket with an IPv4
   * source (bound to [::] or to a mapped address) can reach it; one bound
   * to an IPv6 address such as ::1 has none. */
  if (v6only || !(ip_is_any6(local) || ip_is_mapped(local)))
    return EVQ__DEST_REFUSE;
  return to->v6 ? EVQ__DEST_AS_IS : EVQ__DEST_MAP;
}

void evq__ip_map4(evq__ip_t *ip) {
  memmove(ip->bytes + 12, ip->bytes, 4);
  memcpy(ip->bytes, v4_mapped_prefix, 12);
  ip->v6 = 1;
  ip->scope = 0;
}
