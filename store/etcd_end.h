/*
 * etcd_end.h - how an etcd leader's term ends (etcd.c): the clean end that
 * says so in one txn, and how the waiter right behind a leader judges an
 * end it did not see said (a lease revoked or keys deleted by hand, or a
 * lease that ran out).
 *
 * PREFIX/NAME.ended holds the term (create_revision) of the last leader
 * that ended cleanly: a release, the watchdog's farewell, a same-host
 * reaper, or the release after a loss, each once the command was gone, in
 * the same txn that deletes its key and its mark.
 */
#ifndef ETCD_END_H
#define ETCD_END_H

#include <stddef.h>
#include <stdint.h>

#include "lease.h"
#include "store/etcd_api.h"

/* A leader as the waiter behind it knows it. */
struct etcd_known {
	int64_t		 rev, lease;	/* 0: none */
	int64_t		 stop_ns;	/* its renew-deadline + kill-after */
	int64_t		 not_before;	/* its lease runs at least until then
					 * (our clock, from its TTL), 0: unknown */
	int64_t		 polled;	/* when that TTL was last asked */
	int64_t		 granted_ns;	/* the TTL it was granted */
	int64_t		 gone;		/* seen gone without a clean end */
	int64_t		 until;		/* ... and wait until then */
	char		 id[LEASE_IDLEN], host[LEASE_HOSTLEN];
	int		 slots;		/* its --slots, as its value said */
	int		 led;		/* known to have led: its value names
					 * a start, the mark its lease, or a
					 * rewrite of its value showed */
};

/* etcd_ended_read: the term in the ended key at PATH (a kvs element) of
 * R, 0 if none. */
int64_t	etcd_ended_read(const struct http_resp *r, const char *path);

/*
 * etcd_end_body: the txn that ends the term REV of the key KEY64 (base64)
 * cleanly: delete the key, and the leader's mark MARK64 if it names that
 * key, and write REV to the ended key ENDED64.  After a loss the key is
 * gone already; the rest still holds.  Its length, or -1 if it does not
 * fit in LEN.
 */
int	etcd_end_body(char *body, size_t len, const char *key64, int64_t rev,
	    const char *mark64, const char *ended64);

/* etcd_end: send it.  1 if it deleted the key, 0 if the key was gone
 * already, -1 with ERR. */
int	etcd_end(struct etcd_api *a, const char *key64, int64_t rev,
	    const char *mark64, const char *ended64, char *err);


/* etcd_known_set: *K is the key of term REV on LEASE with the value H,
 * anew if it is another key (LEASE_NS: our lease, for a value that names
 * no duration).  It led if H names a start, or MARKED (the leader's mark
 * names its lease); once known, that stays. */
void	etcd_known_set(struct etcd_known *k, int64_t rev, int64_t lease,
	    const struct lease_holder *h, int64_t lease_ns, int marked);

/*
 * etcd_known_poll: ask how long K's lease has left, at most twice a
 * RETRY_NS (etcd rounds down to whole seconds), so that when its key goes,
 * a lease that may have run out (its holder stopped before that) can be
 * told from one revoked or deleted by hand.
 */
void	etcd_known_poll(struct etcd_api *a, struct etcd_known *k,
	    int64_t retry_ns);

/*
 * etcd_known_wait: the waiter whose term is OUR_REV is first in line, and
 * ENDED is the term in the ended key.  If the leader K it knew of went
 * without a clean end, its command may still run: wait until it has
 * stopped (warning once on L), then lead.  Judged once, when first seen
 * gone:
 *  - before its lease could have run out (the last TTL asked for): its
 *    lease was revoked or its keys deleted by hand, so wait its stop time
 *    (renew-deadline + kill-after) from now;
 *  - else it may have run out, and if K led (or AFTER_CLEAN: the key
 *    before it ended cleanly, so K waited out no one), that was a
 *    holder that stopped renewing, whose command stopped before; but its
 *    TTL is known to a second and half a RETRY_NS at best, so wait what
 *    of its stop time that blur could hide (0 at the defaults: TTL 10s,
 *    retry 2s, stop time 8s);
 *  - a K that ran out before it led may have been waiting out a leader
 *    before it that went without a clean end, whose command its lease
 *    says nothing of: wait its stop time from now, as if revoked;
 *  - never having asked: as if revoked.
 * A clean end seen meanwhile (ENDED names it) ends the wait.  1: wait (*H
 * and *RETRY_OUT say so), 0: lead now.
 */
int	etcd_known_wait(struct lease *l, struct etcd_known *k, int64_t ended,
	    int64_t our_rev, int64_t retry_ns, int after_clean,
	    struct lease_holder *h, int64_t *retry_out);

#endif
