/*
 * net.c - TCP and unix sockets where every operation has a deadline.
 *
 * Every descriptor is non-blocking: a call tries the operation first and
 * only then polls, so bytes that already arrived are returned even after
 * the deadline, and nothing ever waits past it.  Name resolution is the
 * one step that cannot be bounded (getaddrinfo has no time-out); callers
 * that must not block resolve once up front with net_resolve.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base.h"
#include "wire/net.h"

/* No SIGPIPE for a send to a closed peer: a flag where there is one, a
 * socket option where there is not (older macOS). */
#ifdef MSG_NOSIGNAL
#define SEND_FLAGS	MSG_NOSIGNAL
#else
#define SEND_FLAGS	0
#endif

static int
isdigit_c(int c)
{
	return c >= '0' && c <= '9';
}

/* Letters, digits and the few marks a host name or IPv4 address holds. */
static int
hostchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    isdigit_c(c) || c == '-' || c == '.' || c == '_';
}

/*
 * The why of a refused address, with the offending text; thread-local so
 * that the pointer net_parse_hostport returns stays the caller's.
 */
static _Thread_local char why[96];

static const char *
refuse(const char *what, const char *s, size_t len)
{
	snprintf(why, sizeof(why), "%s '%.*s%s'", what,
	    (int)(len > 40 ? 40 : len), s, len > 40 ? "..." : "");
	return why;
}

/* PORT (LEN bytes) as 1-65535 in plain digits into EP->port. */
static const char *
parse_port(const char *s, size_t len, struct net_ep *ep)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return "missing port";
	if (len > 5)
		return refuse("bad port", s, len);
	for (i = 0; i < len; i++) {
		if (!isdigit_c((unsigned char)s[i]))
			return refuse("bad port", s, len);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return refuse("bad port", s, len);
	snprintf(ep->port, sizeof(ep->port), "%lu", v);
	return NULL;
}

const char *
net_parse_hostport(const char *s, size_t len, struct net_ep *ep)
{
	const char *host, *port, *colon, *e;
	size_t hlen, i;

	memset(ep, 0, sizeof(*ep));
	if (len == 0)
		return "empty address";
	if (memchr(s, '\0', len) != NULL)
		return "NUL byte in address";
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		char tmp[NET_HOSTLEN];
		struct in6_addr a6;
		const char *pct;
		size_t alen;

		if (close == NULL)
			return refuse("missing ']' in", s, len);
		host = s + 1;
		hlen = (size_t)(close - host);
		if (hlen == 0)
			return "empty host";
		if (hlen >= sizeof(tmp))
			return "host too long";
		memcpy(tmp, host, hlen);
		tmp[hlen] = '\0';
		/* An optional zone ("fe80::1%eth0"), then the address proper. */
		pct = strchr(tmp, '%');
		alen = pct ? (size_t)(pct - tmp) : hlen;
		if (pct != NULL) {
			if (pct[1] == '\0')
				return refuse("bad IPv6 address", host, hlen);
			for (i = 1; pct[i] != '\0'; i++)
				if (!hostchar((unsigned char)pct[i]))
					return refuse("bad IPv6 address", host,
					    hlen);
			tmp[alen] = '\0';
		}
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return refuse("bad IPv6 address", host, hlen);
		if ((size_t)(close - s) + 1 == len)
			return "missing port";
		if (close[1] != ':')
			return refuse("garbage after ']' in", s, len);
		port = close + 2;
		goto port;
	}

	/* The last colon splits; any other colon means a bare IPv6 address. */
	for (colon = NULL, i = len; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	if (colon == NULL)
		return "missing port";
	host = s;
	hlen = (size_t)(colon - s);
	if (memchr(host, ':', hlen) != NULL)
		return "IPv6 addresses go in brackets: [ADDR]:PORT";
	if (hlen == 0)
		return "empty host";
	if (hlen >= NET_HOSTLEN)
		return "host too long";
	for (i = 0; i < hlen; i++)
		if (!hostchar((unsigned char)host[i]))
			return refuse("bad host", host, hlen);
	port = colon + 1;
port:
	if ((e = parse_port(port, len - (size_t)(port - s), ep)) != NULL) {
		memset(ep, 0, sizeof(*ep));
		return e;
	}
	memcpy(ep->host, host, hlen);
	return NULL;
}

const char *
net_name(const struct net_ep *ep, char *buf, size_t len)
{
	if (ep->path[0] != '\0')
		snprintf(buf, len, "%s", ep->path);
	else if (strchr(ep->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%s", ep->host, ep->port);
	else
		snprintf(buf, len, "%s:%s", ep->host, ep->port);
	return buf;
}

/*
 * Milliseconds from NOW until DEADLINE for poll, rounded up so that a poll
 * never returns just before the deadline only to be called again with 0.
 */
static int
poll_ms(int64_t deadline, int64_t now)
{
	int64_t ms;

	if (deadline <= now)
		return 0;
	ms = (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * Wait until FD has EVENTS or DEADLINE passes.  1 when ready (or in error:
 * the next call on FD says which), 0 on time-out, -1 with errno.
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int rc;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, poll_ms(deadline, now_ns()));
		if (rc > 0)
			return 1;
		if (rc == 0) {
			/* poll may wake a little early: only the clock says
			 * the deadline has passed. */
			if (now_ns() >= deadline)
				return 0;
			continue;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* A non-blocking, close-on-exec stream socket of FAMILY, or -1. */
static int
new_socket(int family)
{
	int fd, fl;

#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
	/* Atomic: another thread may fork and exec at any moment. */
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 || errno != EINVAL)
		return fd;
#endif
	if ((fd = socket(family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Connect a new socket to SA before DEADLINE.  The fd, or -1 with errno. */
static int
connect_addr(const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	int fd, rc, soerr;
	socklen_t sl = sizeof(soerr);

	if ((fd = new_socket(sa->sa_family)) == -1)
		return -1;
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
	{
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
	}
#endif
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		int one = 1;

		/* Each request is one write; don't let Nagle hold it. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	rc = connect(fd, sa, salen);
	/* EINTR: the connection goes on in the background, as for
	 * EINPROGRESS, and is waited for the same way. */
	if (rc == -1 && errno != EINPROGRESS && errno != EINTR)
		goto fail;
	if (rc == -1) {
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc == 0)
			errno = ETIMEDOUT;
		if (rc != 1)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			goto fail;
		if (soerr != 0) {
			errno = soerr;
			goto fail;
		}
	}
	return fd;
fail:
	rc = errno;
	close(fd);
	errno = rc;
	return -1;
}

static const char *
reason(int e)
{
	return e == ETIMEDOUT ? "timed out" : strerror(e);
}

/* EP's unix socket address into SUN; its length, or 0 if the path is too
 * long. */
static socklen_t
unix_addr(const struct net_ep *ep, struct sockaddr_un *sun)
{
	size_t n = strnlen(ep->path, sizeof(ep->path));

	memset(sun, 0, sizeof(*sun));
	if (n >= sizeof(sun->sun_path))
		return 0;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, ep->path, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

static struct addrinfo *
lookup(const struct net_ep *ep, char *err)
{
	struct addrinfo hints, *res = NULL;
	char name[NET_HOSTLEN + 16];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(ep->host, ep->port, &hints, &res);
	if (rc != 0) {
		seterr(err, "connect %s: %s", net_name(ep, name, sizeof(name)),
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return NULL;
	}
	return res;
}

int
net_connect(const struct net_ep *ep, int64_t deadline, char *err)
{
	struct addrinfo *res, *ai;
	char name[NET_HOSTLEN + 16];
	int fd = -1, e = 0;

	if (ep->path[0] != '\0') {
		struct sockaddr_un sun;
		socklen_t sl = unix_addr(ep, &sun);

		if (sl == 0) {
			seterr(err, "connect %s: path too long", ep->path);
			return -1;
		}
		fd = connect_addr((struct sockaddr *)&sun, sl, deadline);
		if (fd == -1)
			seterr(err, "connect %s: %s", ep->path, reason(errno));
		return fd;
	}
	if ((res = lookup(ep, err)) == NULL)
		return -1;
	/* Each address in turn; the first refusal should not hide a later
	 * address that works ("localhost" as ::1, then 127.0.0.1). */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = connect_addr(ai->ai_addr, ai->ai_addrlen, deadline);
		if (fd >= 0)
			break;
		e = errno;
		if (e == ETIMEDOUT)
			break;		/* no time left for the others */
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = e;
		seterr(err, "connect %s: %s", net_name(ep, name, sizeof(name)),
		    reason(e));
	}
	return fd;
}

int
net_send(int fd, const struct net_ep *ep, const void *buf, size_t n,
    int64_t deadline, char *err)
{
	const char *p = buf;
	char name[NET_HOSTLEN + 16];
	ssize_t w;
	int rc;

	while (n > 0) {
		w = send(fd, p, n, SEND_FLAGS);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc == 1)
				continue;
			if (rc == 0)
				errno = ETIMEDOUT;
		} else if (w == 0)
			errno = EPIPE;	/* not for a stream socket; be safe */
		seterr(err, "send %s: %s", net_name(ep, name, sizeof(name)),
		    reason(errno));
		return -1;
	}
	return 0;
}

ssize_t
net_recv(int fd, const struct net_ep *ep, void *buf, size_t n,
    int64_t deadline, char *err)
{
	char name[NET_HOSTLEN + 16];
	ssize_t r;
	int rc;

	for (;;) {
		r = recv(fd, buf, n, 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc == 1)
			continue;
		if (rc == 0)
			errno = ETIMEDOUT;
		break;
	}
	seterr(err, "receive %s: %s", net_name(ep, name, sizeof(name)),
	    reason(errno));
	return -1;
}

int
net_resolve(const struct net_ep *ep, struct sockaddr_storage *ss,
    socklen_t *lens, int max, char *err)
{
	struct addrinfo *res, *ai;
	int n = 0;

	if (max <= 0) {
		seterr(err, "resolve: no room for an address");
		return -1;
	}
	if (ep->path[0] != '\0') {
		struct sockaddr_un sun;
		socklen_t sl = unix_addr(ep, &sun);

		if (sl == 0) {
			seterr(err, "connect %s: path too long", ep->path);
			return -1;
		}
		memset(&ss[0], 0, sizeof(ss[0]));
		memcpy(&ss[0], &sun, sizeof(sun));
		lens[0] = sl;
		return 1;
	}
	if ((res = lookup(ep, err)) == NULL)
		return -1;
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(ss[n]))
			continue;
		memset(&ss[n], 0, sizeof(ss[n]));
		memcpy(&ss[n], ai->ai_addr, ai->ai_addrlen);
		lens[n] = ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		char name[NET_HOSTLEN + 16];

		seterr(err, "connect %s: no usable address",
		    net_name(ep, name, sizeof(name)));
		return -1;
	}
	return n;
}

/*
 * Async-signal-safe: only socket, fcntl, setsockopt, connect, poll, send,
 * recv, close and clock_gettime (through now_ns) are called; no
 * allocation, no stdio, errno saved and restored.
 */
int
net_oneshot(const struct sockaddr_storage *sa, socklen_t len,
    const char *req, size_t n, int eof, int64_t deadline)
{
	int saved = errno, fd, ok = -1;
	char reply[64];
	ssize_t r;

	fd = connect_addr((const struct sockaddr *)sa, len, deadline);
	if (fd == -1)
		goto out;
	while (n > 0) {
		r = send(fd, req, n, SEND_FLAGS);
		if (r > 0) {
			req += r;
			n -= (size_t)r;
		} else if (r == -1 && errno == EINTR)
			continue;
		else if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) != 1)
				goto out;
		} else
			goto out;
	}
	for (;;) {
		r = recv(fd, reply, sizeof(reply), 0);
		if (r > 0)
			ok = 0;
		if (r == 0 || (r > 0 && !eof))
			break;
		if (r > 0)
			continue;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_fd(fd, POLLIN, deadline) != 1)
			break;
	}
out:
	if (fd != -1)
		close(fd);
	errno = saved;
	return ok;
}
