/*
 * supervise.c - the supervisor: one event loop, one state machine.
 *
 * Everything that happens comes to one thread as an event: a signal (a
 * byte on the self-pipe), a reply of the lease worker, the command's end
 * (SIGCHLD), or a timer.  The state decides what each means:
 *
 *   CONTEND ---elected---> RUNNING ---command ends---> DRAINING --> HOLDING
 *      |                      |                           |            |
 *      | -n, -w, signal       | lease lost, deadline      v            v
 *      v                      v                       (no strays)   RELEASING
 *   ABORTING               STOPPING --command ends--> DRAINING         |
 *      |                                                               v
 *      +-----------------------------> exit <--------------------------+
 *
 * Timers live in one table of rules (which timer, in which states, does
 * what), so the loop finds the nearest deadline and fires the due ones
 * from the same table.  Every deadline is on the monotonic clock; the loop
 * never waits on lease I/O (the worker does it), so a stalled store cannot
 * delay stopping the command.  Deadlines run first after every wake-up: a
 * leader that was frozen stops its command before it looks at anything
 * else.
 */
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lease.h"
#include "lib/base.h"
#include "run/cli.h"
#include "run/gate.h"
#include "run/job.h"
#include "run/log.h"
#include "run/metrics.h"
#include "run/sig.h"
#include "run/supervise.h"
#include "run/values.h"
#include "run/watchdog.h"
#include "run/worker.h"

/* How often to look for a command's stragglers that are not our children. */
#define STRAGGLER_POLL_NS (10 * NS_PER_MS)

enum state {
	ST_CONTEND,	/* waiting for leadership */
	ST_RUNNING,	/* command running, renewing */
	ST_STOPPING,	/* stop signal sent; SIGKILL at T_KILL */
	ST_DRAINING,	/* command exited; stopping what it left behind */
	ST_HOLDING,	/* command done; renewing until T_HOLD (--min-hold) */
	ST_RELEASING,	/* release in flight */
	ST_ABORTING,	/* giving up before running: waiting for the worker */
	NSTATES
};

enum timer {
	T_WAIT,		/* -w or -n gives up */
	T_RENEW,	/* next renewal; NEVER while one is in flight */
	T_DEADLINE,	/* the renew deadline */
	T_KILL,		/* SIGKILL for what is left of the command */
	T_POLL,		/* next look for stragglers */
	T_HOLD,		/* end of --min-hold */
	T_BAIL,		/* the store hangs: exit anyway */
	T_BEAT,		/* next heartbeat line */
	T_METRICS,	/* next periodic --metrics write */
	NTIMERS
};

struct sup {
	const struct opts *o;
	enum state	 state;
	int64_t		 t[NTIMERS];	/* NEVER: not set */
	struct job	 job;
	char		 path[PATH_MAX];
	struct gate	 gate;
	struct worker	 w;
	struct wd	 wd;
	int		 sigfd;
	int		 code;		/* exit status, once known */
	int		 lost;		/* leadership lost: the command stopped */
	int		 signalled;	/* INT/TERM/HUP/QUIT forwarded: no hold */
	uint64_t	 pending_sigs;	/* came while the worker started the job */
	uint64_t	 term;
	int64_t		 t_elected;	/* start of the acquire that won */
	long		 renew_job;	/* the job named by the renewal in flight */
	int		 renew_inflight;
	int		 renew_failing;
	char		 last_err[LEASE_ERRLEN];
	int		 contacted;	/* the store answered an acquire once */
	char		 leader[LEASE_IDLEN];	/* who leads, as last seen */
	uint64_t	 leader_term;
	struct metrics	 m;
};

#define MARK_LOST	"\xf0\x9f\x92\x94"

_Noreturn static void
finish(struct sup *s, int code)
{
	/* Held, never started: it goes with us.  Just started by the worker:
	 * it must not run on unsupervised either. */
	if (s->job.go != -1)
		kill(gate_cancel(&s->gate) ? s->job.pid : -s->job.pid, SIGKILL);
	if (s->job.fg) {
		/* Take the terminal back from the job's group. */
		sigset_t ttou, old;

		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		pthread_sigmask(SIG_BLOCK, &ttou, &old);
		tcsetpgrp(STDIN_FILENO, getpgrp());
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	exit(code);
}

/* ---- transitions --------------------------------------------------------- */

/* abort_wait: give up before running, with CODE once the worker has left
 * the queue (or T_BAIL passes). */
static void
abort_wait(struct sup *s, int code, int64_t now)
{
	s->code = code;
	s->state = ST_ABORTING;
	worker_send(&s->w, OP_STOP, 0);
	s->t[T_BAIL] = now + s->o->deadline_ns;
}

/* release: ask the worker to release; exit when it answers or T_BAIL
 * passes. */
static void
release(struct sup *s, int64_t now)
{
	metrics_lead(&s->m, 0, now);
	s->state = ST_RELEASING;
	worker_send(&s->w, OP_RELEASE, 0);
	s->t[T_BAIL] = now + s->o->deadline_ns;
}

/* renew: send a renewal naming the job, or saying it is done while we
 * hold on. */
static void
renew(struct sup *s, int64_t now)
{
	(void)now;
	s->renew_job = s->state == ST_HOLDING ? LEASE_JOB_DONE : (long)s->job.pid;
	worker_send(&s->w, OP_RENEW, s->renew_job);
	s->renew_inflight = 1;
	s->t[T_RENEW] = NEVER;
}

/* stop_job: leadership is lost (DEADLINE: by the renew deadline): stop
 * the command. */
static void
stop_job(struct sup *s, int64_t now, const char *why, int deadline)
{
	if (s->state != ST_RUNNING)
		return;		/* the command has ended already */
	metrics_loss(&s->m, deadline, now);
	warnx("%s: lost leadership: %s", s->o->name, why);
	beat(MARK_LOST, "[lost]", "LOST LEADERSHIP - %s", why);
	s->lost = 1;
	s->code = EXIT_LOST;
	s->state = ST_STOPPING;
	/* SIGKILL is due kill-after from now, whoever sends it, and stays due
	 * for stragglers if the command itself ends sooner. */
	s->t[T_KILL] = now + s->o->kill_ns;
	if (wd_pid(&s->wd) > 0)
		wd_send(&s->wd, WD_NOW, 0);	/* it signals, then SIGKILLs */
	else {
		signal_job(&s->job, wd_pid(&s->wd), s->o->sig);
		signal_job(&s->job, wd_pid(&s->wd), SIGCONT);
	}
}

/*
 * hold_lost: the lease went while we held on after the command (--min-hold).
 * The command's work is done and its status stands: say so and leave.
 */
_Noreturn static void
hold_lost(struct sup *s, const char *why, int64_t now)
{
	metrics_loss(&s->m, 0, now);
	warnx("%s: lost the lease during min-hold: %s", s->o->name, why);
	beat(MARK_LOST, "[lost]", "LOST LEADERSHIP - during min-hold: %s", why);
	finish(s, s->code);
}

/* lease_gone: the store says the lease is no longer ours. */
static void
lease_gone(struct sup *s, const char *why, int64_t now)
{
	if (s->state == ST_HOLDING)
		hold_lost(s, why, now);
	stop_job(s, now, why, 0);
}

/*
 * hold_or_release: the command and all it left behind are gone.  With
 * --min-hold, keep the lease, renewing it with the record saying done,
 * until min-hold after the election (on our clock); else release now.  A
 * command that was lost or signalled to stop is not held for.
 */
static void
hold_or_release(struct sup *s, int64_t now)
{
	int64_t hold = s->o->min_hold_ns, end;
	char d[32];

	if (s->lost || s->signalled || hold == 0) {
		release(s, now);
		return;
	}
	end = hold >= NEVER - s->t_elected ? NEVER - 1 : s->t_elected + hold;
	if (now >= end) {
		release(s, now);
		return;
	}
	s->t[T_HOLD] = end;
	s->state = ST_HOLDING;
	/* To the millisecond: a message, not a measurement. */
	fmt_duration(d, sizeof(d), (end - now + NS_PER_MS - 1) / NS_PER_MS *
	    NS_PER_MS);
	logv("command done; holding the lease for %s more (min-hold)", d);
	/* The record says done now, or right after the renewal in flight
	 * (its reply sets T_RENEW). */
	if (!s->renew_inflight)
		renew(s, now);
}

/* job_exited: our command is gone: stop what it left behind, then hold
 * or release. */
static void
job_exited(struct sup *s, int status, int64_t now)
{
	s->job.exited = 1;
	wd_send(&s->wd, WD_DONE, 0);	/* what is left is ours to stop */
	if (!s->lost) {
		s->code = exit_code(status);
		logv("command exited (status %d)", s->code);
	}
	s->m.exit_status = s->code;
	metrics_write(&s->m, now);
	if (signal_job(&s->job, wd_pid(&s->wd), 0)) {
		logv("stopping the processes the command left behind");
		signal_job(&s->job, wd_pid(&s->wd), s->o->sig);
		signal_job(&s->job, wd_pid(&s->wd), SIGCONT);
		if (s->state != ST_STOPPING || s->t[T_KILL] == NEVER)
			s->t[T_KILL] = now + s->o->kill_ns;
		s->state = ST_DRAINING;
		s->t[T_POLL] = now + STRAGGLER_POLL_NS;
		return;
	}
	hold_or_release(s, now);
}

/* ---- timers -------------------------------------------------------------- */

/* deadline_passed: no renewal within renew-deadline: stop the command. */
static void
deadline_passed(struct sup *s, int64_t now)
{
	char d[32], why[LEASE_ERRLEN + 96];

	fmt_duration(d, sizeof(d), s->o->deadline_ns);
	if (s->last_err[0] && s->renew_failing)
		snprintf(why, sizeof(why), "%s", s->last_err);
	else
		snprintf(why, sizeof(why), "no renewal within %s", d);
	stop_job(s, now, why, 1);
}

/* wait_over: -w ran out, or -n's one try took renew-deadline. */
static void
wait_over(struct sup *s, int64_t now)
{
	char d[32];

	if (!gate_cancel(&s->gate)) {
		/* Elected just now, as the wait ran out: the command runs. */
		s->t[T_WAIT] = NEVER;
		return;
	}
	if (s->o->nonblock) {
		fmt_duration(d, sizeof(d), s->o->deadline_ns);
		warnx("%s: the lease store did not answer within %s", s->o->name,
		    d);
		finish(s, EXIT_FAIL);
	}
	logv("not elected: timed out");
	abort_wait(s, s->o->conflict_code, now);
}

static void
kill_now(struct sup *s, int64_t now)
{
	signal_job(&s->job, wd_pid(&s->wd), SIGKILL);
	s->t[T_KILL] = NEVER;
	s->t[T_POLL] = now + STRAGGLER_POLL_NS;
}

/* look_for_strays: the command has ended; has all it left behind? */
static void
look_for_strays(struct sup *s, int64_t now)
{
	if (signal_job(&s->job, wd_pid(&s->wd), 0))
		s->t[T_POLL] = now + STRAGGLER_POLL_NS;
	else
		hold_or_release(s, now);
}

static void
hold_over(struct sup *s, int64_t now)
{
	logv("min-hold over");
	release(s, now);
}

/* hold_deadline: renewals failed for renew-deadline while holding: let
 * the lease go. */
static void
hold_deadline(struct sup *s, int64_t now)
{
	char d[32];

	fmt_duration(d, sizeof(d), s->o->deadline_ns);
	warnx("%s: min-hold: no renewal within %s%s%s; releasing", s->o->name, d,
	    s->last_err[0] ? ": " : "", s->last_err);
	metrics_loss(&s->m, 1, now);
	release(s, now);
}

/* bail: the store hangs on the last request; the command is gone. */
static void
bail(struct sup *s, int64_t now)
{
	(void)now;
	finish(s, s->code);
}

static void
heartbeat(struct sup *s, int64_t now)
{
	char hms[16];
	time_t t = time(NULL);
	struct tm tm;
	unsigned long long term = (unsigned long long)s->term;

	localtime_r(&t, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	if (s->state == ST_CONTEND && s->leader[0])
		beat("\xf0\x9f\x91\xa5", "[follower]", "Status: FOLLOWER - "
		    "Heartbeat at %s - leader %s (term %llu)", hms, s->leader,
		    (unsigned long long)s->leader_term);
	else if (s->state == ST_CONTEND)
		beat("\xf0\x9f\x91\xa5", "[follower]", "Status: FOLLOWER - "
		    "Heartbeat at %s - no leader", hms);
	else if (s->state == ST_RUNNING)
		beat("\xf0\x9f\x91\x91", "[leader]", "Status: LEADER - "
		    "Heartbeat at %s (term %llu)", hms, term);
	else if (s->state == ST_HOLDING)
		beat("\xf0\x9f\x91\x91", "[leader]", "Status: LEADER - "
		    "Heartbeat at %s (term %llu) - command done, holding", hms,
		    term);
	else
		beat("\xe2\x8f\xb3", "[stopping]", "Status: STEPPING DOWN - "
		    "Heartbeat at %s (term %llu)", hms, term);
	s->t[T_BEAT] = now + s->o->heartbeat_ns;
}

static void
metrics_tick(struct sup *s, int64_t now)
{
	metrics_write(&s->m, now);
	s->t[T_METRICS] = now + s->o->retry_ns;
}

#define S(st)	(1u << (st))
#define ANY	(S(NSTATES) - 1)

/*
 * The timer rules, in the order they are checked: a due timer fires only
 * in the states of its rule, and a rule may change the state for the ones
 * after it.  The nearest deadline is the earliest timer of a rule that
 * holds in the current state.  (Heartbeat and metrics timers are NEVER
 * when their options are off.)
 */
static const struct rule {
	enum timer	 t;
	unsigned	 states;
	void		(*fire)(struct sup *, int64_t);
} rules[] = {
	{ T_DEADLINE,	S(ST_RUNNING),				deadline_passed },
	{ T_WAIT,	S(ST_CONTEND),				wait_over },
	{ T_KILL,	S(ST_STOPPING) | S(ST_DRAINING),	kill_now },
	{ T_POLL,	S(ST_DRAINING),				look_for_strays },
	{ T_HOLD,	S(ST_HOLDING),				hold_over },
	{ T_DEADLINE,	S(ST_HOLDING),				hold_deadline },
	{ T_RENEW,	S(ST_RUNNING) | S(ST_HOLDING),		renew },
	{ T_BAIL,	S(ST_RELEASING) | S(ST_ABORTING),	bail },
	{ T_BEAT,	ANY,					heartbeat },
	{ T_METRICS,	ANY,					metrics_tick },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

static void
run_timers(struct sup *s, int64_t now)
{
	size_t i;

	for (i = 0; i < NRULES; i++)
		if ((rules[i].states & S(s->state)) && now >= s->t[rules[i].t])
			rules[i].fire(s, now);
}

static int64_t
nearest(const struct sup *s)
{
	int64_t t = NEVER;
	size_t i;

	for (i = 0; i < NRULES; i++)
		if ((rules[i].states & S(s->state)) && s->t[rules[i].t] < t)
			t = s->t[rules[i].t];
	return t;
}

/* ---- signals ------------------------------------------------------------- */

static void
sig_contend(struct sup *s, int sig, int64_t now)
{
	if (!gate_cancel(&s->gate)) {
		/* The worker has just started the command: the signal is for
		 * it, once we hear of the start. */
		s->pending_sigs |= UINT64_C(1) << (sig & 63);
		return;
	}
	/* Still waiting: end without running the command. */
	abort_wait(s, 128 + sig, now);
}

static void
sig_running(struct sup *s, int sig, int64_t now)
{
	(void)now;
	/* Asked to stop: once the command is done, do not hold on. */
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
		s->signalled = 1;
	signal_job(&s->job, wd_pid(&s->wd), sig);
}

static void
sig_forward(struct sup *s, int sig, int64_t now)
{
	(void)now;
	signal_job(&s->job, wd_pid(&s->wd), sig);
}

static void
sig_holding(struct sup *s, int sig, int64_t now)
{
	/* The command is done: a signal ends the hold at once. */
	logv("got signal %d: ending min-hold", sig);
	release(s, now);
}

/* What a signal other than SIGCHLD means in each state (NULL: nothing). */
static void (*const on_sig[NSTATES])(struct sup *, int, int64_t) = {
	[ST_CONTEND] = sig_contend,
	[ST_RUNNING] = sig_running,
	[ST_STOPPING] = sig_forward,
	[ST_DRAINING] = sig_forward,
	[ST_HOLDING] = sig_holding,
};

/* reap: SIGCHLD: the watchdog, the command, or a straggler ended. */
static void
reap(struct sup *s, int64_t now)
{
	int st, ended = 0;
	pid_t p;

	/* Reap everything first, so that zombies do not count as stragglers. */
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == wd_pid(&s->wd)) {
			/* If it went before the job, T_KILL still stands.  Its
			 * pipe stays open: the worker may write to it. */
			s->wd.pid = 0;
		} else if (p == s->job.pid && !s->job.exited) {
			s->job.status = st;
			ended = 1;
		}
	}
	if (ended && s->job.go != -1 && !gate_cancel(&s->gate)) {
		/* The worker started it, and it ended before we heard. */
		s->job.early = 1;
	} else if (ended && s->job.go != -1) {
		/* The held command died before it could start: someone killed
		 * it.  Without it there is nothing to lead for. */
		s->job.exited = 1;
		close(s->job.go);
		s->job.go = -1;
		if (s->state == ST_CONTEND) {
			warnx("%s: the command's process (pid %ld) ended before it "
			    "could start", s->o->name, (long)s->job.pid);
			abort_wait(s, EXIT_FAIL, now);
		}
	} else if (ended)
		job_exited(s, s->job.status, now);
	else if (s->state == ST_DRAINING && !signal_job(&s->job, wd_pid(&s->wd), 0))
		hold_or_release(s, now);
}

static void
on_signal(struct sup *s, int sig, int64_t now)
{
	if (sig == SIGCHLD)
		reap(s, now);
	else if (on_sig[s->state])
		on_sig[s->state](s, sig, now);
}

/* ---- the worker's replies ------------------------------------------------ */

static void
got_warning(struct sup *s, const struct reply *r, int64_t now)
{
	(void)s;
	(void)now;
	warnx("warning: %s", r->msg);
}

static void
got_gone(struct sup *s, const struct reply *r, int64_t now)
{
	lease_gone(s, r->msg, now);
}

static void
got_busy(struct sup *s, const struct reply *r, int64_t now)
{
	(void)now;
	s->contacted = 1;
	if (r->h.state == LEASE_HELD && (strcmp(r->h.id, s->leader) ||
	    r->h.term != s->leader_term)) {
		snprintf(s->leader, sizeof(s->leader), "%s", r->h.id);
		s->leader_term = r->h.term;
		if (r->h.id[0])
			beat("\xf0\x9f\x94\x84", "[leader]", "Leader is %s "
			    "(term %llu)", r->h.id, (unsigned long long)r->h.term);
	} else if (r->h.state != LEASE_HELD)
		s->leader[0] = '\0';
	if (r->h.state == LEASE_HELD && r->h.id[0])
		logv("waiting: held by %s on %s (term %llu)", r->h.id, r->h.host,
		    (unsigned long long)r->h.term);
	else if (r->h.state == LEASE_HELD)
		logv("waiting: held by an unknown contender");
	else
		logv("waiting: another contender is taking over");
}

static void
got_not_elected(struct sup *s, const struct reply *r, int64_t now)
{
	(void)now;
	if (r->h.id[0])
		logv("not elected: held by %s on %s (term %llu)", r->h.id,
		    r->h.host, (unsigned long long)r->h.term);
	else
		logv("not elected");
	finish(s, s->o->conflict_code);
}

static void
got_error(struct sup *s, const struct reply *r, int64_t now)
{
	(void)now;
	if (s->state == ST_ABORTING)
		return;
	if (!s->contacted || s->o->nonblock || r->rc == LEASE_REFUSED)
		die(EXIT_FAIL, "%s", r->msg);
	if (strcmp(r->msg, s->last_err)) {
		warnx("%s (retrying)", r->msg);
		snprintf(s->last_err, sizeof(s->last_err), "%s", r->msg);
	}
}

/* too_late: elected, but too late to start: the lease may run out under
 * the command.  It never ran, so it needs no grace. */
static void
too_late(struct sup *s, int64_t now)
{
	char d[32], took[32];

	fmt_duration(d, sizeof(d), s->o->deadline_ns);
	fmt_duration(took, sizeof(took), now - s->t_elected);
	warnx("%s: lost leadership: the command never started: the election "
	    "took %s, more than renew-deadline %s", s->o->name, took, d);
	beat(MARK_LOST, "[lost]", "LOST LEADERSHIP - the command never started");
	metrics_loss(&s->m, 1, now);
	s->lost = 1;
	s->code = EXIT_LOST;
	gate_cancel(&s->gate);
	close(s->job.go);
	s->job.go = -1;
	kill(-s->job.pid, SIGKILL);
	s->state = ST_STOPPING;
	s->t[T_KILL] = NEVER;
}

static void
got_acquired(struct sup *s, const struct reply *r, int64_t now)
{
	int sig;

	if (s->state == ST_ABORTING) {
		release(s, now);
		return;
	}
	s->term = r->h.term;
	s->m.elections++;
	s->m.term = s->term;
	s->m.slot = r->h.slot;
	metrics_lead(&s->m, 1, r->started);
	metrics_write(&s->m, now);
	logv("elected (term %llu, node %s)", (unsigned long long)s->term,
	    s->o->node_id);
	beat(NULL, NULL, "Successfully acquired leadership (term %llu)",
	    (unsigned long long)s->term);
	beat("\xf0\x9f\x8e\x89", "[elected]", "BECAME LEADER - Starting "
	    "leadership duties");
	snprintf(s->leader, sizeof(s->leader), "%s", s->o->node_id);
	s->leader_term = s->term;
	s->t[T_WAIT] = NEVER;
	/* The acquire began at r->started (or the store's lease was renewed
	 * then): the lease runs from there at best. */
	s->t_elected = r->started;
	s->t[T_DEADLINE] = r->started + s->o->deadline_ns;
	s->state = ST_RUNNING;
	if (r->start_err)
		die(EXIT_FAIL, "start command: %s", strerror(r->start_err));
	if (!r->ran) {
		too_late(s, now);
		return;
	}
	close(s->job.go);
	s->job.go = -1;
	s->t[T_RENEW] = r->started + s->o->retry_ns;
	/* Signals that came while the worker started it are for it. */
	for (sig = 1; sig < 64; sig++)
		if (s->pending_sigs & (UINT64_C(1) << sig))
			on_signal(s, sig, now);
	s->pending_sigs = 0;
	if (s->job.early) {
		/* It ran and ended before we heard that it started. */
		job_exited(s, s->job.status, now);
		return;
	}
	/* The first renewal follows at once if the store completes its claim
	 * with it. */
	if (r->renew_now)
		renew(s, now);
}

static void
got_renewed(struct sup *s, const struct reply *r, int64_t now)
{
	s->renew_inflight = 0;
	if (r->rc == LEASE_OK) {
		s->m.renewals++;
		s->m.renewed_ms = wall_ms();
		if (s->renew_failing)
			logv("renewal works again");
		s->renew_failing = 0;
		s->last_err[0] = '\0';
		/* Never earlier than it was: a renewal that leaned on an older
		 * keepalive does not shorten it. */
		if (r->started + s->o->deadline_ns > s->t[T_DEADLINE])
			s->t[T_DEADLINE] = r->started + s->o->deadline_ns;
		wd_send(&s->wd, WD_DEADLINE, s->t[T_DEADLINE]);
	} else if (r->rc == LEASE_LOST) {
		lease_gone(s, r->msg, now);
	} else {
		s->m.renew_failures++;
		metrics_write(&s->m, now);
		if (strcmp(r->msg, s->last_err)) {
			warnx("%s: renew: %s", s->o->name, r->msg);
			snprintf(s->last_err, sizeof(s->last_err), "%s", r->msg);
			s->renew_failing = 1;
		}
	}
	if (s->state == ST_RUNNING || s->state == ST_HOLDING) {
		/* After a failure, try again sooner: several tries fit in the
		 * renew deadline. */
		s->t[T_RENEW] = r->rc == LEASE_OK ?
		    r->started + s->o->retry_ns : now + s->o->retry_ns / 4;
	}
	/* Holding, and that one still named the job: say done now. */
	if (s->state == ST_HOLDING && s->renew_job != LEASE_JOB_DONE)
		s->t[T_RENEW] = now;
}

static void
got_released(struct sup *s, const struct reply *r, int64_t now)
{
	(void)now;
	if (r->rc == LEASE_OK) {
		logv("released (term %llu)", (unsigned long long)s->term);
		beat("\xf0\x9f\x91\x8b", "[released]", "Released leadership "
		    "(term %llu)", (unsigned long long)s->term);
	} else if (r->rc == LEASE_ERR && !s->lost)
		warnx("%s: release: %s", s->o->name, r->msg);
	finish(s, s->code);
}

static void
got_stopped(struct sup *s, const struct reply *r, int64_t now)
{
	(void)r;
	(void)now;
	if (s->state == ST_ABORTING)
		finish(s, s->code);
}

/* What each reply of the worker means. */
static void (*const on_reply[])(struct sup *, const struct reply *, int64_t) = {
	[R_ACQUIRED] = got_acquired,
	[R_BUSY] = got_busy,
	[R_NOT_ELECTED] = got_not_elected,
	[R_RENEWED] = got_renewed,
	[R_RELEASED] = got_released,
	[R_STOPPED] = got_stopped,
	[R_ERROR] = got_error,
	[R_WARNING] = got_warning,
	[R_GONE] = got_gone,
};

/* ---- setting up, and the loop -------------------------------------------- */

static void
start(struct sup *s, struct opts *o, struct lease_config *cfg)
{
	static char idbuf[300];
	char host[256];
	int rc, wdp[2], tell[2], i;
	int64_t now;

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->job.go = s->job.execerr = -1;
	for (i = 0; i < NTIMERS; i++)
		s->t[i] = NEVER;
	if ((rc = resolve(o->argv[0], s->path)) != 0) {
		warnx("failed to run command '%s': %s", o->argv[0],
		    strerror(errno));
		if (rc == EXIT_ENOENT && heartbeat_slip(o->argv))
			warnx("did you mean --heartbeat=%s?", quote(o->argv[0]));
		exit(rc);
	}
	if (o->node_id == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			strcpy(host, "localhost");
		host[64] = '\0';
		snprintf(idbuf, sizeof(idbuf), "%s:%ld", host, (long)getpid());
		o->node_id = idbuf;
	}
	if (setenv("LEADERRUN_NAME", o->name, 1) == -1 ||
	    setenv("LEADERRUN_NODE_ID", o->node_id, 1) == -1)
		die(EXIT_FAIL, "setenv: %s", strerror(errno));
	/* Before any thread exists: setlocale is not thread-safe. */
	log_setup(o->name, o->node_id, o->verbose, o->heartbeat_ns != 0,
	    o->no_emoji);
#ifdef PR_SET_CHILD_SUBREAPER
	/* Orphans of the command come to us, so we can stop them too. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	opts_lease_config(o, cfg);
	s->sigfd = sig_setup();
	/* The watchdog's pipes, before contending so that nothing after the
	 * command's start can run out of descriptors. */
	if (cloexec_pipe(wdp, 1) == -1 || cloexec_pipe(tell, 1) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	/* Before any thread exists: see spawn. */
	spawn(&s->job, s->path, o->argv, isatty(STDIN_FILENO) &&
	    tcgetpgrp(STDIN_FILENO) == getpgrp(), wdp, tell, o->sig, o->kill_ns);
	s->wd.pid = -1;
	s->wd.fd = wdp[1];
	s->wd.tell = tell[0];
	cfg->job = (long)s->job.pid;
	gate_init(&s->gate, s->job.go, s->wd.fd, o->deadline_ns);
	worker_start(&s->w, cfg, &s->gate);

	s->state = ST_CONTEND;
	beat("\xe2\x9c\x85", "[start]", "Leader election started for %s. "
	    "Press Ctrl+C to stop", o->name);
	now = now_ns();
	if (o->heartbeat_ns)
		s->t[T_BEAT] = now + o->heartbeat_ns;
	if (o->wait_ns && o->wait_ns < NEVER - now)
		s->t[T_WAIT] = now + o->wait_ns;
	if (o->nonblock)	/* one attempt, but never an endless one */
		s->t[T_WAIT] = now + o->deadline_ns;
	metrics_init(&s->m, o->metrics, o->name, o->node_id);
	if (o->metrics)
		s->t[T_METRICS] = now + o->retry_ns;
	worker_send(&s->w, OP_CONTEND, o->nonblock);
}

_Noreturn int
supervise(struct opts *o)
{
	struct sup s;
	struct lease_config cfg;

	start(&s, o, &cfg);
	for (;;) {
		struct pollfd pfd[3];
		int64_t now = now_ns(), t = nearest(&s);
		int timeout = -1, n = 2;
		struct reply *r;

		if (t != NEVER) {
			int64_t ms = t > now ? (t - now + NS_PER_MS - 1) / NS_PER_MS : 0;
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		}
		pfd[0].fd = s.sigfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = worker_fd(&s.w);
		pfd[1].events = POLLIN;
		if (s.job.execerr != -1 && s.job.go == -1) {
			pfd[2].fd = s.job.execerr;
			pfd[2].events = POLLIN;
			n = 3;
		}
		if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR)
			die(EXIT_FAIL, "poll: %s", strerror(errno));
		now = now_ns();
		run_timers(&s, now);
		if (pfd[0].revents & POLLIN) {
			unsigned char sig[64];
			ssize_t i, got;

			while ((got = read(s.sigfd, sig, sizeof(sig))) > 0)
				for (i = 0; i < got; i++)
					on_signal(&s, sig[i], now);
		}
		if (n == 3 && (pfd[2].revents & (POLLIN | POLLHUP)))
			check_exec(&s.job, o->argv[0]);
		if ((pfd[1].revents & POLLIN) && (r = worker_reply(&s.w)) != NULL) {
			on_reply[r->kind](&s, r, now);
			free(r);
		}
		run_timers(&s, now_ns());
	}
}
