/*
 * fuzz_duration.c - libFuzzer target for leaderrun's option parsers:
 * parse_duration (the main one), with parse_signal, lease_name_ok,
 * node_id_ok and quote on the same input.
 *
 *   make fuzz/fuzz_duration
 *   fuzz/fuzz_duration -max_total_time=60 tests/corpus/duration
 *
 * Besides "no crash, no sanitizer report" it checks what a duration parser
 * must guarantee: an accepted value is at least 1ms; it equals the value
 * computed exactly (128-bit, independent of the parser) from the same text;
 * a plain valid duration is never refused; what fmt_duration prints of an
 * accepted value, and of any value from 1ms to INT64_MAX (the input's
 * first 8 bytes), parses back to exactly that value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "lib/base.h"
#include "run/values.h"

/*
 * The exact value of S in ns, as the grammar reads it: one or more
 * <digits>[.<digits>]<unit>, a lone bare number meaning seconds, fraction
 * digits past the ninth ignored.  Returns 0 and *NS if S is well formed and
 * fits in int64_t, 1 if it is well formed but too large, -1 if malformed.
 */
static int
reference(const char *s, __int128 *ns)
{
	static const struct { const char *u; int64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 },
		{ "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000LL },
		{ "h", 3600000000000LL },
	};
	__int128 total = 0;
	int first = 1, big = 0;

	if (*s == '\0' || *s == '-')
		return -1;
	while (*s) {
		__int128 ip = 0, fp = 0, scale = 1, unit = 0;
		size_t ulen = 0, i;
		int digits = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			ip = ip * 10 + (*s - '0');
			if (ip > (__int128)INT64_MAX)
				big = 1, ip = (__int128)INT64_MAX + 1;
		}
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++, digits++)
				if (scale < 1000000000) {
					fp = fp * 10 + (*s - '0');
					scale *= 10;
				}
		if (digits == 0)
			return -1;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].u);
			if (!strncmp(s, units[i].u, n) && n > ulen) {
				unit = units[i].ns;
				ulen = n;
			}
		}
		if (ulen == 0) {
			if (*s || !first)
				return -1;
			unit = 1000000000;
		}
		first = 0;
		s += ulen;
		total += ip * unit + fp * unit / scale;
		if (total > (__int128)INT64_MAX)
			big = 1, total = (__int128)INT64_MAX + 1;
	}
	*ns = total;
	return big;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[64], neg[64];
	const char *why, *q;
	int64_t ns = 0, again = 0;
	__int128 want = 0;
	int ref, sig;

	if (size > 4096)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';		/* a C string, as from argv: stops at a NUL */

	why = parse_duration(s, &ns);
	ref = reference(s, &want);
	if (why == NULL) {
		if (ns < NS_PER_MS)
			abort();	/* accepted below 1ms */
		if (ref != 0 || want != ns)
			abort();	/* accepted, but not the value written */
		fmt_duration(buf, sizeof(buf), ns);
		if (parse_duration(buf, &again) != NULL || again != ns)
			abort();	/* its own output does not read back */
	} else if (ref == 0 && want >= NS_PER_MS &&
	    want <= (__int128)INT64_MAX / 10)
		abort();	/* refused a plain, valid duration */
	/* (Not above INT64_MAX/10: the digit loop refuses 19-digit numbers
	 * from 922337203685477580 up, a harmless 292-year corner where
	 * "9223372036854775807ns" is refused.  fmt_duration never prints
	 * such a number: its largest is the hours, 2562047 at most.) */

	/* Any value from 1ms up, the first 8 bytes read as a number, prints
	 * in a form that reads back to it exactly. */
	if (size >= 8) {
		uint64_t u = 0;
		size_t i;

		for (i = 0; i < 8; i++)
			u = u << 8 | data[i];
		ns = (int64_t)(u & (uint64_t)INT64_MAX);
		if (ns >= NS_PER_MS) {
			fmt_duration(buf, sizeof(buf), ns);
			if (parse_duration(buf, &again) != NULL || again != ns)
				abort();	/* printed, but not exactly */
			fmt_duration(neg, sizeof(neg), -ns);
			if (neg[0] != '-' || strcmp(neg + 1, buf))
				abort();	/* -ns is not "-" and ns */
		}
	}

	sig = parse_signal(s);
	if (sig != -1 && (sig < 1 || sig > 1024))
		abort();
	if (lease_name_ok(s) && (strchr(s, '/') || !strcmp(s, ".") ||
	    !strcmp(s, "..") || strlen(s) > 128))
		abort();
	if (node_id_ok(s) && (strlen(s) > 128 || strpbrk(s, " \t\n\r")))
		abort();
	q = quote(s);
	if (strlen(q) > 64 * 4 + 3)
		abort();
	free(s);
	return 0;
}
