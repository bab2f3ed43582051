/*
 * leaderrun - run a command on one elected instance only.
 *
 * Several leaderrun processes, on one host or on hosts sharing a lease
 * store, compete for a named lease.  The winner forks and execs COMMAND and
 * renews the lease while it runs; if renewal fails or the lease is lost, the
 * command's process group gets the stop signal, then SIGKILL, before any
 * other instance can take over.  When the command exits the lease is
 * released and a waiting instance takes over at once.
 *
 * This file only picks the mode.  The design, from the bottom up:
 *   lib/      errors and clocks (base), this host's processes (host)
 *   wire/     sockets with deadlines, HTTP, JSON, RESP: the plumbing
 *   store/    one file per lease store behind store.h's ops table
 *   lease.c   the lease interface of lease.h: picks the store by its URL
 *   run/      the supervisor: options (cli), --status/--list (report), the
 *             event loop and state machine (supervise), the lease worker
 *             thread (worker), the command (job, gate), the watchdog,
 *             signals (sig), metrics, messages (log)
 *
 * Exit status: the command's own, or 128+N if signal N killed it; or
 *	75	not elected (-n, -w), unless -E says otherwise
 *	124	leadership lost: the command was stopped, or never started
 *	125	leaderrun itself failed
 *	126	the command could not be executed
 *	127	the command was not found
 */
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "run/cli.h"
#include "run/report.h"
#include "run/supervise.h"

int
main(int argc, char **argv)
{
	struct opts o;

#ifdef M_ARENA_MAX
	/* One arena: the worker's few small blocks do not need a 64 MiB
	 * reservation of their own, nor the page faults that come with it. */
	mallopt(M_ARENA_MAX, 1);
#endif
	parse_args(argc, argv, &o);
	if (o.status)
		return show_status(&o);
	if (o.list)
		return show_list(&o);
	supervise(&o);
}
