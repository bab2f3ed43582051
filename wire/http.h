/*
 * http.h - the HTTP/1.1 client etcd's JSON gateway needs, and no more.
 *
 * POST only, one request at a time on a persistent connection.  Responses
 * framed by Content-Length, by chunks (trailers skipped), or by the end of
 * the connection; streamed responses (etcd's watch) are de-chunked into a
 * byte stream and cut into newline-terminated messages.  Every buffer is
 * bounded: a body over HTTP_BODYMAX is refused, never truncated.  After any
 * error the connection is closed: a half-read response is never reused.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "wire/net.h"

#define HTTP_BODYMAX	(1 << 20)	/* largest body we accept */
#define HTTP_HEADMAX	8192		/* status line plus headers */

struct http_conn {
	struct net_ep	 ep;
	int		 fd;		/* -1: not connected */
	char		*buf;		/* received, not yet consumed */
	size_t		 len, cap;
	/* streaming state (http_stream_*) */
	int		 streaming;
	int		 chunked;
	size_t		 chunk_left;	/* bytes left in the current chunk */
	int		 stream_state;
	char		*msg;		/* de-chunked bytes not yet returned */
	size_t		 msg_len, msg_cap;
};

struct http_resp {
	int		 status;	/* 200, 404, ... */
	char		*body;		/* NUL-terminated, owned by the caller
					 * (free), NULL when empty */
	size_t		 len;
};

/* http_init: an unconnected CONN for EP. */
void	http_init(struct http_conn *c, const struct net_ep *ep);

/* http_close: close the connection (if any) and free its buffers; C may be
 * used again (it reconnects on the next request). */
void	http_close(struct http_conn *c);

/*
 * http_post: POST BODY (LEN bytes, Content-Type application/json) to PATH,
 * with the extra header lines HEADERS ("Name: value\r\n"..., or NULL),
 * connecting first if needed, and read the whole response before DEADLINE.
 * Returns 0 with *R filled (any status), or -1 with ERR set (the connection
 * is then closed).
 */
int	http_post(struct http_conn *c, const char *path, const char *headers,
	    const char *body, size_t len, struct http_resp *r, int64_t deadline,
	    char *err);

/*
 * http_stream_open: like http_post, but for an endpoint that streams (etcd's
 * /v3/watch): returns 0 once a 200 status and the headers are in, leaving
 * the body to http_stream_next; -1 with ERR (a non-200 status included,
 * with the body's "message" if it has one).
 */
int	http_stream_open(struct http_conn *c, const char *path,
	    const char *headers, const char *body, size_t len, int64_t deadline,
	    char *err);

/*
 * http_stream_next: the next newline-terminated message of the stream, into
 * *MSG (LEN bytes, NUL-terminated, without the newline; valid until the next
 * call).  Waits until DEADLINE (pass 0 to only use what has arrived).
 * Returns 1 with a message, 0 when none is complete by DEADLINE, -1 on error
 * or end of stream (ERR set).  A message over HTTP_BODYMAX is an error.
 */
int	http_stream_next(struct http_conn *c, char **msg, size_t *len,
	    int64_t deadline, char *err);

/*
 * http_parse: the pure parser under http_post, for tests and fuzzing.  BUF
 * holds N bytes received so far, EOF says the peer closed after them.
 * Returns 1 with *R filled (body malloc'd) and *USED set to the bytes the
 * response took, 0 if more bytes are needed, -1 if the bytes are not a
 * response we accept (ERR set: "malformed status line", "body too large",
 * "bad chunk size", ...).
 */
int	http_parse(const char *buf, size_t n, int eof, struct http_resp *r,
	    size_t *used, char *err);

#endif
