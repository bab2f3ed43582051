/*
 * etcd_api.h - a client of etcd's v3 JSON gateway: the members tried in
 * turn, the login and its token, one call within a time budget.  The etcd
 * store (etcd.c) builds its queue on it; it knows nothing of leases.
 */
#ifndef ETCD_API_H
#define ETCD_API_H

#include <stddef.h>
#include <stdint.h>

#include "lease.h"
#include "wire/http.h"
#include "wire/net.h"

#define ETCD_MAXEPS	8
#define ETCD_TOKENMAX	1024	/* a simple token is ~20 bytes, a JWT ~500 */

struct etcd_api {
	struct net_ep	 ep[ETCD_MAXEPS];
	int		 neps, cur;	/* the member we talk to */
	struct http_conn c;		/* to ep[cur] */
	int64_t		 io_ns;		/* time budget of one call */
	const char	*scope;		/* the keys we use, for a refusal */

	/* authentication: none when user is "" */
	char		 user[LEASE_IDLEN];
	char		*password;	/* malloc'd, wiped by etcd_api_close */
	int		 auth_off;	/* the server said it has no auth on */
	int		 answered;	/* some member answered once */
	char		 token[ETCD_TOKENMAX];	/* "" until we log in */
};

/*
 * etcd_call: POST BODY to PATH within the time budget, moving on to the
 * next member when one fails, hangs or has no leader; each member tried
 * gets an even share of the time left.  With a user, it logs in first and
 * again when etcd refuses the token.  Returns 0 with a 200 reply in *R (a
 * JSON body), 1 with another status in *R (ERR says what), -1 when no
 * member answered (ERR says why).  The caller frees R->body.
 */
int	etcd_call(struct etcd_api *a, const char *path, const char *body,
	    struct http_resp *r, char *err);

/* etcd_is_error: 1 if R is an etcd error whose message holds WHAT. */
int	etcd_is_error(const struct http_resp *r, const char *what);

/* etcd_revoke: drop etcd lease ID (and its keys).  Gone already is fine.
 * Returns 0, or -1 with ERR. */
int	etcd_revoke(struct etcd_api *a, int64_t id, char *err);

/* etcd_auth_header: the header line that carries our token, or "". */
void	etcd_auth_header(const struct etcd_api *a, char *buf, size_t len);

/* etcd_where: the member we talk to, for messages. */
const char *etcd_where(const struct etcd_api *a, char *buf, size_t len);

/* etcd_api_close: close the connection, wipe the password and token. */
void	etcd_api_close(struct etcd_api *a);

#endif
