/*
 * worker.c - the lease worker thread: contends, renews and releases on
 * the loop's request, and reports back on a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "lib/base.h"
#include "run/gate.h"
#include "run/log.h"
#include "run/watchdog.h"
#include "run/worker.h"

#define WORKER_STACK	(512 * 1024)

struct request {
	enum op		 op;
	long		 arg;
};

static struct reply *
reply_new(enum rep_kind kind, int rc, int64_t started,
    const struct lease_holder *h, const char *msg)
{
	struct reply *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();	/* the loop cannot go on without replies */
	r->kind = kind;
	r->rc = rc;
	r->started = started;
	if (h)
		r->h = *h;
	if (msg)
		snprintf(r->msg, sizeof(r->msg), "%s", msg);
	return r;
}

static void
reply_send(struct worker *w, struct reply *r)
{
	while (write(w->rep[1], &r, sizeof(r)) == -1 && errno == EINTR)
		;
}

static void
post(struct worker *w, enum rep_kind kind, int rc, int64_t started,
    const struct lease_holder *h, const char *msg)
{
	reply_send(w, reply_new(kind, rc, started, h, msg));
}

/* elected: by an acquire that began at STARTED: start the command through
 * the gate, then tell the loop. */
static void
elected(struct worker *w, const struct lease_holder *h, int64_t started)
{
	struct reply *r = reply_new(R_ACQUIRED, LEASE_OK, started, h, NULL);
	int st = gate_start(w->gate, w->lease, h->term, started);

	r->ran = st > 0;
	r->start_err = st < 0 ? -st : 0;
	r->renew_now = lease_renew_now(w->lease);
	reply_send(w, r);
}

/* place_words: keep the watchdog's words for our place in the store's
 * queue as the store has them now (none if CLEAR: we left it). */
static void
place_words(struct worker *w, int clear)
{
	struct lease_farewell f;

	if (clear)
		memset(&f, 0, sizeof(f));
	else
		lease_place_farewell(w->lease, &f);
	if (f.n == w->place.n && f.len == w->place.len &&
	    !memcmp(f.req, w->place.req, f.len))
		return;
	w->place = f;
	wd_place(w->gate->wdfd, &f);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct lease_holder h, last;
	char err[LEASE_ERRLEN];
	int contending = 0, once = 0, attempts = 0, leading = 0;
	long job = 0;
	int64_t next_try = 0;

	memset(&last, 0, sizeof(last));
	/* Opening the store is I/O too (it may sit on a stalled mount). */
	if (lease_open(&w->lease, w->cfg, err) != LEASE_OK) {
		post(w, R_ERROR, LEASE_ERR, now_ns(), NULL, err);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[2];
		int nfd = 1, timeout = -1;
		int64_t now = now_ns();

		pfd[0].fd = w->req[0];
		pfd[0].events = POLLIN;
		if (contending || leading) {
			int fd = lease_watch_fd(w->lease);

			if (contending) {
				int64_t ms = next_try > now ? (next_try - now +
				    NS_PER_MS - 1) / NS_PER_MS : 0;

				timeout = ms > INT_MAX ? INT_MAX : (int)ms;
			}
			if (fd != -1) {
				pfd[1].fd = fd;
				pfd[1].events = POLLIN;
				nfd = 2;
			}
		}
		if (poll(pfd, (nfds_t)nfd, timeout) == -1 && errno != EINTR)
			continue;
		if (nfd == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    lease_watch_clear(w->lease)) {
			if (contending)
				next_try = 0;
			else if (leading) {
				/* Our lease may be gone (a store that can tell,
				 * such as etcd's watch on our key): renew now
				 * rather than at the next period. */
				int64_t t0 = now_ns();

				if (lease_renew(w->lease, job, err) == LEASE_LOST) {
					leading = 0;
					post(w, R_GONE, LEASE_LOST, t0, NULL, err);
				}
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			struct request rq;
			ssize_t n = read(w->req[0], &rq, sizeof(rq));
			int64_t t0 = now_ns();
			int rc;

			if (n == 0)
				return NULL;
			if (n != (ssize_t)sizeof(rq))
				continue;
			switch (rq.op) {
			case OP_CONTEND:
				contending = 1;
				once = (int)rq.arg;
				next_try = 0;
				break;
			case OP_RENEW:
				job = rq.arg;
				rc = lease_renew(w->lease, job, err);
				if (rc == LEASE_LOST)
					leading = 0;
				/* The deadline runs from when the lease was renewed. */
				if (rc == LEASE_OK && lease_renewed_from(w->lease) > 0 &&
				    lease_renewed_from(w->lease) < t0)
					t0 = lease_renewed_from(w->lease);
				post(w, R_RENEWED, rc, t0, NULL, err);
				break;
			case OP_RELEASE:
				leading = 0;
				rc = lease_release(w->lease, err);
				post(w, R_RELEASED, rc, t0, NULL, err);
				break;
			case OP_STOP:
				contending = 0;
				lease_withdraw(w->lease);
				place_words(w, 1);
				post(w, R_STOPPED, LEASE_OK, t0, NULL, NULL);
				break;
			}
		}
		if (contending && now_ns() >= next_try) {
			int64_t t0 = now_ns(), retry;
			int rc = lease_acquire(w->lease, &h, &retry, err);
			const char *warning;

			while ((warning = lease_warning(w->lease)) != NULL)
				post(w, R_WARNING, LEASE_OK, t0, NULL, warning);
			attempts++;
			if (rc == LEASE_OK) {
				contending = 0;
				leading = 1;
				/* The lease runs from its last renewal. */
				if (lease_renewed_from(w->lease) > 0 &&
				    lease_renewed_from(w->lease) < t0)
					t0 = lease_renewed_from(w->lease);
				elected(w, &h, t0);
			} else if (rc == LEASE_BUSY && once) {
				contending = 0;
				lease_withdraw(w->lease);
				place_words(w, 1);
				post(w, R_NOT_ELECTED, rc, t0, &h, NULL);
			} else if (rc == LEASE_BUSY) {
				if (attempts == 1 || strcmp(h.id, last.id) ||
				    h.term != last.term || h.state != last.state)
					post(w, R_BUSY, rc, t0, &h, NULL);
				last = h;
				next_try = now_ns() + retry;
				place_words(w, 0);
			} else {
				post(w, R_ERROR, rc, t0, NULL, err);
				if (once || attempts == 1)
					contending = 0;
				next_try = now_ns() + retry;
			}
		}
	}
}

void
worker_send(struct worker *w, enum op op, long arg)
{
	struct request rq;

	memset(&rq, 0, sizeof(rq));	/* no uninitialised padding in the pipe */
	rq.op = op;
	rq.arg = arg;
	if (write(w->req[1], &rq, sizeof(rq)) != (ssize_t)sizeof(rq))
		die(EXIT_FAIL, "worker: %s", strerror(errno));
}

void
worker_start(struct worker *w, const struct lease_config *cfg,
    struct gate *gate)
{
	pthread_attr_t attr;
	sigset_t all, old;

	w->cfg = cfg;
	w->gate = gate;
	/* The loop's end of rep[] does not block: the loop must never wait
	 * on the worker, whatever poll said. */
	if (cloexec_pipe(w->req, 0) == -1 || cloexec_pipe(w->rep, 0) == -1 ||
	    fcntl(w->rep[0], F_SETFL, O_NONBLOCK) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	/* The worker takes no signals: they all come to the loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* An explicit stack, as libcs differ (glibc 8 MiB, musl 128 kB): a
	 * store call's frame alone reaches 25 kB (gcc -fstack-usage), and name
	 * resolution adds its own.  Only the pages touched cost memory. */
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, WORKER_STACK) != 0 ||
	    pthread_create(&w->thread, &attr, worker_main, w) != 0)
		die(EXIT_FAIL, "cannot start the lease worker");
	pthread_attr_destroy(&attr);
	/* Never joined: it lives until exit, or ends early on a store error. */
	pthread_detach(w->thread);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int
worker_fd(const struct worker *w)
{
	return w->rep[0];
}

struct reply *
worker_reply(struct worker *w)
{
	struct reply *r;

	if (read(w->rep[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
		return NULL;
	return r;
}
