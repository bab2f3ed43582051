/*
 * lease.c - the front of the stores: the scheme table, the check every
 * store URL gets first (no password in it), and the calls of lease.h
 * passed on to the store the URL names, or to slots.c for N slots.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* ---- store URLs --------------------------------------------------------- */

/*
 * url_password: 1 if URL ("scheme://user:password@host...", any scheme)
 * holds a password, with a copy of URL in SAFE (LEN bytes) where the
 * password reads "***"; else 0.
 */
static int
url_password(const char *url, char *safe, size_t len)
{
	const char *p = url, *auth, *end, *at = NULL, *colon;

	while (*p && (isalnum((unsigned char)*p) || strchr("+.-", *p)))
		p++;
	if (p == url || strncmp(p, "://", 3) != 0)
		return 0;
	auth = p + 3;
	end = auth + strcspn(auth, "/");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL || (colon = memchr(auth, ':', (size_t)(at - auth))) == NULL)
		return 0;
	snprintf(safe, len, "%.*s***%s", (int)(colon + 1 - url), url, at);
	return 1;
}

static const struct lease_ops *const stores[] = { &file_ops, &etcd_ops,
    &redis_ops, &postgres_ops };

/*
 * url_parse: URL into *U by the store its scheme names, which *OPS is set
 * to.  Returns 0, or -1 with ERR.  A password in the URL is refused before
 * anything else, whatever the scheme: a command line is there for every
 * local user to read (ps, /proc/PID/cmdline), and the command inherits
 * LEADERRUN_STORE.  ERR never shows it.
 */
static int
url_parse(const char *url, const struct lease_ops **ops, void **u, char *err)
{
	const char *colon;
	char safe[80];
	size_t i, j;

	*u = NULL;
	if (url_password(url, safe, sizeof(safe))) {
		seterr(err, "store '%s': a password in the URL is refused: every "
		    "local user can read command lines (ps), and the command "
		    "inherits LEADERRUN_STORE; use LEADERRUN_STORE_PASSWORD or "
		    "--store-password-file", safe);
		return -1;
	}
	for (i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
		for (j = 0; stores[i]->prefixes[j]; j++)
			if (!strncmp(url, stores[i]->prefixes[j],
			    strlen(stores[i]->prefixes[j]))) {
				*ops = stores[i];
				if ((*u = calloc(1, stores[i]->url_size)) == NULL) {
					seterr(err, "%s", strerror(errno));
					return -1;
				}
				if (stores[i]->parse_url(url, *u, err) == -1) {
					free(*u);
					*u = NULL;
					return -1;
				}
				return 0;
			}
	colon = strchr(url, ':');
	if (colon && colon > url && colon - url < 16)
		seterr(err, "store '%.64s': unknown scheme '%.*s' (use "
		    "file:DIR, etcd://HOST:PORT, redis://HOST:PORT or "
		    "postgres://HOST:PORT/DB)",
		    url, (int)(colon - url), url);
	else
		seterr(err, "store '%.64s': not a store URL (use file:DIR, "
		    "etcd://HOST:PORT, redis://HOST:PORT or "
		    "postgres://HOST:PORT/DB)", url);
	return -1;
}

int
lease_store_check(const char *url, char *err)
{
	const struct lease_ops *ops;
	void *u;
	int rc = url_parse(url, &ops, &u, err);

	free(u);
	return rc;
}

void
lease_store_where(const char *url, const char *name, char *buf, size_t len)
{
	const struct lease_ops *ops;
	char err[LEASE_ERRLEN];
	void *u;

	if (url_parse(url, &ops, &u, err) == -1)
		snprintf(buf, len, "%s", name);
	else
		ops->where(u, name, buf, len);
	free(u);
}

/* ---- slots --------------------------------------------------------------- */

void
slot_name(const char *name, int i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s#%d", name, i);
}

int
slot_of(const char *name, char *base)
{
	const char *hash = strrchr(name, '#');
	int64_t i;

	if (hash == NULL) {
		if (!lease_name_ok(name))
			return -1;
		snprintf(base, LEASE_IDLEN, "%s", name);
		return 0;
	}
	if ((size_t)(hash - name) > LEASE_IDLEN - 4 || hash[1] == '0' ||
	    (i = decimal(hash + 1, LEASE_SLOTS_MAX - 1)) < 1)
		return -1;
	memcpy(base, name, (size_t)(hash - name));
	base[hash - name] = '\0';
	return lease_name_ok(base) ? (int)i : -1;
}

int
slot_name_ok(const char *name)
{
	char base[LEASE_IDLEN];

	return slot_of(name, base) >= 0;
}

/*
 * slots_check: a busy acquire of a contender with SLOTS found holder H:
 * LEASE_REFUSED with ERR when H was started with another number (where
 * its record says: a record without one has one slot), else RC.
 */
static int
slots_check(const struct lease *l, const struct lease_holder *h, int rc,
    char *err)
{
	int theirs = h->slots > 1 ? h->slots : 1;

	/* A holder we cannot name (a record not yet written) tells nothing. */
	if (rc != LEASE_BUSY || h->state != LEASE_HELD || h->id[0] == '\0' ||
	    l->slots == theirs)
		return rc;
	seterr(err, "lease %s is held by %s with --slots %d; this instance "
	    "has --slots %d: every contender must give the same number",
	    l->name, h->id, theirs, l->slots);
	return LEASE_REFUSED;
}

/* ---- the calls of lease.h ----------------------------------------------- */

int
store_open(struct lease **lp, const struct lease_ops *ops, const void *u,
    const struct lease_config *cfg, char *err)
{
	struct lease *l;
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		seterr(err, "%s", strerror(errno));
		return LEASE_ERR;
	}
	l->ops = ops;
	snprintf(l->name, sizeof(l->name), "%s", cfg->name);
	l->slots = cfg->slots > 1 ? cfg->slots : 1;
	rc = l->ops->open(l, u, cfg, err);
	if (rc != LEASE_OK) {
		free(l);
		return rc;
	}
	*lp = l;
	return LEASE_OK;
}

int
lease_open(struct lease **lp, const struct lease_config *cfg, char *err)
{
	const struct lease_ops *ops;
	void *u;
	int rc;

	if (!lease_name_ok(cfg->name)) {
		seterr(err, "invalid lease name");
		return LEASE_ERR;
	}
	if (cfg->slots < 0 || cfg->slots > LEASE_SLOTS_MAX ||
	    (cfg->slots > 1 && strlen(cfg->name) > LEASE_IDLEN - 4)) {
		seterr(err, "--slots %d: out of range for lease %s", cfg->slots,
		    cfg->name);
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, &ops, &u, err) == -1) {
		free(u);
		return LEASE_ERR;
	}
	/* N slots: slots.c opens the store once per slot. */
	if (cfg->slots > 1)
		rc = slots_open(lp, ops, u, cfg, err);
	else
		rc = store_open(lp, ops, u, cfg, err);
	free(u);
	return rc;
}

int
lease_acquire(struct lease *l, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	l->renewed_from = 0;
	l->renew_now = 0;
	int rc = slots_check(l, h, l->ops->acquire(l, h, retry_ns, err), err);

	/* Refused: give up the place the busy attempt may have taken. */
	if (rc == LEASE_REFUSED)
		l->ops->withdraw(l);
	return rc;
}

int
lease_renew_now(struct lease *l)
{
	return l->renew_now;
}

int
lease_renew(struct lease *l, long job, char *err)
{
	l->renewed_from = 0;
	return l->ops->renew(l, job, err);
}

int64_t
lease_renewed_from(struct lease *l)
{
	return l->renewed_from;
}

int
lease_release(struct lease *l, char *err)
{
	return l->ops->release(l, err);
}

void
lease_withdraw(struct lease *l)
{
	l->ops->withdraw(l);
}

int
lease_watch_fd(struct lease *l)
{
	return l->ops->watch_fd(l);
}

int
lease_watch_fds(struct lease *l, int *fds, int max)
{
	if (l->ops->watch_fds)
		return l->ops->watch_fds(l, fds, max);
	if (max < 1 || (fds[0] = l->ops->watch_fd(l)) == -1)
		return 0;
	return 1;
}

int
lease_watch_clear(struct lease *l)
{
	return l->ops->watch_clear(l);
}

void
lease_farewell(struct lease *l, struct lease_farewell *f)
{
	memset(f, 0, sizeof(*f));
	if (l->ops->farewell)
		l->ops->farewell(l, f);
}

void
lease_place_farewell(struct lease *l, struct lease_farewell *f)
{
	memset(f, 0, sizeof(*f));
	if (l->ops->place_farewell)
		l->ops->place_farewell(l, f);
}

void
lease_close(struct lease *l)
{
	if (l == NULL)
		return;
	l->ops->close(l);
	free(l);
}

const char *
lease_warning(struct lease *l)
{
	if (l->took >= l->nwarn) {
		l->took = l->nwarn = 0;
		return NULL;
	}
	return l->warning[l->took++];
}

/*
 * status_slots: the slots of CFG->name in the store OPS (URL U): at least
 * NMIN, as many as the record of slot 0 names if more (see lease_status).
 */
static int
status_slots(const struct lease_ops *ops, const void *u,
    const struct lease_config *cfg, int nmin, struct lease_holder *h, int *nh,
    struct lease_holder *w, int maxw, int *nw, char *err)
{
	struct lease_config c = *cfg;
	char name[LEASE_IDLEN + 4];
	int i, n = nmin > 1 ? nmin : 1, k, rc;

	*nh = *nw = 0;
	for (i = 0; i < n && i < LEASE_SLOTS_MAX; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].ttl_ms = -1;
		h[i].waiters = h[i].ahead = -1;
		slot_name(cfg->name, i, name, sizeof(name));
		c.name = name;
		k = 0;
		rc = ops->status(u, &c, &h[i], w + *nw, maxw - *nw, &k, err);
		if (rc != LEASE_OK)
			return rc;
		h[i].slot = i;
		while (k-- > 0)
			w[(*nw)++].slot = i;
		if (i == 0 && h[0].slots > n)
			n = h[0].slots;
		*nh = i + 1;
	}
	return LEASE_OK;
}

int
lease_status(const struct lease_config *cfg, struct lease_holder *h, int *nh,
    struct lease_holder *w, int maxw, int *nw, char *err)
{
	const struct lease_ops *ops;
	void *u;
	int rc;

	memset(h, 0, sizeof(*h));
	h->ttl_ms = -1;
	h->waiters = -1;
	*nh = 1;
	*nw = 0;
	if (!lease_name_ok(cfg->name)) {
		seterr(err, "invalid lease name");
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, &ops, &u, err) == -1)
		rc = LEASE_ERR;
	else
		rc = status_slots(ops, u, cfg, cfg->slots, h, nh, w, maxw, nw,
		    err);
	free(u);
	return rc;
}

/* A lease the store listed: its name, and the highest slot seen. */
struct listed {
	char		 name[LEASE_IDLEN];
	int		 top;
};

struct list_ctx {
	const struct lease_ops *ops;
	const void	*u;
	struct lease_config cfg;
	void		(*fn)(void *, const struct lease_item *);
	void		*arg;
	struct listed	*v;
	size_t		 n, cap;
	int		 nomem;
};

/*
 * list_one: one name (or skipped entry) from the store's list.  An entry
 * is passed on at once; a name is kept, the slots of one lease as one
 * (the store's order is its keys', and "NAME#1" may come before "NAME").
 */
static void
list_one(void *arg, const char *name, const char *entry, const char *why)
{
	struct list_ctx *c = arg;
	struct lease_item it;
	char base[LEASE_IDLEN];
	size_t i;
	int slot;

	if (name == NULL || (slot = slot_of(name, base)) < 0) {
		memset(&it, 0, sizeof(it));
		it.entry = name ? name : entry;
		it.why = name ? "not a lease name" : why;
		c->fn(c->arg, &it);
		return;
	}
	for (i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, base)) {
			if (slot > c->v[i].top)
				c->v[i].top = slot;
			return;
		}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct listed *more = realloc(c->v, cap * sizeof(*more));

		if (more == NULL) {
			c->nomem = 1;
			return;
		}
		c->v = more;
		c->cap = cap;
	}
	snprintf(c->v[c->n].name, sizeof(c->v[c->n].name), "%s", base);
	c->v[c->n++].top = slot;
}

static int
listed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->name,
	    ((const struct listed *)b)->name);
}

int
lease_list(const struct lease_config *cfg,
    void (*fn)(void *, const struct lease_item *), void *arg, int maxw,
    char *err)
{
	const struct lease_ops *ops;
	struct lease_holder *h = NULL, *w = NULL;
	struct list_ctx c;
	void *u = NULL;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((w = calloc((size_t)(maxw > 0 ? maxw : 1), sizeof(*w))) == NULL ||
	    (h = calloc(LEASE_SLOTS_MAX, sizeof(*h))) == NULL) {
		seterr(err, "%s", strerror(errno));
		free(w);
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, &ops, &u, err) == -1)
		rc = LEASE_ERR;
	else if (ops->list == NULL) {
		seterr(err, "the %s store cannot list its leases", ops->scheme);
		rc = LEASE_ERR;
	} else {
		c.ops = ops;
		c.u = u;
		c.cfg = *cfg;
		c.fn = fn;
		c.arg = arg;
		rc = ops->list(u, cfg, list_one, &c, err);
		if (rc == LEASE_OK && c.nomem) {
			seterr(err, "%s", strerror(ENOMEM));
			rc = LEASE_ERR;
		}
	}
	if (rc == LEASE_OK && c.n > 0)
		qsort(c.v, c.n, sizeof(*c.v), listed_cmp);
	for (i = 0; rc == LEASE_OK && i < c.n; i++) {
		struct lease_item it;
		char e[LEASE_ERRLEN];

		memset(&it, 0, sizeof(it));
		it.name = c.v[i].name;
		it.h = h;
		it.w = w;
		c.cfg.name = c.v[i].name;
		if (status_slots(ops, u, &c.cfg, c.v[i].top + 1, h, &it.nh, w,
		    maxw, &it.nw, e) != LEASE_OK)
			it.why = e;
		fn(arg, &it);
	}
	free(c.v);
	free(h);
	free(w);
	free(u);
	return rc;
}
