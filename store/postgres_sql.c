/*
 * postgres_sql.c - the statements of the PostgreSQL store (postgres_sql.h),
 * one place to read the whole protocol of a lease in SQL.
 *
 * Lease row: token NULL when free; clean set by a release (a row that is
 * missing was never there, or was deleted by hand); epoch grows with every
 * grant and is LEADERRUN_TERM.  Waiter rows: since orders the queue (first
 * come, first served), seen is refreshed at every look, and a waiter not
 * seen for DEAD milliseconds is skipped and, later, removed.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "store/postgres_sql.h"

#define MS(p)	"(" p "::bigint * interval '1 millisecond')"

int
pgs_table_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > PGS_TABLEMAX || isdigit((unsigned char)name[0]))
		return 0;
	for (i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	return 1;
}

void
pgs_sql_make(struct pgs_sql *s, const char *t)
{
	snprintf(s->create, sizeof(s->create),
	    "CREATE TABLE IF NOT EXISTS %s (name text PRIMARY KEY, token text, "
	    "holder text, epoch bigint NOT NULL DEFAULT 0, expires timestamptz, "
	    "clean boolean NOT NULL DEFAULT false); "
	    "CREATE TABLE IF NOT EXISTS %s_waiter (name text NOT NULL, "
	    "token text NOT NULL, since timestamptz NOT NULL, seen timestamptz "
	    "NOT NULL, PRIMARY KEY (name, token))", t, t);
	/*
	 * $1 name, $2 token, $3 holder value, $4 lease ms, $5 the last epoch
	 * seen (a row deleted by hand starts above it), $6 't' if a missing
	 * row may be created, $7 a token to take over once expired, $8 a
	 * token to take over now (a dead holder on this host), $9 DEAD ms.
	 * The lease is granted only if no live waiter queued before us; if
	 * not, we queue (or say we are still here).  The last SELECT reads
	 * the row as it was before this statement.
	 */
	snprintf(s->acquire, sizeof(s->acquire),
	    "WITH me AS (SELECT since FROM %s_waiter WHERE name = $1 AND "
	    "token = $2), "
	    "g AS (INSERT INTO %s AS l (name, token, holder, epoch, expires, "
	    "clean) SELECT $1, $2, $3, $5::bigint + 1, now() + " MS("$4") ", "
	    "false WHERE ($6::boolean OR EXISTS (SELECT 1 FROM %s WHERE name = "
	    "$1)) AND NOT EXISTS (SELECT 1 FROM %s_waiter x WHERE x.name = $1 "
	    "AND x.token <> $2 AND x.seen > now() - " MS("$9") " AND x.since < "
	    "COALESCE((SELECT since FROM me), 'infinity')) "
	    "ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token, holder = "
	    "EXCLUDED.holder, epoch = CASE WHEN l.token = EXCLUDED.token THEN "
	    "l.epoch ELSE l.epoch + 1 END, expires = EXCLUDED.expires, clean = "
	    "false WHERE l.token IS NULL OR l.token = EXCLUDED.token OR "
	    "(l.token = NULLIF($7, '') AND l.expires <= now()) OR l.token = "
	    "NULLIF($8, '') RETURNING epoch), "
	    "d AS (DELETE FROM %s_waiter WHERE name = $1 AND (token = $2 AND "
	    "EXISTS (SELECT 1 FROM g) OR token <> $2 AND seen < now() - 10 * "
	    MS("$9") ")), "
	    "j AS (INSERT INTO %s_waiter (name, token, since, seen) SELECT $1, "
	    "$2, clock_timestamp(), now() WHERE NOT EXISTS (SELECT 1 FROM g) "
	    "ON CONFLICT (name, token) DO UPDATE SET seen = now()) "
	    "SELECT (SELECT epoch FROM g), l.token, l.holder, l.epoch, "
	    "(extract(epoch FROM l.expires - now()) * 1000)::bigint, l.clean, "
	    "(SELECT count(*) FROM %s_waiter x WHERE x.name = $1 AND x.seen > "
	    "now() - " MS("$9") "), "
	    "(SELECT count(*) FROM %s_waiter x WHERE x.name = $1 AND x.token <> "
	    "$2 AND x.seen > now() - " MS("$9") " AND x.since < COALESCE(("
	    "SELECT since FROM me), 'infinity')) "
	    "FROM (SELECT 1) AS one LEFT JOIN %s l ON l.name = $1",
	    t, t, t, t, t, t, t, t, t);
	/* $1 name, $2 token, $3 holder value, $4 lease ms.  Our token still
	 * there means nobody took over, expired or not. */
	snprintf(s->renew, sizeof(s->renew),
	    "UPDATE %s SET expires = now() + " MS("$4") ", holder = $3 WHERE "
	    "name = $1 AND token = $2", t);
	/* $1 name, $2 token, $3 DEAD ms: free it if ours, mark a clean end,
	 * and wake the first live waiter alone (no herd). */
	snprintf(s->release, sizeof(s->release),
	    "WITH r AS (UPDATE %s SET token = NULL, expires = now(), clean = "
	    "true WHERE name = $1 AND token = $2 RETURNING name), "
	    "h AS (SELECT token FROM %s_waiter WHERE name = $1 AND seen > "
	    "now() - " MS("$3") " AND EXISTS (SELECT 1 FROM r) ORDER BY since "
	    "LIMIT 1) "
	    "SELECT (SELECT count(*) FROM r), (SELECT pg_notify('lr_' || token, "
	    "$1) FROM h)", t, t);
	/* $1 name, $2 token: leave the queue, and free a lease an attempt
	 * without an answer may have taken. */
	snprintf(s->withdraw, sizeof(s->withdraw),
	    "WITH a AS (DELETE FROM %s_waiter WHERE name = $1 AND token = $2) "
	    "UPDATE %s SET token = NULL, expires = now(), clean = true WHERE "
	    "name = $1 AND token = $2", t, t);
	/* $1 name, $2 DEAD ms. */
	snprintf(s->status, sizeof(s->status),
	    "SELECT NULL, l.token, l.holder, l.epoch, (extract(epoch FROM "
	    "l.expires - now()) * 1000)::bigint, l.clean, (SELECT count(*) "
	    "FROM %s_waiter x WHERE x.name = $1 AND x.seen > now() - " MS("$2")
	    ") FROM (SELECT 1) AS one LEFT JOIN %s l ON l.name = $1", t, t);
	snprintf(s->list, sizeof(s->list),
	    "SELECT name FROM %s ORDER BY name COLLATE \"C\"", t);
}
