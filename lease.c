/*
 * lease.c - what every lease store shares: the calls of lease.h, passed on
 * to the store the URL names; lease names; the deadline clock; store URLs;
 * and the one set of rules for judging a holder that runs on this host.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

void
lease_warn(struct lease *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->warning, sizeof(l->warning), fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	l->has_warning = 1;
}

int
lease_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (; *name; name++) {
		unsigned char c = (unsigned char)*name;
		if (!(isalnum(c) && c < 128) && !strchr("._@+:-", c))
			return 0;
	}
	return 1;
}

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

/*
 * url_user: the user of URL, the bytes from P up to AT ("%XX" decoded),
 * into U->user.  Returns 0, or -1 with ERR.
 */
static int
url_user(const char *url, const char *p, const char *at, struct store_url *u,
    char *err)
{
	size_t n = 0;

	if (p == at) {
		seterr(err, "store '%.64s': empty user before '@'", url);
		return -1;
	}
	for (; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			unsigned int x;

			if (at - p < 3 || !isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]) ||
			    sscanf(p + 1, "%2x", &x) != 1) {
				seterr(err, "store '%.64s': bad %%-escape in the "
				    "user", url);
				return -1;
			}
			c = (unsigned char)x;
			p += 2;
		}
		if (c < 0x20 || c == 0x7f) {
			seterr(err, "store '%.64s': control character in the "
			    "user", url);
			return -1;
		}
		if (n + 1 >= sizeof(u->user)) {
			seterr(err, "store '%.64s': user too long", url);
			return -1;
		}
		u->user[n++] = (char)c;
	}
	u->user[n] = '\0';
	return 0;
}

/*
 * redis_url: "redis://[USER@]HOST:PORT[/DB]" into *U.  A password in the
 * URL is refused without echoing it: every local user can read a command
 * line, so it comes from LEADERRUN_STORE_PASSWORD.  Returns 0, or -1 with
 * ERR.
 */
static int
redis_url(const char *url, struct store_url *u, char *err)
{
	const char *p = url + 8, *at = strrchr(url + 8, '@'), *slash, *q, *why;
	long db = 0;

	u->ops = &redis_ops;
	strcpy(u->prefix, "leaderrun");
	if (at != NULL) {
		size_t n = (size_t)(at - p);

		if (memchr(p, ':', n) != NULL) {
			seterr(err, "store 'redis://...': a password in the URL is "
			    "refused: every local user can read a command line; "
			    "put it in LEADERRUN_STORE_PASSWORD");
			return -1;
		}
		if (n == 0 || n >= sizeof(u->user)) {
			seterr(err, "store '%.64s': %s user name before '@'", url,
			    n ? "too long a" : "empty");
			return -1;
		}
		for (q = p; q < at; q++)
			if (!(isalnum((unsigned char)*q) && (unsigned char)*q < 128) &&
			    !strchr("._@+-", *q)) {
				seterr(err, "store '%.64s': the user name may hold "
				    "only A-Z a-z 0-9 . _ @ + -", url);
				return -1;
			}
		memcpy(u->user, p, n);
		p = at + 1;
	}
	for (slash = p; *slash && *slash != '/'; slash++)
		if (*slash == '[')
			while (slash[1] && slash[1] != ']')
				slash++;
	if (slash == p) {
		seterr(err, "store '%.64s': no HOST:PORT after redis://", url);
		return -1;
	}
	if ((why = net_parse_hostport(p, (size_t)(slash - p), &u->ep[0])) != NULL) {
		seterr(err, "store '%.64s': endpoint '%.*s': %s", url,
		    (int)(slash - p > 64 ? 64 : slash - p), p, why);
		return -1;
	}
	u->neps = 1;
	if (*slash == '/' && slash[1] != '\0') {
		for (q = slash + 1; *q; q++)
			if (*q < '0' || *q > '9' || q - slash > 5) {
				seterr(err, "store '%.64s': the database after '/' "
				    "must be a number (0-99999)", url);
				return -1;
			}
		db = strtol(slash + 1, NULL, 10);
	}
	u->db = (int)db;
	return 0;
}

/*
 * redis_unix_url: "redis+unix://[USER@]/PATH[?db=N]" into *U: Redis on its
 * unix socket (redis.conf's unixsocket), where file permissions say who
 * may connect.  Returns 0, or -1 with ERR.
 */
static int
redis_unix_url(const char *url, struct store_url *u, char *err)
{
	const char *p = url + 13, *path, *q;
	size_t n;
	long db = 0;

	u->ops = &redis_ops;
	strcpy(u->prefix, "leaderrun");
	if ((path = strchr(p, '/')) == NULL) {
		seterr(err, "store '%.64s': no socket path after redis+unix:// "
		    "(redis+unix:///run/redis/redis.sock)", url);
		return -1;
	}
	if (path > p) {		/* USER@ before the path */
		n = (size_t)(path - p - 1);
		if (path[-1] != '@' || n == 0 || n >= sizeof(u->user)) {
			seterr(err, "store '%.64s': expected redis+unix://[USER@]"
			    "/PATH", url);
			return -1;
		}
		for (q = p; q < p + n; q++)
			if (!(isalnum((unsigned char)*q) && (unsigned char)*q < 128) &&
			    !strchr("._+-", *q)) {
				seterr(err, "store '%.64s': the user name may hold "
				    "only A-Z a-z 0-9 . _ + -", url);
				return -1;
			}
		memcpy(u->user, p, n);
	}
	n = strcspn(path, "?");
	if (n >= sizeof(u->ep[0].path)) {
		seterr(err, "store '%.64s': socket path longer than %zu bytes",
		    url, sizeof(u->ep[0].path) - 1);
		return -1;
	}
	memcpy(u->ep[0].path, path, n);
	u->neps = 1;
	if (path[n] == '?') {
		q = path + n + 1;
		if (strncmp(q, "db=", 3) != 0 || q[3] == '\0' ||
		    strspn(q + 3, "0123456789") != strlen(q + 3) ||
		    strlen(q + 3) > 5) {
			seterr(err, "store '%.64s': after '?' only db=N (0-99999)",
			    url);
			return -1;
		}
		db = strtol(q + 3, NULL, 10);
	}
	u->db = (int)db;
	return 0;
}

/*
 * url_parse: URL into *U.  "file:DIR"; "etcd://[USER@]HOST:PORT
 * [,HOST:PORT...][/PREFIX]"; "redis://[USER@]HOST:PORT[/DB]".  Returns 0,
 * or -1 with ERR.  A password in the URL is refused before anything else,
 * whatever the scheme: a command line is there for every local user to
 * read (ps, /proc/PID/cmdline), and the command inherits LEADERRUN_STORE.
 * ERR never shows it.
 */
static int
url_parse(const char *url, struct store_url *u, char *err)
{
	const char *p, *end, *slash, *at;
	char safe[80];

	memset(u, 0, sizeof(*u));
	if (url_password(url, safe, sizeof(safe))) {
		seterr(err, "store '%s': a password in the URL is refused: every "
		    "local user can read command lines (ps), and the command "
		    "inherits LEADERRUN_STORE; use LEADERRUN_STORE_PASSWORD or "
		    "--store-password-file", safe);
		return -1;
	}
	if (!strncmp(url, "file:", 5)) {
		p = url + 5;
		if (!strncmp(p, "//", 2))
			p += 2;		/* file:///tmp reads as file:/tmp */
		if (*p == '\0') {
			seterr(err, "store '%s': no directory after file:", url);
			return -1;
		}
		if (strlen(p) >= sizeof(u->dir)) {
			seterr(err, "store '%s': directory name too long", url);
			return -1;
		}
		strcpy(u->dir, p);
		u->ops = &file_ops;
		return 0;
	}
	if (!strncmp(url, "redis://", 8))
		return redis_url(url, u, err);
	if (!strncmp(url, "redis+unix://", 13))
		return redis_unix_url(url, u, err);
	if (strncmp(url, "etcd://", 7) != 0) {
		const char *colon = strchr(url, ':');

		if (colon && colon > url && colon - url < 16)
			seterr(err, "store '%.64s': unknown scheme '%.*s' (use "
			    "file:DIR, etcd://HOST:PORT or redis://HOST:PORT)",
			    url, (int)(colon - url), url);
		else
			seterr(err, "store '%.64s': not a store URL (use file:DIR, "
			    "etcd://HOST:PORT or redis://HOST:PORT)", url);
		return -1;
	}
	u->ops = &etcd_ops;
	p = url + 7;
	/* The authority ends at the first '/' outside brackets. */
	for (slash = p; *slash && *slash != '/'; slash++)
		if (*slash == '[')
			while (slash[1] && slash[1] != ']')
				slash++;
	/* USER@ in front of the members: the last '@' ends it. */
	for (at = NULL, end = p; end < slash; end++)
		if (*end == '@')
			at = end;
	if (at != NULL) {
		if (url_user(url, p, at, u, err) == -1)
			return -1;
		p = at + 1;
	}
	if (slash == p) {
		seterr(err, "store '%.64s': no HOST:PORT after etcd://%s", url,
		    at ? "USER@" : "");
		return -1;
	}
	while (p < slash) {
		const char *why;

		for (end = p; end < slash && *end != ','; end++)
			if (*end == '[')
				while (end + 1 < slash && end[1] != ']')
					end++;
		if (u->neps == STORE_MAXEPS) {
			seterr(err, "store '%.64s': more than %d endpoints", url,
			    STORE_MAXEPS);
			return -1;
		}
		if ((why = net_parse_hostport(p, (size_t)(end - p),
		    &u->ep[u->neps])) != NULL) {
			seterr(err, "store '%.64s': endpoint '%.*s': %s", url,
			    (int)(end - p > 64 ? 64 : end - p), p, why);
			return -1;
		}
		u->neps++;
		p = end < slash ? end + 1 : end;
		if (end < slash && p == slash) {
			seterr(err, "store '%.64s': empty endpoint", url);
			return -1;
		}
	}
	/* The prefix: path segments of lease-name characters. */
	p = *slash ? slash + 1 : "leaderrun";
	end = p + strlen(p);
	while (end > p && end[-1] == '/')
		end--;
	if (end == p)
		p = "leaderrun", end = p + strlen(p);
	if ((size_t)(end - p) >= sizeof(u->prefix)) {
		seterr(err, "store '%.64s': prefix too long", url);
		return -1;
	}
	memcpy(u->prefix, p, (size_t)(end - p));
	for (p = u->prefix; *p; p++)
		if (!(isalnum((unsigned char)*p) && (unsigned char)*p < 128) &&
		    !strchr("._@+:-/", *p)) {
			seterr(err, "store '%.64s': prefix may hold only A-Z a-z "
			    "0-9 . _ @ + : - /", url);
			return -1;
		}
	if (strstr(u->prefix, "//")) {
		seterr(err, "store '%.64s': empty segment in the prefix", url);
		return -1;
	}
	return 0;
}

int
lease_store_check(const char *url, char *err)
{
	struct store_url *u = malloc(sizeof(*u));
	int rc;

	if (u == NULL) {
		seterr(err, "%s", strerror(errno));
		return -1;
	}
	rc = url_parse(url, u, err);
	free(u);
	return rc;
}

void
lease_store_where(const char *url, const char *name, char *buf, size_t len)
{
	struct store_url *u = malloc(sizeof(*u));
	char err[LEASE_ERRLEN], ep[NET_HOSTLEN + 16];

	if (u == NULL || url_parse(url, u, err) == -1)
		snprintf(buf, len, "%s", name);
	else if (u->ops == &file_ops)
		snprintf(buf, len, "%s/%s.lease", u->dir, name);
	else if (u->ops == &redis_ops && u->ep[0].path[0])
		snprintf(buf, len, "redis+unix://%s?db=%d %s:{%s}:lock",
		    u->ep[0].path, u->db, u->prefix, name);
	else if (u->ops == &redis_ops)
		snprintf(buf, len, "redis://%s/%d %s:{%s}:lock",
		    net_name(&u->ep[0], ep, sizeof(ep)), u->db, u->prefix, name);
	else
		snprintf(buf, len, "etcd://%s%s%s %s/%s/", u->user,
		    u->user[0] ? "@" : "", net_name(&u->ep[0], ep, sizeof(ep)),
		    u->prefix, name);
	free(u);
}

/* ---- the calls of lease.h ----------------------------------------------- */

int
lease_open(struct lease **lp, const struct lease_config *cfg, char *err)
{
	struct store_url *u;
	struct lease *l;
	int rc;

	if (!lease_name_ok(cfg->name)) {
		seterr(err, "invalid lease name");
		return LEASE_ERR;
	}
	if ((u = malloc(sizeof(*u))) == NULL || (l = calloc(1, sizeof(*l))) == NULL) {
		seterr(err, "%s", strerror(errno));
		free(u);
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, u, err) == -1) {
		free(u);
		free(l);
		return LEASE_ERR;
	}
	l->ops = u->ops;
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
	if (!l->has_warning)
		return NULL;
	l->has_warning = 0;
	return l->warning;
}

int
lease_status(const struct lease_config *cfg, struct lease_holder *h,
    struct lease_holder *w, int maxw, int *nw, char *err)
{
	struct store_url *u;
	int rc;

	memset(h, 0, sizeof(*h));
	h->ttl_ms = -1;
	h->waiters = -1;
	*nw = 0;
	if (!lease_name_ok(cfg->name)) {
		seterr(err, "invalid lease name");
		return LEASE_ERR;
	}
	if ((u = malloc(sizeof(*u))) == NULL) {
		seterr(err, "%s", strerror(errno));
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, u, err) == -1)
		rc = LEASE_ERR;
	else
		rc = u->ops->status(u, cfg, h, w, maxw, nw, err);
	free(u);
	return rc;
}

struct list_ctx {
	const struct store_url *u;
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
		if (c->u->ops->status(c->u, &c->cfg, &it.h, c->w, c->maxw,
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
	struct list_ctx c;
	struct store_url *u;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((u = malloc(sizeof(*u))) == NULL ||
	    (c.w = calloc((size_t)(maxw > 0 ? maxw : 1), sizeof(*c.w))) == NULL) {
		seterr(err, "%s", strerror(errno));
		free(u);
		return LEASE_ERR;
	}
	if (url_parse(cfg->store, u, err) == -1)
		rc = LEASE_ERR;
	else if (u->ops->list == NULL) {
		seterr(err, "the %s store cannot list its leases", u->ops->scheme);
		rc = LEASE_ERR;
	} else {
		c.u = u;
		c.cfg = *cfg;
		c.fn = fn;
		c.arg = arg;
		c.maxw = maxw;
		rc = u->ops->list(u, cfg, list_one, &c, err);
	}
	free(c.w);
	free(u);
	return rc;
}

/* ---- holder values of network stores ------------------------------------ */

size_t
holder_format(char *buf, size_t len, const struct host_self *me,
    const char *id, long job, int64_t lease_ms, int64_t acquired_ms)
{
	int done = job == LEASE_JOB_DONE;
	int n = snprintf(buf, len, "holder=%s\nhost=%s\nsys=%s\npid=%ld\n"
	    "start=%llu\njob=%ld\nlease_ms=%lld\nacquired=%lld\n%s", id,
	    me->name, me->sys, me->pid, me->start, done ? 0 : job,
	    (long long)lease_ms, (long long)acquired_ms, done ? "done=1\n" : "");

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
		else if (!strcmp(line, "acquired"))
			h->acquired_ms = (x = decimal(v, INT64_MAX)) < 0 ? 0 : x;
		else if (!strcmp(line, "done"))
			h->done = !strcmp(v, "1");
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
