/*
 * fuzz_resp.c - libFuzzer target for the RESP reply parser (resp.c), which
 * reads whatever a Redis server, a proxy, or anything listening on the
 * store's port sends back.
 *
 *   make fuzz/fuzz_resp
 *   fuzz/fuzz_resp -max_total_time=60 tests/corpus/resp
 *
 * The input is copied into a buffer of exactly its size, so that any read
 * past the end is an ASan report.  Besides "no crash, no sanitizer report"
 * it checks what store/redis.c relies on: an accepted reply used at most
 * the bytes given, every string lies inside them, arrays' spans add up and
 * resp_elem finds each element inside the reply; the answer is the same
 * twice, the same for exactly the bytes used, and every shorter prefix of
 * an accepted reply asks for more (0) instead of being refused or accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base.h"
#include "wire/resp.h"

static void
check_reply(const struct resp_reply *r, const char *buf, size_t used)
{
	int i;

	if (r->n < 1 || r->n > RESP_MAXVALS || r->v[0].span != r->n)
		abort();
	for (i = 0; i < r->n; i++) {
		const struct resp_val *v = &r->v[i];
		int64_t k;

		if (v->span < 1 || i + v->span > r->n)
			abort();
		switch (v->type) {
		case RESP_STATUS:
		case RESP_ERROR:
		case RESP_BULK:
			if (v->s < buf || v->s + v->len > buf + used)
				abort();
			if (v->type == RESP_BULK && v->len > RESP_BULKMAX)
				abort();
			if (v->type != RESP_BULK && (memchr(v->s, '\r', v->len) ||
			    memchr(v->s, '\n', v->len)))
				abort();
			break;
		case RESP_INT:
		case RESP_NIL:
			if (v->span != 1)
				abort();
			break;
		case RESP_ARRAY: {
			int sum = 1;

			if (v->num < 0 || v->num >= RESP_MAXVALS)
				abort();
			for (k = 0; k < v->num; k++) {
				const struct resp_val *e = resp_elem(r, i, k);

				if (e == NULL || e <= v || e >= r->v + r->n)
					abort();
				sum += e->span;
			}
			if (sum != v->span || resp_elem(r, i, v->num) != NULL)
				abort();
			break;
		}
		default:
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct resp_reply r, r2;
	char err[ERRLEN], text[64];
	char *buf = malloc(size ? size : 1);
	size_t used = 0, used2 = 0, m;
	int rc, rc2;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	rc = resp_parse(buf, size, &r, &used, err);
	if (rc < -1 || rc > 1)
		abort();
	rc2 = resp_parse(buf, size, &r2, &used2, err);
	if (rc2 != rc || (rc == 1 && used2 != used))
		abort();
	if (rc == 1) {
		if (used == 0 || used > size)
			abort();
		check_reply(&r, buf, used);
		resp_text(&r.v[0], text, sizeof(text));
		if (strlen(text) >= sizeof(text))
			abort();
		/* Exactly the bytes it used: the same reply. */
		if (resp_parse(buf, used, &r2, &used2, err) != 1 || used2 != used ||
		    r2.n != r.n)
			abort();
		/* Every shorter prefix needs more. */
		for (m = 0; m < used; m += 1 + used / 64)
			if (resp_parse(buf, m, &r2, &used2, err) != 0)
				abort();
	}
	free(buf);
	return 0;
}
