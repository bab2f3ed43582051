/*
 * metrics.h - --metrics FILE: Prometheus text for node_exporter's textfile
 * collector, rewritten whole (a new file renamed over the old one) at each
 * change and every retry period.  A failed write is a warning, never a
 * reason to stop.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

#include "lease.h"

/* What --metrics reports; counts are for this process's lifetime. */
struct metrics {
	const char	*file;		/* NULL: --metrics not given */
	const char	*name;		/* the lease, a label */
	const char	*node_id;	/* a label */
	int		 leader;	/* we hold the lease */
	uint64_t	 term;		/* of the current or last leadership */
	int		 slot;		/* its slot (--slots), 0 with one */
	uint64_t	 elections;
	uint64_t	 losses_deadline;	/* reason="renew_deadline" */
	uint64_t	 losses_store;	/* reason="lost" */
	uint64_t	 renewals;
	uint64_t	 renew_failures;
	int64_t		 renewed_ms;	/* wall clock of the last renewal, 0 */
	int64_t		 led_ns;	/* time led, up to lead_since */
	int64_t		 lead_since;	/* now_ns, while leader */
	int		 exit_status;	/* -1 until the command has ended */
	char		 last_err[LEASE_ERRLEN + 4096];
};

/* metrics_init: no counts yet, for FILE (NULL: nothing is written), and
 * on every exit a last write that says we no longer lead. */
void	metrics_init(struct metrics *m, const char *file, const char *name,
	    const char *node_id);

/* metrics_write: the file as M says at NOW. */
void	metrics_write(struct metrics *m, int64_t now);

/* metrics_lead: leadership begins (ON) or ends at NOW, for the gauges. */
void	metrics_lead(struct metrics *m, int on, int64_t now);

/* metrics_loss: leadership lost at NOW, by the renew deadline
 * (DEADLINE) or because the store says so; written at once. */
void	metrics_loss(struct metrics *m, int deadline, int64_t now);

#endif
