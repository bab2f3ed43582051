/*
 * redis_read.c - --status and --list on the Redis store: they read the
 * keys of redis_lua.h with one script each, and never contend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/resp.h"
#include "store/redis.h"
#include "store/redis_lua.h"

/* reader: L opened on U with CFG (its password, its time budget) for
 * lease NAME as a reader: no node id, never contending.  Its state, or
 * NULL with ERR. */
static struct redis *
reader(struct lease *l, const void *u, const struct lease_config *cfg,
    const char *name, char *err)
{
	struct lease_config c = *cfg;

	c.name = name;
	c.node_id = "";
	if (c.lease_ns <= 0)
		c.lease_ns = NS_PER_S;
	memset(l, 0, sizeof(*l));
	if (redis_open(l, u, &c, err) != LEASE_OK)
		return NULL;
	return l->data;
}

/* Who holds the lease, for how much longer, and how many wait (the
 * subscribers of its channel, whatever their database). */
int
redis_status(const void *u, const struct lease_config *cfg,
    struct lease_holder *h, struct lease_holder *w, int maxw, int *nw,
    char *err)
{
	struct lease l;
	struct resp_reply rep;
	const struct resp_val *v, *pttl, *fence, *count, *list, *x;
	const char *args[5];
	char sys[80], mw[16];
	struct redis *r;
	unsigned long long start;
	int rc = LEASE_ERR, i;

	*nw = 0;
	if ((r = reader(&l, u, cfg, cfg->name, err)) == NULL)
		return LEASE_ERR;
	snprintf(mw, sizeof(mw), "%d", maxw);
	args[0] = r->lock;
	args[1] = r->fence;
	args[2] = r->held;
	args[3] = r->queue;
	args[4] = mw;
	if (redis_script(r, redis_lua_status, 4, 5, args, NULL, &rep, err) == -1)
		goto out;
	v = resp_elem(&rep, 0, 0);
	pttl = resp_elem(&rep, 0, 1);
	fence = resp_elem(&rep, 0, 2);
	count = resp_elem(&rep, 0, 4);
	if (v == NULL || pttl == NULL || pttl->type != RESP_INT || fence == NULL ||
	    fence->type != RESP_INT || count == NULL || count->type != RESP_INT) {
		redis_reply_error(&r->srv, &rep.v[0], "status", err);
		goto out;
	}
	rc = LEASE_OK;
	/* The live waiters: a dead waiter's place stays until a script
	 * meets it first in line, but its key is gone. */
	h->waiters = (int)(count->num > 1000000 ? 1000000 : count->num);
	/* The waiters named, first come first: the 6th value is an array. */
	list = resp_elem(&rep, 0, 5);
	for (i = 0; list && i < maxw && (x = resp_elem(&rep, (int)(list - rep.v),
	    i)) && x->type == RESP_BULK; i++) {
		memset(&w[*nw], 0, sizeof(w[*nw]));
		if (holder_parse(x->s, x->len, &w[*nw], sys, sizeof(sys),
		    &start) == 0) {
			holder_judge(&w[*nw], sys, start, &r->me);
			w[*nw].state = LEASE_HELD;
			(*nw)++;
		}
	}
	if (pttl->num == -2) {
		h->state = LEASE_FREE;
		goto out;
	}
	h->state = LEASE_HELD;
	h->term = fence->num > 0 ? (uint64_t)fence->num : 0;
	h->ttl_ms = pttl->num >= 0 ? pttl->num : -1;
	if (v->type == RESP_BULK &&
	    holder_parse(v->s, v->len, h, sys, sizeof(sys), &start) == 0)
		holder_judge(h, sys, start, &r->me);
	h->state = LEASE_HELD;
out:
	redis_close(&l);
	return rc;
}

/* The names --list found, to be given in byte order. */
struct names {
	char		(*v)[LEASE_IDLEN];
	size_t		 n, cap;
};

static int
names_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* list_step: the names (or odd keys, to FN) in BULK, NUL-separated. */
static int
list_step(struct names *ns, const struct resp_val *bulk, int odd,
    void (*fn)(void *, const char *, const char *, const char *), void *arg)
{
	const char *p = bulk->s, *end = bulk->s + bulk->len;
	char name[LEASE_IDLEN + 1], raw[256];

	while (bulk->len > 0 && p <= end) {
		const char *q = memchr(p, '\0', (size_t)(end - p));
		size_t len = (size_t)((q ? q : end) - p);

		if (odd) {
			snprintf(raw, sizeof(raw), "%.*s", (int)len, p);
			fn(arg, NULL, raw, "not a key of a lease");
		} else if (len >= sizeof(name) || (memcpy(name, p, len),
		    name[len] = '\0', !lease_name_ok(name))) {
			snprintf(raw, sizeof(raw), "%s{%.*s}:", PREFIX ":",
			    (int)(len > 128 ? 128 : len), p);
			fn(arg, NULL, raw, "not a lease name");
		} else {
			if (ns->n == ns->cap) {
				size_t cap = ns->cap ? 2 * ns->cap : 64;
				char (*v)[LEASE_IDLEN] = realloc(ns->v,
				    cap * sizeof(*v));

				if (v == NULL)
					return -1;
				ns->v = v;
				ns->cap = cap;
			}
			memcpy(ns->v[ns->n++], name, len + 1);
		}
		if (q == NULL)
			break;
		p = q + 1;
	}
	return 0;
}

/*
 * redis_list: every lease with a key in this database, by SCAN (MATCH
 * PREFIX:*, a hundred keys a step: the database is never blocked for
 * long), then in byte order.  A key under PREFIX: that names no lease is
 * skipped, with a word.
 */
int
redis_list(const void *u, const struct lease_config *cfg,
    void (*fn)(void *, const char *, const char *, const char *), void *arg,
    char *err)
{
	struct lease l;
	struct names ns = { NULL, 0, 0 };
	struct resp_reply rep;
	const struct resp_val *cur, *nb, *ob;
	char cursor[32] = "0";
	const char *args[3] = { cursor, PREFIX ":*", "100" };
	struct redis *r;
	size_t i;
	int rc = LEASE_ERR;

	if ((r = reader(&l, u, cfg, "", err)) == NULL)
		return LEASE_ERR;
	do {
		if (redis_script(r, redis_lua_list, 0, 3, args, NULL, &rep, err) == -1)
			goto out;
		cur = resp_elem(&rep, 0, 0);
		nb = resp_elem(&rep, 0, 1);
		ob = resp_elem(&rep, 0, 2);
		if (cur == NULL || cur->type != RESP_BULK || cur->len == 0 ||
		    cur->len >= sizeof(cursor) || nb == NULL ||
		    nb->type != RESP_BULK || ob == NULL || ob->type != RESP_BULK) {
			redis_reply_error(&r->srv, &rep.v[0], "list", err);
			goto out;
		}
		if (list_step(&ns, nb, 0, fn, arg) == -1 ||
		    list_step(&ns, ob, 1, fn, arg) == -1) {
			seterr(err, "%s", strerror(errno));
			goto out;
		}
		memcpy(cursor, cur->s, cur->len);
		cursor[cur->len] = '\0';
	} while (strcmp(cursor, "0") != 0);
	/* SCAN may give a key twice, and a name has several keys. */
	if (ns.n > 0)
		qsort(ns.v, ns.n, sizeof(*ns.v), names_cmp);
	redis_close(&l);	/* before FN reads each name on its own */
	for (i = 0; i < ns.n; i++)
		if (i == 0 || strcmp(ns.v[i], ns.v[i - 1]) != 0)
			fn(arg, ns.v[i], NULL, NULL);
	rc = LEASE_OK;
out:
	if (l.data != NULL)
		redis_close(&l);
	free(ns.v);
	return rc;
}
