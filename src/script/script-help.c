/* script-help.c: --script-help. Selects scripts as a scan would (an
 * engine on a loop of its own, so a bad expression is the same error) and
 * prints each one's name, categories, file and description. */
#define _GNU_SOURCE
#include <stdio.h>

#include "cli/options.h"
#include "script/script-int.h"

int script_help_cfg(const struct script_config *cfg, FILE *out, char *err, size_t errlen) {
  tw_loop *loop;
  int r = tw_loop_new(&loop);
  if (r < 0) {
    snprintf(err, errlen, "cannot create the event loop: %s", tw_strerror(r));
    return r;
  }
  struct script_engine *e;
  r = script_engine_new_cfg(loop, cfg, &e, err, errlen);
  if (r == 0) {
    for (size_t i = 0; i < e->nscripts; i++) {
      struct script *s = e->scripts[i];
      fprintf(out, "\n%s\n", s->id);
      fputs("Categories:", out);
      for (size_t k = 0; k < s->ncat; k++) fprintf(out, " %s", s->categories[k]);
      fputc('\n', out);
      fprintf(out, "  %s\n", s->path);
      /* description, each line indented */
      const char *d = s->description;
      while (*d == '\n') d++;
      fputs("  ", out);
      for (; *d; d++) {
        fputc(*d, out);
        if (*d == '\n' && d[1]) fputs("  ", out);
      }
      if (d > s->description && d[-1] != '\n') fputc('\n', out);
    }
    script_engine_free(e);
  }
  tw_loop_close(loop);
  return r;
}

int script_help(const struct options *o, FILE *out, char *err, size_t errlen) {
  struct script_config c;
  script_config_from_options(&c, o);
  c.scripts = o->script_help;
  c.version_scripts = false; /* the help is for what --script-help names */
  return script_help_cfg(&c, out, err, errlen);
}
