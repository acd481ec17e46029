/* result.c: names of result values and the helpers that build and free
 * host results (see result.h). */
#define _GNU_SOURCE
#include "core/result.h"

#include "core/os-result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *port_state_name(enum port_state s) {
  static const char *const names[PORT_NSTATES] = {
      "open", "closed", "filtered", "unfiltered", "open|filtered",
      "closed|filtered"};
  return (unsigned)s < PORT_NSTATES ? names[s] : "unknown";
}

const char *scan_type_name(enum scan_type t) {
  switch (t) {
    case SCAN_SYN: return "syn";
    case SCAN_CONNECT: return "connect";
    case SCAN_ACK: return "ack";
    case SCAN_UDP: return "udp";
    case SCAN_NULL: return "null";
    case SCAN_FIN: return "fin";
    case SCAN_XMAS: return "xmas";
    case SCAN_MAIMON: return "maimon";
    case SCAN_WINDOW: return "window";
    case SCAN_NTYPES: break;
  }
  return "syn";
}

/* strdup that keeps NULL as NULL; *ok cleared on failure. */
static char *res_dup(const char *s, bool *ok) {
  if (s == NULL) return NULL;
  char *d = strdup(s);
  if (d == NULL) *ok = false;
  return d;
}

/* Grows an array of `size`-byte items to hold n+1. */
static int res_grow(void **v, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 4;
  void *nv = realloc(*v, nc * size);
  if (nv == NULL) return -ENOMEM;
  *v = nv;
  *cap = nc;
  return 0;
}

void host_result_init(struct host_result *h) {
  memset(h, 0, sizeof *h);
  h->status = HOST_UNKNOWN;
  h->distance = -1;
  h->srtt_us = h->rttvar_us = h->timeout_us = -1;
}

static void snode_free(struct script_node *n) {
  for (size_t i = 0; i < n->nchild; i++) snode_free(&n->child[i]);
  free(n->child);
  free(n->key);
  free(n->value);
}

static void script_free(struct script_result *s) {
  free(s->id);
  free(s->output);
  snode_free(&s->tree);
}

static void port_version_free(struct port_version *v) {
  if (v == NULL) return;
  free(v->product);
  free(v->version);
  free(v->extrainfo);
  free(v->hostname);
  free(v->ostype);
  free(v->devicetype);
  for (size_t i = 0; i < v->ncpe; i++) free(v->cpe[i]);
  free(v->cpe);
  free(v->fingerprint);
  free(v);
}

int port_set_version(struct port_result *p, const char *name, const struct port_version *v) {
  bool ok = true;
  struct port_version *d = calloc(1, sizeof *d);
  char *n = res_dup(name, &ok);
  if (d == NULL || !ok) {
    free(d);
    free(n);
    return -ENOMEM;
  }
  d->product = res_dup(v->product, &ok);
  d->version = res_dup(v->version, &ok);
  d->extrainfo = res_dup(v->extrainfo, &ok);
  d->hostname = res_dup(v->hostname, &ok);
  d->ostype = res_dup(v->ostype, &ok);
  d->devicetype = res_dup(v->devicetype, &ok);
  d->fingerprint = res_dup(v->fingerprint, &ok);
  d->probed = v->probed;
  d->ssl = v->ssl;
  d->conf = v->conf;
  if (v->ncpe && (d->cpe = calloc(v->ncpe, sizeof *d->cpe)) == NULL) ok = false;
  for (size_t i = 0; ok && i < v->ncpe; i++, d->ncpe++) d->cpe[i] = res_dup(v->cpe[i], &ok);
  if (!ok) {
    port_version_free(d);
    free(n);
    return -ENOMEM;
  }
  port_version_free(p->version);
  p->version = d;
  if (n) {
    free(p->service);
    p->service = n;
  }
  return 0;
}

void port_result_free(struct port_result *p) {
  free(p->reason);
  free(p->service);
  port_version_free(p->version);
  free(p->synack);
  for (size_t k = 0; k < p->nscripts; k++) script_free(&p->scripts[k]);
  free(p->scripts);
}

void host_result_free(struct host_result *h) {
  free(h->mac_vendor);
  for (size_t i = 0; i < h->nnames; i++) free(h->names[i].name);
  free(h->names);
  free(h->reason);
  for (size_t i = 0; i < h->nports; i++) port_result_free(&h->ports[i]);
  free(h->ports);
  for (size_t i = 0; i < h->nbulk; i++) free(h->bulk[i].reason);
  free(h->bulk);
  for (size_t i = 0; i < h->nhostscripts; i++) script_free(&h->hostscripts[i]);
  free(h->hostscripts);
  os_result_free(h->os);
  host_trace_free(h->trace);
  host_result_init(h);
}

void host_trace_free(struct host_trace *t) {
  if (!t) return;
  for (size_t i = 0; i < t->nhops; i++) free(t->hops[i].name);
  free(t->hops);
  free(t);
}

int host_add_hostname(struct host_result *h, const char *name,
                      enum hostname_type type) {
  size_t cap = h->nnames;
  void *v = h->names;
  if (res_grow(&v, &cap, h->nnames, sizeof *h->names) < 0) return -ENOMEM;
  h->names = v;
  bool ok = true;
  char *d = res_dup(name, &ok);
  if (!ok || d == NULL) return -ENOMEM;
  h->names[h->nnames++] = (struct hostname){d, type};
  return 0;
}

int host_set_reason(struct host_result *h, enum host_status st,
                    const char *reason, int ttl) {
  bool ok = true;
  char *d = res_dup(reason, &ok);
  if (!ok) return -ENOMEM;
  free(h->reason);
  h->reason = d;
  h->status = st;
  h->reason_ttl = ttl;
  return 0;
}

int host_set_mac(struct host_result *h, const uint8_t mac[6],
                 const char *vendor) {
  bool ok = true;
  char *d = res_dup(vendor, &ok);
  if (!ok) return -ENOMEM;
  free(h->mac_vendor);
  h->mac_vendor = d;
  memcpy(h->mac, mac, 6);
  h->has_mac = true;
  return 0;
}

struct port_result *host_add_port(struct host_result *h, enum scan_proto proto,
                                  uint16_t port, enum port_state state,
                                  const char *reason, int ttl,
                                  const char *service) {
  void *v = h->ports;
  if (res_grow(&v, &h->capports, h->nports, sizeof *h->ports) < 0) return NULL;
  h->ports = v;
  bool ok = true;
  struct port_result p = {.proto = proto, .portid = port, .state = state,
                          .reason_ttl = ttl};
  p.reason = res_dup(reason, &ok);
  p.service = res_dup(service, &ok);
  if (!ok) {
    free(p.reason);
    free(p.service);
    return NULL;
  }
  h->ports[h->nports] = p;
  return &h->ports[h->nports++];
}

int host_add_bulk(struct host_result *h, enum scan_proto proto,
                  enum port_state state, const char *reason, uint64_t count) {
  size_t cap = h->nbulk;
  void *v = h->bulk;
  if (res_grow(&v, &cap, h->nbulk, sizeof *h->bulk) < 0) return -ENOMEM;
  h->bulk = v;
  bool ok = true;
  char *d = res_dup(reason, &ok);
  if (!ok) return -ENOMEM;
  h->bulk[h->nbulk++] = (struct port_bulk){proto, state, d, count};
  return 0;
}

struct script_result *result_add_script(struct host_result *h,
                                        struct port_result *port,
                                        const char *id, const char *output) {
  struct script_result **arr = port ? &port->scripts : &h->hostscripts;
  size_t *n = port ? &port->nscripts : &h->nhostscripts;
  size_t cap = *n;
  void *v = *arr;
  if (res_grow(&v, &cap, *n, sizeof **arr) < 0) return NULL;
  *arr = v;
  bool ok = true;
  struct script_result s = {0};
  s.id = res_dup(id ? id : "", &ok);
  s.output = res_dup(output ? output : "", &ok);
  s.tree.kind = SNODE_TABLE;
  if (!ok) {
    free(s.id);
    free(s.output);
    return NULL;
  }
  (*arr)[*n] = s;
  return &(*arr)[(*n)++];
}

static struct script_node *snode_add(struct script_node *t,
                                     enum script_node_kind kind,
                                     const char *key, const char *value) {
  if (t->kind != SNODE_TABLE) return NULL;
  void *v = t->child;
  if (res_grow(&v, &t->capchild, t->nchild, sizeof *t->child) < 0) return NULL;
  t->child = v;
  bool ok = true;
  struct script_node n = {.kind = kind};
  n.key = res_dup(key, &ok);
  n.value = res_dup(value ? value : (kind == SNODE_ELEM ? "" : NULL), &ok);
  if (!ok) {
    free(n.key);
    free(n.value);
    return NULL;
  }
  t->child[t->nchild] = n;
  return &t->child[t->nchild++];
}

struct script_node *snode_add_elem(struct script_node *table, const char *key,
                                   const char *value) {
  return snode_add(table, SNODE_ELEM, key, value);
}

struct script_node *snode_add_table(struct script_node *table,
                                    const char *key) {
  return snode_add(table, SNODE_TABLE, key, NULL);
}
