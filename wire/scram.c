/*
 * scram.c - the client side of SCRAM-SHA-256 (RFC 5802, RFC 7677): the two
 * client messages and the check of the server's signature.
 *
 * The server's messages are read strictly in the order RFC 5802 gives
 * (r, s, i; then v or e), every byte printable ASCII; extensions after
 * them are ignored, a mandatory one ("m=") is refused.  The proof and the
 * signature are computed together from the one salted password, which is
 * then wiped, as is every key derived from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/base.h"
#include "lib/digest.h"
#include "wire/json.h"		/* b64_encode, b64_decode */
#include "wire/scram.h"

#define GS2		"n,,"		/* no channel binding, no authzid */
#define GS2_B64		"biws"		/* base64 of GS2 */
#define SALTMAX		128

/* Printable ASCII but ',' (RFC 5802's "printable"); every byte of S. */
static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return 0;
	return 1;
}

/* random_nonce: 18 random bytes in base64 (24 characters) into OUT. */
static int
random_nonce(char *out, size_t cap, char *err)
{
	unsigned char raw[18];
	size_t got = 0;
	ssize_t k;
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, "SCRAM nonce: /dev/urandom: %s", strerror(errno));
		return -1;
	}
	while (got < sizeof(raw)) {
		k = read(fd, raw + got, sizeof(raw) - got);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			seterr(err, "SCRAM nonce: /dev/urandom: %s",
			    k == 0 ? "end of file" : strerror(errno));
			close(fd);
			return -1;
		}
		got += (size_t)k;
	}
	close(fd);
	if (b64_encode(raw, sizeof(raw), out, cap) == 0) {
		seterr(err, "SCRAM nonce: no room");
		return -1;
	}
	return 0;
}

int
scram_first(struct scram *s, const char *user, const char *nonce,
    char *out, size_t cap, char *err)
{
	char fresh[SCRAM_NONCEMAX + 1];
	size_t i, off, nlen;

	memset(s, 0, sizeof(*s));
	if (nonce == NULL) {
		if (random_nonce(fresh, sizeof(fresh), err) == -1)
			return -1;
		nonce = fresh;
	}
	nlen = strlen(nonce);
	if (nlen == 0 || nlen > SCRAM_NONCEMAX || !printable(nonce, nlen)) {
		seterr(err, "SCRAM: bad client nonce");
		return -1;
	}
	/* "n=" USER with '=' and ',' escaped, ",r=" NONCE. */
	memcpy(s->bare, "n=", 2);
	off = 2;
	for (i = 0; user[i] != '\0'; i++) {
		const char *esc = user[i] == '=' ? "=3D" : user[i] == ',' ? "=2C" :
		    NULL;
		size_t k = esc ? 3 : 1;

		if (off + k + 3 + nlen >= sizeof(s->bare)) {
			seterr(err, "SCRAM: user name too long");
			return -1;
		}
		memcpy(s->bare + off, esc ? esc : &user[i], k);
		off += k;
	}
	if (off + 3 + nlen >= sizeof(s->bare)) {
		seterr(err, "SCRAM: user name too long");
		return -1;
	}
	memcpy(s->bare + off, ",r=", 3);
	memcpy(s->bare + off + 3, nonce, nlen);
	s->barelen = off + 3 + nlen;
	s->bare[s->barelen] = '\0';
	s->noncelen = nlen;
	if (sizeof(GS2) - 1 + s->barelen + 1 > cap) {
		seterr(err, "SCRAM: no room for the first message");
		return -1;
	}
	memcpy(out, GS2, sizeof(GS2) - 1);
	memcpy(out + sizeof(GS2) - 1, s->bare, s->barelen + 1);
	s->state = 1;
	return (int)(sizeof(GS2) - 1 + s->barelen);
}

/*
 * attr: the attribute NAME ("r=") at *P (up to END): its value in *V,
 * *VLEN; *P moves past it and its ','.  0, or -1 if it is not there.
 */
static int
attr(const char **p, const char *end, char name, const char **v, size_t *vlen)
{
	const char *q = *p, *comma;

	if (end - q < 2 || q[0] != name || q[1] != '=')
		return -1;
	q += 2;
	comma = memchr(q, ',', (size_t)(end - q));
	*v = q;
	*vlen = (size_t)((comma ? comma : end) - q);
	*p = comma ? comma + 1 : end;
	return 0;
}

int
scram_final(struct scram *s, const char *pw, size_t pwlen,
    const char *sfirst, size_t n, char *out, size_t cap, char *err)
{
	const char *p = sfirst, *end = sfirst + n, *r, *salt64, *it;
	size_t rlen, slen, ilen, i, off;
	unsigned char salt[SALTMAX], salted[SHA256_LEN], ckey[SHA256_LEN];
	unsigned char stored[SHA256_LEN], csig[SHA256_LEN], skey[SHA256_LEN];
	char digits[16], proof64[64];
	struct hmac_sha256 h;
	ssize_t saltlen;
	int64_t iter;

	if (s->state != 1) {
		seterr(err, "SCRAM: server-first-message out of turn");
		return -1;
	}
	if (n == 0 || n >= SCRAM_MSGMAX) {
		seterr(err, "SCRAM: server-first-message of %zu bytes", n);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (sfirst[i] < 0x20 || sfirst[i] > 0x7e) {
			seterr(err, "SCRAM: server-first-message not printable");
			return -1;
		}
	if (n >= 2 && sfirst[0] == 'm' && sfirst[1] == '=') {
		seterr(err, "SCRAM: the server demands an unknown extension");
		return -1;
	}
	if (attr(&p, end, 'r', &r, &rlen) == -1 ||
	    attr(&p, end, 's', &salt64, &slen) == -1 ||
	    attr(&p, end, 'i', &it, &ilen) == -1) {
		seterr(err, "SCRAM: server-first-message lacks r=, s= or i=");
		return -1;
	}
	if (rlen <= s->noncelen || !printable(r, rlen) ||
	    memcmp(r, s->bare + s->barelen - s->noncelen, s->noncelen) != 0) {
		seterr(err, "SCRAM: the server's nonce does not extend ours");
		return -1;
	}
	if ((saltlen = b64_decode(salt64, slen, salt, sizeof(salt))) <= 0) {
		seterr(err, "SCRAM: bad salt in the server-first-message");
		return -1;
	}
	if (ilen == 0 || ilen >= sizeof(digits)) {
		seterr(err, "SCRAM: bad iteration count");
		return -1;
	}
	memcpy(digits, it, ilen);
	digits[ilen] = '\0';
	if ((iter = decimal(digits, INT64_MAX / 10)) < 1 ||
	    iter > SCRAM_MAXITER) {
		seterr(err, "SCRAM: iteration count '%s' not in 1..%d", digits,
		    SCRAM_MAXITER);
		return -1;
	}

	/* client-final-message-without-proof: "c=biws,r=" NONCE. */
	off = (size_t)snprintf(out, cap, "c=" GS2_B64 ",r=%.*s", (int)rlen, r);
	if (off >= cap) {
		seterr(err, "SCRAM: no room for the final message");
		return -1;
	}

	pbkdf2_sha256(pw, pwlen, salt, (size_t)saltlen, (uint32_t)iter, salted,
	    sizeof(salted));
	hmac_sha256(salted, sizeof(salted), "Client Key", 10, ckey);
	hmac_sha256(salted, sizeof(salted), "Server Key", 10, skey);
	sha256(ckey, sizeof(ckey), stored);

	/* AuthMessage = bare "," server-first "," final-without-proof */
	hmac_sha256_init(&h, stored, sizeof(stored));
	hmac_sha256_update(&h, s->bare, s->barelen);
	hmac_sha256_update(&h, ",", 1);
	hmac_sha256_update(&h, sfirst, n);
	hmac_sha256_update(&h, ",", 1);
	hmac_sha256_update(&h, out, off);
	hmac_sha256_final(&h, csig);
	hmac_sha256_init(&h, skey, sizeof(skey));
	hmac_sha256_update(&h, s->bare, s->barelen);
	hmac_sha256_update(&h, ",", 1);
	hmac_sha256_update(&h, sfirst, n);
	hmac_sha256_update(&h, ",", 1);
	hmac_sha256_update(&h, out, off);
	hmac_sha256_final(&h, s->server_sig);

	for (i = 0; i < sizeof(ckey); i++)
		ckey[i] ^= csig[i];	/* ClientProof */
	b64_encode(ckey, sizeof(ckey), proof64, sizeof(proof64));
	wipe(salted, sizeof(salted));
	wipe(ckey, sizeof(ckey));
	wipe(skey, sizeof(skey));
	wipe(stored, sizeof(stored));
	wipe(csig, sizeof(csig));
	if (off + 3 + strlen(proof64) + 1 > cap) {
		seterr(err, "SCRAM: no room for the final message");
		return -1;
	}
	memcpy(out + off, ",p=", 3);
	memcpy(out + off + 3, proof64, strlen(proof64) + 1);
	s->state = 2;
	return (int)(off + 3 + strlen(proof64));
}

int
scram_verify(struct scram *s, const char *sfinal, size_t n, char *err)
{
	unsigned char sig[SHA256_LEN + 3];
	const char *v, *p = sfinal, *end = sfinal + n;
	unsigned char diff = 0;
	size_t vlen, i;

	if (s->state != 2) {
		seterr(err, "SCRAM: server-final-message out of turn");
		return -1;
	}
	if (attr(&p, end, 'e', &v, &vlen) == 0) {
		if (printable(v, vlen))
			seterr(err, "SCRAM: the server says '%.*s'",
			    (int)(vlen > 80 ? 80 : vlen), v);
		else
			seterr(err, "SCRAM: the server refuses (e=)");
		return -1;
	}
	if (attr(&p, end, 'v', &v, &vlen) == -1 ||
	    b64_decode(v, vlen, sig, sizeof(sig)) != SHA256_LEN) {
		seterr(err, "SCRAM: server-final-message without a signature");
		return -1;
	}
	for (i = 0; i < SHA256_LEN; i++)
		diff |= sig[i] ^ s->server_sig[i];
	if (diff != 0) {
		seterr(err, "SCRAM: the server's signature is wrong: it does "
		    "not know the password");
		return -1;
	}
	s->state = 3;
	return 0;
}

void
scram_clear(struct scram *s)
{
	wipe(s, sizeof(*s));
}
