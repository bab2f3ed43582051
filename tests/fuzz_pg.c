/*
 * fuzz_pg.c - libFuzzer target for the PostgreSQL message reader (pg.c):
 * whatever a server, a pooler, or anything listening on the store's port
 * sends back.
 *
 *   make fuzz/fuzz_pg
 *   fuzz/fuzz_pg -max_total_time=60 tests/corpus/pg
 *
 * Two passes over the same bytes.  First the pure functions: pg_parse
 * takes message after message out of a buffer of exactly the input's size
 * (a read past it is an ASan report), each message goes through every
 * decoder; an accepted message lies inside the input, every shorter
 * prefix of it asks for more, and decoded fields lie inside its body.
 * Then the bytes play the server of a whole session over a socket pair: a
 * login with a password (md5, cleartext or SCRAM: the random nonce stops
 * SCRAM at its nonce check), a statement with parameters, a wait for a
 * notification; whatever happens, it ends, within its deadlines.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base.h"
#include "wire/net.h"
#include "wire/pg.h"

static const char *lo, *hi;	/* the body being decoded */

static void
inside(const char *p, size_t n)
{
	if (p < lo || p + n > hi)
		abort();
}

static void
decode(const struct pg_msg *m)
{
	static struct pg_val v[PG_MAXCOLS];
	struct pg_error e;
	struct pg_note nt;
	const char *s[8];
	char err[ERRLEN];
	int n, i;

	lo = m->body;
	hi = m->body + m->len;
	if ((n = pg_row(m, v, PG_MAXCOLS, err)) > PG_MAXCOLS)
		abort();
	for (i = 0; i < n; i++)
		if (v[i].s != NULL)
			inside(v[i].s, v[i].len);
		else if (v[i].len != 0)
			abort();
	(void)pg_rowdesc(m, err);
	if (pg_errfields(m, &e, err) == 0 && (strlen(e.code) > 5 ||
	    strlen(e.message) >= sizeof(e.message)))
		abort();
	if (pg_notification(m, &nt, err) == 0 &&
	    (strlen(nt.channel) >= sizeof(nt.channel) ||
	    strlen(nt.payload) >= sizeof(nt.payload)))
		abort();
	n = pg_cstrings(m, 0, s, 8);
	if (n > 8)
		abort();
	for (i = 0; i < n; i++)
		inside(s[i], strlen(s[i]) + 1);
}

static void
frames(const char *buf, size_t size)
{
	struct pg_msg m, m2;
	char err[ERRLEN];
	size_t off = 0, used, used2, k;
	int rc;

	while (off < size) {
		rc = pg_parse(buf + off, size - off, &m, &used, err);
		if (rc != 1)
			break;
		if (used < 5 || used > size - off || m.body != buf + off + 5 ||
		    m.len != used - 5 || m.len > PG_MSGMAX)
			abort();
		for (k = 0; k < used; k += 1 + used / 16)
			if (pg_parse(buf + off, k, &m2, &used2, err) != 0)
				abort();
		decode(&m);
		off += used;
	}
}

static int
rows(void *arg, int n, const struct pg_val *v, char *err)
{
	(void)arg;
	(void)v;
	(void)err;
	return n > 2 ? -1 : 0;
}

static void
session(const uint8_t *data, size_t size)
{
	static struct pg_conn c;
	struct pg_login l = { "u", "db", "pw", 2, NULL, 0 };
	const char *params[2] = { "x", NULL };
	struct pg_note nt;
	struct net_ep ep;
	char err[ERRLEN];
	int sv[2];

	/* A socket pair holds far more than PG_MSGMAX: written at once. */
	if (size > 4 * PG_MSGMAX ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return;
	if (write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[1], SHUT_WR);
	memset(&ep, 0, sizeof(ep));
	memcpy(ep.path, "fuzz", 5);
	if (pg_handshake(&c, sv[0], &ep, &l, now_ns() + NS_PER_S, err) ==
	    PG_OK) {
		(void)pg_exec(&c, NULL, "SELECT $1, $2", 2, params, rows, NULL,
		    now_ns() + NS_PER_S, err);
		while (pg_wait_note(&c, &nt, now_ns(), err) == 1)
			if (strlen(nt.payload) >= sizeof(nt.payload))
				abort();
	}
	pg_close(&c);
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	frames(buf, size);
	free(buf);
	session(data, size);
	return 0;
}
