/* Socket addresses: evq_addr_t holds the OS's sockaddr_storage and its
 * length (evq__addr_t, net.h). The text forms of IP addresses come from
 * net_ip.c, so every OS reads and writes the same ones; this file turns
 * them into sockaddr_in/_in6, handles Unix paths, and asks the OS for a
 * socket's names. */
#include "net.h"
#include "net_ip.h"

#include <string.h>

/* Longest Unix path, leaving room for the NUL some systems require. */
#define UNIX_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

void evq__addr_from_ip(evq__addr_t *out, const evq__ip_t *ip) {
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
  evq__sa_set_len((struct sockaddr *)&out->ss, out->len);
}

int evq__addr_to_ip(const evq__addr_t *a, evq__ip_t *ip) {
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
  if (ad->len < min || ad->len > sizeof(struct sockaddr_un) ||
      ad->len > sizeof ad->ss)
    return EVQ_EINVAL;
  *af = ad->ss.ss_family;
  return 0;
}

void evq__addr_settle(evq_addr_t *from) {
  int af = AF_UNSPEC;
  if (evq__caddr(from)->len > 0 && evq__addr_check(from, &af) != 0)
    evq__addr(from)->len = 0;
}

int evq_addr_ip(evq_addr_t *a, const char *text, int port) {
  evq__ip_t ip;
  if (!a || port < 0 || port > 65535 || evq__ip_parse(text, &ip) != 0)
    return EVQ_EINVAL;
  ip.port = (uint16_t)port;
  evq__addr_from_ip(evq__addr(a), &ip);
  return 0;
}

int evq_addr_unix(evq_addr_t *a, const char *path) {
  if (!a || !path || !path[0]) return EVQ_EINVAL;
  size_t len = strlen(path);
  int abstract = path[0] == '@';
  if (abstract && len == 1) return EVQ_EINVAL;
  if (len > UNIX_MAX) return EVQ_EINVAL;
  if (abstract && !EVQ__ABSTRACT_MAKE) return EVQ_ENOTSUP;
  evq__addr_t *out = evq__addr(a);
  memset(out, 0, sizeof *out);
  struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
  un->sun_family = AF_UNIX;
  memcpy(un->sun_path, path, len);
  if (abstract) {
    un->sun_path[0] = 0; /* the name is the bytes after it, no NUL */
    out->len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + len);
  } else {
    out->len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  }
  evq__sa_set_len((struct sockaddr *)un, out->len);
  return 0;
}

int evq_addr_parse(evq_addr_t *a, const char *text) {
  if (!a || !text) return EVQ_EINVAL;
  if (text[0] == '/' || text[0] == '.' || text[0] == '@')
    return evq_addr_unix(a, text);
  evq__ip_t ip;
  if (evq__ip_parse_port(text, &ip) != 0) return EVQ_EINVAL;
  evq__addr_from_ip(evq__addr(a), &ip);
  return 0;
}

/* A Unix address's text: the path, "@name", or "" when unnamed. */
static int format_unix(const evq__addr_t *a, char *buf, size_t cap) {
  const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
  size_t off = offsetof(struct sockaddr_un, sun_path);
  size_t n = a->len > off ? a->len - off : 0;
  const char *name = un->sun_path;
  int abstract = EVQ__ABSTRACT_READ && n > 0 && name[0] == 0;
  if (abstract) {
    name++;
    n--;
    if (memchr(name, 0, n)) return EVQ_EINVAL; /* not text */
  } else {
    const char *nul = memchr(name, 0, n);
    if (nul) n = (size_t)(nul - name);
  }
  size_t total = n + (size_t)abstract;
  if (total + 1 > cap) {
    if (cap > 0) buf[0] = 0;
    return EVQ_EINVAL;
  }
  if (abstract) buf[0] = '@';
  memcpy(buf + abstract, name, n);
  buf[total] = 0;
  return (int)total;
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
  evq__addr_to_ip(evq__caddr(a), &ip);
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
      evq__addr_to_ip(evq__caddr(a), &ip) != 0)
    return EVQ_EINVAL;
  return ip.port;
}

/* The OS's name for fd, if it is one evq handles. An unnamed Unix socket
 * may come back shorter than its family field's offset: made the empty
 * name. */
static int name_of(evq_fd_t fd, evq_addr_t *a, int peer) {
  if (!a) return EVQ_EINVAL;
  evq__addr_t tmp;
  int rc = evq__os_name(fd, peer, &tmp);
  if (rc != 0) return rc;
  if (tmp.ss.ss_family == AF_UNIX &&
      tmp.len < offsetof(struct sockaddr_un, sun_path))
    tmp.len = (uint32_t)offsetof(struct sockaddr_un, sun_path);
  int af = AF_UNSPEC;
  if (evq__addr_check((const evq_addr_t *)(void *)&tmp, &af) != 0)
    return EVQ_ENOTSUP; /* a family evq does not handle */
  *evq__addr(a) = tmp;
  return 0;
}

int evq_local_addr(evq_fd_t fd, evq_addr_t *a) { return name_of(fd, a, 0); }

int evq_peer_addr(evq_fd_t fd, evq_addr_t *a) { return name_of(fd, a, 1); }

int evq_socket_port(evq_fd_t fd) {
  evq_addr_t a;
  int rc = evq_local_addr(fd, &a);
  return rc != 0 ? rc : evq_addr_port(&a);
}
