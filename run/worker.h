/*
 * worker.h - the lease worker: a thread that does all lease I/O, so that
 * the event loop never waits on a call that can hang.
 *
 * The loop sends requests; the worker answers with replies on a pipe.
 * While contending it retries on its own, sleeping on the store's watch
 * descriptor, so an idle follower costs the loop no wake-ups.  Elected, it
 * starts the held command itself, through the gate.
 */
#ifndef WORKER_H
#define WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "lease.h"

struct gate;

enum op {
	OP_CONTEND,	/* contend until elected; arg 1: try once (-n) */
	OP_RENEW,	/* renew naming the job arg (LEASE_JOB_DONE: done) */
	OP_RELEASE,
	OP_STOP		/* stop contending, give up our place */
};

enum rep_kind { R_ACQUIRED, R_BUSY, R_NOT_ELECTED, R_RENEWED, R_RELEASED,
    R_STOPPED, R_ERROR, R_WARNING, R_GONE };

struct reply {
	enum rep_kind	 kind;
	int		 rc;		/* LEASE_* */
	int64_t		 started;	/* when the call began, or the lease's
					 * last renewal if that was earlier */
	struct lease_holder h;
	int		 renew_now;	/* R_ACQUIRED: see lease_renew_now */
	int		 ran;		/* R_ACQUIRED: the worker started the job */
	int		 start_err;	/* R_ACQUIRED: errno of that start */
	char		 msg[LEASE_ERRLEN];
};

struct worker {
	const struct lease_config *cfg;
	struct gate	*gate;
	struct lease	*lease;
	int		 req[2];
	int		 rep[2];
	pthread_t	 thread;
	struct lease_farewell place;	/* the watchdog's words for our place */
};

/* worker_start: the thread for CFG (kept), starting the command through
 * GATE.  Exits 125 on failure. */
void	worker_start(struct worker *w, const struct lease_config *cfg,
	    struct gate *gate);

/* worker_send: a request.  Exits 125 if the pipe fails. */
void	worker_send(struct worker *w, enum op op, long arg);

/* worker_fd: readable when a reply is waiting. */
int	worker_fd(const struct worker *w);

/* worker_reply: the next reply (the caller frees it), NULL if none. */
struct reply *worker_reply(struct worker *w);

#endif
