/* test_fs.c: tw_fs_open/close/read/write/stat on both paths (io_uring and
 * the thread pool): results and errors, offsets and the file position,
 * stat fields against stat(2), FIFOs (an open without a peer must neither
 * block the loop nor resist cancel), cancellation, loop close with
 * operations pending, 10,000 concurrent operations, and no fd left open.
 *
 * Every test runs twice: once with TRAWL_NO_IOURING=1 (thread pool) and
 * once without (io_uring, skipped if this kernel cannot do it). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <unistd.h>

#include <cmocka.h>
#include <trawl/trawl.h>

#define MS 1000000ull

static char tmpdir[64];

typedef struct backend {
  const char *name;
  int no_uring;
} backend;

static backend pool_backend = {"threadpool", 1};
static backend uring_backend = {"io_uring", 0};

/* Can this kernel (and sandbox) do what libtrawl needs from io_uring? */
static int kernel_has_uring(void) {
  struct io_uring ring;
  if (io_uring_queue_init(8, &ring, 0) != 0) return 0;
  struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
  int ok = p && io_uring_opcode_supported(p, IORING_OP_OPENAT) &&
           io_uring_opcode_supported(p, IORING_OP_STATX) &&
           io_uring_opcode_supported(p, IORING_OP_READ) &&
           io_uring_opcode_supported(p, IORING_OP_WRITE) &&
           io_uring_opcode_supported(p, IORING_OP_CLOSE) &&
           io_uring_opcode_supported(p, IORING_OP_ASYNC_CANCEL);
  if (p) io_uring_free_probe(p);
  io_uring_queue_exit(&ring);
  return ok;
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* A loop whose file operations take the given path (asserted). */
static tw_loop *new_loop(void **state) {
  backend *b = *state;
  if (b->no_uring) setenv("TRAWL_NO_IOURING", "1", 1);
  else unsetenv("TRAWL_NO_IOURING");
  if (!b->no_uring && !kernel_has_uring()) skip();
  tw_loop *loop = NULL;
  assert_int_equal(tw_loop_new(&loop), 0);
  assert_string_equal(tw_fs_backend(loop), b->name);
  return loop;
}

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void make_file(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  size_t len = strlen(content);
  assert_int_equal(write(fd, content, len), (ssize_t)len);
  close(fd);
}

/* One callback record; data of every request in these tests. */
typedef struct done {
  int n;       /* times the callback ran */
  int res;
  tw_req *req; /* the request, as returned by the call */
  int fd;      /* for blocking work items: the fd they read */
} done;

static void done_cb(tw_req *req, int result, void *data) {
  done *d = data;
  assert_ptr_equal(tw_req_data(req), data);
  if (d->req) assert_ptr_equal(req, d->req);
  assert_int_equal(tw_cancel(req), -EALREADY); /* complete: too late */
  d->n++;
  d->res = result;
}

/* Run until the loop is idle; the one request must have completed once. */
static int finish(tw_loop *loop, done *d) {
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(d->n, 1);
  return d->res;
}

static int do_open(tw_loop *loop, const char *path, int flags, mode_t mode) {
  done d = {0};
  assert_int_equal(tw_fs_open(loop, &d.req, path, flags, mode, done_cb, &d), 0);
  assert_non_null(d.req);
  assert_int_equal(d.n, 0); /* never from inside the call */
  return finish(loop, &d);
}

static int do_close(tw_loop *loop, int fd) {
  done d = {0};
  assert_int_equal(tw_fs_close(loop, &d.req, fd, done_cb, &d), 0);
  return finish(loop, &d);
}

static int do_read(tw_loop *loop, int fd, void *buf, size_t len, int64_t off) {
  done d = {0};
  assert_int_equal(tw_fs_read(loop, &d.req, fd, buf, len, off, done_cb, &d), 0);
  return finish(loop, &d);
}

static int do_write(tw_loop *loop, int fd, const void *buf, size_t len, int64_t off) {
  done d = {0};
  assert_int_equal(tw_fs_write(loop, NULL, fd, buf, len, off, done_cb, &d), 0);
  return finish(loop, &d);
}

static int do_stat(tw_loop *loop, const char *path, struct stat *st) {
  done d = {0};
  assert_int_equal(tw_fs_stat(loop, &d.req, path, st, done_cb, &d), 0);
  return finish(loop, &d);
}

static int fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* ---- the backend choice ------------------------------------------------------ */

static void test_backend_choice(void **state) {
  tw_loop *loop;
  setenv("TRAWL_NO_IOURING", "1", 1);
  assert_int_equal(tw_loop_new(&loop), 0);
  assert_string_equal(tw_fs_backend(loop), "threadpool");
  assert_int_equal(tw_loop_close(loop), 0);

  setenv("TRAWL_NO_IOURING", "0", 1);
  assert_int_equal(tw_loop_new(&loop), 0);
  assert_string_equal(tw_fs_backend(loop), kernel_has_uring() ? "io_uring" : "threadpool");
  assert_int_equal(tw_loop_close(loop), 0);

  unsetenv("TRAWL_NO_IOURING");
  assert_int_equal(tw_loop_new(&loop), 0);
  /* The first file operation decides; the answer sticks for the loop even
   * if the environment changes afterwards. */
  char p[128];
  path_of(p, sizeof p, "choice");
  make_file(p, "x");
  struct stat st;
  assert_int_equal(do_stat(loop, p, &st), 0);
  const char *first = tw_fs_backend(loop);
  assert_string_equal(first, kernel_has_uring() ? "io_uring" : "threadpool");
  setenv("TRAWL_NO_IOURING", "1", 1);
  assert_string_equal(tw_fs_backend(loop), first);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_string_equal(tw_fs_backend(NULL), "none");
}

/* ---- arguments --------------------------------------------------------------- */

static void never_cb(tw_req *req, int result, void *data) { fail_msg("callback ran"); }

static void test_bad_args(void **state) {
  tw_loop *loop = new_loop(state);
  int fds = count_fds();
  char buf[8];
  struct stat st;
  tw_req *r = (tw_req *)&r;
  assert_int_equal(tw_fs_open(NULL, &r, "/", O_RDONLY, 0, never_cb, NULL), -EINVAL);
  assert_null(r);
  r = (tw_req *)&r;
  assert_int_equal(tw_fs_open(loop, &r, NULL, O_RDONLY, 0, never_cb, NULL), -EINVAL);
  assert_null(r);
  assert_int_equal(tw_fs_open(loop, NULL, "/", O_RDONLY, 0, NULL, NULL), -EINVAL);
  assert_int_equal(tw_fs_close(NULL, NULL, 0, never_cb, NULL), -EINVAL);
  assert_int_equal(tw_fs_close(loop, NULL, 0, NULL, NULL), -EINVAL);
  r = (tw_req *)&r;
  assert_int_equal(tw_fs_close(loop, &r, -1, never_cb, NULL), -EBADF);
  assert_null(r);
  assert_int_equal(tw_fs_read(loop, NULL, 0, NULL, 8, 0, never_cb, NULL), -EINVAL);
  assert_int_equal(tw_fs_read(loop, NULL, 0, buf, 8, 0, NULL, NULL), -EINVAL);
  assert_int_equal(tw_fs_read(NULL, NULL, 0, buf, 8, 0, never_cb, NULL), -EINVAL);
  assert_int_equal(tw_fs_read(loop, NULL, -3, buf, 8, 0, never_cb, NULL), -EBADF);
  assert_int_equal(tw_fs_write(loop, NULL, 1, NULL, 8, -1, never_cb, NULL), -EINVAL);
  assert_int_equal(tw_fs_write(loop, NULL, -1, buf, 8, -1, never_cb, NULL), -EBADF);
  assert_int_equal(tw_fs_write(loop, NULL, 1, buf, 8, -1, NULL, NULL), -EINVAL);
  assert_int_equal(tw_fs_stat(loop, NULL, "/", NULL, never_cb, NULL), -EINVAL);
  assert_int_equal(tw_fs_stat(loop, NULL, NULL, &st, never_cb, NULL), -EINVAL);
  assert_int_equal(tw_fs_stat(NULL, NULL, "/", &st, never_cb, NULL), -EINVAL);
  assert_int_equal(tw_fs_stat(loop, NULL, "/", &st, NULL, NULL), -EINVAL);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0); /* nothing was queued */
  assert_int_equal(tw_loop_close(loop), 0);
  assert_true(count_fds() <= fds);
}

/* ---- open and close ---------------------------------------------------------- */

static void test_open_close(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128], missing[128], created[128];
  path_of(p, sizeof p, "oc");
  path_of(missing, sizeof missing, "no-such-file");
  path_of(created, sizeof created, "created");
  make_file(p, "abc");
  unlink(created);

  int fd = do_open(loop, p, O_RDONLY | O_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_true(fd_is_open(fd));
  struct stat a, b;
  assert_int_equal(fstat(fd, &a), 0);
  assert_int_equal(stat(p, &b), 0);
  assert_int_equal(a.st_ino, b.st_ino);
  assert_int_equal(do_close(loop, fd), 0);
  assert_false(fd_is_open(fd));

  assert_int_equal(do_open(loop, missing, O_RDONLY, 0), -ENOENT);
  assert_int_equal(do_open(loop, tmpdir, O_WRONLY, 0), -EISDIR);
  assert_int_equal(do_open(loop, p, O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
  assert_int_equal(do_open(loop, p, O_WRONLY | O_CREAT | O_EXCL, 0600), -EEXIST);

  mode_t old = umask(022);
  fd = do_open(loop, created, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  umask(old);
  assert_true(fd >= 0);
  assert_int_equal(stat(created, &a), 0);
  assert_int_equal(a.st_mode & 0777, 0640);
  assert_int_equal(do_close(loop, fd), 0);

  /* close(2) errors: an fd that is not open. */
  int spare = dup(2);
  assert_true(spare >= 0);
  close(spare);
  assert_int_equal(do_close(loop, spare), -EBADF);

  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

/* ---- read and write ----------------------------------------------------------- */

static void test_read_write(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128];
  path_of(p, sizeof p, "rw");
  int fd = do_open(loop, p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);

  /* offset < 0: at the file position, which moves. */
  assert_int_equal(do_write(loop, fd, "hello ", 6, -1), 6);
  assert_int_equal(do_write(loop, fd, "world", 5, -1), 5);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 11);
  /* offset >= 0: there, and the position stays. */
  assert_int_equal(do_write(loop, fd, "XY", 2, 20), 2);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 11);
  assert_int_equal(do_write(loop, fd, "!", 1, -1), 1);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 12);

  char buf[64];
  memset(buf, 'z', sizeof buf);
  assert_int_equal(do_read(loop, fd, buf, sizeof buf, 0), 22);
  assert_memory_equal(buf, "hello world!\0\0\0\0\0\0\0\0XY", 22);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 12);
  assert_int_equal(do_read(loop, fd, buf, 4, 6), 4);
  assert_memory_equal(buf, "worl", 4);
  assert_int_equal(do_read(loop, fd, buf, sizeof buf, 100), 0); /* past EOF */

  /* Sequential reads at the position. */
  assert_int_equal(lseek(fd, 6, SEEK_SET), 6);
  assert_int_equal(do_read(loop, fd, buf, 3, -1), 3);
  assert_memory_equal(buf, "wor", 3);
  assert_int_equal(do_read(loop, fd, buf, 3, -1), 3);
  assert_memory_equal(buf, "ld!", 3);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 12);
  assert_int_equal(do_read(loop, fd, buf, 0, -1), 0); /* zero length */

  assert_int_equal(do_close(loop, fd), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

static void test_read_write_errors(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128], buf[16];
  path_of(p, sizeof p, "rwe");
  make_file(p, "data");
  int dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rdonly = open(p, O_RDONLY | O_CLOEXEC);
  int wronly = open(p, O_WRONLY | O_CLOEXEC);
  assert_true(dirfd >= 0 && rdonly >= 0 && wronly >= 0);
  assert_int_equal(do_read(loop, dirfd, buf, sizeof buf, -1), -EISDIR);
  assert_int_equal(do_write(loop, rdonly, "x", 1, -1), -EBADF);
  assert_int_equal(do_read(loop, wronly, buf, sizeof buf, 0), -EBADF);
  int spare = dup(rdonly);
  close(spare);
  assert_int_equal(do_read(loop, spare, buf, sizeof buf, -1), -EBADF);
  assert_int_equal(do_write(loop, spare, "x", 1, 0), -EBADF);
  /* Pipes work at the position; a closed write end reads EOF. */
  int pp[2];
  assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
  assert_int_equal(do_write(loop, pp[1], "pipe", 4, -1), 4);
  assert_int_equal(do_read(loop, pp[0], buf, sizeof buf, -1), 4);
  assert_memory_equal(buf, "pipe", 4);
  close(pp[1]);
  assert_int_equal(do_read(loop, pp[0], buf, sizeof buf, -1), 0);
  close(pp[0]);
  close(dirfd);
  close(rdonly);
  close(wronly);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

/* ---- stat ------------------------------------------------------------------------ */

static void assert_same_stat(const struct stat *a, const struct stat *b) {
  assert_int_equal(a->st_dev, b->st_dev);
  assert_int_equal(a->st_ino, b->st_ino);
  assert_int_equal(a->st_mode, b->st_mode);
  assert_int_equal(a->st_nlink, b->st_nlink);
  assert_int_equal(a->st_uid, b->st_uid);
  assert_int_equal(a->st_gid, b->st_gid);
  assert_int_equal(a->st_rdev, b->st_rdev);
  assert_int_equal(a->st_size, b->st_size);
  assert_int_equal(a->st_blksize, b->st_blksize);
  assert_int_equal(a->st_blocks, b->st_blocks);
  assert_int_equal(a->st_atim.tv_sec, b->st_atim.tv_sec);
  assert_int_equal(a->st_atim.tv_nsec, b->st_atim.tv_nsec);
  assert_int_equal(a->st_mtim.tv_sec, b->st_mtim.tv_sec);
  assert_int_equal(a->st_mtim.tv_nsec, b->st_mtim.tv_nsec);
  assert_int_equal(a->st_ctim.tv_sec, b->st_ctim.tv_sec);
  assert_int_equal(a->st_ctim.tv_nsec, b->st_ctim.tv_nsec);
}

static void test_stat(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128], link[128], through[128], missing[128];
  path_of(p, sizeof p, "st");
  path_of(link, sizeof link, "st-link");
  path_of(through, sizeof through, "st/x");
  path_of(missing, sizeof missing, "no-such-file");
  make_file(p, "twelve bytes");
  unlink(link);
  assert_int_equal(symlink(p, link), 0);

  const char *paths[] = {p, tmpdir, link, "/dev/null", "/"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    struct stat got, want;
    memset(&got, 0xa5, sizeof got);
    assert_int_equal(do_stat(loop, paths[i], &got), 0);
    assert_int_equal(stat(paths[i], &want), 0);
    assert_same_stat(&got, &want);
  }
  struct stat st;
  assert_int_equal(do_stat(loop, p, &st), 0);
  assert_int_equal(st.st_size, 12);
  assert_true(S_ISREG(st.st_mode));

  /* Errors leave the caller's struct alone. */
  memset(&st, 0x5a, sizeof st);
  struct stat untouched;
  memcpy(&untouched, &st, sizeof st);
  assert_int_equal(do_stat(loop, missing, &st), -ENOENT);
  assert_int_equal(do_stat(loop, through, &st), -ENOTDIR);
  assert_int_equal(do_stat(loop, "", &st), -ENOENT);
  assert_memory_equal(&st, &untouched, sizeof st);

  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

/* The path is copied: the caller's buffer may change right after the call. */
static void test_path_copied(void **state) {
  tw_loop *loop = new_loop(state);
  char p[128], q[128];
  path_of(p, sizeof p, "copied");
  make_file(p, "0123456789");
  memcpy(q, p, sizeof q);
  struct stat st;
  done d = {0};
  assert_int_equal(tw_fs_stat(loop, NULL, q, &st, done_cb, &d), 0);
  memset(q, 0, sizeof q);
  assert_int_equal(finish(loop, &d), 0);
  assert_int_equal(st.st_size, 10);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- FIFOs: opens that block in the kernel ---------------------------------------- */

typedef struct fifo_test {
  tw_loop *loop;
  const char *path;
  done open;
  int ticks;      /* timer callbacks */
  int writer;     /* our end, once the reader is waiting */
  int cancel;     /* cancel the open instead of connecting */
} fifo_test;

static void fifo_tick(tw_timer *t, int status) {
  fifo_test *f = tw_data(t);
  assert_int_equal(status, 0);
  f->ticks++;
  /* The loop runs while the open waits: it cannot have completed, since
   * nobody opened the other end. */
  assert_int_equal(f->open.n, 0);
  if (f->cancel) {
    assert_int_equal(tw_cancel(f->open.req), 0);
    assert_int_equal(f->open.n, 0);
    return;
  }
  /* Connect a writer once the reader is inside open(): before that, a
   * non-blocking writer open fails with ENXIO, so keep polling. */
  f->writer = open(f->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (f->writer < 0) {
    assert_int_equal(errno, ENXIO);
    tw_timer_start(t, fifo_tick, 2 * MS, 0);
    return;
  }
  tw_close(t, NULL);
}

static void fifo_setup(fifo_test *f, tw_loop *loop, char *p, size_t n, const char *name) {
  memset(f, 0, sizeof *f);
  path_of(p, n, name);
  unlink(p);
  assert_int_equal(mkfifo(p, 0600), 0);
  f->loop = loop;
  f->path = p;
  f->writer = -1;
}

static void test_fifo_open_cancel(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128];
  fifo_test f;
  for (int flags = 0; flags < 2; flags++) {
    fifo_setup(&f, loop, p, sizeof p, "fifo-cancel");
    f.cancel = 1;
    int mode = flags ? O_WRONLY : O_RDONLY; /* neither has a peer */
    assert_int_equal(tw_fs_open(loop, &f.open.req, p, mode | O_CLOEXEC, 0, done_cb, &f.open), 0);
    tw_timer *t;
    assert_int_equal(tw_timer_new(loop, &t, &f), 0);
    assert_int_equal(tw_timer_start(t, fifo_tick, 20 * MS, 0), 0);
    assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
    tw_close(t, NULL);
    assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
    assert_int_equal(f.ticks, 1);
    assert_int_equal(f.open.n, 1);
    assert_int_equal(f.open.res, -ECANCELED);
  }
  assert_int_equal(tw_loop_close(loop), 0);
  unlink(p);
  assert_int_equal(count_fds(), fds);
}

/* Opening a FIFO for reading waits for a writer, as open(2) does (it must
 * not "succeed" early and then read EOF), and completes when one comes. */
static void test_fifo_open_waits_for_writer(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128];
  fifo_test f;
  fifo_setup(&f, loop, p, sizeof p, "fifo-wait");
  assert_int_equal(tw_fs_open(loop, &f.open.req, p, O_RDONLY | O_CLOEXEC, 0, done_cb, &f.open), 0);
  tw_timer *t;
  assert_int_equal(tw_timer_new(loop, &t, &f), 0);
  assert_int_equal(tw_timer_start(t, fifo_tick, 5 * MS, 0), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_true(f.ticks >= 1);
  assert_int_equal(f.open.n, 1);
  int fd = f.open.res;
  assert_true(fd >= 0);
  assert_true(f.writer >= 0);
  assert_int_equal(write(f.writer, "fifo", 4), 4);
  char buf[8];
  assert_int_equal(do_read(loop, fd, buf, sizeof buf, -1), 4);
  assert_memory_equal(buf, "fifo", 4);
  close(f.writer);
  assert_int_equal(do_read(loop, fd, buf, sizeof buf, -1), 0);
  assert_int_equal(do_close(loop, fd), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  unlink(p);
  assert_int_equal(count_fds(), fds);
}

/* ---- cancellation ------------------------------------------------------------------- */

/* A read blocked on an empty pipe: cancel ends it with -ECANCELED, and it
 * does not steal data written afterwards. */
static void cancel_tick(tw_timer *t, int status) {
  done *d = tw_data(t);
  assert_int_equal(d->n, 0);
  assert_int_equal(tw_cancel(d->req), 0);
  assert_int_equal(tw_cancel(d->req), -EALREADY);
  assert_int_equal(d->n, 0);
  tw_close(t, NULL);
}

static void test_cancel_blocked_read(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  int pp[2];
  assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
  char buf[8];
  done d = {0};
  assert_int_equal(tw_fs_read(loop, &d.req, pp[0], buf, sizeof buf, -1, done_cb, &d), 0);
  tw_timer *t;
  assert_int_equal(tw_timer_new(loop, &t, &d), 0);
  assert_int_equal(tw_timer_start(t, cancel_tick, 10 * MS, 0), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.res, -ECANCELED);
  assert_int_equal(write(pp[1], "k", 1), 1);
  assert_int_equal(do_read(loop, pp[0], buf, sizeof buf, -1), 1);
  assert_int_equal(buf[0], 'k');
  close(pp[0]);
  close(pp[1]);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

/* Cancelling opens of a regular file at every stage (before submission,
 * queued, running, finished but not yet reported): always -ECANCELED,
 * and an fd that got opened anyway is closed. */
static void test_cancel_open_no_leak(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128];
  path_of(p, sizeof p, "co");
  make_file(p, "x");
  enum { N = 64 };
  done d[N];
  memset(d, 0, sizeof d);
  for (int i = 0; i < N; i++) {
    assert_int_equal(tw_fs_open(loop, &d[i].req, p, O_RDONLY | O_CLOEXEC, 0, done_cb, &d[i]), 0);
    for (int k = 0; k < i % 4; k++) tw_loop_run(loop, TW_RUN_NOWAIT);
    if (d[i].n == 0) assert_int_equal(tw_cancel(d[i].req), 0);
  }
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  int cancelled = 0;
  for (int i = 0; i < N; i++) {
    assert_int_equal(d[i].n, 1);
    if (d[i].res == -ECANCELED) cancelled++;
    else assert_int_equal(do_close(loop, d[i].res), 0); /* finished first */
  }
  assert_true(cancelled > 0);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

/* The open has happened (its fd exists) but the loop has not reported it
 * yet: cancel must still win, and the fd must be closed. A FIFO makes the
 * moment ours: its open completes only when we connect a writer. */
static void test_cancel_after_open_happened(void **state) {
  tw_loop *loop = new_loop(state);
  char p[128];
  path_of(p, sizeof p, "cao-fifo");
  unlink(p);
  assert_int_equal(mkfifo(p, 0600), 0);
  struct stat st;
  assert_int_equal(do_stat(loop, p, &st), 0); /* the pool or ring exists now */
  for (int round = 0; round < 10; round++) {
    int before = count_fds();
    done d = {0};
    assert_int_equal(tw_fs_open(loop, &d.req, p, O_RDONLY | O_CLOEXEC, 0, done_cb, &d), 0);
    tw_loop_run(loop, TW_RUN_NOWAIT); /* io_uring: submits it */
    int w;
    while ((w = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
      assert_int_equal(errno, ENXIO); /* the reader is not inside open() yet */
      sched_yield();
    }
    while (count_fds() < before + 2) sched_yield(); /* w, and the reader's fd */
    assert_int_equal(d.n, 0); /* the loop has not run since */
    assert_int_equal(tw_cancel(d.req), 0);
    assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.res, -ECANCELED);
    close(w);
    assert_int_equal(count_fds(), before);
  }
  assert_int_equal(tw_loop_close(loop), 0);
  unlink(p);
}

/* A cancelled close still releases the fd. */
static void test_cancel_close(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  for (int i = 0; i < 16; i++) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    done d = {0};
    assert_int_equal(tw_fs_close(loop, &d.req, fd, done_cb, &d), 0);
    if (i % 2) tw_loop_run(loop, TW_RUN_NOWAIT);
    if (d.n == 0) assert_int_equal(tw_cancel(d.req), 0);
    assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
    assert_int_equal(d.n, 1);
    assert_true(d.res == -ECANCELED || d.res == 0);
    assert_false(fd_is_open(fd));
  }
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

/* Thousands of stats cancelled at once: many never reach a worker or the
 * ring (queue, backlog), all complete once with -ECANCELED. */
static void test_cancel_many(void **state) {
  tw_loop *loop = new_loop(state);
  enum { N = 5000 };
  done *d = calloc(N, sizeof *d);
  struct stat *st = calloc(N, sizeof *st);
  assert_non_null(d);
  assert_non_null(st);
  for (int i = 0; i < N; i++)
    assert_int_equal(tw_fs_stat(loop, &d[i].req, tmpdir, &st[i], done_cb, &d[i]), 0);
  for (int i = 0; i < N; i++) assert_int_equal(tw_cancel(d[i].req), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  for (int i = 0; i < N; i++) {
    assert_int_equal(d[i].n, 1);
    assert_int_equal(d[i].res, -ECANCELED);
  }
  /* The loop is still fine for new work. */
  struct stat one;
  assert_int_equal(do_stat(loop, tmpdir, &one), 0);
  free(d);
  free(st);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- loop close with operations pending ------------------------------------------- */

static int blocker(void *data) {
  done *d = data; /* read on a worker: only d->fd */
  char c;
  ssize_t n = read(d->fd, &c, 1);
  return n < 0 ? -errno : (int)n;
}

static void work_cb(tw_req *req, int status, void *data) {
  done *d = data;
  d->n++;
  d->res = status;
}

static void test_loop_close_pending(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  char p[128], fifo[128];
  path_of(p, sizeof p, "lc");
  path_of(fifo, sizeof fifo, "lc-fifo");
  make_file(p, "content");
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  int pp[2];
  assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
  int wfd = open(p, O_WRONLY | O_CLOEXEC);
  assert_true(wfd >= 0);

  enum { N = 40 };
  done d[N];
  memset(d, 0, sizeof d);
  struct stat st[N];
  char buf[N][8];
  int i = 0;
  for (int k = 0; k < 3; k++, i++) /* block in the kernel */
    assert_int_equal(tw_fs_open(loop, NULL, fifo, O_RDONLY | O_CLOEXEC, 0, done_cb, &d[i]), 0);
  for (int k = 0; k < 3; k++, i++) /* block on an empty pipe */
    assert_int_equal(tw_fs_read(loop, NULL, pp[0], buf[i], 8, -1, done_cb, &d[i]), 0);
  for (int k = 0; k < 3; k++, i++) { /* block on a worker */
    d[i].fd = pp[0];
    assert_int_equal(tw_work(loop, NULL, blocker, work_cb, &d[i]), 0);
  }
  tw_loop_run(loop, TW_RUN_NOWAIT); /* let some of them start */
  for (int k = 0; k < 10; k++, i++)
    assert_int_equal(tw_fs_stat(loop, NULL, p, &st[i], done_cb, &d[i]), 0);
  for (int k = 0; k < 10; k++, i++)
    assert_int_equal(tw_fs_open(loop, NULL, p, O_RDONLY | O_CLOEXEC, 0, done_cb, &d[i]), 0);
  for (int k = 0; k < 5; k++, i++)
    assert_int_equal(tw_fs_write(loop, NULL, wfd, "w", 1, k, done_cb, &d[i]), 0);
  for (int k = 0; k < 6; k++, i++) {
    d[i].fd = pp[0];
    assert_int_equal(tw_work(loop, NULL, blocker, work_cb, &d[i]), 0);
  }
  assert_int_equal(i, N);

  assert_int_equal(tw_loop_close(loop), 0);
  for (i = 0; i < N; i++) {
    assert_int_equal(d[i].n, 1);
    assert_int_equal(d[i].res, -ECANCELED);
  }
  close(wfd);
  close(pp[0]);
  close(pp[1]);
  unlink(fifo);
  assert_int_equal(count_fds(), fds);
}

/* ---- many concurrent operations -------------------------------------------------- */

enum { NFILES = 10000 };

typedef struct file_job {
  tw_loop *loop;
  int idx;
  int fd;
  struct stat st;
  char buf[32];
  int stat_done, read_done, close_done;
  int errors;
} file_job;

typedef struct many_ctx {
  file_job *jobs;
  int next;      /* next job to open */
  int open_now;  /* fds currently held */
  int max_open;
  int closed;
} many_ctx;

static many_ctx *mctx;

static void file_name(char *p, size_t n, int i) { snprintf(p, n, "%s/many/f%05d", tmpdir, i); }
static void file_content(char *c, size_t n, int i) { snprintf(c, n, "file %d\n", i); }

static void start_open(tw_loop *loop);

static void job_closed(tw_req *req, int res, void *data) {
  file_job *j = data;
  if (res != 0) j->errors++;
  j->close_done++;
  mctx->open_now--;
  mctx->closed++;
  start_open(j->loop);
}

static void job_read(tw_req *req, int res, void *data) {
  file_job *j = data;
  char want[32];
  file_content(want, sizeof want, j->idx);
  if (res != (int)strlen(want) || memcmp(j->buf, want, strlen(want)) != 0) j->errors++;
  j->read_done++;
  assert_int_equal(tw_fs_close(j->loop, NULL, j->fd, job_closed, j), 0);
}

static void job_opened(tw_req *req, int res, void *data) {
  file_job *j = data;
  if (res < 0) {
    j->errors++;
    mctx->open_now--;
    return;
  }
  j->fd = res;
  assert_int_equal(tw_fs_read(j->loop, NULL, j->fd, j->buf, sizeof j->buf, 0, job_read, j), 0);
}

static void job_stat(tw_req *req, int res, void *data) {
  file_job *j = data;
  char want[32];
  file_content(want, sizeof want, j->idx);
  if (res != 0 || j->st.st_size != (off_t)strlen(want) || !S_ISREG(j->st.st_mode)) j->errors++;
  j->stat_done++;
}

static void start_open(tw_loop *loop) {
  while (mctx->next < NFILES && mctx->open_now < mctx->max_open) {
    file_job *j = &mctx->jobs[mctx->next++];
    char p[128];
    file_name(p, sizeof p, j->idx);
    mctx->open_now++;
    assert_int_equal(tw_fs_open(loop, NULL, p, O_RDONLY | O_CLOEXEC, 0, job_opened, j), 0);
  }
}

static void test_many_concurrent(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(state);
  /* Hold as many files open at once as the fd limit comfortably allows:
   * all 10,000 if it is high enough. */
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < NFILES + 256 && rl.rlim_max > rl.rlim_cur) {
    rl.rlim_cur = rl.rlim_max < NFILES + 256 ? rl.rlim_max : NFILES + 256;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  many_ctx ctx = {0};
  ctx.max_open = rl.rlim_cur > NFILES + 256 ? NFILES : (int)rl.rlim_cur - 256;
  assert_true(ctx.max_open > 0);
  ctx.jobs = calloc(NFILES, sizeof *ctx.jobs);
  assert_non_null(ctx.jobs);
  mctx = &ctx;
  for (int i = 0; i < NFILES; i++) {
    ctx.jobs[i].loop = loop;
    ctx.jobs[i].idx = i;
    char p[128];
    file_name(p, sizeof p, i);
    assert_int_equal(tw_fs_stat(loop, NULL, p, &ctx.jobs[i].st, job_stat, &ctx.jobs[i]), 0);
  }
  start_open(loop);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  int errors = 0;
  for (int i = 0; i < NFILES; i++) {
    file_job *j = &ctx.jobs[i];
    errors += j->errors;
    assert_int_equal(j->stat_done, 1);
    assert_int_equal(j->read_done, 1);
    assert_int_equal(j->close_done, 1);
  }
  assert_int_equal(errors, 0);
  assert_int_equal(ctx.closed, NFILES);
  free(ctx.jobs);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

/* ---- fixtures -------------------------------------------------------------------- */

static int rm_tree(const char *path) {
  DIR *d = opendir(path);
  if (!d) return unlink(path);
  struct dirent *e;
  char p[512];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    if (e->d_type == DT_DIR) rm_tree(p);
    else unlink(p);
  }
  closedir(d);
  return rmdir(path);
}

static int group_setup(void **state) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/trawl-test-fs-XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  char p[128];
  snprintf(p, sizeof p, "%s/many", tmpdir);
  if (mkdir(p, 0700) < 0) return -1;
  for (int i = 0; i < NFILES; i++) {
    char c[32];
    file_name(p, sizeof p, i);
    file_content(c, sizeof c, i);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, c, strlen(c)) != (ssize_t)strlen(c)) return -1;
    close(fd);
  }
  return 0;
}

static int group_teardown(void **state) {
  rm_tree(tmpdir);
  return 0;
}

/* Each test twice, named for the path it takes. */
#define BOTH(t) {#t "/threadpool", t, NULL, NULL, &pool_backend}, \
                {#t "/io_uring", t, NULL, NULL, &uring_backend}

int main(void) {
  alarm(280); /* a hang is a failure */
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_backend_choice),
    BOTH(test_bad_args),
    BOTH(test_open_close),
    BOTH(test_read_write),
    BOTH(test_read_write_errors),
    BOTH(test_stat),
    BOTH(test_path_copied),
    BOTH(test_fifo_open_cancel),
    BOTH(test_fifo_open_waits_for_writer),
    BOTH(test_cancel_blocked_read),
    BOTH(test_cancel_open_no_leak),
    BOTH(test_cancel_after_open_happened),
    BOTH(test_cancel_close),
    BOTH(test_cancel_many),
    BOTH(test_loop_close_pending),
    BOTH(test_many_concurrent),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
