/*
 * holder.c - the holder value of a network store (store.h): who holds a
 * lease, as "key=value" lines, and whether a holder on this host is alive.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

size_t
holder_format(char *buf, size_t len, const struct host_self *me,
    const char *id, long job, int64_t lease_ms, int64_t stop_ms,
    int64_t acquired_ms, int slots)
{
	int done = job == LEASE_JOB_DONE;
	int n = snprintf(buf, len, "holder=%s\nhost=%s\nsys=%s\npid=%ld\n"
	    "start=%llu\njob=%ld\nlease_ms=%lld\nstop_ms=%lld\nacquired=%lld\n%s",
	    id, me->name, me->sys, me->pid, me->start, done ? 0 : job,
	    (long long)lease_ms, (long long)stop_ms, (long long)acquired_ms,
	    done ? "done=1\n" : "");

	/* One slot writes what it always wrote. */
	if (n >= 0 && (size_t)n < len && slots > 1)
		n += snprintf(buf + n, len - (size_t)n, "slots=%d\n", slots);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

int
holder_parse(const char *buf, size_t len, struct lease_holder *h, char *sys,
    size_t syslen, unsigned long long *start)
{
	const char *p = buf, *end = buf + len;

	sys[0] = '\0';
	*start = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[256], *v;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int64_t x;

		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL)
			return -1;
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		if ((v = strchr(line, '=')) == NULL)
			return -1;
		*v++ = '\0';
		if (!strcmp(line, "holder"))
			snprintf(h->id, sizeof(h->id), "%s", v);
		else if (!strcmp(line, "host"))
			snprintf(h->host, sizeof(h->host), "%s", v);
		else if (!strcmp(line, "sys"))
			snprintf(sys, syslen, "%s", v);
		else if (!strcmp(line, "pid"))
			h->pid = (x = decimal(v, INT_MAX)) < 0 ? 0 : (long)x;
		else if (!strcmp(line, "start"))
			*start = (x = decimal(v, INT64_MAX)) < 0 ? 0 :
			    (unsigned long long)x;
		else if (!strcmp(line, "job"))
			h->job = (x = decimal(v, INT_MAX)) < 0 ? 0 : (long)x;
		else if (!strcmp(line, "lease_ms"))
			h->lease_ms = (x = decimal(v, INT64_MAX / 1000000)) < 0 ?
			    0 : x;
		else if (!strcmp(line, "stop_ms"))
			h->stop_ms = (x = decimal(v, INT64_MAX / 1000000)) < 0 ?
			    0 : x;
		else if (!strcmp(line, "acquired"))
			h->acquired_ms = (x = decimal(v, INT64_MAX)) < 0 ? 0 : x;
		else if (!strcmp(line, "done"))
			h->done = !strcmp(v, "1");
		else if (!strcmp(line, "slots"))
			h->slots = (x = decimal(v, LEASE_SLOTS_MAX)) < 0 ? 0 :
			    (int)x;
		/* unknown keys: a newer writer; ignore */
	}
	return 0;
}

void
holder_judge(struct lease_holder *h, const char *sys, unsigned long long start,
    const struct host_self *me)
{
	h->local = sys[0] && !strcmp(sys, me->sys);
	h->alive = h->local && (host_pid_alive(h->pid, start) ||
	    host_group_alive(h->job));
}
