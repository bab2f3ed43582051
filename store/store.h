/*
 * store.h - what a lease store implements, and what every store shares
 * (common.c, holder.c).  Private to the stores: the supervisor only sees lease.h.
 *
 * One const struct lease_ops per store, picked by the URL's scheme (as git
 * picks a transport and curl a protocol handler).  Each call keeps the
 * contract of its lease_* namesake in lease.h.
 */
#ifndef STORE_H
#define STORE_H

#include "lease.h"
#include "lib/base.h"
#include "lib/host.h"
#include "wire/net.h"

struct lease {
	const struct lease_ops *ops;
	void		*data;		/* the store's own state */
	/* warnings not yet taken by lease_warning, oldest first: one call
	 * may have two to give (a vanished lock, a fence that went back) */
	char		 warning[2][LEASE_ERRLEN];
	int		 nwarn, took;
	int64_t		 renewed_from;	/* see lease_renewed_from; 0 by default */
	int		 renew_now;	/* see lease_renew_now; 0 by default */
};

/*
 * A store's URL, parsed by its own parse_url into a struct only the store
 * knows (URL_SIZE bytes, zeroed by lease.c), and handed back to open,
 * status, list and where.  lease.c has already refused a password in it.
 */
struct lease_ops {
	const char	*scheme;	/* for messages: "file", "etcd", "redis",
					 * "postgres" */
	const char *const *prefixes;	/* the URL forms it takes ("redis://",
					 * "redis+unix://"), NULL-terminated */
	size_t	 url_size;
	int	(*parse_url)(const char *url, void *u, char *err);	/* 0, -1 */
	/* where: where lease NAME lives, for people (lease_store_where). */
	void	(*where)(const void *u, const char *name, char *buf, size_t len);
	int	(*open)(struct lease *, const void *u,
		    const struct lease_config *, char *err);
	int	(*acquire)(struct lease *, struct lease_holder *, int64_t *retry_ns,
		    char *err);
	int	(*renew)(struct lease *, long job, char *err);
	int	(*release)(struct lease *, char *err);
	void	(*withdraw)(struct lease *);
	int	(*watch_fd)(struct lease *);
	int	(*watch_clear)(struct lease *);
	void	(*farewell)(struct lease *, struct lease_farewell *);
	void	(*place_farewell)(struct lease *, struct lease_farewell *);
	void	(*close)(struct lease *);
	int	(*status)(const void *u, const struct lease_config *,
		    struct lease_holder *, struct lease_holder *w, int maxw,
		    int *nw, char *err);
	/*
	 * list: the names of every lease in the store, in byte order:
	 * FN(ARG, NAME, NULL, NULL) for each, FN(ARG, NULL, ENTRY, WHY) for
	 * an entry that looks like a lease but names none.  lease.c reads
	 * each NAME with status.  LEASE_OK or LEASE_ERR.  NULL: the store
	 * cannot list.
	 */
	int	(*list)(const void *u, const struct lease_config *,
		    void (*fn)(void *, const char *name, const char *entry,
		    const char *why), void *arg, char *err);
};

extern const struct lease_ops file_ops, etcd_ops, redis_ops;
extern const struct lease_ops postgres_ops;

/*
 * store_url_user: the user of URL, the bytes from P up to AT (the last '@'
 * of the authority), into USER (LEN bytes).  One rule for every store: RFC
 * 3986 userinfo without ':' (letters, digits, -._~!$&'()*+,;= and '@'),
 * "%XX" decoded, no control characters.  Returns 0, or -1 with ERR.
 */
int	store_url_user(const char *url, const char *p, const char *at,
	    char *user, size_t len, char *err);

/* store_url_authority: the end of the authority that starts at P: the
 * first '/' outside brackets ("[::1]:2379"), or the end of the string. */
const char *store_url_authority(const char *p);

/* store_farewell_to: add EP's addresses to F's, up to LEASE_FAREWELL_ADDRS
 * (resolved now: the watchdog must not wait on a resolver). */
void	store_farewell_to(struct lease_farewell *f, const struct net_ep *ep);

/* lease_warn: note a non-fatal oddity for lease_warning. */
void	lease_warn(struct lease *l, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * A holder on this host (same boot and PID namespace, see host.h) is alive
 * while its supervisor (pid and start time) or any process of its command's
 * group exists: a store may take over from a local holder only when both
 * are gone, never before.
 */

/*
 * The holder value of a network store: "key=value" lines (holder, host,
 * sys, pid, start, job, lease_ms, stop_ms, acquired, and done=1 when JOB is
 * LEASE_JOB_DONE), so that --status can name the holder and a contender on
 * the same host can judge it.  holder_format
 * returns the length, holder_parse 0 (fields it lacks stay zero) or -1.
 */
size_t	holder_format(char *buf, size_t len, const struct host_self *me,
	    const char *id, long job, int64_t lease_ms, int64_t stop_ms,
	    int64_t acquired_ms);
int	holder_parse(const char *buf, size_t len, struct lease_holder *h,
	    char *sys, size_t syslen, unsigned long long *start);
/* holder_judge: H->local and H->alive from the fields holder_parse gave. */
void	holder_judge(struct lease_holder *h, const char *sys,
	    unsigned long long start, const struct host_self *me);

#endif
