/*
 * file_record.c - the file store's record format (file_record.h): write
 * one slot, read and check either, pick the current one.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/file_record.h"

static uint64_t
fnv1a(const char *p, size_t n, uint64_t h)
{
	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t
record_sum(const char *buf, size_t len)
{
	return fnv1a(buf, len, 14695981039346656037ULL);
}

int
record_format(const struct record *r, char *buf)
{
	int n;

	n = snprintf(buf, RECORD_SLOT,
	    RECORD_MAGIC "\nseq=%llu\nstate=%s\nholder=%s\nhost=%s\nsys=%s\n"
	    "pid=%ld\nstart=%llu\njob=%ld\nterm=%llu\nacquired=%lld\n"
	    "renewed=%lld\nrenewals=%llu\nlease_ms=%lld\n%s",
	    (unsigned long long)r->seq,
	    r->h.state == LEASE_HELD ? "held" : "released", r->h.id, r->h.host,
	    r->sys, r->h.pid, r->start, r->h.job, (unsigned long long)r->h.term,
	    (long long)r->h.acquired_ms, (long long)r->h.renewed_ms,
	    (unsigned long long)r->h.renewals, (long long)r->h.lease_ms,
	    r->h.done ? "done=1\n" : "");
	/* One slot writes what it always wrote. */
	if (n >= 0 && n < RECORD_SLOT && r->h.slots > 1)
		n += snprintf(buf + n, RECORD_SLOT - (size_t)n, "slots=%d\n",
		    r->h.slots);
	/* The sum line (21 bytes) and the final newline must fit too. */
	if (n < 0 || n > RECORD_SLOT - 22)
		return -1;
	n += snprintf(buf + n, RECORD_SLOT - (size_t)n, "sum=%016llx\n",
	    (unsigned long long)record_sum(buf, (size_t)n));
	/* Pad with one line of spaces, so that cat(1) shows both slots. */
	memset(buf + n, ' ', RECORD_SLOT - (size_t)n);
	buf[RECORD_SLOT - 1] = '\n';
	return 0;
}

void
record_parse(const char *buf, size_t len, struct record *r, int *ok)
{
	const char *p = buf, *end = buf + len;
	int have_state = 0, have_term = 0, have_seq = 0;

	memset(r, 0, sizeof(*r));
	*ok = 0;
	if (len < sizeof(RECORD_MAGIC) || memcmp(buf, RECORD_MAGIC "\n", sizeof(RECORD_MAGIC)) != 0)
		return;
	p += sizeof(RECORD_MAGIC);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[256], *v;
		size_t n;

		if (nl == NULL)
			return;		/* truncated */
		n = (size_t)(nl - p);
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL)
			return;		/* too long, or a NUL would cut a value */
		memcpy(line, p, n);
		line[n] = '\0';
		if ((v = strchr(line, '=')) == NULL)
			return;
		*v++ = '\0';
		if (!strcmp(line, "sum")) {
			char want[20];

			snprintf(want, sizeof(want), "%016llx", (unsigned long long)
			    record_sum(buf, (size_t)(p - buf)));
			if (!strcmp(v, want) && have_state && have_term &&
			    have_seq && (r->h.state != LEASE_HELD || r->h.pid > 0))
				*ok = 1;
			return;
		}
		p = nl + 1;
		if (!strcmp(line, "seq")) {
			int64_t x = decimal(v, INT64_MAX);

			if (x < 0)
				return;
			r->seq = (uint64_t)x;
			have_seq = 1;
		} else if (!strcmp(line, "state")) {
			if (!strcmp(v, "held"))
				r->h.state = LEASE_HELD;
			else if (!strcmp(v, "released"))
				r->h.state = LEASE_RELEASED;
			else
				return;
			have_state = 1;
		} else if (!strcmp(line, "holder"))
			snprintf(r->h.id, sizeof(r->h.id), "%s", v);
		else if (!strcmp(line, "host"))
			snprintf(r->h.host, sizeof(r->h.host), "%s", v);
		else if (!strcmp(line, "sys"))
			snprintf(r->sys, sizeof(r->sys), "%s", v);
		else if (!strcmp(line, "pid")) {
			if ((r->h.pid = (long)decimal(v, INT_MAX)) < 0)
				return;
		} else if (!strcmp(line, "start")) {
			int64_t x = decimal(v, INT64_MAX);

			if (x < 0)
				return;
			r->start = (unsigned long long)x;
		} else if (!strcmp(line, "job")) {
			if ((r->h.job = (long)decimal(v, INT_MAX)) < 0)
				return;
		} else if (!strcmp(line, "term")) {
			/* Room to grow: a term never wraps. */
			int64_t x = decimal(v, INT64_MAX / 2);

			if (x < 0)
				return;
			r->h.term = (uint64_t)x;
			have_term = 1;
		} else if (!strcmp(line, "acquired"))
			r->h.acquired_ms = atoll(v);
		else if (!strcmp(line, "renewed"))
			r->h.renewed_ms = atoll(v);
		else if (!strcmp(line, "renewals"))
			r->h.renewals = (uint64_t)(decimal(v, INT64_MAX) > 0 ?
			    decimal(v, INT64_MAX) : 0);
		else if (!strcmp(line, "lease_ms"))
			r->h.lease_ms = decimal(v, INT64_MAX / 1000000);
		else if (!strcmp(line, "done"))
			r->h.done = !strcmp(v, "1");
		else if (!strcmp(line, "slots"))
			r->h.slots = (int)(decimal(v, LEASE_SLOTS_MAX) < 0 ? 0 :
			    decimal(v, LEASE_SLOTS_MAX));
		/* unknown keys: a newer writer; ignore */
	}
}

int
record_parse_file(const char *buf, size_t len, struct record *r, uint64_t *version)
{
	struct record a, b;
	int oka = 0, okb = 0;

	memset(&b, 0, sizeof(b));
	record_parse(buf, len < RECORD_SLOT ? len : RECORD_SLOT, &a, &oka);
	if (len > RECORD_SLOT)
		record_parse(buf + RECORD_SLOT, len - RECORD_SLOT, &b, &okb);
	if (oka && (!okb || a.seq >= b.seq))
		*r = a;
	else if (okb)
		*r = b;
	else {
		memset(r, 0, sizeof(*r));
		*version = record_sum(buf, len) | 1;
		return 0;
	}
	*version = r->seq << 1;
	return 1;
}

