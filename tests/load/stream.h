/* The load tests' data: every connection sends a stream of bytes that
 * depends on its seed and the position alone, so both ends can check every
 * byte without keeping what was sent. Shared by the evq server
 * (load_server.c, also built for Windows) and the load generator
 * (load_client.c). */
#ifndef EVQ_LOAD_STREAM_H
#define EVQ_LOAD_STREAM_H

#include <stdint.h>
#include <string.h>

/* Each connection starts with this header, then `total` stream bytes. A
 * header with magic LOAD_STOP asks the server to report and exit. */
#define LOAD_MAGIC 0x45565131u /* "EVQ1" */
#define LOAD_STOP 0x53544f50u  /* "STOP" */
typedef struct {
  uint32_t magic;
  uint32_t mode; /* unused by the server: it picks the trigger mode */
  uint64_t seed;
  uint64_t total;
} load_header_t;

static inline uint64_t load_mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Byte k of the stream of seed. */
static inline uint8_t load_byte(uint64_t seed, uint64_t k) {
  return (uint8_t)(load_mix(seed ^ ((k >> 3) * 0xD6E8FEB86659FD93ull)) >> ((k & 7) * 8));
}

/* Fills buf with bytes [from, from + n) of the stream. */
static inline void load_fill(uint64_t seed, uint64_t from, uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = load_byte(seed, from + i);
}

/* The index of the first byte of buf that is not [from, from + n) of the
 * stream, or n. */
static inline size_t load_check(uint64_t seed, uint64_t from, const uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (buf[i] != load_byte(seed, from + i)) return i;
  return n;
}

#endif
