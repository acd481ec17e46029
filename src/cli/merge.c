/* merge.c: `trawl merge [-oX F] [-oN F] [-oG F] [-oJ F] [-oA BASE]
 * [--allow-partial] IN...`: the outputs of the shards of one scan
 * (--shards N --shard I --seed S) merged into the output one unsharded
 * scan would have written (docs/merge.md).
 *
 * Every input is read by src/merge/mread.h one host at a time. Each shard
 * writes its hosts in target order (IPv4 ascending, then IPv6), and every
 * shard reports every live host with its own share of the ports, so the
 * merge is a k-way merge by address: at each step the smallest address at
 * the head of any input, folded together from every input that has it,
 * goes to the ordinary output writers. Memory: one host per input. The
 * shards' pre- and postrule script results (each shard runs them) are
 * written once, the union by script id, before the first host and after
 * the last.
 *
 * Before anything is written: all inputs must be of one scan (the same
 * command line but for --shard and the output files, a --seed when there
 * is more than one shard), every shard 0..N-1 present (else refused,
 * unless --allow-partial) and no shard complete twice. While merging: a
 * host twice in one shard (two copies), hosts out of order, and at the
 * end a file cut short (a killed shard) or a shard interrupted and not
 * resumed. Exit: 0 merged; 1 refused, or incomplete without
 * --allow-partial (what is complete is written and the gap stated in the
 * outputs); 2 a bad command line. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/merge.h"
#include "merge/merge.h"
#include "merge/mread.h"
#include "output/output.h"

enum in_state { IN_OPEN, IN_COMPLETE, IN_INTERRUPTED, IN_CUT };

struct minput {
  const char *path;
  FILE *fp;
  struct mread rd;
  struct merge_args args;
  bool head;       /* rd.host holds the next host */
  bool ended;      /* an END since the last BEGIN */
  enum in_state state;
  struct tgt_addr last;
  bool have_last;
  bool redo;          /* a resumed scan in the same file: it redoes hosts up to last */
  int complete_tail;  /* tail_complete() */
  uint64_t up, total; /* summed over the file's scans (a resumed file holds two) */
  int64_t start, end_time;
  double elapsed;
  struct host_result rules[2]; /* pre- and postrule scripts read so far (hostscripts) */
};

struct merge {
  struct minput *in;
  size_t nin;
  bool allow_partial;
  const char *out_path[4];
  FILE *out_fp[4];
  struct output outs[4];
  int nouts;
  struct scan_info info;
  uint64_t shards;
  uint64_t up; /* hosts written up */
  struct minput **by_shard; /* merge_hosts: [shards] */
  char gap[1024];
};

static const struct output_ops *const merge_ops[4] = {&output_normal_ops, &output_xml_ops,
                                                      &output_grep_ops, &output_json_ops};

static void merge_usage(FILE *f) {
  fputs("Usage: trawl merge [-oN FILE] [-oX FILE] [-oG FILE] [-oJ FILE] [-oA BASENAME]\n"
        "                   [--allow-partial] INPUT...\n"
        "Merges the outputs (XML, grepable or JSON Lines, told apart by content) of the\n"
        "shards of one scan (--shards N --shard I --seed S) into one output, hosts and\n"
        "ports in target order. Without -o options the normal output goes to stdout.\n"
        "  --allow-partial: merge although a shard is missing or incomplete (the gap\n"
        "                   is stated in the outputs) and exit 0\n", f);
}

/* ---- reading ------------------------------------------------------------------ */

/* The next host of the input into its head (none at the end: head false,
 * state set). 0, or -1 (message printed). */
static int advance(struct minput *in) {
  in->head = false;
  for (;;) {
    int k = mread_next(&in->rd);
    if (k < 0) {
      fprintf(stderr, "trawl merge: %s\n", in->rd.err);
      return -1;
    }
    if (k == MREAD_EOF) {
      if (in->rd.in_host || !in->ended) in->state = IN_CUT;
      else if (in->rd.end.error) in->state = IN_INTERRUPTED;
      else in->state = IN_COMPLETE;
      return 0;
    }
    if (k == MREAD_BEGIN) { /* a resumed scan appended to the same file */
      struct merge_args a;
      if (merge_args_parse(in->rd.begin.args, &a) < 0 || strcmp(a.ident, in->args.ident) != 0 ||
          a.shard != in->args.shard) {
        if (a.ident) merge_args_free(&a);
        fprintf(stderr, "trawl merge: %s: line %lu: a second scan in the file, not the same shard\n",
                in->path, in->rd.line);
        return -1;
      }
      merge_args_free(&a);
      in->ended = false;
      in->redo = in->have_last;
      if (in->rd.begin.start && in->rd.begin.start < in->start) in->start = in->rd.begin.start;
      continue;
    }
    if (k == MREAD_END) {
      in->ended = true;
      in->up += in->rd.end.up;
      in->total += in->rd.end.total;
      if (in->rd.end.time > in->end_time) in->end_time = in->rd.end.time;
      in->elapsed += in->rd.end.elapsed;
      continue;
    }
    if (k == MREAD_RULE) {
      if (merge_host_scripts(&in->rules[in->rd.rule_post], &in->rd.rule) < 0) {
        fprintf(stderr, "trawl merge: out of memory\n");
        return -1;
      }
      continue;
    }
    if (k != MREAD_HOST) continue;
    struct host_result *h = &in->rd.host;
    /* A scan killed outright (SIGKILL) may have written hosts of its last
     * group after its last resume marker; --resume scans that group again
     * and appends it: the first copy is kept, the second dropped. */
    if (in->redo && merge_addr_cmp(&in->last, &h->addr) >= 0) continue;
    in->redo = false;
    if (in->have_last && merge_addr_cmp(&in->last, &h->addr) >= 0) {
      char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
      fprintf(stderr, "trawl merge: %s: line %lu: host %s is not in target order (after %s)\n",
              in->path, in->rd.line, tgt_addr_str(&h->addr, a, sizeof a),
              tgt_addr_str(&in->last, b, sizeof b));
      return -1;
    }
    in->last = h->addr;
    in->have_last = true;
    in->head = true;
    return 0;
  }
}

/* Opens input i and reads up to its first header. 0 or -1. */
static int open_input(struct minput *in) {
  if (strcmp(in->path, "-") == 0) in->fp = stdin;
  else if (!(in->fp = fopen(in->path, "r"))) {
    fprintf(stderr, "trawl merge: cannot read '%s': %s\n", in->path, strerror(errno));
    return -1;
  }
  if (mread_open(&in->rd, in->fp, in->path) < 0) {
    fprintf(stderr, "trawl merge: %s\n", in->rd.err);
    return -1;
  }
  int k;
  while ((k = mread_next(&in->rd)) == MREAD_MARK) {}
  if (k != MREAD_BEGIN) {
    if (k < 0) fprintf(stderr, "trawl merge: %s\n", in->rd.err);
    else fprintf(stderr, "trawl merge: %s: no scan header (\"... scan initiated ... as:\", <nmaprun>, {\"type\":\"scan\"}) first: not a trawl output\n", in->path);
    return -1;
  }
  if (merge_args_parse(in->rd.begin.args, &in->args) < 0) {
    fprintf(stderr, "trawl merge: %s: a bad --shard, --shards or --seed in its command line\n", in->path);
    return -1;
  }
  in->start = in->rd.begin.start;
  return 0;
}

/* Does the file end with a successful end of scan? Read from its tail
 * (0 no, 1 yes, -1 cannot tell: not a regular file). */
static int tail_complete(struct minput *in) {
  FILE *f = fopen(in->path, "r");
  if (!f) return -1;
  char buf[8192];
  if (fseeko(f, 0, SEEK_END) != 0) {
    fclose(f);
    return -1;
  }
  off_t size = ftello(f);
  off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
  size_t n = 0;
  if (size >= 0 && fseeko(f, from, SEEK_SET) == 0) n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  for (size_t i = 0; i < n; i++)
    if (!buf[i]) buf[i] = ' ';
  const char *last = NULL;
  switch (in->rd.fmt) {
    case MREAD_XML:
      for (const char *p = buf; (p = strstr(p, "<finished ")); p++) last = p;
      return last && strstr(last, "exit=\"success\"") && strstr(last, "</nmaprun>") ? 1 : 0;
    case MREAD_JSON:
      for (const char *p = buf; (p = strstr(p, "{\"type\":\"done\"")); p++) last = p;
      return last && strstr(last, "\"exit\":\"success\"") && strchr(last, '\n') ? 1 : 0;
    default:
      for (const char *p = buf; (p = strstr(p, "# Trawl done at ")); p++) last = p;
      if (!last || !strchr(last, '\n')) return 0;
      const char *dash = strstr(last, " -- ");
      return dash && !memchr(last, '(', (size_t)(dash - last)) ? 1 : 0;
  }
}

/* ---- the checks before writing -------------------------------------------------- */

static int check_inputs(struct merge *m) {
  struct minput *a = &m->in[0];
  m->shards = a->args.shards;
  for (size_t i = 1; i < m->nin; i++) {
    struct minput *b = &m->in[i];
    if (strcmp(a->args.ident, b->args.ident) != 0) {
      char wa[64], wb[64];
      merge_args_diff(a->args.ident, b->args.ident, wa, wb, sizeof wa);
      fprintf(stderr,
              "trawl merge: '%s' and '%s' are not shards of one scan: their command lines differ ('%s' vs '%s')\n",
              a->path, b->path, wa, wb);
      return -1;
    }
  }
  if (m->shards > 1 && !a->args.has_seed) {
    fprintf(stderr, "trawl merge: '%s' was run without --seed: shards of one scan need the same --seed\n",
            a->path);
    return -1;
  }
  if (m->shards > 4096) {
    fprintf(stderr, "trawl merge: more than 4096 shards (--shards %" PRIu64 ")\n", m->shards);
    return -1;
  }
  /* every shard present; none complete twice */
  size_t gl = 0;
  for (uint64_t s = 0; s < m->shards; s++) {
    size_t first_complete = SIZE_MAX;
    bool present = false;
    for (size_t i = 0; i < m->nin; i++) {
      if (m->in[i].args.shard != s) continue;
      present = true;
      if ((m->in[i].complete_tail = tail_complete(&m->in[i])) != 1) continue;
      if (first_complete != SIZE_MAX) {
        fprintf(stderr, "trawl merge: '%s' and '%s' are two copies of shard %" PRIu64 " of %" PRIu64 "\n",
                m->in[first_complete].path, m->in[i].path, s, m->shards);
        return -1;
      }
      first_complete = i;
    }
    if (present) continue;
    if (!m->allow_partial) {
      fprintf(stderr,
              "trawl merge: shard %" PRIu64 " of %" PRIu64 " is missing (--shard %" PRIu64 "); "
              "--allow-partial merges without it\n", s, m->shards, s);
      return -1;
    }
    if (gl < sizeof m->gap - 64)
      gl += (size_t)snprintf(m->gap + gl, sizeof m->gap - gl, "%sshard %" PRIu64 " of %" PRIu64 " missing",
                             gl ? "; " : "", s, m->shards);
  }
  return 0;
}

/* ---- writing -------------------------------------------------------------------- */

static int open_outputs(struct merge *m, const struct output_opts *oo) {
  bool to_stdout = false;
  for (int k = 0; k < 4; k++) {
    if (!m->out_path[k]) continue;
    FILE *f = strcmp(m->out_path[k], "-") == 0 ? stdout : fopen(m->out_path[k], "w");
    if (!f) {
      fprintf(stderr, "trawl merge: cannot write '%s': %s\n", m->out_path[k], strerror(errno));
      return -1;
    }
    to_stdout = to_stdout || f == stdout;
    m->out_fp[k] = f;
    struct output_opts o = *oo;
    o.to_file = f != stdout;
    output_init(&m->outs[m->nouts++], merge_ops[k], f, &o);
  }
  if (m->nouts == 0) { /* no -o: the normal output on stdout */
    m->out_fp[0] = stdout;
    output_init(&m->outs[m->nouts++], &output_normal_ops, stdout, oo);
  }
  return 0;
}

static int write_all(struct merge *m, int (*fn)(struct output *, const void *), const void *arg) {
  int rc = 0;
  for (int k = 0; k < m->nouts; k++)
    if (fn(&m->outs[k], arg) < 0 && rc == 0) rc = -1;
  return rc;
}
static int w_begin(struct output *o, const void *a) { return output_begin(o, a); }
static int w_host(struct output *o, const void *a) { return output_host(o, a); }
static int w_end(struct output *o, const void *a) { return output_end(o, a); }
static int w_pre(struct output *o, const void *a) {
  const struct host_result *h = a;
  return output_prescript(o, h->hostscripts, h->nhostscripts);
}
static int w_post(struct output *o, const void *a) {
  const struct host_result *h = a;
  return output_postscript(o, h->hostscripts, h->nhostscripts);
}

/* The inputs' pre- (post = 0) or postrule (1) script results, the union
 * by id, written. 0, or -1 (message printed). */
static int merge_rules(struct merge *m, int post) {
  struct host_result all;
  host_result_init(&all);
  int rc = 0;
  for (size_t i = 0; i < m->nin && rc == 0; i++)
    if (merge_host_scripts(&all, &m->in[i].rules[post]) < 0) {
      fprintf(stderr, "trawl merge: out of memory\n");
      rc = -1;
    }
  if (rc == 0 && all.nhostscripts && write_all(m, post ? w_post : w_pre, &all) < 0) rc = -1;
  host_result_free(&all);
  return rc;
}

/* Merge every input's hosts in address order. 0, or -1 (message printed). */
static int merge_hosts(struct merge *m) {
  for (size_t i = 0; i < m->nin; i++)
    if (advance(&m->in[i]) < 0) return -1;
  /* every input is at its first host (or its end): its prerule scripts,
   * written before any host, have been read */
  if (merge_rules(m, 0) < 0) return -1;
  for (;;) {
    struct minput *lo = NULL;
    for (size_t i = 0; i < m->nin; i++)
      if (m->in[i].head && (!lo || merge_addr_cmp(&m->in[i].rd.host.addr, &lo->rd.host.addr) < 0))
        lo = &m->in[i];
    if (!lo) return 0;
    struct host_result h = lo->rd.host; /* taken over */
    host_result_init(&lo->rd.host);
    struct tgt_addr at = h.addr;
    struct minput **by_shard = m->by_shard; /* which input gave each shard's copy */
    for (size_t i = 0; i < m->nin; i++) by_shard[m->in[i].args.shard] = NULL;
    for (size_t i = 0; i < m->nin; i++) {
      struct minput *in = &m->in[i];
      if (!(in == lo || (in->head && merge_addr_cmp(&in->rd.host.addr, &at) == 0))) continue;
      uint64_t s = in->args.shard;
      struct minput *prev = by_shard[s];
      if (prev) {
        /* The same shard twice: a killed scan's last group, which its
         * --resume'd continuation (a file of its own: X.xml.resumed)
         * scanned again, is fine (one copy kept); anything else is two
         * copies of the shard. */
        const struct minput *cut = prev->complete_tail == 1 ? in : prev, *cont = cut == in ? prev : in;
        if (cut->complete_tail == 1 || cont->complete_tail != 1 || cut->start > cont->start) {
          char a[INET6_ADDRSTRLEN];
          fprintf(stderr, "trawl merge: '%s' and '%s' both hold host %s of shard %" PRIu64
                          ": two copies of one shard\n",
                  prev->path, in->path, tgt_addr_str(&at, a, sizeof a), s);
          host_result_free(&h);
          return -1;
        }
        host_result_free(&in->rd.host);
      } else if (in != lo) {
        int r = merge_host_fold(&h, &in->rd.host);
        host_result_free(&in->rd.host);
        if (r < 0) {
          fprintf(stderr, "trawl merge: out of memory\n");
          host_result_free(&h);
          return -1;
        }
      }
      by_shard[s] = in;
      if (advance(in) < 0) {
        host_result_free(&h);
        return -1;
      }
    }
    merge_host_dedup(&h);
    if (h.status == HOST_UP) m->up++;
    int r = write_all(m, w_host, &h);
    host_result_free(&h);
    if (r < 0) return -1;
  }
}

/* After the hosts: what is incomplete, stated in m->gap; true when all is. */
static bool note_incomplete(struct merge *m) {
  bool all = true;
  size_t gl = strlen(m->gap);
  for (uint64_t s = 0; s < m->shards; s++) {
    struct minput *bad = NULL;
    bool complete = false, present = false;
    for (size_t i = 0; i < m->nin; i++) {
      if (m->in[i].args.shard != s) continue;
      present = true;
      if (m->in[i].state == IN_COMPLETE) complete = true;
      else if (!bad || m->in[i].state == IN_CUT) bad = &m->in[i];
    }
    if (!present) {
      all = false;
      continue;
    }
    if (complete || !bad) continue;
    all = false;
    char where[160];
    if (bad->rd.in_host && bad->rd.cur_addr[0])
      snprintf(where, sizeof where, "inside host %s", bad->rd.cur_addr);
    else if (bad->rd.last_addr[0])
      snprintf(where, sizeof where, "after host %s", bad->rd.last_addr);
    else
      snprintf(where, sizeof where, "before its first host");
    fprintf(stderr, "trawl merge: %s: shard %" PRIu64 " of %" PRIu64 " is incomplete: %s %s %s (%" PRIu64
                    " complete hosts merged)%s\n",
            m->allow_partial ? "warning" : "error", s, m->shards, bad->path,
            bad->state == IN_CUT ? "is cut off" : "was interrupted", where, bad->rd.nhosts,
            bad->state == IN_INTERRUPTED ? "; trawl --resume continues it" : "");
    if (gl < sizeof m->gap - 64)
      gl += (size_t)snprintf(m->gap + gl, sizeof m->gap - gl, "%sshard %" PRIu64 " of %" PRIu64
                             " incomplete (%s stops %s)", gl ? "; " : "", s, m->shards, bad->path, where);
  }
  return all && !m->gap[0];
}

static int run(struct merge *m) {
  for (size_t i = 0; i < m->nin; i++)
    if (open_input(&m->in[i]) < 0) return 1;
  if (check_inputs(m) < 0) return 1;
  struct minput *a = &m->in[0];
  /* the whole scan's header: the first shard's, without --shard/--shards */
  m->info.args = a->args.merged;
  m->info.start_time = a->start;
  for (size_t i = 1; i < m->nin; i++)
    if (m->in[i].start && m->in[i].start < m->info.start_time) m->info.start_time = m->in[i].start;
  m->info.verbose = a->rd.begin.verbose;
  m->info.debug = a->rd.begin.debug;
  for (size_t i = 0; i < m->nin && !m->info.ntypes; i++) /* grepable without -v has none */
    if (m->in[i].rd.begin.ntypes) {
      m->info.types = m->in[i].rd.begin.types;
      m->info.ntypes = m->in[i].rd.begin.ntypes;
    }
  m->info.version_scan = a->rd.version_scan;
  struct output_opts oo = {0};
  oo.verbose = m->info.verbose;
  oo.debug = m->info.debug;
  for (const char *p = a->args.merged; *p;) { /* --reason, --open */
    size_t l = strcspn(p, " ");
    if (l == 8 && strncmp(p, "--reason", 8) == 0) oo.reason = true;
    if (l == 6 && strncmp(p, "--open", 6) == 0) oo.open_only = true;
    p += l;
    p += strspn(p, " ");
  }
  for (size_t i = 0; i < m->nin && !oo.stylesheet; i++)
    if (m->in[i].rd.stylesheet && m->in[i].rd.stylesheet[0]) oo.stylesheet = m->in[i].rd.stylesheet;
  if (open_outputs(m, &oo) < 0) return 1;
  int rc = write_all(m, w_begin, &m->info) < 0 ? 1 : 0;
  /* the types belong to an input's header, which a resumed scan in the
   * same file replaces: the writers need them at the beginning only */
  m->info.types = NULL;
  m->info.ntypes = 0;
  if (!(m->by_shard = calloc(m->shards, sizeof *m->by_shard))) return 1;
  if (merge_hosts(m) < 0) return 1;
  if (merge_rules(m, 1) < 0) rc = 1;
  bool complete = note_incomplete(m);
  struct scan_end e = {0};
  int64_t end_time = 0;
  double elapsed = 0;
  uint64_t total = 0, up = 0;
  for (uint64_t s = 0; s < m->shards; s++) { /* per shard: its pieces summed */
    uint64_t t = 0, u = 0;
    for (size_t i = 0; i < m->nin; i++)
      if (m->in[i].args.shard == s) t += m->in[i].total, u += m->in[i].up;
    if (t > total) total = t;
    if (u > up) up = u;
  }
  for (size_t i = 0; i < m->nin; i++) {
    if (m->in[i].end_time > end_time) end_time = m->in[i].end_time;
    if (m->in[i].elapsed > elapsed) elapsed = m->in[i].elapsed;
  }
  if (end_time == 0) end_time = m->info.start_time;
  if ((double)(end_time - m->info.start_time) > elapsed) elapsed = (double)(end_time - m->info.start_time);
  e.end_time = end_time;
  e.elapsed = elapsed;
  e.hosts_up = m->up > up ? m->up : up;
  e.hosts_total = total > e.hosts_up ? total : e.hosts_up;
  e.hosts_down = e.hosts_total - e.hosts_up;
  char why[1100];
  if (!complete) {
    snprintf(why, sizeof why, "partial merge: %s", m->gap);
    e.errormsg = why;
  }
  if (write_all(m, w_end, &e) < 0) rc = 1;
  if (rc) fprintf(stderr, "trawl merge: cannot write the output\n");
  if (!complete && !m->allow_partial) rc = 1;
  return rc;
}

int merge_main(int argc, char **argv) {
  struct merge m = {0};
  const char **ins = calloc((size_t)argc, sizeof *ins);
  char *base[4] = {NULL, NULL, NULL, NULL};
  int nin = 0, rc = 2;
  if (!ins) return 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int k = -1;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      merge_usage(stdout);
      rc = 0;
      goto out;
    }
    if (strcmp(a, "--allow-partial") == 0) {
      m.allow_partial = true;
      continue;
    }
    if (strcmp(a, "-oN") == 0) k = 0;
    else if (strcmp(a, "-oX") == 0) k = 1;
    else if (strcmp(a, "-oG") == 0) k = 2;
    else if (strcmp(a, "-oJ") == 0) k = 3;
    else if (strcmp(a, "-oA") == 0) k = 4;
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "trawl merge: unknown option '%s' (trawl merge --help)\n", a);
      goto out;
    }
    if (k < 0) {
      ins[nin++] = a;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "trawl merge: %s needs a file name\n", a);
      goto out;
    }
    const char *v = argv[++i];
    if (k < 4) {
      m.out_path[k] = v;
      continue;
    }
    for (int x = 0; x < 4; x++) { /* merge_ops' order is output_all_ext's */
      size_t l = strlen(v) + 8;
      free(base[x]);
      if (!(base[x] = malloc(l))) goto out;
      snprintf(base[x], l, "%s%s", v, output_all_ext[x]);
      m.out_path[x] = base[x];
    }
  }
  if (nin == 0) {
    fprintf(stderr, "trawl merge: no input files (trawl merge --help)\n");
    goto out;
  }
  if (!(m.in = calloc((size_t)nin, sizeof *m.in))) goto out;
  m.nin = (size_t)nin;
  for (int i = 0; i < nin; i++) {
    m.in[i].path = ins[i];
    host_result_init(&m.in[i].rd.host);
    host_result_init(&m.in[i].rd.rule);
    host_result_init(&m.in[i].rules[0]);
    host_result_init(&m.in[i].rules[1]);
  }
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < nin; i++)
      if (m.out_path[k] && strcmp(m.out_path[k], "-") != 0 && strcmp(m.out_path[k], ins[i]) == 0) {
        fprintf(stderr, "trawl merge: '%s' is both an input and an output\n", ins[i]);
        goto out;
      }
  rc = run(&m);
out:
  for (size_t i = 0; i < m.nin; i++) {
    mread_close(&m.in[i].rd);
    host_result_free(&m.in[i].rules[0]);
    host_result_free(&m.in[i].rules[1]);
    merge_args_free(&m.in[i].args);
    if (m.in[i].fp && m.in[i].fp != stdin) fclose(m.in[i].fp);
  }
  for (int k = 0; k < 4; k++) {
    if (m.out_fp[k] && m.out_fp[k] != stdout && fclose(m.out_fp[k]) != 0 && rc == 0) {
      fprintf(stderr, "trawl merge: cannot write '%s': %s\n", m.out_path[k], strerror(errno));
      rc = 1;
    }
    free(base[k]);
  }
  fflush(stdout);
  free(m.in);
  free(m.by_shard);
  free(ins);
  return rc;
}
