/*
 * scram.h - the client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), as
 * PostgreSQL's SASL login uses it: without channel binding ("n,,"), since
 * TLS, where there is any, ends in a local terminator (stunnel).
 *
 *   scram_first   the client-first-message, with a fresh random nonce
 *   scram_final   the client-final-message, with the proof of the password,
 *                 from the server-first-message (salt, iterations)
 *   scram_verify  the server-final-message must carry the signature that
 *                 only a server knowing the password could make: a server
 *                 that cannot prove it is refused, so a stand-in cannot
 *                 merely pretend to have checked the password.
 *
 * Every message is bounded by SCRAM_MSGMAX; iterations by SCRAM_MAXITER
 * (100000 rounds take ~170 ms here; PostgreSQL's default is 4096), so a
 * hostile server cannot make the client spin.  The password is used as
 * bytes: SASLprep is the identity for printable ASCII, which is what a
 * password file should hold; others work when the server stored them
 * as given.
 */
#ifndef SCRAM_H
#define SCRAM_H

#include <stddef.h>

#include "lib/digest.h"

#define SCRAM_MSGMAX	512
#define SCRAM_MAXITER	100000
#define SCRAM_NONCEMAX	64

struct scram {
	char		 bare[SCRAM_MSGMAX];	/* client-first-message-bare */
	size_t		 barelen;
	size_t		 noncelen;		/* the nonce ends bare */
	unsigned char	 server_sig[SHA256_LEN];
	int		 state;			/* 0, 1 first sent, 2 final */
};

/*
 * scram_first: the client-first-message for USER ("" as PostgreSQL wants:
 * the startup message named the user) into OUT (CAP bytes, NUL added).
 * NONCE: printable ASCII without ',' (tests); NULL: 18 random bytes from
 * /dev/urandom in base64.  Returns the length, or -1 with ERR set.
 */
int	scram_first(struct scram *s, const char *user, const char *nonce,
	    char *out, size_t cap, char *err);

/*
 * scram_final: from SFIRST (N bytes: "r=...,s=...,i=..."), the
 * client-final-message for password PW (PWLEN bytes) into OUT (CAP bytes,
 * NUL added), and the signature the server must then show.  Returns the
 * length, or -1 with ERR set (a nonce that does not extend ours, a bad
 * salt, too many iterations, an unknown mandatory extension).
 */
int	scram_final(struct scram *s, const char *pw, size_t pwlen,
	    const char *sfirst, size_t n, char *out, size_t cap, char *err);

/*
 * scram_verify: SFINAL (N bytes) is "v=" and the signature scram_final
 * expects.  0, or -1 with ERR set ("e=" errors are quoted).
 */
int	scram_verify(struct scram *s, const char *sfinal, size_t n, char *err);

/* scram_clear: wipe S. */
void	scram_clear(struct scram *s);

#endif
