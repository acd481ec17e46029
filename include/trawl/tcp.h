/* tcp.h: TCP streams on the loop, IPv4 and IPv6.
 *
 * A tw_tcp handle is a client connection, an accepted connection or a
 * listener. Reads are requests against the handle's own input buffer: ask
 * for exactly N bytes, for everything up to a delimiter, or for whatever is
 * there; at most one read is pending per handle. Writes go to the kernel
 * at once when nothing is queued, and what it does not take is copied into
 * the handle's output queue; a write completes when the kernel has taken
 * all of it. tw_tcp_write_queued() tells how much is waiting (back
 * pressure). Errors arrive as negative errno values (-ECONNREFUSED,
 * -ETIMEDOUT, -ECONNRESET, ...) or TW_EOF when the peer has closed.
 *
 * Rules common to every call below:
 *   - A call that returns 0 runs its callback exactly once, always from
 *     the loop and never inside the call, even when the outcome is known at
 *     once (connect() refused on the spot, data already buffered, a write
 *     the kernel took whole).
 *   - A call that returns an error started nothing: -EINVAL for a bad
 *     argument or a handle that is not a tw_tcp, -ECANCELED if the handle
 *     is closing, -ENOTCONN for a read, write or shutdown on a handle that
 *     is neither connecting nor connected, -ENOMEM.
 *   - Reads, writes and a shutdown may be issued while the connect is in
 *     flight; they wait for it. If it fails they fail with its status,
 *     after the connect callback.
 *   - tw_close() runs every outstanding connect, read, write and shutdown
 *     callback once with -ECANCELED, on the next pass and before the close
 *     callback; writes the kernel had already taken keep their status 0. A
 *     listener just stops (tw_loop_close() gives its accept callback
 *     -ECANCELED, like any watcher). Callbacks may close their own handle. */
#ifndef TRAWL_TCP_H
#define TRAWL_TCP_H

#include <sys/socket.h>
#include <trawl/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_tcp tw_tcp;

typedef void (*tw_tcp_connect_cb)(tw_tcp *t, int status);
/* A listener has a connection to accept (status 0), or failed. */
typedef void (*tw_tcp_accept_cb)(tw_tcp *server, int status);
/* buf/len are valid only during the callback; on error len is the number
 * of bytes buffered so far (e.g. a partial line before TW_EOF). */
typedef void (*tw_tcp_read_cb)(tw_tcp *t, int status, const char *buf, size_t len);
typedef void (*tw_tcp_write_cb)(tw_tcp *t, int status);
typedef void (*tw_tcp_shutdown_cb)(tw_tcp *t, int status);

TW_API int tw_tcp_new(tw_loop *loop, tw_tcp **out, void *data);

/* Connect; cb gets 0, -ECONNREFUSED, -ETIMEDOUT (timeout_ns elapsed; 0 means
 * no timeout), -ENETUNREACH, -EMFILE, ... or -ECANCELED if the handle was
 * closed. A handle connects once: -EALREADY while connecting, -EISCONN
 * when connected, -EBUSY for a listener or a failed handle (close it and
 * make a new one). addr must be AF_INET or AF_INET6 (-EINVAL). */
TW_API int tw_tcp_connect(tw_tcp *t, const struct sockaddr *addr,
                          uint64_t timeout_ns, tw_tcp_connect_cb cb);

/* Bind (SO_REUSEADDR) and listen. backlog <= 0 means the system maximum
 * (net.core.somaxconn). cb runs whenever connections wait to be accepted
 * (level-triggered: accept them until -EAGAIN), or once with the error if
 * bind or listen failed (-EADDRINUSE, ...; the handle is then done). addr
 * may be NULL for a socket adopted with tw_tcp_open() that is already bound
 * or listening. -EBUSY if the handle is already in use. */
TW_API int tw_tcp_listen(tw_tcp *t, const struct sockaddr *addr, int backlog,
                         tw_tcp_accept_cb cb);
/* Accept one pending connection into a new, connected handle (data = NULL,
 * non-blocking, close-on-exec). Returns -EAGAIN when there is none, -EINVAL
 * if server is not listening, or accept(2)'s error (-EMFILE, ...). */
TW_API int tw_tcp_accept(tw_tcp *server, tw_tcp **client);

/* Adopt an already connected or listening socket (it becomes non-blocking
 * and close-on-exec, and is closed by tw_close()); an adopted listening or
 * merely bound socket is started with tw_tcp_listen(t, NULL, ...) or
 * tw_tcp_connect(). -EBADF for an invalid fd, -ENOTSOCK for a non-socket,
 * -EINVAL for a socket that is not SOCK_STREAM. */
TW_API int tw_tcp_open(tw_loop *loop, tw_tcp **out, int fd, void *data);

/* Reads. timeout_ns 0 = none; on expiry cb gets -ETIMEDOUT and the bytes
 * stay buffered for the next read. -EBUSY if a read is already pending.
 * When the peer closes (TW_EOF) or the connection breaks (-ECONNRESET, ...)
 * a pending read gets whatever was buffered, which is then consumed; the
 * next read gets the same status with len 0. n must be > 0. */
TW_API int tw_tcp_read_exact(tw_tcp *t, size_t n, uint64_t timeout_ns, tw_tcp_read_cb cb);
/* Up to and including the delimiter (copied: it need not outlive the
 * call); TW_ETOOBIG when the first `max` bytes do not end with it, and the
 * bytes stay buffered. -EINVAL if delim is NULL, empty or longer than max. */
TW_API int tw_tcp_read_until(tw_tcp *t, const char *delim, size_t delim_len,
                             size_t max, uint64_t timeout_ns, tw_tcp_read_cb cb);
/* Whatever is buffered (at most max > 0, at least 1 byte), waiting if
 * nothing is. Buffered bytes come before TW_EOF. */
TW_API int tw_tcp_read_some(tw_tcp *t, size_t max, uint64_t timeout_ns, tw_tcp_read_cb cb);
/* Streaming: cb runs for every chunk that arrives until tw_tcp_read_stop()
 * (which may be called from cb), or once with TW_EOF or an error, which
 * ends it. read_start on a streaming handle just replaces cb; read_stop
 * returns -EBUSY if a one-shot read is pending, 0 otherwise. */
TW_API int tw_tcp_read_start(tw_tcp *t, tw_tcp_read_cb cb);
TW_API int tw_tcp_read_stop(tw_tcp *t);

/* Send bytes. They go straight to the kernel when nothing is queued; what
 * it does not take at once is copied into the queue. cb (may be NULL) runs
 * when they are all in the kernel, or with an error (-EPIPE, -ECONNRESET,
 * ...; later writes then fail the same way). Callbacks run in order.
 * Returns -EPIPE after tw_tcp_shutdown(). */
TW_API int tw_tcp_write(tw_tcp *t, const void *buf, size_t len, tw_tcp_write_cb cb);
TW_API size_t tw_tcp_write_queued(const tw_tcp *t);
/* Half-close: send FIN once the write queue is empty. Reading goes on.
 * cb (may be NULL) gets 0 or the error. -EALREADY the second time. */
TW_API int tw_tcp_shutdown(tw_tcp *t, tw_tcp_shutdown_cb cb);

/* -ENOTCONN if the handle has no socket yet; -EINVAL for a NULL out. */
TW_API int tw_tcp_sockname(const tw_tcp *t, struct sockaddr_storage *out);
TW_API int tw_tcp_peername(const tw_tcp *t, struct sockaddr_storage *out);
/* The socket, or -EBADF if there is none yet. */
TW_API int tw_tcp_fd(const tw_tcp *t);
/* TCP_NODELAY; before connect it applies to the socket connect creates. */
TW_API int tw_tcp_nodelay(tw_tcp *t, int on);

#ifdef __cplusplus
}
#endif
#endif
