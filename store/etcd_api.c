/*
 * etcd_api.c - a client of etcd's v3 JSON gateway (etcd_api.h): members in
 * turn, login and token, error texts a person can act on.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/etcd_api.h"
#include "wire/json.h"

const char *
etcd_where(const struct etcd_api *a, char *buf, size_t len)
{
	return net_name(&a->ep[a->cur], buf, len);
}

/*
 * The "message" of an etcd error body, or a summary of what came instead.
 * The refusals a person has to act on (no permission, no user) say what
 * to do.
 */
void
etcd_reply_error(const struct etcd_api *a, const struct http_resp *r, char *err)
{
	char msg[200], ep[NET_HOSTLEN + 16];

	if (r->body && (json_get(r->body, r->len, "message", msg, sizeof(msg)) == 1 ||
	    json_get(r->body, r->len, "error", msg, sizeof(msg)) == 1)) {
		etcd_where(a, ep, sizeof(ep));
		if (strstr(msg, "permission denied") && a->user[0])
			seterr(err, "etcd %s: permission denied: user '%.64s' may "
			    "not read and write %.100s (grant one of its roles "
			    "readwrite on that prefix)", ep, a->user, a->scope);
		else if (strstr(msg, "user name is empty"))
			seterr(err, "etcd %s: the server requires authentication: "
			    "name a user (etcd://USER@HOST:PORT) and give its "
			    "password (LEADERRUN_STORE_PASSWORD or "
			    "--store-password-file)", ep);
		else
			seterr(err, "etcd %s: %s", ep, msg);
	} else if (r->body && strstr(r->body, "CommonName of client sending"))
		/* etcd's gateway cannot pass a certificate's name on as the
		 * user, so with auth on it refuses any that has one. */
		seterr(err, "etcd %s: refused the TLS client certificate: with "
		    "authentication on, etcd's JSON gateway takes none that has a "
		    "Common Name; issue one without (leaderrun(1), TLS)",
		    etcd_where(a, ep, sizeof(ep)));
	else if (r->body && strstr(r->body, "HTTP request to an HTTPS server"))
		seterr(err, "etcd %s: the server speaks only TLS: reach it "
		    "through a TLS tunnel such as stunnel (leaderrun(1), TLS)",
		    etcd_where(a, ep, sizeof(ep)));
	else
		seterr(err, "etcd %s: HTTP status %d%s", etcd_where(a, ep, sizeof(ep)),
		    r->status, r->body && !json_valid(r->body, r->len) ?
		    " with a body that is not JSON (not etcd's JSON gateway?)" : "");
}

static void
next_member(struct etcd_api *a)
{
	http_close(&a->c);
	a->cur = (a->cur + 1) % a->neps;
	http_init(&a->c, &a->ep[a->cur]);
}

/* 1 if R refuses the token we sent (or the missing one): log in again. */
static int
token_refused(const struct http_resp *r)
{
	char msg[200];

	return r->status != 200 && r->body &&
	    json_get(r->body, r->len, "message", msg, sizeof(msg)) == 1 &&
	    (strstr(msg, "invalid auth token") ||
	    strstr(msg, "revision of auth store is old") ||
	    strstr(msg, "user name is empty"));
}

/*
 * login: trade our user and password for a token, from the member we talk
 * to, before DEADLINE.  Returns 0 (E->token set, or none needed: the server
 * has no authentication on), -1 when the member did not answer or cannot
 * serve (ERR; another may), 1 when the login was refused (ERR says why,
 * never with the password).
 */
static int
login(struct etcd_api *a, int64_t deadline, char *err)
{
	char *body, ep[NET_HOSTLEN + 16], msg[200];
	size_t cap = 6 * (strlen(a->user) + strlen(a->password)) + 64, n, k;
	struct http_resp r;
	int64_t code = 0;
	int rc;

	a->token[0] = '\0';
	if ((body = malloc(cap)) == NULL) {
		seterr(err, "%s", strerror(errno));
		return -1;
	}
	/* {"name":USER,"password":PASSWORD}, both JSON-escaped */
	n = (size_t)snprintf(body, cap, "{\"name\":");
	k = json_quote(a->user, body + n, cap - n);
	n += k;
	if (k > 0)
		n += (size_t)snprintf(body + n, cap - n, ",\"password\":");
	if (k == 0 || (k = json_quote(a->password, body + n, cap - n)) == 0 ||
	    n + k + 2 > cap) {
		free(body);
		seterr(err, "etcd: user or password too long");
		return 1;
	}
	n += k;
	body[n++] = '}';
	body[n] = '\0';
	rc = http_post(&a->c, "/v3/auth/authenticate", NULL, body, n, &r,
	    deadline, err);
	wipe(body, n);
	free(body);
	if (rc == -1)
		return -1;
	a->answered = 1;
	etcd_where(a, ep, sizeof(ep));
	msg[0] = '\0';
	if (r.status != 200 && r.body &&
	    json_get(r.body, r.len, "message", msg, sizeof(msg)) != 1)
		msg[0] = '\0';
	rc = 1;
	if (r.status == 200 && r.body &&
	    json_get(r.body, r.len, "token", a->token, sizeof(a->token)) == 1 &&
	    a->token[0]) {
		const char *t;

		/* It goes into a header line: printable ASCII only. */
		for (t = a->token; *t > ' ' && *t < 0x7f; t++)
			;
		if (*t == '\0')
			rc = 0;
		else
			seterr(err, "etcd %s: login: the token holds bytes that "
			    "cannot go into a header", ep);
	} else if (r.status == 200)
		seterr(err, "etcd %s: login: no token in the reply", ep);
	else if (strstr(msg, "authentication is not enabled")) {
		a->auth_off = 1;	/* as etcdctl: go on without a token */
		rc = 0;
	} else if (strstr(msg, "authentication failed"))
		seterr(err, "etcd %s: authentication failed: invalid user ID or "
		    "password (user '%.64s')", ep, a->user);
	else {
		etcd_reply_error(a, &r, err);
		if (r.status >= 500 || (r.body && json_get_int(r.body, r.len,
		    "code", &code) == 1 && code == 14))
			rc = -1;
	}
	if (rc != 0)
		a->token[0] = '\0';
	free(r.body);
	return rc;
}

/* auth_header: the header line that carries our token into BUF, or "". */
void
etcd_auth_header(const struct etcd_api *a, char *buf, size_t len)
{
	if (a->token[0])
		snprintf(buf, len, "Authorization: %s\r\n", a->token);
	else
		buf[0] = '\0';
}

/*
 * post: one request to the member we talk to, before DEADLINE, carrying
 * our token: with a user but no token yet, log in first; when etcd refuses
 * the token (unused for too long, or the auth store changed), log in again
 * and send the request once more.  Returns 0 with *R (any status), -1 when
 * the member did not answer (ERR), 1 when the login was refused (ERR, *R
 * empty).
 */
static int
post(struct etcd_api *a, const char *path, const char *body, struct http_resp *r,
    int64_t deadline, char *err)
{
	char hdr[ETCD_TOKENMAX + 32];
	int again, rc;

	memset(r, 0, sizeof(*r));
	for (again = 0;; again++) {
		if (a->user[0] && !a->token[0] && !a->auth_off &&
		    (rc = login(a, deadline, err)) != 0)
			return rc;
		etcd_auth_header(a, hdr, sizeof(hdr));
		if (http_post(&a->c, path, hdr[0] ? hdr : NULL, body,
		    strlen(body), r, deadline, err) == -1)
			return -1;
		a->answered = 1;
		if (again || !a->user[0] || !token_refused(r))
			return 0;
		free(r->body);
		memset(r, 0, sizeof(*r));
		a->token[0] = '\0';
		a->auth_off = 0;
	}
}

/*
 * call: POST BODY to PATH within the call's time budget, moving on to the
 * next member when one fails, hangs or has no leader; each member tried
 * gets an even share of the time left.  Returns 0 with a 200 reply in *R
 * (a JSON body), 1 with another status in *R (ERR says what), -1 when no
 * member answered (ERR says why).  The caller frees R->body.
 */
int
etcd_call(struct etcd_api *a, const char *path, const char *body, struct http_resp *r,
    char *err)
{
	int64_t end = now_ns() + a->io_ns;
	int tries, rc;

	memset(r, 0, sizeof(*r));
	for (tries = 0; tries < a->neps; tries++) {
		int64_t now = now_ns();
		int64_t share = (end - now) / (a->neps - tries);
		int retryable = 0;

		if (tries > 0 && now >= end)
			break;
		if ((rc = post(a, path, body, r, now + share, err)) == 1)
			return 1;	/* a refused login: the same everywhere */
		if (rc == -1) {
			next_member(a);
			continue;
		}
		if (r->status == 200 && r->body && json_valid(r->body, r->len))
			return 0;
		if (r->status == 200) {
			char ep[NET_HOSTLEN + 16];

			seterr(err, "etcd %s: reply to %s is not JSON", etcd_where(a,
			    ep, sizeof(ep)), path);
			retryable = 1;
		} else {
			int64_t code = 0;

			etcd_reply_error(a, r, err);
			/* Unavailable (14), or a server/proxy fault: another
			 * member may do better. */
			if (r->status >= 500 || (r->body && json_get_int(r->body,
			    r->len, "code", &code) == 1 && code == 14))
				retryable = 1;
		}
		if (!retryable)
			return 1;
		free(r->body);
		memset(r, 0, sizeof(*r));
		next_member(a);
	}
	/* A TLS-only etcd drops a plain HTTP request without a word. */
	if (!a->answered && strstr(err, "connection closed before the response"))
		snprintf(err + strlen(err), LEASE_ERRLEN - strlen(err),
		    " (a TLS-only port? reach it through a TLS tunnel such as "
		    "stunnel: leaderrun(1), TLS)");
	return -1;
}

/* The reply is an etcd error whose message holds WHAT. */
int
etcd_is_error(const struct http_resp *r, const char *what)
{
	char msg[200];

	return r->status != 200 && r->body &&
	    json_get(r->body, r->len, "message", msg, sizeof(msg)) == 1 &&
	    strstr(msg, what) != NULL;
}

/* revoke: drop lease ID (and with it its key).  Gone already is fine. */
int
etcd_revoke(struct etcd_api *a, int64_t id, char *err)
{
	struct http_resp r;
	char body[64];
	int rc;

	snprintf(body, sizeof(body), "{\"ID\":\"%" PRId64 "\"}", id);
	rc = etcd_call(a, "/v3/lease/revoke", body, &r, err);
	if (rc == 1 && etcd_is_error(&r, "lease not found"))
		rc = 0;
	free(r.body);
	return rc == 0 ? 0 : -1;
}


void
etcd_api_close(struct etcd_api *a)
{
	http_close(&a->c);
	if (a->password) {
		wipe(a->password, strlen(a->password));
		free(a->password);
		a->password = NULL;
	}
	wipe(a->token, sizeof(a->token));
}
