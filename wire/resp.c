/*
 * resp.c - RESP2 requests and a bounded, allocation-free reply parser.
 *
 * The parser walks the bytes once, keeping a stack of the arrays still
 * open (at most RESP_MAXDEPTH), and stops at the first byte that proves
 * the reply bad, or at the end of what arrived.  Lines end in CRLF only; a
 * bare CR or LF inside a line is refused, as are signs, spaces and leading
 * '+' in numbers, lengths below -1, and anything after a bulk string but
 * its CRLF.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/base.h"
#include "wire/resp.h"

/*
 * line: the line at BUF[POS] (N bytes in all): 1 with its length (without
 * the CRLF) in *LEN, 0 if it has not all arrived, -1 if it is longer than
 * RESP_LINEMAX or holds a bare CR or LF.
 */
static int
line(const char *buf, size_t n, size_t pos, size_t *len, char *err)
{
	size_t i, end = n - pos > RESP_LINEMAX + 2 ? pos + RESP_LINEMAX + 2 : n;

	for (i = pos; i < end; i++) {
		if (buf[i] == '\n') {
			seterr(err, "bare LF in a reply line");
			return -1;
		}
		if (buf[i] != '\r')
			continue;
		if (i + 1 == n)
			return 0;
		if (buf[i + 1] != '\n') {
			seterr(err, "bare CR in a reply line");
			return -1;
		}
		*len = i - pos;
		return 1;
	}
	if (end - pos >= RESP_LINEMAX + 2) {
		/* A server's long -ERR (protected mode's -DENIED is 700+ bytes
		 * of advice) says more than our limit: show how it starts. */
		char head[97];

		for (i = 0; i + 1 < sizeof(head); i++)
			head[i] = isprint((unsigned char)buf[pos + i]) ?
			    buf[pos + i] : '?';
		head[i] = '\0';
		if (buf[pos] == '-')
			seterr(err, "server error (longer than %d bytes): %s...",
			    RESP_LINEMAX, head + 1);
		else
			seterr(err, "reply line longer than %d bytes: %s...",
			    RESP_LINEMAX, head);
		return -1;
	}
	return 0;
}

/* An integer of digits with an optional '-', in int64_t range. */
static int
integer(const char *s, size_t len, int64_t *v)
{
	uint64_t x = 0, max;
	int neg = 0;
	size_t i = 0;

	if (len > 0 && s[0] == '-')
		neg = 1, i = 1;
	if (i == len)
		return -1;
	max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg)
		*v = x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
	else
		*v = (int64_t)x;
	return 0;
}

int
resp_parse(const char *buf, size_t n, struct resp_reply *r, size_t *used,
    char *err)
{
	int open[RESP_MAXDEPTH];	/* the arrays not yet complete */
	int64_t left[RESP_MAXDEPTH];	/* elements they still need */
	int depth = 0, rc;
	size_t pos = 0, len;

	r->n = 0;
	for (;;) {
		struct resp_val *v;
		const char *p;

		if (pos >= n)
			return 0;
		if (strchr("+-:$*", buf[pos]) == NULL || buf[pos] == '\0') {
			seterr(err, "not a RESP reply (first byte 0x%02x)",
			    (unsigned char)buf[pos]);
			return -1;
		}
		if ((rc = line(buf, n, pos, &len, err)) != 1)
			return rc;
		if (r->n == RESP_MAXVALS) {
			seterr(err, "reply of more than %d values", RESP_MAXVALS);
			return -1;
		}
		v = &r->v[r->n++];
		memset(v, 0, sizeof(*v));
		v->span = 1;
		p = buf + pos + 1;
		switch (buf[pos]) {
		case '+':
		case '-':
			v->type = buf[pos] == '+' ? RESP_STATUS : RESP_ERROR;
			v->s = p;
			v->len = len - 1;
			pos += len + 2;
			break;
		case ':':
			if (integer(p, len - 1, &v->num) == -1) {
				seterr(err, "bad integer in a reply");
				return -1;
			}
			v->type = RESP_INT;
			pos += len + 2;
			break;
		case '$':
			if (integer(p, len - 1, &v->num) == -1 || v->num < -1) {
				seterr(err, "bad bulk string length in a reply");
				return -1;
			}
			pos += len + 2;
			if (v->num == -1) {
				v->type = RESP_NIL;
				v->num = 0;
				break;
			}
			if (v->num > RESP_BULKMAX) {
				seterr(err, "bulk string of more than %d bytes",
				    RESP_BULKMAX);
				return -1;
			}
			v->type = RESP_BULK;
			v->len = (size_t)v->num;
			v->num = 0;
			v->s = buf + pos;
			if (n - pos < v->len + 2) {
				/* The CRLF may already be judged. */
				if (n - pos > v->len && buf[pos + v->len] != '\r')
					goto nocrlf;
				if (n - pos > v->len + 1 && buf[pos + v->len + 1] != '\n')
					goto nocrlf;
				return 0;
			}
			if (buf[pos + v->len] != '\r' || buf[pos + v->len + 1] != '\n')
				goto nocrlf;
			pos += v->len + 2;
			break;
		case '*':
			if (integer(p, len - 1, &v->num) == -1 || v->num < -1) {
				seterr(err, "bad array length in a reply");
				return -1;
			}
			pos += len + 2;
			if (v->num == -1) {
				v->type = RESP_NIL;
				v->num = 0;
				break;
			}
			if (v->num >= RESP_MAXVALS) {
				seterr(err, "reply of more than %d values",
				    RESP_MAXVALS);
				return -1;
			}
			v->type = RESP_ARRAY;
			if (v->num == 0)
				break;
			if (depth == RESP_MAXDEPTH) {
				seterr(err, "reply nested deeper than %d arrays",
				    RESP_MAXDEPTH);
				return -1;
			}
			open[depth] = r->n - 1;
			left[depth] = v->num;
			depth++;
			continue;	/* its elements come next */
		default:	/* not reached: checked above */
			seterr(err, "not a RESP reply");
			return -1;
		}
		/* A value is complete: so may be the arrays it ends. */
		while (depth > 0 && --left[depth - 1] == 0) {
			depth--;
			r->v[open[depth]].span = r->n - open[depth];
		}
		if (depth == 0) {
			*used = pos;
			return 1;
		}
	}
nocrlf:
	seterr(err, "bulk string not followed by CRLF");
	return -1;
}

const struct resp_val *
resp_elem(const struct resp_reply *r, int i, int64_t k)
{
	int j;

	if (i < 0 || i >= r->n || r->v[i].type != RESP_ARRAY || k < 0 ||
	    k >= r->v[i].num)
		return NULL;
	for (j = i + 1; k > 0; k--)
		j += r->v[j].span;
	return &r->v[j];
}

size_t
resp_cmd(char *buf, size_t cap, int argc, const char *const *argv,
    const size_t *lens)
{
	size_t off = 0;
	int i, k;

	k = snprintf(buf, cap, "*%d\r\n", argc);
	if (k < 0 || (size_t)k >= cap)
		return 0;
	off = (size_t)k;
	for (i = 0; i < argc; i++) {
		size_t len = lens ? lens[i] : strlen(argv[i]);

		k = snprintf(buf + off, cap - off, "$%zu\r\n", len);
		if (k < 0 || (size_t)k >= cap - off || cap - off - (size_t)k < len + 2)
			return 0;
		off += (size_t)k;
		memcpy(buf + off, argv[i], len);
		off += len;
		memcpy(buf + off, "\r\n", 2);
		off += 2;
	}
	return off;
}

char *
resp_text(const struct resp_val *v, char *out, size_t len)
{
	size_t i, n = 0;

	if (len == 0)
		return out;
	if (v->type == RESP_INT)
		snprintf(out, len, "%lld", (long long)v->num);
	else if (v->type == RESP_NIL)
		snprintf(out, len, "(nil)");
	else if (v->type == RESP_ARRAY)
		snprintf(out, len, "(array of %lld)", (long long)v->num);
	else {
		for (i = 0; i < v->len && n + 1 < len; i++) {
			unsigned char c = (unsigned char)v->s[i];

			out[n++] = c >= 32 && c < 127 ? (char)c : '?';
		}
		out[n] = '\0';
	}
	return out;
}
