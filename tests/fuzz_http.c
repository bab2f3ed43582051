/*
 * fuzz_http.c - libFuzzer target for the HTTP response parser (http_parse
 * in http.c) and the stream decoder under http_stream_next, which read
 * whatever the server, a proxy or the wrong port sends back.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *       -D_POSIX_C_SOURCE=200809L -o fuzz_http tests/fuzz_http.c net.c json.c
 *   ./fuzz_http -max_total_time=60 tests/corpus/http
 *
 * Input: one flag byte (bit 0: the peer closed after the bytes), one byte
 * choosing a split point, then the bytes received.  They go to the parser
 * in a buffer of exactly their size, so any read past the end is an ASan
 * report.  Besides "no crash", it checks what http_post relies on:
 *  - a response taken (1) used at most N bytes, has a status 200-599 and a
 *    body of at most HTTP_BODYMAX bytes, NUL-terminated, NULL when empty;
 *  - the same bytes give the same answer twice, error text included;
 *  - a response is a function of its own bytes: parsing just the USED
 *    bytes gives it again;
 *  - bytes arriving in two reads: a prefix (no EOF yet) is never taken as a
 *    different response than the whole, and a prefix refused stays refused
 *    when more bytes come;
 *  - a chunked body decoded as a stream (http_stream_next's decoder, fed
 *    in the same two reads) gives the same bytes, cut at newlines, as the
 *    one-shot parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/http.c"

static int
same(const struct http_resp *a, size_t ua, const struct http_resp *b,
    size_t ub)
{
	return a->status == b->status && a->len == b->len && ua == ub &&
	    (a->len == 0 || memcmp(a->body, b->body, a->len) == 0);
}

static void
check_taken(const struct http_resp *r, size_t used, size_t n)
{
	if (used > n || r->len > HTTP_BODYMAX)
		abort();
	if (r->status < 200 || r->status > 599)
		abort();
	if ((r->len == 0) != (r->body == NULL))
		abort();
	if (r->len > 0 && r->body[r->len] != '\0')
		abort();
}

/*
 * The body bytes BUF (N) as http_stream_next's decoder sees them, arriving
 * in two reads split at K: the messages joined back with their newlines
 * into OUT (at most CAP).  Returns the decoder's last word: 2 at the end of
 * the body, -1 on error, 0 if it wants more; *OLEN the bytes out, *PART
 * the bytes of an unfinished message.
 */
static int
stream_decode(const char *buf, size_t n, size_t k, char *out, size_t cap,
    size_t *olen, size_t *part)
{
	struct http_conn c;
	struct net_ep ep;
	char err[ERRLEN];
	size_t fed = 0, step;
	int rc = 0;

	memset(&ep, 0, sizeof(ep));
	http_init(&c, &ep);
	c.streaming = 1;
	c.stream_state = ST_SIZE;
	*olen = 0;
	for (step = 0; step < 2; step++) {
		size_t m = step == 0 ? k : n - k;

		if (room(&c, m + 1, err) == -1) {
			rc = -1;
			break;
		}
		memcpy(c.buf + c.len, buf + fed, m);
		c.len += m;
		fed += m;
		for (;;) {
			if (c.stream_state & ST_GIVEN) {
				c.stream_state &= ~ST_GIVEN;
				c.msg_len = 0;
			}
			rc = decode(&c, err);
			if (rc != 1)
				break;
			if (c.msg_len == 0 || c.msg[c.msg_len - 1] != '\n' ||
			    memchr(c.msg, '\n', c.msg_len - 1) != NULL ||
			    c.msg_len - 1 > HTTP_BODYMAX)
				abort();	/* not one message */
			if (*olen + c.msg_len <= cap)
				memcpy(out + *olen, c.msg, c.msg_len);
			*olen += c.msg_len;
			c.stream_state |= ST_GIVEN;
		}
		if (rc != 0)
			break;
	}
	*part = (c.stream_state & ST_GIVEN) ? 0 : c.msg_len;
	http_close(&c);
	return rc;
}

static const char chunked_head[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_resp r, r2, rp;
	char err[ERRLEN], err2[ERRLEN];
	size_t n, k, used = 0, used2 = 0, usedp = 0;
	int eof, rc, rc2, rcp;
	char *buf;

	if (size < 2)
		return 0;
	eof = data[0] & 1;
	n = size - 2;
	k = (size_t)data[1] * (n + 1) / 256;
	if ((buf = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(buf, data + 2, n);

	err[0] = err2[0] = '\0';
	rc = http_parse(buf, n, eof, &r, &used, err);
	if (rc < -1 || rc > 1 || (rc == -1 && err[0] == '\0'))
		abort();
	if (rc == 0 && eof)
		abort();	/* EOF: the answer is final */
	if (rc == 1)
		check_taken(&r, used, n);

	rc2 = http_parse(buf, n, eof, &r2, &used2, err2);
	if (rc2 != rc || (rc == 1 && !same(&r, used, &r2, used2)) ||
	    (rc == -1 && strcmp(err, err2) != 0))
		abort();	/* not a function of its input */
	if (rc2 == 1)
		free(r2.body);

	if (rc == 1) {
		rc2 = http_parse(buf, used, eof, &r2, &used2, err2);
		if (rc2 != 1 || !same(&r, used, &r2, used2))
			abort();	/* depends on bytes after it */
		free(r2.body);
	}

	/* The first read: K bytes, the peer still there. */
	rcp = http_parse(buf, k, 0, &rp, &usedp, err2);
	if (rcp == 1) {
		check_taken(&rp, usedp, k);
		if (rc != 1 || !same(&r, used, &rp, usedp))
			abort();	/* taken early, and wrongly */
		free(rp.body);
	}
	if (rcp == -1 && rc != -1)
		abort();	/* refused, then accepted with more bytes */

	/* The body as a stream, when the one-shot parser takes it. */
	{
		size_t hl = sizeof(chunked_head) - 1, olen, part;
		char *whole = malloc(hl + n ? hl + n : 1);

		if (whole != NULL) {
			memcpy(whole, chunked_head, hl);
			memcpy(whole + hl, buf, n);
			rc2 = http_parse(whole, hl + n, 0, &r2, &used2, err2);
			if (rc2 == 1) {
				char *out = malloc(r2.len ? r2.len : 1);
				int src;

				if (out == NULL)
					abort();
				src = stream_decode(buf, used2 - hl, k <
				    used2 - hl ? k : used2 - hl, out, r2.len,
				    &olen, &part);
				/* All of the body, in whole messages and one
				 * unfinished tail, and then the end. */
				if (src != 2 || olen + part != r2.len ||
				    (olen > 0 && memcmp(out, r2.body, olen)))
					abort();
				free(out);
				free(r2.body);
			}
			free(whole);
		}
	}

	if (rc == 1)
		free(r.body);
	free(buf);
	return 0;
}
