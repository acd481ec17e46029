/* tcp.h: TCP streams on the loop, IPv4 and IPv6.
 *
 * A tw_tcp handle is a client connection, an accepted connection or a
 * listener. Reads are requests against the handle's own input buffer: ask
 * for exactly N bytes, for everything up to a delimiter, or for whatever is
 * there; at most one read is pending per handle. Writes copy the caller's
 * bytes into the handle's output queue and complete when the kernel has
 * taken them; tw_tcp_write_queued() tells how much is waiting (back
 * pressure). Errors arrive as negative errno values (-ECONNREFUSED,
 * -ETIMEDOUT, -ECONNRESET, ...) or TW_EOF when the peer has closed. */
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
 * no timeout), -ENETUNREACH, ... or -ECANCELED if the handle was closed. */
TW_API int tw_tcp_connect(tw_tcp *t, const struct sockaddr *addr,
                          uint64_t timeout_ns, tw_tcp_connect_cb cb);

/* Bind (SO_REUSEADDR) and listen. backlog <= 0 means SOMAXCONN. */
TW_API int tw_tcp_listen(tw_tcp *t, const struct sockaddr *addr, int backlog,
                         tw_tcp_accept_cb cb);
/* Accept one pending connection into a new handle (data = NULL). Returns
 * -EAGAIN when there is none. */
TW_API int tw_tcp_accept(tw_tcp *server, tw_tcp **client);

/* Adopt an already connected or listening socket (it becomes non-blocking
 * and is closed by tw_close()). */
TW_API int tw_tcp_open(tw_loop *loop, tw_tcp **out, int fd, void *data);

/* Reads. timeout_ns 0 = none; on expiry cb gets -ETIMEDOUT and the bytes
 * stay buffered for the next read. */
TW_API int tw_tcp_read_exact(tw_tcp *t, size_t n, uint64_t timeout_ns, tw_tcp_read_cb cb);
/* Up to and including the delimiter; TW_ETOOBIG after `max` bytes without it. */
TW_API int tw_tcp_read_until(tw_tcp *t, const char *delim, size_t delim_len,
                             size_t max, uint64_t timeout_ns, tw_tcp_read_cb cb);
/* Whatever is buffered (at most max, at least 1 byte), waiting if nothing is. */
TW_API int tw_tcp_read_some(tw_tcp *t, size_t max, uint64_t timeout_ns, tw_tcp_read_cb cb);
/* Streaming: cb runs for every chunk that arrives until tw_tcp_read_stop(). */
TW_API int tw_tcp_read_start(tw_tcp *t, tw_tcp_read_cb cb);
TW_API int tw_tcp_read_stop(tw_tcp *t);

/* Queue bytes (copied). cb (may be NULL) runs when they are all in the
 * kernel, or with an error. Returns -EPIPE after shutdown. */
TW_API int tw_tcp_write(tw_tcp *t, const void *buf, size_t len, tw_tcp_write_cb cb);
TW_API size_t tw_tcp_write_queued(const tw_tcp *t);
/* Half-close: send FIN once the write queue is empty. Reading goes on. */
TW_API int tw_tcp_shutdown(tw_tcp *t, tw_tcp_shutdown_cb cb);

TW_API int tw_tcp_sockname(const tw_tcp *t, struct sockaddr_storage *out);
TW_API int tw_tcp_peername(const tw_tcp *t, struct sockaddr_storage *out);
TW_API int tw_tcp_fd(const tw_tcp *t);
TW_API int tw_tcp_nodelay(tw_tcp *t, int on);

#ifdef __cplusplus
}
#endif
#endif
