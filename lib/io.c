/* io.c: tw_io, the public "tell me when this fd is ready" handle. A thin
 * shell over the loop's internal tw_watch. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "loop-int.h"

struct tw_io {
  tw_handle h;
  tw_watch w;
  tw_io_cb cb;
};

static void io_close(tw_handle *h) {
  struct tw_io *io = (struct tw_io *)h;
  tw__watch_remove(h->loop, &io->w);
}

static void io_cancel(tw_handle *h) {
  struct tw_io *io = (struct tw_io *)h;
  if (!(h->flags & TW_HF_ACTIVE)) return;
  tw__watch_remove(h->loop, &io->w);
  tw__handle_stop(h);
  io->cb(io, -ECANCELED, 0);
}

static void io_free(tw_handle *h) { free(h); }

static const tw_handle_ops io_ops = {"io", io_close, io_cancel, io_free};

static void io_ready(tw_watch *w, int events) {
  struct tw_io *io = (struct tw_io *)((char *)w - offsetof(struct tw_io, w));
  int status = 0;
  if (events == TW_ERROR && io->w.want == 0) {
    /* The backend refused the fd (closed under us): the watcher stops. */
    tw__handle_stop(&io->h);
    status = -EBADF;
  }
  io->cb(io, status, events);
}

int tw_io_new(tw_loop *loop, tw_io **out, int fd, tw_io_cb cb, void *data) {
  if (!loop || !out || !cb) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return -EBADF;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return -EPERM; /* epoll can't */
  struct tw_io *io = malloc(sizeof *io);
  if (!io) return -ENOMEM;
  tw__handle_init(loop, &io->h, &io_ops, data);
  tw__watch_init(&io->w, fd, io_ready);
  io->cb = cb;
  *out = io;
  return 0;
}

int tw_io_start(tw_io *io, int events) {
  int err = tw__handle_usable(io, &io_ops);
  if (err) return err;
  if (events & ~(TW_READABLE | TW_WRITABLE | TW_PRIORITY)) return -EINVAL;
  if (events == 0) return tw_io_stop(io);
  tw__watch_set(io->h.loop, &io->w, events);
  tw__handle_start(&io->h);
  return 0;
}

int tw_io_stop(tw_io *io) {
  int err = tw__handle_check(io, &io_ops);
  if (err) return err;
  tw__watch_set(io->h.loop, &io->w, 0);
  tw__handle_stop(&io->h);
  return 0;
}

int tw_io_fd(const tw_io *io) {
  return tw__handle_check(io, &io_ops) ? -EINVAL : io->w.fd;
}
