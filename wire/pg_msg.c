/*
 * pg_msg.c - PostgreSQL protocol 3.0 messages as bytes: framing and
 * decoding of what the server sends, encoding of what the client sends.
 * Pure functions: no I/O, no allocation, nothing kept between calls.
 *
 * A message is judged from its 5-byte header (type, length) before its
 * body is looked at, so no length sent by the server decides a copy; each
 * decoder checks that its fields fill the body exactly.
 */
#include <stdio.h>
#include <string.h>

#include "lib/base.h"
#include "wire/pg_msg.h"

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

void
pg_text(char *out, size_t cap, const char *s, size_t len)
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
			pg_text(e->code, sizeof(e->code), m->body + pos, len);
			break;
		case 'M':
			pg_text(e->message, sizeof(e->message), m->body + pos, len);
			break;
		case 'D':
			pg_text(e->detail, sizeof(e->detail), m->body + pos, len);
			break;
		default:
			break;
		}
		pos += len + 1;
	}
	if (pos != m->len)
		goto bad;
	if (sev != NULL)
		pg_text(e->severity, sizeof(e->severity), sev, sevlen);
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
pg_put_password(char *buf, size_t cap, const char *pw, size_t len)
{
	struct put p = { buf, cap, 0, 0, 0 };

	if (memchr(pw, '\0', len) != NULL)
		return 0;
	begin(&p, 'p');
	put_bytes(&p, pw, len);
	put_bytes(&p, "", 1);
	end(&p);
	return done(&p);
}

size_t
pg_put_sasl(char *buf, size_t cap, const char *mech, const char *data,
    size_t len)
{
	struct put p = { buf, cap, 0, 0, 0 };

	if (len > INT32_MAX)
		return 0;
	begin(&p, 'p');
	if (mech != NULL) {
		put_str(&p, mech);
		put_int32(&p, (int32_t)len);
	}
	put_bytes(&p, data, len);
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
