/* IP addresses as text, without the OS: the parsing and formatting behind
 * evq_addr_ip, evq_addr_parse and evq_addr_format, written once so that
 * every OS accepts and writes exactly the same forms (inet_pton and
 * inet_ntop differ in corners between libcs, and know no ports or scope
 * ids). net_addr.c turns an evq__ip_t into a socket address. Also the
 * rule for a UDP destination of the other family, for the same reason:
 * one decision, the same on every OS (net_dgram.c asks it). */
#ifndef EVQ_NET_IP_H
#define EVQ_NET_IP_H

#include "evq_net.h"

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

/* Which destinations a UDP socket takes (evq_net.h, evq_sendto), decided here
 * once for every OS; net_dgram.c fetches the facts. */
enum evq__dest {
  EVQ__DEST_AS_IS,  /* the socket's own kind: the OS sends it as given */
  EVQ__DEST_MAP,    /* IPv4 on a dual-stack socket: send to ::ffff:a.b.c.d */
  EVQ__DEST_REFUSE  /* a family the socket does not take: EVQ_EINVAL */
};

/* The rule, for a socket bound to local (its family's wildcard when not
 * bound) with IPV6_V6ONLY v6only (IPv6 sockets), sending to `to`. */
int evq__ip_dest(const evq__ip_t *local, int v6only, const evq__ip_t *to);

/* Makes ip, an IPv4 address, its IPv4-mapped form ::ffff:a.b.c.d (the
 * port kept), for EVQ__DEST_MAP. */
void evq__ip_map4(evq__ip_t *ip);

#endif
