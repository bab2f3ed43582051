/*
 * postgres.c - the PostgreSQL store behind lease.h
 * (postgres://[USER@]HOST:PORT[,HOST:PORT...]/DB[?table=NAME],
 * postgres+unix://[USER@]/SOCKETDIR[?db=DB]).
 *
 * A row per lease in TABLE (default leaderrun_lease), a queue of waiters
 * in TABLE_waiter; the statements are in postgres_sql.c.  Expiry is judged
 * by the server's clock (now() + interval), never ours.  Each call is one
 * autocommitted statement that acts only while the row holds our token (a
 * random string per contender), so a call whose answer was lost may be sent
 * again: an acquire that timed out is "maybe acquired", and the next attempt
 * with the same token gets the same grant, or withdraw frees it.
 *
 * Not session advisory locks: they end with the connection, and a pooler
 * or a reset middlebox can free one while the old leader still runs.
 *
 * Waiters LISTEN on a channel of their own ("lr_" + token); a release
 * wakes the first live waiter only.  A LISTEN on a stopped server never
 * says so, so waiters also look every retry period.  The first server of
 * the URL that is not a read-only standby is used.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/postgres_sql.h"
#include "store/store.h"
#include "wire/pg.h"

#define PGS_EPS		NET_MAXADDR
#define PGS_DBMAX	64
#define PGS_PASSMAX	1024
#define PGS_VALMAX	1024
#define TOKLEN		40
#define REAP_POLL_NS	(25 * NS_PER_MS)

struct pgs_url {
	struct net_ep	 ep[PGS_EPS];
	int		 nep;
	char		 user[LEASE_IDLEN];	/* "" for the OS user's name */
	char		 db[PGS_DBMAX];		/* "" for the user's name */
	char		 table[PGS_TABLEMAX + 1];
};

struct pgs {
	struct lease	*lease;
	struct pgs_url	 u;
	int		 cur;		/* the endpoint last used */
	struct pg_conn	 c;
	struct pgs_sql	 sql;
	char		 pass[PGS_PASSMAX + 1];
	int		 has_pass;
	int		 listening;	/* LISTEN sent on this connection */
	char		 name[LEASE_IDLEN];
	char		 id[LEASE_IDLEN];
	char		 token[TOKLEN];
	struct host_self me;
	int64_t		 lease_ns, retry_ns, stop_ns, io_ns;
	long		 cfg_job, job;
	int64_t		 acquired_ms;
	char		 value[PGS_VALMAX];

	int		 leader;
	int		 maybe;		/* an acquire got no answer */
	uint64_t	 term;
	uint64_t	 seen_epoch;	/* the highest epoch seen */
	int		 seen_held;	/* the row was seen held by another */
	int64_t		 seen_stop_ns;	/* its holder's renew-deadline + kill-after */
	int64_t		 vanished;	/* when it was seen missing after that */
	char		 take[TOKLEN];	/* a holder's token to take once expired */
	char		 reap[TOKLEN];	/* a dead local holder's token */
	/* A live holder on this host, as last seen in the row: watched in
	 * /proc between looks at the row, which then come every retry
	 * period only. */
	int		 local;
	struct lease_holder lh;
	unsigned long long lh_start;
	int64_t		 looked;	/* when the row was last read */
};

/* ---- the URLs ------------------------------------------------------------ */

static const char *const pgs_prefixes[] = { "postgres://", "postgresql://",
    "postgres+unix://", NULL };

/* query: "table=NAME" or "db=NAME" pairs joined by '&' in Q. */
static int
parse_query(const char *url, const char *q, struct pgs_url *u, int unix_,
    char *err)
{
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *v = memchr(q, '=', n);
		size_t k = v ? (size_t)(v - q) : n, vl = v ? n - k - 1 : 0;

		if (v && k == 5 && !memcmp(q, "table", 5) && pgs_table_ok(v + 1, vl)) {
			memcpy(u->table, v + 1, vl);
			u->table[vl] = '\0';
		} else if (v && k == 4 && !memcmp(q, "port", 4) && unix_ &&
		    vl > 0 && vl < 6 && strspn(v + 1, "0123456789") >= vl) {
			char *dot = strrchr(u->ep[0].path, '.');

			snprintf(dot + 1, sizeof(u->ep[0].path) - (size_t)(dot + 1 -
			    u->ep[0].path), "%.*s", (int)vl, v + 1);
		} else if (v && k == 2 && !memcmp(q, "db", 2) && unix_ &&
		    vl > 0 && vl < sizeof(u->db) && !memchr(v + 1, '/', vl)) {
			memcpy(u->db, v + 1, vl);
			u->db[vl] = '\0';
		} else {
			seterr(err, "store '%.64s': after '?' only table=NAME "
			    "(a-z 0-9 _, at most %d bytes)%s", url, PGS_TABLEMAX,
			    unix_ ? ", db=NAME and port=N" : "");
			return -1;
		}
		q += n + (q[n] == '&');
	}
	return 0;
}

static int
pgs_parse_url(const char *url, void *out, char *err)
{
	struct pgs_url *u = out;
	int unix_ = !strncmp(url, "postgres+unix://", 16);
	const char *p = strstr(url, "://") + 3, *end, *at = NULL, *why, *q;
	size_t n;

	snprintf(u->table, sizeof(u->table), "leaderrun_lease");
	if (unix_) {
		if ((end = strchr(p, '/')) == NULL) {
			seterr(err, "store '%.64s': no socket directory after "
			    "postgres+unix:// (postgres+unix:///run/postgresql)",
			    url);
			return -1;
		}
		if (end > p) {
			if (end[-1] != '@') {
				seterr(err, "store '%.64s': expected "
				    "postgres+unix://[USER@]/SOCKETDIR", url);
				return -1;
			}
			at = end - 1;
		}
	} else {
		end = store_url_authority(p);
		for (q = p; q < end; q++)
			if (*q == '@')
				at = q;
	}
	if (at != NULL) {
		if (store_url_user(url, p, at, u->user, sizeof(u->user), err) == -1)
			return -1;
		p = at + 1;
	}
	if (unix_) {
		/* The server's socket is DIR/.s.PGSQL.5432 (libpq's rule). */
		n = strcspn(p, "?");
		while (n > 1 && p[n - 1] == '/')
			n--;
		if (n + sizeof("/.s.PGSQL.5432") > sizeof(u->ep[0].path)) {
			seterr(err, "store '%.64s': socket directory too long", url);
			return -1;
		}
		snprintf(u->ep[0].path, sizeof(u->ep[0].path), "%.*s/.s.PGSQL.5432",
		    (int)n, p);
		u->nep = 1;
		p += strcspn(p, "?");
		return *p == '?' ? parse_query(url, p + 1, u, 1, err) : 0;
	}
	if (end == p) {
		seterr(err, "store '%.64s': no HOST:PORT after postgres://", url);
		return -1;
	}
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;

		if (u->nep == PGS_EPS) {
			seterr(err, "store '%.64s': more than %d endpoints", url,
			    PGS_EPS);
			return -1;
		}
		if ((why = net_parse_hostport(p, (size_t)(e - p),
		    &u->ep[u->nep])) != NULL) {
			seterr(err, "store '%.64s': endpoint '%.*s': %s", url,
			    (int)(e - p > 64 ? 64 : e - p), p, why);
			return -1;
		}
		u->nep++;
		p = comma ? comma + 1 : end;
	}
	if (*end != '/' || end[1] == '\0' || end[1] == '?') {
		seterr(err, "store '%.64s': no database: postgres://HOST:PORT/DB",
		    url);
		return -1;
	}
	n = strcspn(end + 1, "?");
	if (n >= sizeof(u->db) || memchr(end + 1, '/', n) || memchr(end + 1, '%', n)) {
		seterr(err, "store '%.64s': bad database name", url);
		return -1;
	}
	memcpy(u->db, end + 1, n);
	q = end + 1 + n;
	return *q == '?' ? parse_query(url, q + 1, u, 0, err) : 0;
}

static void
pgs_where(const void *url, const char *name, char *buf, size_t len)
{
	const struct pgs_url *u = url;
	char ep[NET_HOSTLEN + 16];

	if (u->ep[0].path[0])
		snprintf(buf, len, "postgres+unix://%s %s/%s", u->ep[0].path,
		    u->table, name);
	else
		snprintf(buf, len, "postgres://%s/%s %s/%s", net_name(&u->ep[0],
		    ep, sizeof(ep)), u->db, u->table, name);
}

/* ---- the connection -------------------------------------------------------- */

static int
loopback(const struct net_ep *ep)
{
	return ep->path[0] || !strcmp(ep->host, "127.0.0.1") ||
	    !strcmp(ep->host, "::1") || !strcmp(ep->host, "localhost");
}

/* Text after a server error that tells the user what to do about it. */
static const char *
hint(const char *state, const char *why)
{
	if (!strcmp(state, "28000") && strstr(why, "no encryption"))
		return " (a TLS-only server? reach it through a TLS tunnel such "
		    "as stunnel: leaderrun(1), TLS)";
	if (!strcmp(state, "28P01"))
		return " (check LEADERRUN_STORE_PASSWORD or --store-password-file, "
		    "and the URL's user)";
	if (!strcmp(state, "28000"))
		return " (pg_hba.conf has no line for this user, host and "
		    "database)";
	if (!strcmp(state, "3D000"))
		return " (create the database, or name another in the URL)";
	if (!strcmp(state, "42501"))
		return " (the role lacks a privilege on the tables: see "
		    "leaderrun(1), POSTGRESQL)";
	return "";
}

/* say: ERR as "postgres WHAT: why (hint)"; WHY names the server. */
static void
say(struct pgs *s, const char *what, const char *why, char *err)
{
	char copy[LEASE_ERRLEN];

	snprintf(copy, sizeof(copy), "%s", why);
	seterr(err, "postgres %s: %s%s", what, copy, hint(s->c.sqlstate, copy));
}

/* login: connect to the first endpoint, from the last good one on, that
 * takes us and is not a standby.  0, or -1 with ERR. */
static int
login(struct pgs *s, int64_t deadline, char *err)
{
	struct pg_login l;
	char why[LEASE_ERRLEN];
	int i, rc = -1;

	memset(&l, 0, sizeof(l));
	l.user = s->u.user[0] ? s->u.user : NULL;
	if (l.user == NULL) {
		const char *lu = getenv("USER");

		l.user = lu && *lu ? lu : "postgres";
	}
	l.database = s->u.db[0] ? s->u.db : NULL;
	l.password = s->has_pass ? s->pass : NULL;
	l.pwlen = s->has_pass ? strlen(s->pass) : 0;
	s->listening = 0;
	for (i = 0; i < s->u.nep; i++) {
		int k = (s->cur + i) % s->u.nep;

		/* A cleartext password only to a local terminator or socket. */
		l.allow = s->has_pass ? PG_AUTH_SCRAM | PG_AUTH_MD5 | PG_AUTH_TRUST |
		    (loopback(&s->u.ep[k]) ? PG_AUTH_CLEARTEXT : 0) : 0;
		s->cur = k;
		rc = pg_connect(&s->c, &s->u.ep[k], &l, deadline, why);
		if (rc == PG_OK && s->c.standby == 1) {
			pg_close(&s->c);
			snprintf(why, sizeof(why), "a read-only standby (in_hot_standby)");
			rc = PG_EFAIL;
		}
		if (rc == PG_OK)
			return 0;
		say(s, "connect", why, err);
		if (rc == PG_ESERVER && strcmp(s->c.sqlstate, "57P03") &&
		    strcmp(s->c.sqlstate, "53300"))
			return -1;	/* refused: the next server would too */
		if (now_ns() >= deadline)
			break;
	}
	return -1;
}

/*
 * gone: the server closed C while it was idle (a restart, an idle
 * timeout).  Seen before sending, so that the statement goes on a new
 * connection instead of failing with the old one.
 */
static int
gone(const struct pg_conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);

	return n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR);
}

/* exec: statement SQL with N PARAMS, rows to FN, within the call's budget;
 * connects first, creates the tables once when missing, and moves to
 * the next server when this one is a standby.  A PG_* code. */
static int
exec(struct pgs *s, const char *what, const char *sql, int n,
    const char *const *params, pg_row_fn fn, void *arg, char *err)
{
	int64_t deadline = now_ns() + s->io_ns;
	char why[LEASE_ERRLEN];
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		if (s->c.fd >= 0 && gone(&s->c))
			pg_close(&s->c);
		if (s->c.fd < 0 && login(s, deadline, err) == -1)
			return PG_EFAIL;
		rc = pg_exec(&s->c, NULL, sql, n, params, fn, arg, deadline, why);
		if (rc == PG_ESERVER && !strcmp(s->c.sqlstate, "42P01")) {
			rc = pg_query(&s->c, s->sql.create, NULL, NULL, deadline, why);
			/* Two creations at once collide on the table (42P07),
			 * its row type (42710) or the catalog's index (23505). */
			if (rc == PG_OK || !strcmp(s->c.sqlstate, "23505") ||
			    !strcmp(s->c.sqlstate, "42P07") ||
			    !strcmp(s->c.sqlstate, "42710"))
				continue;	/* made, by us or another */
		}
		if (rc == PG_ESERVER && !strcmp(s->c.sqlstate, "25006")) {
			/* Read-only: a standby now (a failover): the next one. */
			pg_close(&s->c);
			s->cur = (s->cur + 1) % s->u.nep;
			continue;
		}
		if (rc != PG_OK)
			say(s, what, why, err);
		return rc;
	}
	say(s, what, why, err);
	return rc;
}

/* ---- rows ---------------------------------------------------------------- */

/* What the acquire and status statements return about the row. */
struct row {
	int		 got;
	int		 won;
	uint64_t	 won_epoch;
	int		 exists;
	char		 token[TOKLEN];
	char		 holder[PGS_VALMAX];
	size_t		 hlen;
	uint64_t	 epoch;
	int64_t		 ttl_ms;
	int		 clean;
	int		 waiters;
	int		 ahead;		/* live waiters queued before us, -1 */
};

static int64_t
num(const struct pg_val *v)
{
	char b[24];

	if (v->s == NULL || v->len == 0 || v->len >= sizeof(b))
		return 0;
	memcpy(b, v->s, v->len);
	b[v->len] = '\0';
	return strtoll(b, NULL, 10);
}

static int
row_fn(void *arg, int n, const struct pg_val *v, char *err)
{
	struct row *r = arg;

	if (n < 7) {
		seterr(err, "a row of %d fields", n);
		return -1;
	}
	r->got = 1;
	r->won = v[0].s != NULL;
	r->won_epoch = (uint64_t)num(&v[0]);
	r->exists = v[3].s != NULL;
	if (v[1].s && v[1].len < sizeof(r->token)) {
		memcpy(r->token, v[1].s, v[1].len);
		r->token[v[1].len] = '\0';
	}
	r->hlen = v[2].s && v[2].len < sizeof(r->holder) ? v[2].len : 0;
	memcpy(r->holder, v[2].s ? v[2].s : "", r->hlen);
	r->epoch = (uint64_t)num(&v[3]);
	r->ttl_ms = v[4].s ? num(&v[4]) : -1;
	r->clean = v[5].s && v[5].len && v[5].s[0] == 't';
	r->waiters = (int)num(&v[6]);
	r->ahead = n > 7 ? (int)num(&v[7]) : -1;
	return 0;
}

/* describe: *H from row R (before any grant in the same statement). */
static void
describe(const struct row *r, const struct host_self *me,
    struct lease_holder *h)
{
	char sys[80];
	unsigned long long start;

	h->waiters = r->waiters;
	h->term = r->epoch;
	if (!r->exists)
		return;		/* LEASE_FREE */
	if (r->token[0] == '\0') {
		/* The last holder, for --status. */
		if (holder_parse(r->holder, r->hlen, h, sys, sizeof(sys),
		    &start) == -1)
			memset(h->id, 0, sizeof(h->id));
		h->state = r->clean ? LEASE_RELEASED : LEASE_FREE;
		return;
	}
	h->state = LEASE_HELD;
	h->ttl_ms = r->ttl_ms > 0 ? r->ttl_ms : 0;
	if (holder_parse(r->holder, r->hlen, h, sys, sizeof(sys), &start) == -1)
		sys[0] = '\0', start = 0;
	holder_judge(h, sys, start, me);
	h->state = LEASE_HELD;
}

static const char *
dead_ms(struct pgs *s, char *buf, size_t len)
{
	/* Waiters look every retry period: three missed looks mean gone. */
	int64_t ms = (3 * s->retry_ns + 2 * s->io_ns) / NS_PER_MS;

	snprintf(buf, len, "%lld", (long long)(ms < 1000 ? 1000 : ms));
	return buf;
}

/* ---- the calls of lease.h ------------------------------------------------ */

static void pgs_close(struct lease *);

static void
new_token(struct pgs *s)
{
	uint64_t x = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || read(fd, &x, sizeof(x)) != (ssize_t)sizeof(x))
		x = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)wall_ms();
	if (fd != -1)
		close(fd);
	snprintf(s->token, sizeof(s->token), "%ld_%016" PRIx64, s->me.pid, x);
}

static int
pgs_open(struct lease *l, const void *url, const struct lease_config *cfg,
    char *err)
{
	struct pgs *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		seterr(err, "%s", strerror(errno));
		return LEASE_ERR;
	}
	l->data = s;
	s->lease = l;
	s->c.fd = -1;
	s->u = *(const struct pgs_url *)url;
	if (cfg->password && *cfg->password) {
		if (strlen(cfg->password) > PGS_PASSMAX) {
			seterr(err, "the store password is longer than %d bytes",
			    PGS_PASSMAX);
			pgs_close(l);
			return LEASE_ERR;
		}
		strcpy(s->pass, cfg->password);
		s->has_pass = 1;
	}
	pgs_sql_make(&s->sql, s->u.table);
	snprintf(s->name, sizeof(s->name), "%s", cfg->name ? cfg->name : "");
	snprintf(s->id, sizeof(s->id), "%s", cfg->node_id ? cfg->node_id : "");
	host_self(&s->me);
	new_token(s);
	s->lease_ns = cfg->lease_ns;
	s->stop_ns = cfg->stop_ns > 0 ? cfg->stop_ns : cfg->lease_ns;
	s->retry_ns = cfg->retry_ns > 0 ? cfg->retry_ns : cfg->lease_ns / 5;
	s->io_ns = cfg->io_ns > 0 ? cfg->io_ns : 2 * NS_PER_S;
	s->cfg_job = cfg->job;
	s->job = -1;
	return LEASE_OK;
}

/* listen: LISTEN on our channel on this connection, once. */
static int
listen_(struct pgs *s, char *err)
{
	char chan[TOKLEN + 8], q[TOKLEN + 32], why[LEASE_ERRLEN];

	if (s->listening && s->c.fd >= 0)
		return 0;
	snprintf(chan, sizeof(chan), "lr_%s", s->token);
	snprintf(q, sizeof(q), "LISTEN ");
	if (pg_ident(chan, q + 7, sizeof(q) - 7) == 0) {
		seterr(err, "channel name too long");
		return -1;
	}
	if (s->c.fd < 0 && login(s, now_ns() + s->io_ns, err) == -1)
		return -1;
	if (pg_query(&s->c, q, NULL, NULL, now_ns() + s->io_ns, why) != PG_OK) {
		say(s, "LISTEN", why, err);
		return -1;
	}
	s->listening = 1;
	return 0;
}

static void
lead(struct pgs *s, struct lease_holder *h)
{
	s->leader = 1;
	s->local = 0;
	s->maybe = 0;
	s->job = s->cfg_job;
	s->seen_held = 0;
	s->vanished = 0;
	s->take[0] = s->reap[0] = '\0';
	h->state = LEASE_HELD;
	snprintf(h->id, sizeof(h->id), "%s", s->id);
	snprintf(h->host, sizeof(h->host), "%s", s->me.name);
	h->pid = s->me.pid;
	h->term = s->term;
	h->acquired_ms = h->renewed_ms = s->acquired_ms;
	h->lease_ms = s->lease_ns / NS_PER_MS;
	h->ttl_ms = h->lease_ms;
	h->local = h->alive = 1;
}

static int
pgs_acquire(struct lease *l, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	struct pgs *s = l->data;
	char ms[24], floor_[24], dead[24];
	const char *p[9];
	struct row r;
	int64_t now;
	int may_insert;

	*retry_ns = s->retry_ns;
	memset(h, 0, sizeof(*h));
	h->ttl_ms = -1;
	h->waiters = -1;
	if (s->leader) {
		seterr(err, "already leading");
		return LEASE_ERR;
	}
	now = now_ns();
	if (s->local && now - s->looked < s->retry_ns && (host_pid_alive(
	    s->lh.pid, s->lh_start) || host_group_alive(s->lh.job))) {
		/* Its processes live: nothing to look at yet. */
		*h = s->lh;
		if (*retry_ns > REAP_POLL_NS)
			*retry_ns = REAP_POLL_NS;
		return LEASE_BUSY;
	}
	s->local = 0;
	/* Listen first, then look: a release in between is not missed. */
	if (listen_(s, err) == -1)
		return LEASE_ERR;
	/* A row seen held and then missing was deleted by hand: its leader
	 * may run on until its renewals fail; wait that out, on our clock. */
	may_insert = !s->seen_held || (s->vanished && now - s->vanished >=
	    s->seen_stop_ns);
	s->acquired_ms = wall_ms();
	if (holder_format(s->value, sizeof(s->value), &s->me, s->id, s->cfg_job,
	    s->lease_ns / NS_PER_MS, s->stop_ns / NS_PER_MS,
	    s->acquired_ms) == 0) {
		seterr(err, "holder value too long");
		return LEASE_ERR;
	}
	snprintf(ms, sizeof(ms), "%lld", (long long)((s->lease_ns + NS_PER_MS -
	    1) / NS_PER_MS));
	snprintf(floor_, sizeof(floor_), "%" PRIu64, s->seen_epoch);
	p[0] = s->name, p[1] = s->token, p[2] = s->value, p[3] = ms;
	p[4] = floor_, p[5] = may_insert ? "t" : "f", p[6] = s->take;
	p[7] = s->reap, p[8] = dead_ms(s, dead, sizeof(dead));
	memset(&r, 0, sizeof(r));
	switch (exec(s, "acquire", s->sql.acquire, 9, p, row_fn, &r, err)) {
	case PG_OK:
		break;
	case PG_EFAIL:
		s->maybe = 1;	/* it may have run: the same token next time */
		return LEASE_ERR;
	default:
		return LEASE_ERR;
	}
	s->maybe = 0;
	if (!r.got) {
		seterr(err, "postgres: acquire returned no row");
		return LEASE_ERR;
	}
	if (r.epoch > s->seen_epoch)
		s->seen_epoch = r.epoch;
	if (r.won) {
		s->term = r.won_epoch;
		if (s->term > s->seen_epoch)
			s->seen_epoch = s->term;
		lead(s, h);
		return LEASE_OK;
	}
	describe(&r, &s->me, h);
	s->take[0] = s->reap[0] = '\0';
	if (s->c.nnotes > 0) {
		/* Woken while we looked: look again now. */
		s->c.nnotes = 0;
		*retry_ns = 0;
	}
	if (!r.exists) {
		if (s->seen_held && s->vanished == 0) {
			s->vanished = now;
			lease_warn(l, "postgres: the row of lease %s is gone "
			    "(deleted by hand?): waiting %lld ms, its leader's "
			    "renew-deadline + kill-after, before leading, as it "
			    "may still run", s->name,
			    (long long)(s->seen_stop_ns / NS_PER_MS));
		}
		if (s->vanished) {
			int64_t left = s->vanished + s->seen_stop_ns - now_ns();

			h->state = LEASE_HELD;	/* held by someone we cannot name */
			if (left < *retry_ns)
				*retry_ns = left > 0 ? left : 0;
		}
		return LEASE_BUSY;
	}
	s->vanished = 0;
	if (r.token[0] == '\0') {
		/* Free, but a waiter before us goes first. */
		return LEASE_BUSY;
	}
	if (strcmp(r.token, s->token) != 0) {
		s->seen_held = 1;
		s->seen_stop_ns = h->stop_ms > 0 ? h->stop_ms * NS_PER_MS :
		    h->lease_ms > 0 ? h->lease_ms * NS_PER_MS : s->lease_ns;
	}
	if (h->local && !h->alive) {
		/* Its supervisor and command are gone: reap it now. */
		snprintf(s->reap, sizeof(s->reap), "%s", r.token);
		*retry_ns = 0;
	} else if (!h->local) {
		/* Expiry by the server's clock: take it after its TTL. */
		snprintf(s->take, sizeof(s->take), "%s", r.token);
		if ((r.ttl_ms + 1) * NS_PER_MS < *retry_ns)
			*retry_ns = r.ttl_ms > 0 ? (r.ttl_ms + 1) * NS_PER_MS : 0;
	}
	/* A live holder on this host: never taken over, however late.  The
	 * first waiter watches its processes, as its last words may not
	 * come (a login that needs a challenge answered): in /proc, not in
	 * the row, which it reads again every retry period or once they
	 * are gone. */
	if (h->local && h->alive && r.ahead == 0) {
		char sys[80];

		s->local = 1;
		s->lh = *h;
		s->looked = now;
		s->lh_start = 0;
		(void)holder_parse(r.holder, r.hlen, &s->lh, sys, sizeof(sys),
		    &s->lh_start);
		if (*retry_ns > REAP_POLL_NS)
			*retry_ns = REAP_POLL_NS;
	}
	return LEASE_BUSY;
}

static int
pgs_renew(struct lease *l, long job, char *err)
{
	struct pgs *s = l->data;
	char ms[24];
	const char *p[4];

	if (!s->leader) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	if (holder_format(s->value, sizeof(s->value), &s->me, s->id, job,
	    s->lease_ns / NS_PER_MS, s->stop_ns / NS_PER_MS,
	    s->acquired_ms) == 0) {
		seterr(err, "holder value too long");
		return LEASE_ERR;
	}
	snprintf(ms, sizeof(ms), "%lld", (long long)((s->lease_ns + NS_PER_MS -
	    1) / NS_PER_MS));
	p[0] = s->name, p[1] = s->token, p[2] = s->value, p[3] = ms;
	if (exec(s, "renew", s->sql.renew, 4, p, NULL, NULL, err) != PG_OK)
		return LEASE_ERR;
	if (s->c.affected == 1) {
		s->job = job;
		return LEASE_OK;
	}
	seterr(err, "postgres: the row of lease %s in %s is gone or another's",
	    s->name, s->u.table);
	s->leader = 0;
	return LEASE_LOST;
}

static int
count_fn(void *arg, int n, const struct pg_val *v, char *err)
{
	(void)err;
	if (n >= 1)
		*(int64_t *)arg = num(&v[0]);
	return 0;
}

static int
pgs_release(struct lease *l, char *err)
{
	struct pgs *s = l->data;
	char dead[24];
	const char *p[3];
	int64_t n = -1;

	if (!s->leader) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	p[0] = s->name, p[1] = s->token, p[2] = dead_ms(s, dead, sizeof(dead));
	if (exec(s, "release", s->sql.release, 3, p, count_fn, &n, err) != PG_OK)
		return LEASE_ERR;
	s->leader = 0;
	new_token(s);	/* a fresh token and channel for a next round */
	s->listening = 0;
	if (n == 1)
		return LEASE_OK;
	seterr(err, "postgres: the row of lease %s was gone or another's",
	    s->name);
	return LEASE_LOST;
}

static void
pgs_withdraw(struct lease *l)
{
	struct pgs *s = l->data;
	char err[LEASE_ERRLEN];
	const char *p[2];

	if (s->leader)
		return;
	p[0] = s->name, p[1] = s->token;
	if (exec(s, "withdraw", s->sql.withdraw, 2, p, NULL, NULL, err) == PG_OK)
		s->maybe = 0;
	pg_close(&s->c);
}

static int
pgs_watch_fd(struct lease *l)
{
	struct pgs *s = l->data;

	return s->leader || !s->listening ? -1 : s->c.fd;
}

/* What came on the connection: 1 if we were woken, or it broke (look now,
 * and listen again); 0 otherwise. */
static int
pgs_watch_clear(struct lease *l)
{
	struct pgs *s = l->data;
	struct pg_note nt;
	char err[LEASE_ERRLEN];
	int rc, hit = 0;

	if (s->c.fd < 0)
		return 1;
	while ((rc = pg_wait_note(&s->c, &nt, now_ns(), err)) == 1)
		hit = 1;
	if (rc == PG_EFAIL)
		hit = 1;
	if (hit)
		s->local = 0;	/* look at the row, whoever lives */
	return hit;
}

/*
 * The watchdog's last words, prepared now: the release statement after a
 * login that needs no answer from the server (trust, or a cleartext
 * password to a local socket or terminator), all in one write, which
 * PostgreSQL reads message by message.  SCRAM and md5 answer a challenge
 * that a fresh connection would bring: no last words then, and the lease
 * ends with its TTL (or at once for a waiter on this host, which sees the
 * holder gone).
 */
static void
pgs_farewell(struct lease *l, struct lease_farewell *f)
{
	struct pgs *s = l->data;
	const struct net_ep *ep = &s->u.ep[s->cur];
	char dead[24];
	const char *p[3], *user = s->u.user;
	size_t n = 0, k;

	f->n = 0;
	/* The login of our own connection tells what this server asks. */
	if (s->c.method != PG_AUTH_TRUST && (s->c.method != PG_AUTH_CLEARTEXT ||
	    !loopback(ep)))
		return;
	if (!user[0]) {
		const char *lu = getenv("USER");

		user = lu && *lu ? lu : "postgres";
	}
	if ((k = pg_put_startup(f->req, sizeof(f->req), user, s->u.db[0] ?
	    s->u.db : NULL, "leaderrun")) == 0)
		goto toolong;
	n += k;
	if (s->c.method == PG_AUTH_CLEARTEXT) {
		if ((k = pg_put_password(f->req + n, sizeof(f->req) - n, s->pass,
		    strlen(s->pass))) == 0)
			goto toolong;
		n += k;
	}
	if ((k = pg_put_parse(f->req + n, sizeof(f->req) - n, "",
	    s->sql.release)) == 0)
		goto toolong;
	n += k;
	p[0] = s->name, p[1] = s->token, p[2] = dead_ms(s, dead, sizeof(dead));
	if ((k = pg_put_bind(f->req + n, sizeof(f->req) - n, "", 3, p)) == 0)
		goto toolong;
	n += k;
	f->len = n;
	store_farewell_to(f, ep);
	return;
toolong:
	wipe(f->req, sizeof(f->req));
	f->len = 0;
}

static void
pgs_close(struct lease *l)
{
	struct pgs *s = l->data;

	if (s == NULL)
		return;
	pg_close(&s->c);
	wipe(s->pass, sizeof(s->pass));
	free(s);
	l->data = NULL;
}

static int
pgs_status(const void *u, const struct lease_config *cfg,
    struct lease_holder *h, struct lease_holder *w, int maxw, int *nw,
    char *err)
{
	struct lease l;
	struct lease_config c = *cfg;
	struct pgs *s;
	struct row r;
	char dead[24];
	const char *p[2];
	int rc = LEASE_ERR;

	(void)w;
	(void)maxw;
	*nw = 0;
	c.node_id = "";
	if (c.lease_ns <= 0)
		c.lease_ns = NS_PER_S;
	memset(&l, 0, sizeof(l));
	if (pgs_open(&l, u, &c, err) != LEASE_OK)
		return LEASE_ERR;
	s = l.data;
	p[0] = s->name, p[1] = dead_ms(s, dead, sizeof(dead));
	memset(&r, 0, sizeof(r));
	if (exec(s, "status", s->sql.status, 2, p, row_fn, &r, err) != PG_OK)
		goto out;
	if (!r.got) {
		seterr(err, "postgres: status returned no row");
		goto out;
	}
	h->state = LEASE_FREE;
	describe(&r, &s->me, h);
	if (h->state == LEASE_HELD && r.ttl_ms <= 0)
		h->state = LEASE_FREE;	/* expired: anyone may take it */
	rc = LEASE_OK;
out:
	pgs_close(&l);
	return rc;
}

struct list_arg {
	void	(*fn)(void *, const char *, const char *, const char *);
	void	*arg;
};

static int
list_fn(void *arg, int n, const struct pg_val *v, char *err)
{
	struct list_arg *a = arg;
	char name[LEASE_IDLEN + 1];

	(void)err;
	if (n < 1 || v[0].s == NULL)
		return 0;
	if (v[0].len >= sizeof(name)) {
		a->fn(a->arg, NULL, "(a name too long)", "not a lease name");
		return 0;
	}
	memcpy(name, v[0].s, v[0].len);
	name[v[0].len] = '\0';
	if (lease_name_ok(name) && strlen(name) == v[0].len)
		a->fn(a->arg, name, NULL, NULL);
	else
		a->fn(a->arg, NULL, name, "not a lease name");
	return 0;
}

static int
pgs_list(const void *u, const struct lease_config *cfg,
    void (*fn)(void *, const char *, const char *, const char *), void *arg,
    char *err)
{
	struct lease l;
	struct lease_config c = *cfg;
	struct list_arg a = { fn, arg };
	int rc;

	c.node_id = "";
	c.name = "";
	if (c.lease_ns <= 0)
		c.lease_ns = NS_PER_S;
	memset(&l, 0, sizeof(l));
	if (pgs_open(&l, u, &c, err) != LEASE_OK)
		return LEASE_ERR;
	rc = exec(l.data, "list", ((struct pgs *)l.data)->sql.list, 0, NULL,
	    list_fn, &a, err);
	pgs_close(&l);
	return rc == PG_OK ? LEASE_OK : LEASE_ERR;
}

const struct lease_ops postgres_ops = {
	.scheme = "postgres",
	.prefixes = pgs_prefixes,
	.url_size = sizeof(struct pgs_url),
	.parse_url = pgs_parse_url,
	.where = pgs_where,
	.open = pgs_open,
	.acquire = pgs_acquire,
	.renew = pgs_renew,
	.release = pgs_release,
	.withdraw = pgs_withdraw,
	.watch_fd = pgs_watch_fd,
	.watch_clear = pgs_watch_clear,
	.farewell = pgs_farewell,
	.close = pgs_close,
	.status = pgs_status,
	.list = pgs_list,
};
