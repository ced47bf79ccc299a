/* Windows socket addresses: evq_addr_t holds a SOCKADDR_STORAGE and its
 * length. The text forms of IP addresses come from the portable
 * src/netaddr.c, so Windows reads and writes exactly what POSIX does. */
#include "net.h"
#include "netaddr.h"

#include <stddef.h>
#include <string.h>

/* Longest Unix path, leaving room for the terminating NUL. */
#define UNIX_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static void set_ip(evq__addr_t *out, const evq__ip_t *ip) {
  memset(out, 0, sizeof *out);
  if (ip->v6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(ip->port);
    memcpy(&s6->sin6_addr, ip->bytes, 16);
    s6->sin6_scope_id = ip->scope;
    out->len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(ip->port);
    memcpy(&s4->sin_addr, ip->bytes, 4);
    out->len = sizeof *s4;
  }
}

static int get_ip(const evq__addr_t *a, evq__ip_t *ip) {
  memset(ip, 0, sizeof *ip);
  if (a->ss.ss_family == AF_INET && a->len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
    memcpy(ip->bytes, &s4->sin_addr, 4);
    ip->port = ntohs(s4->sin_port);
    return 0;
  }
  if (a->ss.ss_family == AF_INET6 && a->len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
    ip->v6 = 1;
    memcpy(ip->bytes, &s6->sin6_addr, 16);
    ip->scope = s6->sin6_scope_id;
    ip->port = ntohs(s6->sin6_port);
    return 0;
  }
  return EVQ_EINVAL;
}

int evq__addr_check(const evq_addr_t *a, int *af) {
  if (!a) return EVQ_EINVAL;
  const evq__addr_t *ad = evq__caddr(a);
  size_t min;
  switch (ad->ss.ss_family) {
  case AF_INET: min = sizeof(struct sockaddr_in); break;
  case AF_INET6: min = sizeof(struct sockaddr_in6); break;
  case AF_UNIX: min = offsetof(struct sockaddr_un, sun_path); break;
  default: return EVQ_EINVAL;
  }
  if (ad->len < min || ad->len > sizeof ad->ss) return EVQ_EINVAL;
  *af = ad->ss.ss_family;
  return 0;
}

int evq_addr_ip(evq_addr_t *a, const char *text, int port) {
  evq__ip_t ip;
  if (!a || port < 0 || port > 65535 || evq__ip_parse(text, &ip) != 0)
    return EVQ_EINVAL;
  ip.port = (uint16_t)port;
  set_ip(evq__addr(a), &ip);
  return 0;
}

/* Windows has no abstract namespace. */
int evq_addr_unix(evq_addr_t *a, const char *path) {
  if (!a || !path || !path[0]) return EVQ_EINVAL;
  size_t len = strlen(path);
  if ((path[0] == '@' && len == 1) || len > UNIX_MAX) return EVQ_EINVAL;
  if (path[0] == '@') return EVQ_ENOTSUP;
  evq__addr_t *out = evq__addr(a);
  memset(out, 0, sizeof *out);
  struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
  un->sun_family = AF_UNIX;
  memcpy(un->sun_path, path, len);
  out->len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  return 0;
}

int evq_addr_parse(evq_addr_t *a, const char *text) {
  if (!a || !text) return EVQ_EINVAL;
  if (text[0] == '/' || text[0] == '.' || text[0] == '@')
    return evq_addr_unix(a, text);
  evq__ip_t ip;
  if (evq__ip_parse_port(text, &ip) != 0) return EVQ_EINVAL;
  set_ip(evq__addr(a), &ip);
  return 0;
}

static int format_unix(const evq__addr_t *a, char *buf, size_t cap) {
  const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
  size_t off = offsetof(struct sockaddr_un, sun_path);
  size_t max = a->len > off ? a->len - off : 0, n = 0;
  while (n < max && n < sizeof un->sun_path && un->sun_path[n]) n++;
  if (n + 1 > cap) {
    if (cap > 0) buf[0] = 0;
    return EVQ_EINVAL;
  }
  memcpy(buf, un->sun_path, n);
  buf[n] = 0;
  return (int)n;
}

int evq_addr_format(const evq_addr_t *a, char *buf, size_t cap) {
  int af = AF_UNSPEC;
  if (!buf) return EVQ_EINVAL;
  if (evq__addr_check(a, &af) != 0) {
    if (cap > 0) buf[0] = 0;
    return EVQ_EINVAL;
  }
  if (af == AF_UNIX) return format_unix(evq__caddr(a), buf, cap);
  evq__ip_t ip;
  get_ip(evq__caddr(a), &ip);
  return evq__ip_format(&ip, buf, cap);
}

int evq_addr_family(const evq_addr_t *a) {
  int af = AF_UNSPEC;
  if (evq__addr_check(a, &af) != 0) return EVQ_EINVAL;
  return af == AF_INET ? EVQ_AF_INET : af == AF_INET6 ? EVQ_AF_INET6
                                                     : EVQ_AF_UNIX;
}

int evq_addr_port(const evq_addr_t *a) {
  int af = AF_UNSPEC;
  evq__ip_t ip;
  if (evq__addr_check(a, &af) != 0 || af == AF_UNIX ||
      get_ip(evq__caddr(a), &ip) != 0)
    return EVQ_EINVAL;
  return ip.port;
}

/* Windows refuses getsockname() on a socket that is not bound; POSIX gives
 * the family's unspecified address, port 0, and so does evq. */
static int unbound_name(SOCKET s, evq__addr_t *out) {
  int af, type, rc = evq__net_kind(s, &af, &type);
  if (rc != 0) return rc;
  memset(out, 0, sizeof *out);
  out->ss.ss_family = (ADDRESS_FAMILY)af;
  out->len = af == AF_INET    ? sizeof(struct sockaddr_in)
             : af == AF_INET6 ? sizeof(struct sockaddr_in6)
                              : (uint32_t)offsetof(struct sockaddr_un, sun_path);
  return 0;
}

static int name_of(evq_fd_t fd, evq_addr_t *a, int peer) {
  if (!a) return EVQ_EINVAL;
  int rc = evq__winsock_init();
  if (rc != 0) return rc;
  evq__addr_t tmp;
  memset(&tmp, 0, sizeof tmp);
  int len = sizeof tmp.ss;
  SOCKET s = (SOCKET)fd;
  int r = peer ? getpeername(s, (struct sockaddr *)&tmp.ss, &len)
               : getsockname(s, (struct sockaddr *)&tmp.ss, &len);
  if (r != 0) {
    DWORD err = (DWORD)WSAGetLastError();
    if (!peer && err == WSAEINVAL) {
      rc = unbound_name(s, &tmp);
      if (rc != 0) return rc;
    } else {
      return evq__net_error(err);
    }
  } else {
    tmp.len = len > (int)sizeof tmp.ss ? (uint32_t)sizeof tmp.ss : (uint32_t)len;
    if (tmp.ss.ss_family == AF_UNIX &&
        tmp.len < offsetof(struct sockaddr_un, sun_path))
      tmp.len = (uint32_t)offsetof(struct sockaddr_un, sun_path);
  }
  int af = AF_UNSPEC;
  if (evq__addr_check((const evq_addr_t *)(void *)&tmp, &af) != 0)
    return EVQ_ENOTSUP;
  *evq__addr(a) = tmp;
  return 0;
}

int evq_local_addr(evq_fd_t fd, evq_addr_t *a) { return name_of(fd, a, 0); }

int evq_peer_addr(evq_fd_t fd, evq_addr_t *a) { return name_of(fd, a, 1); }

int evq__addr_to_ip(const evq_addr_t *a, evq__ip_t *ip) {
  return get_ip(evq__caddr(a), ip);
}

void evq__addr_from_ip(evq_addr_t *a, const evq__ip_t *ip) {
  set_ip(evq__addr(a), ip);
}

int evq__dgram_self(evq_fd_t fd, evq__ip_t *local, int *v6only) {
  SOCKET s = (SOCKET)fd;
  int af, type, len = sizeof(SOCKADDR_STORAGE);
  DWORD v6 = 0;
  int vlen = sizeof v6;
  evq__addr_t self;
  memset(&self, 0, sizeof self);
  if (evq__net_kind(s, &af, &type) != 0 || type != SOCK_DGRAM)
    return EVQ_EINVAL;
  if (getsockname(s, (struct sockaddr *)&self.ss, &len) == 0)
    self.len = (uint32_t)len;
  else if (unbound_name(s, &self) != 0)
    return EVQ_EINVAL;
  if (get_ip(&self, local) != 0 ||
      (local->v6 && getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&v6,
                               &vlen) != 0))
    return EVQ_EINVAL;
  *v6only = v6 != 0;
  return 0;
}
