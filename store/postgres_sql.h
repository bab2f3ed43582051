/*
 * postgres_sql.h - the statements of the PostgreSQL store (postgres.c),
 * written once for a table named at run time.
 *
 * Two tables: the lease, one row per name, and its waiters, one row per
 * contender queued for it.  Expiry is judged by the server's clock: every
 * statement is a single autocommitted statement, so now() is the time it
 * runs.  Parameters of every statement: $1 name, $2 our token.
 */
#ifndef POSTGRES_SQL_H
#define POSTGRES_SQL_H

#include <stddef.h>

#define PGS_SQLMAX	4096
#define PGS_TABLEMAX	48	/* a table name: [a-z_][a-z0-9_]*, this long */

/* The statements, for the lease table TABLE and TABLE_waiter. */
struct pgs_sql {
	char	 create[PGS_SQLMAX];	/* both tables, if missing */
	char	 acquire[PGS_SQLMAX];
	char	 renew[PGS_SQLMAX];
	char	 release[PGS_SQLMAX];	/* also the watchdog's last words */
	char	 withdraw[PGS_SQLMAX];
	char	 status[PGS_SQLMAX];
	char	 list[PGS_SQLMAX];
};

/* pgs_sql_make: the statements for TABLE (checked by pgs_table_ok). */
void	pgs_sql_make(struct pgs_sql *s, const char *table);

/* pgs_table_ok: 1 if NAME (LEN bytes) may name the lease table. */
int	pgs_table_ok(const char *name, size_t len);

#endif
