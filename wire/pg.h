/*
 * pg.h - the PostgreSQL frontend/backend protocol 3.0 that leaderrun's
 * store speaks, and no more: startup, login (trust, cleartext, md5,
 * SCRAM-SHA-256), the extended query protocol with text parameters (values
 * are never spliced into SQL), the simple one for statements without
 * parameters (LISTEN, CREATE TABLE), and notifications.  No COPY, no TLS
 * (a local terminator does that), no cancel requests.
 *
 * Bounded like the RESP and JSON readers: a message longer than
 * PG_MSGMAX is refused when its header arrives, before any of it is
 * buffered; a row has at most PG_MAXCOLS fields; nothing is allocated.
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

#define PG_MSGMAX	65536	/* the largest message body accepted */
#define PG_OUTMAX	16384	/* the largest request sent */
#define PG_MAXCOLS	64	/* fields in one row */
#define PG_NOTES	8	/* notifications kept until read */
#define PG_CHANMAX	64	/* NAMEDATALEN: channel names are shorter */
#define PG_NOTEMAX	256	/* payload bytes kept of a notification */

/* Results of the calls that talk to the server. */
#define PG_OK		0
#define PG_EFAIL	(-1)	/* connection lost, timed out or out of step:
				 * it is closed (ERR says why) */
#define PG_ESERVER	(-2)	/* the server refused (ErrorResponse): ERR is
				 * "SEVERITY SQLSTATE: message", sqlstate set;
				 * the connection is usable, unless connecting */
#define PG_EROW		(-3)	/* the row callback refused a row (its ERR);
				 * the connection is usable */

/* One message as it came: type byte and body (length field excluded). */
struct pg_msg {
	char		 type;
	const char	*body;
	size_t		 len;
};

/* A field of a row: LEN bytes at S (text format, not NUL-terminated), or
 * SQL NULL (S NULL, LEN 0). */
struct pg_val {
	const char	*s;
	size_t		 len;
};

/* The fields of an ErrorResponse or NoticeResponse we keep ("" if absent). */
struct pg_error {
	char	 severity[16];	/* V, else S: ERROR, FATAL, PANIC, ... */
	char	 code[6];	/* C: the SQLSTATE */
	char	 message[200];	/* M */
	char	 detail[200];	/* D */
};

/* A notification: the sending backend, channel and payload (at most
 * PG_NOTEMAX - 1 bytes kept; CUT set if there were more). */
struct pg_note {
	int32_t	 pid;
	char	 channel[PG_CHANMAX];
	char	 payload[PG_NOTEMAX];
	int	 cut;
};

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

/* ---- messages, pure functions of bytes ---------------------------------- */

/*
 * pg_parse: the first message in BUF (N bytes so far).  1 with *M and
 * *USED, 0 if more bytes are needed, -1 if it is not a message we accept
 * (a type we never ask for, a length below 4 or above PG_MSGMAX + 4).
 */
int	pg_parse(const char *buf, size_t n, struct pg_msg *m, size_t *used,
	    char *err);

/* pg_row: the fields of DataRow M into V (MAX of them).  Returns their
 * count, or -1 (ERR) if M is malformed or has more than MAX. */
int	pg_row(const struct pg_msg *m, struct pg_val *v, int max, char *err);

/* pg_rowdesc: the column count of RowDescription M, -1 if malformed. */
int	pg_rowdesc(const struct pg_msg *m, char *err);

/* pg_errfields: ErrorResponse or NoticeResponse M into *E.  0, or -1 if
 * malformed. */
int	pg_errfields(const struct pg_msg *m, struct pg_error *e, char *err);

/* pg_notification: NotificationResponse M into *NT.  0, or -1. */
int	pg_notification(const struct pg_msg *m, struct pg_note *nt, char *err);

/* pg_cstrings: the NUL-terminated strings filling M's body from byte
 * POS: K of them at most into S; their count, -1 if malformed.  (The
 * name and value of a ParameterStatus, a SASL mechanism list, a
 * CommandComplete tag.) */
int	pg_cstrings(const struct pg_msg *m, size_t pos, const char **s, int k);

/* pg_int32: the big-endian integer at P. */
int32_t	pg_int32(const char *p);

/* ---- requests, into a buffer -------------------------------------------- */

/* Each returns the length written at BUF (CAP bytes), or 0 if no room. */
size_t	pg_put_startup(char *buf, size_t cap, const char *user,
	    const char *db, const char *app);
size_t	pg_put_query(char *buf, size_t cap, const char *sql);
/* Parse of SQL as statement NAME ("" unnamed), types left to the server. */
size_t	pg_put_parse(char *buf, size_t cap, const char *name, const char *sql);
/* Bind of statement NAME with N text PARAMS (NULL ones are SQL NULL),
 * Execute, Sync. */
size_t	pg_put_bind(char *buf, size_t cap, const char *name, int n,
	    const char *const *params);
size_t	pg_put_sync(char *buf, size_t cap);
size_t	pg_put_terminate(char *buf, size_t cap);

/*
 * pg_ident: NAME as a quoted identifier ("a""b") into OUT (CAP bytes, NUL
 * added), for the statements that take no parameters (LISTEN).  0 if it
 * holds a NUL, is empty or does not fit.
 */
size_t	pg_ident(const char *name, char *out, size_t cap);

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
