/*
 * store_redis.c - the Redis store behind lease.h (redis://[USER@]HOST:PORT
 * [/DB]).
 *
 * Spoken in RESP2 (resp.c) over net.c sockets, every request with a
 * deadline.  Two keys per lease, one hash tag, so that both live in one
 * Redis Cluster slot: PREFIX:{NAME}:lock and PREFIX:{NAME}:fence.
 *  - The lock key's value is a token line unique to this acquisition
 *    ("token=PID:RANDOM64") followed by the holder value of store.h, so
 *    that --status can name the holder and a contender on the same host can
 *    judge whether it is alive.
 *  - Acquire is one script: SET lock NX PX lease-duration, and if that
 *    worked INCR fence, whose new value is the fencing token (LEADERRUN_TERM);
 *    if not, the holder's value, its PTTL and the fence in the same round
 *    trip.
 *  - Renew and release are scripts that touch the lock only while its token
 *    line is ours: PEXPIRE, or DEL plus a PUBLISH on PREFIX:{NAME}:released.
 *    The token line, not the whole value, is compared: a renewal for
 *    another job rewrites the value to name it (SET ... PX, same token),
 *    and if its reply is lost the next renewal must still know the key as
 *    ours.  (The acquiring value names the held job already.)
 *  - Waiters SUBSCRIBE to that channel on a second connection before they
 *    look, so a release wakes them at once; they also look again every
 *    retry period, or when the holder's PTTL runs out, because a
 *    subscription to a stopped server hangs without a word.
 *  - A request that timed out may still run (Redis runs what it has read
 *    once it is resumed): an acquire whose answer never came is "maybe
 *    acquired", and the next attempt first deletes our token's key
 *    (compare-and-delete) and keeps the same token, so that at most one
 *    token of ours can be pending.
 *  - The fence counter lives only as long as Redis keeps its data: without
 *    AOF or RDB a restart resets it.  A contender that sees it below a term
 *    it saw before says so (lease_warn).
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

#include "wire/resp.h"
#include "store/store.h"

#define KEYMAX		(256 + LEASE_IDLEN + 16)
#define VALMAX		1024
#define PASSMAX		1024
#define REQMAX		(4 * VALMAX + 2 * PASSMAX + 2048)
#define BUFMAX		(RESP_BULKMAX + 4 * RESP_LINEMAX)

/*
 * The scripts.  KEYS[1] is the lock key (its name ends in "lock", so the
 * channel is derived from it: the farewell request must fit in 512 bytes).
 * A GET by pcall, so that a key of another type counts as another's.
 */
/* KEYS lock, fence; ARGV value, ms. {1, term} or {0, value, pttl, fence}. */
static const char ACQUIRE[] =
    "if redis.call('SET',KEYS[1],ARGV[1],'NX','PX',ARGV[2]) then "
    "return {1,redis.call('INCR',KEYS[2])} end "
    "local v=redis.pcall('GET',KEYS[1]) if type(v)~='string' then v='' end "
    "return {0,string.sub(v,1,4096),redis.call('PTTL',KEYS[1]),"
    "tonumber(redis.pcall('GET',KEYS[2])) or 0}";
/* KEYS lock; ARGV token line, ms[, new value].  1 renewed, 0 no key,
 * -1 another's. */
static const char RENEW[] =
    "local v=redis.pcall('GET',KEYS[1]) if not v then return 0 end "
    "if type(v)~='string' or string.sub(v,1,#ARGV[1])~=ARGV[1] then "
    "return -1 end "
    "if ARGV[3] then redis.call('SET',KEYS[1],ARGV[3],'PX',ARGV[2]) "
    "return 1 end return redis.call('PEXPIRE',KEYS[1],ARGV[2])";
/* KEYS lock; ARGV a prefix of the value.  1 deleted (and published), 0 no
 * key, -1 another's. */
static const char CAD[] =
    "local v=redis.pcall('GET',KEYS[1]) if not v then return 0 end "
    "if type(v)~='string' or string.sub(v,1,#ARGV[1])~=ARGV[1] then "
    "return -1 end redis.call('DEL',KEYS[1]) "
    "redis.pcall('PUBLISH',string.sub(KEYS[1],1,-5)..'released',KEYS[1]) "
    "return 1";
/* KEYS lock, fence.  {value or nil, pttl, fence}. */
static const char STATUS[] =
    "local v=redis.pcall('GET',KEYS[1]) if type(v)~='string' then v=false "
    "else v=string.sub(v,1,4096) end "
    "return {v,redis.call('PTTL',KEYS[1]),"
    "tonumber(redis.pcall('GET',KEYS[2])) or 0}";

/* One connection and what it has received. */
struct conn {
	int		 fd;		/* -1: not connected */
	size_t		 len;
	char		 buf[BUFMAX];
};

struct redis {
	struct lease	*lease;
	struct net_ep	 ep;
	char		 user[LEASE_IDLEN];
	char		 pass[PASSMAX + 1];
	int		 has_pass;
	int		 db;
	struct conn	 c;		/* requests */
	struct conn	 sc;		/* the subscription of a waiter */
	int		 nosub;		/* SUBSCRIBE refused: poll only */
	int		 answered;	/* the server replied once */

	char		 lock[KEYMAX], fence[KEYMAX], chan[KEYMAX];
	char		 id[LEASE_IDLEN];
	struct host_self me;
	int64_t		 lease_ns, retry_ns, io_ns;
	uint64_t	 rnd;		/* token generator state */

	/* this acquisition (or attempt) */
	char		 value[VALMAX];	/* token line + holder value */
	size_t		 vlen, tlen;	/* the value's length, its token line's */
	int		 maybe;		/* an attempt with VALUE got no answer */
	int		 leader;
	long		 job;		/* the job VALUE names, -1: not yet */
	long		 cfg_job;	/* the held command, named when acquiring */
	int64_t		 acquired_ms;
	uint64_t	 term;
	int		 pending;	/* we hold the lock, but may not use it */
	int64_t		 pending_until;	/* before this time */
	uint64_t	 seen;		/* the last fence value seen */
	int64_t		 seen_lease_ms;	/* the last holder's lease duration */
};

static const char *
where(const struct redis *r, char *buf, size_t len)
{
	return net_name(&r->ep, buf, len);
}

/* splitmix64: 64 well-mixed bits per call from a random seed. */
static uint64_t
next_random(struct redis *r)
{
	uint64_t z = (r->rnd += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void
seed(struct redis *r)
{
	uint64_t x = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || read(fd, &x, sizeof(x)) != (ssize_t)sizeof(x)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		    ((uint64_t)getpid() << 40) ^ (uint64_t)now_ns();
	}
	if (fd != -1)
		close(fd);
	r->rnd = x;
}

/* Text after an error reply that tells the user what to do about it. */
static const char *
hint(const char *text)
{
	if (!strncmp(text, "NOAUTH", 6))
		return " (set LEADERRUN_STORE_PASSWORD)";
	if (!strncmp(text, "WRONGPASS", 9))
		return " (check LEADERRUN_STORE_PASSWORD and the URL's user)";
	if (!strncmp(text, "NOPERM", 6))
		return " (the ACL user needs the keys and channels PREFIX:*, "
		    "see leaderrun(1))";
	return "";
}

/* ERR: what V, the reply to WHAT, says, or that it is not what we expect. */
static void
reply_error(const struct redis *r, const struct resp_val *v, const char *what,
    char *err)
{
	char text[160], ep[NET_HOSTLEN + 16];

	resp_text(v, text, sizeof(text));
	if (v->type == RESP_ERROR)
		seterr(err, "redis %s: %s: %s%s", where(r, ep, sizeof(ep)), what,
		    text, hint(text));
	else
		seterr(err, "redis %s: %s: unexpected reply '%s'", where(r, ep,
		    sizeof(ep)), what, text);
}

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/*
 * exchange: send REQ (LEN bytes, NREP pipelined commands) on C and read NREP
 * replies into REP before DEADLINE.  EXACT: bytes beyond the replies are an
 * error (a request connection out of step); otherwise they are dropped.
 * Replies point into C->buf, valid until the next exchange.  Returns 0, or
 * -1 with ERR and C closed: a half-read reply is never reused, and what was
 * sent may still run.
 */
static int
exchange(struct redis *r, struct conn *c, const char *req, size_t len,
    struct resp_reply *rep, int nrep, int exact, int64_t deadline, char *err)
{
	char perr[LEASE_ERRLEN], ep[NET_HOSTLEN + 16];
	size_t off = 0, used;
	ssize_t got;
	int k = 0, rc;

	c->len = 0;
	if (net_send(c->fd, &r->ep, req, len, deadline, err) == -1)
		goto fail;
	while (k < nrep) {
		rc = resp_parse(c->buf + off, c->len - off, &rep[k], &used, perr);
		if (rc == 1) {
			off += used;
			k++;
			continue;
		}
		if (rc == -1) {
			seterr(err, "redis %s: %s (not a Redis server?)", where(r,
			    ep, sizeof(ep)), perr);
			goto fail;
		}
		if (c->len == sizeof(c->buf)) {
			seterr(err, "redis %s: reply too long", where(r, ep,
			    sizeof(ep)));
			goto fail;
		}
		got = net_recv(c->fd, &r->ep, c->buf + c->len,
		    sizeof(c->buf) - c->len, deadline, err);
		if (got == -1)
			goto fail;
		if (got == 0) {
			seterr(err, "redis %s: connection closed by the server",
			    where(r, ep, sizeof(ep)));
			goto fail;
		}
		c->len += (size_t)got;
	}
	if (exact && off != c->len) {
		seterr(err, "redis %s: more bytes than replies", where(r, ep,
		    sizeof(ep)));
		goto fail;
	}
	r->answered = 1;
	return 0;
fail:
	/* A TLS-only port drops a plain request without a word. */
	if (!r->answered && k == 0 && (strstr(err, "closed by the server") ||
	    strstr(err, "reset by peer")))
		snprintf(err + strlen(err), LEASE_ERRLEN - strlen(err),
		    " (a TLS-only port? reach it through a TLS tunnel such as "
		    "stunnel: leaderrun(1), TLS)");
	conn_close(c);
	return -1;
}

/*
 * conn_open: connect C and log in: AUTH [USER] PASSWORD when there is a
 * password, SELECT DB when SELECT and DB > 0.  0, or -1 with ERR.
 */
static int
conn_open(struct redis *r, struct conn *c, int select, int64_t deadline,
    char *err)
{
	char req[2 * PASSMAX + 2 * LEASE_IDLEN + 64], db[16];
	struct resp_reply rep[2];
	const char *argv[3];
	size_t n = 0;
	int nrep = 0, rc, i;

	c->len = 0;
	if ((c->fd = net_connect(&r->ep, deadline, err)) == -1)
		return -1;
	if (r->has_pass) {
		argv[0] = "AUTH";
		argv[1] = r->user[0] ? r->user : r->pass;
		argv[2] = r->pass;
		n = resp_cmd(req, sizeof(req), r->user[0] ? 3 : 2, argv, NULL);
		nrep++;
	}
	if (select && r->db > 0) {
		snprintf(db, sizeof(db), "%d", r->db);
		argv[0] = "SELECT";
		argv[1] = db;
		n += resp_cmd(req + n, sizeof(req) - n, 2, argv, NULL);
		nrep++;
	}
	if (nrep == 0)
		return 0;
	rc = exchange(r, c, req, n, rep, nrep, 1, deadline, err);
	wipe(req, sizeof(req));
	if (rc == -1)
		return -1;
	for (i = 0; i < nrep; i++) {
		const struct resp_val *v = &rep[i].v[0];

		if (v->type == RESP_STATUS && v->len == 2 && !memcmp(v->s, "OK", 2))
			continue;
		if (r->has_pass && i == 0 && r->user[0]) {
			char what[LEASE_IDLEN + 16];

			snprintf(what, sizeof(what), "AUTH as %s", r->user);
			reply_error(r, v, what, err);
		} else if (r->has_pass && i == 0)
			reply_error(r, v, "AUTH", err);
		else
			reply_error(r, v, "SELECT", err);
		conn_close(c);
		return -1;
	}
	return 0;
}

/*
 * stale: the server closed C while it was idle (a restart, its idle
 * timeout), or sent what nobody asked for.  Seen before sending, so that
 * the request goes on a new connection and is not lost with the old one.
 */
static int
stale(const struct conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);

	return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR);
}

/* call: a request on the request connection, connecting first if need be,
 * within the call's time budget.  As exchange. */
static int
call(struct redis *r, const char *req, size_t len, struct resp_reply *rep,
    int nrep, char *err)
{
	int64_t deadline = now_ns() + r->io_ns;

	if (r->c.fd != -1 && stale(&r->c))
		conn_close(&r->c);
	if (r->c.fd == -1 && conn_open(r, &r->c, 1, deadline, err) == -1)
		return -1;
	return exchange(r, &r->c, req, len, rep, nrep, 1, deadline, err);
}

/* eval: append EVAL SCRIPT with the keys and arguments to BUF at *N.
 * -1 if it does not fit. */
static int
eval(char *buf, size_t cap, size_t *n, const char *script, int nkeys,
    int argc, const char *const *args, const size_t *lens)
{
	const char *argv[8];
	size_t l[8], k;
	char nk[4];
	int i;

	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVAL", l[0] = 4;
	argv[1] = script, l[1] = strlen(script);
	argv[2] = nk, l[2] = strlen(nk);
	for (i = 0; i < argc && i < 5; i++) {
		argv[3 + i] = args[i];
		l[3 + i] = lens ? lens[i] : strlen(args[i]);
	}
	if ((k = resp_cmd(buf + *n, cap - *n, 3 + i, argv, l)) == 0)
		return -1;
	*n += k;
	return 0;
}

/* An integer reply, or -1 with ERR. */
static int
int_reply(const struct redis *r, const struct resp_reply *rep, const char *what,
    int64_t *x, char *err)
{
	if (rep->v[0].type != RESP_INT) {
		reply_error(r, &rep->v[0], what, err);
		return -1;
	}
	*x = rep->v[0].num;
	return 0;
}

/* ---- values -------------------------------------------------------------- */

/* make_value: VALUE for our token and JOB; a new token unless KEEP. */
static int
make_value(struct redis *r, long job, int keep, char *err)
{
	size_t n;

	if (!keep) {
		int k = snprintf(r->value, sizeof(r->value), "token=%ld:%016" PRIx64
		    "\n", r->me.pid, next_random(r));

		r->tlen = k > 0 ? (size_t)k : 0;
	}
	n = holder_format(r->value + r->tlen, sizeof(r->value) - r->tlen,
	    &r->me, r->id, job, r->lease_ns / NS_PER_MS, r->acquired_ms);
	if (r->tlen == 0 || n == 0) {
		seterr(err, "holder value too long");
		return -1;
	}
	r->vlen = r->tlen + n;
	return 0;
}

/*
 * saw_fence: note a fence value.  A counter below one seen before means
 * Redis lost its data: warn, adding WHAT we do about it, and return 1.
 */
static int
saw_fence(struct redis *r, uint64_t fence, const char *what)
{
	char ep[NET_HOSTLEN + 16];
	int back = fence < r->seen;

	if (back)
		lease_warn(r->lease, "redis %s: the fencing counter %s went back "
		    "from %" PRIu64 " to %" PRIu64 ": Redis lost its data "
		    "(restarted without AOF or RDB?); terms are not fencing "
		    "tokens across that%s", where(r, ep, sizeof(ep)), r->fence,
		    r->seen, fence, what);
	r->seen = fence;	/* after a warning, from the new count on */
	return back;
}

/* lead: we hold the lock with term R->term: *H says so. */
static void
lead(struct redis *r, struct lease_holder *h)
{
	conn_close(&r->sc);	/* a leader needs no wake-ups */
	r->leader = 1;
	r->pending = 0;
	r->job = r->cfg_job;	/* the acquired value names the held command */
	h->state = LEASE_HELD;
	snprintf(h->id, sizeof(h->id), "%s", r->id);
	snprintf(h->host, sizeof(h->host), "%s", r->me.name);
	h->pid = r->me.pid;
	h->term = r->term;
	h->acquired_ms = h->renewed_ms = r->acquired_ms;
	h->lease_ms = r->lease_ns / NS_PER_MS;
	h->ttl_ms = h->lease_ms;
	h->local = h->alive = 1;
}

/*
 * touch: reset our lock's TTL if it still holds our token, rewriting the
 * value to name JOB if REWRITE.  1 done, 0 no key, -1 another's value,
 * -2 with ERR (no answer).
 */
static int
touch(struct redis *r, int rewrite, long job, char *err)
{
	char req[REQMAX], ms[24], val[VALMAX];
	struct resp_reply rep;
	const char *args[3];
	size_t n = 0, lens[3], vlen = r->vlen;
	int64_t x;

	snprintf(ms, sizeof(ms), "%lld", (long long)((r->lease_ns + NS_PER_MS -
	    1) / NS_PER_MS));
	args[0] = r->value, lens[0] = r->tlen;
	args[1] = ms, lens[1] = strlen(ms);
	args[2] = NULL, lens[2] = 0;
	if (rewrite) {
		memcpy(val, r->value, r->vlen);
		if (make_value(r, job, 1, err) == -1)
			return -2;
		args[2] = r->value, lens[2] = r->vlen;
	}
	{
		const char *a[4] = { r->lock, args[0], args[1], args[2] };
		size_t al[4] = { strlen(r->lock), lens[0], lens[1], lens[2] };

		if (eval(req, sizeof(req), &n, RENEW, 1, rewrite ? 4 : 3, a,
		    al) == -1) {
			seterr(err, "redis request too long");
			x = -2;
		} else if (call(r, req, n, &rep, 1, err) == -1 ||
		    int_reply(r, &rep, "renew", &x, err) == -1)
			x = -2;
	}
	if (x != 1 && rewrite) {
		/* not (known to be) written: keep the old value */
		memcpy(r->value, val, vlen);
		r->vlen = vlen;
	}
	return x < -1 ? -2 : (int)x;
}

/* The lock taken while waiting out a leader from before: ours, not yet
 * usable.  *H says so, and when to look again. */
static int
hold_back(struct redis *r, struct lease_holder *h, int64_t *retry_ns)
{
	int64_t left = r->pending_until - now_ns();

	h->state = LEASE_HELD;
	snprintf(h->id, sizeof(h->id), "%s", r->id);
	snprintf(h->host, sizeof(h->host), "%s", r->me.name);
	h->pid = r->me.pid;
	h->term = r->term;
	h->local = h->alive = 1;
	if (left < *retry_ns)
		*retry_ns = left > 0 ? left : 0;
	return LEASE_BUSY;
}

/* ---- the subscription of a waiter ------------------------------------------ */

/*
 * subscribe: SUBSCRIBE to our channel on the second connection.  An ACL
 * that refuses the channel (NOPERM) is not fatal: we then poll, and say so
 * once.
 * 0, or -1 with ERR when Redis cannot be reached.
 */
static int
subscribe(struct redis *r, char *err)
{
	int64_t deadline = now_ns() + r->io_ns;
	const char *argv[2] = { "SUBSCRIBE", r->chan };
	const struct resp_val *v;
	struct resp_reply rep;
	char req[KEYMAX + 64];
	size_t n;

	if (conn_open(r, &r->sc, 0, deadline, err) == -1)
		return -1;
	n = resp_cmd(req, sizeof(req), 2, argv, NULL);
	/* Messages may follow the confirmation: they came before our look,
	 * which sees what they announce, so they are dropped. */
	if (exchange(r, &r->sc, req, n, &rep, 1, 0, deadline, err) == -1)
		return -1;
	r->sc.len = 0;
	if (rep.v[0].type == RESP_ERROR && rep.v[0].len > 6 &&
	    !memcmp(rep.v[0].s, "NOPERM", 6)) {
		char text[160], ep[NET_HOSTLEN + 16];

		r->nosub = 1;
		conn_close(&r->sc);
		resp_text(&rep.v[0], text, sizeof(text));
		lease_warn(r->lease, "redis %s: SUBSCRIBE %s refused: %s; waiters "
		    "look again every retry period instead", where(r, ep,
		    sizeof(ep)), r->chan, text);
		return 0;
	}
	if ((v = resp_elem(&rep, 0, 0)) == NULL || v->type != RESP_BULK ||
	    v->len != 9 || memcmp(v->s, "subscribe", 9)) {
		reply_error(r, &rep.v[0], "SUBSCRIBE", err);
		conn_close(&r->sc);
		return -1;
	}
	return 0;
}

/* ---- the calls of lease.h ------------------------------------------------ */

static void redis_close(struct lease *);

static int
redis_open(struct lease *l, const struct store_url *u,
    const struct lease_config *cfg, char *err)
{
	struct redis *r = calloc(1, sizeof(*r));
	/* From --store-password-file or LEADERRUN_STORE_PASSWORD, which
	 * leaderrun takes out of the environment before any store opens. */
	const char *pass = cfg->password;

	if (r == NULL) {
		seterr(err, "%s", strerror(errno));
		return LEASE_ERR;
	}
	l->data = r;
	r->lease = l;
	r->c.fd = r->sc.fd = -1;
	r->ep = u->ep[0];
	snprintf(r->user, sizeof(r->user), "%s", u->user);
	r->db = u->db;
	if (pass && *pass) {
		if (strlen(pass) > PASSMAX) {
			seterr(err, "the store password is longer than %d bytes",
			    PASSMAX);
			redis_close(l);
			return LEASE_ERR;
		}
		strcpy(r->pass, pass);
		r->has_pass = 1;
	} else if (r->user[0]) {
		seterr(err, "redis://%s@...: a user needs a password: set "
		    "LEADERRUN_STORE_PASSWORD or use --store-password-file",
		    r->user);
		redis_close(l);
		return LEASE_ERR;
	}
	snprintf(r->id, sizeof(r->id), "%s", cfg->node_id);
	host_self(&r->me);
	seed(r);
	r->lease_ns = cfg->lease_ns;
	r->retry_ns = cfg->retry_ns;
	r->io_ns = cfg->io_ns > 0 ? cfg->io_ns : 2 * NS_PER_S;
	r->job = -1;
	r->cfg_job = cfg->job;
	snprintf(r->lock, sizeof(r->lock), "%s:{%s}:lock", u->prefix, cfg->name);
	snprintf(r->fence, sizeof(r->fence), "%s:{%s}:fence", u->prefix,
	    cfg->name);
	snprintf(r->chan, sizeof(r->chan), "%s:{%s}:released", u->prefix,
	    cfg->name);
	return LEASE_OK;
}

/* A holder on this host whose processes are all gone: delete its key, if it
 * still holds exactly the value we read.  1 if deleted. */
static int
reap_dead(struct redis *r, const struct lease_holder *h, const char *val,
    size_t len)
{
	const char *args[1] = { val };
	struct resp_reply rep;
	char req[REQMAX], err[LEASE_ERRLEN];
	const char *keys[2];
	size_t n = 0, lens[2];
	int64_t x;

	if (!h->local || h->alive || len == 0)
		return 0;
	keys[0] = r->lock, lens[0] = strlen(r->lock);
	keys[1] = args[0], lens[1] = len;
	if (eval(req, sizeof(req), &n, CAD, 1, 2, keys, lens) == -1 ||
	    call(r, req, n, &rep, 1, err) == -1 ||
	    int_reply(r, &rep, "delete a dead holder's key", &x, err) == -1)
		return 0;
	return x == 1;
}

static int
redis_acquire(struct lease *l, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	struct redis *r = l->data;
	struct resp_reply rep[2];
	const struct resp_val *flag, *v;
	char req[REQMAX], ms[24], sys[80];
	const char *args[3];
	size_t n = 0, lens[3];
	unsigned long long start;
	int nrep = 0;
	int64_t x;

	*retry_ns = r->retry_ns;
	memset(h, 0, sizeof(*h));
	h->ttl_ms = -1;
	h->waiters = -1;
	if (r->leader) {
		seterr(err, "already leading");
		return LEASE_ERR;
	}
	if (r->pending) {
		int rc = touch(r, 0, 0, err);

		if (rc == -2)
			return LEASE_ERR;
		if (rc == 1 && now_ns() >= r->pending_until) {
			lead(r, h);
			return LEASE_OK;
		}
		if (rc == 1)
			return hold_back(r, h, retry_ns);
		r->pending = 0;	/* lost it meanwhile: start over */
	}
	/* Listen first, then look: a release in between is not missed. */
	if (r->sc.fd == -1 && !r->nosub && subscribe(r, err) == -1)
		return LEASE_ERR;
	args[0] = r->lock, lens[0] = strlen(r->lock);
	if (r->maybe) {
		/* The last attempt may have set our key, or may yet: delete it
		 * first, and try again with the same token. */
		args[1] = r->value, lens[1] = r->tlen;
		if (eval(req, sizeof(req), &n, CAD, 1, 2, args, lens) == -1)
			goto toolong;
		nrep++;
	}
	r->acquired_ms = wall_ms();
	if (make_value(r, r->cfg_job, r->maybe, err) == -1)
		return LEASE_ERR;
	snprintf(ms, sizeof(ms), "%lld", (long long)((r->lease_ns + NS_PER_MS -
	    1) / NS_PER_MS));
	args[1] = r->fence, lens[1] = strlen(r->fence);
	args[2] = r->value, lens[2] = r->vlen;
	{
		const char *a[4] = { args[0], args[1], args[2], ms };
		size_t al[4] = { lens[0], lens[1], lens[2], strlen(ms) };

		if (eval(req, sizeof(req), &n, ACQUIRE, 2, 4, a, al) == -1)
			goto toolong;
	}
	nrep++;
	if (call(r, req, n, rep, nrep, err) == -1) {
		r->maybe = 1;	/* it may have run, or may yet */
		return LEASE_ERR;
	}
	if (nrep == 2 && int_reply(r, &rep[0], "delete our key", &x, err) == -1)
		return LEASE_ERR;
	/* An error from the script: it may have stopped after the SET. */
	if ((flag = resp_elem(&rep[nrep - 1], 0, 0)) == NULL ||
	    flag->type != RESP_INT || (v = resp_elem(&rep[nrep - 1], 0, 1)) == NULL) {
		r->maybe = 1;
		reply_error(r, &rep[nrep - 1].v[0], "acquire", err);
		return LEASE_ERR;
	}
	r->maybe = 0;
	if (flag->num == 1) {
		if (v->type != RESP_INT || v->num <= 0) {
			r->maybe = 1;
			reply_error(r, v, "acquire: the fence", err);
			return LEASE_ERR;
		}
		r->term = (uint64_t)v->num;
		if (saw_fence(r, r->term, "; waiting one lease duration before "
		    "leading, as a leader from before may still run")) {
			/* Its lock went with the data, but it learns that only
			 * at its next renewal, and then stops its command: keep
			 * the lock, unused, until that is surely done. */
			int64_t wait = r->lease_ns > r->seen_lease_ms * NS_PER_MS ?
			    r->lease_ns : r->seen_lease_ms * NS_PER_MS;

			conn_close(&r->sc);
			r->pending = 1;
			r->pending_until = now_ns() + wait;
			return hold_back(r, h, retry_ns);
		}
		lead(r, h);
		return LEASE_OK;
	}
	/* Held: {0, value, pttl, fence}. */
	{
		const struct resp_val *pttl = resp_elem(&rep[nrep - 1], 0, 2);
		const struct resp_val *fence = resp_elem(&rep[nrep - 1], 0, 3);

		if (v->type != RESP_BULK || pttl == NULL || pttl->type != RESP_INT ||
		    fence == NULL || fence->type != RESP_INT) {
			reply_error(r, &rep[nrep - 1].v[0], "acquire", err);
			return LEASE_ERR;
		}
		if (holder_parse(v->s, v->len, h, sys, sizeof(sys), &start) == -1)
			sys[0] = '\0', start = 0;
		h->state = LEASE_HELD;
		h->term = fence->num > 0 ? (uint64_t)fence->num : 0;
		h->ttl_ms = pttl->num >= 0 ? pttl->num : -1;
		h->waiters = -1;
		(void)saw_fence(r, h->term, "");
		if (h->lease_ms > 0)
			r->seen_lease_ms = h->lease_ms;
		holder_judge(h, sys, start, &r->me);
		if (reap_dead(r, h, v->s, v->len)) {
			*retry_ns = 0;
			return LEASE_BUSY;
		}
		/* Look again when its time runs out, if that comes first. */
		if (pttl->num >= 0 && (pttl->num + 1) * NS_PER_MS < *retry_ns)
			*retry_ns = (pttl->num + 1) * NS_PER_MS;
	}
	return LEASE_BUSY;
toolong:
	seterr(err, "redis request too long");
	return LEASE_ERR;
}

static int
redis_renew(struct lease *l, long job, char *err)
{
	struct redis *r = l->data;
	int rc;

	if (!r->leader) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	/* A renewal for another job names it in our value, same token. */
	if ((rc = touch(r, job != r->job, job, err)) == 1) {
		r->job = job;
		return LEASE_OK;
	}
	if (rc == -2)
		return LEASE_ERR;
	if (rc == 0)
		seterr(err, "redis key %s is gone (deleted, expired, or Redis "
		    "lost its data)", r->lock);
	else
		seterr(err, "redis key %s now holds another value", r->lock);
	r->leader = 0;
	return LEASE_LOST;
}

/* cad: delete our key if it still holds our token.  1, 0 (no key), -1
 * (another's), -2 with ERR. */
static int
cad(struct redis *r, char *err)
{
	const char *args[2] = { r->lock, r->value };
	size_t lens[2] = { strlen(r->lock), r->tlen }, n = 0;
	struct resp_reply rep;
	char req[REQMAX];
	int64_t x;

	if (eval(req, sizeof(req), &n, CAD, 1, 2, args, lens) == -1) {
		seterr(err, "redis request too long");
		return -2;
	}
	if (call(r, req, n, &rep, 1, err) == -1 ||
	    int_reply(r, &rep, "release", &x, err) == -1)
		return -2;
	return (int)x;
}

static int
redis_release(struct lease *l, char *err)
{
	struct redis *r = l->data;
	int rc;

	if (!r->leader) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	if ((rc = cad(r, err)) == -2)
		return LEASE_ERR;
	r->leader = 0;
	if (rc == 1)
		return LEASE_OK;
	seterr(err, rc == 0 ? "redis key %s was gone" :
	    "redis key %s held another value", r->lock);
	return LEASE_LOST;
}

static void
redis_withdraw(struct lease *l)
{
	struct redis *r = l->data;
	char err[LEASE_ERRLEN];

	if (r->leader)
		return;
	conn_close(&r->sc);
	/* An attempt that got no answer may have left our key behind, or we
	 * hold one we were waiting to use. */
	if ((r->maybe || r->pending) && cad(r, err) != -2)
		r->maybe = r->pending = 0;
}

static int
redis_watch_fd(struct lease *l)
{
	struct redis *r = l->data;

	return r->leader || r->pending ? -1 : r->sc.fd;
}

/* Read what the subscription sent: 1 if a release was announced, or the
 * subscription broke (look now, and subscribe again); 0 otherwise. */
static int
redis_watch_clear(struct lease *l)
{
	struct redis *r = l->data;
	struct conn *c = &r->sc;
	char perr[LEASE_ERRLEN];
	struct resp_reply rep;
	size_t off = 0, used, cl = strlen(r->chan);
	ssize_t got;
	int hit = 0, rc;

	if (c->fd == -1)
		return 1;
	/* The descriptor is readable: this does not wait. */
	got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (got == 0 || (got == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) || c->len == sizeof(c->buf)) {
		conn_close(c);
		return 1;
	}
	if (got > 0)
		c->len += (size_t)got;
	while ((rc = resp_parse(c->buf + off, c->len - off, &rep, &used,
	    perr)) == 1) {
		const struct resp_val *kind = resp_elem(&rep, 0, 0);
		const struct resp_val *chan = resp_elem(&rep, 0, 1);

		off += used;
		if (kind && kind->type == RESP_BULK && kind->len == 7 &&
		    !memcmp(kind->s, "message", 7) && chan &&
		    chan->type == RESP_BULK && chan->len == cl &&
		    !memcmp(chan->s, r->chan, cl))
			hit = 1;
	}
	if (rc == -1) {
		conn_close(c);
		return 1;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return hit;
}

/*
 * The watchdog's last words: log in, and delete our key if it still holds
 * our token (which the first renewal keeps), announcing the release.  The
 * farewell is prepared right after the acquire, before the job is named.
 */
static void
redis_farewell(struct lease *l, struct lease_farewell *f)
{
	struct redis *r = l->data;
	struct sockaddr_storage ss[LEASE_FAREWELL_ADDRS];
	socklen_t lens[LEASE_FAREWELL_ADDRS];
	char err[LEASE_ERRLEN], db[16];
	const char *argv[3];
	size_t n = 0, k;
	int i, got;

	f->n = 0;
	if (r->has_pass) {
		argv[0] = "AUTH";
		argv[1] = r->user[0] ? r->user : r->pass;
		argv[2] = r->pass;
		if ((k = resp_cmd(f->req, sizeof(f->req), r->user[0] ? 3 : 2,
		    argv, NULL)) == 0)
			goto toolong;
		n += k;
	}
	if (r->db > 0) {
		snprintf(db, sizeof(db), "%d", r->db);
		argv[0] = "SELECT";
		argv[1] = db;
		if ((k = resp_cmd(f->req + n, sizeof(f->req) - n, 2, argv,
		    NULL)) == 0)
			goto toolong;
		n += k;
	}
	{
		const char *args[2] = { r->lock, r->value };
		size_t al[2] = { strlen(r->lock), r->tlen };

		if (eval(f->req, sizeof(f->req), &n, CAD, 1, 2, args, al) == -1)
			goto toolong;
	}
	/* Pipelined: Redis runs all of it before it answers the first. */
	f->len = n;
	got = net_resolve(&r->ep, ss, lens, LEASE_FAREWELL_ADDRS, err);
	for (i = 0; i < got; i++) {
		f->addr[i] = ss[i];
		f->addrlen[i] = lens[i];
	}
	f->n = got > 0 ? got : 0;
	return;
toolong:
	/* No last words: the lease then ends with its TTL. */
	wipe(f->req, sizeof(f->req));
	f->len = 0;
}

static void
redis_close(struct lease *l)
{
	struct redis *r = l->data;

	if (r == NULL)
		return;
	conn_close(&r->c);
	conn_close(&r->sc);
	wipe(r->pass, sizeof(r->pass));
	free(r);
	l->data = NULL;
}

/* Who holds the lease, for how much longer, and how many wait (the
 * subscribers of its channel, whatever their database). */
static int
redis_status(const struct store_url *u, const struct lease_config *cfg,
    struct lease_holder *h, struct lease_holder *w, int maxw, int *nw,
    char *err)
{
	struct lease l;
	struct lease_config c = *cfg;
	struct resp_reply rep[2];
	const struct resp_val *v, *pttl, *fence, *subs;
	const char *args[2], *argv[3];
	char req[REQMAX], sys[80];
	struct redis *r;
	unsigned long long start;
	size_t n = 0, k;
	int rc = LEASE_ERR;

	(void)w;
	(void)maxw;
	*nw = 0;
	c.node_id = "";
	if (c.lease_ns <= 0)
		c.lease_ns = NS_PER_S;
	memset(&l, 0, sizeof(l));
	if (redis_open(&l, u, &c, err) != LEASE_OK)
		return LEASE_ERR;
	r = l.data;
	args[0] = r->lock;
	args[1] = r->fence;
	argv[0] = "PUBSUB";
	argv[1] = "NUMSUB";
	argv[2] = r->chan;
	if (eval(req, sizeof(req), &n, STATUS, 2, 2, args, NULL) == -1 ||
	    (k = resp_cmd(req + n, sizeof(req) - n, 3, argv, NULL)) == 0) {
		seterr(err, "redis request too long");
		goto out;
	}
	n += k;
	if (call(r, req, n, rep, 2, err) == -1)
		goto out;
	v = resp_elem(&rep[0], 0, 0);
	pttl = resp_elem(&rep[0], 0, 1);
	fence = resp_elem(&rep[0], 0, 2);
	if (v == NULL || pttl == NULL || pttl->type != RESP_INT || fence == NULL ||
	    fence->type != RESP_INT) {
		reply_error(r, &rep[0].v[0], "status", err);
		goto out;
	}
	rc = LEASE_OK;
	/* PUBLISH's subscribers, or unknown (an ACL may refuse PUBSUB). */
	if ((subs = resp_elem(&rep[1], 0, 1)) != NULL && subs->type == RESP_INT)
		h->waiters = (int)(subs->num > 1000000 ? 1000000 : subs->num);
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

const struct lease_ops redis_ops = {
	.scheme = "redis",
	.open = redis_open,
	.acquire = redis_acquire,
	.renew = redis_renew,
	.release = redis_release,
	.withdraw = redis_withdraw,
	.watch_fd = redis_watch_fd,
	.watch_clear = redis_watch_clear,
	.farewell = redis_farewell,
	.close = redis_close,
	.status = redis_status,
};
