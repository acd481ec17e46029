/* fs.h: file operations and arbitrary blocking work, off the loop thread.
 *
 * open, stat, read, write and close go through io_uring when the kernel
 * allows it, and through libtrawl's worker thread pool otherwise (set
 * TRAWL_NO_IOURING=1 to force the pool). tw_work() runs any blocking
 * function on the pool and calls back on the loop. Buffers handed to these
 * requests must stay valid until the callback has run. */
#ifndef TRAWL_FS_H
#define TRAWL_FS_H

#include <sys/stat.h>
#include <sys/types.h>
#include <trawl/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

/* result: the fd (open), byte count (read, write), 0 (stat, close), or a
 * negative errno; -ECANCELED if cancelled. `req` may be NULL in every call
 * below when the caller does not need to cancel. Bad arguments are
 * returned directly: -EINVAL for a NULL loop, cb, path, buf or st, -EBADF
 * for a negative fd.
 *
 * Cancelling (tw_cancel, tw_loop_close): the callback runs once, with
 * -ECANCELED, as soon as the operation has stopped using its buffers; an
 * operation blocked in the kernel (opening a FIFO without a peer, reading
 * a pipe) is interrupted. Once cancelled, the result is -ECANCELED even if
 * the operation had in fact finished: an fd opened meanwhile is closed for
 * you, and a read or write may have moved data. tw_fs_close() always
 * releases the fd, cancelled or not. See docs/fs.md. */
typedef void (*tw_fs_cb)(tw_req *req, int result, void *data);

TW_API int tw_fs_open(tw_loop *loop, tw_req **req, const char *path, int flags,
                      mode_t mode, tw_fs_cb cb, void *data);
TW_API int tw_fs_close(tw_loop *loop, tw_req **req, int fd, tw_fs_cb cb, void *data);
/* offset < 0: the file position (read(2)/write(2)); else pread/pwrite. */
TW_API int tw_fs_read(tw_loop *loop, tw_req **req, int fd, void *buf, size_t len,
                      int64_t offset, tw_fs_cb cb, void *data);
TW_API int tw_fs_write(tw_loop *loop, tw_req **req, int fd, const void *buf,
                       size_t len, int64_t offset, tw_fs_cb cb, void *data);
/* Fills *st (caller-owned) before cb runs with result 0. */
TW_API int tw_fs_stat(tw_loop *loop, tw_req **req, const char *path,
                      struct stat *st, tw_fs_cb cb, void *data);

/* Which path the loop's file operations take: "io_uring" or "threadpool"
 * ("none" for a NULL loop). Decided on the loop's first file operation (or
 * this call) and fixed for the loop's life. */
TW_API const char *tw_fs_backend(tw_loop *loop);

/* Run work(data) on a worker thread; then after(req, status, data) on the
 * loop, status = work's return value, or -ECANCELED if cancelled: before it
 * started (then work never runs), or while it ran (after it returned; the
 * worker is sent a signal meanwhile, so a blocking system call in work
 * fails with EINTR and work should return). Worker threads block every
 * other signal. Pool size: TRAWL_THREADPOOL_SIZE (default 4), per loop. */
typedef int (*tw_work_fn)(void *data);
typedef void (*tw_work_cb)(tw_req *req, int status, void *data);
TW_API int tw_work(tw_loop *loop, tw_req **req, tw_work_fn work, tw_work_cb after,
                   void *data);

#ifdef __cplusplus
}
#endif
#endif
