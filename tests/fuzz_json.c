/*
 * fuzz_json.c - libFuzzer target for json.c: the validator and lookups
 * that read etcd's replies, json_quote that writes our requests, base64.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *       -D_POSIX_C_SOURCE=200809L -o fuzz_json tests/fuzz_json.c json.c
 *   ./fuzz_json -max_total_time=60 tests/corpus/json
 *
 * The input is a document, in a buffer of exactly its size.  Checks:
 *  - json_valid and json_get agree: an invalid document is -1 for every
 *    lookup; a valid one is found at "" (the whole value), and a value
 *    found is whole JSON again (objects, arrays) or valid UTF-8 (strings);
 *  - json_count matches the indexes json_get finds; json_get_int matches
 *    the digits json_get returns;
 *  - json_quote of the bytes (as a C string) is always valid JSON, and
 *    gives them back through json_get when they were valid UTF-8;
 *  - base64: encode then decode gives the bytes back, and whatever
 *    b64_decode accepts encodes back to the same text (one spelling).
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/json.h"

/* Valid UTF-8, by code points (not the code under test's tables). */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, j;
	unsigned long cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			k = 1; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			k = 2; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			k = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (n - i < k + 1)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static const char *paths[] = {
	"", "0", "1", "a", "a.b", "a.0", "0.0", "header.revision", "result.TTL",
	"responses.0.response_range.kvs.0.create_revision", "kvs", "kvs.0",
	"succeeded", "message",
};

/* The first byte of DOC (N) that is not white space, or -1. */
static int
first(const char *doc, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strchr(" \t\r\n", doc[i]) || doc[i] == '\0')
			return (unsigned char)doc[i];
	return -1;
}

static void
check_lookups(const char *doc, size_t n, int valid)
{
	size_t cap = n + 1, i;
	char *out = malloc(cap), *sub;
	int64_t v;
	int rc, cnt;

	if (out == NULL)
		return;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		rc = json_get(doc, n, paths[i], out, cap);
		if (!valid) {
			if (rc != -1 || json_count(doc, n, paths[i]) != -1 ||
			    json_get_bool(doc, n, paths[i]) != -1 ||
			    json_get_int(doc, n, paths[i], &v) != -1)
				abort();
			continue;
		}
		if (paths[i][0] == '\0' && rc == 0)
			abort();	/* the whole document is always there */
		if (rc != 1)
			continue;
		if (strlen(out) > n)
			abort();	/* decoding never grows */
		if (!utf8_ok((const unsigned char *)out, strlen(out)))
			abort();
		/* A string may decode to "{": the type comes from the
		 * document itself at "", from json_count for arrays. */
		cnt = json_count(doc, n, paths[i]);
		if (paths[i][0] == '\0' && (first(doc, n) == '{' ||
		    first(doc, n) == '[') && json_valid(out, strlen(out)) != 1)
			abort();	/* not a whole value */
		if (cnt >= 0 && (out[0] != '[' ||
		    json_valid(out, strlen(out)) != 1))
			abort();	/* an array that is not one */
		if (cnt >= 0) {
			char path[256];
			char tmp[8];

			snprintf(path, sizeof(path), "%s%s%d", paths[i],
			    paths[i][0] ? "." : "", cnt);
			if (json_get(doc, n, path, tmp, sizeof(tmp)) != 0)
				abort();	/* one past the end is there */
			if (cnt > 0) {
				snprintf(path, sizeof(path), "%s%s%d",
				    paths[i], paths[i][0] ? "." : "", cnt - 1);
				/* Found; -1 only for a \u0000 in it. */
				if (json_get(doc, n, path, out, cap) == 0)
					abort();
			}
		}
		if (json_get_int(doc, n, paths[i], &v) == 1) {
			/* The digits json_get gives, as strtoll reads them. */
			json_get(doc, n, paths[i], out, cap);
			if (strtoll(out, NULL, 10) != v)
				abort();
		}
	}
	/* A sub-document found by path is consistent with itself. */
	if (valid && json_count(doc, n, "0") >= 0 &&
	    json_get(doc, n, "0", out, cap) == 1 &&
	    (sub = strdup(out)) != NULL) {
		if (json_get(sub, strlen(sub), "", out, cap) != 1 ||
		    strcmp(out, sub) != 0)
			abort();
		free(sub);
	}
	free(out);
}

static void
check_quote(const char *data, size_t size)
{
	char *s = malloc(size + 1), *q, *doc, *back;
	size_t qcap = 6 * size + 3, n, slen;

	if (s == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	slen = strlen(s);
	q = malloc(qcap);
	doc = malloc(qcap + 2);
	back = malloc(qcap);
	if (q == NULL || doc == NULL || back == NULL)
		goto out;
	n = json_quote(s, q, qcap);
	if (n == 0 || n != strlen(q) || !json_valid(q, n))
		abort();	/* some bytes gave invalid JSON */
	if (!utf8_ok((const unsigned char *)q, n))
		abort();
	if (json_quote(s, q, n) != 0 || json_quote(s, q, n + 1) != n)
		abort();	/* the size is exact */
	doc[0] = '[';
	memcpy(doc + 1, q, n);
	doc[n + 1] = ']';
	if (json_get(doc, n + 2, "0", back, qcap) != 1)
		abort();
	if (utf8_ok((const unsigned char *)s, slen) && strcmp(back, s) != 0)
		abort();	/* valid UTF-8 did not come back */
out:
	free(s);
	free(q);
	free(doc);
	free(back);
}

static void
check_b64(const char *data, size_t size)
{
	size_t ecap = (size + 2) / 3 * 4 + 1, n;
	char *enc = malloc(ecap), *re;
	unsigned char *dec = malloc(size + 1);
	ssize_t d;

	if (enc == NULL || dec == NULL)
		goto out;
	n = b64_encode(data, size, enc, ecap);
	if (n != ecap - 1 || strlen(enc) != n || b64_encode(data, size, enc,
	    ecap - 1) != 0)
		abort();
	n = b64_encode(data, size, enc, ecap);
	d = b64_decode(enc, n, dec, size + 1);
	if (d != (ssize_t)size || (size > 0 && memcmp(dec, data, size) != 0))
		abort();
	/* The input as base64 text. */
	d = b64_decode(data, size, dec, size + 1);
	if (d >= 0) {
		if ((re = malloc(ecap)) == NULL)
			goto out;
		n = b64_encode(dec, (size_t)d, re, ecap);
		if (n != size || memcmp(re, data, size) != 0)
			abort();	/* two spellings accepted */
		free(re);
	}
out:
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *doc = malloc(size ? size : 1);
	int valid;

	if (doc == NULL)
		return 0;
	memcpy(doc, data, size);
	valid = json_valid(doc, size);
	if (valid != 0 && valid != 1)
		abort();
	if (json_valid(doc, size) != valid)
		abort();
	check_lookups(doc, size, valid);
	free(doc);
	check_quote((const char *)data, size);
	check_b64((const char *)data, size);
	return 0;
}
