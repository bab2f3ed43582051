/*
 * wire_test.c - unit tests of net.c, http.c and json.c, in TAP.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L \
 *       -o tests/wire_test tests/wire_test.c net.c http.c json.c
 *   tests/wire_test
 *
 * The first half feeds the parsers the responses captured from etcd 3.4
 * (/work/shared/WIRE.md, section 1) byte for byte, then hostile ones.  The
 * second half runs the client against tiny servers forked on 127.0.0.1
 * (port 0) and on a unix socket, each replying with canned bytes: time-outs,
 * replies in pieces, keep-alive reuse, the keep-alive race, streams.
 * Prints "ok N - ..." or "not ok N - ..." per check; exits 1 if any failed.
 * It brings its own now_ns (the same clock), so that it links
 * without the stores.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base.h"
#include "wire/http.h"
#include "wire/json.h"
#include "wire/net.h"

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
}

static void
nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- canned responses (WIRE.md 1.2-1.9) ------------------------------- */

#define CORS \
	"Access-Control-Allow-Headers: accept, content-type, authorization\r\n" \
	"Access-Control-Allow-Methods: POST, GET, OPTIONS, PUT, DELETE\r\n" \
	"Access-Control-Allow-Origin: *\r\n"
#define DATE	"Date: Wed, 26 Nov 2026 10:00:00 GMT\r\n"
#define HDR	"\"header\":{\"cluster_id\":\"2037210783374497686\"," \
	"\"member_id\":\"13195394291058371180\",\"revision\":\"%s\"," \
	"\"raft_term\":\"2\"}"

static const char grant_body[] =
    "{\"header\":{\"cluster_id\":\"2037210783374497686\",\"member_id\":"
    "\"13195394291058371180\",\"revision\":\"21\",\"raft_term\":\"2\"},"
    "\"ID\":\"7668682480359012466\",\"TTL\":\"5\"}";
static const char grant_resp[] =
    "HTTP/1.1 200 OK\r\n" CORS
    "Content-Type: application/json\r\n"
    DATE
    "Grpc-Metadata-Content-Type: application/grpc\r\n"
    "Content-Length: 151\r\n"
    "\r\n"
    "{\"header\":{\"cluster_id\":\"2037210783374497686\",\"member_id\":"
    "\"13195394291058371180\",\"revision\":\"21\",\"raft_term\":\"2\"},"
    "\"ID\":\"7668682480359012466\",\"TTL\":\"5\"}";

static const char txn_ok[] =
    "{\"header\":{\"cluster_id\":\"2037210783374497686\",\"member_id\":"
    "\"13195394291058371180\",\"revision\":\"22\",\"raft_term\":\"2\"},"
    "\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":"
    "{\"revision\":\"22\"}}}]}";
static const char txn_fail[] =
    "{\"header\":{\"cluster_id\":\"2037210783374497686\",\"member_id\":"
    "\"13195394291058371180\",\"revision\":\"22\",\"raft_term\":\"2\"},"
    "\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"22\"},"
    "\"kvs\":[{\"key\":\"bGVhZGVycnVuL2pvYjE=\",\"create_revision\":\"22\","
    "\"mod_revision\":\"22\",\"version\":\"1\",\"value\":"
    "\"bm9kZUE6NDI0Mg==\",\"lease\":\"7668682480359012466\"}],"
    "\"count\":\"1\"}}]}";

static const char keepalive_msg[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"2037210783374497686\","
    "\"member_id\":\"13195394291058371180\",\"revision\":\"22\","
    "\"raft_term\":\"2\"},\"ID\":\"7668682480359012466\",\"TTL\":\"5\"}}\n";
static const char keepalive_resp[] =
    "HTTP/1.1 200 OK\r\n" CORS
    "Content-Type: application/json\r\n"
    DATE
    "Grpc-Metadata-Content-Type: application/grpc\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "a3\r\n"
    "{\"result\":{\"header\":{\"cluster_id\":\"2037210783374497686\","
    "\"member_id\":\"13195394291058371180\",\"revision\":\"22\","
    "\"raft_term\":\"2\"},\"ID\":\"7668682480359012466\",\"TTL\":\"5\"}}\n"
    "\r\n0\r\n\r\n";
static const char keepalive_lost[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"2037210783374497686\","
    "\"member_id\":\"13195394291058371180\",\"revision\":\"22\","
    "\"raft_term\":\"2\"},\"ID\":\"7668682480359012466\"}}";

static const char notfound_body[] =
    "{\"error\":\"etcdserver: requested lease not found\",\"message\":"
    "\"etcdserver: requested lease not found\",\"code\":5}";
static const char notfound_resp[] =
    "HTTP/1.1 404 Not Found\r\n" CORS
    "Content-Type: application/json\r\n"
    DATE
    "Trailer: Grpc-Trailer-Content-Type\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "6c\r\n"
    "{\"error\":\"etcdserver: requested lease not found\",\"message\":"
    "\"etcdserver: requested lease not found\",\"code\":5}\r\n"
    "0\r\n"
    "Grpc-Trailer-Content-Type: application/grpc\r\n"
    "\r\n";

static const char http10_resp[] =
    "HTTP/1.0 200 OK\r\n" CORS
    "Content-Type: application/json\r\n"
    DATE
    "Grpc-Metadata-Content-Type: application/grpc\r\n"
    "\r\n"
    "{\"result\":{\"header\":{\"cluster_id\":\"2037210783374497686\","
    "\"member_id\":\"13195394291058371180\",\"revision\":\"22\","
    "\"raft_term\":\"2\"},\"ID\":\"7668682480359012466\",\"TTL\":\"5\"}}\n";

static const char watch_head[] =
    "HTTP/1.1 200 OK\r\n" CORS
    "Content-Type: application/json\r\n"
    DATE
    "Grpc-Metadata-Content-Type: application/grpc\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";
static const char watch_created[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"2037210783374497686\","
    "\"member_id\":\"13195394291058371180\",\"revision\":\"6\","
    "\"raft_term\":\"2\"},\"created\":true}}\n";
static const char watch_delete[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"2037210783374497686\","
    "\"member_id\":\"13195394291058371180\",\"revision\":\"8\","
    "\"raft_term\":\"2\"},\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":"
    "\"bGVhZGVycnVuL3dhdGNo\",\"mod_revision\":\"8\"},\"prev_kv\":{\"key\":"
    "\"bGVhZGVycnVuL3dhdGNo\",\"create_revision\":\"6\",\"mod_revision\":"
    "\"7\",\"version\":\"2\",\"value\":\"Qg==\",\"lease\":"
    "\"7668682480359012400\"}}]}}";
static const char watch_canceled[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"2037210783374497686\","
    "\"member_id\":\"13195394291058371180\",\"revision\":\"16\","
    "\"raft_term\":\"2\"},\"canceled\":true,\"compact_revision\":\"15\"}}\n";

static const char proxy_502[] =
    "HTTP/1.1 502 Bad Gateway\r\n"
    "Server: nginx\r\n"
    "Content-Type: text/html\r\n"
    "Content-Length: 51\r\n"
    "Connection: close\r\n"
    "\r\n"
    "<html><body><h1>502 Bad Gateway</h1></body></html>\n";

/* A chunk of S as "hex\r\nS\r\n" into BUF; its length. */
static size_t
chunk(char *buf, const char *s, size_t n)
{
	int k = sprintf(buf, "%zx\r\n", n);

	memcpy(buf + k, s, n);
	memcpy(buf + k + n, "\r\n", 2);
	return (size_t)k + n + 2;
}

/* ---- http_parse ------------------------------------------------------- */

/*
 * Parse S (N bytes, then EOF if EOF): expect status STATUS, body BODY
 * (BLEN bytes) and USED bytes taken; every shorter prefix (without EOF)
 * must ask for more.
 */
static void
expect_resp(const char *what, const char *s, size_t n, int eof, int status,
    const char *body, size_t blen, size_t used)
{
	struct http_resp r;
	char err[ERRLEN] = "";
	size_t u = 0, i;
	int rc, prefix_ok = 1;

	for (i = 0; i < used; i++) {
		rc = http_parse(s, i, 0, &r, &u, err);
		if (rc != 0) {
			if (rc == 1)
				free(r.body);
			diag("prefix %zu: rc %d %s", i, rc, err);
			prefix_ok = 0;
			break;
		}
	}
	rc = http_parse(s, n, eof, &r, &u, err);
	ok(rc == 1 && prefix_ok && r.status == status && r.len == blen &&
	    u == used && (blen == 0 ? r.body == NULL :
	    r.body != NULL && memcmp(r.body, body, blen) == 0 &&
	    r.body[blen] == '\0'), "http_parse: %s", what);
	if (rc != 1)
		diag("rc %d: %s", rc, err);
	else
		free(r.body);
}

/* Parse S (N bytes): expect -1 with ERR containing WANT. */
static void
expect_err(const char *what, const char *s, size_t n, int eof,
    const char *want)
{
	struct http_resp r;
	char err[ERRLEN] = "";
	size_t u = 0;
	int rc;

	rc = http_parse(s, n, eof, &r, &u, err);
	ok(rc == -1 && strstr(err, want) != NULL, "http_parse refuses %s "
	    "(\"%s\")", what, err);
	if (rc == 1)
		free(r.body);
}

static void
test_parse(void)
{
	char buf[4096], big[HTTP_HEADMAX + 100];
	size_t n;
	struct http_resp r;
	char err[ERRLEN];
	size_t u;
	char *huge;

	ok(strlen(grant_body) == 151 && strlen(keepalive_msg) == 0xa3 &&
	    strlen(notfound_body) == 0x6c, "WIRE.md lengths: 151, a3, 6c");

	expect_resp("Content-Length success (lease grant)", grant_resp,
	    strlen(grant_resp), 0, 200, grant_body, 151, strlen(grant_resp));
	expect_resp("chunked keepalive", keepalive_resp, strlen(keepalive_resp),
	    0, 200, keepalive_msg, strlen(keepalive_msg),
	    strlen(keepalive_resp));
	expect_resp("chunked 404 with a trailer", notfound_resp,
	    strlen(notfound_resp), 0, 404, notfound_body,
	    strlen(notfound_body), strlen(notfound_resp));
	{
		const char *b = strstr(http10_resp, "\r\n\r\n") + 4;

		expect_resp("HTTP/1.0 body until close", http10_resp,
		    strlen(http10_resp), 1, 200, b, strlen(b),
		    strlen(http10_resp));
		n = strlen(http10_resp);
		ok(http_parse(http10_resp, n, 0, &r, &u, err) == 0,
		    "http_parse: HTTP/1.0 without EOF wants more");
	}
	/* Two responses back to back: the first one's bytes only. */
	n = (size_t)sprintf(buf, "%s%s", grant_resp, notfound_resp);
	expect_resp("keep-alive: the first of two responses", buf, n, 0, 200,
	    grant_body, 151, strlen(grant_resp));

	/* A watch: a message split over two chunks and a 1-byte "\n". */
	n = (size_t)sprintf(buf, "%s", watch_head);
	n += chunk(buf + n, watch_created, strlen(watch_created));
	n += chunk(buf + n, watch_delete, 100);
	n += chunk(buf + n, watch_delete + 100, strlen(watch_delete) - 100);
	n += chunk(buf + n, "\n", 1);
	n += chunk(buf + n, watch_canceled, strlen(watch_canceled));
	memcpy(buf + n, "0\r\n\r\n", 5);
	n += 5;
	{
		char body[2048];
		int k = sprintf(body, "%s%s\n%s", watch_created, watch_delete,
		    watch_canceled);

		expect_resp("a finished watch stream de-chunked", buf, n, 0, 200,
		    body, (size_t)k, n);
	}

	expect_resp("502 text/html from a proxy (the caller judges it)",
	    proxy_502, strlen(proxy_502), 0, 502,
	    strstr(proxy_502, "<html>"), 51, strlen(proxy_502));
#define C100	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" \
	"Content-Length: 2\r\n\r\n{}"
#define R204	"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
#define NOREASON "HTTP/1.1 200 \r\ncontent-length:  2 \r\n\r\n{}"
#define CHUNKEXT "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n" \
	"A;x=1\r\n0123456789\r\n000\r\n\r\n"
#define DUPCL	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" \
	"Content-Length: 2\r\n\r\n{}"
	expect_resp("100 Continue skipped", L(C100), 0, 200, "{}", 2,
	    sizeof(C100) - 1);
	expect_resp("204 has no body", L(R204), 0, 204, NULL, 0,
	    sizeof(R204) - 1);
	expect_resp("empty reason phrase, lower-case header names",
	    L(NOREASON), 0, 200, "{}", 2, sizeof(NOREASON) - 1);
	expect_resp("chunk extensions and upper-case hex", L(CHUNKEXT), 0,
	    200, "0123456789", 10, sizeof(CHUNKEXT) - 1);
	expect_resp("duplicate equal Content-Length", L(DUPCL), 0, 200, "{}",
	    2, sizeof(DUPCL) - 1);

	/* Hostile. */
	expect_err("a 10 MB Content-Length",
	    L("HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n"), 0,
	    "body too large");
	expect_err("a 20-digit Content-Length", L("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 99999999999999999999\r\n\r\n"), 0,
	    "body too large");
	expect_err("a non-hex chunk size", L("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nzz\r\n"), 0, "bad chunk size");
	expect_err("a chunk size too large", L("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nffffffffff"), 0,
	    "body too large");
	expect_err("a chunk without its CRLF", L("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX"), 0, "missing CRLF");
	expect_err("a bare LF in the head",
	    L("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), 0, "malformed");
	expect_err("a folded header", L("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n"
	    "Content-Length: 0\r\n\r\n"), 0, "folded");
	expect_err("conflicting Content-Length", L("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\nContent-Length: 3\r\n\r\n"), 0,
	    "conflicting");
	expect_err("Content-Length with a sign",
	    L("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}"), 0,
	    "bad Content-Length");
	expect_err("Content-Length and chunked together",
	    L("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n"), 0, "both");
	expect_err("gzip transfer coding", L("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"), 0,
	    "Transfer-Encoding");
	expect_err("a Redis reply, at once", L("-ERR"), 0, "status line");
	expect_err("HTML without a status line", L("<html>"), 0,
	    "status line");
	expect_err("HTTP/2", L("HTTP/2 200\r\n\r\n"), 0, "status line");
	expect_err("a status out of range", L("HTTP/1.1 700 X\r\n\r\n"), 0,
	    "status line");
	expect_err("101 Switching Protocols",
	    L("HTTP/1.1 101 Switching Protocols\r\n\r\n"), 0, "101");
	expect_err("a NUL in a header",
	    L("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"), 0, "malformed");
	expect_err("closed mid-body", L("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 151\r\n\r\n{\"header\""), 1,
	    "closed mid-response");
	expect_err("closed mid-head", L("HTTP/1.1 200 OK\r\nContent-Le"), 1,
	    "closed mid-response");
	expect_err("closed mid-chunk", notfound_resp, strlen(notfound_resp) - 10,
	    1, "closed mid-response");
	expect_err("closed before a byte", "", 0, 1, "closed");

	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
	expect_err("a header over HTTP_HEADMAX", big, sizeof(big), 0,
	    "header too large");
	ok(http_parse(big, 4000, 0, &r, &u, err) == 0,
	    "http_parse: a long header under the limit wants more");

	/* A body until close that passes HTTP_BODYMAX. */
	n = (size_t)HTTP_BODYMAX + 100;
	if ((huge = malloc(n)) != NULL) {
		memset(huge, 'x', n);
		memcpy(huge, "HTTP/1.0 200 OK\r\n\r\n", 19);
		expect_err("an HTTP/1.0 body over HTTP_BODYMAX", huge, n, 0,
		    "body too large");
		free(huge);
	}
}

/* ---- json ------------------------------------------------------------- */

static void
test_json(void)
{
	char out[512], q[512], deep[200];
	int64_t v = 0;
	size_t n, i;
	int rc;

	ok(json_get_int(grant_body, strlen(grant_body), "header.revision", &v)
	    == 1 && v == 21, "json: header.revision as a string");
	ok(json_get_int(grant_body, strlen(grant_body), "ID", &v) == 1 &&
	    v == 7668682480359012466LL, "json: a lease ID past 2^53");
	ok(json_get_bool(txn_ok, strlen(txn_ok), "succeeded") == 1,
	    "json: succeeded true");
	ok(json_get_bool(txn_fail, strlen(txn_fail), "succeeded") == 0,
	    "json: absent succeeded is false");
	ok(json_get_int(txn_fail, strlen(txn_fail),
	    "responses.0.response_range.kvs.0.create_revision", &v) == 1 &&
	    v == 22, "json: responses.0.response_range.kvs.0.create_revision");
	ok(json_get(txn_fail, strlen(txn_fail),
	    "responses.0.response_range.kvs.0.value", out, sizeof(out)) == 1 &&
	    strcmp(out, "bm9kZUE6NDI0Mg==") == 0, "json: kvs.0.value");
	ok(json_count(txn_fail, strlen(txn_fail),
	    "responses.0.response_range.kvs") == 1 &&
	    json_count(txn_fail, strlen(txn_fail), "responses.0.x") == 0 &&
	    json_count(txn_fail, strlen(txn_fail), "header") == -1,
	    "json_count: 1, absent 0, not an array -1");
	ok(json_get(txn_fail, strlen(txn_fail), "responses.1", out,
	    sizeof(out)) == 0 && json_get(txn_fail, strlen(txn_fail),
	    "responses.01", out, sizeof(out)) == 0,
	    "json: index out of range and \"01\" are absent");
	ok(json_get(keepalive_lost, strlen(keepalive_lost), "result.TTL", out,
	    sizeof(out)) == 0 && json_get_int(keepalive_lost,
	    strlen(keepalive_lost), "result.TTL", &v) == 0,
	    "json: result.TTL absent (lease lost)");
	ok(json_get(keepalive_msg, strlen(keepalive_msg), "result.TTL", out,
	    sizeof(out)) == 1 && strcmp(out, "5") == 0,
	    "json: keepalive message with its newline");
	ok(json_get(notfound_body, strlen(notfound_body), "message", out,
	    sizeof(out)) == 1 && strcmp(out,
	    "etcdserver: requested lease not found") == 0 &&
	    json_get_int(notfound_body, strlen(notfound_body), "code", &v) == 1
	    && v == 5, "json: error message and numeric code");
	ok(json_get(txn_ok, strlen(txn_ok), "responses.0", out, sizeof(out))
	    == 1 && strcmp(out, "{\"response_put\":{\"header\":"
	    "{\"revision\":\"22\"}}}") == 0, "json: an object as raw text");
	ok(json_get(txn_ok, strlen(txn_ok), "header", out, 10) == -1,
	    "json: a value that does not fit is -1");
	ok(json_get("{\"a\":1,\"a\":2}", 13, "a", out, sizeof(out)) == 1 &&
	    strcmp(out, "1") == 0, "json: duplicate key, the first wins");
	ok(json_get("{\"a\\u002eb\":1,\"a\":{\"b\":2}}", 26, "a.b", out,
	    sizeof(out)) == 1 && strcmp(out, "2") == 0,
	    "json: an escaped key is compared decoded");
	ok(json_get("\"\\u00e9\\ud83d\\ude00\\n\"", 22, "", out, sizeof(out))
	    == 1 && strcmp(out, "\xc3\xa9\xf0\x9f\x98\x80\n") == 0,
	    "json: \\u escapes and a surrogate pair to UTF-8");
	ok(json_get("[\"a\\u0000b\"]", 12, "0", out, sizeof(out)) == -1,
	    "json: \\u0000 is -1");
	ok(json_get_int(L("{\"a\":\"9223372036854775807\"}"), "a", &v) == 1 &&
	    v == INT64_MAX, "json_get_int: INT64_MAX");
	{
		static const char d[] = "{\"b\":-9223372036854775808,\"c\":"
		    "\"9223372036854775808\",\"d\":1.0,\"e\":\"1e3\",\"f\":\"\","
		    "\"g\":true,\"h\":\"-\"}";

		ok(json_get_int(d, strlen(d), "b", &v) == 1 && v == INT64_MIN &&
		    json_get_int(d, strlen(d), "c", &v) == -1 &&
		    json_get_int(d, strlen(d), "d", &v) == -1 &&
		    json_get_int(d, strlen(d), "e", &v) == -1 &&
		    json_get_int(d, strlen(d), "f", &v) == -1 &&
		    json_get_int(d, strlen(d), "g", &v) == -1 &&
		    json_get_int(d, strlen(d), "h", &v) == -1,
		    "json_get_int: INT64_MIN; overflow, 1.0, \"1e3\", \"\", "
		    "true, \"-\" refused");
		ok(json_get_bool(d, strlen(d), "f") == -1,
		    "json_get_bool: a string is not a bool");
	}

	/* Invalid documents. */
	{
		static const char *bad[] = {
			"", " ", "{\"a\":1} x", "{\"a\":1}}", "[1,]", "{\"a\"}",
			"{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]",
			"[\"\\x\"]", "[\"\\u12\"]", "[\"\\ud800\"]",
			"[\"\\udc00\"]", "[\"\\ud800\\u0041\"]", "[\"a\tb\"]",
			"[\"\x80\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]",
			"[\"\xf4\x90\x80\x80\"]", "[\"abc", "tru", "nul",
			"[true false]", "\xef\xbb\xbf{}", "{\"a\":1,}",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (json_valid(bad[i], strlen(bad[i])) ||
			    json_get(bad[i], strlen(bad[i]), "", out,
			    sizeof(out)) != -1)
				break;
		ok(i == sizeof(bad) / sizeof(bad[0]), "json: %zu invalid "
		    "documents refused (trailing garbage, bad escapes, lone "
		    "surrogates, bad UTF-8, ...)", i);
		if (i < sizeof(bad) / sizeof(bad[0]))
			diag("accepted: %s", bad[i]);
		ok(json_get_int("{\"a\":1} x", 9, "a", &v) == -1 &&
		    json_get_bool("{\"a\":true,", 10, "a") == -1 &&
		    json_count("[1,2", 4, "") == -1,
		    "json: lookups in an invalid document are -1");
	}
	ok(json_valid(L("[1,-0.5e+3,\"\xe2\x82\xac\",{},[],null,true,false]"))
	    && json_valid(" 7 ", 3) && json_valid("\"x\"", 3),
	    "json: valid documents, scalars at the top");
	for (i = 0; i < 64; i++)
		deep[i] = '[';
	for (i = 0; i < 64; i++)
		deep[64 + i] = ']';
	ok(json_valid(deep, 128), "json: depth 64 accepted");
	memmove(deep + 1, deep, 128);
	deep[129] = ']';
	ok(!json_valid(deep, 130), "json: depth 65 refused");

	/* json_quote */
	n = json_quote("a\"b\\c\n\x01\x7f\xff\xc3\xa9\xe2\x82", q, sizeof(q));
	ok(n > 0 && strcmp(q, "\"a\\\"b\\\\c\\n\\u0001\x7f\\u00ff\xc3\xa9"
	    "\\u00e2\\u0082\"") == 0 && json_valid(q, n),
	    "json_quote: quote, backslash, controls, non-UTF-8 bytes (%s)", q);
	ok(json_quote("abc", q, 5) == 0 && json_quote("abc", q, 6) == 5 &&
	    json_quote("", q, 3) == 2 && strcmp(q, "\"\"") == 0,
	    "json_quote: exact fit and too small");
	{
		char doc[600];
		const char *s = "n\xc3\xa9 \"\\/\t\xf0\x9f\x98\x80";

		n = json_quote(s, q, sizeof(q));
		snprintf(doc, sizeof(doc), "[%s]", q);
		rc = json_get(doc, strlen(doc), "0", out, sizeof(out));
		ok(n > 0 && rc == 1 && strcmp(out, s) == 0,
		    "json_quote: round trip");
	}

	/* base64, RFC 4648 section 10 */
	{
		static const char *v4648[][2] = {
			{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
			{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
			{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
			{ "leaderrun/job1", "bGVhZGVycnVuL2pvYjE=" },
			{ "nodeA:4242", "bm9kZUE6NDI0Mg==" },
		};
		char e[64], d[64];
		ssize_t k;
		int good = 1;

		for (i = 0; i < sizeof(v4648) / sizeof(v4648[0]); i++) {
			n = b64_encode(v4648[i][0], strlen(v4648[i][0]), e,
			    sizeof(e));
			k = b64_decode(v4648[i][1], strlen(v4648[i][1]), d,
			    sizeof(d));
			if (n != strlen(v4648[i][1]) || strcmp(e, v4648[i][1])
			    || k != (ssize_t)strlen(v4648[i][0]) ||
			    memcmp(d, v4648[i][0], (size_t)k) != 0)
				good = 0;
		}
		ok(good, "base64: RFC 4648 vectors and WIRE.md keys");
		ok(b64_decode("Zg=", 3, d, sizeof(d)) == -1 &&
		    b64_decode("Zg", 2, d, sizeof(d)) == -1 &&
		    b64_decode("Z===", 4, d, sizeof(d)) == -1 &&
		    b64_decode("Zm=v", 4, d, sizeof(d)) == -1 &&
		    b64_decode("Zg==Zg==", 8, d, sizeof(d)) == -1 &&
		    b64_decode("Zh==", 4, d, sizeof(d)) == -1 &&
		    b64_decode("Zm9-", 4, d, sizeof(d)) == -1 &&
		    b64_decode("Zm9\n", 4, d, sizeof(d)) == -1 &&
		    b64_decode("Zm9v", 4, d, 2) == -1,
		    "base64: bad length, padding, alphabet, spare bits, room");
		ok(b64_encode("foo", 3, e, 4) == 0 && b64_encode("foo", 3, e, 5)
		    == 4, "base64: encode needs room for the NUL");
	}
}

/* ---- net_parse_hostport ----------------------------------------------- */

static void
test_hostport(void)
{
	static const struct { const char *s, *host, *port, *why; } t[] = {
		{ "127.0.0.1:2379", "127.0.0.1", "2379", NULL },
		{ "etcd-1.example.com:1", "etcd-1.example.com", "1", NULL },
		{ "[::1]:2379", "::1", "2379", NULL },
		{ "[fe80::1%eth0]:80", "fe80::1%eth0", "80", NULL },
		{ "localhost:65535", "localhost", "65535", NULL },
		{ "", NULL, NULL, "empty" },
		{ ":2379", NULL, NULL, "empty host" },
		{ "host", NULL, NULL, "missing port" },
		{ "host:", NULL, NULL, "missing port" },
		{ "host:0", NULL, NULL, "bad port '0'" },
		{ "host:99999", NULL, NULL, "bad port '99999'" },
		{ "host:65536", NULL, NULL, "bad port" },
		{ "host:12a", NULL, NULL, "bad port" },
		{ "host:-1", NULL, NULL, "bad port" },
		{ "host: 80", NULL, NULL, "bad port" },
		{ "::1:2379", NULL, NULL, "brackets" },
		{ "[]:2379", NULL, NULL, "empty host" },
		{ "[abc]:2379", NULL, NULL, "bad IPv6" },
		{ "[127.0.0.1]:2379", NULL, NULL, "bad IPv6" },
		{ "[::1]", NULL, NULL, "missing port" },
		{ "[::1]2379", NULL, NULL, "garbage" },
		{ "[::1:2379", NULL, NULL, "missing ']'" },
		{ "ho st:80", NULL, NULL, "bad host" },
		{ "host/x:80", NULL, NULL, "bad host" },
	};
	struct net_ep ep;
	const char *why;
	char name[300];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why = net_parse_hostport(t[i].s, strlen(t[i].s), &ep);
		if (t[i].why == NULL)
			ok(why == NULL && strcmp(ep.host, t[i].host) == 0 &&
			    strcmp(ep.port, t[i].port) == 0 &&
			    ep.path[0] == '\0', "hostport: '%s' -> %s %s",
			    t[i].s, ep.host, ep.port);
		else
			ok(why != NULL && strstr(why, t[i].why) != NULL,
			    "hostport: '%s' refused (%s)", t[i].s,
			    why ? why : "accepted");
	}
	why = net_parse_hostport("[::1]:2379xyz", 10, &ep);
	ok(why == NULL && strcmp(net_name(&ep, name, sizeof(name)),
	    "[::1]:2379") == 0, "hostport: LEN bounds the text; net_name "
	    "brackets IPv6");
	why = net_parse_hostport("a\0b:1", 5, &ep);
	ok(why != NULL, "hostport: a NUL inside is refused");
}

/* ---- live: tiny servers ----------------------------------------------- */

typedef void (*serve_fn)(int lfd);

/* Fork FN serving a listening socket on 127.0.0.1:0; EP gets its port. */
static pid_t
spawn(serve_fn fn, struct net_ep *ep)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int lfd, one = 1;
	pid_t pid;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 8) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1) {
		perror("listen");
		exit(2);
	}
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->host, sizeof(ep->host), "127.0.0.1");
	snprintf(ep->port, sizeof(ep->port), "%u", ntohs(sin.sin_port));
	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);	/* the client must not need it */
		alarm(5);	/* never outlive a broken test */
		fn(lfd);
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* The server's exit status (killing it first if KILL). */
static int
reap(pid_t pid, int kill_it)
{
	int st;

	if (kill_it)
		kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
put(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

static void
puts_fd(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

/* Read one request (head and Content-Length body) from FD: 1, or 0 at EOF
 * or on anything odd. */
static int
get_request(int fd, char *req, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	char *e, *cl;

	for (;;) {
		if (n == cap - 1)
			return 0;
		if ((r = read(fd, req + n, cap - 1 - n)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return 0;
		}
		n += (size_t)r;
		req[n] = '\0';
		if ((e = strstr(req, "\r\n\r\n")) != NULL &&
		    (cl = strstr(req, "Content-Length: ")) != NULL &&
		    n >= (size_t)(e + 4 - req) + strtoul(cl + 16, NULL, 10))
			return 1;
	}
}

static int
accept1(int lfd)
{
	int fd;

	while ((fd = accept(lfd, NULL, NULL)) == -1 && errno == EINTR)
		;
	return fd;
}

static char sreq[8192];

static void
srv_silent(int lfd)
{
	int fd = accept1(lfd);

	get_request(fd, sreq, sizeof(sreq));
	pause();
}

static void
srv_pieces(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	put(fd, grant_resp, 20);
	nap(50);
	put(fd, grant_resp + 20, 100);
	nap(20);
	puts_fd(fd, grant_resp + 120);
	/* The request must be as WIRE.md 1.1 spells it. */
	if (strncmp(sreq, "POST /v3/lease/grant HTTP/1.1\r\n"
	    "Host: 127.0.0.1:", 47) != 0 || strstr(sreq, "\r\nContent-Type: "
	    "application/json\r\nContent-Length: 9\r\nX-Test: 1\r\n\r\n"
	    "{\"TTL\":5}") == NULL)
		_exit(3);
	nap(100);
	_exit(0);
}

/* Three requests on one accepted connection, never a second accept. */
static void
srv_keepalive(int lfd)
{
	int fd = accept1(lfd), i;

	for (i = 0; i < 3; i++) {
		if (!get_request(fd, sreq, sizeof(sreq)))
			_exit(1);
		if (i == 1)
			puts_fd(fd, keepalive_resp);
		else if (i == 2)
			puts_fd(fd, notfound_resp);
		else
			puts_fd(fd, grant_resp);
	}
	/* The client keeps the connection: no EOF, no new connection. */
	pause();
}

/* Answer once, then close the idle connection; answer on the next. */
static void
srv_idleclose(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, grant_resp);
	close(fd);
	fd = accept1(lfd);
	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(2);
	puts_fd(fd, keepalive_resp);
	pause();
}

/* The keep-alive race: read the 2nd request, close without a byte. */
static void
srv_race(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, grant_resp);
	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(2);
	close(fd);
	fd = accept1(lfd);
	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(3);
	puts_fd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
	pause();
}

/* A fresh connection closed without a reply: there must be no resend. */
static void
srv_noresend(int lfd)
{
	struct pollfd pfd;
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	close(fd);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	_exit(poll(&pfd, 1, 300) == 0 ? 0 : 4);
}

static void
srv_http10(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, http10_resp);
	close(fd);
	pause();
}

static void
srv_midbody(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	put(fd, grant_resp, strlen(grant_resp) - 40);
	close(fd);
	pause();
}

static void
srv_toolarge(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n{");
	pause();
}

/* A watch: created; a DELETE in two chunks and a 1-byte "\n" chunk, in
 * pieces; canceled; then silence with the connection open. */
static void
srv_watch(int lfd)
{
	char buf[2048];
	size_t n;
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, watch_head);
	n = chunk(buf, watch_created, strlen(watch_created));
	put(fd, buf, n);
	nap(60);
	n = chunk(buf, watch_delete, 100);
	put(fd, buf, n - 1);	/* the chunk's CRLF split too */
	nap(20);
	put(fd, buf + n - 1, 1);
	n = chunk(buf, watch_delete + 100, strlen(watch_delete) - 100);
	put(fd, buf, n);
	nap(20);
	n = chunk(buf, "\n", 1);
	n += chunk(buf + n, watch_canceled, strlen(watch_canceled));
	put(fd, buf, n);
	pause();
}

/* A keepalive stream that ends: one message, then the last chunk. */
static void
srv_stream_end(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, keepalive_resp);
	pause();
}

static void
srv_stream_404(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, notfound_resp);
	pause();
}

/* Bodies of exactly HTTP_BODYMAX: by length, then in 4 KB chunks; then
 * one byte more. */
static void
srv_bodymax(int lfd)
{
	static char blk[4096 + 16];
	char head[128];
	size_t i;
	int fd = accept1(lfd);

	memset(blk, 'x', sizeof(blk));
	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: "
	    "%d\r\n\r\n", HTTP_BODYMAX);
	puts_fd(fd, head);
	for (i = 0; i < HTTP_BODYMAX / 4096; i++)
		put(fd, blk, 4096);
	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(2);
	puts_fd(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	memcpy(blk, "1000\r\n", 6);
	memcpy(blk + 6 + 4096, "\r\n", 2);
	for (i = 0; i < HTTP_BODYMAX / 4096; i++)
		put(fd, blk, 4096 + 8);
	puts_fd(fd, "0\r\n\r\n");
	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(3);
	puts_fd(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < HTTP_BODYMAX / 4096; i++)
		put(fd, blk, 4096 + 8);
	puts_fd(fd, "1\r\nx\r\n0\r\n\r\n");
	pause();
}

static void
srv_reply_x(int lfd)
{
	int fd = accept1(lfd);

	if (!get_request(fd, sreq, sizeof(sreq)))
		_exit(1);
	puts_fd(fd, "x");
	nap(200);
}

static void
test_live(void)
{
	struct http_conn c;
	struct http_resp r;
	struct net_ep ep;
	char err[ERRLEN], want[128], *msg;
	int64_t t0, el;
	size_t len;
	pid_t pid;
	int rc, fd0;
	int64_t v;

	/* A server that accepts and never answers. */
	pid = spawn(srv_silent, &ep);
	http_init(&c, &ep);
	t0 = now_ns();
	rc = http_post(&c, "/v3/kv/range", NULL, "{}", 2, &r,
	    t0 + 200 * MS, err);
	el = now_ns() - t0;
	snprintf(want, sizeof(want), "receive 127.0.0.1:%s: timed out",
	    ep.port);
	ok(rc == -1 && strcmp(err, want) == 0 && c.fd == -1,
	    "live: silent server: \"%s\"", err);
	ok(el >= 200 * MS && el <= 250 * MS, "live: time-out after %lld ms "
	    "(deadline 200, slack 50)", (long long)(el / MS));
	http_close(&c);
	reap(pid, 1);

	/* Connection refused: a port with no listener. */
	pid = spawn(srv_silent, &ep);
	reap(pid, 1);	/* the child held the only listening socket */
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/kv/range", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	snprintf(want, sizeof(want), "connect 127.0.0.1:%s: Connection "
	    "refused", ep.port);
	ok(rc == -1 && strcmp(err, want) == 0, "live: \"%s\"", err);
	http_close(&c);

	/* A reply in three writes with pauses. */
	pid = spawn(srv_pieces, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/grant", "X-Test: 1\r\n", "{\"TTL\":5}", 9,
	    &r, now_ns() + 1000 * MS, err);
	ok(rc == 0 && r.status == 200 && r.len == 151 &&
	    json_get_int(r.body, r.len, "TTL", &v) == 1 && v == 5,
	    "live: a reply in pieces (%s)", rc ? err : "200");
	if (rc == 0)
		free(r.body);
	http_close(&c);
	ok(reap(pid, 0) == 0, "live: the request bytes are as WIRE.md 1.1");

	/* Keep-alive: three requests, one connection. */
	pid = spawn(srv_keepalive, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/grant", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	fd0 = c.fd;
	ok(rc == 0 && r.status == 200 && c.fd != -1, "live: keep-alive 1/3 "
	    "(Content-Length)");
	if (rc == 0)
		free(r.body);
	rc = http_post(&c, "/v3/lease/keepalive", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == 0 && r.status == 200 && c.fd == fd0 && r.len == 0xa3,
	    "live: keep-alive 2/3 (chunked) on the same connection");
	if (rc == 0)
		free(r.body);
	rc = http_post(&c, "/v3/lease/revoke", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == 0 && r.status == 404 && c.fd == fd0,
	    "live: keep-alive 3/3 (404 with a trailer) on the same "
	    "connection (%s)", rc ? err : "ok");
	if (rc == 0)
		free(r.body);
	http_close(&c);
	reap(pid, 1);

	/* The server closes the idle connection: caught before sending. */
	pid = spawn(srv_idleclose, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/grant", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	if (rc == 0)
		free(r.body);
	nap(30);
	rc = http_post(&c, "/v3/lease/keepalive", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == 0 && r.status == 200 && r.len == 0xa3,
	    "live: an idle connection closed by the server is replaced (%s)",
	    rc ? err : "ok");
	if (rc == 0)
		free(r.body);
	http_close(&c);
	reap(pid, 1);

	/* The keep-alive race: EOF with no byte on a reused connection. */
	pid = spawn(srv_race, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/grant", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	if (rc == 0)
		free(r.body);
	rc = http_post(&c, "/v3/kv/range", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == 0 && r.status == 200 && r.len == 2,
	    "live: keep-alive race: resent once on a fresh connection (%s)",
	    rc ? err : "ok");
	if (rc == 0)
		free(r.body);
	http_close(&c);
	reap(pid, 1);

	/* ...but never on a fresh connection. */
	pid = spawn(srv_noresend, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/kv/txn", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == -1 && strstr(err, "connection closed before the response"),
	    "live: fresh connection closed without a reply: \"%s\"", err);
	http_close(&c);
	ok(reap(pid, 0) == 0, "live: ...and the request was not resent");

	/* HTTP/1.0: the body ends at close, the connection is dropped. */
	pid = spawn(srv_http10, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/keepalive", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == 0 && r.status == 200 && r.len == strlen(keepalive_msg) &&
	    c.fd == -1, "live: HTTP/1.0 body until close");
	if (rc == 0)
		free(r.body);
	http_close(&c);
	reap(pid, 1);

	pid = spawn(srv_midbody, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/grant", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == -1 && strstr(err, "connection closed mid-response") &&
	    c.fd == -1, "live: closed mid-body: \"%s\"", err);
	http_close(&c);
	reap(pid, 1);

	pid = spawn(srv_toolarge, &ep);
	http_init(&c, &ep);
	t0 = now_ns();
	rc = http_post(&c, "/v3/lease/grant", NULL, "{}", 2, &r,
	    t0 + 500 * MS, err);
	ok(rc == -1 && strstr(err, "response body too large") && c.fd == -1 &&
	    now_ns() - t0 < 100 * MS,
	    "live: 10 MB Content-Length refused at once: \"%s\"", err);
	http_close(&c);
	reap(pid, 1);

	pid = spawn(srv_bodymax, &ep);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/kv/range", NULL, "{}", 2, &r,
	    now_ns() + 2000 * MS, err);
	ok(rc == 0 && r.len == HTTP_BODYMAX && r.body[HTTP_BODYMAX - 1] == 'x'
	    && r.body[HTTP_BODYMAX] == '\0', "live: a body of HTTP_BODYMAX by "
	    "Content-Length (%s)", rc ? err : "ok");
	if (rc == 0)
		free(r.body);
	rc = http_post(&c, "/v3/kv/range", NULL, "{}", 2, &r,
	    now_ns() + 2000 * MS, err);
	ok(rc == 0 && r.len == HTTP_BODYMAX && r.body[HTTP_BODYMAX - 1] == 'x',
	    "live: a body of HTTP_BODYMAX in 4 KB chunks (%s)",
	    rc ? err : "ok");
	if (rc == 0)
		free(r.body);
	rc = http_post(&c, "/v3/kv/range", NULL, "{}", 2, &r,
	    now_ns() + 2000 * MS, err);
	ok(rc == -1 && strstr(err, "response body too large") && c.fd == -1,
	    "live: one chunked byte more is refused: \"%s\"", err);
	http_close(&c);
	reap(pid, 1);

	/* A watch stream. */
	pid = spawn(srv_watch, &ep);
	http_init(&c, &ep);
	rc = http_stream_open(&c, "/v3/watch", NULL, "{}", 2,
	    now_ns() + 500 * MS, err);
	ok(rc == 0, "live: watch opened (%s)", rc ? err : "ok");
	rc = http_stream_next(&c, &msg, &len, now_ns() + 500 * MS, err);
	ok(rc == 1 && len == strlen(watch_created) - 1 &&
	    memcmp(msg, watch_created, len) == 0 && msg[len] == '\0' &&
	    json_get_bool(msg, len, "result.created") == 1,
	    "live: stream: created");
	t0 = now_ns();
	rc = http_stream_next(&c, &msg, &len, 0, err);
	el = now_ns() - t0;
	ok(rc == 0 && el < 10 * MS, "live: stream: deadline 0 does not "
	    "block (%lld us)", (long long)(el / 1000));
	rc = http_stream_next(&c, &msg, &len, now_ns() + 500 * MS, err);
	ok(rc == 1 && len == strlen(watch_delete) &&
	    memcmp(msg, watch_delete, len) == 0 && json_get(msg, len,
	    "result.events.0.type", want, sizeof(want)) == 1 &&
	    strcmp(want, "DELETE") == 0,
	    "live: stream: a DELETE split over chunks and a \"\\n\" chunk");
	nap(30);
	rc = http_stream_next(&c, &msg, &len, 0, err);
	ok(rc == 1 && json_get_bool(msg, len, "result.canceled") == 1 &&
	    json_get_int(msg, len, "result.compact_revision", &v) == 1 &&
	    v == 15, "live: stream: canceled, drained with deadline 0");
	t0 = now_ns();
	rc = http_stream_next(&c, &msg, &len, t0 + 50 * MS, err);
	el = now_ns() - t0;
	ok(rc == 0 && el >= 50 * MS && el < 100 * MS && c.fd != -1,
	    "live: stream: nothing more by the deadline (%lld ms), still "
	    "open", (long long)(el / MS));
	http_close(&c);
	reap(pid, 1);

	pid = spawn(srv_stream_end, &ep);
	http_init(&c, &ep);
	rc = http_stream_open(&c, "/v3/lease/keepalive", NULL, "{}", 2,
	    now_ns() + 500 * MS, err);
	if (rc == 0)
		rc = http_stream_next(&c, &msg, &len,
		    now_ns() + 500 * MS, err);
	ok(rc == 1 && json_get_int(msg, len, "result.TTL", &v) == 1 && v == 5,
	    "live: keepalive stream message");
	rc = http_stream_next(&c, &msg, &len, now_ns() + 500 * MS, err);
	ok(rc == -1 && strstr(err, "end of stream") && c.fd == -1,
	    "live: the last chunk ends the stream: \"%s\"", err);
	http_close(&c);
	reap(pid, 1);

	pid = spawn(srv_stream_404, &ep);
	http_init(&c, &ep);
	rc = http_stream_open(&c, "/v3/watch", NULL, "{}", 2,
	    now_ns() + 500 * MS, err);
	ok(rc == -1 && strcmp(err, "HTTP 404: etcdserver: requested lease "
	    "not found") == 0 && c.fd == -1, "live: stream refused: \"%s\"",
	    err);
	http_close(&c);
	reap(pid, 1);

	/* net_oneshot, as the watchdog uses it. */
	{
		struct sockaddr_storage ss[NET_MAXADDR];
		socklen_t lens[NET_MAXADDR];
		static const char req[] = "POST /v3/lease/revoke HTTP/1.1\r\n"
		    "Host: x\r\nContent-Length: 2\r\n\r\n{}";
		int k;

		pid = spawn(srv_reply_x, &ep);
		k = net_resolve(&ep, ss, lens, NET_MAXADDR, err);
		ok(k == 1 && net_oneshot(&ss[0], lens[0], req, strlen(req), 0,
		    now_ns() + 500 * MS) == 0,
		    "live: net_resolve + net_oneshot gets a reply");
		reap(pid, 1);

		pid = spawn(srv_silent, &ep);
		k = net_resolve(&ep, ss, lens, NET_MAXADDR, err);
		t0 = now_ns();
		rc = k == 1 ? net_oneshot(&ss[0], lens[0], req, strlen(req), 0,
		    t0 + 100 * MS) : 0;
		el = now_ns() - t0;
		ok(rc == -1 && el >= 100 * MS && el < 150 * MS,
		    "live: net_oneshot gives up at its deadline (%lld ms)",
		    (long long)(el / MS));
		reap(pid, 1);
	}
}

/* ---- live: a unix socket ---------------------------------------------- */

static void
test_unix(void)
{
	struct sockaddr_un sun;
	struct http_conn c;
	struct http_resp r;
	struct net_ep ep;
	char err[ERRLEN];
	pid_t pid;
	int lfd, rc;

	memset(&ep, 0, sizeof(ep));
	snprintf(ep.path, sizeof(ep.path), "/tmp/wire_test.%ld.sock",
	    (long)getpid());
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ep.path);
	unlink(ep.path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 4) == -1) {
		perror("unix listen");
		exit(2);
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		int fd = accept1(lfd);

		alarm(5);
		if (!get_request(fd, sreq, sizeof(sreq)) ||
		    strstr(sreq, "\r\nHost: localhost\r\n") == NULL)
			_exit(1);
		puts_fd(fd, grant_resp);
		nap(200);
		_exit(0);
	}
	close(lfd);
	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/grant", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == 0 && r.status == 200 && r.len == 151,
	    "live: a unix socket (%s)", rc ? err : "ok");
	if (rc == 0)
		free(r.body);
	http_close(&c);
	reap(pid, 1);
	unlink(ep.path);

	http_init(&c, &ep);
	rc = http_post(&c, "/v3/lease/grant", NULL, "{}", 2, &r,
	    now_ns() + 500 * MS, err);
	ok(rc == -1 && strstr(err, "connect /tmp/wire_test.") &&
	    strstr(err, "No such file"), "live: a missing unix socket: "
	    "\"%s\"", err);
	http_close(&c);
}

int
main(void)
{
	test_parse();
	test_json();
	test_hostport();
	test_live();
	test_unix();
	printf("1..%d\n", ntest);
	if (nfail)
		printf("# %d of %d failed\n", nfail, ntest);
	return nfail ? 1 : 0;
}
