/*
 * lease.c - the front of the stores: the scheme table, the check every
 * store URL gets first (no password in it), and the calls of lease.h
 * passed on to the store the URL names.
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

/* ---- the calls of lease.h ----------------------------------------------- */

int
lease_open(struct lease **lp, const struct lease_config *cfg, char *err)
{
	const struct lease_ops *ops;
	struct lease *l;
	void *u;
	int rc;

	if (!lease_name_ok(cfg->name)) {
		seterr(err, "invalid lease name");
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, &ops, &u, err) == -1) {
		free(u);
		return LEASE_ERR;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		seterr(err, "%s", strerror(errno));
		free(u);
		return LEASE_ERR;
	}
	l->ops = ops;
	rc = l->ops->open(l, u, cfg, err);
	free(u);
	if (rc != LEASE_OK) {
		free(l);
		return rc;
	}
	*lp = l;
	return LEASE_OK;
}

int
lease_acquire(struct lease *l, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	l->renewed_from = 0;
	l->renew_now = 0;
	return l->ops->acquire(l, h, retry_ns, err);
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

int
lease_status(const struct lease_config *cfg, struct lease_holder *h,
    struct lease_holder *w, int maxw, int *nw, char *err)
{
	const struct lease_ops *ops;
	void *u;
	int rc;

	memset(h, 0, sizeof(*h));
	h->ttl_ms = -1;
	h->waiters = -1;
	*nw = 0;
	if (!lease_name_ok(cfg->name)) {
		seterr(err, "invalid lease name");
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, &ops, &u, err) == -1)
		rc = LEASE_ERR;
	else
		rc = ops->status(u, cfg, h, w, maxw, nw, err);
	free(u);
	return rc;
}

struct list_ctx {
	const struct lease_ops *ops;
	const void	*u;
	struct lease_config cfg;
	void		(*fn)(void *, const struct lease_item *);
	void		*arg;
	struct lease_holder *w;
	int		 maxw;
};

/* One name (or skipped entry) from the store's list: read it, pass it on. */
static void
list_one(void *arg, const char *name, const char *entry, const char *why)
{
	struct list_ctx *c = arg;
	struct lease_item it;
	char err[LEASE_ERRLEN];

	memset(&it, 0, sizeof(it));
	it.h.ttl_ms = -1;
	it.h.waiters = -1;
	it.w = c->w;
	if (name == NULL) {
		it.entry = entry;
		it.why = why;
	} else {
		it.name = name;
		c->cfg.name = name;
		if (c->ops->status(c->u, &c->cfg, &it.h, c->w, c->maxw,
		    &it.nw, err) != LEASE_OK)
			it.why = err;
	}
	c->fn(c->arg, &it);
}

int
lease_list(const struct lease_config *cfg,
    void (*fn)(void *, const struct lease_item *), void *arg, int maxw,
    char *err)
{
	const struct lease_ops *ops;
	struct list_ctx c;
	void *u = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((c.w = calloc((size_t)(maxw > 0 ? maxw : 1), sizeof(*c.w))) == NULL) {
		seterr(err, "%s", strerror(errno));
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
		c.maxw = maxw;
		rc = ops->list(u, cfg, list_one, &c, err);
	}
	free(c.w);
	free(u);
	return rc;
}
