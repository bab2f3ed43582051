/*
 * digest.c - SHA-256, HMAC-SHA-256, PBKDF2-HMAC-SHA-256 and MD5, written
 * from FIPS 180-4, RFC 2104, RFC 8018 and RFC 1321 for the PostgreSQL
 * login (SCRAM-SHA-256 and md5).  Plain C on bytes, no alignment or
 * endianness assumed; keys and intermediate sums are wiped after use.
 * tests/pg_test.c checks them against the RFCs' vectors.
 */
#include <string.h>

#include "lib/base.h"
#include "lib/digest.h"

/* ---- SHA-256 ------------------------------------------------------------ */

/* The first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes (FIPS 180-4, 4.2.2). */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static uint32_t
rol(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

static void
sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10) +
		    w[i - 7] +
		    (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3) +
		    w[i - 16];
	a = h[0], b = h[1], c = h[2], d = h[3];
	e = h[4], f = h[5], g = h[6], k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
		    ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d;
	h[4] += e, h[5] += f, h[6] += g, h[7] += k;
	wipe(w, sizeof(w));
}

void
sha256_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, h0, sizeof(h0));
	s->bytes = 0;
	s->nbuf = 0;
}

void
sha256_update(struct sha256 *s, const void *p, size_t n)
{
	const unsigned char *in = p;

	s->bytes += n;
	if (s->nbuf > 0) {
		size_t k = SHA256_BLOCK - s->nbuf < n ? SHA256_BLOCK - s->nbuf : n;

		memcpy(s->buf + s->nbuf, in, k);
		s->nbuf += k, in += k, n -= k;
		if (s->nbuf < SHA256_BLOCK)
			return;
		sha256_block(s->h, s->buf);
		s->nbuf = 0;
	}
	for (; n >= SHA256_BLOCK; in += SHA256_BLOCK, n -= SHA256_BLOCK)
		sha256_block(s->h, in);
	memcpy(s->buf, in, n);
	s->nbuf = n;
}

void
sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN])
{
	uint64_t bits = s->bytes * 8;
	unsigned char pad[SHA256_BLOCK + 8] = { 0x80 };
	size_t padlen = (s->nbuf < 56 ? 56 : 120) - s->nbuf;
	int i;

	for (i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
	wipe(s, sizeof(*s));
}

void
sha256(const void *p, size_t n, unsigned char out[SHA256_LEN])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, p, n);
	sha256_final(&s, out);
}

/* ---- HMAC and PBKDF2 ---------------------------------------------------- */

void
hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t klen)
{
	unsigned char k[SHA256_BLOCK], pad[SHA256_BLOCK];
	int i;

	memset(k, 0, sizeof(k));
	if (klen > SHA256_BLOCK)
		sha256(key, klen, k);
	else if (klen > 0)
		memcpy(k, key, klen);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&h->in);
	sha256_update(&h->in, pad, sizeof(pad));
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&h->out);
	sha256_update(&h->out, pad, sizeof(pad));
	wipe(k, sizeof(k));
	wipe(pad, sizeof(pad));
}

void
hmac_sha256_update(struct hmac_sha256 *h, const void *p, size_t n)
{
	sha256_update(&h->in, p, n);
}

void
hmac_sha256_final(struct hmac_sha256 *h, unsigned char out[SHA256_LEN])
{
	unsigned char inner[SHA256_LEN];

	sha256_final(&h->in, inner);
	sha256_update(&h->out, inner, sizeof(inner));
	sha256_final(&h->out, out);
	wipe(inner, sizeof(inner));
}

void
hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
    unsigned char out[SHA256_LEN])
{
	struct hmac_sha256 h;

	hmac_sha256_init(&h, key, klen);
	hmac_sha256_update(&h, msg, n);
	hmac_sha256_final(&h, out);
}

/*
 * The keyed state is made once and copied for each of the ITER rounds, so
 * a round costs two compressions, not four.
 */
void
pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt, size_t slen,
    uint32_t iter, unsigned char *out, size_t outlen)
{
	struct hmac_sha256 keyed, h;
	unsigned char u[SHA256_LEN], t[SHA256_LEN], be[4];
	uint32_t block, r;
	size_t i, k;

	hmac_sha256_init(&keyed, pw, pwlen);
	for (block = 1; outlen > 0; block++) {
		be[0] = (unsigned char)(block >> 24);
		be[1] = (unsigned char)(block >> 16);
		be[2] = (unsigned char)(block >> 8);
		be[3] = (unsigned char)block;
		h = keyed;
		hmac_sha256_update(&h, salt, slen);
		hmac_sha256_update(&h, be, sizeof(be));
		hmac_sha256_final(&h, u);
		memcpy(t, u, sizeof(t));
		for (r = 1; r < iter; r++) {
			h = keyed;
			hmac_sha256_update(&h, u, sizeof(u));
			hmac_sha256_final(&h, u);
			for (i = 0; i < sizeof(t); i++)
				t[i] ^= u[i];
		}
		k = outlen < sizeof(t) ? outlen : sizeof(t);
		memcpy(out, t, k);
		out += k, outlen -= k;
	}
	wipe(&keyed, sizeof(keyed));
	wipe(&h, sizeof(h));
	wipe(u, sizeof(u));
	wipe(t, sizeof(t));
}

/* ---- MD5 ---------------------------------------------------------------- */

/* floor(abs(sin(i + 1)) * 2^32) (RFC 1321, 3.4). */
static const uint32_t T[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* The left rotations of each round, four per round. */
static const int S[16] = {
	7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21,
};

static void
md5_block(uint32_t h[4], const unsigned char *p)
{
	uint32_t x[16], a = h[0], b = h[1], c = h[2], d = h[3], f, t;
	int i, g;

	for (i = 0; i < 16; i++)
		x[i] = p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		    (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 64; i++) {
		switch (i / 16) {
		case 0:
			f = (b & c) | (~b & d), g = i;
			break;
		case 1:
			f = (b & d) | (c & ~d), g = (5 * i + 1) % 16;
			break;
		case 2:
			f = b ^ c ^ d, g = (3 * i + 5) % 16;
			break;
		default:
			f = c ^ (b | ~d), g = (7 * i) % 16;
			break;
		}
		t = d, d = c, c = b;
		b = b + rol(a + f + T[i] + x[g], S[i / 16 * 4 + i % 4]);
		a = t;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d;
	wipe(x, sizeof(x));
}

void
md5_init(struct md5 *m)
{
	m->h[0] = 0x67452301, m->h[1] = 0xefcdab89;
	m->h[2] = 0x98badcfe, m->h[3] = 0x10325476;
	m->bytes = 0;
	m->nbuf = 0;
}

void
md5_update(struct md5 *m, const void *p, size_t n)
{
	const unsigned char *in = p;

	m->bytes += n;
	if (m->nbuf > 0) {
		size_t k = 64 - m->nbuf < n ? 64 - m->nbuf : n;

		memcpy(m->buf + m->nbuf, in, k);
		m->nbuf += k, in += k, n -= k;
		if (m->nbuf < 64)
			return;
		md5_block(m->h, m->buf);
		m->nbuf = 0;
	}
	for (; n >= 64; in += 64, n -= 64)
		md5_block(m->h, in);
	memcpy(m->buf, in, n);
	m->nbuf = n;
}

void
md5_final(struct md5 *m, unsigned char out[MD5_LEN])
{
	uint64_t bits = m->bytes * 8;
	unsigned char pad[64 + 8] = { 0x80 };
	size_t padlen = (m->nbuf < 56 ? 56 : 120) - m->nbuf;
	int i;

	for (i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (unsigned char)(bits >> (8 * i));
	md5_update(m, pad, padlen + 8);
	for (i = 0; i < 16; i++)
		out[i] = (unsigned char)(m->h[i / 4] >> (8 * (i % 4)));
	wipe(m, sizeof(*m));
}

void
md5(const void *p, size_t n, unsigned char out[MD5_LEN])
{
	struct md5 m;

	md5_init(&m);
	md5_update(&m, p, n);
	md5_final(&m, out);
}

char *
hexlower(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * n] = '\0';
	return out;
}
