/*
 * etcd_read.c - --status and --list on the etcd store: they read the
 * keys under the prefix with range calls (--status asks the holder's TTL
 * too), and never contend.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/json.h"
#include "store/etcd.h"

/* open_reader: L opened on URL to read, not to contend (NAME, if not
 * NULL, in place of CFG's).  Its state, or NULL with ERR. */
static struct etcd *
open_reader(struct lease *l, const void *url, const struct lease_config *cfg,
    const char *name, char *err)
{
	struct lease_config c = *cfg;

	if (name != NULL)
		c.name = name;
	c.node_id = "";
	if (c.lease_ns <= 0)
		c.lease_ns = NS_PER_S;
	memset(l, 0, sizeof(*l));
	if (etcd_open(l, url, &c, err) != LEASE_OK)
		return NULL;
	return l->data;
}

/* Who leads, for how much longer, and who waits, in order. */
int
etcd_status(const void *u, const struct lease_config *cfg,
    struct lease_holder *h, struct lease_holder *w, int maxw, int *nw,
    char *err)
{
	struct lease l;
	struct http_resp r;
	struct etcd *e;
	char body[8192], path[64];
	int64_t count = 0, ttl;
	struct kv kv;
	int i;

	if ((e = open_reader(&l, u, cfg, NULL, err)) == NULL)
		return LEASE_ERR;
	snprintf(body, sizeof(body), "{\"key\":\"%s\",\"range_end\":\"%s\","
	    "\"limit\":%d,\"sort_order\":\"ASCEND\",\"sort_target\":\"CREATE\"}",
	    e->prefix64, e->end64, maxw + 1);
	if (etcd_call(&e->api, "/v3/kv/range", body, &r, err) != 0) {
		free(r.body);
		etcd_close(&l);
		return LEASE_ERR;
	}
	if (json_get_int(r.body, r.len, "count", &count) != 1)
		count = 0;
	if (etcd_kv_get(&r, "kvs.0", &kv)) {
		*h = kv.h;
		h->waiters = (int)(count - 1);
		holder_judge(h, kv.sys, kv.start, &e->me);
		for (i = 1; i <= maxw; i++) {
			struct kv wk;

			snprintf(path, sizeof(path), "kvs.%d", i);
			if (!etcd_kv_get(&r, path, &wk))
				break;
			w[(*nw)++] = wk.h;
		}
	} else
		h->waiters = 0;
	free(r.body);
	if (kv.found && kv.lease) {
		snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", kv.lease);
		if (etcd_call(&e->api, "/v3/lease/timetolive", body, &r, err) == 0 &&
		    json_get_int(r.body, r.len, "TTL", &ttl) == 1 && ttl >= 0)
			h->ttl_ms = ttl * 1000;
		free(r.body);
	}
	etcd_close(&l);
	return LEASE_OK;
}

/* The keys beside a lease's queue, PREFIX/NAME<suffix>. */
enum { SIDE_ENDED = 1, SIDE_LEADER };

/*
 * side_key: is REST (LEN bytes, after PREFIX/) NAME.ended, the term of
 * NAME's last clean end (a free lease when no other key is left), or
 * NAME.leader, a leader's mark (its NAME is listed by its queue keys)?
 * SIDE_ENDED or SIDE_LEADER with NAME (CAP bytes) set, or 0.
 */
static int
side_key(const char *rest, size_t len, char *name, size_t cap)
{
	static const char *const sfx[] = { ".ended", ".leader" };
	size_t i, k;

	for (i = 0; i < 2; i++) {
		k = strlen(sfx[i]);
		if (len <= k || len - k >= cap || memcmp(rest + len - k, sfx[i], k))
			continue;
		memcpy(name, rest, len - k);
		name[len - k] = '\0';
		if (slot_name_ok(name))
			return i == 0 ? SIDE_ENDED : SIDE_LEADER;
		name[0] = '\0';
	}
	return 0;
}

/*
 * etcd_list: the lease names under PREFIX/, one range per name: the first
 * key (keys only) from a cursor that then skips every key of that name
 * (PREFIX/NAME/ ... sort below PREFIX/NAME0).  A key that is not
 * PREFIX/NAME/ID is skipped, with a word.  lease.c reads each name with
 * etcd_status.
 */
#define LISTKEYMAX	8192
int
etcd_list(const void *url, const struct lease_config *cfg,
    void (*fn)(void *, const char *, const char *, const char *), void *arg,
    char *err)
{
	const struct etcd_url *u = url;
	struct lease l;
	struct http_resp r;
	struct etcd *e;
	char *cur, *key, *raw, *body, *c64, end64[B64MAX], name[LEASE_IDLEN];
	size_t plen, clen, nlen;
	ssize_t n;
	int rc = LEASE_OK, got, i, side;

	/* etcd_open wants a name; not used */
	if ((e = open_reader(&l, u, cfg, "list", err)) == NULL)
		return LEASE_ERR;
	cur = malloc(LISTKEYMAX + 2);
	key = malloc(LISTKEYMAX + 2);
	raw = malloc(LISTKEYMAX * 2);
	c64 = malloc(LISTKEYMAX * 2);
	body = malloc(LISTKEYMAX * 2 + 2 * B64MAX);
	if (!cur || !key || !raw || !c64 || !body) {
		seterr(err, "%s", strerror(errno));
		rc = LEASE_ERR;
		goto out;
	}
	plen = (size_t)snprintf(cur, LISTKEYMAX, "%s/", u->prefix);
	clen = plen;
	/* Every key under PREFIX/ sorts below PREFIX0 ('/' + 1). */
	memcpy(key, cur, plen);
	key[plen - 1] = '0';
	if (b64_encode(key, plen, end64, sizeof(end64)) == 0) {
		seterr(err, "etcd prefix too long");
		rc = LEASE_ERR;
		goto out;
	}
	for (i = 0; i < 1000000; i++) {
		const char *rest, *slash;

		if (b64_encode(cur, clen, c64, LISTKEYMAX * 2) == 0) {
			seterr(err, "etcd: a key under %s/ is too long", u->prefix);
			rc = LEASE_ERR;
			break;
		}
		snprintf(body, LISTKEYMAX * 2 + 2 * B64MAX, "{\"key\":\"%s\","
		    "\"range_end\":\"%s\",\"limit\":1,\"keys_only\":true}", c64,
		    end64);
		if (etcd_call(&e->api, "/v3/kv/range", body, &r, err) != 0) {
			free(r.body);
			rc = LEASE_ERR;
			break;
		}
		got = json_get(r.body, r.len, "kvs.0.key", raw, LISTKEYMAX * 2);
		free(r.body);
		if (got == 0)
			break;		/* no more keys */
		if (got == -1 || (n = b64_decode(raw, strlen(raw), key,
		    LISTKEYMAX)) < (ssize_t)plen) {
			seterr(err, "etcd: a key under %s/ is too long", u->prefix);
			rc = LEASE_ERR;
			break;
		}
		key[n] = '\0';
		rest = key + plen;
		slash = memchr(rest, '/', (size_t)n - plen);
		nlen = slash ? (size_t)(slash - rest) : 0;
		if (slash && nlen < sizeof(name) && !memchr(rest, '\0', nlen)) {
			memcpy(name, rest, nlen);
			name[nlen] = '\0';
		} else
			name[0] = '\0';
		if (!slash && (side = side_key(rest, (size_t)n - plen, name,
		    sizeof(name))) != 0) {
			/* NAME's, and past this one key: NAME.x may sort
			 * after it, and NAME's queue keys name it again
			 * (lease.c lists it once). */
			if (side == SIDE_ENDED)
				fn(arg, name, NULL, NULL);
			memcpy(cur, key, (size_t)n);
			cur[n] = '\0';
			clen = (size_t)n + 1;
			continue;
		}
		if (name[0] && slot_name_ok(name)) {
			fn(arg, name, NULL, NULL);
			/* Past every key of NAME: PREFIX/NAME0. */
			memcpy(cur + plen, name, nlen);
			cur[plen + nlen] = '0';
			clen = plen + nlen + 1;
		} else {
			fn(arg, NULL, key, slash ? "not a lease name" :
			    "not a leaderrun key (PREFIX/NAME/ID)");
			/* Past this key alone: KEY followed by a NUL byte. */
			memcpy(cur, key, (size_t)n);
			cur[n] = '\0';
			clen = (size_t)n + 1;
		}
	}
out:
	free(cur);
	free(key);
	free(raw);
	free(c64);
	free(body);
	etcd_close(&l);
	return rc;
}
