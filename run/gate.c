/*
 * gate.c - the held command's start gate: started by the worker, or
 * cancelled by the loop, never both.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "lib/base.h"
#include "run/gate.h"
#include "run/watchdog.h"

void
gate_init(struct gate *g, int go, int wdfd, int64_t deadline_ns)
{
	atomic_init(&g->state, GATE_HELD);
	g->go = go;
	g->wdfd = wdfd;
	g->deadline_ns = deadline_ns;
}

int
gate_start(struct gate *g, struct lease *l, uint64_t term, int slot,
    int64_t started)
{
	uint64_t msg[2] = { term, (uint64_t)slot };
	struct lease_farewell bye;
	int held = GATE_HELD;

	if (now_ns() - started >= g->deadline_ns)
		return 0;	/* the lease may run out under it */
	if (!atomic_compare_exchange_strong(&g->state, &held, GATE_STARTED))
		return 0;
	/* The watchdog stops the command from its first instruction on. */
	lease_farewell(l, &bye);
	wd_arm(g->wdfd, started + g->deadline_ns, &bye);
	if (write(g->go, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return -errno;
	return 1;
}

int
gate_cancel(struct gate *g)
{
	int held = GATE_HELD;

	return atomic_compare_exchange_strong(&g->state, &held,
	    GATE_CANCELLED) || held == GATE_CANCELLED;
}
