/* IP addresses as text, without the OS: the parsing and formatting behind
 * evq_addr_ip, evq_addr_parse and evq_addr_format, written once so that
 * every OS accepts and writes exactly the same forms (inet_pton and
 * inet_ntop differ in corners between libcs, and know no ports or scope
 * ids). The platform layers turn an evq__ip_t into a socket address. */
#ifndef EVQ_NETADDR_H
#define EVQ_NETADDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct evq__ip {
  int v6;            /* 0: IPv4, its 4 bytes first in bytes[]; 1: IPv6 */
  uint8_t bytes[16]; /* network order */
  uint32_t scope;    /* IPv6 scope id (interface index); 0 for none */
  uint16_t port;
} evq__ip_t;

/* Parses a numeric address without port: "1.2.3.4", "::1", "fe80::1%2"
 * (the scope id numeric). Dotted quads are strict: four decimal parts,
 * each 0-255 without leading zeros. 0 or EVQ_EINVAL; *ip is written only
 * on success. */
int evq__ip_parse(const char *text, evq__ip_t *ip);

/* Parses "1.2.3.4:80" or "[::1]:80" (port 0-65535 in decimal). 0 or
 * EVQ_EINVAL. */
int evq__ip_parse_port(const char *text, evq__ip_t *ip);

/* Writes ip as "1.2.3.4:80" or "[v6%scope]:80" (RFC 5952: lowercase,
 * longest run of two or more zero groups as "::", IPv4-mapped with a
 * dotted quad). Returns the length, or EVQ_EINVAL if cap is too small (buf
 * then holds "" if cap > 0). */
int evq__ip_format(const evq__ip_t *ip, char *buf, size_t cap);

#endif
