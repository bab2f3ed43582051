/*
 * lease.h - the lease store interface of leaderrun.
 *
 * A lease is a named, renewable claim that at most one contender holds at a
 * time.  The supervisor (leaderrun.c) only speaks this interface; the file
 * store in lease.c is the first implementation, and a network store (etcd,
 * Redis) plugs in behind the same calls.
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

#include <stddef.h>
#include <stdint.h>

enum {
	LEASE_OK = 0,	/* done */
	LEASE_BUSY,	/* acquire: another contender holds the lease */
	LEASE_LOST,	/* renew/release: the lease is no longer ours */
	LEASE_ERR	/* I/O or configuration failure; see ERR */
};

#define LEASE_ERRLEN	256
#define LEASE_IDLEN	129	/* node ids and names: at most 128 bytes */
#define LEASE_HOSTLEN	65

struct lease;

struct lease_config {
	const char	*name;		/* validated with lease_name_ok */
	const char	*dir;
	const char	*node_id;
	int64_t		 lease_ns;	/* lease duration */
	int64_t		 retry_ns;	/* follower re-check period */
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
	uint64_t	 renewals;
	int		 local;		/* 1: holder runs on this host */
	int		 alive;		/* local holder: 1 if any of its processes exist */
};

enum { LEASE_FREE, LEASE_HELD, LEASE_RELEASED };

/*
 * lease_name_ok: 1 if NAME is a valid lease name (1-128 bytes of
 * [A-Za-z0-9._@+:-], not "." or ".."), 0 otherwise.
 */
int	lease_name_ok(const char *name);

/* lease_now_ns: the clock every deadline uses (CLOCK_BOOTTIME on Linux). */
int64_t	lease_now_ns(void);

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
 * 0 if none).  Returns LEASE_OK, LEASE_LOST if the record is gone or no
 * longer ours (it is then left untouched), or LEASE_ERR (still ours as far
 * as we know; the caller's renew deadline decides).
 */
int	lease_renew(struct lease *l, long job, char *err);

/*
 * lease_release: give the lease back so that a waiter can take it at once.
 * Never touches a record that is not ours.  Returns LEASE_OK, LEASE_LOST or
 * LEASE_ERR.
 */
int	lease_release(struct lease *l, char *err);

/*
 * lease_watch_fd: a descriptor that becomes readable when the lease may have
 * changed hands (for the file store: when this host's leader lock came free).
 * Poll it between acquire attempts; call lease_watch_clear after it fired.
 * Returns -1 if the store cannot watch (then poll on the retry hint alone).
 */
int	lease_watch_fd(struct lease *l);
void	lease_watch_clear(struct lease *l);

/* lease_close: drop every lock and free L.  Does not release the record. */
void	lease_close(struct lease *l);

/*
 * lease_status: read the record of CFG without joining the election (no file
 * is created).  Returns LEASE_OK with *H filled (H->state LEASE_FREE when
 * there is no record), or LEASE_ERR.
 */
int	lease_status(const struct lease_config *cfg, struct lease_holder *h,
	    char *err);

/* lease_warning: the last non-fatal oddity seen (a corrupt record), or NULL;
 * reading it clears it. */
const char *lease_warning(struct lease *l);

#endif
