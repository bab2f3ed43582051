/*
 * redis_conn.c - connections to one Redis server (redis_conn.h): log in,
 * pipelined requests with deadlines, error texts a person can act on.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/redis_conn.h"

const char *
redis_where(const struct redis_server *r, char *buf, size_t len)
{
	return net_name(&r->ep, buf, len);
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

void
redis_reply_error(const struct redis_server *r, const struct resp_val *v, const char *what,
    char *err)
{
	char text[160], ep[NET_HOSTLEN + 16];

	resp_text(v, text, sizeof(text));
	if (v->type == RESP_ERROR)
		seterr(err, "redis %s: %s: %s%s", redis_where(r, ep, sizeof(ep)), what,
		    text, hint(text));
	else
		seterr(err, "redis %s: %s: unexpected reply '%s'", redis_where(r, ep,
		    sizeof(ep)), what, text);
}

void
redis_conn_close(struct redis_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

int
redis_exchange(struct redis_server *r, struct redis_conn *c, const char *req, size_t len,
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
			/* A server's own error over our line limit is Redis
			 * talking: no doubt about what answered. */
			seterr(err, "redis %s: %s%s", redis_where(r, ep,
			    sizeof(ep)), perr, strncmp(perr, "server error",
			    strlen("server error")) == 0 ? "" :
			    " (not a Redis server?)");
			goto fail;
		}
		if (c->len == sizeof(c->buf)) {
			seterr(err, "redis %s: reply too long", redis_where(r, ep,
			    sizeof(ep)));
			goto fail;
		}
		got = net_recv(c->fd, &r->ep, c->buf + c->len,
		    sizeof(c->buf) - c->len, deadline, err);
		if (got == -1)
			goto fail;
		if (got == 0) {
			seterr(err, "redis %s: connection closed by the server",
			    redis_where(r, ep, sizeof(ep)));
			goto fail;
		}
		c->len += (size_t)got;
	}
	if (exact && off != c->len) {
		seterr(err, "redis %s: more bytes than replies", redis_where(r, ep,
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
	redis_conn_close(c);
	return -1;
}

int
redis_conn_open(struct redis_server *r, struct redis_conn *c, int select, int64_t deadline,
    char *err)
{
	char req[2 * REDIS_PASSMAX + 2 * LEASE_IDLEN + 64], db[16];
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
	rc = redis_exchange(r, c, req, n, rep, nrep, 1, deadline, err);
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
			redis_reply_error(r, v, what, err);
		} else if (r->has_pass && i == 0)
			redis_reply_error(r, v, "AUTH", err);
		else
			redis_reply_error(r, v, "SELECT", err);
		redis_conn_close(c);
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
stale(const struct redis_conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);

	return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR);
}

int
redis_call(struct redis_server *r, struct redis_conn *c, const char *req,
    size_t len, struct resp_reply *rep, int nrep, char *err)
{
	int64_t deadline = now_ns() + r->io_ns;

	if (c->fd != -1 && stale(c))
		redis_conn_close(c);
	if (c->fd == -1 && redis_conn_open(r, c, 1, deadline, err) == -1)
		return -1;
	return redis_exchange(r, c, req, len, rep, nrep, 1, deadline, err);
}

/* keys and arguments of one EVAL */
#define EVAL_ARGMAX	24

int
redis_eval(char *buf, size_t cap, size_t *n, const char *script, int nkeys,
    int argc, const char *const *args, const size_t *lens)
{
	const char *argv[3 + EVAL_ARGMAX];
	size_t l[3 + EVAL_ARGMAX], k;
	char nk[4];
	int i;

	if (argc > EVAL_ARGMAX)
		return -1;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVAL", l[0] = 4;
	argv[1] = script, l[1] = strlen(script);
	argv[2] = nk, l[2] = strlen(nk);
	for (i = 0; i < argc; i++) {
		argv[3 + i] = args[i];
		l[3 + i] = lens ? lens[i] : strlen(args[i]);
	}
	if ((k = resp_cmd(buf + *n, cap - *n, 3 + i, argv, l)) == 0)
		return -1;
	*n += k;
	return 0;
}

int
redis_int_reply(const struct redis_server *r, const struct resp_reply *rep, const char *what,
    int64_t *x, char *err)
{
	if (rep->v[0].type != RESP_INT) {
		redis_reply_error(r, &rep->v[0], what, err);
		return -1;
	}
	*x = rep->v[0].num;
	return 0;
}

