/* fp.c: building, printing and parsing a computed OS fingerprint (see
 * fp.h). */
#include "os/fp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/errmsg.h"

void os_fp_init(struct os_fp *fp) {
  fp->tests = 0;
  memset(fp->has, 0, sizeof fp->has);
}

void os_fp_add_test(struct os_fp *fp, enum osdb_test t) {
  if ((unsigned)t < OSDB_NTESTS) fp->tests |= (uint16_t)(1u << t);
}

int os_fp_set_key(struct os_fp *fp, unsigned key, const char *value, size_t len) {
  if (key >= OSDB_NKEYS || OSDB_KEY_ATTR(key) >= osdb_attr_count(OSDB_KEY_TEST(key)))
    return -EINVAL;
  if (len >= OS_FP_VAL_MAX) return -E2BIG;
  memcpy(fp->text[key], value, len);
  fp->text[key][len] = '\0';
  osdb_value_set(&fp->val[key], fp->text[key], len);
  fp->has[key] = 1;
  os_fp_add_test(fp, OSDB_KEY_TEST(key));
  return 0;
}

int os_fp_set(struct os_fp *fp, enum osdb_test t, const char *attr, const char *value) {
  int key = (unsigned)t < OSDB_NTESTS ? osdb_key_lookup(t, attr, strlen(attr)) : -1;
  if (key < 0) return -EINVAL;
  return os_fp_set_key(fp, (unsigned)key, value, strlen(value));
}

int os_fp_set_hex(struct os_fp *fp, enum osdb_test t, const char *attr, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRIX64, v);
  return os_fp_set(fp, t, attr, buf);
}

const char *os_fp_get(const struct os_fp *fp, enum osdb_test t, const char *attr) {
  int key = (unsigned)t < OSDB_NTESTS ? osdb_key_lookup(t, attr, strlen(attr)) : -1;
  return key >= 0 && fp->has[key] ? fp->text[key] : NULL;
}

size_t os_fp_format(const struct os_fp *fp, char *buf, size_t cap) {
  size_t o = 0;
#define FP_PUT(...)                                                        \
  do {                                                                     \
    int n_ = snprintf(o < cap ? buf + o : NULL, o < cap ? cap - o : 0, __VA_ARGS__); \
    if (n_ > 0) o += (size_t)n_;                                           \
  } while (0)
  for (int t = 0; t < OSDB_NTESTS; t++) {
    if (!(fp->tests & (1u << t))) continue;
    FP_PUT("%s(", osdb_test_name((enum osdb_test)t));
    int first = 1;
    for (unsigned i = 0; i < osdb_attr_count((enum osdb_test)t); i++) {
      unsigned k = OSDB_KEY(t, i);
      if (!fp->has[k]) continue;
      FP_PUT("%s%s=%s", first ? "" : "%", osdb_attr_name((enum osdb_test)t, i), fp->text[k]);
      first = 0;
    }
    FP_PUT(")\n");
  }
#undef FP_PUT
  if (cap > 0 && o >= cap) buf[cap - 1] = '\0';
  return o;
}

/* Parses one test body "A=v%B=w" of test t. */
static int fp_parse_body(struct os_fp *fp, enum osdb_test t, const char *a, const char *be,
                         unsigned lineno, char *err, size_t errlen) {
  char q[ERRMSG_QUOTE_MAX + 8];
  os_fp_add_test(fp, t);
  while (a < be) {
    const char *pct = memchr(a, '%', (size_t)(be - a));
    const char *ae = pct ? pct : be;
    const char *eq = memchr(a, '=', (size_t)(ae - a));
    int key = eq ? osdb_key_lookup(t, a, (size_t)(eq - a)) : -1;
    if (key < 0 || os_fp_set_key(fp, (unsigned)key, eq + 1, (size_t)(ae - eq - 1)) < 0)
      return errmsg_set(err, errlen, TW_EMALFORMED, "line %u: bad attribute '%s'", lineno,
                        errmsg_quote(q, sizeof q, a, (size_t)(ae - a)));
    if (pct == NULL) break;
    a = pct + 1;
  }
  return 0;
}

int os_fp_parse(struct os_fp *fp, const char *text, size_t len, char *err, size_t errlen) {
  os_fp_init(fp);
  /* join Nmap's wrapped "OS:" lines first: a test may be cut anywhere */
  char *buf = malloc(len + 1);
  if (buf == NULL) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  size_t n = 0;
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    while (le > p && (le[-1] == '\r' || le[-1] == ' ')) le--;
    int wrapped = le - p >= 3 && memcmp(p, "OS:", 3) == 0;
    if (wrapped) p += 3;
    memcpy(buf + n, p, (size_t)(le - p));
    n += (size_t)(le - p);
    if (!wrapped) buf[n++] = '\n';
    p = nl ? nl + 1 : end;
  }
  int r = 0;
  unsigned lineno = 1;
  const char *c = buf, *bend = buf + n;
  while (r == 0 && c < bend) {
    const char *open = NULL, *nl = NULL;
    for (const char *x = c; x < bend && !open && !nl; x++) {
      if (*x == '(') open = x;
      if (*x == '\n') nl = x;
    }
    if (open == NULL) { /* nothing more on this line */
      if (nl == NULL) break;
      c = nl + 1;
      lineno++;
      continue;
    }
    const char *close = memchr(open, ')', (size_t)(bend - open));
    const char *eol = memchr(open, '\n', (size_t)(bend - open));
    if (close == NULL || (eol && eol < close)) {
      r = errmsg_set(err, errlen, TW_EMALFORMED, "line %u: no closing ')'", lineno);
      break;
    }
    const char *name = c;
    while (name < open && (*name == ' ' || *name == '\t')) name++;
    int t = osdb_test_lookup(name, (size_t)(open - name));
    if (t >= 0) r = fp_parse_body(fp, (enum osdb_test)t, open + 1, close, lineno, err, errlen);
    c = close + 1;
  }
  free(buf);
  return r;
}
