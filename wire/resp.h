/*
 * resp.h - the RESP2 that leaderrun's Redis store speaks, and no more.
 *
 * Requests are arrays of bulk strings (resp_cmd).  Replies are read by
 * resp_parse, a pure function of the bytes received so far: it allocates
 * nothing, and every reply is bounded in its nesting (RESP_MAXDEPTH), its
 * number of values (RESP_MAXVALS), its lines (RESP_LINEMAX) and its bulk
 * strings (RESP_BULKMAX).  Each limit is judged at a fixed position in the
 * bytes, so a prefix is refused exactly when the whole would be.  RESP3
 * types are refused: we never send HELLO 3.
 */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_MAXDEPTH	4	/* arrays inside arrays */
#define RESP_MAXVALS	64	/* values in one reply, arrays included */
#define RESP_LINEMAX	1024	/* a +status, -error or length line */
#define RESP_BULKMAX	65536	/* the largest bulk string we accept */

enum {
	RESP_STATUS = 1,	/* +OK */
	RESP_ERROR,		/* -ERR ... */
	RESP_INT,		/* :42 */
	RESP_BULK,		/* $3 abc */
	RESP_NIL,		/* $-1 or *-1 */
	RESP_ARRAY		/* *2 ... */
};

/*
 * One value of a reply.  STATUS, ERROR and BULK point into the buffer that
 * was parsed (not NUL-terminated): they are valid while that buffer is.
 */
struct resp_val {
	int		 type;
	int64_t		 num;	/* INT: the integer; ARRAY: its element count */
	const char	*s;
	size_t		 len;
	int		 span;	/* values in this one's subtree, itself included */
};

/* A reply: V[0] is the reply itself, an array's elements follow it in
 * depth-first order (see resp_elem). */
struct resp_reply {
	int		 n;
	struct resp_val	 v[RESP_MAXVALS];
};

/*
 * resp_parse: the first reply in BUF (N bytes received so far).  Returns 1
 * with *R filled and *USED set to the bytes the reply took, 0 if more bytes
 * are needed, -1 if the bytes are not a reply we accept (ERR, ERRLEN
 * bytes, says why: "not a RESP reply (first byte 0x48)", "bulk string too
 * long", ...).
 */
int	resp_parse(const char *buf, size_t n, struct resp_reply *r, size_t *used,
	    char *err);

/* resp_elem: element K of the array R->v[I], or NULL if R->v[I] is not an
 * array or has no element K. */
const struct resp_val *resp_elem(const struct resp_reply *r, int i, int64_t k);

/*
 * resp_cmd: the request of ARGC arguments ARGV (LENS[i] bytes each; LENS
 * NULL: each is a C string) into BUF (CAP bytes).  Returns its length, or 0
 * if it does not fit.  Append pipelined requests with BUF + length.
 */
size_t	resp_cmd(char *buf, size_t cap, int argc, const char *const *argv,
	    const size_t *lens);

/* resp_text: V's text for a message, at most LEN - 1 bytes, bytes other
 * than printable ASCII shown as '?'.  Returns OUT. */
char	*resp_text(const struct resp_val *v, char *out, size_t len);

#endif
