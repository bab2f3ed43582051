/*
 * pg.h - a connection speaking the PostgreSQL frontend/backend protocol
 * 3.0 that leaderrun's store needs, and no more: startup, login (trust,
 * cleartext, md5, SCRAM-SHA-256), the extended query protocol with text
 * parameters (values are never spliced into SQL), the simple one for
 * statements without parameters (LISTEN, CREATE TABLE), and
 * notifications.  No COPY, no TLS (a local terminator does that), no
 * cancel requests.  The messages themselves: pg_msg.h.
 *
 * Bounded like the RESP and JSON readers (pg_msg.h); the receive buffer
 * is one message long, inside struct pg_conn; nothing is allocated.
 * Every socket operation waits at most until the caller's deadline (now_ns
 * clock); a connection that timed out or fell out of step is closed, and
 * every later call on it fails at once: connect again.
 *
 * Results come to a callback, one row at a time, as pointers into the
 * receive buffer that are valid during the call only.
 */
#ifndef PG_H
#define PG_H

#include <stddef.h>
#include <stdint.h>

#include "wire/net.h"
#include "wire/pg_msg.h"

#define PG_OUTMAX	16384	/* the largest request sent */
#define PG_NOTES	8	/* notifications kept until read */

/* Results of the calls that talk to the server. */
#define PG_OK		0
#define PG_EFAIL	(-1)	/* connection lost, timed out or out of step:
				 * it is closed (ERR says why) */
#define PG_ESERVER	(-2)	/* the server refused (ErrorResponse): ERR is
				 * "SEVERITY SQLSTATE: message", sqlstate set;
				 * the connection is usable, unless connecting */
#define PG_EROW		(-3)	/* the row callback refused a row (its ERR);
				 * the connection is usable */

/* Login methods, for pg_login.allow (libpq's require_auth): a client
 * that holds a password need not hand it to a server that merely asks
 * for it in clear, nor be let in by one that checked nothing. */
#define PG_AUTH_TRUST		0x1	/* no password asked */
#define PG_AUTH_CLEARTEXT	0x2
#define PG_AUTH_MD5		0x4
#define PG_AUTH_SCRAM		0x8

struct pg_login {
	const char	*user;
	const char	*database;	/* NULL: the user's name */
	const char	*password;	/* NULL: none (trust) */
	size_t		 pwlen;
	const char	*appname;	/* NULL: "leaderrun" */
	int		 allow;		/* PG_AUTH_* methods; 0: any */
};

struct pg_conn {
	int		 fd;		/* -1: closed */
	struct net_ep	 ep;
	int32_t		 pid, key;	/* BackendKeyData */
	int		 standby;	/* in_hot_standby: 1 on, 0 off, -1 not
					 * reported (before PostgreSQL 14) */
	int		 method;	/* the PG_AUTH_* login the server asked
					 * for (a farewell prepared ahead can
					 * log in only without a challenge) */
	char		 version[32];	/* server_version */
	char		 txn;		/* last ReadyForQuery: I, T or E */
	char		 sqlstate[6];	/* of the last ErrorResponse, or "" */
	char		 tag[64];	/* last CommandComplete ("UPDATE 1") */
	int64_t		 affected;	/* its row count, -1 if it has none */
	struct pg_note	 notes[PG_NOTES];
	int		 nnotes, first;	/* queued notifications */
	int64_t		 lost;		/* dropped because the queue was full */
	size_t		 off, have;	/* unread bytes: buf[off..have) */
	char		 buf[PG_MSGMAX + 5];
	char		 out[PG_OUTMAX];
};

/* ---- a connection -------------------------------------------------------- */

/* pg_row_fn: one row of N fields; 0 to go on, -1 (ERR set) to refuse. */
typedef int (*pg_row_fn)(void *arg, int n, const struct pg_val *v, char *err);

/*
 * pg_connect: connect to EP and log in as L before DEADLINE.  PG_OK,
 * PG_ESERVER (refused: a wrong password is 28P01, no such database
 * 3D000, starting up 57P03) or PG_EFAIL; on failure C is closed.
 */
int	pg_connect(struct pg_conn *c, const struct net_ep *ep,
	    const struct pg_login *l, int64_t deadline, char *err);

/* pg_handshake: pg_connect on a socket FD already connected to EP (C
 * takes it). */
int	pg_handshake(struct pg_conn *c, int fd, const struct net_ep *ep,
	    const struct pg_login *l, int64_t deadline, char *err);

/*
 * pg_exec: SQL with N text PARAMS ($1...) through the extended protocol,
 * FN called for each row (FN NULL: rows ignored), until the server is
 * ready again.  NAME non-NULL: run the statement pg_prepare made under
 * that name (SQL unused).
 */
int	pg_exec(struct pg_conn *c, const char *name, const char *sql, int n,
	    const char *const *params, pg_row_fn fn, void *arg,
	    int64_t deadline, char *err);

/* pg_prepare: SQL as the named statement NAME, for pg_exec and for bytes
 * prepared ahead (pg_put_bind) that a watchdog sends as they are. */
int	pg_prepare(struct pg_conn *c, const char *name, const char *sql,
	    int64_t deadline, char *err);

/* pg_query: SQL (one or more statements, no parameters) through the
 * simple protocol; FN as for pg_exec. */
int	pg_query(struct pg_conn *c, const char *sql, pg_row_fn fn, void *arg,
	    int64_t deadline, char *err);

/*
 * pg_wait_note: the next notification into *NT: one already received, or
 * the first to arrive before DEADLINE.  1, 0 if none came in time, or
 * PG_EFAIL.  A LISTEN on a server that stopped says nothing: wake up now
 * and then and look.
 */
int	pg_wait_note(struct pg_conn *c, struct pg_note *nt, int64_t deadline,
	    char *err);

/* pg_close: say goodbye if the socket takes it at once, and close. */
void	pg_close(struct pg_conn *c);

#endif
