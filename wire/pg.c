/*
 * pg.c - a PostgreSQL protocol 3.0 connection for leaderrun's store: it
 * logs in, runs statements and collects notifications, every wait bounded
 * by the caller's deadline.  The bytes are pg_msg.c's business.
 *
 * Messages are taken whole from one fixed buffer (pg_parse judges each
 * from its header first).  Messages the server may send at any time
 * (ParameterStatus, NoticeResponse, NotificationResponse) are dealt with
 * where they are read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/base.h"
#include "lib/digest.h"
#include "wire/net.h"
#include "wire/pg.h"
#include "wire/scram.h"

/* ---- a connection ------------------------------------------------------- */

/* shut: close C after a failure; later calls fail at once. */
static void
shut(struct pg_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->off = c->have = 0;
	c->nnotes = 0;
}

/* protocol: the server said something we cannot follow: WHY (ERR). */
static int
protocol(struct pg_conn *c, const char *why, char *err)
{
	char name[NET_HOSTLEN + 16], tmp[ERRLEN];

	snprintf(tmp, sizeof(tmp), "%s", why);
	seterr(err, "%s: protocol error: %s", net_name(&c->ep, name,
	    sizeof(name)), tmp);
	shut(c);
	return PG_EFAIL;
}

static int
closed(struct pg_conn *c, char *err)
{
	char name[NET_HOSTLEN + 16];

	seterr(err, "%s: connection closed", net_name(&c->ep, name,
	    sizeof(name)));
	return PG_EFAIL;
}

/*
 * readmsg: the next message into *M, valid until the next call.  PG_OK,
 * PG_EFAIL, or, if IDLE and DEADLINE passed with no byte of a message
 * waiting, 1 (the connection stays in step).
 */
static int
readmsg(struct pg_conn *c, int64_t deadline, struct pg_msg *m, int idle,
    char *err)
{
	char why[ERRLEN];
	size_t used;
	ssize_t k;
	int rc;

	if (c->fd < 0)
		return closed(c, err);
	for (;;) {
		rc = pg_parse(c->buf + c->off, c->have - c->off, m, &used, why);
		if (rc == 1) {
			c->off += used;
			return PG_OK;
		}
		if (rc == -1)
			return protocol(c, why, err);
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->have - c->off);
			c->have -= c->off;
			c->off = 0;
		}
		k = net_recv(c->fd, &c->ep, c->buf + c->have,
		    sizeof(c->buf) - c->have, deadline, err);
		if (k == -1 && idle && errno == ETIMEDOUT && c->have == 0)
			return 1;
		if (k == 0) {
			char name[NET_HOSTLEN + 16];

			seterr(err, "receive %s: connection closed by the server",
			    net_name(&c->ep, name, sizeof(name)));
		}
		if (k <= 0) {
			shut(c);
			return PG_EFAIL;
		}
		c->have += (size_t)k;
	}
}

/* note: queue notification M; the oldest goes if the queue is full. */
static int
note(struct pg_conn *c, const struct pg_msg *m, char *err)
{
	struct pg_note nt;
	char why[ERRLEN];

	if (pg_notification(m, &nt, why) == -1)
		return protocol(c, why, err);
	if (c->nnotes == PG_NOTES) {
		c->first = (c->first + 1) % PG_NOTES;
		c->nnotes--;
		c->lost++;
	}
	c->notes[(c->first + c->nnotes) % PG_NOTES] = nt;
	c->nnotes++;
	return PG_OK;
}

/* param: a ParameterStatus: the version and whether it is a standby. */
static int
param(struct pg_conn *c, const struct pg_msg *m, char *err)
{
	const char *s[2];

	if (pg_cstrings(m, 0, s, 2) != 2)
		return protocol(c, "malformed ParameterStatus", err);
	if (strcmp(s[0], "server_version") == 0)
		pg_text(c->version, sizeof(c->version), s[1], strlen(s[1]));
	else if (strcmp(s[0], "in_hot_standby") == 0)
		c->standby = strcmp(s[1], "on") == 0;
	return PG_OK;
}

/*
 * next: the next message that is not one the server may send at any time.
 * PG_OK with *M; PG_EFAIL; if IDLE, 1 when a notification was queued or
 * DEADLINE passed.
 */
static int
next(struct pg_conn *c, int64_t deadline, struct pg_msg *m, int idle,
    char *err)
{
	int rc;

	for (;;) {
		if ((rc = readmsg(c, deadline, m, idle, err)) != PG_OK)
			return rc;
		switch (m->type) {
		case 'S':
			if (param(c, m, err) != PG_OK)
				return PG_EFAIL;
			break;
		case 'N':	/* a notice: nothing we act on */
			break;
		case 'A':
			if (note(c, m, err) != PG_OK)
				return PG_EFAIL;
			if (idle)
				return 1;
			break;
		default:
			return PG_OK;
		}
	}
}

/* srverr: ErrorResponse M into ERR and C->sqlstate: PG_ESERVER. */
static int
srverr(struct pg_conn *c, const struct pg_msg *m, char *err)
{
	char name[NET_HOSTLEN + 16], why[ERRLEN];
	struct pg_error e;

	if (pg_errfields(m, &e, why) == -1)
		return protocol(c, why, err);
	memcpy(c->sqlstate, e.code, sizeof(c->sqlstate));
	seterr(err, "%s: %s %s: %s", net_name(&c->ep, name, sizeof(name)),
	    e.severity[0] ? e.severity : "ERROR", e.code[0] ? e.code : "?????",
	    e.message);
	return PG_ESERVER;
}

static int
sendout(struct pg_conn *c, size_t n, int64_t deadline, char *err)
{
	int rc = net_send(c->fd, &c->ep, c->out, n, deadline, err);

	if (rc == -1) {
		shut(c);
		return PG_EFAIL;
	}
	return PG_OK;
}

/* md5_reply: "md5" md5hex(md5hex(PW USER) SALT) into OUT (36 bytes). */
static void
md5_reply(const struct pg_login *l, const char *salt, char *out)
{
	unsigned char d[MD5_LEN];
	char hex[2 * MD5_LEN + 1];
	struct md5 m;

	md5_init(&m);
	md5_update(&m, l->password, l->pwlen);
	md5_update(&m, l->user, strlen(l->user));
	md5_final(&m, d);
	hexlower(d, sizeof(d), hex);
	md5_init(&m);
	md5_update(&m, hex, 2 * MD5_LEN);
	md5_update(&m, salt, 4);
	md5_final(&m, d);
	memcpy(out, "md5", 3);
	hexlower(d, sizeof(d), out + 3);
	wipe(hex, sizeof(hex));
	wipe(d, sizeof(d));
}

/* The names of the methods we do not speak, for the message. */
static const char *
method(int32_t code)
{
	switch (code) {
	case 2:
		return "Kerberos V5";
	case 6:
		return "SCM credentials";
	case 7:
	case 8:
		return "GSSAPI";
	case 9:
		return "SSPI";
	default:
		return "unknown";
	}
}

/*
 * auth: one Authentication message M of the login.  *SASL: 0 none, 1
 * begun, 2 the server proved itself; *OK set at AuthenticationOk.
 */
static int
auth(struct pg_conn *c, const struct pg_msg *m, const struct pg_login *l,
    struct scram *sc, int *sasl, int *ok, int64_t deadline, char *err)
{
	char msg[SCRAM_MSGMAX], why[ERRLEN];
	const char *mech[8];
	size_t len = 0;
	int32_t code;
	int n, i, rc, want;

	if (m->len < 4)
		return protocol(c, "malformed Authentication", err);
	code = pg_int32(m->body);
	if (code != 0 && code != 11 && code != 12 && *sasl != 0)
		return protocol(c, "authentication out of turn", err);
	want = code == 0 && *sasl == 0 ? PG_AUTH_TRUST : code == 3 ?
	    PG_AUTH_CLEARTEXT : code == 5 ? PG_AUTH_MD5 : code == 10 ?
	    PG_AUTH_SCRAM : 0;
	if (want != 0 && l->allow != 0 && (l->allow & want) == 0) {
		seterr(err, "the server asks for %s, which is not allowed",
		    want == PG_AUTH_TRUST ? "no password" : want ==
		    PG_AUTH_CLEARTEXT ? "a cleartext password" : want ==
		    PG_AUTH_MD5 ? "md5" : "SCRAM-SHA-256");
		shut(c);
		return PG_EFAIL;
	}
	if (want != 0 && (want != PG_AUTH_TRUST || c->method == 0))
		c->method = want;
	if ((code == 3 || code == 5 || code == 10) && l->password == NULL) {
		seterr(err, "the server asks for a password (%s) and none was "
		    "given", code == 3 ? "cleartext" : code == 5 ? "md5" :
		    "SCRAM-SHA-256");
		shut(c);
		return PG_EFAIL;
	}
	switch (code) {
	case 0:
		if (*sasl == 1)
			return protocol(c, "the server skipped its SCRAM "
			    "signature", err);
		if (m->len != 4)
			return protocol(c, "malformed AuthenticationOk", err);
		*ok = 1;
		return PG_OK;
	case 3:
		if (m->len != 4)
			return protocol(c, "malformed AuthenticationCleartextPassword",
			    err);
		if ((len = pg_put_password(c->out, sizeof(c->out), l->password,
		    l->pwlen)) == 0)
			return protocol(c, "password too long or holding a NUL",
			    err);
		break;
	case 5:
		if (m->len != 8)
			return protocol(c, "malformed AuthenticationMD5Password",
			    err);
		md5_reply(l, m->body + 4, msg);
		len = pg_put_password(c->out, sizeof(c->out), msg, strlen(msg));
		break;
	case 10:
		if ((n = pg_cstrings(m, 4, mech, 8)) < 1 || mech[n - 1][0] != '\0')
			return protocol(c, "malformed AuthenticationSASL", err);
		for (i = 0; i < n - 1; i++)
			if (strcmp(mech[i], "SCRAM-SHA-256") == 0)
				break;
		if (i == n - 1)
			return protocol(c, "the server offers no SASL mechanism "
			    "we speak (SCRAM-SHA-256)", err);
		if ((rc = scram_first(sc, "", NULL, msg, sizeof(msg), why)) < 0)
			return protocol(c, why, err);
		len = pg_put_sasl(c->out, sizeof(c->out), "SCRAM-SHA-256", msg,
		    (size_t)rc);
		*sasl = 1;
		break;
	case 11:
		if (*sasl != 1 || (rc = scram_final(sc, l->password, l->pwlen,
		    m->body + 4, m->len - 4, msg, sizeof(msg), why)) < 0)
			return protocol(c, *sasl != 1 ? "SASL out of turn" : why,
			    err);
		len = pg_put_sasl(c->out, sizeof(c->out), NULL, msg, (size_t)rc);
		break;
	case 12:
		if (*sasl != 1 || scram_verify(sc, m->body + 4, m->len - 4,
		    why) == -1)
			return protocol(c, *sasl != 1 ? "SASL out of turn" : why,
			    err);
		*sasl = 2;
		return PG_OK;
	default:
		seterr(err, "the server asks for authentication method %ld "
		    "(%s), which leaderrun does not speak", (long)code,
		    method(code));
		shut(c);
		return PG_EFAIL;
	}
	wipe(msg, sizeof(msg));
	rc = len == 0 ? protocol(c, "no room for the password message", err) :
	    sendout(c, len, deadline, err);
	wipe(c->out, len);
	return rc;
}

int
pg_handshake(struct pg_conn *c, int fd, const struct net_ep *ep,
    const struct pg_login *l, int64_t deadline, char *err)
{
	struct scram sc;
	struct pg_msg m;
	size_t n;
	int sasl = 0, ok = 0, rc;

	c->fd = fd;
	c->ep = *ep;
	c->pid = c->key = 0;
	c->standby = -1;
	c->method = 0;
	c->version[0] = c->sqlstate[0] = c->tag[0] = '\0';
	c->txn = 0;
	c->affected = -1;
	c->nnotes = c->first = 0;
	c->lost = 0;
	c->off = c->have = 0;
	memset(&sc, 0, sizeof(sc));
	n = pg_put_startup(c->out, sizeof(c->out), l->user,
	    l->database ? l->database : l->user,
	    l->appname ? l->appname : "leaderrun");
	if (n == 0) {
		rc = protocol(c, "user or database name too long", err);
		goto out;
	}
	if ((rc = sendout(c, n, deadline, err)) != PG_OK)
		goto out;
	for (;;) {
		if ((rc = next(c, deadline, &m, 0, err)) != PG_OK)
			goto out;
		switch (m.type) {
		case 'R':
			rc = auth(c, &m, l, &sc, &sasl, &ok, deadline, err);
			if (rc != PG_OK)
				goto out;
			break;
		case 'K':
			if (m.len != 8) {
				rc = protocol(c, "malformed BackendKeyData", err);
				goto out;
			}
			c->pid = pg_int32(m.body);
			c->key = pg_int32(m.body + 4);
			break;
		case 'E':	/* and the server hangs up */
			rc = srverr(c, &m, err);
			shut(c);
			goto out;
		case 'v':	/* NegotiateProtocolVersion: 3.0 is all we use */
			break;
		case 'Z':
			if (!ok || m.len != 1) {
				rc = protocol(c, "ready before the login", err);
				goto out;
			}
			c->txn = m.body[0];
			rc = PG_OK;
			goto out;
		default:
			rc = protocol(c, "unexpected message during the login",
			    err);
			goto out;
		}
	}
out:
	scram_clear(&sc);
	return rc;
}

int
pg_connect(struct pg_conn *c, const struct net_ep *ep,
    const struct pg_login *l, int64_t deadline, char *err)
{
	int fd;

	c->fd = -1;
	if ((fd = net_connect(ep, deadline, err)) == -1)
		return PG_EFAIL;
	return pg_handshake(c, fd, ep, l, deadline, err);
}

/* tag: CommandComplete M into C->tag and C->affected (its last number). */
static int
tag(struct pg_conn *c, const struct pg_msg *m, char *err)
{
	const char *s[1], *sp;

	if (pg_cstrings(m, 0, s, 1) != 1)
		return protocol(c, "malformed CommandComplete", err);
	pg_text(c->tag, sizeof(c->tag), s[0], strlen(s[0]));
	c->affected = -1;
	if ((sp = strrchr(c->tag, ' ')) != NULL)
		c->affected = decimal(sp + 1, INT64_MAX / 10);
	return PG_OK;
}

/*
 * drain: the answers to what was sent, up to ReadyForQuery: rows to FN,
 * the first error kept.  PG_OK, PG_ESERVER, PG_EROW or PG_EFAIL.
 */
static int
drain(struct pg_conn *c, pg_row_fn fn, void *arg, int64_t deadline, char *err)
{
	struct pg_val v[PG_MAXCOLS];
	struct pg_error later;
	struct pg_msg m;
	char why[ERRLEN];
	int rc = PG_OK, n;

	for (;;) {
		if (next(c, deadline, &m, 0, err) != PG_OK)
			return PG_EFAIL;
		switch (m.type) {
		case '1':	/* ParseComplete */
		case '2':	/* BindComplete */
		case '3':	/* CloseComplete */
		case 'n':	/* NoData */
		case 't':	/* ParameterDescription */
		case 's':	/* PortalSuspended */
		case 'I':	/* EmptyQueryResponse */
			break;
		case 'T':
			if (pg_rowdesc(&m, why) == -1)
				return protocol(c, why, err);
			break;
		case 'D':
			if ((n = pg_row(&m, v, PG_MAXCOLS, why)) == -1)
				return protocol(c, why, err);
			if (rc == PG_OK && fn != NULL && fn(arg, n, v, err) != 0)
				rc = PG_EROW;
			break;
		case 'C':
			if (tag(c, &m, err) != PG_OK)
				return PG_EFAIL;
			break;
		case 'E':
			if (rc == PG_OK)
				rc = srverr(c, &m, err);
			else if (pg_errfields(&m, &later, why) == -1)
				return protocol(c, why, err);
			if (c->fd < 0)
				return PG_EFAIL;
			break;
		case 'Z':
			if (m.len != 1)
				return protocol(c, "malformed ReadyForQuery", err);
			c->txn = m.body[0];
			return rc;
		default:
			return protocol(c, "unexpected message in a result", err);
		}
	}
}

/* begin_call: a call may start: C open; its results cleared. */
static int
begin_call(struct pg_conn *c, char *err)
{
	if (c->fd < 0)
		return closed(c, err);
	c->sqlstate[0] = c->tag[0] = '\0';
	c->affected = -1;
	return PG_OK;
}

int
pg_exec(struct pg_conn *c, const char *name, const char *sql, int n,
    const char *const *params, pg_row_fn fn, void *arg, int64_t deadline,
    char *err)
{
	size_t a = 0, b;

	if (begin_call(c, err) != PG_OK)
		return PG_EFAIL;
	if (name == NULL &&
	    (a = pg_put_parse(c->out, sizeof(c->out), "", sql)) == 0)
		return protocol(c, "statement too long", err);
	b = pg_put_bind(c->out + a, sizeof(c->out) - a, name ? name : "", n,
	    params);
	if (b == 0)
		return protocol(c, "parameters too long", err);
	if (sendout(c, a + b, deadline, err) != PG_OK)
		return PG_EFAIL;
	return drain(c, fn, arg, deadline, err);
}

int
pg_prepare(struct pg_conn *c, const char *name, const char *sql,
    int64_t deadline, char *err)
{
	size_t a, b;

	if (begin_call(c, err) != PG_OK)
		return PG_EFAIL;
	if ((a = pg_put_parse(c->out, sizeof(c->out), name, sql)) == 0 ||
	    (b = pg_put_sync(c->out + a, sizeof(c->out) - a)) == 0)
		return protocol(c, "statement too long", err);
	if (sendout(c, a + b, deadline, err) != PG_OK)
		return PG_EFAIL;
	return drain(c, NULL, NULL, deadline, err);
}

int
pg_query(struct pg_conn *c, const char *sql, pg_row_fn fn, void *arg,
    int64_t deadline, char *err)
{
	size_t a;

	if (begin_call(c, err) != PG_OK)
		return PG_EFAIL;
	if ((a = pg_put_query(c->out, sizeof(c->out), sql)) == 0)
		return protocol(c, "statement too long", err);
	if (sendout(c, a, deadline, err) != PG_OK)
		return PG_EFAIL;
	return drain(c, fn, arg, deadline, err);
}

int
pg_wait_note(struct pg_conn *c, struct pg_note *nt, int64_t deadline,
    char *err)
{
	struct pg_msg m;
	int rc;

	while (c->nnotes == 0) {
		if (c->fd < 0)
			return closed(c, err);
		rc = next(c, deadline, &m, 1, err);
		if (rc == PG_EFAIL)
			return PG_EFAIL;
		if (rc == 1 && c->nnotes == 0)
			return 0;	/* the deadline passed */
		if (rc == PG_OK) {
			/* Idle, the server speaks only to say goodbye. */
			if (m.type == 'E') {
				srverr(c, &m, err);
				shut(c);
				return PG_EFAIL;
			}
			return protocol(c, "unexpected message while idle",
			    err);
		}
	}
	*nt = c->notes[c->first];
	c->first = (c->first + 1) % PG_NOTES;
	c->nnotes--;
	return 1;
}

void
pg_close(struct pg_conn *c)
{
	char bye[8], ignore[ERRLEN];
	size_t n;

	if (c->fd < 0)
		return;
	/* Terminate, if the socket takes it now: a hung server gets none. */
	if ((n = pg_put_terminate(bye, sizeof(bye))) > 0)
		(void)net_send(c->fd, &c->ep, bye, n, 0, ignore);
	shut(c);
}
