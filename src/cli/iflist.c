/* iflist.c: --iflist. The interfaces and routes as Nmap's --iflist shows
 * them, so that a user comparing the two sees the same tables:
 *
 *   INTERFACES  one row per address: interfaces in /proc/net/dev order,
 *               each one's IPv4 addresses (getifaddrs order) then its IPv6
 *               ones (/proc/net/if_inet6 order); "(none)/0" for an
 *               interface without any. TYPE, UP, MTU and MAC from
 *               libtrawl (tw_iface_get).
 *   ROUTES      IPv4 (/proc/net/route, the main table) then IPv6
 *               (/proc/net/ipv6_route, every table, rejecting routes
 *               left out), each family sorted by prefix length, longest
 *               first, ties kept in the kernel's order.
 *
 * Columns are as wide as their widest cell, one space apart, with no
 * trailing blanks. Read once at start-up, before any loop exists, so the
 * plain blocking reads are fine. The /proc formats are Linux's: another
 * OS gets its own file behind iflist.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <trawl/route.h>

#include "cli/iflist.h"
#include "core/hex.h"

const struct iflist_src iflist_proc = {"/proc/net/dev", "/proc/net/if_inet6",
                                       "/proc/net/route", "/proc/net/ipv6_route"};

/* A kernel with more rows than this is not one a user reads as a table. */
#define IFL_MAX_ROWS 65536
#define IFL_COLS 7
#define IFL_CELL 64

/* ---- a text table ----------------------------------------------------------- */

struct ifl_table {
  char (*cell)[IFL_COLS][IFL_CELL];
  size_t n, cap;
  int ncol;
};

/* Room for element n of an array of cap (doubling, at most IFL_MAX_ROWS). */
static int ifl_grow(void **v, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return 0;
  if (*cap >= IFL_MAX_ROWS) return -1;
  size_t c = *cap ? *cap * 2 : 32;
  void *p = realloc(*v, c * elem);
  if (p == NULL) return -1;
  *v = p;
  *cap = c;
  return 0;
}

static char (*ifl_row(struct ifl_table *t))[IFL_CELL] {
  if (ifl_grow((void **)&t->cell, &t->cap, t->n, sizeof *t->cell) != 0) return NULL;
  memset(t->cell[t->n], 0, sizeof t->cell[t->n]);
  return t->cell[t->n++];
}

static void ifl_table_print(FILE *out, const struct ifl_table *t) {
  size_t w[IFL_COLS] = {0};
  for (size_t r = 0; r < t->n; r++)
    for (int c = 0; c < t->ncol; c++) {
      size_t l = strlen(t->cell[r][c]);
      if (l > w[c]) w[c] = l;
    }
  for (size_t r = 0; r < t->n; r++) {
    int last = t->ncol - 1;
    while (last > 0 && t->cell[r][last][0] == 0) last--;
    for (int c = 0; c < last; c++) fprintf(out, "%-*s ", (int)w[c], t->cell[r][c]);
    fputs(t->cell[r][last], out);
    fputc('\n', out);
  }
}

/* ---- parsing helpers -------------------------------------------------------- */

static int ifl_hex(const char *s, size_t n, uint8_t *out) {
  for (size_t i = 0; i < n; i++) {
    int hi = hex_value((unsigned char)s[2 * i]), lo = hi < 0 ? -1 : hex_value((unsigned char)s[2 * i + 1]);
    if (lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

static int ifl_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= IF_NAMESIZE) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] == '/' || s[i] == ':') return 0;
  return 1;
}

static FILE *ifl_open(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (f == NULL) snprintf(err, errlen, "--iflist: cannot read %s: %s", path, strerror(errno));
  return f;
}

/* ---- interfaces --------------------------------------------------------------- */

/* TYPE, UP, MTU and MAC of interface name, from libtrawl's tw_iface_get;
 * an interface the kernel does not know is "other", down, no MTU, no MAC */
static void ifl_link(const char *name, char *type, char *up, char *mtu, char *mac) {
  strcpy(type, "other");
  strcpy(up, "down");
  mtu[0] = mac[0] = 0;
  tw_iface f;
  if (tw_iface_get(name, 0, &f) != 0) return;
  strcpy(up, (f.flags & IFF_UP) ? "up" : "down");
  snprintf(mtu, IFL_CELL, "%u", f.mtu);
  switch (f.arptype) {
  case ARPHRD_ETHER:
    strcpy(type, "ethernet");
    if (f.has_mac)
      snprintf(mac, IFL_CELL, "%02X:%02X:%02X:%02X:%02X:%02X", f.mac[0], f.mac[1], f.mac[2],
               f.mac[3], f.mac[4], f.mac[5]);
    break;
  case ARPHRD_LOOPBACK: strcpy(type, "loopback"); break;
  case ARPHRD_PPP: strcpy(type, "point2point"); break;
  default: break;
  }
}

static int ifl_prefix4(const struct sockaddr *mask) {
  if (mask == NULL || mask->sa_family != AF_INET) return 0;
  uint32_t m = ntohl(((const struct sockaddr_in *)mask)->sin_addr.s_addr);
  return __builtin_popcount(m);
}

static void ifl_addr_row(struct ifl_table *t, const char *name, const char *addr,
                         const char (*link)[IFL_CELL]) {
  char(*r)[IFL_CELL] = ifl_row(t);
  if (r == NULL) return;
  snprintf(r[0], IFL_CELL, "%s", name);
  snprintf(r[1], IFL_CELL, "(%s)", name);
  snprintf(r[2], IFL_CELL, "%s", addr);
  for (int i = 0; i < 4; i++) memcpy(r[3 + i], link[i], IFL_CELL);
}

/* /proc/net/if_inet6: every IPv6 address as "ADDR/PLEN" and its interface,
 * in the file's order; NULL when IPv6 is off (no file) or memory is short. */
struct ifl_addr6 {
  char name[IF_NAMESIZE + 1];
  char cell[IFL_CELL];
};

static struct ifl_addr6 *ifl_inet6(const char *path, size_t *n, size_t *skipped) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return NULL;
  struct ifl_addr6 *v = NULL;
  size_t cap = 0;
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    char hex[33], name[IF_NAMESIZE + 1];
    unsigned idx, plen, scope, flags;
    uint8_t a[16];
    if (sscanf(line, "%32s %x %x %x %x %16s", hex, &idx, &plen, &scope, &flags, name) != 6 ||
        strlen(hex) != 32 || ifl_hex(hex, 16, a) != 0 || plen > 128 || !ifl_name_ok(name)) {
      (*skipped)++;
      continue;
    }
    if (ifl_grow((void **)&v, &cap, *n, sizeof *v) != 0) break;
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a, buf, sizeof buf);
    snprintf(v[*n].name, sizeof v[*n].name, "%s", name);
    snprintf(v[*n].cell, sizeof v[*n].cell, "%s/%u", buf, plen);
    (*n)++;
  }
  fclose(f);
  return v;
}

static int ifl_interfaces(struct ifl_table *t, const struct iflist_src *src, size_t *skipped,
                          char *err, size_t errlen) {
  FILE *dev = ifl_open(src->dev, err, errlen);
  if (dev == NULL) return -1;
  size_t n6 = 0;
  struct ifl_addr6 *v6 = ifl_inet6(src->if_inet6, &n6, skipped);
  struct ifaddrs *ifa = NULL;
  if (getifaddrs(&ifa) != 0) ifa = NULL;
  char line[512];
  int lineno = 0;
  while (fgets(line, sizeof line, dev) != NULL) {
    if (++lineno <= 2) continue; /* the two header lines */
    char *colon = strchr(line, ':');
    char name[IF_NAMESIZE + 1];
    if (colon == NULL || sscanf(line, " %16[^:]", name) != 1 || !ifl_name_ok(name)) {
      (*skipped)++;
      continue;
    }
    char link[4][IFL_CELL];
    ifl_link(name, link[0], link[1], link[2], link[3]);
    size_t before = t->n;
    for (struct ifaddrs *a = ifa; a != NULL; a = a->ifa_next) {
      if (a->ifa_addr == NULL || a->ifa_addr->sa_family != AF_INET || strcmp(a->ifa_name, name))
        continue;
      char buf[INET_ADDRSTRLEN], cell[IFL_CELL];
      inet_ntop(AF_INET, &((const struct sockaddr_in *)a->ifa_addr)->sin_addr, buf, sizeof buf);
      snprintf(cell, sizeof cell, "%s/%d", buf, ifl_prefix4(a->ifa_netmask));
      ifl_addr_row(t, name, cell, (const char(*)[IFL_CELL])link);
    }
    for (size_t i = 0; i < n6; i++)
      if (strcmp(v6[i].name, name) == 0) ifl_addr_row(t, name, v6[i].cell, (const char(*)[IFL_CELL])link);
    if (t->n == before) ifl_addr_row(t, name, "(none)/0", (const char(*)[IFL_CELL])link);
  }
  if (ifa) freeifaddrs(ifa);
  free(v6);
  fclose(dev);
  return 0;
}

/* ---- routes --------------------------------------------------------------------- */

struct ifl_route {
  int family, plen;
  size_t order;
  char row[4][IFL_CELL]; /* DST/MASK DEV METRIC GATEWAY */
};

static int ifl_route_cmp(const void *a, const void *b) {
  const struct ifl_route *x = a, *y = b;
  if (x->family != y->family) return x->family == AF_INET ? -1 : 1;
  if (x->plen != y->plen) return y->plen - x->plen;
  return x->order < y->order ? -1 : x->order > y->order;
}

struct ifl_routes {
  struct ifl_route *v;
  size_t n, cap;
};

static struct ifl_route *ifl_route_add(struct ifl_routes *rs) {
  if (ifl_grow((void **)&rs->v, &rs->cap, rs->n, sizeof *rs->v) != 0) return NULL;
  struct ifl_route *r = &rs->v[rs->n];
  memset(r, 0, sizeof *r);
  r->order = rs->n++;
  return r;
}

#define IFL_RTF_GATEWAY 0x0002u
#define IFL_RTF_REJECT 0x0200u

static void ifl_routes4(FILE *f, struct ifl_routes *rs, size_t *skipped) {
  char line[512];
  int lineno = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (++lineno == 1) continue; /* header */
    char dev[IF_NAMESIZE + 1];
    unsigned long dst, gw, mask, metric;
    unsigned flags;
    int refcnt, use;
    if (sscanf(line, "%16s %lx %lx %x %d %d %lu %lx", dev, &dst, &gw, &flags, &refcnt, &use,
               &metric, &mask) != 8 ||
        !ifl_name_ok(dev) || dst > UINT32_MAX || gw > UINT32_MAX || mask > UINT32_MAX ||
        metric > UINT32_MAX) {
      (*skipped)++;
      continue;
    }
    if (flags & IFL_RTF_REJECT) continue;
    struct ifl_route *r = ifl_route_add(rs);
    if (r == NULL) return;
    /* the kernel prints each address as the u32 it holds (network order) */
    struct in_addr d = {(uint32_t)dst}, g = {(uint32_t)gw};
    char a[INET_ADDRSTRLEN];
    r->family = AF_INET;
    r->plen = __builtin_popcount((uint32_t)mask);
    snprintf(r->row[0], IFL_CELL, "%s/%d", inet_ntop(AF_INET, &d, a, sizeof a), r->plen);
    snprintf(r->row[1], IFL_CELL, "%s", dev);
    snprintf(r->row[2], IFL_CELL, "%lu", metric);
    if ((flags & IFL_RTF_GATEWAY) && gw != 0)
      snprintf(r->row[3], IFL_CELL, "%s", inet_ntop(AF_INET, &g, a, sizeof a));
  }
}

static void ifl_routes6(FILE *f, struct ifl_routes *rs, size_t *skipped) {
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    char dst[33], src[33], hop[33], dev[IF_NAMESIZE + 1];
    unsigned plen, slen, metric, refcnt, use, flags;
    uint8_t d[16], h[16];
    if (sscanf(line, "%32s %x %32s %x %32s %x %x %x %x %16s", dst, &plen, src, &slen, hop,
               &metric, &refcnt, &use, &flags, dev) != 10 ||
        strlen(dst) != 32 || strlen(hop) != 32 || plen > 128 || !ifl_name_ok(dev) ||
        ifl_hex(dst, 16, d) != 0 || ifl_hex(hop, 16, h) != 0) {
      (*skipped)++;
      continue;
    }
    if (flags & IFL_RTF_REJECT) continue;
    struct ifl_route *r = ifl_route_add(rs);
    if (r == NULL) return;
    static const uint8_t zero[16];
    char a[INET6_ADDRSTRLEN];
    r->family = AF_INET6;
    r->plen = (int)plen;
    snprintf(r->row[0], IFL_CELL, "%s/%u", inet_ntop(AF_INET6, d, a, sizeof a), plen);
    snprintf(r->row[1], IFL_CELL, "%s", dev);
    snprintf(r->row[2], IFL_CELL, "%u", metric);
    if (memcmp(h, zero, 16) != 0) snprintf(r->row[3], IFL_CELL, "%s", inet_ntop(AF_INET6, h, a, sizeof a));
  }
}

static int ifl_routes(struct ifl_table *t, const struct iflist_src *src, size_t *skipped,
                      char *err, size_t errlen) {
  struct ifl_routes rs = {0};
  FILE *f4 = ifl_open(src->route, err, errlen);
  if (f4 == NULL) return -1;
  ifl_routes4(f4, &rs, skipped);
  fclose(f4);
  FILE *f6 = fopen(src->ipv6_route, "r"); /* absent when IPv6 is off */
  if (f6 != NULL) {
    ifl_routes6(f6, &rs, skipped);
    fclose(f6);
  }
  if (rs.n > 1) qsort(rs.v, rs.n, sizeof *rs.v, ifl_route_cmp);
  for (size_t i = 0; i < rs.n; i++) {
    char(*r)[IFL_CELL] = ifl_row(t);
    if (r == NULL) break;
    for (int c = 0; c < 4; c++) memcpy(r[c], rs.v[i].row[c], IFL_CELL);
  }
  free(rs.v);
  return 0;
}

/* ---- the two tables ---------------------------------------------------------------- */

int iflist_print(FILE *out, const struct iflist_src *src, size_t *skipped, char *err,
                 size_t errlen) {
  struct ifl_table it = {.ncol = 7}, rt = {.ncol = 4};
  *skipped = 0;
  char(*h)[IFL_CELL] = ifl_row(&it);
  if (h == NULL) return -1;
  static const char *const ih[] = {"DEV", "(SHORT)", "IP/MASK", "TYPE", "UP", "MTU", "MAC"};
  for (int c = 0; c < 7; c++) snprintf(h[c], IFL_CELL, "%s", ih[c]);
  h = ifl_row(&rt);
  static const char *const rh[] = {"DST/MASK", "DEV", "METRIC", "GATEWAY"};
  for (int c = 0; c < 4; c++) snprintf(h[c], IFL_CELL, "%s", rh[c]);
  int rc = ifl_interfaces(&it, src, skipped, err, errlen);
  if (rc == 0) rc = ifl_routes(&rt, src, skipped, err, errlen);
  if (rc == 0) {
    fputs("************************INTERFACES************************\n", out);
    if (it.n > 1) ifl_table_print(out, &it);
    else fputs("INTERFACES: NONE FOUND(!)\n", out);
    fputs("\n**************************ROUTES**************************\n", out);
    if (rt.n > 1) ifl_table_print(out, &rt);
    else fputs("ROUTES: NONE FOUND(!)\n", out);
    fputc('\n', out);
  }
  free(it.cell);
  free(rt.cell);
  return rc;
}
