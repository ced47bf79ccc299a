/* Addresses: the text forms evq_addr_parse reads and evq_addr_format
 * writes, round trips, and every malformed input with its code. Text is
 * handled by portable code, so the same table holds on every OS; the Unix
 * forms that are the OS's own (abstract names) are checked per OS. */
#include "nettest.h"

#include <string.h>

static void round_trip(const char *text, const char *want, int family,
                       int port) {
  evq_addr_t a;
  memset(&a, 0x5A, sizeof a); /* garbage before: parse must set it all */
  int rc = evq_addr_parse(&a, text);
  if (rc != 0) fprintf(stderr, "parse '%s': %s\n", text, evq_strerror(rc));
  CHECK_OK(rc);
  char buf[EVQ_ADDR_STRLEN];
  int n = evq_addr_format(&a, buf, sizeof buf);
  if (n < 0 || strcmp(buf, want) != 0)
    fprintf(stderr, "'%s' formats as '%s', want '%s'\n", text, buf, want);
  CHECK_EQ(n, strlen(want));
  CHECK(strcmp(buf, want) == 0);
  CHECK_EQ(evq_addr_family(&a), family);
  CHECK_EQ(evq_addr_port(&a), family == EVQ_AF_UNIX ? EVQ_EINVAL : port);
  evq_addr_t b; /* the text written parses back to the same address */
  CHECK_OK(evq_addr_parse(&b, buf));
  CHECK(nt_same(&a, &b));
  /* A buffer one byte short is refused, and holds "" */
  buf[0] = 'x';
  CHECK_EQ(evq_addr_format(&a, buf, (size_t)n), EVQ_EINVAL);
  if (n > 0) CHECK_EQ(buf[0], 0);
}

UNIT(addr_round_trip) {
  static const struct {
    const char *in, *out;
    int family, port;
  } t[] = {
      {"127.0.0.1:80", "127.0.0.1:80", EVQ_AF_INET, 80},
      {"0.0.0.0:0", "0.0.0.0:0", EVQ_AF_INET, 0},
      {"255.255.255.255:65535", "255.255.255.255:65535", EVQ_AF_INET, 65535},
      {"10.0.0.1:080", "10.0.0.1:80", EVQ_AF_INET, 80},
      {"[::1]:443", "[::1]:443", EVQ_AF_INET6, 443},
      {"[::]:0", "[::]:0", EVQ_AF_INET6, 0},
      {"[2001:DB8:0:0:0:0:0:1]:1", "[2001:db8::1]:1", EVQ_AF_INET6, 1},
      {"[2001:db8:0:0:1:0:0:1]:9", "[2001:db8::1:0:0:1]:9", EVQ_AF_INET6, 9},
      {"[2001:0db8:0000:0001:0001:0001:0001:0001]:2",
       "[2001:db8:0:1:1:1:1:1]:2", EVQ_AF_INET6, 2}, /* one 0: no "::" */
      {"[1:0:0:2:0:0:0:3]:4", "[1:0:0:2::3]:4", EVQ_AF_INET6, 4},
      {"[1:0:0:2:0:0:3:4]:4", "[1::2:0:0:3:4]:4", EVQ_AF_INET6, 4},
      {"[fe80::1%2]:8080", "[fe80::1%2]:8080", EVQ_AF_INET6, 8080},
      {"[fe80::1%0]:1", "[fe80::1]:1", EVQ_AF_INET6, 1},
      {"[::ffff:1.2.3.4]:5", "[::ffff:1.2.3.4]:5", EVQ_AF_INET6, 5},
      {"[::ffff:0102:0304]:5", "[::ffff:1.2.3.4]:5", EVQ_AF_INET6, 5},
      {"[64:ff9b::1.2.3.4]:6", "[64:ff9b::102:304]:6", EVQ_AF_INET6, 6},
      {"[1:2:3:4:5:6:7::]:7", "[1:2:3:4:5:6:7:0]:7", EVQ_AF_INET6, 7},
      {"[::2:3:4:5:6:7:8]:7", "[0:2:3:4:5:6:7:8]:7", EVQ_AF_INET6, 7},
      {"/tmp/evq.sock", "/tmp/evq.sock", EVQ_AF_UNIX, 0},
      {"./relative.sock", "./relative.sock", EVQ_AF_UNIX, 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    round_trip(t[i].in, t[i].out, t[i].family, t[i].port);

  /* evq_addr_ip: the address without brackets, the port apart. */
  evq_addr_t a;
  CHECK_OK(evq_addr_ip(&a, "::1", 9));
  CHECK(strcmp(nt_str(&a), "[::1]:9") == 0);
  CHECK_OK(evq_addr_ip(&a, "fe80::a%7", 65535));
  CHECK(strcmp(nt_str(&a), "[fe80::a%7]:65535") == 0);
  CHECK_OK(evq_addr_ip(&a, "192.168.1.254", 0));
  CHECK(strcmp(nt_str(&a), "192.168.1.254:0") == 0);
  CHECK_EQ(evq_addr_family(&a), EVQ_AF_INET);

  /* The longest Unix path the OS takes (EVQ_ADDR_STRLEN holds it). */
  char path[EVQ_ADDR_STRLEN];
  size_t max = 0;
  for (size_t len = 1; len < sizeof path - 1; len++) {
    memset(path, 'p', len);
    path[0] = '/';
    path[len] = 0;
    if (evq_addr_unix(&a, path) != 0) break;
    max = len;
    CHECK(strcmp(nt_str(&a), path) == 0);
  }
#if defined(__linux__) || defined(_WIN32)
  CHECK_EQ(max, 107);
#else
  CHECK(max >= 103);
#endif

  /* Abstract names: Linux only, EVQ_ENOTSUP elsewhere (evq.h). */
#ifdef __linux__
  round_trip("@evq-abstract", "@evq-abstract", EVQ_AF_UNIX, 0);
  CHECK_OK(evq_addr_unix(&a, "@x"));
  CHECK(strcmp(nt_str(&a), "@x") == 0);
#else
  CHECK_EQ(evq_addr_parse(&a, "@evq-abstract"), EVQ_ENOTSUP);
  CHECK_EQ(evq_addr_unix(&a, "@x"), EVQ_ENOTSUP);
#endif

  /* An address is plain data: a copy is the same address. */
  evq_addr_t b;
  CHECK_OK(evq_addr_parse(&a, "[2001:db8::7]:99"));
  memcpy(&b, &a, sizeof a);
  CHECK(strcmp(nt_str(&b), "[2001:db8::7]:99") == 0);
  CHECK_EQ(sizeof(evq_addr_t), 144);
}

UNIT(addr_malformed) {
  static const struct {
    const char *text;
    int want;
  } t[] = {
      {"", EVQ_EINVAL},
      {"127.0.0.1", EVQ_EINVAL},             /* no port */
      {"127.0.0.1:", EVQ_EINVAL},
      {"127.0.0.1:65536", EVQ_EINVAL},       /* port out of range */
      {"127.0.0.1:99999999999", EVQ_EINVAL},
      {"127.0.0.1:-1", EVQ_EINVAL},
      {"127.0.0.1:+1", EVQ_EINVAL},
      {"127.0.0.1:8x", EVQ_EINVAL},
      {"127.0.0.1: 80", EVQ_EINVAL},
      {" 127.0.0.1:80", EVQ_EINVAL},
      {"127.0.0.1:80 ", EVQ_EINVAL},
      {"256.0.0.1:80", EVQ_EINVAL},
      {"1.2.3:80", EVQ_EINVAL},
      {"1.2.3.4.5:80", EVQ_EINVAL},
      {"01.2.3.4:80", EVQ_EINVAL},           /* octal or decimal? neither */
      {"1..3.4:80", EVQ_EINVAL},
      {"1.2.3.4%1:80", EVQ_EINVAL},          /* scope on IPv4 */
      {"localhost:80", EVQ_EINVAL},          /* no names: no DNS */
      {"example.com:443", EVQ_EINVAL},
      {"::1:80", EVQ_EINVAL},                /* IPv6 needs brackets */
      {"[::1]", EVQ_EINVAL},
      {"[::1]:", EVQ_EINVAL},
      {"[::1]80", EVQ_EINVAL},
      {"[::1:80", EVQ_EINVAL},
      {"::1]:80", EVQ_EINVAL},
      {"[1.2.3.4]:80", EVQ_EINVAL},
      {"[]:80", EVQ_EINVAL},
      {"[:]:80", EVQ_EINVAL},
      {"[:::]:80", EVQ_EINVAL},
      {"[1::2::3]:80", EVQ_EINVAL},
      {"[12345::]:80", EVQ_EINVAL},
      {"[1:2:3:4:5:6:7:8:9]:80", EVQ_EINVAL},
      {"[1:2:3:4:5:6:7]:80", EVQ_EINVAL},
      {"[1:2:3:4:5:6:7:8::]:80", EVQ_EINVAL},
      {"[:1:2:3:4:5:6:7]:80", EVQ_EINVAL},
      {"[1:2:3:4:5:6:7:]:80", EVQ_EINVAL},
      {"[g::1]:80", EVQ_EINVAL},
      {"[::ffff:1.2.3]:80", EVQ_EINVAL},
      {"[::ffff:1.2.3.4.5]:80", EVQ_EINVAL},
      {"[1:2:3:4:5:6:7:1.2.3.4]:80", EVQ_EINVAL},
      {"[fe80::1%]:80", EVQ_EINVAL},
      {"[fe80::1%eth0]:80", EVQ_EINVAL},     /* numeric scope ids only */
      {"[fe80::1%99999999999]:80", EVQ_EINVAL},
      {"[::1]:65536", EVQ_EINVAL},
      {"@", EVQ_EINVAL},                      /* an abstract name is named */
      {"unix.sock", EVQ_EINVAL},              /* paths start with / or . */
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    evq_addr_t a;
    memset(&a, 0, sizeof a);
    CHECK_OK(evq_addr_parse(&a, "10.1.2.3:4")); /* unchanged on error */
    int rc = evq_addr_parse(&a, t[i].text);
    if (rc != t[i].want)
      fprintf(stderr, "'%s': got %s, want %s\n", t[i].text, evq_strerror(rc),
              evq_strerror(t[i].want));
    CHECK_EQ(rc, t[i].want);
    CHECK(strcmp(nt_str(&a), "10.1.2.3:4") == 0);
  }

  evq_addr_t a, empty;
  memset(&empty, 0, sizeof empty);
  char buf[EVQ_ADDR_STRLEN], longpath[300];
  memset(longpath, 'x', sizeof longpath - 1);
  longpath[0] = '/';
  longpath[sizeof longpath - 1] = 0;
  const struct {
    const char *what;
    long long got, want;
  } calls[] = {
      {"parse NULL text", evq_addr_parse(&a, NULL), EVQ_EINVAL},
      {"parse NULL addr", evq_addr_parse(NULL, "1.2.3.4:5"), EVQ_EINVAL},
      {"parse path too long", evq_addr_parse(&a, longpath), EVQ_EINVAL},
      {"ip NULL text", evq_addr_ip(&a, NULL, 1), EVQ_EINVAL},
      {"ip NULL addr", evq_addr_ip(NULL, "::1", 1), EVQ_EINVAL},
      {"ip port -1", evq_addr_ip(&a, "::1", -1), EVQ_EINVAL},
      {"ip port 65536", evq_addr_ip(&a, "::1", 65536), EVQ_EINVAL},
      {"ip with port", evq_addr_ip(&a, "1.2.3.4:5", 1), EVQ_EINVAL},
      {"ip with brackets", evq_addr_ip(&a, "[::1]", 1), EVQ_EINVAL},
      {"ip a name", evq_addr_ip(&a, "localhost", 1), EVQ_EINVAL},
      {"ip empty", evq_addr_ip(&a, "", 1), EVQ_EINVAL},
      {"unix NULL path", evq_addr_unix(&a, NULL), EVQ_EINVAL},
      {"unix NULL addr", evq_addr_unix(NULL, "/x"), EVQ_EINVAL},
      {"unix empty", evq_addr_unix(&a, ""), EVQ_EINVAL},
      {"unix @ alone", evq_addr_unix(&a, "@"), EVQ_EINVAL},
      {"unix too long", evq_addr_unix(&a, longpath), EVQ_EINVAL},
      {"format NULL addr", evq_addr_format(NULL, buf, sizeof buf), EVQ_EINVAL},
      {"format NULL buf", evq_addr_format(&empty, NULL, 8), EVQ_EINVAL},
      {"format empty", evq_addr_format(&empty, buf, sizeof buf), EVQ_EINVAL},
      {"format cap 0", evq_addr_format(&empty, buf, 0), EVQ_EINVAL},
      {"family NULL", evq_addr_family(NULL), EVQ_EINVAL},
      {"family empty", evq_addr_family(&empty), EVQ_EINVAL},
      {"port NULL", evq_addr_port(NULL), EVQ_EINVAL},
      {"port empty", evq_addr_port(&empty), EVQ_EINVAL},
  };
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    if (calls[i].got != calls[i].want)
      fprintf(stderr, "%s: got %lld, want %lld\n", calls[i].what,
              calls[i].got, calls[i].want);
    CHECK_EQ(calls[i].got, calls[i].want);
  }
  /* Garbage in the storage (never written by evq) is refused, not used. */
  evq_addr_t junk;
  memset(&junk, 0xA5, sizeof junk);
  CHECK_EQ(evq_addr_family(&junk), EVQ_EINVAL);
  CHECK_EQ(evq_addr_format(&junk, buf, sizeof buf), EVQ_EINVAL);
  evq_fd_t fd;
  CHECK_EQ(evq_listen(&fd, &junk, 1, 0), EVQ_EINVAL);
  CHECK_EQ(evq_connect(&fd, &empty), EVQ_EINVAL);
}
