/* fuzz_merge.c: libFuzzer harness for `trawl merge`'s readers
 * (src/merge/read-xml.c, read-grep.c, read-json.c through mread.h): the
 * input is one output file (XML, grepable or JSON Lines, told apart by its
 * first byte), read from a memfd to its end. Every host read is written
 * again by the XML and JSON writers (to /dev/null) and folded into the
 * host before it (merge-host.c), as the merge does. Checked: a reader
 * ends with MREAD_EOF or -1 with a message naming the file; a host has an
 * address and at most MREAD_MAX_PORTS ports; a fold keeps every port.
 * Seeds: tests/fuzz/corpus/merge/ (outputs of a lab scan, shards, a
 * resumed grepable file). */
#include "fuzz-util.h"

#include "merge/merge.h"
#include "merge/mread.h"
#include "output/output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  FILE *in = fopen(path, "r");
  FILE *null = fopen("/dev/null", "w");
  if (!in || !null) {
    if (in) fclose(in);
    if (null) fclose(null);
    close(fd);
    return 0;
  }
  struct mread r;
  struct host_result prev;
  host_result_init(&prev);
  bool have_prev = false;
  if (mread_open(&r, in, "fuzz.in") == 0) {
    struct output ox, oj;
    struct output_opts oo = {.verbose = 1, .reason = true};
    struct scan_info info = {0};
    bool begun = false;
    int k;
    while ((k = mread_next(&r)) > 0) {
      if (k == MREAD_BEGIN && !begun) {
        info.args = r.begin.args;
        info.start_time = r.begin.start;
        info.types = r.begin.types;
        info.ntypes = r.begin.ntypes;
        output_init(&ox, &output_xml_ops, null, &oo);
        output_init(&oj, &output_json_ops, null, &oo);
        output_begin(&ox, &info);
        output_begin(&oj, &info);
        begun = true;
      } else if (k == MREAD_HOST) {
        FUZZ_CHECK(r.host.addr.family == AF_INET || r.host.addr.family == AF_INET6);
        FUZZ_CHECK(r.host.nports <= MREAD_MAX_PORTS);
        if (begun) {
          output_host(&ox, &r.host);
          output_host(&oj, &r.host);
        }
        if (have_prev) {
          size_t n = prev.nports + r.host.nports;
          FUZZ_CHECK(merge_host_fold(&prev, &r.host) == 0);
          FUZZ_CHECK(prev.nports == n);
          size_t dropped = merge_host_dedup(&prev);
          FUZZ_CHECK(prev.nports + dropped == n);
          host_result_free(&r.host);
        } else {
          prev = r.host;
          host_result_init(&r.host);
          have_prev = true;
        }
      }
    }
    FUZZ_CHECK(k == MREAD_EOF || (k == -1 && strstr(r.err, "fuzz.in") == r.err));
    if (begun) { /* info points into r.begin, which a later header replaced */
      struct scan_end e = {0};
      info.args = "x";
      info.types = NULL;
      info.ntypes = 0;
      output_end(&ox, &e);
      output_end(&oj, &e);
    }
  } else {
    FUZZ_CHECK(strstr(r.err, "fuzz.in") == r.err);
  }
  mread_close(&r);
  host_result_free(&prev);
  fclose(in);
  fclose(null);
  close(fd);
  return 0;
}
