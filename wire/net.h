/*
 * net.h - TCP and unix sockets where every operation has a deadline.
 *
 * Deadlines are absolute times on now_ns()'s clock.  A stopped server
 * still completes the TCP handshake from the kernel's backlog and then never
 * answers, so connect, send and receive each wait at most until DEADLINE.
 * Errors are written into ERR (ERRLEN bytes) as "connect HOST:PORT:
 * reason", "send HOST:PORT: reason", "receive HOST:PORT: timed out".
 */
#ifndef NET_H
#define NET_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base.h"

#define NET_HOSTLEN	256
#define NET_MAXADDR	8

/* One endpoint as the user wrote it; PATH set (HOST empty) for unix sockets. */
struct net_ep {
	char	 host[NET_HOSTLEN];	/* name, IPv4, or IPv6 without brackets */
	char	 port[8];
	char	 path[108];		/* unix socket path, "" for TCP */
};

/*
 * net_parse_hostport: S (LEN bytes, not NUL-terminated) as "HOST:PORT" or
 * "[V6ADDR]:PORT" into *EP.  Returns NULL, or why S is refused ("empty
 * host", "missing port", "bad port '99999'", ...).  Port: 1-65535 digits.
 */
const char *net_parse_hostport(const char *s, size_t len, struct net_ep *ep);

/* net_name: "HOST:PORT", "[V6]:PORT" or the unix path of EP, for messages. */
const char *net_name(const struct net_ep *ep, char *buf, size_t len);

/*
 * net_connect: a connected socket to EP before DEADLINE, trying each
 * address the name resolves to.  The descriptor is non-blocking and
 * close-on-exec, with TCP_NODELAY.  Returns it, or -1 with ERR set.
 */
int	net_connect(const struct net_ep *ep, int64_t deadline, char *err);

/* net_send: all N bytes of BUF before DEADLINE (no SIGPIPE).  0, or -1. */
int	net_send(int fd, const struct net_ep *ep, const void *buf, size_t n,
	    int64_t deadline, char *err);

/*
 * net_recv: at most N bytes, waiting until DEADLINE for the first.  Returns
 * the count, 0 at end of stream, -1 on error or time-out (ERR set).
 */
ssize_t	net_recv(int fd, const struct net_ep *ep, void *buf, size_t n,
	    int64_t deadline, char *err);

/*
 * net_resolve: the addresses of EP (at most MAX) into SS/LENS, for code that
 * must later connect without calling getaddrinfo (the watchdog: a fork of
 * the held command's process, whose parent has threads).  Returns how many, or -1 with ERR set.
 */
int	net_resolve(const struct net_ep *ep, struct sockaddr_storage *ss,
	    socklen_t *lens, int max, char *err);

/*
 * net_oneshot: async-signal-safe: connect to SA, send REQ, wait for the
 * first reply bytes (with EOF: for the server to close, so that pipelined
 * requests all run) or DEADLINE, close.  For last words from the
 * watchdog.  Returns 0 if some reply came, -1 otherwise.
 */
int	net_oneshot(const struct sockaddr_storage *sa, socklen_t len,
	    const char *req, size_t n, int eof, int64_t deadline);

#endif
