/*
 * report.c - --status and --list: the lease as a reader sees it, in text
 * or JSON.  The JSON field names are documented (man page, Status) and
 * stable: add fields, never rename or drop them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lease.h"
#include "lib/base.h"
#include "run/cli.h"
#include "run/log.h"
#include "run/report.h"
#include "run/values.h"
#include "wire/json.h"

/* How many waiters --status shows, in queue order. */
#define MAXWAITERS	64

/* json_str: S as a JSON string literal on F, any bytes escaped, or
 * null when S is NULL or empty. */
static void
json_str(FILE *f, const char *s)
{
	size_t n;
	char *buf;

	if (s == NULL || *s == '\0') {
		fputs("null", f);
		return;
	}
	n = strlen(s) * 6 + 3;		/* \u00XX for each byte at worst */
	if ((buf = malloc(n)) == NULL || json_quote(s, buf, n) == 0)
		die(EXIT_FAIL, "json: %s", strerror(ENOMEM));
	fputs(buf, f);
	free(buf);
}

/* time_known: a record's wall-clock time stamp MS is one we show: set (not
 * 0), and within the years 1970-9999. */
static int
time_known(int64_t ms)
{
	return ms > 0 && ms <= 253402300799999LL;
}

/* json_time: wall-clock MS as an RFC 3339 UTC string with milliseconds
 * ("2026-12-01T04:14:28.123Z"), or null unless time_known. */
static void
json_time(FILE *f, int64_t ms)
{
	char buf[32];
	time_t t;
	struct tm tm;

	if (!time_known(ms)) {
		fputs("null", f);
		return;
	}
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		fputs("null", f);
		return;
	}
	fprintf(f, "\"%s.%03dZ\"", buf, (int)(ms % 1000));
}

/* holder_json: the fields of one slot's holder H, from "state" to
 * "command", each after a comma. */
static void
holder_json(FILE *f, const struct lease_holder *h, int64_t now_ms)
{
	static const char *const states[] = { "free", "held", "released" };
	int known = h->state != LEASE_FREE, held = h->state == LEASE_HELD;

	fprintf(f, ",\"state\":\"%s\",\"holder\":", states[held ? 1 :
	    h->state == LEASE_RELEASED ? 2 : 0]);
	json_str(f, known ? h->id : NULL);
	fputs(",\"host\":", f);
	json_str(f, known ? h->host : NULL);
	if (known && h->pid > 0)
		fprintf(f, ",\"pid\":%ld", h->pid);
	else
		fputs(",\"pid\":null", f);
	if (known)
		fprintf(f, ",\"term\":%llu", (unsigned long long)h->term);
	else
		fputs(",\"term\":null", f);
	fputs(",\"acquired\":", f);
	json_time(f, known ? h->acquired_ms : 0);
	fputs(",\"renewed\":", f);
	json_time(f, known ? h->renewed_ms : 0);
	if (held && h->ttl_ms >= 0)	/* the server's count, not our guess */
		fprintf(f, ",\"expires_in_ms\":%lld", (long long)h->ttl_ms);
	else if (held && time_known(h->renewed_ms) && h->lease_ms > 0 &&
	    h->lease_ms < INT64_MAX / 4)
		fprintf(f, ",\"expires_in_ms\":%lld",
		    (long long)(h->renewed_ms + h->lease_ms - now_ms));
	else
		fputs(",\"expires_in_ms\":null", f);
	if (held && h->local)
		fprintf(f, ",\"alive\":%s", h->alive ? "true" : "false");
	else
		fputs(",\"alive\":null", f);
	fprintf(f, ",\"command\":%s", !held ? "null" : h->done ? "\"done\"" :
	    h->job > 0 ? "\"running\"" : "\"starting\"");
}

/*
 * status_json: the lease NAME of store STORE (WHERE: where it lives) as one
 * JSON object on F, no newline: slot 0 at the top level, as with one slot,
 * and every slot in "holders".  The field names are documented (man page,
 * Status) and stable: add fields, never rename or drop them.
 */
static void
status_json(FILE *f, const char *name, const char *store, const char *where,
    const struct lease_holder *h, int nh, const struct lease_holder *w, int nw,
    int64_t now_ms)
{
	int i;

	fputs("{\"name\":", f);
	json_str(f, name);
	fputs(",\"lease\":", f);
	json_str(f, where);
	fputs(",\"store\":", f);
	json_str(f, store);
	holder_json(f, h, now_ms);
	if (h->waiters < 0)
		fputs(",\"waiters\":null", f);
	else {
		fputs(",\"waiters\":[", f);
		for (i = 0; i < nw; i++) {
			fputs(i ? ",{\"holder\":" : "{\"holder\":", f);
			json_str(f, w[i].id);
			fputs(",\"host\":", f);
			json_str(f, w[i].host);
			if (w[i].pid > 0)
				fprintf(f, ",\"pid\":%ld", w[i].pid);
			else
				fputs(",\"pid\":null", f);
			fprintf(f, ",\"slot\":%d}", w[i].slot);
		}
		fputc(']', f);
	}
	fprintf(f, ",\"slots\":%d,\"holders\":[", nh);
	for (i = 0; i < nh; i++) {
		fprintf(f, "%s{\"slot\":%d", i ? "," : "", i);
		holder_json(f, &h[i], now_ms);
		fputc('}', f);
	}
	fputs("]}", f);
}

/* waiting_count: the waiters of all slots, -1 if a store cannot count. */
static int
waiting_count(const struct lease_holder *h, int nh)
{
	int i, n = 0;

	for (i = 0; i < nh; i++) {
		if (h[i].waiters < 0)
			return -1;
		n += h[i].waiters;
	}
	return n;
}

/* any_held: --status says 0 when a slot is held. */
static int
any_held(const struct lease_holder *h, int nh)
{
	int i;

	for (i = 0; i < nh; i++)
		if (h[i].state == LEASE_HELD)
			return 1;
	return 0;
}

/* slot_line: one slot of several, on one line of --status. */
static void
slot_line(const struct lease_holder *h, int64_t now_ms)
{
	char age[32], label[16];

	snprintf(label, sizeof(label), "slot %d:", h->slot);
	printf("%-12s", label);
	if (h->state == LEASE_FREE) {
		printf("free\n");
		return;
	}
	if (h->state == LEASE_RELEASED) {
		printf("released (last %s, term %llu)\n", h->id,
		    (unsigned long long)h->term);
		return;
	}
	fmt_age(age, sizeof(age), now_ms - h->acquired_ms);
	printf("held by %s on %s (pid %ld, term %llu, age %s%s)\n", h->id,
	    h->host, h->pid, (unsigned long long)h->term, age,
	    h->local && !h->alive ? ", not alive" : h->done ? ", done" : "");
}

int
show_status(const struct opts *o)
{
	struct lease_config cfg;
	struct lease_holder hs[LEASE_SLOTS_MAX], w[MAXWAITERS], *h = hs;
	char err[LEASE_ERRLEN], age[32], left[32], where[PATH_MAX + 300];
	int64_t now_ms;
	int nw, nh, i;

	opts_lease_config(o, &cfg);
	if (lease_status(&cfg, hs, &nh, w, MAXWAITERS, &nw, err) != LEASE_OK)
		die(EXIT_FAIL, "status: %s", err);
	now_ms = wall_ms();
	lease_store_where(o->store, o->name, where, sizeof(where));
	if (o->json) {
		status_json(stdout, o->name, o->store, where, hs, nh, w, nw,
		    now_ms);
		putchar('\n');
		if (fflush(stdout) == EOF || ferror(stdout))
			die(EXIT_FAIL, "write error: %s", strerror(errno));
		return any_held(hs, nh) ? 0 : 1;
	}
	printf("lease:      %s\n", where);
	if (nh > 1) {
		int held = 0;

		for (i = 0; i < nh; i++)
			held += hs[i].state == LEASE_HELD;
		printf("slots:      %d (%d held)\n", nh, held);
		for (i = 0; i < nh; i++)
			slot_line(&hs[i], now_ms);
	} else if (h->state == LEASE_FREE) {
		printf("state:      free\n");
	} else if (h->state == LEASE_RELEASED) {
		printf("state:      released\nlast:       %s\nterm:       %llu\n",
		    h->id, (unsigned long long)h->term);
	} else {
		fmt_age(age, sizeof(age), now_ms - h->acquired_ms);
		if (h->ttl_ms >= 0)	/* the server's count, not our guess */
			fmt_age(left, sizeof(left), h->ttl_ms);
		else
			fmt_age(left, sizeof(left), h->renewed_ms + h->lease_ms - now_ms);
		printf("state:      held\nholder:     %s\nhost:       %s\n"
		    "pid:        %ld\nterm:       %llu\nage:        %s\n"
		    "expires-in: %s\n", h->id, h->host, h->pid,
		    (unsigned long long)h->term, age, left);
		if (h->local)
			printf("alive:      %s\n", h->alive ? "yes" : "no");
		if (h->done)
			printf("command:    done (holding until min-hold ends)\n");
		else if (h->job > 0)
			printf("command:    running (process group %ld)\n", h->job);
		else
			printf("command:    starting\n");
	}
	if (waiting_count(hs, nh) >= 0)
		printf("waiters:    %d\n", waiting_count(hs, nh));
	for (i = 0; i < nw; i++)
		if (nh > 1)
			printf("waiting:    %d. %s on %s (pid %ld, for slot %d)\n",
			    i + 1, w[i].id, w[i].host, w[i].pid, w[i].slot);
		else
			printf("waiting:    %d. %s on %s (pid %ld)\n", i + 1,
			    w[i].id, w[i].host, w[i].pid);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "write error: %s", strerror(errno));
	return any_held(hs, nh) ? 0 : 1;
}

/* One line of the --list table, escaped: no spaces, printable ASCII. */
struct row {
	char		 name[LEASE_IDLEN + 16];	/* NAME[SLOT] */
	char		 state[12];
	char		 holder[LEASE_IDLEN * 4 + 8];
	char		 host[LEASE_HOSTLEN * 4 + 8];
	char		 term[24];
	char		 age[48];
};

struct listing {
	const struct opts *o;
	int64_t		 now_ms;
	int		 n;		/* leases so far */
	struct row	*rows;		/* the table, unless --json */
	size_t		 cap;
	FILE		*json;		/* --json: the array so far */
};

static void	list_row(struct listing *, const char *, int,
		    const struct lease_holder *);

/* list_item: one entry of lease_list: a warning, a JSON object, or a row. */
static void
list_item(void *arg, const struct lease_item *it)
{
	struct listing *ls = arg;
	char where[PATH_MAX + 300], ebuf[256 * 4 + 8];
	int i;

	if (it->why && it->name) {
		warnx("warning: skipped lease %s: %s", it->name, it->why);
		return;
	}
	if (it->why) {
		warnx("warning: skipped '%s': %s", escape(it->entry, 256, 0,
		    ebuf, sizeof(ebuf)), it->why);
		return;
	}
	if (ls->json) {
		lease_store_where(ls->o->store, it->name, where, sizeof(where));
		fputs(ls->n ? ",\n" : "\n", ls->json);
		status_json(ls->json, it->name, ls->o->store, where, it->h,
		    it->nh, it->w, it->nw, ls->now_ms);
		ls->n++;
		return;
	}
	/* A row per slot: NAME, or NAME[I] for slot I of several. */
	for (i = 0; i < it->nh; i++)
		list_row(ls, it->name, it->nh > 1 ? i : -1, &it->h[i]);
}

/* list_row: the table row of lease NAME's slot SLOT (-1: the only one). */
static void
list_row(struct listing *ls, const char *name, int slot,
    const struct lease_holder *h)
{
	struct row *r;
	int64_t since;

	if ((size_t)ls->n == ls->cap) {
		struct row *more;

		ls->cap = ls->cap ? 2 * ls->cap : 64;
		if ((more = realloc(ls->rows, ls->cap * sizeof(*more))) == NULL)
			die(EXIT_FAIL, "list: %s", strerror(errno));
		ls->rows = more;
	}
	r = &ls->rows[ls->n++];
	if (slot < 0)
		snprintf(r->name, sizeof(r->name), "%s", name);
	else
		snprintf(r->name, sizeof(r->name), "%s[%d]", name, slot);
	snprintf(r->state, sizeof(r->state), "%s", h->state == LEASE_HELD ?
	    "held" : h->state == LEASE_RELEASED ? "released" : "free");
	strcpy(r->holder, "-");
	strcpy(r->host, "-");
	strcpy(r->term, "-");
	strcpy(r->age, "-");
	if (h->state == LEASE_FREE)
		return;
	if (h->id[0])
		escape(h->id, sizeof(h->id), 1, r->holder, sizeof(r->holder));
	if (h->host[0])
		escape(h->host, sizeof(h->host), 1, r->host, sizeof(r->host));
	snprintf(r->term, sizeof(r->term), "%llu", (unsigned long long)h->term);
	/* Held: since it was acquired; released: since the release. */
	since = h->state == LEASE_HELD ? h->acquired_ms : h->renewed_ms;
	if (time_known(since))
		fmt_age(r->age, sizeof(r->age), ls->now_ms - since);
}

int
show_list(const struct opts *o)
{
	static const char *const head[] = { "NAME", "STATE", "HOLDER", "HOST",
	    "TERM", "AGE" };
	struct lease_config cfg;
	struct listing ls;
	char err[LEASE_ERRLEN], *buf = NULL;
	size_t wd[6], i, len = 0;
	int k;

	opts_lease_config(o, &cfg);
	memset(&ls, 0, sizeof(ls));
	ls.o = o;
	ls.now_ms = wall_ms();
	/* All or nothing on stdout: a store that fails half way through
	 * must not leave half an array. */
	if (o->json && (ls.json = open_memstream(&buf, &len)) == NULL)
		die(EXIT_FAIL, "list: %s", strerror(errno));
	if (lease_list(&cfg, list_item, &ls, MAXWAITERS, err) != LEASE_OK)
		die(EXIT_FAIL, "list: %s", err);
	if (o->json) {
		if (fclose(ls.json) == EOF)
			die(EXIT_FAIL, "list: %s", strerror(errno));
		printf("[%s%s]\n", buf, ls.n ? "\n" : "");
		free(buf);
	} else {
		for (k = 0; k < 6; k++)
			wd[k] = strlen(head[k]);
		for (i = 0; i < (size_t)ls.n; i++) {
			const char *c[6] = { ls.rows[i].name, ls.rows[i].state,
			    ls.rows[i].holder, ls.rows[i].host, ls.rows[i].term,
			    ls.rows[i].age };

			for (k = 0; k < 6; k++)
				if (strlen(c[k]) > wd[k])
					wd[k] = strlen(c[k]);
		}
		printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)wd[0], head[0],
		    (int)wd[1], head[1], (int)wd[2], head[2], (int)wd[3],
		    head[3], (int)wd[4], head[4], head[5]);
		for (i = 0; i < (size_t)ls.n; i++) {
			const struct row *r = &ls.rows[i];

			printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)wd[0],
			    r->name, (int)wd[1], r->state, (int)wd[2], r->holder,
			    (int)wd[3], r->host, (int)wd[4], r->term, r->age);
		}
		free(ls.rows);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "write error: %s", strerror(errno));
	return 0;
}
