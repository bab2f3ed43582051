/*
 * pg.c - the PostgreSQL protocol 3.0 client of leaderrun's store: message
 * framing and decoding (pure), request encoding, and a connection that
 * logs in, runs statements and collects notifications, every wait bounded
 * by the caller's deadline.
 *
 * A message is taken only whole, from one fixed buffer: its length is
 * judged from its 5-byte header before anything else is kept, so no
 * length sent by the server decides an allocation or a copy.  Messages
 * the server may send at any time (ParameterStatus, NoticeResponse,
 * NotificationResponse) are dealt with where they are read.
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

#define PROTOCOL_3_0	196608	/* 3 << 16 */

/* ---- messages ----------------------------------------------------------- */

/* The backend messages we may get in answer to what we send.  Not COPY
 * (G H W d c), not FunctionCallResponse (V), not the SSL answer. */
static const char KNOWN[] = "RKSZTDCENAInt123sv";

int32_t
pg_int32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | u[3]);
}

static int
int16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (int16_t)(u[0] << 8 | u[1]);
}

int
pg_parse(const char *buf, size_t n, struct pg_msg *m, size_t *used,
    char *err)
{
	uint32_t len;

	if (n == 0)
		return 0;
	if (buf[0] == '\0' || strchr(KNOWN, buf[0]) == NULL) {
		seterr(err, "not a PostgreSQL message we expect (type 0x%02x)",
		    (unsigned char)buf[0]);
		return -1;
	}
	if (n < 5)
		return 0;
	len = (uint32_t)pg_int32(buf + 1);
	if (len < 4 || len > PG_MSGMAX + 4) {
		seterr(err, "message '%c' of bad length %lu", buf[0],
		    (unsigned long)len);
		return -1;
	}
	if (n - 1 < len)
		return 0;
	m->type = buf[0];
	m->body = buf + 5;
	m->len = len - 4;
	*used = 1 + (size_t)len;
	return 1;
}

int
pg_row(const struct pg_msg *m, struct pg_val *v, int max, char *err)
{
	size_t pos = 2;
	int n, i;

	if (m->type != 'D' || m->len < 2 || (n = int16(m->body)) < 0) {
		seterr(err, "malformed DataRow");
		return -1;
	}
	if (n > max) {
		seterr(err, "row of %d fields, more than %d", n, max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		int32_t len;

		if (m->len - pos < 4)
			goto bad;
		len = pg_int32(m->body + pos);
		pos += 4;
		if (len == -1) {
			v[i].s = NULL;
			v[i].len = 0;
			continue;
		}
		if (len < 0 || (size_t)len > m->len - pos)
			goto bad;
		v[i].s = m->body + pos;
		v[i].len = (size_t)len;
		pos += (size_t)len;
	}
	if (pos == m->len)
		return n;
bad:
	seterr(err, "malformed DataRow");
	return -1;
}

int
pg_rowdesc(const struct pg_msg *m, char *err)
{
	size_t pos = 2;
	const char *nul;
	int n, i;

	if (m->type != 'T' || m->len < 2 || (n = int16(m->body)) < 0)
		goto bad;
	for (i = 0; i < n; i++) {
		/* name, table oid 4, column 2, type oid 4, size 2, mod 4,
		 * format 2 */
		nul = memchr(m->body + pos, '\0', m->len - pos);
		if (nul == NULL)
			goto bad;
		pos = (size_t)(nul - m->body) + 1;
		if (m->len - pos < 18)
			goto bad;
		pos += 18;
	}
	if (pos == m->len)
		return n;
bad:
	seterr(err, "malformed RowDescription");
	return -1;
}

int
pg_cstrings(const struct pg_msg *m, size_t pos, const char **s, int k)
{
	const char *nul;
	int n = 0;

	if (pos > m->len)
		return -1;
	while (pos < m->len) {
		if ((nul = memchr(m->body + pos, '\0', m->len - pos)) == NULL ||
		    n == k)
			return -1;
		s[n++] = m->body + pos;
		pos = (size_t)(nul - m->body) + 1;
	}
	return n;
}

/* keep: S (LEN bytes) into OUT (CAP), cut to fit, control bytes as ' '. */
static void
keep(char *out, size_t cap, const char *s, size_t len)
{
	size_t i;

	if (len >= cap)
		len = cap - 1;
	for (i = 0; i < len; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	out[len] = '\0';
}

int
pg_errfields(const struct pg_msg *m, struct pg_error *e, char *err)
{
	size_t pos = 0;
	const char *nul, *sev = NULL;
	size_t sevlen = 0;

	memset(e, 0, sizeof(*e));
	if (m->type != 'E' && m->type != 'N')
		goto bad;
	for (;;) {
		char code;
		size_t len;

		if (pos >= m->len)
			goto bad;
		if ((code = m->body[pos++]) == '\0')
			break;
		if ((nul = memchr(m->body + pos, '\0', m->len - pos)) == NULL)
			goto bad;
		len = (size_t)(nul - (m->body + pos));
		switch (code) {
		case 'V':	/* not translated: preferred */
			sev = m->body + pos, sevlen = len;
			break;
		case 'S':
			if (sev == NULL)
				sev = m->body + pos, sevlen = len;
			break;
		case 'C':
			if (len != 5)
				goto bad;
			keep(e->code, sizeof(e->code), m->body + pos, len);
			break;
		case 'M':
			keep(e->message, sizeof(e->message), m->body + pos, len);
			break;
		case 'D':
			keep(e->detail, sizeof(e->detail), m->body + pos, len);
			break;
		default:
			break;
		}
		pos += len + 1;
	}
	if (pos != m->len)
		goto bad;
	if (sev != NULL)
		keep(e->severity, sizeof(e->severity), sev, sevlen);
	return 0;
bad:
	seterr(err, "malformed %s", m->type == 'N' ? "NoticeResponse" :
	    "ErrorResponse");
	return -1;
}

int
pg_notification(const struct pg_msg *m, struct pg_note *nt, char *err)
{
	const char *s[2];
	size_t clen, plen;

	memset(nt, 0, sizeof(*nt));
	if (m->type != 'A' || m->len < 4 || pg_cstrings(m, 4, s, 2) != 2)
		goto bad;
	clen = strlen(s[0]);
	plen = strlen(s[1]);
	if (clen >= sizeof(nt->channel))
		goto bad;
	nt->pid = pg_int32(m->body);
	memcpy(nt->channel, s[0], clen + 1);
	nt->cut = plen >= sizeof(nt->payload);
	if (nt->cut)
		plen = sizeof(nt->payload) - 1;
	memcpy(nt->payload, s[1], plen);
	nt->payload[plen] = '\0';
	return 0;
bad:
	seterr(err, "malformed NotificationResponse");
	return -1;
}

/* ---- requests ----------------------------------------------------------- */

/* A message being written: BAD once anything did not fit. */
struct put {
	char	*buf;
	size_t	 cap, off, start;
	int	 bad;
};

static void
put_bytes(struct put *p, const void *s, size_t n)
{
	if (p->bad || p->cap - p->off < n) {
		p->bad = 1;
		return;
	}
	memcpy(p->buf + p->off, s, n);
	p->off += n;
}

static void
put_int32(struct put *p, int32_t v)
{
	unsigned char b[4];

	b[0] = (unsigned char)((uint32_t)v >> 24);
	b[1] = (unsigned char)((uint32_t)v >> 16);
	b[2] = (unsigned char)((uint32_t)v >> 8);
	b[3] = (unsigned char)v;
	put_bytes(p, b, 4);
}

static void
put_int16(struct put *p, int v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put_bytes(p, b, 2);
}

static void
put_str(struct put *p, const char *s)
{
	put_bytes(p, s, strlen(s) + 1);
}

/* begin: a message of TYPE ('\0': the untyped startup message). */
static void
begin(struct put *p, char type)
{
	if (type != '\0')
		put_bytes(p, &type, 1);
	p->start = p->off;
	put_int32(p, 0);	/* its length, set by end */
}

static void
end(struct put *p)
{
	size_t len = p->off - p->start;

	if (p->bad || len > INT32_MAX)
		return;
	p->buf[p->start] = (char)(len >> 24);
	p->buf[p->start + 1] = (char)(len >> 16);
	p->buf[p->start + 2] = (char)(len >> 8);
	p->buf[p->start + 3] = (char)len;
}

static size_t
done(const struct put *p)
{
	return p->bad ? 0 : p->off;
}

size_t
pg_put_startup(char *buf, size_t cap, const char *user, const char *db,
    const char *app)
{
	struct put p = { buf, cap, 0, 0, 0 };

	begin(&p, '\0');
	put_int32(&p, PROTOCOL_3_0);
	put_str(&p, "user");
	put_str(&p, user);
	put_str(&p, "database");
	put_str(&p, db);
	put_str(&p, "application_name");
	put_str(&p, app);
	/* Text we send and read is UTF-8, whatever the database's own. */
	put_str(&p, "client_encoding");
	put_str(&p, "UTF8");
	put_bytes(&p, "", 1);
	end(&p);
	return done(&p);
}

size_t
pg_put_query(char *buf, size_t cap, const char *sql)
{
	struct put p = { buf, cap, 0, 0, 0 };

	begin(&p, 'Q');
	put_str(&p, sql);
	end(&p);
	return done(&p);
}

size_t
pg_put_parse(char *buf, size_t cap, const char *name, const char *sql)
{
	struct put p = { buf, cap, 0, 0, 0 };

	begin(&p, 'P');
	put_str(&p, name);
	put_str(&p, sql);
	put_int16(&p, 0);	/* no parameter types: the server infers */
	end(&p);
	return done(&p);
}

size_t
pg_put_bind(char *buf, size_t cap, const char *name, int n,
    const char *const *params)
{
	struct put p = { buf, cap, 0, 0, 0 };
	int i;

	if (n < 0 || n > 32767)
		return 0;
	begin(&p, 'B');
	put_str(&p, "");	/* the unnamed portal */
	put_str(&p, name);
	put_int16(&p, 0);	/* every parameter in text */
	put_int16(&p, n);
	for (i = 0; i < n; i++) {
		size_t len = params[i] ? strlen(params[i]) : 0;

		if (len > INT32_MAX) {
			p.bad = 1;
			break;
		}
		put_int32(&p, params[i] ? (int32_t)len : -1);
		if (params[i] != NULL)
			put_bytes(&p, params[i], len);
	}
	put_int16(&p, 0);	/* every result column in text */
	end(&p);
	begin(&p, 'E');
	put_str(&p, "");
	put_int32(&p, 0);	/* all rows */
	end(&p);
	begin(&p, 'S');
	end(&p);
	return done(&p);
}

size_t
pg_put_sync(char *buf, size_t cap)
{
	struct put p = { buf, cap, 0, 0, 0 };

	begin(&p, 'S');
	end(&p);
	return done(&p);
}

size_t
pg_put_terminate(char *buf, size_t cap)
{
	struct put p = { buf, cap, 0, 0, 0 };

	begin(&p, 'X');
	end(&p);
	return done(&p);
}

size_t
pg_ident(const char *name, char *out, size_t cap)
{
	size_t off = 0, i;

	if (name[0] == '\0' || cap < 3)
		return 0;
	out[off++] = '"';
	for (i = 0; name[i] != '\0'; i++) {
		if (off + (name[i] == '"' ? 2 : 1) + 2 > cap)
			return 0;
		if (name[i] == '"')
			out[off++] = '"';
		out[off++] = name[i];
	}
	out[off++] = '"';
	out[off] = '\0';
	return off;
}

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
		keep(c->version, sizeof(c->version), s[1], strlen(s[1]));
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
	struct put p = { c->out, sizeof(c->out), 0, 0, 0 };
	const char *mech[8];
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
		if (m->len != 4 || memchr(l->password, '\0', l->pwlen) != NULL)
			return protocol(c, "cleartext password impossible", err);
		begin(&p, 'p');
		put_bytes(&p, l->password, l->pwlen);
		put_bytes(&p, "", 1);
		end(&p);
		break;
	case 5:
		if (m->len != 8)
			return protocol(c, "malformed AuthenticationMD5Password",
			    err);
		md5_reply(l, m->body + 4, msg);
		begin(&p, 'p');
		put_str(&p, msg);
		end(&p);
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
		begin(&p, 'p');
		put_str(&p, "SCRAM-SHA-256");
		put_int32(&p, rc);
		put_bytes(&p, msg, (size_t)rc);
		end(&p);
		*sasl = 1;
		break;
	case 11:
		if (*sasl != 1 || (rc = scram_final(sc, l->password, l->pwlen,
		    m->body + 4, m->len - 4, msg, sizeof(msg), why)) < 0)
			return protocol(c, *sasl != 1 ? "SASL out of turn" : why,
			    err);
		begin(&p, 'p');
		put_bytes(&p, msg, (size_t)rc);
		end(&p);
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
	rc = done(&p) == 0 ? protocol(c, "password too long", err) :
	    sendout(c, done(&p), deadline, err);
	wipe(c->out, p.off);
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
	keep(c->tag, sizeof(c->tag), s[0], strlen(s[0]));
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
