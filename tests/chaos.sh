#!/usr/bin/env bash
# chaos.sh - prove that leaderrun never runs two leaders, under faults.
#
#   tests/chaos.sh [-s file|etcd|redis|postgres] [-n contenders] [-H hosts] [-T terms]
#                  [-S seconds] [-t lease-ms] [-k] [-q] [-- extra options]
#
# N contenders (-n, default 5) compete for one lease with short timings (-t,
# default 300 ms; the other timings scale).  Each one runs leaderrun in a loop;
# the command is a job that works 20-80 ms (a few ignore SIGTERM and work
# longer, a few leave a straggler in their process group).  Every job process
# logs its start first thing and its end as its last action; a monitor holding
# a pidfd of each logs the moment it is dead, which is the end of a process
# killed by SIGKILL.  A job's interval runs from its first process's start to
# its last process's end (a process's end: its own last stamp or its death,
# whichever came first), so it covers all the job's work, and the overlap
# check can only err towards reporting too much.  (The time leaderrun returns
# to the contender loop would not do as an end: a SIGKILLed supervisor
# returns at once, while its job runs on until PDEATHSIG or the watchdog
# kills it.)  Timestamps are CLOCK_MONOTONIC, microseconds.
#
# Meanwhile a driver injects random faults until -T terms have run or -S
# seconds have passed: SIGKILL of a supervisor or of a job, SIGTERM of a
# supervisor, SIGSTOP of a supervisor for longer than the lease (SIGCONT
# later), removal of the lease file, the lock directory read-only for a
# moment.  As root, -H of the contenders (default 2) each run in their own
# PID and UTS namespace, a "host" of their own, so that takeover by expiry is
# exercised too, and all contenders run as nobody so that a read-only
# directory means something.  (Not as root: all on one host, as the caller.)
#
# -s etcd: the same on the etcd store.  The run starts its own etcd (etcd and
# etcdctl from PATH) on 127.0.0.1, on free ports, with its data in the run
# directory, and stops it by its PID at the end; the contenders use
# -S etcd://127.0.0.1:PORT.  The lease defaults to 2000 ms (etcd TTLs are
# whole seconds; this etcd runs with a 200 ms election timeout, so -t 1000
# is possible too), and faults come at a pace and mix that suit leases that
# long: fewer supervisor stops, each of which costs a TTL without a leader.
# The lease-file faults give way to etcd ones: SIGSTOP of etcd for longer
# than the lease (SIGCONT later), and SIGKILL of etcd, down for up to 1.5
# leases, then restarted on the same data directory and ports; etcd-del,
# deletion of the leader's key (or another's, or of all keys) with etcdctl;
# and etcd-revoke, revocation of the leader's etcd lease (or another's) by
# hand.  Terms are etcd create revisions: they must increase, not by one.
#
# -s redis: the same on the Redis store.  The run starts its own redis-server
# (redis-server and redis-cli from PATH) on 127.0.0.1, on a free port, with
# its data in the run directory and AOF fsynced at every write
# (--appendonly yes --appendfsync always --save ''), so that a SIGKILL never
# takes the fence counter back (the man page: the counter needs AOF or RDB);
# it is stopped by its PID at the end.  The contenders use
# -S redis://127.0.0.1:PORT; the lease defaults to 300 ms, as on the file
# store (Redis TTLs are milliseconds).  The lease-file faults give way to
# Redis ones: redis-stop, SIGSTOP of redis-server for longer than the lease
# (SIGCONT later), and redis-kill, SIGKILL of it, down for up to 1.5 leases,
# then restarted on the same directory, port and options; and hand deletes
# with redis-cli: redis-del, DEL of the lock key (its held key makes every
# contender wait for the old holder); and, only when CHAOS_FAULTS names it,
# redis-delall, DEL of the lock and its held key (a waiter that saw the lock
# puts the held key back for the holder's renew-deadline + kill-after, but
# a contender started since knows nothing of it: the two commands may
# overlap, as the man page says).  A FLUSHDB would take the fence
# counter back too, which the term check here would flag: the suite tests
# it (tests/62-redis-hand.bats).  Terms are the fence counter: they must
# increase.
#
# -s postgres: the same on the PostgreSQL store.  The run starts its own
# postgres (initdb into the run directory, as nobody when root; trust
# logins on 127.0.0.1, so the watchdog's last words work) on a free port.
# The faults: pg-stop, SIGSTOP of the postmaster and all its backends for
# longer than the lease; pg-kill, SIGKILL of them all, down for up to 1.5
# leases, then restarted on the same data; pg-restart, a fast shutdown
# (SIGINT) and a restart; and pg-del (only when named), a DELETE of the
# lease row by hand.  Terms are the row's epoch: they must increase.
#
# Waiters are killed too: kill-wait, SIGKILL of a waiting contender's
# supervisor (not the leader's: a supervisor of another node than the
# record's holder, without a job), whose held command and watchdog must then
# end on their own (a queue store: its watchdog gives its place up); and
# kill-waitall, SIGKILL of all its processes at once (supervisor, held
# command, watchdog: its process tree, each stopped as it is found, then
# all killed), as when its host dies (a queue store: its place lapses).
# Either way its loop starts a new contender, so that N keep competing.
# Default on the file and Redis stores; on etcd and PostgreSQL when named.
# A process of a killed contender that still runs 2 s + 3 leases after the
# kill counts as a leak (the helper watches them through pidfds), and so
# does anything of the run left at the end; the killed supervisor's job,
# if it had just been elected, is bounded by its death, as after kill-sup.
#
# Then it checks: no two job intervals overlap; terms strictly increase from
# one job to the next; every job process that started has ended; no process
# of the run is left behind; every leaderrun exit status is one the spec
# allows; the final lease record is readable (--status).  It prints
#   chaos: 2000 terms, 613 faults, 0 overlaps, 0 leaks
# and details, and exits 1 on any violation (naming the two overlapping
# intervals), 2 on a usage or setup error.  -k keeps the run directory;
# it is always kept when the run fails.
#
# Environment: LEADERRUN (default: ../leaderrun next to this script), CC,
# TMPDIR; CHAOS_FAULTS (the kinds to inject, default all: kill-sup kill-job
# term-sup stop-sup rm-lease ro-dir kill-wait kill-waitall, on etcd kill-sup
# kill-job term-sup stop-sup etcd-stop etcd-kill etcd-del etcd-revoke, and
# kill-wait kill-waitall when named; on redis kill-sup kill-job term-sup
# stop-sup redis-stop redis-kill redis-del kill-wait kill-waitall, and
# redis-delall when named; on postgres kill-sup kill-job term-sup stop-sup
# pg-stop pg-kill pg-restart, and pg-del kill-wait kill-waitall when named;
# empty: none);
# CHAOS_IGN, CHAOS_STRAG (percent of jobs that ignore SIGTERM / leave a
# straggler, default 5 each); CHAOS_WORK_MIN, CHAOS_WORK_MAX (ms of work per
# job, default 20 and 80); CHAOS_FIRST (kinds to inject first, in order,
# before the random ones: so that a short run surely has them).
#
# tests/chaos.sh -C LOG runs the checks alone on the log of a run.
set -u

here=$(cd "$(dirname "$0")" && pwd)
LEADERRUN=${LEADERRUN:-$here/../leaderrun}

die() { echo "chaos: $*" >&2; exit 2; }
say() { [ "$QUIET" = 1 ] || echo "chaos: $*" >&2; }

# ---- the helper: compiled into the run directory at run time ----------------

helper_source() {
	cat <<'HELPER_EOF'
/* chaos-helper: the pieces of tests/chaos.sh that need a monotonic clock,
 * pidfds or async-signal-safe code.  Modes:
 *   now                         print CLOCK_MONOTONIC in microseconds
 *   job LOG SOCK                the command leaderrun runs (see below)
 *   monitor LOG SOCK READY      stamp the death of every registered process
 *   ps TAG                      list processes whose environment has CHAOS_TAG=TAG:
 *                               "pid ppid state comm parent-comm node"
 *   sig LOG KIND SIG PID TAG    send SIG to PID if it carries TAG, log "F"
 *   stopcont LOG PID TAG MS     SIGSTOP PID, wait MS, SIGCONT it, log "F"
 *   killc LOG KIND TAG MS PID   kill a waiting contender, PID its supervisor
 *                               (see there), log "F"; "L" for each of its
 *                               processes still running MS later
 *   note LOG L WORDS...         log "L t WORDS" (B: run start, F: a fault)
 * Log lines (one write(2) each, O_APPEND, so writers never interleave):
 *   S t node term pid token kind flags   a job process started (kind job or
 *                                        straggler); t is taken first thing
 *   E t node term pid token why          it is about to exit (last action)
 *   D t node term pid token kind         the monitor saw it dead (pidfd)
 *   F t kind ...                         a fault the driver injected
 *   L t kind pid node comm               a process of a killed contender
 *                                        still runs after the grace time
 * t is CLOCK_MONOTONIC in microseconds (exact in awk's doubles).
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int
pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int
pidfd_signal(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

static void
logline(const char *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logline(const char *log, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if ((fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		return;
	(void)!write(fd, buf, (size_t)n);
	close(fd);
}

/* ---- job ------------------------------------------------------------ */

static int job_logfd = -1;
static char job_rest[256];	/* "node term pid token" of this process */

/* Async-signal-safe: "E <now> <job_rest> <why>\n" in one write. */
static void
stamp_end(const char *why)
{
	char buf[400], num[24];
	long long t = now_us();
	size_t o = 0, i;
	int n = 0;

	buf[o++] = 'E';
	buf[o++] = ' ';
	do
		num[n++] = (char)('0' + t % 10);
	while ((t /= 10) != 0);
	while (n > 0)
		buf[o++] = num[--n];
	buf[o++] = ' ';
	for (i = 0; job_rest[i] && o < 300; i++)
		buf[o++] = job_rest[i];
	buf[o++] = ' ';
	for (i = 0; why[i] && o < 390; i++)
		buf[o++] = why[i];
	buf[o++] = '\n';
	(void)!write(job_logfd, buf, o);
}

static void
on_term(int sig)
{
	stamp_end("term");
	signal(sig, SIG_DFL);
	raise(sig);	/* delivered when the handler returns: no more work */
}

static void
sleep_us(long long us)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(us / 1000000);
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static unsigned
rnd(void)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)now_us() * 2654435761u ^ (unsigned)getpid();
	return r;
}

static int
envint(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

/* Hand the monitor a pidfd of ourselves and our identity. */
static void
register_self(const char *sock, const char *kind)
{
	struct sockaddr_un sa;
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct cmsghdr *cm;
	char msg[300];
	int s, pfd;

	if ((pfd = pidfd_open(getpid())) == -1)
		return;
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		close(pfd);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	snprintf(msg, sizeof(msg), "%s %s", job_rest, kind);
	iov.iov_base = msg;
	iov.iov_len = strlen(msg);
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &sa;
	mh.msg_namelen = sizeof(sa);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pfd, sizeof(int));
	while (sendmsg(s, &mh, 0) == -1 && errno == EINTR)
		;
	close(s);
	close(pfd);
}

/*
 * The job: a short random piece of work, 20-80 ms by default.  Some jobs
 * ignore SIGTERM (CHAOS_IGN percent) and then work longer, so that the stop
 * sequence has to escalate to SIGKILL; some leave a straggler in their
 * process group (CHAOS_STRAG percent) that outlives them.  The start is
 * stamped before any work, the end as the very last action; a job killed
 * by SIGKILL gets its end from the monitor.
 */
static int
job(const char *log, const char *sock)
{
	const char *node = getenv("CHAOS_NODE"), *term = getenv("LEADERRUN_TERM");
	struct sigaction sa;
	sigset_t set, old;
	char token[17], flags[32];
	int ign, strag, wmin, wmax;
	long long work, t;
	pid_t g;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	t = now_us();
	prctl(PR_SET_NAME, "chaos-job");
	if ((job_logfd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		return 2;
	wmin = envint("CHAOS_WORK_MIN", 20);
	wmax = envint("CHAOS_WORK_MAX", 80);
	ign = (int)(rnd() % 100) < envint("CHAOS_IGN", 5);
	strag = (int)(rnd() % 100) < envint("CHAOS_STRAG", 5);
	work = (wmin + (long long)(rnd() % (unsigned)(wmax - wmin + 1))) * 1000;
	if (ign)
		work *= 4;
	snprintf(token, sizeof(token), "%08x%08x", rnd(), rnd());
	snprintf(flags, sizeof(flags), "%s%s", ign ? "i" : "-", strag ? "s" : "-");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ign ? SIG_IGN : on_term;
	sigaction(SIGTERM, &sa, NULL);
	snprintf(job_rest, sizeof(job_rest), "%s %s %ld %s", node ? node : "?",
	    term ? term : "0", (long)getpid(), token);
	/* Register before logging the start: a job killed in between must
	 * not look like one that never ended. */
	register_self(sock, "job");
	{
		char line[400];
		int n = snprintf(line, sizeof(line), "S %lld %s job %s\n", t,
		    job_rest, flags);
		(void)!write(job_logfd, line, (size_t)n);
	}
	if (strag && (g = fork()) == 0) {
		char line[400];
		int n;

		t = now_us();
		prctl(PR_SET_NAME, "chaos-straggler");
		snprintf(job_rest, sizeof(job_rest), "%s %s %ld %s", node ? node : "?",
		    term ? term : "0", (long)getpid(), token);
		register_self(sock, "straggler");
		n = snprintf(line, sizeof(line), "S %lld %s straggler %s\n", t,
		    job_rest, flags);
		(void)!write(job_logfd, line, (size_t)n);
		sigprocmask(SIG_SETMASK, &old, NULL);
		sleep_us(work + 100000);
		stamp_end("exit");
		_exit(0);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	sleep_us(work);
	sigprocmask(SIG_BLOCK, &set, NULL);
	stamp_end("exit");
	_exit(0);
}

/* ---- monitor -------------------------------------------------------- */

struct watched {
	int	 fd;
	char	 who[400];
};

static volatile sig_atomic_t mon_stop;

static void
on_stop(int sig)
{
	(void)sig;
	mon_stop = 1;
}

static int
monitor(const char *log, const char *sock, const char *ready)
{
	struct sockaddr_un sa;
	struct epoll_event ev, evs[64];
	struct rlimit rl;
	struct sigaction act;
	int s, ep, logfd, i, n;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_stop;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	if ((logfd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1) {
		perror(log);
		return 1;
	}
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		perror("socket");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	unlink(sock);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror(sock);
		return 1;
	}
	chmod(sock, 0666);
	n = 1 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
	ep = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	while (!mon_stop) {
		n = epoll_wait(ep, evs, 64, 200);
		for (i = 0; i < n; i++) {
			struct watched *w = evs[i].data.ptr;

			if (w == NULL) {
				char buf[400];
				union {
					char b[CMSG_SPACE(sizeof(int) * 4)];
					struct cmsghdr align;
				} u;
				struct msghdr mh;
				struct iovec iov;
				struct cmsghdr *cm;
				ssize_t got;

				iov.iov_base = buf;
				iov.iov_len = sizeof(buf) - 1;
				memset(&mh, 0, sizeof(mh));
				mh.msg_iov = &iov;
				mh.msg_iovlen = 1;
				mh.msg_control = u.b;
				mh.msg_controllen = sizeof(u.b);
				got = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
				if (got <= 0)
					continue;
				buf[got] = '\0';
				for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
					int fd;

					if (cm->cmsg_level != SOL_SOCKET ||
					    cm->cmsg_type != SCM_RIGHTS)
						continue;
					memcpy(&fd, CMSG_DATA(cm), sizeof(int));
					if ((w = calloc(1, sizeof(*w))) == NULL)
						abort();
					w->fd = fd;
					snprintf(w->who, sizeof(w->who), "%s", buf);
					ev.events = EPOLLIN;
					ev.data.ptr = w;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
					break;
				}
			} else {
				/* Readable pidfd: the process has exited. */
				char line[400];
				int k = snprintf(line, sizeof(line), "D %lld %s\n",
				    now_us(), w->who);

				(void)!write(logfd, line, (size_t)k);
				epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
				close(w->fd);
				free(w);
			}
		}
	}
	return 0;
}

/* ---- process listing and signals ------------------------------------ */

static int
read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd == -1)
		return -1;
	while ((size_t)total < len - 1 &&
	    (n = read(fd, buf + total, len - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return (int)total;
}

/* The value of NAME in PID's environment into VAL, or -1. */
static int
env_of(long pid, const char *name, char *val, size_t vlen)
{
	static char buf[1 << 16];
	char path[64];
	size_t nl = strlen(name);
	int n, i;

	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	if ((n = read_file(path, buf, sizeof(buf))) <= 0)
		return -1;
	for (i = 0; i < n; i += (int)strlen(buf + i) + 1)
		if (!strncmp(buf + i, name, nl) && buf[i + nl] == '=') {
			snprintf(val, vlen, "%s", buf + i + nl + 1);
			return 0;
		}
	return -1;
}

static int
stat_of(long pid, char *state, long *ppid, char *comm, size_t clen)
{
	char path[64], buf[1024], *l, *r;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	if ((l = strchr(buf, '(')) == NULL || (r = strrchr(buf, ')')) == NULL)
		return -1;
	*r = '\0';
	snprintf(comm, clen, "%s", l + 1);
	return sscanf(r + 1, " %c %ld", state, ppid) == 2 ? 0 : -1;
}

static int
ps(const char *tag)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char val[4096], node[128], comm[64], pcomm[64], st, pst;
	long pid, ppid, pp;

	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		if ((pid = atol(e->d_name)) <= 0 || pid == (long)getpid())
			continue;
		if (env_of(pid, "CHAOS_TAG", val, sizeof(val)) == -1 ||
		    strcmp(val, tag))
			continue;
		if (stat_of(pid, &st, &ppid, comm, sizeof(comm)) == -1)
			continue;
		if (env_of(pid, "CHAOS_NODE", node, sizeof(node)) == -1)
			strcpy(node, "-");
		if (stat_of(ppid, &pst, &pp, pcomm, sizeof(pcomm)) == -1)
			strcpy(pcomm, "-");
		printf("%ld %ld %c %s %s %s\n", pid, ppid, st, comm, pcomm, node);
	}
	closedir(d);
	return 0;
}

/* A pidfd for PID if it still carries TAG (checked after opening, so the
 * pidfd cannot name a recycled pid), else -1. */
static int
tagged_pidfd(long pid, const char *tag, char *node, size_t nlen, char *comm,
    size_t clen)
{
	char val[4096], st;
	long ppid;
	int fd = pidfd_open((pid_t)pid);

	if (fd == -1)
		return -1;
	if (env_of(pid, "CHAOS_TAG", val, sizeof(val)) == -1 || strcmp(val, tag) ||
	    stat_of(pid, &st, &ppid, comm, clen) == -1) {
		close(fd);
		return -1;
	}
	if (env_of(pid, "CHAOS_NODE", node, nlen) == -1)
		snprintf(node, nlen, "-");
	return fd;
}

/*
 * killc: KIND kill-wait: SIGKILL of the supervisor SUP alone; kill-waitall:
 * of SUP and all its descendants at once (as when their host dies): each
 * gets SIGSTOP as it is found, so that none can act on another's death or
 * fork, then all get SIGKILL.  The descendants (the held command, the
 * watchdog, or a job and its straggler if SUP has just been elected) are
 * found by their parent in /proc and must carry TAG.  Logs "F t KIND SUP
 * node comm +N" (N: the descendants killed or left), then waits up to
 * GRACE_MS for every one of them to be gone, and logs "L" for each that
 * still runs (a zombie has ended): what a killed contender leaves behind
 * must end on its own, soon.
 */
#define KMAX 64
static int
killc(const char *log, const char *kind, const char *tag, int grace_ms, long sup)
{
	struct {
		int	 fd;
		long	 pid;
		char	 node[128], comm[64];
	} p[KMAX];
	struct pollfd pf[KMAX];
	int n = 0, i, all = !strcmp(kind, "kill-waitall"), grew;
	long long t, end;

	if ((p[0].fd = tagged_pidfd(sup, tag, p[0].node, sizeof(p[0].node),
	    p[0].comm, sizeof(p[0].comm))) == -1)
		return 1;
	p[0].pid = sup;
	n = 1;
	if (all && pidfd_signal(p[0].fd, SIGSTOP) == -1)
		return 1;
	do {
		DIR *d = opendir("/proc");
		struct dirent *e;
		char st, comm[64];
		long pid, ppid;

		grew = 0;
		if (d == NULL)
			break;
		while (n < KMAX && (e = readdir(d)) != NULL) {
			if ((pid = atol(e->d_name)) <= 0 ||
			    stat_of(pid, &st, &ppid, comm, sizeof(comm)) == -1)
				continue;
			for (i = 0; i < n && p[i].pid != ppid; i++)
				;
			if (i == n)
				continue;
			for (i = 0; i < n && p[i].pid != pid; i++)
				;
			if (i < n || (p[n].fd = tagged_pidfd(pid, tag, p[n].node,
			    sizeof(p[n].node), p[n].comm, sizeof(p[n].comm))) == -1)
				continue;
			p[n].pid = pid;
			if (all)
				pidfd_signal(p[n].fd, SIGSTOP);
			n++;
			grew = 1;
		}
		closedir(d);
	} while (grew);
	t = now_us();
	/* (Once any is stopped, all go: none may stay stopped.) */
	if (pidfd_signal(p[0].fd, SIGKILL) == -1 && !all)
		return 1;
	for (i = 1; all && i < n; i++)
		pidfd_signal(p[i].fd, SIGKILL);
	logline(log, "F %lld %s %ld %s %s +%d", t, kind, sup, p[0].node,
	    p[0].comm, n - 1);
	end = now_us() + (long long)grace_ms * 1000;
	for (;;) {
		int left = 0;
		long long now = now_us();

		for (i = 0; i < n; i++) {
			pf[i].fd = p[i].fd;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)n, 0) == -1 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
				if (!(pf[i].revents & (POLLIN | POLLHUP)))
				left++;
		if (left == 0 || now >= end)
			break;
		sleep_us(now + 20000 < end ? 20000 : end - now);
	}
	for (i = 0; i < n; i++)
		if (!(pf[i].revents & (POLLIN | POLLHUP)))
			logline(log, "L %lld %s %ld %s %s", now_us(), kind, p[i].pid,
			    p[i].node, p[i].comm);
	return 0;
}

int
main(int argc, char **argv)
{
	char node[128], comm[64];
	int fd;

	if (argc >= 2 && !strcmp(argv[1], "now")) {
		printf("%lld\n", now_us());
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "job"))
		return job(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "monitor"))
		return monitor(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "ps"))
		return ps(argv[2]);
	/* Faults are stamped just before they are done. */
	if (argc == 7 && !strcmp(argv[1], "sig")) {
		long long t;

		fd = tagged_pidfd(atol(argv[5]), argv[6], node, sizeof(node), comm,
		    sizeof(comm));
		t = now_us();
		if (fd == -1 || pidfd_signal(fd, atoi(argv[4])) == -1)
			return 1;
		logline(argv[2], "F %lld %s %s %s %s", t, argv[3], argv[5], node,
		    comm);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "stopcont")) {
		long long t;

		fd = tagged_pidfd(atol(argv[3]), argv[4], node, sizeof(node), comm,
		    sizeof(comm));
		t = now_us();
		if (fd == -1 || pidfd_signal(fd, SIGSTOP) == -1)
			return 1;
		logline(argv[2], "F %lld stop-sup %s %s %s %sms", t, argv[3], node,
		    comm, argv[5]);
		sleep_us(atoll(argv[5]) * 1000);
		pidfd_signal(fd, SIGCONT);
		logline(argv[2], "C %lld cont %s %s", now_us(), argv[3], node);
		return 0;
	}
	if (argc == 7 && !strcmp(argv[1], "killc"))
		return killc(argv[2], argv[3], argv[4], atoi(argv[5]), atol(argv[6]));
	if (argc >= 4 && !strcmp(argv[1], "note")) {
		char buf[512];
		size_t o = 0;
		int i;

		buf[0] = '\0';
		for (i = 4; i < argc && o < sizeof(buf) - 2; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s", argv[i]);
		logline(argv[2], "%s %lld%s", argv[3], now_us(), buf);
		return 0;
	}
	fprintf(stderr, "usage: chaos-helper now|job|monitor|ps|sig|stopcont|killc|note ...\n");
	return 2;
}
HELPER_EOF
}

# ---- inside the run: one contender ----------------------------------------

# _ns: the init of a "host" of its own (PID and UTS namespace, as root).
if [ "${1:-}" = _ns ]; then
	hostname "$CHAOS_HOST" 2>/dev/null
	exec setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	    bash "$CHAOS_RUN/chaos.sh" _loop
fi

# _loop: run leaderrun until the driver says stop.  The job's stdout goes
# nowhere; leaderrun's stderr (-v) to w/NODE.err; exit statuses to the log.
if [ "${1:-}" = _loop ]; then
	run=$CHAOS_RUN
	# bash reports the jobs killed by the faults on stderr: not for us.
	exec < /dev/null > /dev/null 2>> "$run/w/$CHAOS_NODE.loop"
	exec {sfd}<> <(:)	# read -t on it sleeps without a fork
	if [ -n "${CHAOS_STORE:-}" ]; then
		set -- -S "$CHAOS_STORE"
	else
		set -- -d "$run/locks"
	fi
	while [ ! -e "$run/stop" ]; do
		# shellcheck disable=SC2086 # CHAOS_OPTS: extra options, split
		"$run/leaderrun" -v "$@" -l chaos -i "$CHAOS_NODE" \
		    -t "${CHAOS_LEASE_MS}ms" $CHAOS_OPTS -- \
		    "$run/chaos-helper" job "$run/w/log" "$run/w/mon.sock" \
		    2>> "$run/w/$CHAOS_NODE.err"
		rc=$?
		echo "R $("$run/chaos-helper" now) $CHAOS_NODE $rc" >> "$run/w/log"
		# Cannot start (a read-only directory, etcd down): do not spin.
		[ $rc = 125 ] && read -r -t "$CHAOS_PAUSE" -u "$sfd"
	done
	: > "$run/w/done.$CHAOS_NODE"
	# As the init of a PID namespace our exit would kill what is left in
	# it: stay until the driver has looked for leftovers.
	until [ -e "$run/exit" ]; do read -r -t 0.05 -u "$sfd"; done
	exit 0
fi

# ---- the checker -----------------------------------------------------------

# check_log LOG DIR: the checks on a run's LOG, results in DIR (jobs, stats,
# violations, unended).
check_log() {
	local C=$2 T0US
	# Pass 1: one line per job: J start end node term pid token flags
	# unended, its start the earliest start of its processes, its end the
	# latest end; a process's end is its own last stamp or its death,
	# whichever came first (both are after its last piece of work).  A
	# death is stamped when the monitor sees it, late if the monitor was
	# not scheduled; the stamp of the leaderrun run's end ("R") bounds it
	# too, because leaderrun exits only after its job's processes are gone
	# -- unless it was SIGKILLed (kill-sup) or failed itself (125).
	awk -v stats="$C/stats" '
$1 == "B" { t0 = $2 }
$1 == "S" {
	m = $6 SUBSEP $5
	ms[m] = $2; kind[m] = $7; members[$6] = members[$6] " " $5
	if ($7 == "job") {
		jn[$6] = $3; jt[$6] = $4; jp[$6] = $5; jf[$6] = $8; njobs++
		if ($8 ~ /i/) nign++
		if ($8 ~ /s/) nstrag++
		run[$3] = run[$3] " " $6
	}
}
$1 == "E" || $1 == "D" {
	m = $6 SUBSEP $5
	if (!(m in me) || $2 + 0 < me[m] + 0) me[m] = $2
}
$1 == "F" {
	nf++; fk[$3]++
	if ($3 == "kill-sup" || $3 == "kill-wait" || $3 == "kill-waitall") supkilled[$5] = 1
	if ($3 == "kill-waitall") nwk += $7
}
$1 == "L" {
	printf "pid %s %s of %s still ran at %.3f ms, past the grace after %s\n", $4, $6, $5, ($2 - t0) / 1000, $3 > (stats ".late")
}
$1 == "R" {
	rc[$4]++
	if ($2 ~ /^[0-9]+$/ && !supkilled[$3] && $4 != 125) {
		n = split(run[$3], p, " ")
		for (i = 1; i <= n; i++) cap[p[i]] = $2
	}
	run[$3] = ""; supkilled[$3] = 0
}
{ if ($1 != "R" && $2 + 0 > last) last = $2 + 0 }
END {
	for (tok in jn) {
		s = ""; e = ""; un = 0
		n = split(members[tok], p, " ")
		for (i = 1; i <= n; i++) {
			m = tok SUBSEP p[i]
			if (s == "" || ms[m] + 0 < s + 0) s = ms[m]
			if (!(m in me)) {
				un++
				printf "unended: %s process %s of %s term %s (started at %.3f ms)\n", kind[m], p[i], jn[tok], jt[tok], (ms[m] - t0) / 1000 > (stats ".unended")
				x = last
			} else {
				x = me[m]
				if ((tok in cap) && cap[tok] + 0 < x + 0) x = cap[tok]
			}
			if (e == "" || x + 0 > e + 0) e = x
		}
		print "J", s, e, jn[tok], jt[tok], jp[tok], tok, jf[tok], un
	}
	printf "t0 %s\nnf %d\nnign %d\nnstrag %d\nnwk %d\n", t0, nf, nign, nstrag, nwk > stats
	for (k in fk) printf "fault %s %d\n", k, fk[k] > stats
	for (k in rc) printf "rc %s %d\n", k, rc[k] > stats
}' "$1" | sort -k2,2n > "$C/jobs"
	# Pass 2: overlaps and term order, in start order.
	T0US=$(sed -n 's/^t0 //p' "$C/stats")
awk -v t0="$T0US" -v hostmap="${HOSTMAP:-}" -v lease="${LEASE_MS:-0}" \
    -v logf="$1" -v out="$C/violations" '
function rel(t) { return sprintf("%.3f", (t - t0) / 1000) }
function desc(i) {
	return sprintf("%s term %s pid %s [%s ms, %s ms]%s", node[i], term[i],
	    pid[i], rel(st[i]), rel(en[i]), flags[i] ~ /i/ ? " (ignores SIGTERM)" : "")
}
BEGIN {
	n = split(hostmap, hm, " ")
	for (i = 1; i <= n; i++) { split(hm[i], kv, "="); host[kv[1]] = kv[2] }
}
{
	i = NR
	st[i] = $2 + 0; en[i] = $3 + 0; node[i] = $4; term[i] = $5 + 0
	pid[i] = $6; flags[i] = $8
	if (i > 1) {
		if (st[i] < maxend) {
			if (++ov <= 10) printf "OVERLAP: %s and %s overlap by %.3f ms\n", desc(maxi), desc(i), ((en[i] < maxend ? en[i] : maxend) - st[i]) / 1000 > out
			lo[ov] = st[maxi]; hi[ov] = maxend
		}
		if (term[i] <= term[i - 1]) {
			if (++tv <= 10) printf "TERM ORDER: %s started after %s\n", desc(i), desc(i - 1) > out
		}
		if (host[node[i]] != host[node[i - 1]]) cross++
		# A successor that waited most of a lease after the end of
		# its predecessor: a takeover by expiry (or of an unknown holder).
		if (lease > 0 && st[i] - en[i - 1] >= lease * 900) slow++
		g = st[i] - st[i - 1]
		if (g > maxgap) { maxgap = g; gapat = st[i - 1] }
	}
	if (i == 1 || en[i] > maxend) { maxend = en[i]; maxi = i }
}
END {
	printf "overlaps %d\ntermviol %d\ncross %d\nslow %d\nmaxgap %.0f\ngapat %s\n", ov, tv, cross, slow, maxgap / 1000, rel(gapat)
	# Faults near each overlap (the first five), to start the analysis.
	for (k = 1; k <= ov && k <= 5; k++) {
		while ((getline line < logf) > 0) {
			split(line, f, " ")
			if ((f[1] == "F" || f[1] == "C") && f[2] + 0 >= lo[k] - 2000000 && f[2] + 0 <= hi[k] + 100000)
				printf "  near overlap %d: %s at %s ms\n", k, line, rel(f[2]) > out
		}
		close(logf)
	}
}' "$C/jobs" >> "$C/stats"
}

# report C LEAKS: the summary of check_log's results in C and the leftover
# processes listed in LEAKS; returns 1 on any violation.
report() {
	local C=$1 terms nf overlaps termviol leaks unended=0 faults exits bad
	local fail=0
	get() { sed -n "s/^$1 //p" "$C/stats" | head -n 1; }
	terms=$(wc -l < "$C/jobs")
	nf=$(get nf) overlaps=$(get overlaps) termviol=$(get termviol)
	# Leaks: what is left at the end, and what a killed contender left
	# running past the grace time (once, if both).
	if [ -e "$C/stats.late" ]; then
		awk -v leaks="$2" 'FILENAME == leaks { left[$2] = 1; next }
		    !($2 in left)' "$2" "$C/stats.late" > "$C/late"
	else
		: > "$C/late"
	fi
	leaks=$(( $(wc -l < "$2") + $(wc -l < "$C/late") ))
	[ -e "$C/stats.unended" ] && unended=$(wc -l < "$C/stats.unended")
	faults=$(sed -n 's/^fault //p' "$C/stats" | sort |
	    awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')
	exits=$(sed -n 's/^rc //p' "$C/stats" | sort -n |
	    awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $1, $2 }')
	bad=$(sed -n 's/^rc //p' "$C/stats" |
	    awk '$1 !~ /^(0|124|125|137|143)$/ { printf " %s(x%s)", $1, $2 }')
	echo "chaos: $terms terms, $nf faults, $overlaps overlaps, $leaks leaks"
	echo "chaos: faults: ${faults:-none}; jobs ignoring SIGTERM $(get nign), jobs with a straggler $(get nstrag)"
	[ -n "${N:-}" ] && [ "$terms" -gt 1 ] && echo "chaos: $N contenders on $((HOSTS + 1)) host(s), lease ${LEASE_MS}ms on ${STORE:-file}${EXTRA:+ $EXTRA}; $(get cross) handoffs across hosts, $(get slow) after waiting out most of a lease; longest gap between two job starts $(get maxgap) ms (at $(get gapat) ms)"
	echo "chaos: leaderrun exit statuses: ${exits:-none}"
	echo "chaos: unended processes $unended, term order violations $termviol${WALL:+, wall time ${WALL}s}"
	local kw kwa
	kw=$(get "fault kill-wait") kwa=$(get "fault kill-waitall")
	[ -z "$kw$kwa" ] || echo "chaos: waiters killed: ${kw:-0} supervisors alone," \
	    "${kwa:-0} with all their processes ($(get nwk) besides the supervisors);" \
	    "$(wc -l < "$C/late") of their processes outlived the grace time"
	[ -s "$C/violations" ] && head -n 40 "$C/violations"
	[ "$unended" = 0 ] || head -n 10 "$C/stats.unended"
	[ "$leaks" = 0 ] || sed 's/^/leak: /' "$2" "$C/late" | head -n 20
	if [ -n "$bad" ]; then
		echo "chaos: leaderrun exit statuses the spec does not allow here:$bad"
		fail=1
	fi
	if [ "$terms" -lt 1 ]; then
		echo "chaos: no job ran at all"
		fail=1
	fi
	[ "$overlaps" = 0 ] && [ "$termviol" = 0 ] && [ "$leaks" = 0 ] &&
	    [ "$unended" = 0 ] && [ "$fail" = 0 ]
}

# -C LOG: check an existing log only (also how the checker is tested).
if [ "${1:-}" = -C ]; then
	[ -r "${2:-}" ] || { echo "usage: chaos.sh -C LOG" >&2; exit 2; }
	C=$(mktemp -d "${TMPDIR:-/tmp}/chaos-check.XXXXXX") || exit 2
	: > "$C/leaks"
	check_log "$2" "$C"
	report "$C" "$C/leaks"
	rc=$?
	rm -rf "$C"
	exit $rc
fi

# ---- the driver ------------------------------------------------------------

usage() {
	sed -n '2,/^set -u/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2
	exit 2
}

N=5 HOSTS=auto TERMS=300 MAXSEC=0 LEASE_MS="" KEEP=0 QUIET=0 STORE=file
while getopts "s:n:H:T:S:t:kqh" opt; do
	case $opt in
	s) STORE=$OPTARG ;;
	n) N=$OPTARG ;;
	H) HOSTS=$OPTARG ;;
	T) TERMS=$OPTARG ;;
	S) MAXSEC=$OPTARG ;;
	t) LEASE_MS=$OPTARG ;;
	k) KEEP=1 ;;
	q) QUIET=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
EXTRA="$*"
# Per store: the lease, the pause between two faults (PACE_MIN plus up to
# PACE_SPAN ms), the contender loop's pause after a 125, the time limit.
case $STORE in
file)	: "${LEASE_MS:=300}"
	PACE_MIN=50 PACE_SPAN=350 CHAOS_PAUSE=0.02 ;;
etcd)	: "${LEASE_MS:=2000}"
	PACE_MIN=80 PACE_SPAN=400 CHAOS_PAUSE=0.1 ;;
redis)	: "${LEASE_MS:=300}"
	PACE_MIN=50 PACE_SPAN=350 CHAOS_PAUSE=0.02 ;;
postgres) : "${LEASE_MS:=300}"
	PACE_MIN=50 PACE_SPAN=350 CHAOS_PAUSE=0.02 ;;
*)	die "unknown store '$STORE' (file, etcd, redis or postgres)" ;;
esac
for v in "$N" "$TERMS" "$MAXSEC" "$LEASE_MS"; do
	case $v in ''|*[!0-9]*) die "not a number: '$v'" ;; esac
done
[ "$N" -ge 2 ] || die "need at least 2 contenders"
# kill-wait(all): how long the processes of a killed contender may take to
# end.  A waiter's held command dies with its supervisor (PDEATHSIG) and its
# watchdog ends when the supervisor's pipe closes; one elected just before
# the kill has a watchdog that waits up to kill-after for the job, then up
# to 1 s for its farewell to a store that may be stopped meanwhile.
KILL_GRACE_MS=$((2000 + 3 * LEASE_MS))
# On etcd a supervisor or etcd stop costs a TTL or more without a leader.
[ "$MAXSEC" -gt 0 ] || case $STORE in
	file) MAXSEC=$((TERMS / 4 + 30)) ;;
	etcd) MAXSEC=$((TERMS + 60)) ;;
	redis|postgres) MAXSEC=$((TERMS / 2 + 30)) ;;
esac
[ -x "$LEADERRUN" ] || die "no leaderrun at $LEADERRUN (set LEADERRUN)"
if [ "$STORE" = etcd ]; then
	if ! command -v etcd > /dev/null || ! command -v etcdctl > /dev/null; then
		die "-s etcd needs etcd and etcdctl (packages etcd-server, etcd-client)"
	fi
	[ "$LEASE_MS" -ge 1000 ] ||
	    die "-s etcd: etcd TTLs are whole seconds: -t must be 1000 or more"
fi
PG_BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
if [ "$STORE" = postgres ] && ! [ -x "$PG_BIN/postgres" ]; then
	die "-s postgres needs postgres in $PG_BIN (package postgresql-15; or set PG_BINDIR)"
fi
if [ "$STORE" = redis ]; then
	if ! command -v redis-server > /dev/null || ! command -v redis-cli > /dev/null; then
		die "-s redis needs redis-server and redis-cli (packages redis-server, redis-tools)"
	fi
fi

ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
if [ "$ROOT" = 1 ]; then
	command -v setpriv > /dev/null ||
	    die "as root, setpriv is needed to run the contenders as nobody"
fi
if [ "$HOSTS" = auto ]; then
	HOSTS=0
	if [ "$ROOT" = 1 ] && unshare --uts --pid --fork --mount-proc true 2>/dev/null; then
		HOSTS=2
	fi
fi
case $HOSTS in ''|*[!0-9]*) die "not a number: '$HOSTS'" ;; esac
[ "$HOSTS" -lt "$N" ] || die "-H must be below -n: some contenders share a host"
[ "$HOSTS" = 0 ] || [ "$ROOT" = 1 ] || die "-H needs root (PID namespaces)"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/chaos.XXXXXX") || die "mktemp failed"
chmod 755 "$RUN"
W=$RUN/w LOCKS=$RUN/locks LOG=$RUN/w/log H=$RUN/chaos-helper
mkdir "$W" "$LOCKS"
: > "$LOG"
chmod 666 "$LOG"
cp "$LEADERRUN" "$RUN/leaderrun"	# immune to rebuilds during the run
cp "$here/chaos.sh" "$RUN/chaos.sh"
helper_source > "$RUN/helper.c"
"${CC:-cc}" -std=gnu11 -O2 -Wall -o "$H" "$RUN/helper.c" ||
    die "cannot build the helper"
DROP=()
if [ "$ROOT" = 1 ]; then
	chown 65534:65534 "$W" "$LOCKS"
	DROP=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	"${DROP[@]}" test -w "$LOCKS" -a -x "$RUN/leaderrun" ||
	    die "nobody cannot reach $RUN: choose a TMPDIR that others may enter"
fi

MONPID="" BG=() LOOPS=() UNSHARES=" " failed=0 ETCD_PID="" REDIS_PID="" PG_PID=""
cleanup() {
	local p
	[ -e "$RUN/stop" ] || : > "$RUN/stop"
	: > "$RUN/exit"
	chmod 755 "$LOCKS" 2>/dev/null
	# Whatever is left: continue it, then kill it.
	while read -r p _; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done < <("$H" ps "$RUN" 2>/dev/null)
	[ -n "$MONPID" ] && kill "$MONPID" 2>/dev/null
	if [ -n "$ETCD_PID" ]; then
		kill -CONT "$ETCD_PID" 2>/dev/null
		kill -KILL "$ETCD_PID" 2>/dev/null
	fi
	if [ -n "$REDIS_PID" ]; then
		kill -CONT "$REDIS_PID" 2>/dev/null
		kill -KILL "$REDIS_PID" 2>/dev/null
	fi
	if [ -n "$PG_PID" ]; then
		kill -CONT "$PG_PID" 2>/dev/null
		kill -INT "$PG_PID" 2>/dev/null
	fi
	wait 2>/dev/null
	if [ "$KEEP" = 1 ] || [ "$failed" = 1 ]; then
		echo "chaos: run directory kept: $RUN" >&2
	else
		rm -rf "$RUN"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- etcd (-s etcd) -----------------------------------------------------------

# Our own etcd, a child of this shell (so that its PID stays its own until
# we wait for it), on 127.0.0.1, with its data in the run directory.  Its
# environment has no CHAOS_TAG: the process checks do not see it.
ETCD_NAME=chaos-${RUN##*.} ETCD_PORT="" ETCD_PEER="" ETCD_URL="" EPREFIX=leaderrun/chaos/
ectl() {
	ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_PORT" \
	    --dial-timeout=300ms --command-timeout="${ECTL_TIMEOUT:-500ms}" "$@"
}
# A port nobody listens on (connecting fails), from 20000-31999: below
# the usual ephemeral range, so that no client connection takes it while
# etcd is down.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		[ "$p" != "${1:-}" ] || continue
		(exec 3<> "/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
	done
	echo "$p"
}
etcd_launch() {
	env -u CHAOS_TAG etcd --name "$ETCD_NAME" --data-dir "$RUN/etcd" \
	    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
	    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
	    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
	    --initial-cluster "$ETCD_NAME=http://127.0.0.1:$ETCD_PEER" \
	    --heartbeat-interval 20 --election-timeout 200 \
	    < /dev/null >> "$RUN/etcd.log" 2>&1 &
	ETCD_PID=$!
}
# etcd_ready TENTHS: wait up to TENTHS/10 s for our etcd (by its name: the
# port might be someone else's) to serve; 1 if it died or did not.
etcd_ready() {
	local i
	for i in $(seq "$1"); do
		kill -0 "$ETCD_PID" 2>/dev/null || return 1
		if ectl endpoint health > /dev/null 2>&1 &&
		    ectl member list 2>/dev/null | grep -q ", $ETCD_NAME, "; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# etcd_stop: SIGTERM, then SIGKILL after 5 s.
etcd_stop() {
	local i
	[ -n "$ETCD_PID" ] || return 0
	kill -CONT "$ETCD_PID" 2>/dev/null
	kill -TERM "$ETCD_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$ETCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$ETCD_PID" 2>/dev/null
	wait "$ETCD_PID" 2>/dev/null
	ETCD_PID=
}
if [ "$STORE" = etcd ]; then
	for _ in 1 2 3 4 5; do
		ETCD_PORT=$(free_port) ETCD_PEER=$(free_port "$ETCD_PORT")
		etcd_launch
		etcd_ready 100 && break
		etcd_stop
		rm -rf "$RUN/etcd"
	done
	if [ -z "$ETCD_PID" ]; then
		failed=1
		tail -n 5 "$RUN/etcd.log" >&2
		die "etcd did not start (log: $RUN/etcd.log)"
	fi
	ETCD_URL=etcd://127.0.0.1:$ETCD_PORT
fi

# ---- redis (-s redis) -------------------------------------------------------

# Our own redis-server, a child of this shell, on 127.0.0.1, its data (the
# AOF) in the run directory; no CHAOS_TAG in its environment.  AOF with an
# fsync per write: a SIGKILL must not take the fence counter back.
REDIS_PORT="" REDIS_URL="" REDIS_LOST=0 RKEY='leaderrun:{chaos}:lock'
rcli() {
	timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}
redis_launch() {
	mkdir -p "$RUN/redis"
	env -u CHAOS_TAG redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
	    --dir "$RUN/redis" --appendonly yes --appendfsync always \
	    --save '' --daemonize no --logfile '' \
	    < /dev/null >> "$RUN/redis.log" 2>&1 &
	REDIS_PID=$!
}
# redis_ready TENTHS: wait up to TENTHS/10 s for our redis-server (its
# process_id, not just the port: the port might be someone else's) to
# answer; 1 if it died or did not.
redis_ready() {
	local i
	for i in $(seq "$1"); do
		kill -0 "$REDIS_PID" 2>/dev/null || return 1
		if rcli info server 2>/dev/null | tr -d '\r' |
		    grep -qx "process_id:$REDIS_PID"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# redis_stop: SIGTERM, then SIGKILL after 5 s.
redis_stop() {
	local i
	[ -n "$REDIS_PID" ] || return 0
	kill -CONT "$REDIS_PID" 2>/dev/null
	kill -TERM "$REDIS_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
}
if [ "$STORE" = redis ]; then
	for _ in 1 2 3 4 5; do
		REDIS_PORT=$(free_port)
		redis_launch
		redis_ready 100 && break
		redis_stop
		rm -rf "$RUN/redis"
	done
	if [ -z "$REDIS_PID" ]; then
		failed=1
		tail -n 5 "$RUN/redis.log" >&2
		die "redis-server did not start (log: $RUN/redis.log)"
	fi
	# The contenders get the store URL through the same variable.
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT ETCD_URL=$REDIS_URL
fi

# ---- postgres (-s postgres) ---------------------------------------------------

# Our own postgres, a child of this shell (as nobody when root: PostgreSQL
# refuses root), on 127.0.0.1, its data in the run directory.  fsync off:
# a SIGKILL of the server keeps what the kernel has; only a machine crash
# would not.  synchronous_commit on (the default): off acknowledges a
# commit before its WAL leaves the server's memory, and a SIGKILL then
# takes grants back (measured: terms repeated after pg-kill).
PG_PORT="" PG_LOST=0 PGAS=()
[ "$(id -u)" != 0 ] || PGAS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
pgq() {
	timeout 2 "$PG_BIN/psql" -X -q -A -t -h "$RUN/pg/sock" -p "$PG_PORT" \
	    -U postgres -d postgres -c "$1"
}
pg_launch() {
	env -u CHAOS_TAG "${PGAS[@]}" "$PG_BIN/postgres" -D "$RUN/pg/data" \
	    -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
	    -c unix_socket_directories="$RUN/pg/sock" -c fsync=off \
	    -c synchronous_commit=on -c full_page_writes=off \
	    -c max_connections=200 < /dev/null >> "$RUN/pg.log" 2>&1 &
	PG_PID=$!
}
pg_ready() {
	local i
	for i in $(seq "$1"); do
		kill -0 "$PG_PID" 2>/dev/null || return 1
		pgq 'SELECT 1' > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# pg_end SIG: SIG to the postmaster and its backends, then wait for it
# (SIGKILL after 5 s).
pg_end() {
	local i kids
	[ -n "$PG_PID" ] || return 0
	kids=$(pgrep -P "$PG_PID" | tr '\n' ' ')
	if [ "$1" = KILL ]; then
		kill -KILL "$PG_PID" $kids 2>/dev/null
	else
		kill -CONT "$PG_PID" $kids 2>/dev/null
		kill -"$1" "$PG_PID" 2>/dev/null
	fi
	for i in $(seq 50); do
		kill -0 "$PG_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PG_PID" $kids 2>/dev/null
	wait "$PG_PID" 2>/dev/null
	# Orphaned backends hold the shared memory: wait for them too.
	for i in $(seq 50); do
		[ -z "$kids" ] && break
		kill -0 $kids 2>/dev/null || break
		sleep 0.1
	done
	PG_PID=
}
if [ "$STORE" = postgres ]; then
	mkdir -p "$RUN/pg/sock"
	[ "$(id -u)" != 0 ] || chown -R nobody:nogroup "$RUN/pg"
	if ! "${PGAS[@]}" "$PG_BIN/initdb" -D "$RUN/pg/data" -U postgres -A trust \
	    -E UTF8 --no-locale --no-sync --no-instructions >> "$RUN/pg.log" 2>&1; then
		failed=1
		die "initdb failed (log: $RUN/pg.log)"
	fi
	for _ in 1 2 3 4 5; do
		PG_PORT=$(free_port)
		pg_launch
		pg_ready 100 && break
		pg_end KILL
	done
	if [ -z "$PG_PID" ]; then
		failed=1
		tail -n 5 "$RUN/pg.log" >&2
		die "postgres did not start (log: $RUN/pg.log)"
	fi
	ETCD_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
fi

# The monitor stamps deaths: real-time priority as root, so that a busy
# machine does not make its stamps late (late stamps only make intervals
# longer, never hide an overlap).
RT=()
if [ "$ROOT" = 1 ] && chrt -f 10 true 2>/dev/null; then
	RT=(chrt -f 10)
fi
"${RT[@]}" "$H" monitor "$LOG" "$W/mon.sock" "$RUN/mon.ready" &
MONPID=$!
for _ in $(seq 500); do
	[ -e "$RUN/mon.ready" ] && break
	sleep 0.01
done
[ -e "$RUN/mon.ready" ] || die "the monitor did not start"

"$H" note "$LOG" B start
T0=$EPOCHREALTIME
SECONDS=0
HOSTMAP=
for i in $(seq "$N"); do
	node=n$i
	ns=0 host=h0
	if [ "$i" -gt $((N - HOSTS)) ]; then
		ns=1 host=h$i
	fi
	HOSTMAP+="$node=$host "
	set -- env CHAOS_TAG="$RUN" CHAOS_RUN="$RUN" CHAOS_NODE="$node" \
	    CHAOS_HOST="$host" CHAOS_LEASE_MS="$LEASE_MS" CHAOS_OPTS="$EXTRA" \
	    CHAOS_STORE="$ETCD_URL" CHAOS_PAUSE="$CHAOS_PAUSE" \
	    CHAOS_IGN="${CHAOS_IGN:-5}" CHAOS_STRAG="${CHAOS_STRAG:-5}" \
	    CHAOS_WORK_MIN="${CHAOS_WORK_MIN:-20}" \
	    CHAOS_WORK_MAX="${CHAOS_WORK_MAX:-80}"
	if [ "$ns" = 1 ]; then
		"$@" unshare --uts --pid --fork --mount-proc -- \
		    bash "$RUN/chaos.sh" _ns &
		UNSHARES+="$! "
	else
		"$@" "${DROP[@]}" bash "$RUN/chaos.sh" _loop &
	fi
	LOOPS+=("$!")
done
say "$N contenders ($HOSTS on hosts of their own), lease ${LEASE_MS}ms, ${ETCD_URL:-file store}, up to $TERMS terms or ${MAXSEC}s; run dir $RUN"

# ---- faults ---------------------------------------------------------------

# snapshot: SUPS and JOBS as "pid node" of the live supervisors and jobs;
# LEADER the node named in the lease record.
snapshot() {
	local pid ppid st comm pcomm node k v
	SUPS=() JOBS=() HASJOB=() LEADER=
	while read -r pid ppid st comm pcomm node; do
		[ "$st" = Z ] && continue
		if [ "$comm" = leaderrun ] && [ "$pcomm" != leaderrun ]; then
			SUPS+=("$pid $node")
		elif [ "$comm" = chaos-job ]; then
			JOBS+=("$pid $node")
			HASJOB[$ppid]=1
		fi
	done < <("$H" ps "$RUN")
	if [ "$STORE" = etcd ]; then
		# The keys in queue order; the leader: the holder in the first.
		local line
		KEYS=()
		while IFS= read -r line; do
			case $line in
			"$EPREFIX"*) KEYS+=("$line") ;;
			holder=*) [ ${#KEYS[@]} = 1 ] && [ -z "$LEADER" ] &&
			    LEADER=${line#holder=} ;;
			esac
		done < <(ectl get --prefix "$EPREFIX" --sort-by=CREATE \
		    --order=ASCEND 2>/dev/null)
		return 0
	fi
	if [ "$STORE" = postgres ]; then
		LEADER=$(pgq "SELECT substring(holder FROM 'holder=([^\n]*)') FROM
		    leaderrun_lease WHERE name = 'chaos' AND token IS NOT NULL" \
		    2>/dev/null)
		return 0
	fi
	if [ "$STORE" = redis ]; then
		local line
		while IFS= read -r line; do
			case $line in
			holder=*) LEADER=${line#holder=}; break ;;
			esac
		done < <(rcli get "$RKEY" 2>/dev/null)
		return 0
	fi
	# The holder of the newest record (a store writing in place keeps two,
	# numbered by seq=).
	local seq=0 best=-1
	while IFS='=' read -r k v; do
		case $k in
		seq) seq=$v ;;
		holder) [ "$seq" -gt "$best" ] 2>/dev/null && { LEADER=$v; best=$seq; } ;;
		esac
	done 2>/dev/null < "$LOCKS/chaos.lease"
}

# waiters: WAITS as "pid node" of the supervisors (from SUPS) that wait:
# not of the record's holder, without a job among their children, and not
# an orphaned watchdog (which leads a session of its own).
declare -A HASJOB=()
waiters() {
	local e pid sid
	WAITS=()
	for e in "${SUPS[@]}"; do
		pid=${e% *}
		[ "${e#* }" != "$LEADER" ] && [ -z "${HASJOB[$pid]:-}" ] || continue
		sid=$(awk '{ sub(/.*\) /, ""); print $4 }' "/proc/$pid/stat" 2>/dev/null)
		[ -n "$sid" ] && [ "$sid" != "$pid" ] && WAITS+=("$e")
	done
	[ ${#WAITS[@]} -gt 0 ]
}

# pick LIST...: a "pid node" entry, the leader's three times out of four.
pick() {
	local e ours=() all=("$@")
	[ $# -gt 0 ] || return 1
	for e in "$@"; do
		[ "${e#* }" = "$LEADER" ] && ours+=("$e")
	done
	if [ ${#ours[@]} -gt 0 ] && [ $((RANDOM % 4)) != 0 ]; then
		PICK=${ours[RANDOM % ${#ours[@]}]}
	else
		PICK=${all[RANDOM % $#]}
	fi
}

# pick_key: an etcd key into PICK, the leader's three times out of four.
pick_key() {
	[ ${#KEYS[@]} -gt 0 ] || return 1
	if [ $((RANDOM % 4)) != 0 ]; then
		PICK=${KEYS[0]}
	else
		PICK=${KEYS[RANDOM % ${#KEYS[@]}]}
	fi
}

# The faults and their weights; CHAOS_FAULTS picks some of them by name.
# On etcd, a stopped leader costs a TTL without a leader, and a stopped or
# killed etcd the time it is down: these come rarer.
# Hand deletes: etcd-del (a key, or all) and etcd-revoke (a lease): the
# next leader waits for a clean end or the old leader's stop time.
if [ "$STORE" = etcd ]; then
	KINDS=(kill-sup kill-job term-sup stop-sup etcd-stop etcd-kill etcd-del etcd-revoke
	    kill-wait kill-waitall)
	WEIGHTS=(40 30 40 10 4 6 16 16 20 10)
	DEFAULT_KINDS="${KINDS[*]:0:8}"
elif [ "$STORE" = redis ]; then
	# Hand deletes: of the lock (its held key stands); and, only when
	# named, of the lock and its held key, which only the waiters that
	# saw the lock guard (a contender started since cannot know of it).
	KINDS=(kill-sup kill-job term-sup stop-sup redis-stop redis-kill redis-del redis-delall
	    kill-wait kill-waitall)
	WEIGHTS=(20 15 20 20 4 6 8 6 12 10)
	DEFAULT_KINDS="${KINDS[*]:0:7} kill-wait kill-waitall"
elif [ "$STORE" = postgres ]; then
	KINDS=(kill-sup kill-job term-sup stop-sup pg-stop pg-kill pg-restart pg-del
	    kill-wait kill-waitall)
	WEIGHTS=(20 15 20 20 4 4 3 10 12 10)
	DEFAULT_KINDS="${KINDS[*]:0:7}"
else
	KINDS=(kill-sup kill-job term-sup stop-sup rm-lease ro-dir kill-wait kill-waitall)
	WEIGHTS=(20 15 20 25 10 10 10 8)
	DEFAULT_KINDS="${KINDS[*]}"
fi
CUM=() TOTAL=0
for i in "${!KINDS[@]}"; do
	case " ${CHAOS_FAULTS-$DEFAULT_KINDS} " in
	*" ${KINDS[i]} "*) TOTAL=$((TOTAL + WEIGHTS[i])) ;;
	esac
	CUM+=("$TOTAL")
done
[ "$TOTAL" -gt 0 ] || [ "${CHAOS_FAULTS-x}" = "" ] ||
    die "CHAOS_FAULTS: none of ${KINDS[*]}"

RO_UNTIL=0
# CHAOS_FIRST: kinds injected first, one each time, in order.
read -r -a FIRST <<< "${CHAOS_FIRST:-}"
for kind in "${FIRST[@]}"; do
	case " ${KINDS[*]} " in
	*" $kind "*) ;;
	*) die "CHAOS_FIRST: '$kind' is none of ${KINDS[*]}" ;;
	esac
done
inject() {
	local r i kind ms
	if [ ${#FIRST[@]} -gt 0 ]; then
		kind=${FIRST[0]}
		FIRST=("${FIRST[@]:1}")
	else
		[ "$TOTAL" -gt 0 ] || return 0
		r=$((RANDOM % TOTAL))
		for i in "${!KINDS[@]}"; do
			if [ "$r" -lt "${CUM[i]}" ]; then
				kind=${KINDS[i]}
				break
			fi
		done
	fi
	snapshot
	case $kind in
	kill-sup)
		pick "${SUPS[@]}" && "$H" sig "$LOG" kill-sup 9 "${PICK% *}" "$RUN" ;;
	kill-job)
		pick "${JOBS[@]}" && "$H" sig "$LOG" kill-job 9 "${PICK% *}" "$RUN" ;;
	term-sup)
		pick "${SUPS[@]}" && "$H" sig "$LOG" term-sup 15 "${PICK% *}" "$RUN" ;;
	kill-wait|kill-waitall)
		# A waiter, not the leader: its supervisor alone, or all its
		# processes.  Its loop starts a new one.  In the background: the
		# helper then watches the rest end (KILL_GRACE_MS).
		if waiters; then
			"$H" killc "$LOG" "$kind" "$RUN" "$KILL_GRACE_MS" \
			    "${WAITS[RANDOM % ${#WAITS[@]}]% *}" &
			BG+=("$!")
		fi ;;
	stop-sup)
		# Longer than the lease: 1.2 to 2.5 times it.
		ms=$((LEASE_MS * (120 + RANDOM % 131) / 100))
		if pick "${SUPS[@]}"; then
			"$H" stopcont "$LOG" "${PICK% *}" "$RUN" "$ms" &
			BG+=("$!")
		fi ;;
	rm-lease)
		"$H" note "$LOG" F rm-lease && rm -f "$LOCKS/chaos.lease" ;;
	ro-dir)
		# 50 to 300 ms, at most one at a time.
		[ "$SECONDS" -ge "$RO_UNTIL" ] || return 0
		ms=$((50 + RANDOM % 250))
		RO_UNTIL=$((SECONDS + 1))
		{
			"$H" note "$LOG" F ro-dir "${ms}ms" && chmod 555 "$LOCKS"
			sleep "$(printf '0.%03d' "$ms")"
			chmod 755 "$LOCKS"
		} &
		BG+=("$!") ;;
	etcd-del)
		# The leader's key (or another), or one time in four all keys.
		if [ $((RANDOM % 4)) = 0 ]; then
			"$H" note "$LOG" F etcd-del --prefix "$EPREFIX" &&
			    ectl del --prefix "$EPREFIX" > /dev/null 2>&1
		elif pick_key; then
			"$H" note "$LOG" F etcd-del "$PICK" &&
			    ectl del "$PICK" > /dev/null 2>&1
		fi ;;
	etcd-revoke)
		# The key's name is its etcd lease's id, in hex.
		if pick_key; then
			"$H" note "$LOG" F etcd-revoke "$PICK" &&
			    ectl lease revoke "${PICK##*/}" > /dev/null 2>&1
		fi ;;
	etcd-stop)
		# Longer than the lease: 1.2 to 2.5 times it.  One etcd fault
		# at a time.
		etcd_busy && return 0
		ms=$((LEASE_MS * (120 + RANDOM % 131) / 100))
		{
			"$H" note "$LOG" F etcd-stop "$ETCD_PID" "${ms}ms" &&
			    kill -STOP "$ETCD_PID"
			sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
			kill -CONT "$ETCD_PID"
			"$H" note "$LOG" C etcd-cont "$ETCD_PID"
		} &
		ETCD_BUSY=$!
		BG+=("$!") ;;
	etcd-kill)
		# Down for 0 to 1.5 leases (the leader loses past its renew
		# deadline), then back on the same data and ports.
		etcd_busy && return 0
		ms=$((LEASE_MS * (RANDOM % 151) / 100))
		"$H" note "$LOG" F etcd-kill "$ETCD_PID" "${ms}ms"
		kill -KILL "$ETCD_PID"
		wait "$ETCD_PID" 2>/dev/null
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		etcd_launch
		if etcd_ready 150; then
			"$H" note "$LOG" C etcd-up "$ETCD_PID"
		else
			ETCD_LOST=1
		fi ;;
	pg-del)
		"$H" note "$LOG" F pg-del chaos &&
		    pgq "DELETE FROM leaderrun_lease WHERE name = 'chaos'" \
		    > /dev/null 2>&1 ;;
	pg-stop)
		# Longer than the lease: 1.2 to 2.5 times it; every backend too,
		# so that open connections hang.  One server fault at a time.
		etcd_busy && return 0
		ms=$((LEASE_MS * (120 + RANDOM % 131) / 100))
		{
			kids=$(pgrep -P "$PG_PID" | tr '\n' ' ')
			"$H" note "$LOG" F pg-stop "$PG_PID" "${ms}ms" &&
			    kill -STOP "$PG_PID" $kids 2>/dev/null
			sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
			kill -CONT "$PG_PID" $kids 2>/dev/null
			"$H" note "$LOG" C pg-cont "$PG_PID"
		} &
		ETCD_BUSY=$!
		BG+=("$!") ;;
	pg-kill|pg-restart)
		# Down for 0 to 1.5 leases, then back on the same data and port.
		etcd_busy && return 0
		ms=$((LEASE_MS * (RANDOM % 151) / 100))
		"$H" note "$LOG" F "$kind" "$PG_PID" "${ms}ms"
		if [ "$kind" = pg-kill ]; then pg_end KILL; else pg_end INT; fi
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		pg_launch
		if pg_ready 150; then
			"$H" note "$LOG" C pg-up "$PG_PID"
		else
			PG_LOST=1
		fi ;;
	redis-del)
		"$H" note "$LOG" F redis-del "$RKEY" &&
		    rcli del "$RKEY" > /dev/null 2>&1 ;;
	redis-delall)
		"$H" note "$LOG" F redis-delall "$RKEY" &&
		    rcli del "$RKEY" "${RKEY%:lock}:held" > /dev/null 2>&1 ;;
	redis-stop)
		# Longer than the lease: 1.2 to 2.5 times it.  One Redis fault
		# at a time.
		etcd_busy && return 0
		ms=$((LEASE_MS * (120 + RANDOM % 131) / 100))
		{
			"$H" note "$LOG" F redis-stop "$REDIS_PID" "${ms}ms" &&
			    kill -STOP "$REDIS_PID"
			sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
			kill -CONT "$REDIS_PID"
			"$H" note "$LOG" C redis-cont "$REDIS_PID"
		} &
		ETCD_BUSY=$!
		BG+=("$!") ;;
	redis-kill)
		# Down for 0 to 1.5 leases, then back on the same AOF, port
		# and options.
		etcd_busy && return 0
		ms=$((LEASE_MS * (RANDOM % 151) / 100))
		"$H" note "$LOG" F redis-kill "$REDIS_PID" "${ms}ms"
		kill -KILL "$REDIS_PID"
		wait "$REDIS_PID" 2>/dev/null
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		redis_launch
		if redis_ready 150; then
			"$H" note "$LOG" C redis-up "$REDIS_PID"
		else
			REDIS_LOST=1
		fi ;;
	esac
}
ETCD_BUSY="" ETCD_LOST=0
etcd_busy() {
	[ -n "$ETCD_BUSY" ] && kill -0 "$ETCD_BUSY" 2>/dev/null
}

timed_out=0 next_report=10
while :; do
	terms=$(grep -c '^S .* job ' "$LOG")
	[ "$terms" -ge "$TERMS" ] && break
	if [ "$SECONDS" -ge "$MAXSEC" ]; then
		timed_out=1
		break
	fi
	if [ "$SECONDS" -ge "$next_report" ]; then
		say "${SECONDS}s: $terms terms, $(grep -c '^F ' "$LOG") faults"
		next_report=$((next_report + 10))
	fi
	ms=$((PACE_MIN + RANDOM % PACE_SPAN))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	inject
	if [ "$ETCD_LOST" = 1 ]; then
		echo "chaos: etcd did not come back within 15 s of a restart:" >&2
		tail -n 5 "$RUN/etcd.log" >&2
		break
	fi
	if [ "$PG_LOST" = 1 ]; then
		echo "chaos: postgres did not come back within 15 s of a restart:" >&2
		tail -n 5 "$RUN/pg.log" >&2
		break
	fi
	if [ "$REDIS_LOST" = 1 ]; then
		echo "chaos: redis-server did not come back within 15 s of a restart:" >&2
		tail -n 5 "$RUN/redis.log" >&2
		break
	fi
done

# ---- shutdown --------------------------------------------------------------

: > "$RUN/stop"
# (Not a bare wait when there is none: that would wait for the loops too.)
[ ${#BG[@]} = 0 ] || wait "${BG[@]}" 2>/dev/null
chmod 755 "$LOCKS"
hang=0 round=0
all_done() {
	local i
	for i in $(seq "$N"); do
		[ -e "$W/done.n$i" ] || return 1
	done
}
until all_done; do
	snapshot
	for e in "${SUPS[@]}"; do
		kill -TERM "${e% *}" 2>/dev/null
	done
	# Jobs that ignore SIGTERM keep their supervisor: kill them after 1 s.
	if [ $round -ge 10 ]; then
		for e in "${JOBS[@]}"; do
			kill -KILL "${e% *}" 2>/dev/null
		done
	fi
	round=$((round + 1))
	if [ $round -ge 300 ]; then
		hang=1
		break
	fi
	sleep 0.1
done

# Leftovers: anything of the run but the contender loops themselves, once
# the watchdogs and supervisors had time to finish (2 s).
is_loop() {
	local l
	for l in "${LOOPS[@]}"; do
		[ "$1" = "$l" ] && return 0
	done
	[[ "$UNSHARES" == *" $2 "* ]]
}
: > "$RUN/leaks"
for round in $(seq 20); do
	left=() leftpids=()
	while read -r pid ppid st comm pcomm node; do
		[ "$st" = Z ] && continue
		is_loop "$pid" "$ppid" && continue
		left+=("pid $pid ppid $ppid state $st $comm (parent $pcomm) node $node")
		leftpids+=("$pid")
	done < <("$H" ps "$RUN")
	[ ${#left[@]} = 0 ] && break
	sleep 0.1
done
if [ ${#left[@]} -gt 0 ]; then
	printf '%s\n' "${left[@]}" > "$RUN/leaks"
	for pid in "${leftpids[@]}"; do
		kill -CONT "$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	done
fi
: > "$RUN/exit"
wait "${LOOPS[@]}" 2>/dev/null
sleep 0.2	# the monitor's last stamps
kill "$MONPID" 2>/dev/null
wait "$MONPID" 2>/dev/null
MONPID=
WALL=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# The record must still be readable (as its owner: root refuses others' files).
if [ "$STORE" = etcd ]; then
	"${DROP[@]}" "$RUN/leaderrun" --status -S "$ETCD_URL" -l chaos > "$RUN/status" 2>&1
	status_rc=$?
	etcd_stop
elif [ "$STORE" = redis ]; then
	"${DROP[@]}" "$RUN/leaderrun" --status -S "$REDIS_URL" -l chaos > "$RUN/status" 2>&1
	status_rc=$?
	redis_stop
elif [ "$STORE" = postgres ]; then
	"${DROP[@]}" "$RUN/leaderrun" --status -S "$ETCD_URL" -l chaos > "$RUN/status" 2>&1
	status_rc=$?
	pg_end INT
else
	"${DROP[@]}" "$RUN/leaderrun" --status -d "$LOCKS" -l chaos > "$RUN/status" 2>&1
	status_rc=$?
fi

# ---- the checks --------------------------------------------------------------

check_log "$LOG" "$RUN"
report "$RUN" "$RUN/leaks" || failed=1
if [ "$QUIET" != 1 ]; then
	echo "chaos: leaderrun messages (most frequent, numbers as N):"
	cat "$W"/*.err 2>/dev/null | sed -E 's/[0-9]+/N/g; s#'"$RUN"'#RUN#g' |
	    sort | uniq -c | sort -rn | head -n 15 | sed 's/^/    /'
fi
if [ "$ETCD_LOST" = 1 ]; then
	echo "chaos: etcd did not come back after a restart (log: $RUN/etcd.log)"
	failed=1
fi
if [ "$PG_LOST" = 1 ]; then
	echo "chaos: postgres did not come back after a restart (log: $RUN/pg.log)"
	failed=1
fi
if [ "$REDIS_LOST" = 1 ]; then
	echo "chaos: redis-server did not come back after a restart (log: $RUN/redis.log)"
	failed=1
fi
if [ "$hang" = 1 ]; then
	echo "chaos: the contenders did not stop within 30 s of being told to"
	failed=1
fi
if [ "$status_rc" != 0 ] && [ "$status_rc" != 1 ]; then
	echo "chaos: the final lease record is not readable:"
	cat "$RUN/status"
	failed=1
fi
[ "$timed_out" = 1 ] && echo "chaos: stopped by the time limit (${MAXSEC}s) before $TERMS terms"
if [ "$failed" = 1 ]; then
	echo "chaos: FAILED"
	exit 1
fi
exit 0
