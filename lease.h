/*
 * lease.h - the lease store interface of leaderrun.
 *
 * A lease is a named, renewable claim that at most one contender holds at a
 * time.  The supervisor (run/) only speaks this interface.  A store URL
 * picks the implementation: file:DIR (store/file.c, the default),
 * etcd://HOST:PORT,... (store/etcd.c), redis://HOST:PORT and
 * redis+unix:///PATH (store/redis.c) or postgres://HOST:PORT/DB and
 * postgres+unix:///DIR (store/postgres.c).  lease.c dispatches through one ops
 * table per store (store/store.h); each store parses its own URL and knows
 * its own keys.
 *
 * Contract for every call below:
 *  - It never prints and never exits.  On failure it returns LEASE_ERR and
 *    writes a one-line reason ("open /tmp/x.lease: Permission denied") into
 *    ERR, which holds LEASE_ERRLEN bytes.
 *  - It may block on I/O (a stalled NFS mount, a dead server) for as long as
 *    that I/O takes.  The supervisor therefore calls the store from a worker
 *    thread only and enforces its own deadlines without waiting for it.
 *  - A struct lease is used by one thread at a time.
 *
 * Usage: lease_open; then lease_acquire until LEASE_OK, sleeping on
 * lease_watch_fd/lease_watch_clear and the returned hint in between; then
 * lease_renew every retry period; lease_release; lease_close.
 */
#ifndef LEASE_H
#define LEASE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base.h"

enum {
	LEASE_OK = 0,	/* done */
	LEASE_BUSY,	/* acquire: another contender holds the lease */
	LEASE_LOST,	/* renew/release: the lease is no longer ours */
	LEASE_ERR	/* I/O or configuration failure; see ERR */
};

#define LEASE_ERRLEN	ERRLEN
#define LEASE_IDLEN	129	/* node ids and names: at most 128 bytes */
#define LEASE_HOSTLEN	65

struct lease;

struct lease_config {
	const char	*name;		/* validated with lease_name_ok */
	const char	*store;		/* store URL, checked by lease_store_check */
	const char	*node_id;
	int64_t		 lease_ns;	/* lease duration */
	int64_t		 retry_ns;	/* follower re-check period */
	long		 job;		/* the command's process group, held before
					 * exec: named with the acquisition */
	int64_t		 io_ns;		/* network stores: time budget of one call;
					 * at most half the renew deadline */
	int64_t		 stop_ns;	/* renew-deadline + kill-after: a leader
					 * that cannot renew has stopped its
					 * command this long after its last
					 * renewal (less than lease_ns) */
	const char	*password;	/* the store user's password, or NULL;
					 * a store copies it and never shows it */
	int		 once;		/* one attempt (-n): a store that
					 * queues waiters keeps no place */
};

/* What a reader learns about the current holder. */
struct lease_holder {
	int		 state;		/* LEASE_FREE, LEASE_HELD, LEASE_RELEASED */
	char		 id[LEASE_IDLEN];
	char		 host[LEASE_HOSTLEN];
	long		 pid;		/* holder's supervisor */
	long		 job;		/* holder's command process group, 0 if none */
	uint64_t	 term;		/* fencing token: grows with each leader */
	int64_t		 acquired_ms;	/* wall clock, for display only */
	int64_t		 renewed_ms;	/* wall clock, for display only */
	int64_t		 lease_ms;	/* the holder's lease duration */
	int64_t		 stop_ms;	/* its renew-deadline + kill-after, 0 if
					 * unknown (then lease_ms stands in) */
	uint64_t	 renewals;
	int		 local;		/* 1: holder runs on this host */
	int		 alive;		/* local holder: 1 if any of its processes exist */
	int64_t		 ttl_ms;	/* server-side time left, -1 if unknown */
	int		 waiters;	/* queued contenders, -1 if unknown */
	int		 done;		/* 1: the holder's command has finished
					 * and it holds on (--min-hold) */
};

/*
 * lease_renew's JOB when the command has finished but the leader keeps the
 * lease (--min-hold): the record then says done and names no process group.
 * Stores write job 0 and a separate mark, as older readers refuse a
 * negative job.
 */
#define LEASE_JOB_DONE	(-1L)

/*
 * Last words: what the watchdog sends when the supervisor died and the job
 * is dead, so that a network store frees the lease at once instead of after
 * its TTL.  Prepared in advance: the watchdog is forked from the held
 * command's process before its exec (run/watchdog.c), a descendant of the
 * threaded supervisor, and may only make async-signal-safe calls.
 */
#define LEASE_FAREWELL_ADDRS	8
struct lease_farewell {
	int		 n;		/* addresses to try in turn; 0: none */
	struct sockaddr_storage addr[LEASE_FAREWELL_ADDRS];
	socklen_t	 addrlen[LEASE_FAREWELL_ADDRS];
	size_t		 len;
	int		 eof;		/* several requests: read until the
					 * server closes (net_oneshot) */
	char		 req[2816];	/* the request, sent as is (an etcd token
					 * included: a JWT takes ~500 bytes; a
					 * Redis clean end's script ~1.3 kB) */
};

enum { LEASE_FREE, LEASE_HELD, LEASE_RELEASED };

/*
 * lease_name_ok: 1 if NAME is a valid lease name (1-128 bytes of
 * [A-Za-z0-9._@+:-], not "." or ".."), 0 otherwise.
 */
int	lease_name_ok(const char *name);

/*
 * lease_store_check: 0 if URL names a store we can use ("file:DIR",
 * "etcd://[USER@]HOST:PORT[,HOST:PORT...][/PREFIX]", "redis://[USER@]HOST:PORT
 * [/DB]", "redis+unix://[USER@]/PATH[?db=N]", "postgres://[USER@]HOST:PORT
 * [,HOST:PORT...]/DB[?table=NAME]", "postgres+unix://[USER@]/DIR[?db=DB]"),
 * else -1 with ERR saying what
 * is wrong with it; the store named by the scheme parses the rest.  A URL holding a
 * password ("scheme://user:pw@...") is refused, and ERR shows it masked.
 * No I/O.
 */
int	lease_store_check(const char *url, char *err);

/* lease_store_where: where the lease NAME lives in URL, for people
 * ("/tmp/NAME.lease", "etcd://127.0.0.1:2379 leaderrun/NAME/",
 * "redis://127.0.0.1:6379/0 leaderrun:{NAME}:lock"). */
void	lease_store_where(const char *url, const char *name, char *buf,
	    size_t len);

/*
 * lease_open: prepare a contender for CFG (copied).  Returns LEASE_OK and
 * stores a handle in *LP, or LEASE_ERR.
 */
int	lease_open(struct lease **lp, const struct lease_config *cfg,
	    char *err);

/*
 * lease_acquire: one attempt to take the lease.  Returns LEASE_OK when we
 * now hold it (*H describes our record, H->term is our fencing token),
 * LEASE_BUSY when someone else does (*H describes them), LEASE_ERR on
 * failure.  *RETRY_NS is set to how long the caller should wait before the
 * next attempt if nothing wakes it earlier.
 */
int	lease_acquire(struct lease *l, struct lease_holder *h,
	    int64_t *retry_ns, char *err);

/*
 * lease_renew: extend our hold, recording JOB (the command's process group,
 * 0 if none, LEASE_JOB_DONE once it has finished).  Returns LEASE_OK, LEASE_LOST if the record is gone or no
 * longer ours (it is then left untouched), or LEASE_ERR (still ours as far
 * as we know; the caller's renew deadline decides).
 */
int	lease_renew(struct lease *l, long job, char *err);

/*
 * lease_renewed_from: after a successful lease_acquire or lease_renew, the
 * time (on now_ns's clock, base.h, at most the time the call began) from which the
 * renewed lease runs; a store that renewed in advance, or needed not to
 * renew at all this time, reports when it did.  0: from the call's start.
 */
int64_t	lease_renewed_from(struct lease *l);

/*
 * lease_renew_now: after lease_acquire returned LEASE_OK, 1 if the store
 * completes its claim with a renewal, to be sent as soon as the command
 * runs (etcd: the leader's mark); 0 if the next one can wait its period.
 */
int	lease_renew_now(struct lease *l);

/*
 * lease_release: give the lease back so that a waiter can take it at once.
 * Never touches a record that is not ours.  Returns LEASE_OK, LEASE_LOST or
 * LEASE_ERR.
 */
int	lease_release(struct lease *l, char *err);

/*
 * lease_withdraw: stop contending (-w gave up, a signal, not elected with
 * -n): give up any place this contender holds in a queue, so that it does
 * not delay the others.  Never touches a lease we lead.
 */
void	lease_withdraw(struct lease *l);

/*
 * lease_watch_fd: a descriptor that becomes readable when the lease may have
 * changed hands (for the file store: when this host's leader lock came free;
 * for etcd: a watch on the contender ahead of us).  Poll it between acquire
 * attempts; call lease_watch_clear when it is readable: it returns 1 if an
 * attempt is due now, 0 if what arrived changes nothing.  Returns -1 if the
 * store cannot watch (then poll on the retry hint alone).
 */
int	lease_watch_fd(struct lease *l);
int	lease_watch_clear(struct lease *l);

/*
 * lease_farewell: once we lead, fill *F with the request that frees our
 * lease on a network store (F->n = 0 when the store needs none).
 */
void	lease_farewell(struct lease *l, struct lease_farewell *f);

/*
 * lease_place_farewell: while we wait, fill *F with the request that gives
 * up our place in the store's queue, so that a waiter killed before its
 * turn does not hold up the ones behind it until its place runs out
 * (F->n = 0 when the store keeps no place for us).
 */
void	lease_place_farewell(struct lease *l, struct lease_farewell *f);

/* lease_close: drop every lock and free L.  Does not release the record. */
void	lease_close(struct lease *l);

/*
 * lease_status: read the record of CFG without joining the election (no file
 * is created).  Returns LEASE_OK with *H filled (H->state LEASE_FREE when
 * there is no record) and, where the store queues contenders, the first
 * MAXW of them in order in W[0..*NW-1]; or LEASE_ERR.
 */
int	lease_status(const struct lease_config *cfg, struct lease_holder *h,
	    struct lease_holder *w, int maxw, int *nw, char *err);

/* One entry of lease_list, valid during the call that gets it. */
struct lease_item {
	const char	*name;	/* a lease; NULL for an entry that is not one */
	const char	*entry;	/* no NAME: what the store skipped (a file name,
				 * a key), raw bytes: escape before printing */
	const char	*why;	/* NULL, or why NAME could not be read or ENTRY
				 * was skipped (no raw bytes of ENTRY in it) */
	struct lease_holder h;	/* NAME and no WHY: as lease_status gives it */
	const struct lease_holder *w;
	int		 nw;
};

/*
 * lease_list: every lease in the store of CFG (CFG->name is not used), in
 * byte order of the names: FN(ARG, ITEM) for each, with the first MAXW
 * waiters where the store queues them; also for what the store skips (a
 * file that fails the safety checks, a key that names no lease), with
 * ITEM->why set.  Returns LEASE_OK, or LEASE_ERR when the store cannot be
 * listed at all (or cannot list, as a store may).
 */
int	lease_list(const struct lease_config *cfg,
	    void (*fn)(void *, const struct lease_item *), void *arg, int maxw,
	    char *err);

/* lease_warning: the oldest non-fatal oddity (a corrupt record, a lock
 * that vanished) not taken yet, or NULL: call it until NULL after each
 * acquire.  A string valid until that NULL. */
const char *lease_warning(struct lease *l);

#endif
