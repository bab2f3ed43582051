/*
 * redis.c - the Redis store behind lease.h (redis://[USER@]HOST:PORT
 * [/DB], redis+unix://[USER@]/PATH[?db=N]): its URLs, and a contender's
 * calls; --status and --list are in redis_read.c, the scripts in
 * redis_lua.c.
 *
 * Spoken in RESP2 through redis_conn.c, every request with a
 * deadline; every change to the keys is one Lua script (redis_lua.h lists
 * the keys, one hash tag per lease, so all live in one Cluster slot).
 *  - The lock key's value is a token line unique to this contender
 *    ("token=PID:RANDOM64") followed by the holder value of store.h, so
 *    that --status can name the holder and a contender on the same host can
 *    judge whether it is alive.
 *  - Acquire is one script: it takes the lock (SET PX lease-duration, INCR
 *    fence: the fencing token, LEADERRUN_TERM) when it is free and we are
 *    the first live waiter, or nobody waits; else it gives us a place in
 *    the queue (a ticket from INCR) and returns the holder, its PTTL, the
 *    fence and the waiter right ahead of us, all in one round trip.
 *  - A waiter SUBSCRIBEs to its own channel on a second connection before
 *    its first attempt, and keeps its key alive (PX a lease) with an
 *    attempt about every lease-duration - io-timeout - lease/10: a
 *    waiter dead on another host leaves the queue when its key runs out.
 *    It looks sooner when the lock's PTTL, or the key of the waiter first
 *    in line right ahead of it, runs out first: a subscription to a
 *    stopped server hangs without a word, and a dead first waiter is
 *    never woken.  A waiter ahead on this host whose processes are all
 *    gone is removed at once, and the watchdog of a waiter whose
 *    supervisor was killed removes its place (lease_place_farewell).
 *  - Renew and release are scripts that touch the lock only while its token
 *    line is ours: PEXPIRE, or a clean end (below) that wakes the first
 *    live waiter only: a handover costs the same few commands however many
 *    wait.  The token line, not the whole value, is compared: a renewal for
 *    another job rewrites the value to name it (SET ... PX, same token),
 *    and if its reply is lost the next renewal must still know the key as
 *    ours.  (The acquiring value names the held job already.)
 *  - The held key names whoever may still run a command under this lease:
 *    set with the lock, with the same PX, and only a clean end deletes it
 *    (a release, the watchdog's farewell, a same-host reaper, each after
 *    the command is gone), saying so in the ended key.  Nobody takes the
 *    lock while the held key names another: a lock deleted by hand (DEL,
 *    SET over it) is waited out until its holder stops, or until its time
 *    would have run out.  When both go (FLUSHDB, a restart without
 *    persistence), a waiter that saw the lock while it could not yet have
 *    expired puts the held key back for the holder's renew-deadline +
 *    kill-after.  The server's clock judges, as it judges the lock's own
 *    expiry.
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
#include "store/redis_conn.h"
#include "store/redis.h"
#include "store/redis_lua.h"
#include "store/store.h"

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
		snprintf(r->tok, sizeof(r->tok), "%.*s", (int)(r->tlen > 7 ?
		    r->tlen - 7 : 0), r->value + 6);
		snprintf(r->wkey, sizeof(r->wkey), "%sw:%s", r->base, r->tok);
		snprintf(r->chan, sizeof(r->chan), "%swake:%s", r->base, r->tok);
	}
	n = holder_format(r->value + r->tlen, sizeof(r->value) - r->tlen,
	    &r->me, r->id, job, r->lease_ns / NS_PER_MS, r->stop_ns / NS_PER_MS,
	    r->acquired_ms, r->slots);
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
		    "tokens across that%s", redis_where(&r->srv, ep, sizeof(ep)), r->fence,
		    r->seen, fence, what);
	r->seen = fence;	/* after a warning, from the new count on */
	return back;
}

/* lead: we hold the lock with term R->term: *H says so. */
static void
lead(struct redis *r, struct lease_holder *h)
{
	/* A leader needs no wake-ups, but the subscription is closed at the
	 * first renewal: not between the hand-over and the command's start. */
	r->leader = 1;
	r->unended = 0;
	r->pending = 0;
	r->queued = r->woken = 0;	/* the script took our place */
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
		const char *a[5] = { r->lock, r->held, args[0], args[1], args[2] };
		size_t al[5] = { strlen(r->lock), strlen(r->held), lens[0], lens[1],
		    lens[2] };

		if (redis_eval(req, sizeof(req), &n, redis_lua_renew, 2, rewrite ? 5 : 4, a,
		    al) == -1) {
			seterr(err, "redis request too long");
			x = -2;
		} else if (redis_call(&r->srv, &r->c, req, n, &rep, 1, err) == -1 ||
		    redis_int_reply(&r->srv, &rep, "renew", &x, err) == -1)
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
	h->slots = r->slots;	/* ours: never a --slots mismatch */
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
	int64_t deadline = now_ns() + r->srv.io_ns;
	const char *argv[2] = { "SUBSCRIBE", r->chan };
	const struct resp_val *v;
	struct resp_reply rep;
	char req[KEYMAX + 64];
	size_t n;

	if (redis_conn_open(&r->srv, &r->sc, 0, deadline, err) == -1)
		return -1;
	n = resp_cmd(req, sizeof(req), 2, argv, NULL);
	/* Messages may follow the confirmation: they came before our look,
	 * which sees what they announce, so they are dropped. */
	if (redis_exchange(&r->srv, &r->sc, req, n, &rep, 1, 0, deadline, err) == -1)
		return -1;
	r->sc.len = 0;
	snprintf(r->subbed, sizeof(r->subbed), "%s", r->chan);
	if (rep.v[0].type == RESP_ERROR && rep.v[0].len > 6 &&
	    !memcmp(rep.v[0].s, "NOPERM", 6)) {
		char text[160], ep[NET_HOSTLEN + 16];

		r->nosub = 1;
		redis_conn_close(&r->sc);
		resp_text(&rep.v[0], text, sizeof(text));
		lease_warn(r->lease, "redis %s: SUBSCRIBE %s refused: %s; waiters "
		    "look again every retry period instead", redis_where(&r->srv, ep,
		    sizeof(ep)), r->chan, text);
		return 0;
	}
	if ((v = resp_elem(&rep, 0, 0)) == NULL || v->type != RESP_BULK ||
	    v->len != 9 || memcmp(v->s, "subscribe", 9)) {
		redis_reply_error(&r->srv, &rep.v[0], "SUBSCRIBE", err);
		redis_conn_close(&r->sc);
		return -1;
	}
	return 0;
}

/* ---- the URLs ------------------------------------------------------------ */

/* A database number, at most five digits: DB[0..N-1].  0, or -1. */
static int
parse_db(const char *db, size_t n, int *out)
{
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++)
		if (db[i] < '0' || db[i] > '9')
			return -1;
	*out = (int)strtol(db, NULL, 10);
	return 0;
}

/*
 * redis_parse_url: "redis://[USER@]HOST:PORT[/DB]", or
 * "redis+unix://[USER@]/PATH[?db=N]": Redis on its unix socket (redis.conf's
 * unixsocket), where file permissions say who may connect.  The password
 * comes from LEADERRUN_STORE_PASSWORD or --store-password-file, never the
 * URL (lease.c has refused one).
 */
static int
redis_parse_url(const char *url, void *out, char *err)
{
	struct redis_url *u = out;
	int unix_socket = !strncmp(url, "redis+unix://", 13);
	const char *p = url + (unix_socket ? 13 : 8), *end, *at = NULL, *why;
	size_t n;

	if (unix_socket) {
		if ((end = strchr(p, '/')) == NULL) {
			seterr(err, "store '%.64s': no socket path after "
			    "redis+unix:// (redis+unix:///run/redis/redis.sock)",
			    url);
			return -1;
		}
		if (end > p) {		/* USER@ before the path */
			if (end[-1] != '@') {
				seterr(err, "store '%.64s': expected "
				    "redis+unix://[USER@]/PATH", url);
				return -1;
			}
			at = end - 1;
		}
	} else {
		end = store_url_authority(p);
		for (const char *q = p; q < end; q++)
			if (*q == '@')
				at = q;
	}
	if (at != NULL) {
		if (store_url_user(url, p, at, u->user, sizeof(u->user), err) == -1)
			return -1;
		p = at + 1;
	}
	if (unix_socket) {
		n = strcspn(p, "?");
		if (n >= sizeof(u->ep.path)) {
			seterr(err, "store '%.64s': socket path longer than %zu "
			    "bytes", url, sizeof(u->ep.path) - 1);
			return -1;
		}
		memcpy(u->ep.path, p, n);
		if (p[n] == '?' && (strncmp(p + n + 1, "db=", 3) != 0 ||
		    parse_db(p + n + 4, strlen(p + n + 4), &u->db) == -1)) {
			seterr(err, "store '%.64s': after '?' only db=N (0-99999)",
			    url);
			return -1;
		}
		return 0;
	}
	if (end == p) {
		seterr(err, "store '%.64s': no HOST:PORT after redis://", url);
		return -1;
	}
	if ((why = net_parse_hostport(p, (size_t)(end - p), &u->ep)) != NULL) {
		seterr(err, "store '%.64s': endpoint '%.*s': %s", url,
		    (int)(end - p > 64 ? 64 : end - p), p, why);
		return -1;
	}
	if (*end == '/' && end[1] != '\0' &&
	    parse_db(end + 1, strlen(end + 1), &u->db) == -1) {
		seterr(err, "store '%.64s': the database after '/' must be a "
		    "number (0-99999)", url);
		return -1;
	}
	return 0;
}

static void
redis_where_lease(const void *url, const char *name, char *buf, size_t len)
{
	const struct redis_url *u = url;
	char ep[NET_HOSTLEN + 16];

	if (u->ep.path[0])
		snprintf(buf, len, "redis+unix://%s?db=%d %s:{%s}:lock",
		    u->ep.path, u->db, PREFIX, name);
	else
		snprintf(buf, len, "redis://%s/%d %s:{%s}:lock",
		    net_name(&u->ep, ep, sizeof(ep)), u->db, PREFIX, name);
}

/* ---- the calls of lease.h ------------------------------------------------ */



int
redis_open(struct lease *l, const void *url,
    const struct lease_config *cfg, char *err)
{
	const struct redis_url *u = url;
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
	r->srv.ep = u->ep;
	snprintf(r->srv.user, sizeof(r->srv.user), "%s", u->user);
	r->srv.db = u->db;
	if (pass && *pass) {
		if (strlen(pass) > REDIS_PASSMAX) {
			seterr(err, "the store password is longer than %d bytes",
			    REDIS_PASSMAX);
			redis_close(l);
			return LEASE_ERR;
		}
		strcpy(r->srv.pass, pass);
		r->srv.has_pass = 1;
	} else if (r->srv.user[0]) {
		seterr(err, "redis://%s@...: a user needs a password: set "
		    "LEADERRUN_STORE_PASSWORD or use --store-password-file",
		    r->srv.user);
		redis_close(l);
		return LEASE_ERR;
	}
	snprintf(r->id, sizeof(r->id), "%s", cfg->node_id);
	host_self(&r->me);
	seed(r);
	r->lease_ns = cfg->lease_ns;
	r->slots = cfg->slots;
	r->stop_ns = cfg->stop_ns > 0 ? cfg->stop_ns : cfg->lease_ns;
	r->retry_ns = cfg->retry_ns;
	r->once = cfg->once;
	r->srv.io_ns = cfg->io_ns > 0 ? cfg->io_ns : 2 * NS_PER_S;
	r->job = -1;
	r->cfg_job = cfg->job;
	/* A refresh reaches Redis before the key runs out, even when it
	 * takes the whole call budget (at most a quarter of a lease by
	 * default, half at most). */
	r->place_ns = r->lease_ns - r->srv.io_ns - r->lease_ns / 10;
	if (r->place_ns < r->retry_ns)
		r->place_ns = r->retry_ns;
	snprintf(r->base, sizeof(r->base), "%s:{%s}:", PREFIX, cfg->name);
	snprintf(r->lock, sizeof(r->lock), "%slock", r->base);
	snprintf(r->fence, sizeof(r->fence), "%sfence", r->base);
	snprintf(r->held, sizeof(r->held), "%sheld", r->base);
	snprintf(r->ended, sizeof(r->ended), "%sended", r->base);
	snprintf(r->queue, sizeof(r->queue), "%squeue", r->base);
	snprintf(r->ticket, sizeof(r->ticket), "%sticket", r->base);
	return LEASE_OK;
}

/* cad_eval: append the clean end of the holder whose value starts with
 * PFX (LEN bytes) to BUF at *N.  -1 if it does not fit. */
static int
cad_eval(const struct redis *r, char *buf, size_t cap, size_t *n,
    const char *pfx, size_t len)
{
	char ms[24];
	const char *a[7] = { r->lock, r->held, r->ended, r->queue, r->fence,
	    pfx, ms };
	size_t al[7] = { strlen(r->lock), strlen(r->held), strlen(r->ended),
	    strlen(r->queue), strlen(r->fence), len, 0 };

	/* The ended key outlives any lock it could vouch for. */
	snprintf(ms, sizeof(ms), "%lld", (long long)((r->lease_ns + NS_PER_MS -
	    1) / NS_PER_MS));
	al[6] = strlen(ms);
	return redis_eval(buf, cap, n, redis_lua_end, 5, 7, a, al);
}

/* A holder on this host whose processes are all gone: its clean end, if
 * its key still holds exactly the value we read.  1 if it was ended. */
static int
reap_dead(struct redis *r, const struct lease_holder *h, const char *val,
    size_t len)
{
	struct resp_reply rep;
	char req[REQMAX], err[LEASE_ERRLEN];
	size_t n = 0;
	int64_t x;

	if (!h->local || h->alive || len == 0)
		return 0;
	if (cad_eval(r, req, sizeof(req), &n, val, len) == -1 ||
	    redis_call(&r->srv, &r->c, req, n, &rep, 1, err) == -1 ||
	    redis_int_reply(&r->srv, &rep, "delete a dead holder's key", &x, err) == -1)
		return 0;
	return 1;
}

/* vanished: say once that the lock went while its holder H may still
 * run (WHY as ACQUIRE returns it), and that we wait for it. */
static void
vanished(struct redis *r, const struct lease_holder *h, int64_t why)
{
	char d[32];

	if (r->warned)
		return;
	r->warned = 1;
	snprintf(d, sizeof(d), "%lld ms", (long long)(h->ttl_ms > 0 ? h->ttl_ms : 0));
	if (why == 1)
		lease_warn(r->lease, "redis: %s was deleted (by hand?) while "
		    "%s on %s held it: waiting until it has stopped its command "
		    "(at most %s)", r->lock, h->id[0] ? h->id : "its holder",
		    h->host[0] ? h->host : "?", d);
	else
		lease_warn(r->lease, "redis: %s went without a clean end (FLUSHDB, "
		    "or a restart without persistence?) while %s on %s held "
		    "it: waiting %s, its renew-deadline + kill-after, before "
		    "anyone leads", r->lock, h->id[0] ? h->id : "its holder",
		    h->host[0] ? h->host : "?", d);
}

/* redis_script: see redis.h. */
int
redis_script(struct redis *r, const char *lua, int nkeys, int argc,
    const char *const *a, const size_t *al, struct resp_reply *rep, char *err)
{
	char req[REQMAX];
	size_t n = 0;

	if (redis_eval(req, sizeof(req), &n, lua, nkeys, argc, a, al) == -1) {
		seterr(err, "redis request too long");
		return -1;
	}
	return redis_call(&r->srv, &r->c, req, n, rep, 1, err);
}

/* leave_eval: append the LEAVE of the waiter TOK (its key KEY; only while
 * that holds VAL, LEN bytes, if LEN > 0) to BUF at *N.  -1 if it does not
 * fit. */
static int
leave_eval(const struct redis *r, char *buf, size_t cap, size_t *n,
    const char *tok, const char *key, const char *val, size_t len)
{
	char ms[24];
	const char *a[8] = { r->lock, r->queue, key, r->held, r->ended, tok, ms,
	    val };
	size_t al[8] = { strlen(r->lock), strlen(r->queue), strlen(key),
	    strlen(r->held), strlen(r->ended), strlen(tok), 0, len };

	snprintf(ms, sizeof(ms), "%lld", (long long)((r->lease_ns + NS_PER_MS -
	    1) / NS_PER_MS));
	al[6] = strlen(ms);
	return redis_eval(buf, cap, n, redis_lua_leave, 5, len > 0 ? 8 : 7, a, al);
}

/* leave: give up the place of TOK (ours, or a dead waiter's whose key
 * still holds VAL).  0, or -1 with ERR. */
static int
leave(struct redis *r, const char *tok, const char *val, size_t len, char *err)
{
	struct resp_reply rep;
	char req[REQMAX], key[KEYMAX];
	size_t n = 0;
	int64_t x;

	snprintf(key, sizeof(key), "%sw:%s", r->base, tok);
	if (leave_eval(r, req, sizeof(req), &n, tok, key, val, len) == -1) {
		seterr(err, "redis request too long");
		return -1;
	}
	if (redis_call(&r->srv, &r->c, req, n, &rep, 1, err) == -1 ||
	    redis_int_reply(&r->srv, &rep, "leave the queue", &x, err) == -1)
		return -1;
	return 0;
}

/* dead_ahead: the waiter right ahead of us (token A, value AV) runs on
 * this host and all of its processes are gone: remove its place now
 * rather than when its key runs out.  1 if it was removed. */
static int
dead_ahead(struct redis *r, const struct resp_val *a, const struct resp_val *av)
{
	struct lease_holder w;
	char sys[80], tok[TOKMAX], err[LEASE_ERRLEN];
	unsigned long long start;

	r->ahead_local = 0;
	if (a->type != RESP_BULK || av->type != RESP_BULK || a->len == 0 ||
	    a->len >= sizeof(tok) || av->len == 0)
		return 0;
	memset(&w, 0, sizeof(w));
	if (holder_parse(av->s, av->len, &w, sys, sizeof(sys), &start) == -1)
		return 0;
	holder_judge(&w, sys, start, &r->me);
	if (w.local && w.alive) {
		r->ahead_local = 1;
		r->ahead = w;
		memcpy(r->ahead_sys, sys, sizeof(sys));
		r->ahead_start = start;
	}
	if (!w.local || w.alive)
		return 0;
	memcpy(tok, a->s, a->len);
	tok[a->len] = '\0';
	return leave(r, tok, av->s, av->len, err) == 0;
}

/* ahead_died: the waiter right ahead of us, on this host, is gone (a look
 * removes it). */
static int
ahead_died(struct redis *r)
{
	if (!r->ahead_local)
		return 0;
	holder_judge(&r->ahead, r->ahead_sys, r->ahead_start, &r->me);
	return !r->ahead.alive;
}

/*
 * waiting: the lock is not ours, and we have a place: *H from ACQUIRE's
 * {0, value, pttl, fence, why, expiry, rank, waiters, the token ahead, its
 * value, its pttl} in REP, and when to look again.
 */
static int
waiting(struct redis *r, const struct resp_reply *rep, struct lease_holder *h,
    int64_t *retry_ns, char *err)
{
	const struct resp_val *f[11];
	char sys[80];
	unsigned long long start;
	int64_t next = r->place_ns;
	int i, back;

	for (i = 0; i < 11; i++)
		if ((f[i] = resp_elem(rep, 0, i)) == NULL ||
		    f[i]->type != (i == 1 || i == 8 || i == 9 ? RESP_BULK : RESP_INT)) {
			redis_reply_error(&r->srv, &rep->v[0], "acquire", err);
			return LEASE_ERR;
		}
	r->queued = f[6]->num >= 0;
	if (holder_parse(f[1]->s, f[1]->len, h, sys, sizeof(sys), &start) == -1)
		sys[0] = '\0', start = 0;
	/* why 3: free, and the first waiter takes it */
	h->state = f[4]->num == 3 ? LEASE_FREE : LEASE_HELD;
	h->term = f[3]->num > 0 ? (uint64_t)f[3]->num : 0;
	h->ttl_ms = f[2]->num >= 0 ? f[2]->num : -1;
	h->waiters = (int)(f[7]->num > 1000000 ? 1000000 : f[7]->num);
	h->ahead = f[6]->num >= 0 && f[6]->num < 1000000 ? (int)f[6]->num : -1;
	back = saw_fence(r, h->term, "");
	if (r->queued) {
		r->queued_at = r->asked;
		r->wait_fence = back ? UINT64_MAX : h->term;
	}
	if (h->lease_ms > 0)
		r->seen_lease_ms = h->lease_ms;
	holder_judge(h, sys, start, &r->me);
	if (f[4]->num == 0 && f[5]->num >= 0 && f[1]->len > 0 &&
	    f[1]->len <= sizeof(r->seen_val)) {
		memcpy(r->seen_val, f[1]->s, f[1]->len);
		r->seen_len = f[1]->len;
		r->seen_term = h->term;
		r->seen_stop_ms = h->stop_ms > 0 ? h->stop_ms : h->lease_ms > 0 ?
		    h->lease_ms : r->lease_ns / NS_PER_MS;
		r->seen_expiry = f[5]->num;
		r->warned = 0;
	} else {
		/* Nothing to vouch for, or the held key guards it now, on
		 * the server's clock, or it ended cleanly (why 3). */
		r->seen_len = 0;
		if (f[4]->num == 1 || f[4]->num == 2)
			vanished(r, h, f[4]->num);
	}
	/* A dead holder or waiter ahead on this host: remove it, and look
	 * again at once. */
	if ((h->state == LEASE_HELD && reap_dead(r, h, f[1]->s, f[1]->len)) ||
	    dead_ahead(r, f[8], f[9]))
		next = 0;
	/* Look again when the holder's time runs out, or the key of the
	 * first waiter right ahead of us (nobody wakes us past a dead one),
	 * whichever comes first; every retry period without a channel. */
	if (f[2]->num >= 0 && (f[2]->num + 1) * NS_PER_MS < next)
		next = (f[2]->num + 1) * NS_PER_MS;
	if (f[6]->num == 1 && f[10]->num >= 0 && (f[10]->num + 1) * NS_PER_MS < next)
		next = (f[10]->num + 1) * NS_PER_MS;
	/* The first in line looks every retry period, as a leader renews:
	 * it sees a lock deleted by hand in time to keep its holder's place
	 * (ACQUIRE), and a stopped server.  Without a channel, all do. */
	if ((f[6]->num == 0 || r->sc.fd == -1) && r->retry_ns < next)
		next = r->retry_ns;
	r->shown = *h;
	r->next_look = now_ns() + next;
	*retry_ns = next;
	if (r->ahead_local && r->retry_ns < *retry_ns)
		*retry_ns = r->retry_ns;
	return LEASE_BUSY;
}

/* took: the lock is ours with TERM: lead, unless the fence went back. */
static int
took(struct redis *r, uint64_t term, struct lease_holder *h, int64_t *retry_ns)
{
	r->term = term;
	r->seen_len = 0;
	r->warned = 0;
	r->queued = 0;
	r->handed = 0;
	if (saw_fence(r, r->term, "; waiting one lease duration before "
	    "leading, as a leader from before may still run")) {
		/* Its lock went with the data, but it learns that only at its
		 * next renewal, and then stops its command: keep the lock,
		 * unused, until that is surely done. */
		int64_t wait = r->lease_ns > r->seen_lease_ms * NS_PER_MS ?
		    r->lease_ns : r->seen_lease_ms * NS_PER_MS;

		redis_conn_close(&r->sc);
		r->pending = 1;
		r->pending_until = now_ns() + wait;
		return hold_back(r, h, retry_ns);
	}
	lead(r, h);
	return LEASE_OK;
}

static int
redis_acquire(struct lease *l, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	struct redis *r = l->data;
	struct resp_reply rep[2];
	const struct resp_val *flag, *v;
	char req[REQMAX], ms[24];
	size_t n = 0;
	int nrep = 0;
	int64_t x;

	*retry_ns = r->retry_ns;
	memset(h, 0, sizeof(*h));
	h->ttl_ms = -1;
	h->waiters = h->ahead = -1;
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
	/*
	 * A clean end handed us the lock (redis_lua_end): it was set when that
	 * script ran, after our last attempt that left us waiting, whose send
	 * time therefore bounds its start; the first renewal follows at once.
	 * That attempt ran before the hand-over if it saw a fence below the
	 * handed term (one after it would have seen that term or a later one,
	 * or our token on the lock, which makes us lead by it); if the fence
	 * it saw went back (Redis lost its data), we cannot tell.  Then, or
	 * past half the renew deadline (io_ns) since it was sent, ask
	 * instead: the script finds our token on the lock if it is still
	 * ours, and its TTL starts anew.
	 */
	if (r->handed != 0 && r->queued && r->handed > r->wait_fence &&
	    now_ns() - r->queued_at < r->srv.io_ns) {
		int rc = took(r, r->handed, h, retry_ns);

		r->acquired_ms = wall_ms();
		h->acquired_ms = h->renewed_ms = r->acquired_ms;
		l->renewed_from = r->queued_at;
		l->renew_now = rc == LEASE_OK;
		return rc;
	}
	r->handed = 0;
	/* Between two looks, the wake-up of our channel is what we wait
	 * for: a waiter with nothing due asks nothing. */
	if (r->queued && !r->woken && r->sc.fd != -1 && now_ns() < r->next_look &&
	    !ahead_died(r)) {
		*h = r->shown;
		*retry_ns = r->next_look - now_ns();
		if (r->ahead_local && r->retry_ns < *retry_ns)
			*retry_ns = r->retry_ns;
		return LEASE_BUSY;
	}
	r->woken = 0;
	r->acquired_ms = wall_ms();
	/* One token while we keep a place: it names our key and channel. */
	if (make_value(r, r->cfg_job, r->maybe || r->queued, err) == -1)
		return LEASE_ERR;
	if (r->sc.fd != -1 && strcmp(r->subbed, r->chan) != 0)
		redis_conn_close(&r->sc);
	/* Listen first, then look: a wake-up in between is not missed. */
	if (r->sc.fd == -1 && !r->nosub && !r->once && subscribe(r, err) == -1)
		return LEASE_ERR;
	if (r->maybe) {
		/* The last attempt may have set our key, or may yet: delete it
		 * first, and try again with the same token. */
		if (cad_eval(r, req, sizeof(req), &n, r->value, r->tlen) == -1)
			goto toolong;
		nrep++;
	}
	snprintf(ms, sizeof(ms), "%lld", (long long)((r->lease_ns + NS_PER_MS -
	    1) / NS_PER_MS));
	{
		char term[24], stop[24], until[24];
		const char *a[14] = { r->lock, r->fence, r->held, r->ended,
		    r->queue, r->ticket, r->wkey, r->value, ms, r->value, r->tok,
		    r->once ? "0" : ms, r->seen_val, term };
		size_t al[14] = { strlen(r->lock), strlen(r->fence),
		    strlen(r->held), strlen(r->ended), strlen(r->queue),
		    strlen(r->ticket), strlen(r->wkey), r->vlen, strlen(ms),
		    r->tlen, strlen(r->tok), r->once ? 1 : strlen(ms), r->seen_len,
		    0 };
		const char *b[16];
		size_t bl[16];

		/* The seen holder's term, stop and expiry follow its value. */
		snprintf(term, sizeof(term), "%" PRIu64, r->seen_term);
		snprintf(stop, sizeof(stop), "%lld", (long long)r->seen_stop_ms);
		snprintf(until, sizeof(until), "%lld", (long long)r->seen_expiry);
		al[13] = strlen(term);
		memcpy(b, a, sizeof(a));
		memcpy(bl, al, sizeof(al));
		b[14] = stop, bl[14] = strlen(stop);
		b[15] = until, bl[15] = strlen(until);
		if (redis_eval(req, sizeof(req), &n, redis_lua_acquire, 7,
		    r->seen_len > 0 ? 16 : 12, b, bl) == -1)
			goto toolong;
	}
	nrep++;
	r->asked = now_ns();
	if (redis_call(&r->srv, &r->c, req, n, rep, nrep, err) == -1) {
		r->maybe = 1;	/* it may have run, or may yet */
		return LEASE_ERR;
	}
	if (nrep == 2 && redis_int_reply(&r->srv, &rep[0], "delete our key", &x, err) == -1)
		return LEASE_ERR;
	/* An error from the script: it may have stopped after the SET. */
	if ((flag = resp_elem(&rep[nrep - 1], 0, 0)) == NULL ||
	    flag->type != RESP_INT || (v = resp_elem(&rep[nrep - 1], 0, 1)) == NULL) {
		r->maybe = 1;
		redis_reply_error(&r->srv, &rep[nrep - 1].v[0], "acquire", err);
		return LEASE_ERR;
	}
	r->maybe = 0;
	if (flag->num == 1) {
		if (v->type != RESP_INT || v->num <= 0) {
			r->maybe = 1;
			redis_reply_error(&r->srv, v, "acquire: the fence", err);
			return LEASE_ERR;
		}
		return took(r, (uint64_t)v->num, h, retry_ns);
	}
	return waiting(r, &rep[nrep - 1], h, retry_ns, err);
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
	redis_conn_close(&r->sc);	/* see lead() */
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
	r->unended = 1;	/* the held key still names us: the release ends it */
	return LEASE_LOST;
}

/* cad: delete our key if it still holds our token.  1, 0 (no key), -1
 * (another's), -2 with ERR. */
static int
cad(struct redis *r, char *err)
{
	struct resp_reply rep[2];
	char req[REQMAX];
	size_t n = 0;
	int64_t x;

	/*
	 * An empty script first, in the same packet: Redis then has a reply
	 * for us queued before the end's PUBLISH queues the waiter's message,
	 * and it writes the connection queued last first.  So the next leader
	 * is told before we are, not after (up to ~0.4 ms on a loaded host).
	 */
	if (redis_eval(req, sizeof(req), &n, "", 0, 0, NULL, NULL) == -1 ||
	    cad_eval(r, req, sizeof(req), &n, r->value, r->tlen) == -1) {
		seterr(err, "redis request too long");
		return -2;
	}
	if (redis_call(&r->srv, &r->c, req, n, rep, 2, err) == -1 ||
	    redis_int_reply(&r->srv, &rep[1], "release", &x, err) == -1)
		return -2;
	return (int)x;
}

static int
redis_release(struct lease *l, char *err)
{
	struct redis *r = l->data;
	int rc;

	if (!r->leader) {
		/* Lost, and the command is gone now: end the held key that
		 * still names us, so that the next leader need not wait. */
		if (r->unended && cad(r, err) != -2)
			r->unended = 0;
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	rc = cad(r, err);
	redis_conn_close(&r->sc);	/* left open if no renewal came */
	if (rc == -2)
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
	redis_conn_close(&r->sc);
	/* An attempt that got no answer may have left our key behind, or we
	 * hold one we were waiting to use. */
	if ((r->maybe || r->pending) && cad(r, err) != -2)
		r->maybe = r->pending = 0;
	/* Our place, so that the next in line need not wait for its key to
	 * run out (an attempt without an answer may have made one, too). */
	if ((r->queued || r->maybe) && r->tok[0] && leave(r, r->tok, NULL, 0,
	    err) == 0)
		r->queued = 0;
}

static int
redis_watch_fd(struct lease *l)
{
	struct redis *r = l->data;

	return r->leader || r->pending ? -1 : r->sc.fd;
}

/* parse_term: the decimal term in S (LEN bytes), 0 if it is none. */
static uint64_t
parse_term(const char *s, size_t len)
{
	uint64_t t = 0;
	size_t i;

	if (len == 0 || len > 19)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		t = t * 10 + (uint64_t)(s[i] - '0');
	}
	return t;
}

/* Read what the subscription sent: 1 if a release was announced, or the
 * subscription broke (look now, and subscribe again); 0 otherwise. */
static int
redis_watch_clear(struct lease *l)
{
	struct redis *r = l->data;
	struct redis_conn *c = &r->sc;
	char perr[LEASE_ERRLEN];
	struct resp_reply rep;
	size_t off = 0, used, cl = strlen(r->subbed);
	ssize_t got;
	int hit = 0, rc;

	if (c->fd == -1)
		return 1;
	/* The descriptor is readable: this does not wait. */
	got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (got == 0 || (got == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) || c->len == sizeof(c->buf)) {
		redis_conn_close(c);
		return 1;
	}
	if (got > 0)
		c->len += (size_t)got;
	while ((rc = resp_parse(c->buf + off, c->len - off, &rep, &used,
	    perr)) == 1) {
		const struct resp_val *kind = resp_elem(&rep, 0, 0);
		const struct resp_val *chan = resp_elem(&rep, 0, 1);
		const struct resp_val *term = resp_elem(&rep, 0, 2);

		off += used;
		if (kind && kind->type == RESP_BULK && kind->len == 7 &&
		    !memcmp(kind->s, "message", 7) && chan &&
		    chan->type == RESP_BULK && chan->len == cl &&
		    !memcmp(chan->s, r->subbed, cl)) {
			uint64_t t = term && term->type == RESP_BULK ?
			    parse_term(term->s, term->len) : 0;

			hit = r->woken = 1;
			if (t != 0)	/* a lock handed to us, not a wake-up */
				r->handed = t;
		}
	}
	if (rc == -1) {
		redis_conn_close(c);
		return 1;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return hit;
}

/*
 * last_words: F, for the watchdog: log in, then the clean end of our lock
 * if it still holds our token (which the first renewal keeps), or, for a
 * waiter (PLACE), the LEAVE of our place.  Pipelined: Redis runs all of it
 * before it answers the first.
 */
static void
last_words(struct redis *r, struct lease_farewell *f, int place)
{
	char db[16];
	const char *argv[3];
	size_t n = 0, k;

	f->n = 0;
	if (r->srv.has_pass) {
		argv[0] = "AUTH";
		argv[1] = r->srv.user[0] ? r->srv.user : r->srv.pass;
		argv[2] = r->srv.pass;
		if ((k = resp_cmd(f->req, sizeof(f->req), r->srv.user[0] ? 3 : 2,
		    argv, NULL)) == 0)
			goto toolong;
		n += k;
	}
	if (r->srv.db > 0) {
		snprintf(db, sizeof(db), "%d", r->srv.db);
		argv[0] = "SELECT";
		argv[1] = db;
		if ((k = resp_cmd(f->req + n, sizeof(f->req) - n, 2, argv,
		    NULL)) == 0)
			goto toolong;
		n += k;
	}
	if (place ? leave_eval(r, f->req, sizeof(f->req), &n, r->tok, r->wkey,
	    NULL, 0) == -1 : cad_eval(r, f->req, sizeof(f->req), &n, r->value,
	    r->tlen) == -1)
		goto toolong;
	f->len = n;
	store_farewell_to(f, &r->srv.ep);
	return;
toolong:
	/* No last words: the lease, or the place, ends with its TTL. */
	wipe(f->req, sizeof(f->req));
	f->len = 0;
}

/* The leader's: prepared right after the acquire, before the job is
 * named. */
static void
redis_farewell(struct lease *l, struct lease_farewell *f)
{
	last_words(l->data, f, 0);
}

/* A waiter's: leave the queue. */
static void
redis_place_farewell(struct lease *l, struct lease_farewell *f)
{
	struct redis *r = l->data;

	if (r->leader || !r->queued)
		f->n = 0;
	else
		last_words(r, f, 1);
}

void
redis_close(struct lease *l)
{
	struct redis *r = l->data;

	if (r == NULL)
		return;
	redis_conn_close(&r->c);
	redis_conn_close(&r->sc);
	wipe(r->srv.pass, sizeof(r->srv.pass));
	free(r);
	l->data = NULL;
}

static const char *const redis_prefixes[] = { "redis://", "redis+unix://",
    NULL };

const struct lease_ops redis_ops = {
	.scheme = "redis",
	.prefixes = redis_prefixes,
	.url_size = sizeof(struct redis_url),
	.parse_url = redis_parse_url,
	.where = redis_where_lease,
	.open = redis_open,
	.acquire = redis_acquire,
	.renew = redis_renew,
	.release = redis_release,
	.withdraw = redis_withdraw,
	.watch_fd = redis_watch_fd,
	.watch_clear = redis_watch_clear,
	.farewell = redis_farewell,
	.place_farewell = redis_place_farewell,
	.close = redis_close,
	.status = redis_status,
	.list = redis_list,
};
