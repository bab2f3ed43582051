/*
 * pg_msg.h - PostgreSQL protocol 3.0 messages as bytes, pure functions:
 * pg_parse frames what the server sends, a decoder per message type reads
 * it, pg_put_* encode what the client sends.  Bounded: a message longer
 * than PG_MSGMAX is refused from its header; a row has at most
 * PG_MAXCOLS fields; nothing is allocated.
 */
#ifndef PG_MSG_H
#define PG_MSG_H

#include <stddef.h>
#include <stdint.h>

#define PG_MSGMAX	65536	/* the largest message body accepted */
#define PG_MAXCOLS	64	/* fields in one row */
#define PG_CHANMAX	64	/* NAMEDATALEN: channel names are shorter */
#define PG_NOTEMAX	256	/* payload bytes kept of a notification */

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

/* pg_text: S (LEN bytes) into OUT (CAP), cut to fit, control bytes as
 * spaces: server text made fit for a one-line message. */
void	pg_text(char *out, size_t cap, const char *s, size_t len);

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
/* A PasswordMessage: PW (LEN bytes, no NUL in it) and a NUL. */
size_t	pg_put_password(char *buf, size_t cap, const char *pw, size_t len);
/* A SASLInitialResponse (MECH given) or SASLResponse (MECH NULL) of
 * DATA (LEN bytes). */
size_t	pg_put_sasl(char *buf, size_t cap, const char *mech, const char *data,
	    size_t len);
size_t	pg_put_terminate(char *buf, size_t cap);

/*
 * pg_ident: NAME as a quoted identifier ("a""b") into OUT (CAP bytes, NUL
 * added), for the statements that take no parameters (LISTEN).  0 if it
 * holds a NUL, is empty or does not fit.
 */
size_t	pg_ident(const char *name, char *out, size_t cap);

#endif
