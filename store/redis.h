/*
 * redis.h - the Redis store's state and the calls its files share:
 * redis.c (URLs, opening, a contender's calls of lease.h) and redis_read.c
 * (--status and --list, which read without contending).  Private to them.
 */
#ifndef REDIS_H
#define REDIS_H

#include "lib/host.h"
#include "store/redis_conn.h"
#include "store/store.h"

/* Every key starts with this (an ACL user needs PREFIX:*). */
#define PREFIX		"leaderrun"


#define BASEMAX		(16 + LEASE_IDLEN + 4)	/* PREFIX:{NAME}: */
#define KEYMAX		(BASEMAX + TOKMAX + 8)
#define VALMAX		1024
#define TOKMAX		48
#define REQMAX		(4 * VALMAX + 2 * REDIS_PASSMAX + 6144)

struct redis_url {
	struct net_ep	 ep;		/* HOST:PORT, or the socket's path */
	char		 user[LEASE_IDLEN];	/* an ACL user, "" for none */
	int		 db;
};

struct redis {
	struct lease	*lease;
	struct redis_server srv;
	struct redis_conn c;		/* requests */
	struct redis_conn sc;		/* the subscription of a waiter */
	int		 nosub;		/* SUBSCRIBE refused: poll only */

	char		 base[BASEMAX];	/* PREFIX:{NAME}: */
	char		 lock[KEYMAX], fence[KEYMAX], held[KEYMAX];
	char		 ended[KEYMAX], queue[KEYMAX], ticket[KEYMAX];
	char		 tok[TOKMAX];	/* our token: PID:RANDOM64 */
	char		 wkey[KEYMAX], chan[KEYMAX];	/* our waiter key, our
					 * wake channel: by our token */
	char		 subbed[KEYMAX];	/* the channel SC listens to */
	char		 id[LEASE_IDLEN];
	struct host_self me;
	int64_t		 lease_ns, retry_ns, stop_ns;
	int64_t		 place_ns;	/* a waiter refreshes its key this often */
	int		 once;		/* -n: one attempt, no place, no channel */
	uint64_t	 rnd;		/* token generator state */

	/* this acquisition (or attempt) */
	char		 value[VALMAX];	/* token line + holder value */
	size_t		 vlen, tlen;	/* the value's length, its token line's */
	int		 maybe;		/* an attempt with VALUE got no answer */
	int		 leader;
	long		 job;		/* the job VALUE names, -1: not yet */
	long		 cfg_job;	/* the held command, named when acquiring */
	int64_t		 acquired_ms;
	uint64_t	 term;
	int		 pending;	/* we hold the lock, but may not use it */
	int64_t		 pending_until;	/* before this time */
	uint64_t	 seen;		/* the last fence value seen */
	int64_t		 seen_lease_ms;	/* the last holder's lease duration */

	/* The lock as a waiter last saw it, and when it runs out at the
	 * earliest (the server's TIME, ms): if it goes without a clean end
	 * before that, the held key is put back for its holder (ACQUIRE). */
	char		 seen_val[VALMAX];
	size_t		 seen_len;
	uint64_t	 seen_term;
	int64_t		 seen_stop_ms;
	int64_t		 seen_expiry;
	int		 warned;	/* said so for this vanished lock */
	int		 unended;	/* lost the lock; the held key is ours */

	/* our place in the queue */
	int		 queued;	/* we have one (as far as we know) */
	int		 woken;		/* our channel said the lock is free */
	int64_t		 next_look;	/* no need to ask before this */
	int64_t		 asked;		/* when the last attempt was sent */
	int64_t		 queued_at;	/* ... the last that left us waiting */
	uint64_t	 wait_fence;	/* the fence that one saw (the largest
					 * value if it went back) */
	uint64_t	 handed;	/* the term a clean end handed us */
	struct lease_holder shown;	/* what the last attempt showed */
	/* the waiter right ahead of us, if it runs on this host: looked at
	 * (without asking Redis) every retry period, and removed once dead */
	int		 ahead_local;
	struct lease_holder ahead;
	char		 ahead_sys[80];
	unsigned long long ahead_start;
};

/* redis_open, redis_close: lease_ops' open and close (a reader opens one
 * too, for its connection and key names). */
int	redis_open(struct lease *l, const void *url,
	    const struct lease_config *cfg, char *err);
void	redis_close(struct lease *l);

/* redis_script: run LUA with ARGC keys and arguments A (lengths AL, or
 * NULL for C strings), NKEYS of them keys, on R's request connection: 0
 * with its reply in *REP, or -1 with ERR. */
int	redis_script(struct redis *r, const char *lua, int nkeys, int argc,
	    const char *const *a, const size_t *al, struct resp_reply *rep,
	    char *err);

/* redis_read.c: lease_ops' status and list. */
int	redis_status(const void *u, const struct lease_config *cfg,
	    struct lease_holder *h, struct lease_holder *w, int maxw, int *nw,
	    char *err);
int	redis_list(const void *u, const struct lease_config *cfg,
	    void (*fn)(void *, const char *, const char *, const char *),
	    void *arg, char *err);

#endif
