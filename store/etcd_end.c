/*
 * etcd_end.c - how an etcd leader's term ends (etcd_end.h): the clean-end
 * txn, and the waiter's judgement of an end it did not see said.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/etcd_end.h"
#include "store/store.h"
#include "wire/json.h"

int64_t
etcd_ended_read(const struct http_resp *r, const char *path)
{
	char p[160], raw[64], val[32];
	ssize_t n;
	int64_t x;

	snprintf(p, sizeof(p), "%s.value", path);
	if (json_get(r->body, r->len, p, raw, sizeof(raw)) == 1 &&
	    (n = b64_decode(raw, strlen(raw), val, sizeof(val) - 1)) > 0) {
		val[n] = '\0';
		if ((x = decimal(val, INT64_MAX)) > 0)
			return x;
	}
	return 0;
}

int
etcd_end_body(char *body, size_t len, const char *key64, int64_t rev,
    const char *mark64, const char *ended64)
{
	char dec[24], rev64[48];
	int n;

	n = snprintf(dec, sizeof(dec), "%" PRId64, rev);
	if (b64_encode(dec, (size_t)n, rev64, sizeof(rev64)) == 0)
		return -1;
	n = snprintf(body, len, "{\"compare\":[{\"target\":\"CREATE\","
	    "\"key\":\"%s\",\"create_revision\":\"%" PRId64 "\"}],"
	    "\"success\":[{\"request_delete_range\":{\"key\":\"%s\"}},"
	    "{\"request_txn\":{\"compare\":[{\"target\":\"VALUE\",\"key\":"
	    "\"%s\",\"value\":\"%s\"}],\"success\":[{\"request_delete_range\":"
	    "{\"key\":\"%s\"}}]}},{\"request_put\":{\"key\":\"%s\",\"value\":"
	    "\"%s\"}}],\"failure\":[{\"request_txn\":{\"compare\":[{\"target\":"
	    "\"VALUE\",\"key\":\"%s\",\"value\":\"%s\"}],\"success\":["
	    "{\"request_delete_range\":{\"key\":\"%s\"}}]}},{\"request_put\":"
	    "{\"key\":\"%s\",\"value\":\"%s\"}}]}", key64, rev, key64,
	    mark64, key64, mark64, ended64, rev64, mark64, key64,
	    mark64, ended64, rev64);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
etcd_end(struct etcd_api *a, const char *key64, int64_t rev,
    const char *mark64, const char *ended64, char *err)
{
	char body[4096];
	struct http_resp r;
	int rc;

	if (etcd_end_body(body, sizeof(body), key64, rev, mark64, ended64) == -1) {
		seterr(err, "etcd key too long");
		return -1;
	}
	if (etcd_call(a, "/v3/kv/txn", body, &r, err) == 0)
		rc = json_get_bool(r.body, r.len, "succeeded") == 1;
	else
		rc = -1;
	free(r.body);
	return rc;
}

void
etcd_known_set(struct etcd_known *k, int64_t rev, int64_t lease,
    const struct lease_holder *h, int64_t lease_ns, int marked)
{
	int led = h->acquired_ms > 0 || marked;

	if (k->rev == rev) {
		if (led)
			k->led = 1;
		return;
	}
	memset(k, 0, sizeof(*k));
	k->led = led;
	k->rev = rev;
	k->lease = lease;
	k->stop_ns = h->stop_ms > 0 ? h->stop_ms * NS_PER_MS :
	    h->lease_ms > 0 ? h->lease_ms * NS_PER_MS : lease_ns;
	snprintf(k->id, sizeof(k->id), "%s", h->id);
	snprintf(k->host, sizeof(k->host), "%s", h->host);
	k->slots = h->slots;
}

void
etcd_known_poll(struct etcd_api *a, struct etcd_known *k, int64_t retry_ns)
{
	char body[64], err[LEASE_ERRLEN];
	struct http_resp r;
	int64_t t0 = now_ns(), ttl;

	if (k->rev == 0 || k->lease == 0 || k->gone ||
	    (k->polled && t0 - k->polled < retry_ns / 2))
		return;
	k->polled = t0;
	snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", k->lease);
	if (etcd_call(a, "/v3/lease/timetolive", body, &r, err) == 0 &&
	    json_get_int(r.body, r.len, "TTL", &ttl) == 1 && ttl > 0) {
		if (t0 + ttl * NS_PER_S > k->not_before)
			k->not_before = t0 + ttl * NS_PER_S;
		if (json_get_int(r.body, r.len, "grantedTTL", &ttl) == 1 && ttl > 0)
			k->granted_ns = ttl * NS_PER_S;
	}
	free(r.body);
}

int
etcd_known_wait(struct lease *l, struct etcd_known *k, int64_t ended,
    int64_t our_rev, int64_t retry_ns, int after_clean,
    struct lease_holder *h, int64_t *retry_out)
{
	int64_t now = now_ns(), left;

	if (k->rev == 0 || k->rev == our_rev || ended == k->rev) {
		memset(k, 0, sizeof(*k));
		return 0;
	}
	if (k->gone == 0) {
		int ran_out = k->not_before && now >= k->not_before;

		k->gone = now;
		if (ran_out && (k->led || after_clean)) {
			int64_t blur = k->stop_ns - (k->granted_ns - NS_PER_S -
			    retry_ns / 2);

			k->until = now + (blur > 0 ? blur : 0);
		} else if (ran_out) {
			k->until = now + k->stop_ns;
			lease_warn(l, "etcd: the key of %s on %s, term %"
			    PRId64 ", went without a clean end before it led "
			    "(its lease ran out?), maybe while it waited out a "
			    "leader before it: waiting %lld ms, its "
			    "renew-deadline + kill-after, before leading",
			    k->id[0] ? k->id : "the first in line",
			    k->host[0] ? k->host : "?", k->rev,
			    (long long)(k->stop_ns / NS_PER_MS));
		} else {
			k->until = now + k->stop_ns;
			lease_warn(l, "etcd: the key of %s on %s, term %"
			    PRId64 ", went without a clean end (its lease revoked, "
			    "or keys deleted by hand?) while its lease still ran: "
			    "waiting %lld ms, its renew-deadline + kill-after, "
			    "before leading", k->id[0] ? k->id : "the leader",
			    k->host[0] ? k->host : "?", k->rev,
			    (long long)(k->stop_ns / NS_PER_MS));
		}
	}
	if ((left = k->until - now) <= 0) {
		memset(k, 0, sizeof(*k));
		return 0;
	}
	h->state = LEASE_HELD;
	snprintf(h->id, sizeof(h->id), "%s", k->id);
	snprintf(h->host, sizeof(h->host), "%s", k->host);
	h->slots = k->slots;
	h->term = (uint64_t)k->rev;
	h->ttl_ms = left / NS_PER_MS;
	if (*retry_out > retry_ns / 4)
		*retry_out = retry_ns / 4;
	if (left < *retry_out)
		*retry_out = left;
	return 1;
}
