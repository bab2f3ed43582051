/*
 * etcd.c - the etcd store behind lease.h (etcd://HOST:PORT,...): its
 * URLs, and a contender's calls; --status and --list are in etcd_read.c.
 *
 * Spoken over etcd's v3 JSON gateway (etcd_api.c), as a queue in the
 * manner of etcd's own concurrency Mutex:
 *  - each contender grants itself an etcd lease (TTL: the lease duration,
 *    rounded up to whole seconds) and creates PREFIX/NAME/<lease id in hex>
 *    bound to it, holding its holder value (store.h);
 *  - the key with the lowest create_revision leads; its create_revision is
 *    the fencing token (LEADERRUN_TERM): it grows with each leader and
 *    survives a restart of etcd;
 *  - a waiter watches only the key just ahead of it for its DELETE, from the
 *    revision it last read, so a release wakes one waiter, and a handover
 *    costs two raft proposals (the clean end, and the new leader's mark)
 *    however many wait.  While that watch stands, a waiter's only
 *    requests are its keepalives, sent through the member that serves
 *    the watch: a stopped or cut-off member fails them (a watch on it
 *    hangs without a word); the second and the third in line also ask
 *    the TTL of the key ahead (poll_ttl).  It looks again when the watch breaks, when
 *    its keepalives moved to another member, when a holder ahead of it on
 *    this host died (judged from /proc), and every LOOK_LEASES lease
 *    durations for a watch connection lost silently;
 *  - the leader renews with a keepalive and checks that its key is still
 *    there (a read-only txn, no proposal); releasing ends its term in one
 *    txn (etcd_end.h) and leaves the lease, bound to nothing, to run out.
 * A request that timed out may still have been applied: every request here
 * is safe to repeat (lease ids are ours, the create is conditional), and a
 * join that failed half way is undone by revoking its lease.
 *
 * Authentication (etcd://USER@...): the user and password buy a token
 * (/v3/auth/authenticate), sent on every request as "Authorization: TOKEN".
 * etcd forgets a simple token that went unused for --auth-token-ttl (300 s
 * by default), and a JWT at its expiry: a request refused for its token
 * logs in again and is sent once more, inside the same call and its time
 * budget, so a lapsed token never costs a renewal.  The login is a raft
 * proposal and a bcrypt check on the server (0.07-0.4 s measured).
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire/http.h"
#include "wire/json.h"
#include "store/etcd_api.h"
#include "store/etcd_end.h"
#include "store/etcd.h"
#include "store/store.h"

/* A waiter with a standing watch looks again this many lease durations
 * apart (60 s at the default): the watch and keepalives do the rest. */
#define LOOK_LEASES	6

static int64_t
random_id(void)
{
	uint64_t x = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || read(fd, &x, sizeof(x)) != (ssize_t)sizeof(x)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		    ((uint64_t)getpid() << 40) ^ (uint64_t)now_ns();
		x *= 0x9E3779B97F4A7C15ULL;
	}
	if (fd != -1)
		close(fd);
	x &= 0x3fffffffffffffffULL;	/* positive as an int64, and not 0 */
	return x ? (int64_t)x : 1;
}

static int
b64(const char *s, char *out, size_t len)
{
	return b64_encode(s, strlen(s), out, len) == 0 ? -1 : 0;
}

/* etcd_kv_get: see etcd.h. */
int
etcd_kv_get(const struct http_resp *r, const char *path, struct kv *kv)
{
	char p[160], raw[B64MAX], val[VALMAX];
	ssize_t n;

	memset(kv, 0, sizeof(*kv));
	snprintf(p, sizeof(p), "%s.create_revision", path);
	if (json_get_int(r->body, r->len, p, &kv->rev) != 1)
		return 0;
	kv->found = 1;
	snprintf(p, sizeof(p), "%s.lease", path);
	if (json_get_int(r->body, r->len, p, &kv->lease) != 1)
		kv->lease = 0;
	snprintf(p, sizeof(p), "%s.key", path);
	if (json_get(r->body, r->len, p, raw, sizeof(raw)) == 1 &&
	    (n = b64_decode(raw, strlen(raw), kv->key, sizeof(kv->key) - 1)) >= 0)
		kv->key[n] = '\0';
	snprintf(p, sizeof(p), "%s.value", path);
	kv->h.state = LEASE_HELD;
	kv->h.term = (uint64_t)kv->rev;
	kv->h.ttl_ms = -1;
	kv->h.waiters = -1;
	if (json_get(r->body, r->len, p, raw, sizeof(raw)) == 1 &&
	    (n = b64_decode(raw, strlen(raw), val, sizeof(val))) >= 0)
		holder_parse(val, (size_t)n, &kv->h, kv->sys, sizeof(kv->sys),
		    &kv->start);
	return 1;
}

/* ---- our etcd lease ------------------------------------------------------ */

/* keepalive: renew our lease.  1 renewed, 0 gone, -1 with ERR. */
static int
keepalive(struct etcd *e, char *err)
{
	struct http_resp r;
	char body[64];
	int64_t ttl = 0, t0 = now_ns();
	int rc;

	snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", e->lease_id);
	if (etcd_call(&e->api, "/v3/lease/keepalive", body, &r, err) != 0) {
		free(r.body);
		e->looked = 0;	/* the watch may have missed something */
		return -1;
	}
	/* An expired or revoked lease still gets 200, only without a TTL. */
	rc = json_get_int(r.body, r.len, "result.TTL", &ttl) == 1 && ttl > 0;
	free(r.body);
	if (!rc) {
		seterr(err, "etcd lease %" PRIx64 " expired or was revoked",
		    (uint64_t)e->lease_id);
		return 0;
	}
	e->last_ka = t0;
	return 1;
}

/*
 * The leader's mark, PREFIX/NAME.leader, is put with the job-naming write
 * (or with the key itself, by a contender alone in the queue: put_value)
 * and bound to the leader's etcd lease: it goes with a clean end, or when
 * that lease goes (the watchdog's revoke, a same-host reaper, expiry), and
 * stays when the leader's queue key is deleted by hand while its holder
 * may still be stopping its command.  Nobody leads while another's mark
 * stands.
 */
static void
mark_read(struct etcd *e, const struct http_resp *r, const char *path)
{
	struct kv kv;

	/* A mark without a lease was not ours to make: ignore it. */
	e->mark_lease = etcd_kv_get(r, path, &kv) ? kv.lease : 0;
}

/* value64: our holder value naming JOB, started at ACQUIRED_MS (0: not
 * yet), in base64 into OUT.  0, or -1 with ERR. */
static int
value64(struct etcd *e, long job, int64_t acquired_ms, char *out, size_t len,
    char *err)
{
	char val[VALMAX];
	size_t n = holder_format(val, sizeof(val), &e->me, e->id, job,
	    e->lease_ns / 1000000, e->stop_ns / 1000000, acquired_ms, e->slots);

	if (n == 0 || b64_encode(val, n, out, len) == 0) {
		seterr(err, "holder value too long");
		return -1;
	}
	return 0;
}

/*
 * put_value: (re)write our key's value naming JOB, if the key is still
 * ours.  1 done, 0 the key is gone, -1 with ERR.
 *
 * Create: only if the key is new, and then read the head of the queue in
 * the same round trip.  A contender that knows of no leader before it
 * (etcd_known_wait has nothing to wait out) and finds the queue empty and
 * no mark leads at once: the same txn then puts its key as the leader's,
 * started, and the leader's mark (e->marked), so an uncontended run's
 * first renewal writes nothing.  Rewrite: only if it is the key we
 * created, with the mark.  Either way the failure branch tells us who is
 * there.
 */
static int
put_value(struct etcd *e, long job, int create, char *err)
{
	char val64[VALMAX * 2], lead64[VALMAX * 2],
	    put[2 * VALMAX * 2 + 8 * B64MAX + 512], head[4 * B64MAX + 256];
	char body[sizeof(put) + sizeof(head) + 2 * B64MAX + 256];
	int lone = create && e->kl.rev == 0 && e->ahead_k.rev == 0;
	int64_t started = lone ? wall_ms() : 0;
	struct http_resp r;
	struct kv kv;
	int rc, k;

	if (value64(e, job, e->acquired_ms, val64, sizeof(val64), err) == -1 ||
	    (lone && value64(e, job, started, lead64, sizeof(lead64), err) == -1))
		return -1;
	if (lone)	/* our key as the leader's if the queue is empty */
		k = snprintf(put, sizeof(put), "{\"request_txn\":{\"compare\":["
		    "{\"target\":\"CREATE\",\"key\":\"%s\",\"range_end\":\"%s\","
		    "\"create_revision\":\"0\"},{\"target\":\"CREATE\",\"key\":"
		    "\"%s\",\"create_revision\":\"0\"}],\"success\":["
		    "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\",\"lease\":"
		    "\"%" PRId64 "\"}},{\"request_put\":{\"key\":\"%s\",\"value\":"
		    "\"%s\",\"lease\":\"%" PRId64 "\"}}],\"failure\":["
		    "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\",\"lease\":"
		    "\"%" PRId64 "\"}}]}}", e->prefix64, e->end64, e->mark64,
		    e->key64, lead64, e->lease_id, e->mark64, e->key64,
		    e->lease_id, e->key64, val64, e->lease_id);
	else
		k = snprintf(put, sizeof(put), "{\"request_put\":{\"key\":\"%s\","
		    "\"value\":\"%s\",\"lease\":\"%" PRId64 "\"}}", e->key64,
		    val64, e->lease_id);
	if (create)
		snprintf(head, sizeof(head), ",{\"request_range\":{\"key\":\"%s\","
		    "\"range_end\":\"%s\",\"limit\":1,\"sort_order\":\"ASCEND\","
		    "\"sort_target\":\"CREATE\"}},{\"request_range\":{\"key\":"
		    "\"%s\"}},{\"request_range\":{\"key\":\"%s\"}}", e->prefix64,
		    e->end64, e->mark64, e->ended64);
	else	/* the leader's mark lives and dies with its lease */
		snprintf(head, sizeof(head), ",{\"request_put\":{\"key\":\"%s\","
		    "\"value\":\"%s\",\"lease\":\"%" PRId64 "\"}}", e->mark64,
		    e->key64, e->lease_id);
	if (k < 0 || (size_t)k >= sizeof(put) || (k = snprintf(body,
	    sizeof(body), "{\"compare\":[{\"target\":\"CREATE\","
	    "\"key\":\"%s\",\"create_revision\":\"%" PRId64 "\"}],"
	    "\"success\":[%s%s],\"failure\":[{\"request_range\":"
	    "{\"key\":\"%s\"}}]}", e->key64, create ? (int64_t)0 : e->rev,
	    put, head, e->key64)) < 0 || (size_t)k >= sizeof(body)) {
		seterr(err, "etcd request too long");
		return -1;
	}
	if ((rc = etcd_call(&e->api, "/v3/kv/txn", body, &r, err)) != 0) {
		if (rc == 1 && etcd_is_error(&r, "lease not found")) {
			seterr(err, "etcd lease %" PRIx64 " expired or was revoked",
			    (uint64_t)e->lease_id);
			rc = 0;
		} else
			rc = -1;
		free(r.body);
		return rc;
	}
	if (json_get_bool(r.body, r.len, "succeeded") == 1) {
		if (create && json_get_int(r.body, r.len, "header.revision",
		    &e->rev) != 1) {
			seterr(err, "etcd: txn reply without a revision");
			rc = -1;
		} else
			rc = 1;
		if (create && rc == 1 && etcd_kv_get(&r,
		    "responses.1.response_range.kvs.0", &kv)) {
			e->first = kv.rev == e->rev;
			if (json_get_int(r.body, r.len,
			    "responses.1.response_range.count", &e->count) != 1)
				e->count = 1;
			mark_read(e, &r, "responses.2.response_range.kvs.0");
			e->ended = etcd_ended_read(&r, "responses.3.response_range.kvs.0");
		}
		if (create && rc == 1 && lone && json_get_bool(r.body, r.len,
		    "responses.0.response_txn.succeeded") == 1) {
			e->marked = 1;
			e->acquired_ms = started;
		}
	} else if (create && etcd_kv_get(&r, "responses.0.response_range.kvs.0",
	    &kv) && kv.lease == e->lease_id) {
		e->rev = kv.rev;	/* a create that timed out did happen */
		rc = 1;
	} else {
		seterr(err, "etcd key %s%" PRIx64 " was deleted", e->prefix,
		    (uint64_t)e->lease_id);
		rc = 0;
	}
	free(r.body);
	if (rc == 1)
		e->job = job;
	return rc;
}

/* still_ours: is our key still there?  A read-only txn: no proposal.
 * 1 yes, 0 no, -1 with ERR. */
static int
still_ours(struct etcd *e, char *err)
{
	char body[B64MAX + 128];
	struct http_resp r;
	int rc;

	snprintf(body, sizeof(body), "{\"compare\":[{\"target\":\"CREATE\","
	    "\"key\":\"%s\",\"create_revision\":\"%" PRId64 "\"}]}", e->key64,
	    e->rev);
	if (etcd_call(&e->api, "/v3/kv/txn", body, &r, err) != 0) {
		free(r.body);
		return -1;
	}
	/* A failed txn has no "succeeded" at all. */
	rc = json_get_bool(r.body, r.len, "succeeded") == 1;
	free(r.body);
	if (!rc)
		seterr(err, "etcd key %s%" PRIx64 " was deleted", e->prefix,
		    (uint64_t)e->lease_id);
	return rc;
}

/* join: take a place in the queue: a new etcd lease and our key on it. */
static int
join(struct etcd *e, char *err)
{
	struct http_resp r;
	/* The undoing revokes report into a buffer of their own: an error
	 * fills up to LEASE_ERRLEN bytes, and ERR keeps the first failure. */
	char body[96], key[KEYMAX + 24], scratch[LEASE_ERRLEN];
	int64_t ttl = 0, t0;
	int rc, tries;

	for (tries = 0; tries < 3; tries++) {
		e->lease_id = random_id();
		snprintf(body, sizeof(body), "{\"TTL\":\"%" PRId64 "\",\"ID\":\"%"
		    PRId64 "\"}", e->ttl, e->lease_id);
		t0 = now_ns();
		rc = etcd_call(&e->api, "/v3/lease/grant", body, &r, err);
		if (rc == 1 && etcd_is_error(&r, "lease already exists")) {
			free(r.body);
			continue;	/* an id drawn twice: draw again */
		}
		if (rc != 0) {
			free(r.body);
			if (rc == -1)	/* it may have been granted */
				(void)etcd_revoke(&e->api, e->lease_id, scratch);
			return -1;
		}
		if (json_get_int(r.body, r.len, "TTL", &ttl) != 1 ||
		    ttl * NS_PER_S < e->lease_ns) {
			free(r.body);
			(void)etcd_revoke(&e->api, e->lease_id, scratch);
			seterr(err, "etcd granted a TTL of %" PRId64 "s, less than "
			    "the lease duration", ttl);
			return -1;
		}
		free(r.body);
		e->last_ka = t0;
		snprintf(key, sizeof(key), "%s%" PRIx64, e->prefix,
		    (uint64_t)e->lease_id);
		if (b64(key, e->key64, sizeof(e->key64)) == -1) {
			seterr(err, "etcd key too long");
			return -1;
		}
		e->acquired_ms = 0;
		e->marked = 0;
		rc = put_value(e, e->cfg_job, 1, err);
		if (rc == 1) {
			e->joined = 1;
			return 0;
		}
		/* Maybe created: undo by revoking, which deletes the key. */
		(void)etcd_revoke(&e->api, e->lease_id, scratch);
		if (rc == -1)
			return -1;
		/* 0: the lease expired between grant and create: again. */
	}
	return -1;
}

static void
unwatch(struct etcd *e)
{
	http_close(&e->wc);
	e->watching = 0;
}

static void
leave(struct etcd *e)
{
	char err[LEASE_ERRLEN];

	unwatch(e);
	if (e->joined)
		(void)etcd_revoke(&e->api, e->lease_id, err);
	e->joined = e->leader = 0;
	e->handed = e->respan = 0;	/* they were for the place we left */
}

/*
 * watch: wait for the DELETE of the key KEY64 (base64) created at REV, from
 * revision FROM on: the key ahead of a waiter, or the leader's own.  A PUT
 * of the key ahead says that it leads now.  With END64, the watch spans
 * from the ended key to END64 (past both the key ahead, which leads, and
 * ours), so that the leader's clean end shows whole on it: its key's
 * DELETE and the ended key's PUT in one revision, with no DELETE of ours
 * since FROM, the revision right after the look that saw our key (see
 * etcd_acquire).  The waiter then leads without a look (the look's round
 * trip is a good part of a handover); keys of other waiters in the span
 * are ignored.
 */
static void
watch(struct etcd *e, const char *key64, const char *end64, int64_t rev,
    int64_t from)
{
	char body[3 * B64MAX + 256], err[LEASE_ERRLEN], hdr[ETCD_TOKENMAX + 32];

	if (e->watching && e->watch_rev == rev && e->span == (end64 != NULL))
		return;
	unwatch(e);
	/* PUTs too: the key ahead rewrites its value when it starts to lead
	 * (its first renewal), which a waiter wants to know.  (A key that
	 * joined as the leader was the lowest when it was made: no waiter
	 * behind it saw it otherwise.) */
	snprintf(body, sizeof(body), "{\"create_request\":{\"key\":\"%s\","
	    "%s%s%s\"start_revision\":\"%" PRId64 "\"}}", end64 ? e->ended64 :
	    key64, end64 ? "\"range_end\":\"" : "", end64 ? end64 : "",
	    end64 ? "\"," : "", from);
	/* A refused token cancels the watch at once: the look that follows
	 * logs in again. */
	etcd_auth_header(&e->api, hdr, sizeof(hdr));
	http_init(&e->wc, &e->api.ep[e->api.cur]);
	if (http_stream_open(&e->wc, "/v3/watch", hdr[0] ? hdr : NULL,
	    body, strlen(body), now_ns() + e->api.io_ns, err) == -1) {
		http_close(&e->wc);
		return;		/* the periodic look covers for it */
	}
	e->watching = 1;
	e->watch_ep = e->api.cur;
	e->watch_rev = rev;
	e->span = end64 != NULL;
	snprintf(e->wkey64, sizeof(e->wkey64), "%s", key64);
}

/* ---- the URL: etcd://[USER@]HOST:PORT[,HOST:PORT...][/PREFIX] ---------- */

static int
etcd_parse_url(const char *url, void *out, char *err)
{
	struct etcd_url *u = out;
	const char *p = url + 7, *end, *slash, *at = NULL;

	slash = store_url_authority(p);
	/* USER@ in front of the members: the last '@' ends it. */
	for (end = p; end < slash; end++)
		if (*end == '@')
			at = end;
	if (at != NULL) {
		if (store_url_user(url, p, at, u->user, sizeof(u->user), err) == -1)
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
		if (u->neps == ETCD_MAXEPS) {
			seterr(err, "store '%.64s': more than %d endpoints", url,
			    ETCD_MAXEPS);
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

static void
etcd_where_lease(const void *url, const char *name, char *buf, size_t len)
{
	const struct etcd_url *u = url;
	char ep[NET_HOSTLEN + 16];

	snprintf(buf, len, "etcd://%s%s%s %s/%s/", u->user, u->user[0] ? "@" : "",
	    net_name(&u->ep[0], ep, sizeof(ep)), u->prefix, name);
}

/* ---- the calls of lease.h ------------------------------------------------ */

int
etcd_open(struct lease *l, const void *url,
    const struct lease_config *cfg, char *err)
{
	const struct etcd_url *u = url;
	struct etcd *e = calloc(1, sizeof(*e));
	char end[KEYMAX], mark[KEYMAX + 16], ended[KEYMAX + 16];
	size_t n;

	if (e == NULL) {
		seterr(err, "%s", strerror(errno));
		return LEASE_ERR;
	}
	l->data = e;
	e->lease = l;
	memcpy(e->api.ep, u->ep, sizeof(e->api.ep));
	e->api.scope = e->prefix;
	e->api.neps = u->neps;
	memcpy(e->api.user, u->user, sizeof(e->api.user));
	if (cfg->password && *cfg->password && !e->api.user[0]) {
		seterr(err, "a store password is given, but the URL names no "
		    "etcd user (etcd://USER@HOST:PORT)");
		etcd_close(l);
		return LEASE_ERR;
	}
	if (e->api.user[0] && (cfg->password == NULL || !*cfg->password)) {
		seterr(err, "etcd user '%.64s' needs a password: set "
		    "LEADERRUN_STORE_PASSWORD or use --store-password-file",
		    e->api.user);
		etcd_close(l);
		return LEASE_ERR;
	}
	if (e->api.user[0] && (e->api.password = strdup(cfg->password)) == NULL) {
		seterr(err, "%s", strerror(errno));
		etcd_close(l);
		return LEASE_ERR;
	}
	http_init(&e->api.c, &e->api.ep[0]);
	http_init(&e->wc, &e->api.ep[0]);
	snprintf(e->id, sizeof(e->id), "%s", cfg->node_id);
	host_self(&e->me);
	e->lease_ns = cfg->lease_ns;
	e->slots = cfg->slots;
	e->stop_ns = cfg->stop_ns > 0 ? cfg->stop_ns : cfg->lease_ns;
	e->retry_ns = cfg->retry_ns;
	e->api.io_ns = cfg->io_ns > 0 ? cfg->io_ns : 2 * NS_PER_S;
	e->cfg_job = cfg->job;
	e->ttl = (cfg->lease_ns + NS_PER_S - 1) / NS_PER_S;
	snprintf(e->prefix, sizeof(e->prefix), "%s/%s/", u->prefix, cfg->name);
	/* Every key under PREFIX/NAME/ sorts below PREFIX/NAME0 ('/' + 1). */
	n = strlen(e->prefix);
	memcpy(end, e->prefix, n + 1);
	end[n - 1] = '0';
	snprintf(mark, sizeof(mark), "%s/%s.leader", u->prefix, cfg->name);
	snprintf(ended, sizeof(ended), "%s/%s.ended", u->prefix, cfg->name);
	if (b64(e->prefix, e->prefix64, sizeof(e->prefix64)) == -1 ||
	    b64(end, e->end64, sizeof(e->end64)) == -1 ||
	    b64(mark, e->mark64, sizeof(e->mark64)) == -1 ||
	    b64(ended, e->ended64, sizeof(e->ended64)) == -1) {
		seterr(err, "etcd prefix too long");
		etcd_close(l);
		return LEASE_ERR;
	}
	return LEASE_OK;
}

/*
 * look: one read-only txn (no raft proposal): the leader (lowest
 * create_revision, and how many keys there are), the key just ahead of ours
 * (highest create_revision below ours) and, into *BELOW, the
 * create_revision of the one below that (0: none), and ours.  Returns 0,
 * or -1.
 */
static int
look(struct etcd *e, struct kv *lead, struct kv *ahead, int64_t *below,
    int *ours, int64_t *count, int64_t *rev, char *err)
{
	char body[8192];
	struct http_resp r;
	struct kv me;
	int rc;

	snprintf(body, sizeof(body), "{\"success\":["
	    "{\"request_range\":{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":1,"
	    "\"sort_order\":\"ASCEND\",\"sort_target\":\"CREATE\"}},"
	    "{\"request_range\":{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":2,"
	    "\"sort_order\":\"DESCEND\",\"sort_target\":\"CREATE\","
	    "\"max_create_revision\":\"%" PRId64 "\"}},"
	    "{\"request_range\":{\"key\":\"%s\",\"keys_only\":true}},"
	    "{\"request_range\":{\"key\":\"%s\"}},"
	    "{\"request_range\":{\"key\":\"%s\"}}]}",
	    e->prefix64, e->end64, e->prefix64, e->end64,
	    e->rev > 1 ? e->rev - 1 : 1, e->key64, e->mark64, e->ended64);
	if ((rc = etcd_call(&e->api, "/v3/kv/txn", body, &r, err)) != 0) {
		free(r.body);
		return -1;
	}
	etcd_kv_get(&r, "responses.0.response_range.kvs.0", lead);
	if (json_get_int(r.body, r.len, "responses.0.response_range.count",
	    count) != 1)
		*count = 0;
	etcd_kv_get(&r, "responses.1.response_range.kvs.0", ahead);
	/* Two keys below ours, so that a waiter knows whether it is third
	 * in line (the range's count would not say: etcd counts the keys
	 * of the whole range, not those max_create_revision lets through). */
	if (json_get_int(r.body, r.len,
	    "responses.1.response_range.kvs.1.create_revision", below) != 1)
		*below = 0;
	*ours = etcd_kv_get(&r, "responses.2.response_range.kvs.0", &me) &&
	    me.rev == e->rev;
	mark_read(e, &r, "responses.3.response_range.kvs.0");
	e->ended = etcd_ended_read(&r, "responses.4.response_range.kvs.0");
	if (json_get_int(r.body, r.len, "header.revision", rev) != 1) {
		seterr(err, "etcd: txn reply without a revision");
		rc = -1;
	}
	free(r.body);
	return rc;
}

/* A holder on this host whose processes are all gone: free its place, and
 * end its term cleanly if it leads (LEADS) and has led. */
static int
reap_dead(struct etcd *e, struct kv *kv, int leads)
{
	char err[LEASE_ERRLEN], key64[B64MAX];

	if (!kv->found || kv->rev == e->rev || kv->lease == 0)
		return 0;
	holder_judge(&kv->h, kv->sys, kv->start, &e->me);
	if (!kv->h.local || kv->h.alive)
		return 0;
	/* A leader's: its clean end, at once (its lease, holding no key
	 * then, runs out with its TTL).  Only if that key led (its value
	 * or the mark says so): the lowest key that never led may have been
	 * waiting out a leader before it, still stopping its command, whose
	 * key went by hand.  A clean end of it would let the next lead at
	 * once; a revoke makes the next wait its stop time, and so past the
	 * one it waited for. */
	if (leads && (kv->h.acquired_ms > 0 || (e->mark_lease != 0 &&
	    e->mark_lease == kv->lease)) &&
	    b64(kv->key, key64, sizeof(key64)) == 0 &&
	    etcd_end(&e->api, key64, kv->rev, e->mark64, e->ended64, err) != -1)
		return 1;
	return etcd_revoke(&e->api, kv->lease, err) == 0;
}

/* Our key is the lowest: we lead.  FROM: where a watch on it may start. */
static int
lead_now(struct etcd *e, struct lease_holder *h, int64_t count, int64_t from)
{
	/* A watch on our key tells the worker of its deletion at once.  The
	 * first renewal, right after the command started, opens it (a new
	 * connection is a good part of a handover); from FROM on, it misses
	 * nothing. */
	unwatch(e);
	e->handed = e->respan = 0;
	e->own_from = from;
	e->leader = 1;
	/* Our value names the held command since the join; the leader's mark
	 * follows with the first renewal, right after the command starts,
	 * unless the join wrote it (put_value). */
	if (!e->marked)
		e->acquired_ms = wall_ms();
	e->job = e->cfg_job;
	e->lease->renewed_from = e->last_ka;
	e->lease->renew_now = 1;
	h->state = LEASE_HELD;
	snprintf(h->id, sizeof(h->id), "%s", e->id);
	snprintf(h->host, sizeof(h->host), "%s", e->me.name);
	h->pid = e->me.pid;
	h->term = (uint64_t)e->rev;
	h->acquired_ms = h->renewed_ms = e->acquired_ms;
	h->lease_ms = e->lease_ns / 1000000;
	h->local = h->alive = 1;
	h->waiters = (int)(count > 0 ? count - 1 : 0);
	return LEASE_OK;
}

static void
seen_keep(struct seen *s, const struct kv *kv)
{
	s->found = kv->found;
	s->h = kv->h;
	memcpy(s->sys, kv->sys, sizeof(s->sys));
	s->start = kv->start;
}

/*
 * may_skip_look: can a waiter trust its watch instead of looking now?  Not
 * when the watch is gone or on another member than its keepalives (which
 * vouch for the member), when the last look is old, nor when a holder
 * ahead of it on this host has died: a look reaps it.
 */
static int
may_skip_look(struct etcd *e)
{
	int i;

	if (!e->joined || !e->watching || e->watch_ep != e->api.cur ||
	    e->looked == 0 || now_ns() - e->looked >= LOOK_LEASES * e->lease_ns)
		return 0;
	for (i = 0; i < 2; i++) {
		struct seen *s = &e->near[i];

		if (!s->found)
			continue;
		holder_judge(&s->h, s->sys, s->start, &e->me);
		if (s->h.local && !s->h.alive)
			return 0;
	}
	return 1;
}

/* span_end: the end of a watch from the ended key past both the key LEAD
 * and ours: the greater of the two, with a NUL byte after it, in base64
 * into OUT.  OUT, or NULL if it does not fit. */
static const char *
span_end(const struct etcd *e, const char *lead, char *out, size_t len)
{
	char ours[KEYMAX + 24], end[KEYMAX + 26];
	ssize_t n = b64_decode(e->key64, strlen(e->key64), ours, sizeof(ours) - 1);
	const char *top;
	size_t k;

	if (n < 0)
		return NULL;
	ours[n] = '\0';
	top = strcmp(lead, ours) > 0 ? lead : ours;
	if ((k = strlen(top)) + 1 >= sizeof(end))
		return NULL;
	memcpy(end, top, k);
	end[k] = '\0';		/* past that key alone */
	return b64_encode(end, k + 1, out, len) == 0 ? NULL : out;
}

/* known_set: *K from the key KV, anew if it is another key. */
static void
known_set(struct etcd *e, struct etcd_known *k, const struct kv *kv)
{
	if (!kv->found)
		memset(k, 0, sizeof(*k));
	else
		etcd_known_set(k, kv->rev, kv->lease, &kv->h, e->lease_ns,
		    e->mark_lease != 0 && e->mark_lease == kv->lease);
}

/*
 * poll_ttl: a waiter asks the TTL of the key it would wait out if it were
 * first in line now (see etcd_known_poll, wait_unclean), but only where
 * that is likely: second in line, the leader's; third, the key ahead's,
 * which may go as the leader ends cleanly, a lease that ran out, not one
 * to wait a stop time for.  The waiters behind those ask nothing (idle,
 * they cost etcd their keepalives alone): for one of them to be first,
 * two keys or more must go before it looks again, and then it waits out
 * the key ahead's stop time.
 */
static void
poll_ttl(struct etcd *e)
{
	if (e->kl.rev != 0 && e->kl.rev == e->ahead_k.rev)
		etcd_known_poll(&e->api, &e->kl, e->retry_ns);
	else if (e->ahead_next)
		etcd_known_poll(&e->api, &e->ahead_k, e->retry_ns);
}

/*
 * wait_unclean: we are first in line; wait out the last key that may have
 * led before us if it went without a clean end (etcd_known_wait).  That is
 * the leader we knew of only if its key was the one right ahead of ours.
 * Else keys between it and ours (the key ahead, as our last look saw it,
 * and those below that one) may have led since, unseen: we watched the key
 * ahead alone, and a new leader's command starts before its first renewal
 * shows.  Then the ended key must name the key ahead, or we wait its stop
 * time: a clean end of the leader we knew says nothing of a later one,
 * and a key ahead of ours that led ended after any other.  If it names
 * the leader we knew, and the key ahead was right behind that one, the key
 * ahead waited out no one: its lease that ran out is taken as a leader's
 * would be, whether it led or not.  1: wait, 0: lead.
 */
static int
wait_unclean(struct etcd *e, struct lease_holder *h, int64_t *retry_ns)
{
	struct etcd_known *k = &e->kl;
	int after_clean = 0;

	if (e->ahead_k.rev != 0 && e->ahead_k.rev != e->kl.rev &&
	    e->ahead_k.rev != e->rev) {
		k = &e->ahead_k;
		after_clean = e->ahead_next && e->kl.rev != 0 &&
		    e->ended == e->kl.rev;
	}
	return etcd_known_wait(e->lease, k, e->ended, e->rev, e->retry_ns,
	    after_clean, h, retry_ns);
}

static int
etcd_acquire(struct lease *l, struct lease_holder *h, int64_t *retry_ns,
    char *err)
{
	struct etcd *e = l->data;
	struct kv lead, ahead;
	int64_t count = 0, rev = 0, below = 0, handed = e->handed;
	int ours = 0;

	/* A handover seen on the watch counts for this call alone: a call
	 * that does not lead at once (an error, say) forgets it, and the
	 * next, later, looks. */
	e->handed = 0;
	*retry_ns = e->retry_ns;
	memset(h, 0, sizeof(*h));
	h->ttl_ms = -1;
	h->waiters = h->ahead = -1;
	if (e->leader) {
		seterr(err, "already leading");
		return LEASE_ERR;
	}
	/* A waiter keeps its place alive too, a third of a TTL at most apart. */
	if (e->joined && now_ns() - e->last_ka >= e->ttl * NS_PER_S / 3) {
		int rc = keepalive(e, err);

		if (rc == -1)
			return LEASE_ERR;
		if (rc == 0)
			leave(e);	/* our place expired: queue up again */
	}
	if (!e->joined) {
		e->first = 0;
		if (join(e, err) == -1)
			return LEASE_ERR;
		/* Joined as the leader, with the mark (put_value): only a
		 * contender with nothing to wait out does, and it must lead
		 * now, as its key and mark already say. */
		if (e->marked)
			return lead_now(e, h, e->count, e->rev + 1);
		if (e->first && (e->mark_lease == 0 || e->mark_lease ==
		    e->lease_id)) {	/* alone in the queue: no need to look */
			if (wait_unclean(e, h, retry_ns))
				return LEASE_BUSY;
			return lead_now(e, h, e->count, e->rev + 1);
		}
	}
	/*
	 * A handover without a look.  The watch alone may make a waiter lead
	 * only if it proves that at the revision H of the last leader's clean
	 * end, every key below ours is gone, ours is there, and that leader's
	 * command has stopped:
	 *  - a look at revision R saw our key, and the key A ahead of it as
	 *    the highest below ours; no key is ever created below an existing
	 *    one, so after R only A and keys below A can stand below ours;
	 *  - the span watch, from R + 1 on, showed A's DELETE and the ended
	 *    key's PUT of A's term in the one revision H: A's clean end, sent
	 *    only once A's command was gone, by A, which led, or by a reaper
	 *    of it as the lowest key.  So no key below A stood since before
	 *    H, and A's went at H, with its mark;
	 *  - the mark lies in the span too: the look read it, the watch
	 *    showed its PUTs and DELETEs since, and at H no mark stands but
	 *    A's.  A key deleted by hand leaves its leader's mark while that
	 *    command stops, and a lowest key that never led may end with it
	 *    standing;
	 *  - that watch spans our key too, and showed no DELETE of it in
	 *    R + 1 .. H (it sends revisions in order): our key is there at H.
	 *    A lease revoked or a key deleted by hand does not fail our
	 *    keepalives at once: a recent one says nothing of our key.
	 * So a span watch starts only right after a look (see respan below),
	 * and a new place (handed_to) or a place left (leave) forgets what an
	 * old one saw.
	 */
	if (handed && e->joined && e->handed_to == e->rev &&
	    now_ns() - e->last_ka < e->ttl * NS_PER_S / 2) {
		int64_t from = handed + 1;

		memset(&e->kl, 0, sizeof(e->kl));
		return lead_now(e, h, e->count, from);
	}
	if (e->respan) {
		/* The key ahead leads now (its first renewal showed on our
		 * watch of it): look now, during its term, and so watch the
		 * span from right after that look.  Not from that renewal on,
		 * without a look: the watch of the key ahead alone cannot have
		 * shown a DELETE of our key (by hand) before it.  Nor from
		 * the start of that watch: a watch from a revision etcd has
		 * passed joins in only at its next sync of such watchers, up
		 * to 100 ms later, which is late for a short term. */
		e->respan = 0;
		e->looked = 0;
	}
	if (may_skip_look(e)) {
		*h = e->shown;
		poll_ttl(e);
		return LEASE_BUSY;
	}
	e->looked = 0;
	if (look(e, &lead, &ahead, &below, &ours, &count, &rev, err) == -1)
		return LEASE_ERR;
	if (!ours) {
		/* Someone deleted our key: a new place at the end. */
		leave(e);
		*retry_ns = 0;
		h->state = lead.found ? LEASE_HELD : LEASE_FREE;
		if (lead.found)
			*h = lead.h;
		return LEASE_BUSY;
	}
	if (lead.rev == e->rev && e->mark_lease != 0 &&
	    e->mark_lease != e->lease_id) {
		/* First in line, but the last leader's lease still runs: its
		 * key was deleted by hand, and it may still be stopping its
		 * command.  It revokes that lease once the command is dead. */
		h->state = LEASE_HELD;	/* by someone we cannot name */
		if (*retry_ns > e->retry_ns / 4)
			*retry_ns = e->retry_ns / 4;
		return LEASE_BUSY;
	}
	if (lead.rev == e->rev) {
		if (wait_unclean(e, h, retry_ns))
			return LEASE_BUSY;
		return lead_now(e, h, count, rev + 1);
	}
	known_set(e, &e->kl, &lead);
	known_set(e, &e->ahead_k, &ahead);
	e->ahead_next = lead.found && ahead.found && ahead.rev != lead.rev &&
	    below == lead.rev;
	*h = lead.h;
	h->waiters = (int)(count > 0 ? count - 1 : 0);
	h->ahead = ahead.rev == lead.rev ? 0 : 1;	/* 1: one or more */
	holder_judge(h, lead.sys, lead.start, &e->me);
	/* The key ahead is the leader's when we are right behind it: one
	 * reap, not a second clean end (or revoke) of the same key. */
	if (reap_dead(e, &lead, 1) |
	    (ahead.rev != lead.rev && reap_dead(e, &ahead, 0))) {
		*retry_ns = 0;
		return LEASE_BUSY;
	}
	if (ahead.found) {
		char key64[B64MAX], end64[B64MAX];

		/* A watch on another member than our keepalives: anew. */
		if (e->watching && e->watch_ep != e->api.cur)
			unwatch(e);
		if (b64(ahead.key, key64, sizeof(key64)) == 0)
			watch(e, key64, ahead.rev == lead.rev ? span_end(e,
			    ahead.key, end64, sizeof(end64)) : NULL, ahead.rev,
			    rev + 1);
	}
	e->looked = now_ns();
	e->shown = *h;
	seen_keep(&e->near[0], &lead);
	seen_keep(&e->near[1], &ahead);
	poll_ttl(e);
	return LEASE_BUSY;
}

static int
etcd_renew(struct lease *l, long job, char *err)
{
	struct etcd *e = l->data;
	int64_t age;
	int rc, opened = 0;

	if (!e->leader) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	if (e->own_from) {	/* once: a broken watch is not reopened */
		watch(e, e->key64, NULL, e->rev, e->own_from);
		opened = e->watching;
		e->own_from = 0;
	}
	/* A keepalive sent less than half a period ago still counts:
	 * lease_renewed_from says since when, and the supervisor's deadline
	 * runs from there.  The first renewal writes the leader's mark (one
	 * proposal, after the command has started) unless the join did, and
	 * the first after the job has finished rewrites the value (done=1);
	 * the others only look that our key is still there (none), but for
	 * one that just opened the watch on our key: from the revision after
	 * the election, it shows any deletion since (a command that ends
	 * at once need not wait for that look before its release). */
	age = now_ns() - e->last_ka;
	if (age < e->retry_ns / 2)
		rc = 1;
	else
		rc = keepalive(e, err);
	l->renewed_from = e->last_ka;
	if (rc == 1 && (!e->marked || job != e->job)) {
		if ((rc = put_value(e, job, 0, err)) == 1)
			e->marked = 1;
	} else if (rc == 1 && !opened)
		rc = still_ours(e, err);
	if (rc == 0) {
		e->leader = e->joined = 0;
		return LEASE_LOST;
	}
	return rc == 1 ? LEASE_OK : LEASE_ERR;
}

static int
etcd_release(struct lease *l, char *err)
{
	struct etcd *e = l->data;
	int was = e->joined, ended = -1;
	char scratch[LEASE_ERRLEN];

	/* The command is gone: say so in the txn that deletes our key (a
	 * failure leaves the next leader waiting for our stop time).  After
	 * a loss too, and a deleted key may leave our lease behind.  When
	 * that txn deleted our key, our lease holds nothing and is left to
	 * run out by itself (TTL: the lease duration), as a reaper leaves a
	 * dead holder's: a revoke would be one more round trip on the way out
	 * of every run (the expiry is a raft write too, but etcd's, later). */
	if (e->lease_id != 0 && e->rev > 0)
		ended = etcd_end(&e->api, e->key64, e->rev, e->mark64, e->ended64,
		    scratch);
	if (ended != 1 && (e->lease_id == 0 ||
	    etcd_revoke(&e->api, e->lease_id, err) == -1)) {
		if (!was)
			seterr(err, "not leading");
		return was ? LEASE_ERR : LEASE_LOST;
	}
	e->leader = e->joined = 0;
	e->lease_id = 0;
	if (!was) {
		seterr(err, "not leading");
		return LEASE_LOST;
	}
	return LEASE_OK;
}

static void
etcd_withdraw(struct lease *l)
{
	struct etcd *e = l->data;
	if (e->leader)
		return;
	leave(e);
	/* A place given up forgets what it saw: one taken again (--slots
	 * tries the other queues now and then) judges from its own looks,
	 * as a new contender does.  What an old place saw of a key ahead
	 * would make it wait a stop time for a key that left while the
	 * one below it stood, and so never led. */
	memset(&e->kl, 0, sizeof(e->kl));
	memset(&e->ahead_k, 0, sizeof(e->ahead_k));
	memset(e->near, 0, sizeof(e->near));
	e->ahead_next = 0;
	e->looked = 0;
	e->handed = e->handed_to = 0;
}

static int
etcd_watch_fd(struct lease *l)
{
	struct etcd *e = l->data;

	return e->watching ? e->wc.fd : -1;
}

/* Read what the watch sent: 1 if the key ahead went (or the watch broke). */
static int
etcd_watch_clear(struct lease *l)
{
	struct etcd *e = l->data;
	char err[LEASE_ERRLEN], type[16];
	char *msg;
	size_t len;
	int rc;

	while ((rc = http_stream_next(&e->wc, &msg, &len, 0, err)) == 1) {
		int64_t gone = 0, clean = 0, x;
		char p[64], k64[B64MAX], v64[64], v[32];
		ssize_t n;
		int i, del, got;

		/* The events of one revision come in one message, and one
		 * message may bring several revisions (a watch that catches
		 * up), in order. */
		for (i = 0; ; i++) {
			snprintf(p, sizeof(p), "result.events.%d.kv.key", i);
			got = json_get(msg, len, p, k64, sizeof(k64));
			if (got == 0)
				break;
			if (got == -1) {
				/* A key too long to be one we watch for, or a
				 * message we cannot read: the events after it
				 * (our key's DELETE among them, maybe) would
				 * be lost.  A waiter looks instead. */
				unwatch(e);
				return !e->leader;
			}
			snprintf(p, sizeof(p), "result.events.%d.type", i);
			del = json_get(msg, len, p, type, sizeof(type)) == 1 &&
			    !strcmp(type, "DELETE");
			if (e->span && !strcmp(k64, e->key64)) {
				if (del) {	/* ours: look */
					unwatch(e);
					return 1;
				}
			} else if (!e->span || !strcmp(k64, e->wkey64)) {
				snprintf(p, sizeof(p), "result.events.%d.kv.%s",
				    i, del ? "mod_revision" : "create_revision");
				if (json_get_int(msg, len, p, &x) != 1)
					x = 0;
				if (del)
					gone = x > 0 ? x : 1;
				/* A PUT (its type is left out, as the
				 * default) of the key ahead: it rewrote its
				 * value, so it leads now; watch the span. */
				else if (!e->leader && x == e->ahead_k.rev) {
					e->ahead_k.led = 1;
					if (e->kl.rev == x)
						e->kl.led = 1;
					else {
						e->kl = e->ahead_k;
						if (!e->span)
							e->respan = 1;
					}
				}
			} else if (e->span && !strcmp(k64, e->mark64)) {
				/* The mark, in the span too: which lease it
				 * stands on, as of this revision (the look
				 * that started the span read it before). */
				snprintf(p, sizeof(p), "result.events.%d.kv.lease", i);
				if (del || json_get_int(msg, len, p, &x) != 1)
					x = 0;
				e->mark_lease = x;
				if (x != 0 && x == e->kl.lease)
					e->kl.led = 1;
			} else if (!del && !strcmp(k64, e->ended64)) {
				/* The revision that ended the term we know
				 * the leader by. */
				snprintf(p, sizeof(p), "result.events.%d.kv.value", i);
				if (json_get(msg, len, p, v64, sizeof(v64)) == 1 &&
				    (n = b64_decode(v64, strlen(v64), v,
				    sizeof(v) - 1)) > 0) {
					v[n] = '\0';
					snprintf(p, sizeof(p),
					    "result.events.%d.kv.mod_revision", i);
					if (decimal(v, INT64_MAX) == e->kl.rev &&
					    json_get_int(msg, len, p, &x) == 1)
						clean = x;
				}
			}
		}
		if (gone) {
			/* The leader's clean end, whole (its key's DELETE and
			 * the ended key's PUT of its term in one revision):
			 * lead without a look (see etcd_acquire). */
			if (e->span && e->kl.rev == e->watch_rev &&
			    clean > 0 && clean == gone && (e->mark_lease == 0 ||
			    e->mark_lease == e->kl.lease)) {
				e->handed = gone;
				e->handed_to = e->rev;
			}
			unwatch(e);
			return 1;
		}
		if (json_get_bool(msg, len, "result.canceled") == 1)
			break;
		if (e->respan)
			return 1;	/* the worker calls acquire now */
	}
	if (rc == 1 || rc == -1) {
		/* The watch broke.  A waiter looks again now; a leader's
		 * renewals still check its key. */
		unwatch(e);
		return !e->leader;
	}
	return 0;
}

/* last_post: one POST of BODY to PATH into BUF at *N, for the watchdog;
 * -1 if it does not fit. */
static int
last_post(const struct etcd *e, char *buf, size_t cap, size_t *n,
    const char *path, const char *body, int last)
{
	char host[NET_HOSTLEN + 16];
	int k;

	/*
	 * One Host header serves them all: etcd checks only that it is there.
	 * The token is the one of the election: should etcd have dropped it
	 * by the time this is sent (unused for --auth-token-ttl, or replaced
	 * by a later login), the request is refused and the TTL frees the key.
	 */
	k = snprintf(buf + *n, cap - *n, "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "%s%s%s%s\r\n%s", path, net_name(&e->api.ep[0], host,
	    sizeof(host)), strlen(body), e->api.token[0] ? "Authorization: " :
	    "", e->api.token, e->api.token[0] ? "\r\n" : "",
	    last ? "Connection: close\r\n" : "", body);
	if (k < 0 || (size_t)k >= cap - *n)
		return -1;
	*n += (size_t)k;
	return 0;
}

/* bye_to_members: F holds N bytes of last words, for every member. */
static void
bye_to_members(const struct etcd *e, struct lease_farewell *f, size_t n)
{
	int i;

	f->len = n;
	for (i = 0; i < e->api.neps; i++)
		store_farewell_to(f, &e->api.ep[i]);
}

/*
 * Our last words, ready for the watchdog to send to each member: our clean
 * end (etcd_end), then the revoke of our lease, pipelined (it reads until
 * etcd closes, so that both run).  Should both not fit (a long JWT), the
 * clean end alone, and our lease, holding no key, runs out with its TTL.
 */
static void
etcd_farewell(struct lease *l, struct lease_farewell *f)
{
	struct etcd *e = l->data;
	char body[6 * B64MAX + 512], revoke[64];
	size_t n = 0;

	f->n = 0;
	f->eof = 0;
	if (etcd_end_body(body, sizeof(body), e->key64, e->rev, e->mark64,
	    e->ended64) == -1)
		return;
	snprintf(revoke, sizeof(revoke), "{\"ID\":\"%" PRId64 "\"}", e->lease_id);
	if (last_post(e, f->req, sizeof(f->req), &n, "/v3/kv/txn", body, 0) == 0 &&
	    last_post(e, f->req, sizeof(f->req), &n, "/v3/lease/revoke", revoke,
	    1) == 0)
		f->eof = 1;
	else {
		n = 0;
		if (last_post(e, f->req, sizeof(f->req), &n, "/v3/kv/txn", body,
		    1) == -1)
			return;
	}
	bye_to_members(e, f, n);
}

/*
 * A waiter's last words: the revoke of its lease, which takes its key
 * with it, so that a waiter whose supervisor was killed leaves the queue
 * at once, not when its lease runs out (and is not taken for a dead first
 * in line that never led, which the next must wait out, see reap_dead).
 */
static void
etcd_place_farewell(struct lease *l, struct lease_farewell *f)
{
	struct etcd *e = l->data;
	char revoke[64];
	size_t n = 0;

	f->n = 0;
	f->eof = 0;
	if (e->leader || !e->joined || e->lease_id == 0)
		return;
	snprintf(revoke, sizeof(revoke), "{\"ID\":\"%" PRId64 "\"}", e->lease_id);
	if (last_post(e, f->req, sizeof(f->req), &n, "/v3/lease/revoke", revoke,
	    1) == -1)
		return;
	bye_to_members(e, f, n);
}

void
etcd_close(struct lease *l)
{
	struct etcd *e = l->data;

	if (e == NULL)
		return;
	etcd_api_close(&e->api);
	http_close(&e->wc);
	free(e);
	l->data = NULL;
}

static const char *const etcd_prefixes[] = { "etcd://", NULL };

const struct lease_ops etcd_ops = {
	.scheme = "etcd",
	.prefixes = etcd_prefixes,
	.url_size = sizeof(struct etcd_url),
	.parse_url = etcd_parse_url,
	.where = etcd_where_lease,
	.open = etcd_open,
	.acquire = etcd_acquire,
	.renew = etcd_renew,
	.release = etcd_release,
	.withdraw = etcd_withdraw,
	.watch_fd = etcd_watch_fd,
	.watch_clear = etcd_watch_clear,
	.farewell = etcd_farewell,
	.place_farewell = etcd_place_farewell,
	.close = etcd_close,
	.status = etcd_status,
	.list = etcd_list,
};
