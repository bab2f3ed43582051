/*
 * digest.h - the hashes a PostgreSQL login needs: SHA-256 (FIPS 180-4),
 * HMAC-SHA-256 (RFC 2104), PBKDF2-HMAC-SHA-256 (RFC 8018) for SCRAM, and
 * MD5 (RFC 1321) for the older "md5" method.  Nothing here allocates.
 */
#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32
#define SHA256_BLOCK	64
#define MD5_LEN		16

struct sha256 {
	uint32_t	 h[8];
	uint64_t	 bytes;		/* hashed so far */
	unsigned char	 buf[SHA256_BLOCK];
	size_t		 nbuf;
};

void	sha256_init(struct sha256 *s);
void	sha256_update(struct sha256 *s, const void *p, size_t n);
/* sha256_final: the digest into OUT; S is wiped. */
void	sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);
void	sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

/* An HMAC in progress: the inner hash, and the outer one already keyed. */
struct hmac_sha256 {
	struct sha256	 in, out;
};

void	hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t klen);
void	hmac_sha256_update(struct hmac_sha256 *h, const void *p, size_t n);
void	hmac_sha256_final(struct hmac_sha256 *h, unsigned char out[SHA256_LEN]);
void	hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
	    unsigned char out[SHA256_LEN]);

/* pbkdf2_sha256: OUTLEN bytes derived from PW and SALT in ITER rounds
 * (ITER >= 1). */
void	pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt,
	    size_t slen, uint32_t iter, unsigned char *out, size_t outlen);

struct md5 {
	uint32_t	 h[4];
	uint64_t	 bytes;
	unsigned char	 buf[64];
	size_t		 nbuf;
};

void	md5_init(struct md5 *m);
void	md5_update(struct md5 *m, const void *p, size_t n);
void	md5_final(struct md5 *m, unsigned char out[MD5_LEN]);
void	md5(const void *p, size_t n, unsigned char out[MD5_LEN]);

/* hexlower: N bytes of P as 2N lowercase hex digits and a NUL into OUT. */
char	*hexlower(const unsigned char *p, size_t n, char *out);

#endif
