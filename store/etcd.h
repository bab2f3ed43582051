/*
 * etcd.h - the etcd store's state and the calls its files share: etcd.c
 * (URLs, opening, a contender's calls of lease.h) and etcd_read.c
 * (--status and --list, which read without contending).  Private to them.
 */
#ifndef ETCD_H
#define ETCD_H

#include <stdint.h>

#include "lib/host.h"
#include "wire/http.h"
#include "store/etcd_api.h"
#include "store/etcd_end.h"
#include "store/store.h"

#define KEYMAX		(256 + LEASE_IDLEN + 24)
#define B64MAX		((KEYMAX + 24) * 4 / 3 + 8)
#define VALMAX		1024

/* The URL: etcd://[USER@]HOST:PORT[,HOST:PORT...][/PREFIX] */
struct etcd_url {
	struct net_ep	 ep[ETCD_MAXEPS];	/* members, tried in turn */
	int		 neps;
	char		 prefix[256];		/* no slashes at either end */
	char		 user[LEASE_IDLEN];	/* "" for none */
};

/* A holder as the last look saw it: judged from /proc between looks. */
struct seen {
	int		 found;
	struct lease_holder h;
	char		 sys[80];
	unsigned long long start;
};

struct etcd {
	struct lease	*lease;
	struct etcd_api	 api;		/* unary calls */
	struct http_conn wc;		/* the watch on the key ahead of us */
	int		 watching;
	int		 watch_ep;	/* the member it is on (api.ep index) */
	int64_t		 watch_rev;	/* create_revision of the watched key */
	int64_t		 handed;	/* the revision of the leader's clean end,
					 * seen on the watch: lead without a look */
	int64_t		 handed_to;	/* ... by our key of this revision */
	int		 span;		/* it spans the ended key to ours (below) */
	int		 respan;	/* the key ahead leads now: look, and so
					 * watch the span */
	char		 wkey64[B64MAX];	/* the watched key */

	char		 prefix[KEYMAX];	/* "PREFIX/NAME/" */
	char		 prefix64[B64MAX], end64[B64MAX];
	char		 mark64[B64MAX];	/* PREFIX/NAME.leader */
	char		 ended64[B64MAX];	/* PREFIX/NAME.ended */
	int64_t		 mark_lease;	/* the mark's lease as last read, 0: none */
	int64_t		 ended;		/* the term in the ended key, as last read */
	char		 id[LEASE_IDLEN];
	struct host_self me;
	int64_t		 lease_ns, retry_ns, stop_ns, ttl;
	int		 slots;		/* --slots, written in our value */

	/* our place in the queue */
	int		 joined;
	int64_t		 lease_id;
	char		 key64[B64MAX];
	int64_t		 rev;		/* create_revision of our key */
	int64_t		 last_ka;	/* send time of the last good keepalive */
	int		 leader;
	int		 marked;	/* our PREFIX/NAME.leader is written */
	long		 cfg_job;	/* the held command, named from the join */
	int		 first;		/* join found our key the lowest */
	int64_t		 count;		/* keys in the queue, as join saw them */
	long		 job;		/* the job our value names */
	int64_t		 acquired_ms;

	/* a waiter between looks */
	int64_t		 looked;	/* when it last looked, 0: look next */
	struct lease_holder shown;	/* what that look returned */
	struct seen	 near[2];	/* the leader and the key ahead */
	int64_t		 own_from;	/* a new leader's watch starts here */

	/* The leader we know of (the last look's, or the key ahead once it
	 * rewrote its value at its first renewal, or joined as the leader),
	 * to judge how it went. */
	struct etcd_known kl;
	struct etcd_known ahead_k;	/* the key ahead, as the last look saw it */
	int		 ahead_next;	/* ... right behind the leader: we are
					 * third in line */
};

/* One etcd reply: a holder's key, as the look txn returns it. */
struct kv {
	int		 found;
	int64_t		 rev;		/* create_revision */
	int64_t		 lease;
	char		 key[KEYMAX + 24];
	struct lease_holder h;
	char		 sys[80];
	unsigned long long start;
};

/* etcd_open, etcd_close: lease_ops' open and close (a reader opens one
 * too, for its members, its login and its key names). */
int	etcd_open(struct lease *l, const void *url,
	    const struct lease_config *cfg, char *err);
void	etcd_close(struct lease *l);

/* etcd_kv_get: the key at PATH (a kvs element) of R into *KV.  1 if
 * there is one, else 0. */
int	etcd_kv_get(const struct http_resp *r, const char *path,
	    struct kv *kv);

/* etcd_read.c: lease_ops' status and list. */
int	etcd_status(const void *u, const struct lease_config *cfg,
	    struct lease_holder *h, struct lease_holder *w, int maxw, int *nw,
	    char *err);
int	etcd_list(const void *url, const struct lease_config *cfg,
	    void (*fn)(void *, const char *, const char *, const char *),
	    void *arg, char *err);

#endif
