/* fs.c: tw_fs_open/close/read/write/stat, the public file operations.
 *
 * Each call makes one request and sends it down one of two paths, chosen
 * once per loop: the loop's io_uring (uring.c) when it is usable, else a
 * work item on the thread pool (pool.c) that makes the blocking system
 * call. Either way the request's callback runs on the loop, once.
 *
 * What cancellation means here (the same on both paths): once tw_cancel()
 * has accepted, the callback gets -ECANCELED, whether the operation was
 * stopped before it started, interrupted, or had in fact finished. Nothing
 * is left behind: an open that succeeded anyway has its fd closed, and a
 * close always releases its fd (a cancelled close that never ran is done
 * here, on the loop). A read or write may have transferred data. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <trawl/fs.h>
#include <unistd.h>

#include "pool-int.h"
#include "uring-int.h"

/* read/write results are ints: never ask for more than read(2) would do
 * in one call anyway. */
#define TW_FS_MAX_IO 0x7ffff000u

enum { FS_OPEN = 1, FS_CLOSE, FS_READ, FS_WRITE, FS_STAT };

typedef struct fs_req {
  tw_req req; /* first: freed through tw__req_free */
  union {
    tw__work work;
    tw__uop uop;
  } via;
  int uring; /* which member of via */
  int op;
  int fd;
  int flags;
  mode_t mode;
  void *buf;
  size_t len;
  int64_t off;
  struct stat *st_out; /* the caller's, written on the loop on success */
  union {
    struct stat st;    /* pool */
    struct statx stx;  /* io_uring */
  } sb;
  int result; /* pool: the system call's result */
  tw_fs_cb cb;
  char path[]; /* our copy: the caller's may be gone before submission */
} fs_req;

static void statx_to_stat(const struct statx *x, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
  st->st_ino = x->stx_ino;
  st->st_mode = x->stx_mode;
  st->st_nlink = x->stx_nlink;
  st->st_uid = x->stx_uid;
  st->st_gid = x->stx_gid;
  st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
  st->st_size = (off_t)x->stx_size;
  st->st_blksize = (blksize_t)x->stx_blksize;
  st->st_blocks = (blkcnt_t)x->stx_blocks;
  st->st_atim.tv_sec = x->stx_atime.tv_sec;
  st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
  st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
  st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
  st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
  st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

/* Both paths end here, on the loop. res: the operation's result, or
 * -ECANCELED if it never started. */
static void fs_finish(fs_req *r, int res, int started) {
  if (r->req.flags & TW_RF_CANCELED) {
    if (r->op == FS_OPEN && res >= 0) close(res); /* it opened anyway */
    if (r->op == FS_CLOSE && !started) close(r->fd);
    res = -ECANCELED;
  } else if (res == 0 && r->op == FS_STAT) {
    if (r->uring) statx_to_stat(&r->sb.stx, r->st_out);
    else *r->st_out = r->sb.st;
  }
  tw__req_done(&r->req);
  r->cb(&r->req, res, r->req.data);
  tw__req_free(&r->req);
}

/* ---- the pool path --------------------------------------------------------- */

static int fs_syscall(fs_req *r) {
  ssize_t n;
  switch (r->op) {
  case FS_OPEN: return open(r->path, r->flags, r->mode);
  case FS_CLOSE: return close(r->fd);
  case FS_STAT: return stat(r->path, &r->sb.st);
  case FS_READ:
    n = r->off < 0 ? read(r->fd, r->buf, r->len) : pread(r->fd, r->buf, r->len, r->off);
    return (int)n;
  case FS_WRITE:
    n = r->off < 0 ? write(r->fd, r->buf, r->len) : pwrite(r->fd, r->buf, r->len, r->off);
    return (int)n;
  }
  errno = EINVAL;
  return -1;
}

/* On a worker. EINTR from a stray signal is retried; from our own
 * interrupt (the request was cancelled) it ends the work. Linux releases
 * the fd even when close() fails with EINTR, so close is never retried. */
static void fs_work(tw__work *w) {
  fs_req *r = (fs_req *)((char *)w - offsetof(fs_req, via.work));
  int rc;
  for (;;) {
    rc = fs_syscall(r);
    if (rc >= 0 || errno != EINTR || r->op == FS_CLOSE || tw__work_cancelled(w)) break;
  }
  r->result = rc < 0 ? -errno : rc;
}

static void fs_work_done(tw__work *w, int status) {
  fs_req *r = (fs_req *)((char *)w - offsetof(fs_req, via.work));
  fs_finish(r, status == 0 ? r->result : status, status == 0);
}

/* ---- the io_uring path ----------------------------------------------------- */

static void fs_prep(tw__uop *op, struct io_uring_sqe *sqe) {
  fs_req *r = (fs_req *)((char *)op - offsetof(fs_req, via.uop));
  uint64_t off = r->off < 0 ? (uint64_t)-1 : (uint64_t)r->off;
  switch (r->op) {
  case FS_OPEN:
    io_uring_prep_openat(sqe, AT_FDCWD, r->path, r->flags, r->mode);
    /* Tried inline, the kernel opens with O_NONBLOCK and then clears it,
     * so a FIFO without a peer "opens" at once for reading (and reads EOF)
     * or fails with ENXIO for writing. Going straight to the kernel's
     * workers gives open(2)'s blocking semantics; cancel interrupts it. */
    if (!(r->flags & O_NONBLOCK)) sqe->flags |= IOSQE_ASYNC;
    break;
  case FS_CLOSE: io_uring_prep_close(sqe, r->fd); break;
  case FS_STAT:
    io_uring_prep_statx(sqe, AT_FDCWD, r->path, 0, STATX_BASIC_STATS, &r->sb.stx);
    break;
  case FS_READ: io_uring_prep_read(sqe, r->fd, r->buf, (unsigned)r->len, off); break;
  case FS_WRITE: io_uring_prep_write(sqe, r->fd, r->buf, (unsigned)r->len, off); break;
  }
}

static void fs_uop_done(tw__uop *op, int res) {
  fs_req *r = (fs_req *)((char *)op - offsetof(fs_req, via.uop));
  /* Kernel-internal restart codes (an io-wq worker interrupted by a
   * cancel shows -ERESTARTSYS) must not reach callers. */
  int started = res != -ECANCELED;
  if (res <= -512 && res >= -516) res = -EINTR;
  fs_finish(r, res, started);
}

/* ---- requests ---------------------------------------------------------------- */

static int fs_cancel(tw_req *req) {
  fs_req *r = (fs_req *)req;
  return r->uring ? tw__uring_cancel(&r->via.uop) : tw__work_cancel(&r->via.work);
}

static int fs_start(tw_loop *loop, tw_req **out, int op, const char *path, tw_fs_cb cb,
                    void *data, fs_req **rp) {
  if (out) *out = NULL;
  if (!loop || !cb) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  size_t plen = path ? strlen(path) + 1 : 0;
  fs_req *r = calloc(1, sizeof *r + plen);
  if (!r) return -ENOMEM;
  if (path) memcpy(r->path, path, plen);
  r->op = op;
  r->cb = cb;
  r->fd = -1;
  *rp = r;
  return 0;
}

static int fs_submit(tw_loop *loop, tw_req **out, fs_req *r, void *data) {
  tw__req_init(loop, &r->req, 0, fs_cancel, data);
  int err;
  if (tw__uring_usable(loop)) {
    r->uring = 1;
    r->via.uop.prep = fs_prep;
    r->via.uop.done = fs_uop_done;
    err = tw__uring_submit(loop, &r->via.uop);
  } else {
    r->via.work.work = fs_work;
    r->via.work.done = fs_work_done;
    err = tw__work_submit(loop, &r->via.work);
  }
  if (err) {
    tw__req_free(&r->req);
    return err;
  }
  if (out) *out = &r->req;
  return 0;
}

int tw_fs_open(tw_loop *loop, tw_req **req, const char *path, int flags, mode_t mode,
               tw_fs_cb cb, void *data) {
  if (req) *req = NULL;
  if (!path) return -EINVAL;
  fs_req *r;
  int err = fs_start(loop, req, FS_OPEN, path, cb, data, &r);
  if (err) return err;
  r->flags = flags;
  r->mode = mode;
  return fs_submit(loop, req, r, data);
}

int tw_fs_close(tw_loop *loop, tw_req **req, int fd, tw_fs_cb cb, void *data) {
  if (req) *req = NULL;
  if (!loop || !cb) return -EINVAL;
  if (fd < 0) return -EBADF;
  fs_req *r;
  int err = fs_start(loop, req, FS_CLOSE, NULL, cb, data, &r);
  if (err) return err;
  r->fd = fd;
  return fs_submit(loop, req, r, data);
}

static int fs_rw(tw_loop *loop, tw_req **req, int op, int fd, void *buf, size_t len,
                 int64_t offset, tw_fs_cb cb, void *data) {
  if (req) *req = NULL;
  if (!loop || !cb || !buf) return -EINVAL;
  if (fd < 0) return -EBADF;
  fs_req *r;
  int err = fs_start(loop, req, op, NULL, cb, data, &r);
  if (err) return err;
  r->fd = fd;
  r->buf = buf;
  r->len = len > TW_FS_MAX_IO ? TW_FS_MAX_IO : len;
  r->off = offset;
  return fs_submit(loop, req, r, data);
}

int tw_fs_read(tw_loop *loop, tw_req **req, int fd, void *buf, size_t len, int64_t offset,
               tw_fs_cb cb, void *data) {
  return fs_rw(loop, req, FS_READ, fd, buf, len, offset, cb, data);
}

int tw_fs_write(tw_loop *loop, tw_req **req, int fd, const void *buf, size_t len,
                int64_t offset, tw_fs_cb cb, void *data) {
  return fs_rw(loop, req, FS_WRITE, fd, (void *)buf, len, offset, cb, data);
}

int tw_fs_stat(tw_loop *loop, tw_req **req, const char *path, struct stat *st, tw_fs_cb cb,
               void *data) {
  if (req) *req = NULL;
  if (!path || !st) return -EINVAL;
  fs_req *r;
  int err = fs_start(loop, req, FS_STAT, path, cb, data, &r);
  if (err) return err;
  r->st_out = st;
  return fs_submit(loop, req, r, data);
}

const char *tw_fs_backend(tw_loop *loop) {
  if (!loop) return "none";
  return tw__uring_usable(loop) ? "io_uring" : "threadpool";
}
