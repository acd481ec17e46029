/* hook.c: prepare, check and idle hooks — callbacks at fixed points of
 * every loop iteration (the packet layer flushes its send batch in a
 * prepare hook, for instance). */
#include <errno.h>
#include <stdlib.h>

#include "loop-int.h"

struct tw_hook {
  tw_handle h;
  int kind;
  tw_hook_cb cb;
  tw_queue q; /* loop->hooks[kind] while started */
};

static void hook_stop(struct tw_hook *k) {
  if (!(k->h.flags & TW_HF_ACTIVE)) return;
  tw_queue_remove(&k->q);
  if (k->kind == TW_HOOK_IDLE) k->h.loop->idle_hooks--;
  tw__handle_stop(&k->h);
}

static void hook_close(tw_handle *h) { hook_stop((struct tw_hook *)h); }

static void hook_cancel(tw_handle *h) {
  struct tw_hook *k = (struct tw_hook *)h;
  if (!(h->flags & TW_HF_ACTIVE)) return;
  hook_stop(k);
  k->cb(k, -ECANCELED);
}

static void hook_free(tw_handle *h) { free(h); }

static const tw_handle_ops hook_ops = {"hook", hook_close, hook_cancel, hook_free};

int tw_hook_new(tw_loop *loop, tw_hook **out, tw_hook_kind kind, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (kind != TW_HOOK_PREPARE && kind != TW_HOOK_CHECK && kind != TW_HOOK_IDLE)
    return -EINVAL;
  if (loop->closing) return -ECANCELED;
  struct tw_hook *k = malloc(sizeof *k);
  if (!k) return -ENOMEM;
  tw__handle_init(loop, &k->h, &hook_ops, data);
  k->kind = kind;
  k->cb = NULL;
  tw_queue_init(&k->q);
  *out = k;
  return 0;
}

int tw_hook_start(tw_hook *k, tw_hook_cb cb) {
  int err = tw__handle_usable(k, &hook_ops);
  if (err) return err;
  if (!cb) return -EINVAL;
  k->cb = cb;
  if (k->h.flags & TW_HF_ACTIVE) return 0;
  tw_queue_push(&k->h.loop->hooks[k->kind], &k->q);
  if (k->kind == TW_HOOK_IDLE) k->h.loop->idle_hooks++;
  tw__handle_start(&k->h);
  return 0;
}

int tw_hook_stop(tw_hook *k) {
  int err = tw__handle_check(k, &hook_ops);
  if (err) return err;
  hook_stop(k);
  return 0;
}

/* Hooks may stop themselves or others: walk a snapshot, re-queueing each
 * hook that is still started after its callback. */
void tw__hooks_run(tw_loop *loop, int kind) {
  if (tw_queue_empty(&loop->hooks[kind])) return;
  tw_queue todo;
  tw_queue_init(&todo);
  tw_queue_move(&loop->hooks[kind], &todo);
  tw_queue *e;
  while ((e = tw_queue_pop(&todo))) {
    struct tw_hook *k = tw_queue_entry(e, struct tw_hook, q);
    tw_queue_push(&loop->hooks[kind], &k->q);
    k->cb(k, 0);
  }
}
