/*
 * redis_conn.h - connections to one Redis server: connect and log in (AUTH,
 * SELECT), send pipelined commands and read their replies within a
 * deadline, EVAL requests, error texts a person can act on.  The Redis
 * store (redis.c) builds its lease on it; it knows nothing of leases.
 */
#ifndef REDIS_CONN_H
#define REDIS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "lease.h"
#include "wire/net.h"
#include "wire/resp.h"

#define REDIS_PASSMAX	1024
#define REDIS_BUFMAX	(RESP_BULKMAX + 4 * RESP_LINEMAX)

/* The server and how we log in. */
struct redis_server {
	struct net_ep	 ep;
	char		 user[LEASE_IDLEN];	/* "" for the default user */
	char		 pass[REDIS_PASSMAX + 1];
	int		 has_pass;
	int		 db;
	int64_t		 io_ns;		/* time budget of one call */
	int		 answered;	/* the server replied once */
};

/* One connection and what it has received. */
struct redis_conn {
	int		 fd;		/* -1: not connected */
	size_t		 len;
	char		 buf[REDIS_BUFMAX];
};

/*
 * redis_conn_open: connect C and log in: AUTH [USER] PASSWORD when there
 * is a password, SELECT DB when SELECT and DB > 0.  0, or -1 with ERR.
 */
int	redis_conn_open(struct redis_server *r, struct redis_conn *c,
	    int select, int64_t deadline, char *err);
void	redis_conn_close(struct redis_conn *c);

/*
 * redis_exchange: send REQ (LEN bytes, NREP pipelined commands) on C and
 * read NREP replies into REP before DEADLINE.  EXACT: bytes beyond the
 * replies are an error (a request connection out of step); otherwise they
 * are dropped.  Replies point into C->buf, valid until the next exchange.
 * Returns 0, or -1 with ERR and C closed: a half-read reply is never
 * reused, and what was sent may still run.
 */
int	redis_exchange(struct redis_server *r, struct redis_conn *c,
	    const char *req, size_t len, struct resp_reply *rep, int nrep,
	    int exact, int64_t deadline, char *err);

/* redis_call: redis_exchange on C within the call's time budget, on a
 * fresh connection if C is closed or went stale while idle. */
int	redis_call(struct redis_server *r, struct redis_conn *c,
	    const char *req, size_t len, struct resp_reply *rep, int nrep,
	    char *err);

/* redis_eval: append EVAL SCRIPT with its keys and arguments to BUF at *N.
 * -1 if it does not fit. */
int	redis_eval(char *buf, size_t cap, size_t *n, const char *script,
	    int nkeys, int argc, const char *const *args, const size_t *lens);

/* redis_int_reply: REP's integer into *X, or -1 with ERR. */
int	redis_int_reply(const struct redis_server *r,
	    const struct resp_reply *rep, const char *what, int64_t *x,
	    char *err);

/* redis_reply_error: ERR says what V, the reply to WHAT, says, or that it
 * is not what we expect. */
void	redis_reply_error(const struct redis_server *r,
	    const struct resp_val *v, const char *what, char *err);

/* redis_where: the server, for messages. */
const char *redis_where(const struct redis_server *r, char *buf, size_t len);

#endif
