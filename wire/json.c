/*
 * json.c - a small, bounded JSON reader (and base64) for etcd's replies.
 *
 * No allocation and no tree: every lookup validates the whole document
 * (recursive descent, at most JSON_DEPTH levels of arrays and objects, so
 * the stack is bounded too) and then walks the text to the value.  Choices
 * the RFC leaves open, made strictly:
 *  - the document is one value with optional white space around it; no
 *    byte-order mark, no trailing bytes;
 *  - strings must be valid UTF-8 (no overlong forms, no encoded
 *    surrogates, nothing past U+10FFFF), raw bytes below 0x20 are refused,
 *    and \u escapes must pair their surrogates; so every string json_get
 *    hands out is valid UTF-8;
 *  - a key that appears twice in one object: the first one wins.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "wire/json.h"

struct jp {
	const char	*p;
	const char	*end;
};

static void
skip_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The length of the well-formed UTF-8 sequence at P (AVAIL bytes
 * available) per Unicode table 3-7, or 0 if there is none.
 */
static size_t
utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	if (avail < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Four hex digits at P (AVAIL bytes) as a code unit, or -1. */
static long
hex4(const char *p, size_t avail)
{
	long v = 0;
	int i, d;

	if (avail < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((d = hexval((unsigned char)p[i])) < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A string at J->p (on its opening quote): validate and step past it. */
static int
v_string(struct jp *j)
{
	const char *p = j->p + 1;
	long u, lo;

	while (p < j->end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"') {
			j->p = p + 1;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)p,
			    (size_t)(j->end - p));

			if (n == 0)
				return -1;
			p += n;
			continue;
		}
		if (c != '\\') {
			p++;
			continue;
		}
		if (++p >= j->end)
			return -1;
		switch (*p) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			p++;
			break;
		case 'u':
			if ((u = hex4(p + 1, (size_t)(j->end - p - 1))) < 0)
				return -1;
			p += 5;
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1;	/* a lone low surrogate */
			if (u >= 0xd800 && u <= 0xdbff) {
				if (j->end - p < 6 || p[0] != '\\' ||
				    p[1] != 'u')
					return -1;
				lo = hex4(p + 2, (size_t)(j->end - p - 2));
				if (lo < 0xdc00 || lo > 0xdfff)
					return -1;
				p += 6;
			}
			break;
		default:
			return -1;
		}
	}
	return -1;
}

static int
isdig(const struct jp *j, const char *p)
{
	return p < j->end && *p >= '0' && *p <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
v_number(struct jp *j)
{
	const char *p = j->p;

	if (p < j->end && *p == '-')
		p++;
	if (!isdig(j, p))
		return -1;
	if (*p == '0')
		p++;
	else
		while (isdig(j, p))
			p++;
	if (p < j->end && *p == '.') {
		if (!isdig(j, ++p))
			return -1;
		while (isdig(j, p))
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (!isdig(j, p))
			return -1;
		while (isdig(j, p))
			p++;
	}
	j->p = p;
	return 0;
}

static int
v_literal(struct jp *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

/*
 * One value at J->p (no white space before it): validate and step past
 * it.  DEPTH is how many arrays and objects enclose it.
 */
static int
v_value(struct jp *j, int depth)
{
	char close;

	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"':
		return v_string(j);
	case 't':
		return v_literal(j, "true");
	case 'f':
		return v_literal(j, "false");
	case 'n':
		return v_literal(j, "null");
	case '[':
	case '{':
		break;
	default:
		return v_number(j);
	}
	if (depth >= JSON_DEPTH)
		return -1;
	close = *j->p == '[' ? ']' : '}';
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (j->p >= j->end || *j->p != '"' || v_string(j) == -1)
				return -1;
			skip_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return -1;
			j->p++;
			skip_ws(j);
		}
		if (v_value(j, depth + 1) == -1)
			return -1;
		skip_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return -1;
		j->p++;
		skip_ws(j);
	}
}

int
json_valid(const char *doc, size_t len)
{
	struct jp j;

	if (doc == NULL)
		return 0;
	j.p = doc;
	j.end = doc + len;
	skip_ws(&j);
	if (v_value(&j, 0) == -1)
		return 0;
	skip_ws(&j);
	return j.p == j.end;
}

/*
 * The next character of a validated string at *PP (inside the quotes) as
 * UTF-8 into OUT; its length (1-4), or 0 at the closing quote.
 */
static size_t
str_next(const char **pp, unsigned char *out)
{
	const char *p = *pp;
	unsigned long u;
	size_t n;

	if (*p == '"')
		return 0;
	if (*p != '\\') {
		n = utf8_len((const unsigned char *)p, 4);
		/* Validated: N is right; copy it byte by byte. */
		memcpy(out, p, n);
		*pp = p + n;
		return n;
	}
	p++;
	switch (*p) {
	case 'b': out[0] = '\b'; break;
	case 'f': out[0] = '\f'; break;
	case 'n': out[0] = '\n'; break;
	case 'r': out[0] = '\r'; break;
	case 't': out[0] = '\t'; break;
	case 'u':
		u = (unsigned long)hex4(p + 1, 4);
		p += 5;
		if (u >= 0xd800 && u <= 0xdbff) {
			u = 0x10000 + ((u - 0xd800) << 10) +
			    ((unsigned long)hex4(p + 2, 4) - 0xdc00);
			p += 6;
		}
		*pp = p;
		if (u < 0x80) {
			out[0] = (unsigned char)u;
			return 1;
		}
		if (u < 0x800) {
			out[0] = (unsigned char)(0xc0 | (u >> 6));
			out[1] = (unsigned char)(0x80 | (u & 0x3f));
			return 2;
		}
		if (u < 0x10000) {
			out[0] = (unsigned char)(0xe0 | (u >> 12));
			out[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
			out[2] = (unsigned char)(0x80 | (u & 0x3f));
			return 3;
		}
		out[0] = (unsigned char)(0xf0 | (u >> 18));
		out[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
		out[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
		out[3] = (unsigned char)(0x80 | (u & 0x3f));
		return 4;
	default:	/* " \ / */
		out[0] = (unsigned char)*p;
		break;
	}
	*pp = p + 1;
	return 1;
}

/* 1 if the validated string at P (on its quote) decodes to KEY (KLEN). */
static int
key_is(const char *p, const char *key, size_t klen)
{
	unsigned char ch[4];
	size_t n, off = 0;

	p++;
	while ((n = str_next(&p, ch)) > 0) {
		if (off + n > klen || memcmp(key + off, ch, n) != 0)
			return 0;
		off += n;
	}
	return off == klen;
}

/* SEG (LEN bytes) as an array index; -1 if it is not plain digits. */
static long
seg_index(const char *seg, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 9 || (len > 1 && seg[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return -1;
		v = v * 10 + (seg[i] - '0');
	}
	return v;
}

/*
 * The value at PATH in DOC: *VS and *VE bracket its text.  1 when found,
 * 0 when absent, -1 if DOC is not valid JSON.
 */
static int
locate(const char *doc, size_t len, const char *path, const char **vs,
    const char **ve)
{
	struct jp j;
	const char *seg = path ? path : "";

	if (!json_valid(doc, len))
		return -1;
	j.p = doc;
	j.end = doc + len;
	skip_ws(&j);
	/* An empty PATH is the whole document; otherwise one step per
	 * segment.  The document is valid: no bounds checks below. */
	while (path != NULL && *path != '\0') {
		const char *dot = strchr(seg, '.');
		size_t slen = dot ? (size_t)(dot - seg) : strlen(seg);
		int found = 0;

		if (*j.p == '{') {
			j.p++;
			skip_ws(&j);
			while (*j.p != '}') {
				int match = key_is(j.p, seg, slen);

				v_string(&j);
				skip_ws(&j);
				j.p++;		/* ':' */
				skip_ws(&j);
				if (match) {
					found = 1;
					break;
				}
				v_value(&j, 0);
				skip_ws(&j);
				if (*j.p == ',') {
					j.p++;
					skip_ws(&j);
				}
			}
		} else if (*j.p == '[') {
			long want = seg_index(seg, slen), i = 0;

			if (want < 0)
				return 0;
			j.p++;
			skip_ws(&j);
			while (*j.p != ']') {
				if (i++ == want) {
					found = 1;
					break;
				}
				v_value(&j, 0);
				skip_ws(&j);
				if (*j.p == ',') {
					j.p++;
					skip_ws(&j);
				}
			}
		}
		if (!found)
			return 0;
		if (dot == NULL)
			break;
		seg = dot + 1;
	}
	*vs = j.p;
	v_value(&j, 0);
	*ve = j.p;
	return 1;
}

int
json_get(const char *doc, size_t len, const char *path, char *out,
    size_t outlen)
{
	const char *vs, *ve, *p;
	unsigned char ch[4];
	size_t n, off = 0;
	int rc;

	if ((rc = locate(doc, len, path, &vs, &ve)) != 1)
		return rc;
	if (*vs != '"') {
		/* Number, literal, array or object: the text itself. */
		if ((size_t)(ve - vs) >= outlen)
			return -1;
		memcpy(out, vs, (size_t)(ve - vs));
		out[ve - vs] = '\0';
		return 1;
	}
	p = vs + 1;
	while ((n = str_next(&p, ch)) > 0) {
		if (n == 1 && ch[0] == '\0')
			return -1;	/* would cut the C string short */
		if (off + n >= outlen)
			return -1;
		memcpy(out + off, ch, n);
		off += n;
	}
	if (outlen == 0)
		return -1;
	out[off] = '\0';
	return 1;
}

int
json_get_int(const char *doc, size_t len, const char *path, int64_t *v)
{
	char buf[32];
	const char *p = buf;
	int neg = 0, rc;
	int64_t x = 0;

	/* jsonpb sends 64-bit values as strings, 32-bit ones as numbers:
	 * either way json_get gives the digits. */
	if ((rc = json_get(doc, len, path, buf, sizeof(buf))) != 1)
		return rc;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p == '\0')
		return -1;
	/* Accumulate on the negative side: INT64_MIN has no positive twin. */
	for (; *p != '\0'; p++) {
		int d = *p - '0';

		if (d < 0 || d > 9)
			return -1;	/* "1.0", "1e3", "true", " 5" */
		if (x < (INT64_MIN + d) / 10)
			return -1;
		x = x * 10 - d;
	}
	if (!neg) {
		if (x == INT64_MIN)
			return -1;
		x = -x;
	}
	*v = x;
	return 1;
}

int
json_get_bool(const char *doc, size_t len, const char *path)
{
	const char *vs, *ve;
	int rc;

	if ((rc = locate(doc, len, path, &vs, &ve)) != 1)
		return rc;
	if (*vs == 't')
		return 1;
	if (*vs == 'f')
		return 0;
	return -1;	/* a string "true", a number, null: not a bool */
}

int
json_count(const char *doc, size_t len, const char *path)
{
	const char *vs, *ve;
	struct jp j;
	int rc, n = 0;

	if ((rc = locate(doc, len, path, &vs, &ve)) != 1)
		return rc;
	if (*vs != '[')
		return -1;
	j.p = vs + 1;
	j.end = ve;
	skip_ws(&j);
	while (*j.p != ']') {
		if (n == INT_MAX)
			return -1;
		n++;
		v_value(&j, 0);
		skip_ws(&j);
		if (*j.p == ',') {
			j.p++;
			skip_ws(&j);
		}
	}
	return n;
}

size_t
json_quote(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), off = 0, n, step;
	char esc[7];
	const char *src;

	if (outlen < 3)
		return 0;
	out[off++] = '"';
	while (left > 0) {
		src = esc;
		step = 1;
		n = 2;
		esc[0] = '\\';
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			step = n = *p < 0x20 ? 0 : utf8_len(p, left);
			if (n > 0) {
				src = (const char *)p;
				break;
			}
			/* A control byte, or one that is not UTF-8: as the
			 * code point of the same number, so the output stays
			 * both JSON and UTF-8. */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			n = 6;
			step = 1;
			break;
		}
		/* Room for these N bytes, the closing quote and the NUL. */
		if (off + n + 2 > outlen)
			return 0;
		memcpy(out + off, src, n);
		off += n;
		p += step;
		left -= step;
	}
	out[off++] = '"';
	out[off] = '\0';
	return off;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encode(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t off = 0, i;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 2 || (n + 2) / 3 * 4 + 1 > outlen)
		return 0;
	for (i = 0; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 |
		    (unsigned long)p[i + 1] << 8 | p[i + 2];

		out[off++] = b64[v >> 18];
		out[off++] = b64[(v >> 12) & 0x3f];
		out[off++] = b64[(v >> 6) & 0x3f];
		out[off++] = b64[v & 0x3f];
	}
	if (n - i == 1) {
		out[off++] = b64[p[i] >> 2];
		out[off++] = b64[(p[i] & 0x3) << 4];
		out[off++] = '=';
		out[off++] = '=';
	} else if (n - i == 2) {
		out[off++] = b64[p[i] >> 2];
		out[off++] = b64[(p[i] & 0x3) << 4 | p[i + 1] >> 4];
		out[off++] = b64[(p[i + 1] & 0xf) << 2];
		out[off++] = '=';
	}
	out[off] = '\0';
	return off;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict: length a multiple of 4, '=' only as the last one or two
 * characters, and the bits the padding drops must be zero (the one
 * canonical spelling, which is what etcd sends).
 */
ssize_t
b64_decode(const char *in, size_t n, void *out, size_t outlen)
{
	unsigned char *o = out;
	size_t i, off = 0;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		int a = b64val((unsigned char)in[i]);
		int b = b64val((unsigned char)in[i + 1]);
		int c = b64val((unsigned char)in[i + 2]);
		int d = b64val((unsigned char)in[i + 3]);
		int last = i + 4 == n;
		size_t k;

		if (a < 0 || b < 0)
			return -1;
		if (c < 0 || d < 0) {
			if (!last || in[i + 3] != '=')
				return -1;
			if (c < 0 && in[i + 2] != '=')
				return -1;
		}
		if (c < 0) {
			if (b & 0xf)
				return -1;
			k = 1;
		} else if (d < 0) {
			if (c & 0x3)
				return -1;
			k = 2;
		} else
			k = 3;
		if (off + k > outlen)
			return -1;
		o[off++] = (unsigned char)(a << 2 | b >> 4);
		if (k > 1)
			o[off++] = (unsigned char)((b & 0xf) << 4 | c >> 2);
		if (k > 2)
			o[off++] = (unsigned char)((c & 0x3) << 6 | d);
	}
	if (off > SSIZE_MAX)
		return -1;
	return (ssize_t)off;
}
