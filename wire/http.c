/*
 * http.c - the HTTP/1.1 client etcd's JSON gateway needs, and no more.
 *
 * One request at a time: the request is built in one buffer and sent with
 * one net_send, the response is read into C->buf and handed to http_parse,
 * a pure function of the bytes so far, until it says the response is
 * complete.  The parser is strict where leniency would let two readers
 * disagree on where a response ends: CRLF line ends only, no header
 * folding, one Content-Length value, Transfer-Encoding "chunked" or
 * nothing, never both.  Interim 1xx responses (100 Continue, 103 Early
 * Hints) are skipped; 101 is refused.  A response is bounded on the wire
 * (RAWMAX), in its head (HTTP_HEADMAX, interim responses included) and in
 * its body (HTTP_BODYMAX), and each limit is judged at a fixed position in
 * the bytes, so a prefix is refused exactly when the whole would be.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base.h"
#include "wire/http.h"
#include "wire/json.h"
#include "wire/net.h"

#define LINEMAX		1024	/* a chunk-size line, extensions included */
/* One response on the wire: head, body and chunk framing. */
#define RAWMAX		((size_t)HTTP_HEADMAX + 2 * (size_t)HTTP_BODYMAX)
#define READSZ		16384
/* The most C->buf holds: a response of RAWMAX, its trailers, a read. */
#define BUFMAX		(RAWMAX + HTTP_HEADMAX + READSZ)

enum { FR_LENGTH, FR_CHUNKED, FR_EOF };

/* What the head of a response says. */
struct head {
	int		 status;
	int		 framing;	/* FR_* */
	size_t		 clen;		/* FR_LENGTH: the body's size */
	int		 close;		/* the server closes after it */
	size_t		 end;		/* offset of the body */
};

/* Where http_stream_next is in the body. */
enum { ST_SIZE, ST_DATA, ST_CRLF, ST_TRAILER, ST_LENGTH, ST_RAW, ST_END };
#define ST_GIVEN	0x100	/* flag: C->msg holds a message given out */

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* 1 if S (LEN bytes) is WORD, ignoring ASCII case. */
static int
ieq(const char *s, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower((unsigned char)s[i]) != word[i])
			return 0;
	return 1;
}

/* A byte allowed in a header value, reason phrase or chunk extension. */
static int
textchar(int c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

static int
tokenchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static int
hexdig(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The line at BUF + POS, looking at bytes up to LIMIT (and N): 1 with *EOL
 * just past its "\r\n", 0 if it has not ended yet, -1 if a LF comes
 * without its CR.
 */
static int
find_line(const char *buf, size_t n, size_t pos, size_t limit, size_t *eol)
{
	const char *lf;

	if (limit > n)
		limit = n;
	if (pos >= limit)
		return 0;
	if ((lf = memchr(buf + pos, '\n', limit - pos)) == NULL)
		return 0;
	if (lf == buf + pos || lf[-1] != '\r')
		return -1;
	*eol = (size_t)(lf - buf) + 1;
	return 1;
}

/* "HTTP/1.x NNN reason" (LEN bytes, without the CRLF). */
static int
status_line(const char *s, size_t len, int *minor, int *status, char *err)
{
	size_t i;

	if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ' ||
	    s[9] < '1' || s[9] > '5' ||
	    s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
	    (len > 12 && s[12] != ' ')) {
		seterr(err, "malformed status line");
		return -1;
	}
	if (s[7] != '0' && s[7] != '1') {
		seterr(err, "unsupported HTTP version");
		return -1;
	}
	for (i = 13; i < len; i++)
		if (!textchar((unsigned char)s[i])) {
			seterr(err, "malformed status line");
			return -1;
		}
	*minor = s[7] - '0';
	*status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return 0;
}

/* One "Name: value" line (LEN bytes, without the CRLF) into *H. */
static int
header_line(const char *s, size_t len, struct head *h, int *te, int *cl,
    char *err)
{
	const char *v, *e = s + len;
	size_t i, nlen;

	for (i = 0; i < len && tokenchar((unsigned char)s[i]); i++)
		;
	if (i == 0 || i == len || s[i] != ':') {
		seterr(err, "malformed header line");
		return -1;
	}
	nlen = i;
	for (v = s + i + 1; v < e; v++)
		if (!textchar((unsigned char)*v)) {
			seterr(err, "malformed header line");
			return -1;
		}
	for (v = s + i + 1; v < e && (*v == ' ' || *v == '\t'); v++)
		;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (ieq(s, nlen, "content-length")) {
		unsigned long long x = 0;
		const char *p;

		if (v == e) {
			seterr(err, "bad Content-Length");
			return -1;
		}
		for (p = v; p < e; p++) {
			if (*p < '0' || *p > '9') {
				seterr(err, "bad Content-Length");
				return -1;
			}
			/* Saturate: anything this big is refused anyway. */
			if (x < 1000000000000ULL)
				x = x * 10 + (unsigned long long)(*p - '0');
		}
		if (*cl && h->clen != (size_t)(x > SIZE_MAX ? SIZE_MAX : x)) {
			seterr(err, "conflicting Content-Length headers");
			return -1;
		}
		*cl = 1;
		h->clen = (size_t)(x > SIZE_MAX ? SIZE_MAX : x);
	} else if (ieq(s, nlen, "transfer-encoding")) {
		if (!ieq(v, (size_t)(e - v), "chunked") || *te) {
			seterr(err, "unsupported Transfer-Encoding '%.*s'",
			    (int)(e - v > 40 ? 40 : e - v), v);
			return -1;
		}
		*te = 1;
	} else if (ieq(s, nlen, "connection")) {
		const char *p = v, *q;

		while (p < e) {
			for (q = p; q < e && *q != ','; q++)
				;
			while (p < q && (*p == ' ' || *p == '\t'))
				p++;
			{
				const char *t = q;

				while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
					t--;
				if (ieq(p, (size_t)(t - p), "close"))
					h->close = 1;
			}
			p = q < e ? q + 1 : q;
		}
	}
	return 0;
}

/*
 * The head of the response in BUF (N bytes; EOF: no more will come), past
 * any interim 1xx responses.  1 with *H filled, 0 for more bytes, -1 with
 * ERR.
 */
static int
parse_head(const char *buf, size_t n, int eof, struct head *h, char *err)
{
	size_t pos = 0, eol, k;
	int minor, rc, te, cl;

again:
	memset(h, 0, sizeof(*h));
	te = cl = 0;
	/* Refuse at once what cannot become a response: a Redis reply or
	 * HTML from the wrong port should not wait for a time-out. */
	k = n - pos < 7 ? n - pos : 7;
	if (k > 0 && memcmp(buf + pos, "HTTP/1.", k) != 0) {
		seterr(err, "malformed status line");
		return -1;
	}
	rc = find_line(buf, n, pos, HTTP_HEADMAX, &eol);
	if (rc == 1) {
		if (status_line(buf + pos, eol - pos - 2, &minor, &h->status,
		    err) == -1)
			return -1;
		pos = eol;
		for (;;) {
			rc = find_line(buf, n, pos, HTTP_HEADMAX, &eol);
			if (rc != 1)
				break;
			if (eol - pos == 2)
				break;	/* the empty line */
			if (buf[pos] == ' ' || buf[pos] == '\t') {
				seterr(err, "folded header line");
				return -1;
			}
			if (header_line(buf + pos, eol - pos - 2, h, &te, &cl,
			    err) == -1)
				return -1;
			pos = eol;
		}
	}
	if (rc == -1) {
		seterr(err, "malformed header line");
		return -1;
	}
	if (rc == 0) {
		if (n >= HTTP_HEADMAX) {
			seterr(err, "response header too large");
			return -1;
		}
		if (eof) {
			seterr(err, n == 0 ? "connection closed before the "
			    "response" : "connection closed mid-response");
			return -1;
		}
		return 0;
	}
	h->end = eol;
	if (h->status >= 100 && h->status < 200) {
		if (h->status == 101) {
			seterr(err, "unexpected 101 Switching Protocols");
			return -1;
		}
		pos = eol;
		goto again;
	}
	if (te && cl) {
		/* The classic request-smuggling shape: trust neither. */
		seterr(err, "both Content-Length and Transfer-Encoding");
		return -1;
	}
	if (te && minor == 0) {
		seterr(err, "chunked HTTP/1.0 response");
		return -1;
	}
	if (minor == 0)
		h->close = 1;
	if (h->status == 204 || h->status == 304) {
		h->framing = FR_LENGTH;	/* never a body */
		h->clen = 0;
	} else if (te)
		h->framing = FR_CHUNKED;
	else if (cl) {
		h->framing = FR_LENGTH;
		if (h->clen > HTTP_BODYMAX) {
			seterr(err, "response body too large");
			return -1;
		}
	} else {
		h->framing = FR_EOF;
		h->close = 1;
	}
	return 1;
}

/*
 * A chunk-size line at P (LEN bytes: the whole line without its CRLF when
 * COMPLETE, else what has arrived of it): hex digits, then optional white
 * space and ";extensions".  Its value into *SIZE; -1 (ERR set) if it is not
 * one, or once the value passes MAX.
 */
static int
size_line(const char *p, size_t len, int complete, size_t max, size_t *size,
    char *err)
{
	size_t i, v = 0;
	int d;

	if (!complete && len > 0 && p[len - 1] == '\r')
		len--;		/* the CR of a CRLF not all here yet */
	for (i = 0; i < len && (d = hexdig((unsigned char)p[i])) >= 0; i++) {
		v = v * 16 + (size_t)d;
		if (v > max) {
			seterr(err, "response body too large");
			return -1;
		}
	}
	if (i == 0 && (complete || len > 0)) {
		seterr(err, "bad chunk size");
		return -1;
	}
	for (; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	if (i < len && p[i] != ';') {
		seterr(err, "bad chunk size");
		return -1;
	}
	for (; i < len; i++)
		if (!textchar((unsigned char)p[i])) {
			seterr(err, "bad chunk extension");
			return -1;
		}
	*size = v;
	return 0;
}

/*
 * The chunked body at BUF + START (N bytes in all): 1 with *BODYLEN and
 * *END (just past the trailers), copying the data into OUT if not NULL;
 * 0 for more bytes; -1 with ERR.
 */
static int
dechunk(const char *buf, size_t n, size_t start, char *out, size_t *bodylen,
    size_t *end, char *err)
{
	size_t pos = start, total = 0, eol, size, k;
	int rc;

	for (;;) {
		if (pos > RAWMAX) {
			seterr(err, "response too large");
			return -1;
		}
		rc = find_line(buf, n, pos, pos + LINEMAX, &eol);
		if (rc == -1) {
			seterr(err, "bad chunk size");
			return -1;
		}
		if (rc == 0) {
			k = (n < pos + LINEMAX ? n : pos + LINEMAX) - pos;
			/* The partial line may already be wrong. */
			if (size_line(buf + pos, k, 0, HTTP_BODYMAX - total,
			    &size, err) == -1)
				return -1;
			if (k >= LINEMAX) {
				seterr(err, "bad chunk size");
				return -1;
			}
			return 0;
		}
		if (size_line(buf + pos, eol - pos - 2, 1, HTTP_BODYMAX - total,
		    &size, err) == -1)
			return -1;
		pos = eol;
		if (size == 0)
			break;
		if (pos + size + 2 > RAWMAX) {
			seterr(err, "response too large");
			return -1;
		}
		if (n - pos < size)
			return 0;
		if (out != NULL)
			memcpy(out + total, buf + pos, size);
		total += size;
		pos += size;
		/* The CRLF that ends the data, checked as far as it came. */
		k = n - pos < 2 ? n - pos : 2;
		if (k > 0 && memcmp(buf + pos, "\r\n", k) != 0) {
			seterr(err, "missing CRLF after chunk data");
			return -1;
		}
		if (k < 2)
			return 0;
		pos += 2;
	}
	/* Trailer lines (gRPC-gateway sends one), up to the empty line. */
	for (k = pos;;) {
		rc = find_line(buf, n, pos, k + HTTP_HEADMAX, &eol);
		if (rc == -1) {
			seterr(err, "malformed trailer");
			return -1;
		}
		if (rc == 0) {
			if (n >= k + HTTP_HEADMAX) {
				seterr(err, "trailer too large");
				return -1;
			}
			return 0;
		}
		if (eol - pos == 2)
			break;
		for (; pos < eol - 2; pos++)
			if (!textchar((unsigned char)buf[pos])) {
				seterr(err, "malformed trailer");
				return -1;
			}
		pos = eol;
	}
	*bodylen = total;
	*end = eol;
	return 1;
}

/* A malloc'd, NUL-terminated copy of LEN bytes of P into *R, NULL if 0. */
static int
set_body(struct http_resp *r, const char *p, size_t len, char *err)
{
	r->len = len;
	r->body = NULL;
	if (len == 0)
		return 0;
	if ((r->body = malloc(len + 1)) == NULL) {
		seterr(err, "out of memory");
		return -1;
	}
	if (p != NULL)
		memcpy(r->body, p, len);
	r->body[len] = '\0';
	return 0;
}

/* http_parse, also telling the head (close after, framing). */
static int
parse_full(const char *buf, size_t n, int eof, struct http_resp *r,
    size_t *used, struct head *h, char *err)
{
	size_t blen, end;
	int rc;

	r->status = 0;
	r->body = NULL;
	r->len = 0;
	if ((rc = parse_head(buf, n, eof, h, err)) != 1)
		return rc;
	switch (h->framing) {
	case FR_LENGTH:
		if (n - h->end < h->clen)
			break;
		if (set_body(r, buf + h->end, h->clen, err) == -1)
			return -1;
		*used = h->end + h->clen;
		r->status = h->status;
		return 1;
	case FR_EOF:
		if (n - h->end > HTTP_BODYMAX) {
			seterr(err, "response body too large");
			return -1;
		}
		if (!eof)
			return 0;
		if (set_body(r, buf + h->end, n - h->end, err) == -1)
			return -1;
		*used = n;
		r->status = h->status;
		return 1;
	case FR_CHUNKED:
		rc = dechunk(buf, n, h->end, NULL, &blen, &end, err);
		if (rc == 0)
			break;
		if (rc == -1)
			return -1;
		if (set_body(r, NULL, blen, err) == -1)
			return -1;
		if (blen > 0)
			dechunk(buf, n, h->end, r->body, &blen, &end, err);
		*used = end;
		r->status = h->status;
		return 1;
	}
	if (eof) {
		seterr(err, "connection closed mid-response");
		return -1;
	}
	return 0;
}

int
http_parse(const char *buf, size_t n, int eof, struct http_resp *r,
    size_t *used, char *err)
{
	struct head h;

	return parse_full(buf, n, eof, r, used, &h, err);
}

void
http_init(struct http_conn *c, const struct net_ep *ep)
{
	memset(c, 0, sizeof(*c));
	c->ep = *ep;
	c->fd = -1;
}

/* Close the connection but keep the buffers for the next one. */
static void
drop(struct http_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->streaming = 0;
	c->chunked = 0;
	c->chunk_left = 0;
	c->stream_state = ST_END;
	c->msg_len = 0;
}

void
http_close(struct http_conn *c)
{
	drop(c);
	free(c->buf);
	free(c->msg);
	c->buf = c->msg = NULL;
	c->cap = c->msg_cap = 0;
}

/*
 * 1 if the idle connection C can carry a request: nothing arrived on it
 * since the last response.  An end of stream here is the server having
 * closed it while idle, caught before anything is sent; any other byte
 * would be taken for the next response, so the connection is not used.
 */
static int
idle_ok(struct http_conn *c)
{
	struct pollfd pfd;
	char b;
	ssize_t r;

	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == 0)
		return 1;
	r = recv(c->fd, &b, 1, MSG_PEEK);
	return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR);
}

/*
 * Room for WANT more bytes in C->buf (fewer near BUFMAX, never none), or
 * -1 with ERR.  The parser refuses a response before it needs BUFMAX.
 */
static int
room(struct http_conn *c, size_t want, char *err)
{
	size_t cap;
	char *nb;

	if (c->cap - c->len >= want)
		return 0;
	if (c->len >= BUFMAX) {
		seterr(err, "response too large");
		return -1;
	}
	cap = c->cap ? c->cap : READSZ;
	while (cap - c->len < want && cap < BUFMAX)
		cap *= 2;
	if (cap > BUFMAX)
		cap = BUFMAX;
	if (cap == c->cap)
		return 0;
	if ((nb = realloc(c->buf, cap)) == NULL) {
		seterr(err, "out of memory");
		return -1;
	}
	c->buf = nb;
	c->cap = cap;
	return 0;
}

/*
 * Read into C->buf until the head (FULL: the whole response) is in.  1
 * with *H (and *R, *USED), -1 with ERR, -2 if the connection ended, or was
 * reset, before the first byte of a response.
 */
static int
read_reply(struct http_conn *c, int full, struct http_resp *r, size_t *used,
    struct head *h, int64_t deadline, char *err)
{
	int eof = 0, rc;
	ssize_t n;

	for (;;) {
		if (full)
			rc = parse_full(c->buf, c->len, eof, r, used, h, err);
		else
			rc = parse_head(c->buf, c->len, eof, h, err);
		if (rc != 0)
			return rc;
		if (room(c, READSZ, err) == -1)
			return -1;
		n = net_recv(c->fd, &c->ep, c->buf + c->len, c->cap - c->len,
		    deadline, err);
		if (n == -1 && c->len == 0 && (errno == ECONNRESET ||
		    errno == EPIPE))
			return -2;
		if (n == -1)
			return -1;
		if (n == 0 && c->len == 0)
			return -2;
		if (n == 0)
			eof = 1;
		c->len += (size_t)n;
	}
}

/* The request line, headers and body of a POST, in one malloc'd buffer. */
static char *
build(const struct http_conn *c, const char *path, const char *headers,
    const char *body, size_t len, size_t *reqlen, char *err)
{
	char host[NET_HOSTLEN + 16], *req;
	const char *p;
	size_t hl = headers ? strlen(headers) : 0, n;
	int k;

	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			break;
	if (path[0] != '/' || *p != '\0') {
		seterr(err, "bad request path");
		return NULL;
	}
	/* Extra headers end with their CRLF and cannot end the head early. */
	if (hl > 0 && (hl < 2 || strcmp(headers + hl - 2, "\r\n") != 0 ||
	    strstr(headers, "\r\n\r\n") != NULL)) {
		seterr(err, "bad request headers");
		return NULL;
	}
	if (c->ep.path[0] != '\0')
		snprintf(host, sizeof(host), "localhost");
	else
		net_name(&c->ep, host, sizeof(host));
	n = strlen(path) + strlen(host) + hl + len + 128;
	if ((req = malloc(n)) == NULL) {
		seterr(err, "out of memory");
		return NULL;
	}
	k = snprintf(req, n, "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
	    path, host, len, headers ? headers : "");
	if (k < 0 || (size_t)k + len > n) {
		free(req);
		seterr(err, "request too large");
		return NULL;
	}
	if (len > 0)
		memcpy(req + k, body, len);
	*reqlen = (size_t)k + len;
	return req;
}

/*
 * Send the request and read its reply: the whole of it (FULL) or the head.
 *
 * Resending.  A request that may have reached the server is never sent
 * twice, except in one case: the classic keep-alive race, where the server
 * closes an idle persistent connection just as we reuse it.  Then, and only
 * on a REUSED connection, the request goes once more on a fresh one if the
 * send itself failed (EPIPE, ECONNRESET), or if the connection ended or
 * was reset before a single byte of the response came.  In the second case
 * a server that crashed after applying the request would see it twice:
 * that is the price of keep-alive every HTTP client pays (curl does the
 * same); idle_ok catches most idle closes before anything is sent, and a
 * fresh connection is never retried.
 */
static int
exchange(struct http_conn *c, const char *path, const char *headers,
    const char *body, size_t len, int full, struct http_resp *r,
    struct head *h, int64_t deadline, char *err)
{
	size_t reqlen, used = 0;
	char *req;
	int attempt, reused, rc = -1;

	if ((req = build(c, path, headers, body, len, &reqlen, err)) == NULL)
		return -1;
	if (c->streaming || (c->fd != -1 && !idle_ok(c)))
		drop(c);
	for (attempt = 0;; attempt++) {
		reused = c->fd != -1;
		if (!reused &&
		    (c->fd = net_connect(&c->ep, deadline, err)) == -1)
			break;
		c->len = 0;
		if (net_send(c->fd, &c->ep, req, reqlen, deadline, err) == -1) {
			if (reused && attempt == 0 && (errno == EPIPE ||
			    errno == ECONNRESET)) {
				drop(c);
				continue;
			}
			break;
		}
		rc = read_reply(c, full, r, &used, h, deadline, err);
		if (rc == -2 && reused && attempt == 0) {
			drop(c);
			continue;
		}
		if (rc == -2) {
			char name[NET_HOSTLEN + 16];

			seterr(err, "receive %s: connection closed before the "
			    "response", net_name(&c->ep, name, sizeof(name)));
		}
		break;
	}
	free(req);
	if (rc != 1) {
		drop(c);
		return -1;
	}
	if (full) {
		if (c->len > used) {
			/* We sent one request: more bytes than its response
			 * means we and the server disagree on framing. */
			seterr(err, "unexpected bytes after the response");
			free(r->body);
			r->body = NULL;
			drop(c);
			return -1;
		}
		if (h->close)
			drop(c);
		c->len = 0;
	}
	return 0;
}

int
http_post(struct http_conn *c, const char *path, const char *headers,
    const char *body, size_t len, struct http_resp *r, int64_t deadline,
    char *err)
{
	struct head h;

	r->status = 0;
	r->body = NULL;
	r->len = 0;
	return exchange(c, path, headers, body, len, 1, r, &h, deadline, err);
}

int
http_stream_open(struct http_conn *c, const char *path,
    const char *headers, const char *body, size_t len, int64_t deadline,
    char *err)
{
	struct http_resp r;
	struct head h;
	size_t used;
	char msg[160];

	memset(&r, 0, sizeof(r));

	if (exchange(c, path, headers, body, len, 0, &r, &h, deadline,
	    err) == -1)
		return -1;
	if (h.status != 200) {
		/* The error body is short (etcd's {"error":..,"message":..}):
		 * read it for its message, within the same deadline. */
		if (read_reply(c, 1, &r, &used, &h, deadline, err) == 1 &&
		    json_get(r.body, r.len, "message", msg, sizeof(msg)) == 1)
			seterr(err, "HTTP %d: %s", h.status, msg);
		else
			seterr(err, "HTTP %d", h.status);
		free(r.body);
		drop(c);
		return -1;
	}
	/* The body is the stream: keep what came after the head. */
	memmove(c->buf, c->buf + h.end, c->len - h.end);
	c->len -= h.end;
	c->streaming = 1;
	c->msg_len = 0;
	c->chunk_left = 0;
	c->chunked = h.framing == FR_CHUNKED;
	if (h.framing == FR_CHUNKED)
		c->stream_state = ST_SIZE;
	else if (h.framing == FR_LENGTH) {
		c->stream_state = ST_LENGTH;
		c->chunk_left = h.clen;
	} else
		c->stream_state = ST_RAW;
	return 0;
}

/*
 * Append up to N body bytes at P to the message being gathered, stopping
 * after a newline.  Returns how many were taken, (size_t)-1 with ERR if
 * the message grows past HTTP_BODYMAX.  *DONE is set at the newline.
 */
static size_t
take(struct http_conn *c, const char *p, size_t n, int *done, char *err)
{
	const char *nl = memchr(p, '\n', n);
	size_t k = nl ? (size_t)(nl - p) + 1 : n;
	char *nm;

	if (c->msg_len + k - (nl ? 1 : 0) > HTTP_BODYMAX) {
		seterr(err, "stream message too large");
		return (size_t)-1;
	}
	if (c->msg_cap < c->msg_len + k + 1) {
		size_t cap = c->msg_cap ? c->msg_cap : 4096;

		while (cap < c->msg_len + k + 1)
			cap *= 2;
		if ((nm = realloc(c->msg, cap)) == NULL) {
			seterr(err, "out of memory");
			return (size_t)-1;
		}
		c->msg = nm;
		c->msg_cap = cap;
	}
	memcpy(c->msg + c->msg_len, p, k);
	c->msg_len += k;
	*done = nl != NULL;
	return k;
}

/*
 * Turn the raw bytes in C->buf into stream bytes in C->msg, up to the end
 * of one message.  1 when a message is complete, 0 when more bytes are
 * needed, 2 at the end of the body, -1 with ERR.
 */
static int
decode(struct http_conn *c, char *err)
{
	size_t off = 0, eol, size, k;
	int done = 0, rc = 0;

	while (rc == 0 && !done) {
		const char *p = c->buf + off;
		size_t avail = c->len - off;

		switch (c->stream_state) {
		case ST_SIZE:
			rc = find_line(c->buf, c->len, off, off + LINEMAX, &eol);
			if (rc == 0) {
				k = avail < LINEMAX ? avail : LINEMAX;
				if (size_line(p, k, 0, SIZE_MAX / 32, &size,
				    err) == -1 || k >= LINEMAX) {
					seterr(err, "bad chunk size");
					rc = -1;
					break;
				}
				goto more;
			}
			if (rc == -1 || size_line(p, eol - off - 2, 1,
			    SIZE_MAX / 32, &size, err) == -1) {
				seterr(err, "bad chunk size");
				rc = -1;
				break;
			}
			rc = 0;
			off = eol;
			c->chunk_left = size;
			/* A trailer's size is counted in chunk_left. */
			c->stream_state = size ? ST_DATA : ST_TRAILER;
			break;
		case ST_DATA:
		case ST_LENGTH:
		case ST_RAW:
			if (c->stream_state != ST_RAW && c->chunk_left == 0) {
				c->stream_state = c->stream_state == ST_DATA ?
				    ST_CRLF : ST_END;
				break;
			}
			if (avail == 0)
				goto more;
			k = avail;
			if (c->stream_state != ST_RAW && k > c->chunk_left)
				k = c->chunk_left;
			if ((k = take(c, p, k, &done, err)) == (size_t)-1) {
				rc = -1;
				break;
			}
			off += k;
			if (c->stream_state != ST_RAW)
				c->chunk_left -= k;
			break;
		case ST_CRLF:
			k = avail < 2 ? avail : 2;
			if (k > 0 && memcmp(p, "\r\n", k) != 0) {
				seterr(err, "missing CRLF after chunk data");
				rc = -1;
				break;
			}
			if (k < 2)
				goto more;
			off += 2;
			c->stream_state = ST_SIZE;
			break;
		case ST_TRAILER:
			rc = find_line(c->buf, c->len, off, off + HTTP_HEADMAX,
			    &eol);
			if (rc == -1 || (rc == 0 && avail >= HTTP_HEADMAX) ||
			    (rc == 1 && (c->chunk_left += eol - off) >
			    HTTP_HEADMAX)) {
				seterr(err, "malformed trailer");
				rc = -1;
				break;
			}
			if (rc == 0)
				goto more;
			rc = 0;
			if (eol - off == 2)
				c->stream_state = ST_END;
			off = eol;
			break;
		case ST_END:
		default:
			rc = 2;
			break;
		}
	}
	if (rc == 0 && done)
		rc = 1;
more:
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return rc;
}

/* Wait for FD to be readable until DEADLINE: 1, 0 on time-out, -1. */
static int
readable(int fd, int64_t deadline)
{
	struct pollfd pfd;
	int64_t now, ms;
	int rc;

	for (;;) {
		now = now_ns();
		if (deadline <= now)
			return 0;
		ms = (deadline - now + 999999) / 1000000;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
		if (rc > 0)
			return 1;
		if (rc == -1 && errno != EINTR)
			return -1;
	}
}

int
http_stream_next(struct http_conn *c, char **msg, size_t *len,
    int64_t deadline, char *err)
{
	char name[NET_HOSTLEN + 16];
	ssize_t n;
	int rc;

	if (!c->streaming || c->fd == -1) {
		seterr(err, "no stream open");
		return -1;
	}
	/* The message handed out last time is still at the front. */
	if (c->stream_state & ST_GIVEN) {
		c->stream_state &= ~ST_GIVEN;
		c->msg_len = 0;
	}
	for (;;) {
		rc = decode(c, err);
		if (rc == 1) {
			/* The newline becomes the NUL; the message stays at
			 * the front of C->msg until the next call. */
			c->msg[c->msg_len - 1] = '\0';
			*msg = c->msg;
			*len = c->msg_len - 1;
			c->stream_state |= ST_GIVEN;
			break;
		}
		if (rc == 2) {
			seterr(err, "receive %s: %s", net_name(&c->ep, name,
			    sizeof(name)), c->msg_len > 0 ?
			    "stream ended mid-message" : "end of stream");
			rc = -1;
		}
		if (rc == -1)
			break;
		if (room(c, READSZ, err) == -1) {
			rc = -1;
			break;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			if (c->stream_state == ST_RAW) {
				c->stream_state = ST_END;
				continue;
			}
			seterr(err, "receive %s: connection closed "
			    "mid-response", net_name(&c->ep, name, sizeof(name)));
			rc = -1;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			seterr(err, "receive %s: %s", net_name(&c->ep, name,
			    sizeof(name)), strerror(errno));
			rc = -1;
			break;
		}
		if (deadline == 0)
			return 0;
		rc = readable(c->fd, deadline);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			seterr(err, "poll: %s", strerror(errno));
			break;
		}
	}
	if (rc == -1)
		drop(c);
	return rc;
}
