/*
 * pg_test.c - unit tests of digest.c, scram.c and pg.c, in TAP.
 *
 *   make tests/pg_test
 *   tests/pg_test              the offline part: the RFCs' vectors, message
 *                              encoding and decoding, scripted sessions
 *   tests/pg_test live PART    against the server of tests/postgres.bash
 *                              (PG_HOST, PG_PORT, PG_SOCKDIR, PG_PID,
 *                              PG_PASS_*): PART is auth, query, notify or
 *                              deadline (tests/80-pg-wire.bats)
 *
 * Prints "ok N - ..." or "not ok N - ..." per check; exits 1 if any failed.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base.h"
#include "lib/digest.h"
#include "wire/json.h"
#include "wire/net.h"
#include "wire/pg.h"
#include "wire/scram.h"

#define MS	1000000LL
/* A string literal and its length. */
#define L(s)	(s), (sizeof(s) - 1)

static int ntest, nfail;

static void
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - ", cond ? "" : "not ", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static char *
hex(const unsigned char *p, size_t n)
{
	static char out[2 * 128 + 1];

	return hexlower(p, n > 128 ? 128 : n, out);
}

/* ---- digests: FIPS 180-4 / RFC 6234, RFC 4231, RFC 7914, RFC 1321 ------- */

static void
test_sha256(void)
{
	static const struct {
		const char *in, *want;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	unsigned char d[SHA256_LEN], chunk[1000];
	struct sha256 s;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha256(v[i].in, strlen(v[i].in), d);
		ok(strcmp(hex(d, sizeof(d)), v[i].want) == 0,
		    "SHA-256 of \"%.20s\" (FIPS 180-2 / RFC 6234)", v[i].in);
	}
	/* A million 'a', fed in pieces that do not align with the blocks. */
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	for (i = 0; i < 1000000; i += 997)
		sha256_update(&s, chunk, 1000000 - i < 997 ? 1000000 - i : 997);
	sha256_final(&s, d);
	ok(strcmp(hex(d, sizeof(d)),
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
	    "SHA-256 of a million 'a' in 997-byte pieces");
}

static void
test_hmac(void)
{
	unsigned char k20[20], kaa[131], k25[25], dd[50], cd[50], d[SHA256_LEN];
	size_t i;
	struct {
		const void *key;
		size_t klen;
		const void *data;
		size_t dlen;
		const char *want;
	} v[] = {
		{ k20, 20, L("Hi There"),
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ L("Jefe"), L("what do ya want for nothing?"),
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ kaa, 20, dd, 50,
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ k25, 25, cd, 50,
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ kaa, 131, L("Test Using Larger Than Block-Size Key - Hash Key First"),
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ kaa, 131, L("This is a test using a larger than block-size key and "
		  "a larger than block-size data. The key needs to be hashed "
		  "before being used by the HMAC algorithm."),
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};

	memset(k20, 0x0b, sizeof(k20));
	memset(kaa, 0xaa, sizeof(kaa));
	memset(dd, 0xdd, sizeof(dd));
	memset(cd, 0xcd, sizeof(cd));
	for (i = 0; i < sizeof(k25); i++)
		k25[i] = (unsigned char)(i + 1);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hmac_sha256(v[i].key, v[i].klen, v[i].data, v[i].dlen, d);
		ok(strcmp(hex(d, sizeof(d)), v[i].want) == 0,
		    "HMAC-SHA-256, RFC 4231 test case %d", i < 4 ? (int)i + 1 :
		    (int)i + 2);
	}
}

static void
test_pbkdf2(void)
{
	unsigned char d[64];
	int64_t t0;

	pbkdf2_sha256(L("passwd"), L("salt"), 1, d, sizeof(d));
	ok(strcmp(hex(d, sizeof(d)),
	    "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	    "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783") == 0,
	    "PBKDF2-HMAC-SHA-256 passwd/salt/1 (RFC 7914 section 11)");
	t0 = now_ns();
	pbkdf2_sha256(L("Password"), L("NaCl"), 80000, d, sizeof(d));
	ok(strcmp(hex(d, sizeof(d)),
	    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	    "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d") == 0,
	    "PBKDF2-HMAC-SHA-256 Password/NaCl/80000 (RFC 7914 section 11)");
	diag("80000 rounds took %lld ms", (long long)((now_ns() - t0) / MS));
}

static void
test_md5(void)
{
	static const struct {
		const char *in, *want;
	} v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	unsigned char d[MD5_LEN];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5(v[i].in, strlen(v[i].in), d);
		ok(strcmp(hex(d, sizeof(d)), v[i].want) == 0,
		    "MD5 of \"%.16s\" (RFC 1321 A.5)", v[i].in);
	}
}

static void
test_base64(void)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char out[32], back[32];
	size_t i;
	ssize_t n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		b64_encode(v[i][0], strlen(v[i][0]), out, sizeof(out));
		n = b64_decode(v[i][1], strlen(v[i][1]), back, sizeof(back));
		ok(strcmp(out, v[i][1]) == 0 && n == (ssize_t)strlen(v[i][0]) &&
		    memcmp(back, v[i][0], (size_t)n) == 0,
		    "base64 \"%s\" <-> \"%s\" (RFC 4648 section 10)", v[i][0],
		    v[i][1]);
	}
}

/* ---- SCRAM: the exchange of RFC 7677 section 3 --------------------------- */

#define NONCE	"rOprNGfwEbeRWgbNEkqO"
#define SFIRST	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define CFINAL	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define SFINAL	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* scram_to: a SCRAM state that sent the client-first of the RFC's example
 * and answers SF; the client-final's length (-1: refused, ERR). */
static int
scram_to(struct scram *s, const char *sf, char *out, size_t cap, char *err)
{
	if (scram_first(s, "user", NONCE, out, cap, err) == -1)
		return -1;
	return scram_final(s, L("pencil"), sf, strlen(sf), out, cap, err);
}

static void
test_scram(void)
{
	struct scram s;
	char out[SCRAM_MSGMAX], err[ERRLEN];
	int n;

	n = scram_first(&s, "user", NONCE, out, sizeof(out), err);
	ok(n > 0 && strcmp(out, "n,,n=user,r=" NONCE) == 0,
	    "SCRAM client-first-message as RFC 7677 (%s)", n > 0 ? out : err);
	n = scram_final(&s, L("pencil"), L(SFIRST), out, sizeof(out), err);
	ok(n > 0 && strcmp(out, CFINAL) == 0,
	    "SCRAM client-final-message with the RFC's proof");
	ok(scram_verify(&s, L(SFINAL), err) == 0,
	    "SCRAM: the RFC's server signature is accepted");

	scram_to(&s, SFIRST, out, sizeof(out), err);
	ok(scram_verify(&s, L("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
	    err) == -1 && strstr(err, "signature is wrong") != NULL,
	    "SCRAM: a wrong server signature is refused (%s)", err);
	scram_to(&s, SFIRST, out, sizeof(out), err);
	ok(scram_verify(&s, L("e=invalid-proof"), err) == -1 &&
	    strstr(err, "invalid-proof") != NULL,
	    "SCRAM: the server's e= is reported (%s)", err);
	scram_to(&s, SFIRST, out, sizeof(out), err);
	ok(scram_verify(&s, L("v=6rriTRBi23WpRR"), err) == -1,
	    "SCRAM: a short signature is refused");

	ok(scram_to(&s, "r=someoneelse%x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	    out, sizeof(out), err) == -1 && strstr(err, "nonce") != NULL,
	    "SCRAM: a server nonce that does not extend ours is refused");
	ok(scram_to(&s, "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", out,
	    sizeof(out), err) == -1,
	    "SCRAM: a server nonce that adds nothing is refused");
	ok(scram_to(&s, "r=" NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100001",
	    out, sizeof(out), err) == -1 && strstr(err, "iteration") != NULL,
	    "SCRAM: more than %d iterations are refused (%s)", SCRAM_MAXITER,
	    err);
	ok(scram_to(&s, "r=" NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", out,
	    sizeof(out), err) == -1, "SCRAM: zero iterations are refused");
	ok(scram_to(&s, "r=" NONCE "x,s=not base64!,i=4096", out, sizeof(out),
	    err) == -1 && strstr(err, "salt") != NULL,
	    "SCRAM: a bad salt is refused");
	ok(scram_to(&s, "m=ext,r=" NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	    out, sizeof(out), err) == -1 && strstr(err, "extension") != NULL,
	    "SCRAM: a mandatory extension is refused");
	ok(scram_to(&s, "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" NONCE "x,i=4096", out,
	    sizeof(out), err) == -1, "SCRAM: attributes out of order are refused");
	ok(scram_to(&s, "r=" NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1",
	    out, sizeof(out), err) > 0,
	    "SCRAM: an optional extension after i= is ignored");
	ok(scram_verify(&s, L(SFINAL), err) == -1,
	    "SCRAM: the signature belongs to the exchange it was made for");

	n = scram_first(&s, "a=b,c", NONCE, out, sizeof(out), err);
	ok(n > 0 && strcmp(out, "n,,n=a=3Db=2Cc,r=" NONCE) == 0,
	    "SCRAM: '=' and ',' in the user name are escaped (%s)", out);
	n = scram_first(&s, "", NULL, out, sizeof(out), err);
	ok(n == 3 + 2 + 3 + 24 && strncmp(out, "n,,n=,r=", 8) == 0 &&
	    strchr(out + 8, ',') == NULL,
	    "SCRAM: a random 24-character nonce (%s)", out);
	ok(scram_verify(&s, L(SFINAL), err) == -1,
	    "SCRAM: a signature before the final message is refused");
	scram_clear(&s);
}

/* ---- messages ----------------------------------------------------------- */

static void
test_encode(void)
{
	char buf[256];
	const char *params[3] = { "a'b", NULL, "" };
	size_t n;

	n = pg_put_startup(buf, sizeof(buf), "u", "db", "app");
	ok(n == 70 && memcmp(buf, "\0\0\0\x46\0\3\0\0user\0u\0database\0db\0"
	    "application_name\0app\0client_encoding\0UTF8\0\0", n) == 0,
	    "StartupMessage: length, protocol 3.0, parameters, final NUL");
	ok(pg_put_startup(buf, 20, "u", "db", "app") == 0,
	    "StartupMessage that does not fit: 0");
	n = pg_put_query(buf, sizeof(buf), "SELECT 1");
	ok(n == 14 && memcmp(buf, "Q\0\0\0\x0dSELECT 1\0", n) == 0,
	    "Query message");
	n = pg_put_parse(buf, sizeof(buf), "s1", "SELECT $1");
	ok(n == 20 && memcmp(buf, "P\0\0\0\x13s1\0SELECT $1\0\0\0", n) == 0,
	    "Parse message, no parameter types");
	n = pg_put_bind(buf, sizeof(buf), "s1", 3, params);
	ok(n == 45 && memcmp(buf, "B\0\0\0\x1d\0s1\0\0\0\0\3"
	    "\0\0\0\3a'b\xff\xff\xff\xff\0\0\0\0\0\0"
	    "E\0\0\0\x09\0\0\0\0\0S\0\0\0\4", n) == 0,
	    "Bind (text, a NULL, an empty string), Execute, Sync");
	ok(pg_put_bind(buf, 40, "s1", 3, params) == 0,
	    "Bind that does not fit: 0");
	n = pg_put_terminate(buf, sizeof(buf));
	ok(n == 5 && memcmp(buf, "X\0\0\0\4", 5) == 0, "Terminate message");
	n = pg_ident("lr \"x\"", buf, sizeof(buf));
	ok(n == 10 && strcmp(buf, "\"lr \"\"x\"\"\"") == 0,
	    "quoted identifier doubles quotes (%s)", buf);
	ok(pg_ident("", buf, sizeof(buf)) == 0 && pg_ident("abc", buf, 5) == 0,
	    "quoted identifier: empty or too long refused");
}

static void
test_decode(void)
{
	static const char row[] = "D\0\0\0\x14\0\3\0\0\0\2hi\xff\xff\xff\xff"
	    "\0\0\0\0";
	static const char errmsg[] = "E\0\0\0\x4f" "SFATAL\0VFATAL\0C28P01\0"
	    "Mpassword authentication failed for user \"x\"\0Rauth.c\0\0";
	static const char note[] = "A\0\0\0\x13\0\0\x30\x39lr\0payload\0";
	struct pg_val v[PG_MAXCOLS];
	struct pg_error e;
	struct pg_note nt;
	struct pg_msg m;
	char err[ERRLEN], big[16];
	size_t used, i;
	int bad = 0;

	ok(pg_parse(L(row), &m, &used, err) == 1 && m.type == 'D' &&
	    m.len == 0x10 && used == sizeof(row) - 1, "DataRow framed");
	for (i = 0; i < sizeof(row) - 1; i++)
		if (pg_parse(row, i, &m, &used, err) != 0)
			bad++;
	ok(bad == 0, "every prefix of a message asks for more");
	pg_parse(L(row), &m, &used, err);
	ok(pg_row(&m, v, PG_MAXCOLS, err) == 3 && v[0].len == 2 &&
	    memcmp(v[0].s, "hi", 2) == 0 && v[1].s == NULL && v[2].s != NULL &&
	    v[2].len == 0, "DataRow: text, NULL, empty string");
	ok(pg_row(&m, v, 2, err) == -1, "DataRow with more fields than room");
	m.len--;
	ok(pg_row(&m, v, PG_MAXCOLS, err) == -1, "DataRow cut short: refused");
	m.len++;
	ok(pg_row(&(struct pg_msg){ 'D', "\0\1\0\0\0\x09hi", 8 }, v,
	    PG_MAXCOLS, err) == -1, "DataRow field past the end: refused");
	ok(pg_row(&(struct pg_msg){ 'D', "\0\1\xff\xff\xff\xfe", 6 }, v,
	    PG_MAXCOLS, err) == -1, "DataRow field of length -2: refused");
	ok(pg_row(&(struct pg_msg){ 'D', "\0\0x", 3 }, v, PG_MAXCOLS, err) ==
	    -1, "DataRow with bytes after its fields: refused");

	ok(pg_parse(L(errmsg), &m, &used, err) == 1 &&
	    pg_errfields(&m, &e, err) == 0 && strcmp(e.code, "28P01") == 0 &&
	    strcmp(e.severity, "FATAL") == 0 &&
	    strstr(e.message, "password authentication failed") != NULL,
	    "ErrorResponse: severity, SQLSTATE, message");
	m.len--;
	ok(pg_errfields(&m, &e, err) == -1, "ErrorResponse without its end");
	ok(pg_errfields(&(struct pg_msg){ 'E', "C28P0\0\0", 7 }, &e, err) == -1,
	    "ErrorResponse with a 4-character SQLSTATE: refused");

	ok(pg_parse(L(note), &m, &used, err) == 1 &&
	    pg_notification(&m, &nt, err) == 0 && nt.pid == 12345 &&
	    strcmp(nt.channel, "lr") == 0 && strcmp(nt.payload, "payload") == 0,
	    "NotificationResponse: pid, channel, payload");
	ok(pg_notification(&(struct pg_msg){ 'A', "\0\0\0\1lr\0", 7 }, &nt,
	    err) == -1, "NotificationResponse without a payload: refused");

	ok(pg_parse(L("X\0\0\0\4"), &m, &used, err) == -1 &&
	    pg_parse(L("G\0\0\0\4"), &m, &used, err) == -1 &&
	    pg_parse(L("\0"), &m, &used, err) == -1,
	    "types we never ask for (Terminate, CopyIn, NUL) refused at once");
	ok(pg_parse(L("Z\0\0\0\3"), &m, &used, err) == -1,
	    "a length below 4 is refused");
	memcpy(big, "D\0\1\0\x05", 5);
	ok(pg_parse(big, 5, &m, &used, err) == -1 &&
	    strstr(err, "length") != NULL,
	    "a length above PG_MSGMAX is refused from the header alone");
	memcpy(big, "D\0\1\0\x04", 5);
	ok(pg_parse(big, 5, &m, &used, err) == 0,
	    "a length of exactly PG_MSGMAX + 4 waits for its bytes");
}

/* ---- scripted sessions: canned server bytes over a socket pair ----------- */

/* session: a connection whose server already said BYTES (N) and hung
 * up; the client's requests go unread (until the next session). */
static int allow;	/* the methods session allows */

static int
session(struct pg_conn *c, const char *bytes, size_t n, const char *pw,
    char *err)
{
	static int peer = -1;
	struct pg_login l = { "u", "db", pw, pw ? strlen(pw) : 0, NULL, allow };
	struct net_ep ep;
	int sv[2];

	memset(&ep, 0, sizeof(ep));
	snprintf(ep.path, sizeof(ep.path), "scripted");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -9;
	if (write(sv[1], bytes, n) != (ssize_t)n)
		return -9;
	shutdown(sv[1], SHUT_WR);
	if (peer != -1)
		close(peer);
	peer = sv[1];
	return pg_handshake(c, sv[0], &ep, &l, now_ns() + 2000 * MS, err);
}

#define AUTH_OK	"R\0\0\0\x08\0\0\0\0"
#define READY	"Z\0\0\0\x05I"

static int
count_rows(void *arg, int n, const struct pg_val *v, char *err)
{
	(void)v;
	(void)err;
	*(int *)arg += n;
	return 0;
}

static void
test_sessions(void)
{
	static struct pg_conn c;
	struct pg_note nt;
	char err[ERRLEN];
	int rc, cols = 0;

	rc = session(&c, L(AUTH_OK "S\0\0\0\x18server_version\0" "15.4\0"
	    "S\0\0\0\x16in_hot_standby\0on\0K\0\0\0\x0c\0\0\0\x07\0\0\0\x09"
	    READY "1\0\0\0\4" "2\0\0\0\4" "D\0\0\0\x0b\0\1\0\0\0\1x"
	    "A\0\0\0\x0e\0\0\0\7ch\0hi\0" "C\0\0\0\x0dUPDATE 1\0" READY),
	    NULL, err);
	ok(rc == PG_OK && strcmp(c.version, "15.4") == 0 && c.standby == 1 &&
	    c.pid == 7 && c.key == 9 && c.txn == 'I',
	    "trust login: version, standby, backend key, ready (%s)",
	    rc == PG_OK ? "ok" : err);
	rc = pg_exec(&c, NULL, "UPDATE t SET x = $1", 1,
	    (const char *const[]){ "1" }, count_rows, &cols, now_ns() + 1000 * MS,
	    err);
	ok(rc == PG_OK && cols == 1 && c.affected == 1 &&
	    strcmp(c.tag, "UPDATE 1") == 0,
	    "a result: its row, its tag and row count");
	ok(pg_wait_note(&c, &nt, now_ns(), err) == 1 &&
	    strcmp(nt.channel, "ch") == 0 && strcmp(nt.payload, "hi") == 0,
	    "a notification that came amid a result is kept for later");
	ok(pg_wait_note(&c, &nt, now_ns() + 1000 * MS, err) == PG_EFAIL &&
	    strstr(err, "closed by the server") != NULL,
	    "then the server's hang-up is an error (%s)", err);
	ok(pg_exec(&c, NULL, "SELECT 1", 0, NULL, NULL, NULL, now_ns() + MS,
	    err) == PG_EFAIL, "a closed connection fails at once");

	rc = session(&c, L("R\0\0\0\x08\0\0\0\3"), NULL, err);
	ok(rc == PG_EFAIL && strstr(err, "asks for a password") != NULL,
	    "cleartext asked, none given: %s", err);
	allow = PG_AUTH_SCRAM;
	rc = session(&c, L("R\0\0\0\x08\0\0\0\3"), "pw", err);
	ok(rc == PG_EFAIL && strstr(err, "cleartext password, which is not") !=
	    NULL, "cleartext asked where only SCRAM is allowed: %s", err);
	rc = session(&c, L(AUTH_OK READY), "pw", err);
	ok(rc == PG_EFAIL && strstr(err, "no password, which is not") != NULL,
	    "let in unasked where only SCRAM is allowed: %s", err);
	allow = 0;
	rc = session(&c, L("R\0\0\0\x08\0\0\0\7"), "pw", err);
	ok(rc == PG_EFAIL && strstr(err, "GSSAPI") != NULL,
	    "an unsupported method is named: %s", err);
	rc = session(&c, L("R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0" AUTH_OK
	    READY), "pw", err);
	ok(rc == PG_EFAIL && strstr(err, "skipped") != NULL,
	    "SCRAM begun, then Ok without the server's proof: refused (%s)",
	    err);
	rc = session(&c, L("R\0\0\0\x1c\0\0\0\x0aSCRAM-SHA-256-PLUS\0\0"), "pw",
	    err);
	ok(rc == PG_EFAIL && strstr(err, "no SASL mechanism") != NULL,
	    "SASL without SCRAM-SHA-256: refused (%s)", err);
	rc = session(&c, L(READY), NULL, err);
	ok(rc == PG_EFAIL && strstr(err, "ready before the login") != NULL,
	    "ready before any authentication: refused");
	rc = session(&c, L("E\0\0\0\x25" "SFATAL\0C3D000\0Mno database \"db\"\0\0"),
	    NULL, err);
	ok(rc == PG_ESERVER && strcmp(c.sqlstate, "3D000") == 0 &&
	    strstr(err, "FATAL 3D000: no database") != NULL,
	    "an ErrorResponse at login: PG_ESERVER with SQLSTATE (%s)", err);
	rc = session(&c, L("D\0\1\0\x05"), NULL, err);
	ok(rc == PG_EFAIL && strstr(err, "length") != NULL,
	    "an over-long message is refused before its body (%s)", err);
	rc = session(&c, L(AUTH_OK "R\0\0"), NULL, err);
	ok(rc == PG_EFAIL && strstr(err, "closed by the server") != NULL,
	    "a message cut by the hang-up: an error");
	pg_close(&c);
}

/* ---- live: the server of tests/postgres.bash ---------------------------- */

static struct net_ep ep_tcp, ep_unix;

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		printf("Bail out! %s is not set (run through tests/80-pg-wire.bats)\n",
		    name);
		exit(1);
	}
	return v;
}

static int live_allow;	/* the methods login allows */

static int
login(struct pg_conn *c, const struct net_ep *ep, const char *user,
    const char *pw, int64_t ms, char *err)
{
	struct pg_login l = { user, "leaderrun", pw, pw ? strlen(pw) : 0,
		"pg_test", live_allow };

	return pg_connect(c, ep, &l, now_ns() + ms * MS, err);
}

static void
live_auth(void)
{
	static struct pg_conn c;
	char err[ERRLEN];
	int rc;

	rc = login(&c, &ep_tcp, "lr_scram", env("PG_PASS_SCRAM"), 5000, err);
	ok(rc == PG_OK && c.standby == 0 && strncmp(c.version, "15", 2) == 0 &&
	    c.pid > 0, "SCRAM-SHA-256 login (%s; server %s)",
	    rc == PG_OK ? "ok" : err, c.version);
	pg_close(&c);
	rc = login(&c, &ep_tcp, "lr_md5", env("PG_PASS_MD5"), 5000, err);
	ok(rc == PG_OK, "md5 login (%s)", rc == PG_OK ? "ok" : err);
	pg_close(&c);
	rc = login(&c, &ep_tcp, "lr_pass", env("PG_PASS_PLAIN"), 5000, err);
	ok(rc == PG_OK, "cleartext (password) login (%s)",
	    rc == PG_OK ? "ok" : err);
	pg_close(&c);
	rc = login(&c, &ep_tcp, "lr_trust", NULL, 5000, err);
	ok(rc == PG_OK, "trust login over TCP (%s)", rc == PG_OK ? "ok" : err);
	pg_close(&c);
	rc = login(&c, &ep_unix, "lr_scram", NULL, 5000, err);
	ok(rc == PG_OK, "trust login over the unix socket (%s)",
	    rc == PG_OK ? "ok" : err);
	pg_close(&c);

	live_allow = PG_AUTH_SCRAM;
	rc = login(&c, &ep_tcp, "lr_scram", env("PG_PASS_SCRAM"), 5000, err);
	ok(rc == PG_OK, "SCRAM login where only SCRAM is allowed");
	pg_close(&c);
	rc = login(&c, &ep_tcp, "lr_pass", env("PG_PASS_PLAIN"), 5000, err);
	ok(rc == PG_EFAIL && strstr(err, "cleartext password, which is not"),
	    "the password is not sent in clear where only SCRAM is allowed: %s",
	    err);
	live_allow = 0;

	rc = login(&c, &ep_tcp, "lr_scram", "wrong", 5000, err);
	ok(rc == PG_ESERVER && strcmp(c.sqlstate, "28P01") == 0 &&
	    strstr(err, "28P01") && strstr(err, "password authentication failed"),
	    "SCRAM, wrong password: %s", err);
	rc = login(&c, &ep_tcp, "lr_md5", "wrong", 5000, err);
	ok(rc == PG_ESERVER && strcmp(c.sqlstate, "28P01") == 0,
	    "md5, wrong password: %s", err);
	rc = login(&c, &ep_tcp, "lr_scram", NULL, 5000, err);
	ok(rc == PG_EFAIL && strstr(err, "asks for a password (SCRAM-SHA-256)"),
	    "SCRAM, no password: %s", err);
	rc = login(&c, &ep_tcp, "nobody_here", "x", 5000, err);
	ok(rc == PG_ESERVER && strcmp(c.sqlstate, "28P01") == 0,
	    "unknown role: the same answer as a wrong password: %s", err);
}

struct cells {
	int	 rows, n;
	char	 v[4][64];
	int	 null[4];
};

static int
keep_row(void *arg, int n, const struct pg_val *v, char *err)
{
	struct cells *c = arg;
	int i;

	if (n > 4) {
		seterr(err, "row of %d fields", n);
		return -1;
	}
	c->rows++;
	c->n = n;
	for (i = 0; i < n; i++) {
		c->null[i] = v[i].s == NULL;
		snprintf(c->v[i], sizeof(c->v[i]), "%.*s", (int)v[i].len,
		    v[i].s ? v[i].s : "");
	}
	return 0;
}

static void
live_query(void)
{
	static struct pg_conn c;
	const char *p[2] = { "it's a \"test\" \\ ; DROP TABLE x; -- ü", NULL };
	struct cells r;
	char err[ERRLEN];
	int64_t dl;
	int rc;

	if (login(&c, &ep_tcp, "lr_scram", env("PG_PASS_SCRAM"), 5000, err) !=
	    PG_OK) {
		ok(0, "login: %s", err);
		return;
	}
	dl = now_ns() + 5000 * MS;
	memset(&r, 0, sizeof(r));
	rc = pg_exec(&c, NULL, "SELECT $1::text, $2::text IS NULL, "
	    "octet_length($1), $2", 2, p, keep_row, &r, dl, err);
	ok(rc == PG_OK && r.rows == 1 && r.n == 4 && strcmp(r.v[0], p[0]) == 0 &&
	    strcmp(r.v[1], "t") == 0 && strcmp(r.v[2], "37") == 0 && r.null[3] &&
	    strcmp(c.tag, "SELECT 1") == 0,
	    "a parameter round trip, byte for byte, and a NULL (%s)",
	    rc == PG_OK ? r.v[0] : err);

	rc = pg_exec(&c, NULL, "SELECT 1/0", 0, NULL, NULL, NULL, dl, err);
	ok(rc == PG_ESERVER && strcmp(c.sqlstate, "22012") == 0 &&
	    strstr(err, "ERROR 22012: division by zero") != NULL,
	    "a statement's error: %s", err);
	memset(&r, 0, sizeof(r));
	rc = pg_exec(&c, NULL, "SELECT 'still here'", 0, NULL, keep_row, &r, dl,
	    err);
	ok(rc == PG_OK && strcmp(r.v[0], "still here") == 0 && c.txn == 'I',
	    "the connection serves on after an error");

	rc = pg_query(&c, "CREATE TEMP TABLE t (k text PRIMARY KEY, v int);"
	    "INSERT INTO t VALUES ('a', 1), ('b', 2), ('c', 3)", NULL, NULL, dl,
	    err);
	ok(rc == PG_OK && c.affected == 3,
	    "simple query, two statements: the last tag counts 3 (%s)",
	    rc == PG_OK ? c.tag : err);
	rc = pg_prepare(&c, "bump", "UPDATE t SET v = v + 1 WHERE v >= $1 "
	    "RETURNING k", dl, err);
	ok(rc == PG_OK, "a named statement prepared (%s)",
	    rc == PG_OK ? "ok" : err);
	memset(&r, 0, sizeof(r));
	rc = pg_exec(&c, "bump", NULL, 1, (const char *const[]){ "2" },
	    keep_row, &r, dl, err);
	ok(rc == PG_OK && r.rows == 2 && c.affected == 2 &&
	    strcmp(c.tag, "UPDATE 2") == 0,
	    "the named statement run: 2 rows back, UPDATE 2");
	rc = pg_query(&c, "SELECT 1, 2, 3, 4, 5", keep_row, &r, dl, err);
	ok(rc == PG_EROW && strstr(err, "row of 5 fields") != NULL,
	    "a row the callback refuses: PG_EROW with its reason");
	rc = pg_exec(&c, NULL, "SELECT $1::int", 1, (const char *const[]){ "x" },
	    NULL, NULL, dl, err);
	ok(rc == PG_ESERVER && strcmp(c.sqlstate, "22P02") == 0,
	    "a bad parameter is the server's error, not injected SQL: %s", err);
	rc = pg_exec(&c, NULL, "SELECT 1", 0, NULL, NULL, NULL, dl, err);
	ok(rc == PG_OK && c.txn == 'I', "and the connection is in step");
	pg_close(&c);
}

static void
live_notify(void)
{
	static struct pg_conn a, b;
	char err[ERRLEN], q[128], id[80];
	struct pg_note nt;
	int64_t t0;
	int rc;

	if (login(&a, &ep_tcp, "lr_scram", env("PG_PASS_SCRAM"), 5000, err) !=
	    PG_OK || login(&b, &ep_tcp, "lr_md5", env("PG_PASS_MD5"), 5000,
	    err) != PG_OK) {
		ok(0, "login: %s", err);
		return;
	}
	pg_ident("leaderrun \"wake\"", id, sizeof(id));
	snprintf(q, sizeof(q), "LISTEN %s", id);
	rc = pg_query(&a, q, NULL, NULL, now_ns() + 5000 * MS, err);
	ok(rc == PG_OK, "%s (%s)", q, rc == PG_OK ? "ok" : err);

	t0 = now_ns();
	rc = pg_wait_note(&a, &nt, t0 + 150 * MS, err);
	ok(rc == 0 && now_ns() - t0 >= 150 * MS && now_ns() - t0 < 2000 * MS,
	    "no notification: 0 at the deadline (%lld ms)",
	    (long long)((now_ns() - t0) / MS));

	rc = pg_exec(&b, NULL, "SELECT pg_notify($1, $2)", 2,
	    (const char *const[]){ "leaderrun \"wake\"", "next=42" }, NULL, NULL,
	    now_ns() + 5000 * MS, err);
	ok(rc == PG_OK, "pg_notify from another session (%s)",
	    rc == PG_OK ? "ok" : err);
	rc = pg_wait_note(&a, &nt, now_ns() + 5000 * MS, err);
	ok(rc == 1 && strcmp(nt.channel, "leaderrun \"wake\"") == 0 &&
	    strcmp(nt.payload, "next=42") == 0 && nt.pid == b.pid,
	    "delivered: channel, payload, sender's pid (%s)",
	    rc == 1 ? nt.payload : err);
	rc = pg_wait_note(&a, &nt, now_ns() + 50 * MS, err);
	ok(rc == 0, "and only once");
	rc = pg_exec(&a, NULL, "SELECT 1", 0, NULL, NULL, NULL,
	    now_ns() + 5000 * MS, err);
	ok(rc == PG_OK, "the listener still runs statements");
	pg_close(&a);
	pg_close(&b);
}

/* Stopped servers: every wait ends at its deadline (within a second: the
 * machine may be loaded), and SIGCONT follows each stop at once. */
static void
live_deadline(void)
{
	static struct pg_conn c;
	struct pg_note nt;
	char err[ERRLEN], q[64];
	pid_t pm = (pid_t)atol(env("PG_PID"));
	int64_t t0, took;
	int rc;

	if (login(&c, &ep_tcp, "lr_scram", env("PG_PASS_SCRAM"), 5000, err) !=
	    PG_OK || pg_query(&c, "LISTEN lr", NULL, NULL, now_ns() + 5000 * MS,
	    err) != PG_OK) {
		ok(0, "login: %s", err);
		return;
	}
	/* The session's own backend stopped: a statement times out. */
	ok(kill(c.pid, SIGSTOP) == 0, "SIGSTOP to the session's backend %ld",
	    (long)c.pid);
	t0 = now_ns();
	rc = pg_wait_note(&c, &nt, t0 + 200 * MS, err);
	took = now_ns() - t0;
	ok(rc == 0 && took >= 200 * MS && took < 1200 * MS,
	    "LISTEN on a stopped server: nothing, at the deadline (%lld ms)",
	    (long long)(took / MS));
	t0 = now_ns();
	rc = pg_exec(&c, NULL, "SELECT 1", 0, NULL, NULL, NULL, t0 + 300 * MS,
	    err);
	took = now_ns() - t0;
	kill(c.pid, SIGCONT);
	ok(rc == PG_EFAIL && strstr(err, "timed out") != NULL &&
	    took >= 300 * MS && took < 1300 * MS,
	    "a statement to a stopped backend: %s after %lld ms", err,
	    (long long)(took / MS));
	ok(c.fd == -1, "and the connection, out of step, is closed");

	/* The postmaster stopped: the kernel completes the handshake, then
	 * the startup message is never answered. */
	ok(kill(pm, SIGSTOP) == 0, "SIGSTOP to the postmaster %ld", (long)pm);
	t0 = now_ns();
	rc = login(&c, &ep_tcp, "lr_scram", env("PG_PASS_SCRAM"), 300, err);
	took = now_ns() - t0;
	kill(pm, SIGCONT);
	ok(rc == PG_EFAIL && strstr(err, "timed out") != NULL &&
	    took >= 300 * MS && took < 1300 * MS,
	    "a login to a stopped server: %s after %lld ms", err,
	    (long long)(took / MS));
	rc = login(&c, &ep_tcp, "lr_scram", env("PG_PASS_SCRAM"), 5000, err);
	snprintf(q, sizeof(q), "SELECT 1");
	ok(rc == PG_OK && pg_query(&c, q, NULL, NULL, now_ns() + 5000 * MS,
	    err) == PG_OK, "after SIGCONT the server serves again");
	pg_close(&c);
}

int
main(int argc, char **argv)
{
	const char *why;
	char port[16], hp[NET_HOSTLEN + 16];

	if (argc == 1) {
		test_sha256();
		test_hmac();
		test_pbkdf2();
		test_md5();
		test_base64();
		test_scram();
		test_encode();
		test_decode();
		test_sessions();
	} else if (argc == 3 && strcmp(argv[1], "live") == 0) {
		snprintf(port, sizeof(port), "%s", env("PG_PORT"));
		snprintf(hp, sizeof(hp), "%s:%s", env("PG_HOST"), port);
		if ((why = net_parse_hostport(hp, strlen(hp), &ep_tcp)) != NULL) {
			printf("Bail out! %s: %s\n", hp, why);
			return 1;
		}
		memset(&ep_unix, 0, sizeof(ep_unix));
		snprintf(ep_unix.path, sizeof(ep_unix.path), "%s/.s.PGSQL.%s",
		    env("PG_SOCKDIR"), port);
		if (strcmp(argv[2], "auth") == 0)
			live_auth();
		else if (strcmp(argv[2], "query") == 0)
			live_query();
		else if (strcmp(argv[2], "notify") == 0)
			live_notify();
		else if (strcmp(argv[2], "deadline") == 0)
			live_deadline();
		else {
			printf("Bail out! no live part '%s'\n", argv[2]);
			return 1;
		}
	} else {
		fprintf(stderr, "usage: pg_test [live auth|query|notify|deadline]\n");
		return 2;
	}
	printf("1..%d\n", ntest);
	return nfail > 0;
}
