/*
 * json.h - a small, bounded JSON reader (and base64) for etcd's replies.
 *
 * Lookups by path on a whole document: each call validates all of DOC
 * (strict RFC 8259; nesting deeper than JSON_DEPTH is refused), so a reply
 * that is not JSON is never half-believed.  PATH is dot-separated object
 * keys and array indexes: "responses.0.response_range.kvs.0.value".  Keys
 * holding a dot cannot be looked up; etcd's never do.
 */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JSON_DEPTH	64

/* json_valid: 1 if DOC (LEN bytes) is one valid JSON value, else 0. */
int	json_valid(const char *doc, size_t len);

/*
 * json_get: the value at PATH, into OUT (OUTLEN bytes with the NUL): a
 * string unescaped (\uXXXX to UTF-8; a \u0000 makes it -1), a number,
 * true, false or null as its text; an object or array as its raw JSON text.
 * Returns 1, 0 if PATH is absent, -1 if DOC is invalid or the value does not
 * fit.
 */
int	json_get(const char *doc, size_t len, const char *path, char *out,
	    size_t outlen);

/*
 * json_get_int: an integer at PATH, given as a number or, as jsonpb sends
 * 64-bit values, as a string of digits ("22", "-1").  Returns 1, 0 if absent,
 * -1 if invalid, not an integer, or out of int64_t range.
 */
int	json_get_int(const char *doc, size_t len, const char *path, int64_t *v);

/* json_get_bool: 1 if PATH is true, 0 if false or absent, -1 if invalid. */
int	json_get_bool(const char *doc, size_t len, const char *path);

/* json_count: the number of elements of the array at PATH, 0 if absent,
 * -1 if DOC is invalid or PATH is not an array. */
int	json_count(const char *doc, size_t len, const char *path);

/*
 * json_quote: S as a JSON string literal, quotes included, into OUT (OUTLEN
 * with the NUL): control bytes and non-UTF-8 bytes escaped (\u00XX), so any
 * bytes give valid JSON.  Returns the length, or 0 if it does not fit.
 */
size_t	json_quote(const char *s, char *out, size_t outlen);

/* b64_encode: standard base64 with padding.  Returns the length written
 * (NUL added), or 0 if OUT is too small. */
size_t	b64_encode(const void *in, size_t n, char *out, size_t outlen);

/* b64_decode: IN (N bytes) into OUT.  Returns the byte count, or -1 if IN
 * is not standard padded base64 or does not fit. */
ssize_t	b64_decode(const char *in, size_t n, void *out, size_t outlen);

#endif
