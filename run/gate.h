/*
 * gate.h - the held command's start gate: the one place where the command
 * is started, or given up.
 *
 * The worker starts the command itself the moment it is elected in time,
 * one thread hand-off sooner than the loop could (it matters: the loop's
 * wake-up is most of a handover's cost beyond flock's).  The loop may give
 * up on the command at the same moment (a signal, -w, the held process
 * died): whoever moves the gate from HELD first wins.
 */
#ifndef GATE_H
#define GATE_H

#include <stdatomic.h>
#include <stdint.h>

struct lease;

struct gate {
	atomic_int	 state;		/* GATE_HELD, GATE_STARTED, GATE_CANCELLED */
	int		 go;		/* the held command's start pipe */
	int		 wdfd;		/* the watchdog's pipe */
	int64_t		 deadline_ns;	/* elected later than this after the
					 * acquire began: too late to start */
};

enum { GATE_HELD, GATE_STARTED, GATE_CANCELLED };

/* gate_init: a closed gate before the command held on GO, guarded by the
 * watchdog on WDFD, with the renew deadline DEADLINE_NS. */
void	gate_init(struct gate *g, int go, int wdfd, int64_t deadline_ns);

/*
 * gate_start: from the worker, elected by an acquire that began at
 * STARTED (the lease runs from there at best): if that is within the renew
 * deadline and the loop has not given up, arm the watchdog with the
 * deadline and the store's last words (from L), then let the command exec
 * with TERM and SLOT.  Returns 1 if started, 0 if not, -errno on failure.
 */
int	gate_start(struct gate *g, struct lease *l, uint64_t term, int slot,
	    int64_t started);

/* gate_cancel: from the loop: give up on the held command.  Returns 1 if
 * it will never start, 0 if the worker has started it already (its reply
 * is on the way). */
int	gate_cancel(struct gate *g);

#endif
