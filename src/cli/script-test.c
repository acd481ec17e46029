/* script-test.c: `trawl --script-test`, a standalone script runner (for
 * script authors and the tests): its own small option parser, targets
 * given as HOST or HOST:PORT[/udp][=service] (ports taken as open, no
 * scan), the pre-scan, host and post-scan script phases on a loop of its
 * own, and the results written with the normal, XML and JSON writers.
 * Uses only the engine's public face (script/script.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/output.h"
#include "script/script.h"

struct stest {
  bool done;
};

static void stest_done(void *arg) { ((struct stest *)arg)->done = true; }

static int stest_parse_target(const char *spec, struct host_result *h, char *err, size_t errlen) {
  char host[256], rest[64] = "";
  const char *p = spec;
  if (*p == '[') {
    const char *end = strchr(p, ']');
    if (!end || (size_t)(end - p - 1) >= sizeof host) goto bad;
    memcpy(host, p + 1, (size_t)(end - p - 1));
    host[end - p - 1] = 0;
    p = end + 1;
    if (*p == ':') snprintf(rest, sizeof rest, "%s", p + 1);
    else if (*p) goto bad;
  } else {
    const char *c = strchr(p, ':');
    if (c && strchr(c + 1, ':')) c = NULL; /* a bare IPv6 address */
    size_t l = c ? (size_t)(c - p) : strlen(p);
    if (l == 0 || l >= sizeof host) goto bad;
    memcpy(host, p, l);
    host[l] = 0;
    if (c) snprintf(rest, sizeof rest, "%s", c + 1);
  }
  host_result_init(h);
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai) {
    snprintf(err, errlen, "cannot resolve '%s'", host);
    return -1;
  }
  if (ai->ai_family == AF_INET6) {
    h->addr.family = AF_INET6;
    h->addr.u.v6 = ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
  } else {
    h->addr.family = AF_INET;
    h->addr.u.v4 = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
  }
  freeaddrinfo(ai);
  struct in6_addr tmp;
  if (inet_pton(AF_INET, host, &tmp) != 1 && inet_pton(AF_INET6, host, &tmp) != 1)
    host_add_hostname(h, host, HOSTNAME_USER);
  host_set_reason(h, HOST_UP, "user-set", 0);
  if (rest[0]) {
    char *svc = strchr(rest, '=');
    if (svc) *svc++ = 0;
    enum scan_proto proto = PROTO_TCP;
    char *sl = strchr(rest, '/');
    if (sl) {
      *sl++ = 0;
      if (strcmp(sl, "udp") == 0) proto = PROTO_UDP;
      else if (strcmp(sl, "tcp") != 0) goto bad;
    }
    char *endp;
    long port = strtol(rest, &endp, 10);
    if (*endp || port < 0 || port > 65535) goto bad;
    host_add_port(h, proto, (uint16_t)port, PORT_OPEN, "user-set", 0, svc && *svc ? svc : NULL);
  }
  return 0;
bad:
  snprintf(err, errlen, "bad target '%s' (HOST, HOST:PORT[/tcp|/udp][=service])", spec);
  return -1;
}

int script_test_main(int argc, char **argv) {
  struct script_config c = {0};
  const char *ox = NULL, *oj = NULL, *on = NULL;
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--script-test") == 0) first = 2;
  struct host_result *hosts = calloc((size_t)argc, sizeof *hosts);
  struct host_result **hp = calloc((size_t)argc, sizeof *hp);
  size_t nh = 0;
  char err[512];
  int rc = 2;
  if (!hosts || !hp) return 1;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--script") && v) c.scripts = v, i++;
    else if (!strncmp(a, "--script=", 9)) c.scripts = a + 9;
    else if (!strcmp(a, "--script-args") && v) c.script_args = v, i++;
    else if (!strncmp(a, "--script-args=", 14)) c.script_args = a + 14;
    else if (!strcmp(a, "--script-args-file") && v) c.script_args_file = v, i++;
    else if (!strcmp(a, "--script-timeout") && v) c.timeout_ms = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--script-trace")) c.trace = true;
    else if (!strcmp(a, "--datadir") && v) c.datadir = v, i++;
    else if (!strcmp(a, "--script-dir") && v) c.scriptdir = v, i++;
    else if (!strcmp(a, "--dns-servers") && v) c.dns_servers = v, i++;
    else if (!strcmp(a, "--threads") && v) c.max_threads = (unsigned)strtoul(v, NULL, 10), i++;
    else if (!strcmp(a, "-oX") && v) ox = v, i++;
    else if (!strcmp(a, "-oJ") && v) oj = v, i++;
    else if (!strcmp(a, "-oN") && v) on = v, i++;
    else if (!strcmp(a, "-d")) c.debug++;
    else if (a[0] == '-') {
      fprintf(stderr, "trawl: --script-test: unknown option '%s'\n", a);
      goto out;
    } else {
      if (stest_parse_target(a, &hosts[nh], err, sizeof err) < 0) {
        fprintf(stderr, "trawl: %s\n", err);
        goto out;
      }
      /* HOST:PORT given twice for one host: merge */
      size_t k;
      for (k = 0; k < nh; k++)
        if (hosts[k].addr.family == hosts[nh].addr.family &&
            !memcmp(&hosts[k].addr.u, &hosts[nh].addr.u, sizeof hosts[k].addr.u))
          break;
      if (k < nh) {
        for (size_t p = 0; p < hosts[nh].nports; p++)
          host_add_port(&hosts[k], hosts[nh].ports[p].proto, hosts[nh].ports[p].portid,
                        PORT_OPEN, "user-set", 0, hosts[nh].ports[p].service);
        host_result_free(&hosts[nh]);
      } else {
        hp[nh] = &hosts[nh];
        nh++;
      }
    }
  }
  if (!c.scripts) {
    fprintf(stderr, "trawl: --script-test needs --script\n");
    goto out;
  }
  tw_loop *loop;
  if (tw_loop_new(&loop) < 0) {
    rc = 1;
    goto out;
  }
  struct script_engine *e;
  if (script_engine_new_cfg(loop, &c, &e, err, sizeof err) < 0) {
    fprintf(stderr, "trawl: %s\n", err);
    tw_loop_close(loop);
    goto out;
  }
  rc = 0;
  struct stest st = {0};
  script_run_prerules(e, stest_done, &st);
  while (!st.done && tw_loop_run(loop, TW_RUN_ONCE) >= 0) {}
  st.done = false;
  script_run_group(e, hp, nh, NULL, stest_done, &st);
  while (!st.done && tw_loop_run(loop, TW_RUN_ONCE) >= 0) {}
  st.done = false;
  script_run_postrules(e, stest_done, &st);
  while (!st.done && tw_loop_run(loop, TW_RUN_ONCE) >= 0) {}
  /* outputs */
  struct scan_info info = {0};
  info.args = "trawl --script-test";
  info.start_time = time(NULL);
  struct {
    const char *path;
    const struct output_ops *ops;
  } want[3] = {{on ? on : (ox || oj ? NULL : "-"), &output_normal_ops},
               {ox, &output_xml_ops},
               {oj, &output_json_ops}};
  for (int k = 0; k < 3; k++) {
    if (!want[k].path) continue;
    FILE *f = strcmp(want[k].path, "-") ? fopen(want[k].path, "w") : stdout;
    if (!f) {
      fprintf(stderr, "trawl: cannot open '%s': %s\n", want[k].path, strerror(errno));
      rc = 1;
      continue;
    }
    struct output o;
    struct output_opts oo = {0};
    oo.to_file = f != stdout;
    output_init(&o, want[k].ops, f, &oo);
    output_begin(&o, &info);
    size_t n;
    const struct script_result *pre = script_engine_results(e, SCRIPT_PRE, &n);
    output_prescript(&o, pre, n);
    for (size_t i = 0; i < nh; i++) output_host(&o, hp[i]);
    const struct script_result *post = script_engine_results(e, SCRIPT_POST, &n);
    output_postscript(&o, post, n);
    struct scan_end end = {0};
    end.end_time = time(NULL);
    end.hosts_up = end.hosts_total = nh;
    output_end(&o, &end);
    if (f != stdout) fclose(f);
  }
  script_engine_free(e);
  tw_loop_close(loop);
out:
  for (size_t i = 0; i < nh; i++) host_result_free(&hosts[i]);
  free(hosts);
  free(hp);
  return rc;
}
