/* service-fp.c: building the SF-Port fingerprint (see service-fp.h). */
#include "version/service-fp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VFP_WRAP 74      /* Nmap wraps after 74 characters */
#define VFP_ENOUGH 2200  /* no more responses past this (wrapped) length */

struct vfp_buf {
  char *s;
  size_t len, cap, wrapped; /* wrapped: the length once "\nSF:" are put in */
  int oom;
};

static void vfp_putc(struct vfp_buf *b, char c) {
  if (b->oom) return;
  if (b->len + 2 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 1024;
    char *s = realloc(b->s, cap);
    if (s == NULL) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
  if (b->wrapped % (VFP_WRAP + 1) == VFP_WRAP) b->wrapped += 4;
  b->wrapped++;
  b->s[b->len++] = c;
  b->s[b->len] = '\0';
}

static void vfp_puts(struct vfp_buf *b, const char *s) {
  while (*s) vfp_putc(b, *s++);
}

static int vfp_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int vfp_punct(uint8_t c) { return c > 0x20 && c < 0x7f && !vfp_alnum(c); }

static void vfp_byte(struct vfp_buf *b, const uint8_t *d, size_t i, size_t n) {
  uint8_t c = d[i];
  char hex[8];
  if (vfp_alnum(c)) {
    vfp_putc(b, (char)c);
  } else if (c == 0) {
    /* "\0" followed by a digit would read as an octal escape */
    vfp_puts(b, i + 1 < n && d[i + 1] >= '0' && d[i + 1] <= '9' ? "\\x00" : "\\0");
  } else if (strchr("\\?\"[]().*+$^|", c) != NULL) {
    vfp_putc(b, '\\');
    vfp_putc(b, (char)c);
  } else if (vfp_punct(c)) {
    vfp_putc(b, (char)c);
  } else if (c == '\r') {
    vfp_puts(b, "\\r");
  } else if (c == '\n') {
    vfp_puts(b, "\\n");
  } else if (c == '\t') {
    vfp_puts(b, "\\t");
  } else {
    snprintf(hex, sizeof hex, "\\x%02x", c);
    vfp_puts(b, hex);
  }
}

char *vfp_build(const struct vs_result *r, uint16_t port, enum scan_proto proto,
                const struct vfp_info *info) {
  if (r->nfp == 0) return NULL;
  struct vfp_buf b = {0};
  char head[256];
  struct tm tm;
  time_t now = info->now;
  if (localtime_r(&now, &tm) == NULL) memset(&tm, 0, sizeof tm), tm.tm_mon = -1;
  snprintf(head, sizeof head, "SF-Port%u-%s:V=%s%s%%I=%d%%D=%d/%d%%Time=%X%%P=%s", port,
           proto == PROTO_TCP ? "TCP" : "UDP", info->version ? info->version : "",
           info->ssl ? "%T=SSL" : "", info->intensity, tm.tm_mon + 1, tm.tm_mday,
           (unsigned)(uint32_t)now, info->platform ? info->platform : "");
  vfp_puts(&b, head);
  for (unsigned k = 0; k < r->nfp && k < VS_FP_MAX; k++) {
    const struct vs_fp_piece *p = &r->fp[k];
    if (b.wrapped > VFP_ENOUGH) break;
    snprintf(head, sizeof head, "%%r(%s,%zX,\"", p->probe, p->total);
    vfp_puts(&b, head);
    size_t n = p->len < VS_FP_BYTES ? p->len : VS_FP_BYTES;
    for (size_t i = 0; i < n; i++) vfp_byte(&b, p->data, i, n);
    vfp_puts(&b, "\")");
  }
  vfp_putc(&b, ';');
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  return b.s;
}
