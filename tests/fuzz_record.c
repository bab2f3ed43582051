/*
 * fuzz_record.c - libFuzzer target for the lease-record parser of the file
 * store (store/file_record.c, linked as built), which reads whatever another
 * process, a crash or an attacker left in DIR/NAME.lease.
 *
 *   make fuzz/fuzz_record && fuzz/fuzz_record -max_total_time=60
 *
 * The input goes to the parser as read_record hands it over: at most
 * RECORD_MAX bytes, not NUL-terminated, in a buffer of exactly that size so
 * that any read past the end is an ASan report.  Besides "no crash, no
 * sanitizer report" it checks what the store relies on: a record accepted
 * as valid has a known state, a term, a holder pid when held, and
 * NUL-terminated strings; the term is written in plain digits (strtoull
 * also takes "-1", " 5", "+7": "-1" is 2^64-1, and the next term wraps to
 * 0); pid and job fit a pid_t (they are cast to one for kill()); the parser
 * never reads past the first RECORD_MAX bytes and gives the same answer
 * twice.  lease_name_ok gets the same bytes.  FUZZ_LAX=1 in the environment
 * skips the term and pid checks (to look for crashes alone while those
 * findings are open).
 *
 * Each slot and the whole file (record_parse_file) are fuzzed as well, on a
 * copy whose "sum=" lines are made right (see fix_sums), and a record
 * accepted as valid must come back the same from record_format.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "store/file_record.h"

static int
terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* Every "term=" line of BUF (up to a "sum=" line) is plain digits. */
static int
terms_plain(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		if (e - p >= 4 && !memcmp(p, "sum=", 4))
			break;		/* the end of a checksummed record */
		if (e - p > 5 && !memcmp(p, "term=", 5)) {
			const char *d;

			for (d = p + 5; d < e; d++)
				if (*d < '0' || *d > '9')
					return 0;
		}
		p = e + 1;
	}
	return 1;
}

/* What must hold of a record parse_record accepted from BUF (LEN). */
static void
check_valid(const struct record *r, const char *buf, size_t len, int lax)
{
	if (r->h.state != LEASE_HELD && r->h.state != LEASE_RELEASED)
		abort();
	if (r->h.state == LEASE_HELD && r->h.pid <= 0)
		abort();
	if (!terminated(r->h.id, sizeof(r->h.id)) ||
	    !terminated(r->h.host, sizeof(r->h.host)) ||
	    !terminated(r->sys, sizeof(r->sys)))
		abort();
	if (len < sizeof(RECORD_MAGIC) || memcmp(buf, RECORD_MAGIC "\n", sizeof(RECORD_MAGIC)))
		abort();	/* valid without the magic line */
	if (!lax && !terms_plain(buf, len))
		abort();	/* a term that is not a number */
	if (!lax && (r->h.pid != (long)(pid_t)r->h.pid ||
	    r->h.job != (long)(pid_t)r->h.job))
		abort();	/* kill() would get another pid */
}

/* parse_record on a copy of DATA (LEN) in a buffer of exactly that size. */
static void
check_record(const char *data, size_t len, int lax)
{
	struct record r, r2;
	char *buf;
	int ok, ok2;

	if ((buf = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(buf, data, len);
	record_parse(buf, len, &r, &ok);
	if (ok) {
		char slot[RECORD_SLOT];
		struct record back;
		int okb;

		check_valid(&r, buf, len, lax);
		/* What the store reads, it writes back the same. */
		if (record_format(&r, slot) == 0) {
			record_parse(slot, sizeof(slot), &back, &okb);
			if (!okb || memcmp(&back.h, &r.h, sizeof(r.h)) ||
			    strcmp(back.sys, r.sys) || back.start != r.start ||
			    back.seq != r.seq)
				abort();
		}
	}
	record_parse(buf, len, &r2, &ok2);
	if (ok2 != ok || (ok && memcmp(&r, &r2, sizeof(r)) != 0))
		abort();	/* not a function of its input */
	free(buf);
}

/*
 * The store that writes in place keeps two checksummed slots.  Random
 * bytes never carry a right checksum, so on a second copy every "sum=" line
 * gets the one the parser will compute (FNV-1a of the slot up to that
 * line): the parser is then fuzzed past its checksum too.
 */
static void
fix_sums(char *buf, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i + 4 <= len; i++) {
		if (i % RECORD_SLOT == 0)
			start = i;
		if ((i == start || buf[i - 1] == '\n') &&
		    !memcmp(buf + i, "sum=", 4) && i + 4 + 16 <= len) {
			char hex[17];

			snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)
			    record_sum(buf + start, i - start));
			memcpy(buf + i + 4, hex, 16);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int lax = -1;
	char *name;

	if (lax == -1)
		lax = getenv("FUZZ_LAX") != NULL;
	if (size > RECORD_MAX)
		size = RECORD_MAX;	/* the store reads no more */

	check_record((const char *)data, size, lax);
	{
		struct record r, r2;
		uint64_t v, v2;
		char *buf = malloc(size ? size : 1);
		int got, got2;

		if (buf == NULL)
			return 0;
		memcpy(buf, data, size);
		fix_sums(buf, size);
		check_record(buf, size < RECORD_SLOT ? size : RECORD_SLOT, lax);
		if (size > RECORD_SLOT)
			check_record(buf + RECORD_SLOT, size - RECORD_SLOT, lax);
		/* The file: the valid slot with the higher write number. */
		got = record_parse_file(buf, size, &r, &v);
		if (got && ((r.h.state != LEASE_HELD && r.h.state != LEASE_RELEASED) ||
		    (r.h.state == LEASE_HELD && r.h.pid <= 0)))
			abort();
		got2 = record_parse_file(buf, size, &r2, &v2);
		if (got2 != got || v2 != v ||
		    (got && memcmp(&r, &r2, sizeof(r)) != 0))
			abort();
		free(buf);
	}
	if ((name = malloc(size + 1)) != NULL) {
		memcpy(name, data, size);
		name[size] = '\0';
		if (lease_name_ok(name) && (strchr(name, '/') ||
		    !strcmp(name, ".") || !strcmp(name, "..") || strlen(name) > 128))
			abort();
		free(name);
	}
	return 0;
}
