/*
 * bench_clock - timing helper for tests/bench.sh (compiled at run time).
 *
 * Every timestamp is CLOCK_MONOTONIC in nanoseconds.  Log lines are written
 * with one write(2) to a file opened O_APPEND, so lines of concurrent
 * writers never mix.
 *
 *   bench_clock now
 *	print the clock.
 *   bench_clock relay LOG
 *	the measured command of the handover test.  Its first action is to
 *	read the clock; it logs "S <ns> <pid> <ppid> 0 -1", waits for SIGUSR1,
 *	then logs "E <ns> <pid>" as its last action and exits 0.
 *   bench_clock relay-lock LOG WITNESS
 *	relay, holding an flock(2) on the file WITNESS while it runs: the
 *	witness that no two commands of one lock run at once (tests/
 *	bench_scale.sh).  When WITNESS is locked already, it logs "O <ns>
 *	<pid>" (an overlap) first, and goes on as relay.
 *   bench_clock relay-check LOG PIDFILE
 *	the measured command of the failover tests.  First it counts the
 *	processes listed in PIDFILE (the old leader's job, written by the
 *	script before it killed or froze that leader) that still exist and are
 *	not zombies, then reads the clock, forks a child (a second process in
 *	the job's process group that only the group kill can stop), logs
 *	"S <ns> <pid> <ppid> <child> <alive>" and waits to be killed.
 *	Checking before the timestamp is the strict order: a process seen dead
 *	then was dead when the clock was read.
 *   bench_clock kill SIG PID LOG
 *	log "K <ns> <pid>", then kill(PID, SIG); PID < 0 means a group.
 *   bench_clock alt N OUT CMD... [::: CMD...]...
 *	run the commands round robin N times each (after 5 unmeasured warm-up
 *	rounds); for every run append "<index> <wall ns> <status> <cpu ns>"
 *	to OUT.  Wall time: fork to waitpid return; CPU: user + system time of
 *	the command and of the descendants it waited for (wait4's rusage).
 *   bench_clock await LOG NLINES TIMEOUT_MS
 *	wait (inotify, no polling) until LOG has NLINES lines; print the last.
 *   bench_clock waitlocks FILE START N TIMEOUT_MS
 *	poll /proc/locks until at least N lock requests on FILE starting at
 *	byte START are blocked (waiting); print the count.  Exit 1 on timeout.
 *   bench_clock switches PID...
 *	print "<pid> <n>" per PID: how often its threads were scheduled in
 *	(third field of /proc/PID/task/TID/schedstat, summed); wake-ups.
 *   bench_clock kids PID
 *	print "<pid> <comm>" for every child of PID (from /proc/PID/stat).
 *   bench_clock sweep TAG
 *	SIGKILL every process whose command line contains TAG (not this one
 *	and not its ancestors) until none is left; print how many were killed.
 *
 * For the etcd section, talking to etcd's HTTP/JSON gateway on 127.0.0.1:
 *   bench_clock freeport N
 *	print N distinct free TCP ports of 127.0.0.1 (bound at once, then
 *	released: another process may still take one first).
 *   bench_clock http PORT PATH [BODY]
 *	GET PATH, or POST BODY to it; print the reply's body.  Exit 0 on
 *	status 200, 1 otherwise.
 *   bench_clock metric PORT NAME...
 *	from /metrics, print per NAME the sum of all its samples (all label
 *	sets), on one line.
 *   bench_clock equeue PORT PREFIX NKEYS NWATCH TIMEOUT_MS
 *	poll until at least NKEYS keys start with PREFIX and etcd counts at
 *	least NWATCH watchers (etcd_debugging_mvcc_watcher_total); print
 *	"<keys> <watchers>".  Exit 1 on timeout.
 *   bench_clock erevoke PORT PREFIX
 *	revoke the lease of every key that starts with PREFIX (its holder was
 *	killed: no lease may expire later, in another measurement); print how
 *	many.
 *   bench_clock eorphans PORT
 *	revoke every lease that has no key left (the session lease an exited
 *	`etcdctl lock` leaves to expire after its TTL, as a raft proposal, at
 *	a time of etcd's choosing); print how many.
 */
#define _GNU_SOURCE
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
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

#include "lib/host.h"

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
fail(const char *what)
{
	fprintf(stderr, "bench_clock: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
logline(const char *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
logline(const char *log, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) == -1)
		fail(log);
	if (write(fd, buf, (size_t)n) != n)
		fail(log);
	close(fd);
}

/* State letter of PID from /proc (lib/host.c, as leaderrun reads it), or 0
 * when it does not exist. */
static char
proc_state(long pid)
{
	struct proc_stat st;

	return host_proc_stat(pid, &st) == 0 ? st.state : 0;
}

static int
relay(const char *log)
{
	int64_t t = now_ns();	/* first action */
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	logline(log, "S %lld %ld %ld 0 -1\n", (long long)t, (long)getpid(),
	    (long)getppid());
	while (sigwait(&set, &sig) != 0)
		;
	t = now_ns();
	logline(log, "E %lld %ld\n", (long long)t, (long)getpid());
	return 0;
}

static int
relay_lock(const char *log, const char *witness)
{
	int fd = open(witness, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd == -1)
		fail(witness);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		logline(log, "O %lld %ld\n", (long long)now_ns(), (long)getpid());
	return relay(log);	/* fd stays open, and locked, until exit */
}

static int
relay_check(const char *log, const char *pidfile)
{
	int alive = 0;
	int64_t t;
	pid_t child;
	FILE *f;

	if ((f = fopen(pidfile, "r")) != NULL) {
		long pid;
		char st;

		while (fscanf(f, "%ld", &pid) == 1)
			if (pid > 0 && (st = proc_state(pid)) && st != 'Z' && st != 'X')
				alive++;
		fclose(f);
	}
	t = now_ns();
	if ((child = fork()) == -1)
		fail("fork");
	if (child == 0) {
		for (;;)
			pause();
	}
	logline(log, "S %lld %ld %ld %ld %d\n", (long long)t, (long)getpid(),
	    (long)getppid(), (long)child, alive);
	for (;;)
		pause();
	return 0;
}

static int
do_kill(const char *sigs, const char *pids, const char *log)
{
	int sig = atoi(sigs);
	long pid = atol(pids);
	int64_t t = now_ns();

	logline(log, "K %lld %ld\n", (long long)t, pid);
	if (kill((pid_t)pid, sig) == -1)
		fail("kill");
	return 0;
}

static int
alt(int argc, char **argv)
{
	char **cmds[16];
	int ncmd = 0, i, n = atoi(argv[0]), r;
	FILE *out = fopen(argv[1], "a");

	if (out == NULL)
		fail(argv[1]);
	cmds[ncmd++] = argv + 2;
	for (i = 2; i < argc; i++)
		if (!strcmp(argv[i], ":::")) {
			argv[i] = NULL;
			if (ncmd == 16 || i + 1 >= argc) {
				fprintf(stderr, "bench_clock: alt: bad command list\n");
				return 2;
			}
			cmds[ncmd++] = argv + i + 1;
		}
	for (r = -5; r < n; r++) {
		for (i = 0; i < ncmd; i++) {
			int k = (i + (r > 0 ? r : 0)) % ncmd, st;
			int64_t t0, t1;
			struct rusage ru;
			pid_t p;

			t0 = now_ns();
			if ((p = fork()) == -1)
				fail("fork");
			if (p == 0) {
				execvp(cmds[k][0], cmds[k]);
				_exit(127);
			}
			while (wait4(p, &st, 0, &ru) == -1)
				if (errno != EINTR)
					fail("wait4");
			t1 = now_ns();
			if (r >= 0)
				fprintf(out, "%d %lld %d %lld\n", k, (long long)(t1 - t0),
				    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
				    (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
				    1000000000LL + (long long)(ru.ru_utime.tv_usec +
				    ru.ru_stime.tv_usec) * 1000LL);
		}
	}
	return fclose(out) == 0 ? 0 : 2;
}

static int
await(const char *log, int want, int timeout_ms)
{
	int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
	int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (ifd == -1 || inotify_add_watch(ifd, log, IN_MODIFY) == -1)
		fail(log);
	for (;;) {
		static char buf[1 << 20];
		char ev[4096];
		struct pollfd p;
		ssize_t n;
		int fd, lines = 0, i, last = 0, prev = 0;
		int64_t left;

		if ((fd = open(log, O_RDONLY | O_CLOEXEC)) == -1)
			fail(log);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (i = 0; i < n; i++)
			if (buf[i] == '\n') {
				lines++;
				prev = last;
				last = i + 1;
			}
		if (lines >= want) {
			fwrite(buf + prev, 1, (size_t)(last - prev), stdout);
			return 0;
		}
		left = (end - now_ns()) / 1000000;
		if (left <= 0) {
			fprintf(stderr, "bench_clock: await %s: %d of %d lines\n",
			    log, lines, want);
			return 1;
		}
		p.fd = ifd;
		p.events = POLLIN;
		if (poll(&p, 1, (int)left) > 0)
			while (read(ifd, ev, sizeof(ev)) > 0)
				;
	}
}

/* Blocked lock requests on DEV/INO starting at START, from /proc/locks. */
static int
blocked(dev_t dev, ino_t ino, long long start)
{
	char *line = NULL;
	size_t cap = 0;
	int count = 0;
	FILE *f = fopen("/proc/locks", "r");

	if (f == NULL)
		fail("/proc/locks");
	/* Requests blocked behind other blocked requests are indented one
	 * space per level: lines can be very long. */
	while (getline(&line, &cap, f) != -1) {
		char *p = strchr(line, ':'), *tok[8];
		unsigned maj, min;
		unsigned long long i;
		int n = 0;

		if (p == NULL)
			continue;
		for (p = strtok(p + 1, " \t\n"); p && n < 8; p = strtok(NULL, " \t\n"))
			tok[n++] = p;
		/* [->] TYPE ADVISORY MODE PID MAJ:MIN:INODE START END */
		if (n < 7 || strcmp(tok[0], "->"))
			continue;
		if (sscanf(tok[5], "%x:%x:%llu", &maj, &min, &i) != 3)
			continue;
		if (i == (unsigned long long)ino && maj == major(dev) &&
		    min == minor(dev) && atoll(tok[6]) == start)
			count++;
	}
	free(line);
	fclose(f);
	return count;
}

static int
waitlocks(const char *file, long long start, int want, int timeout_ms)
{
	int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
	struct stat st;
	int n;

	if (stat(file, &st) == -1)
		fail(file);
	while ((n = blocked(st.st_dev, st.st_ino, start)) < want) {
		if (now_ns() > end) {
			printf("%d\n", n);
			fprintf(stderr, "bench_clock: %s: %d of %d waiters blocked\n",
			    file, n, want);
			return 1;
		}
		sleep_ms(2);
	}
	printf("%d\n", n);
	return 0;
}

static int
sweep(const char *tag)
{
	long keep[64];
	int nkeep = 0, killed = 0, pass;
	long p = (long)getpid();

	/* Never this process nor its ancestors. */
	while (p > 1 && nkeep < 64) {
		char path[64], buf[512], *q;
		ssize_t n;
		int fd;

		keep[nkeep++] = p;
		snprintf(path, sizeof(path), "/proc/%ld/stat", p);
		if ((fd = open(path, O_RDONLY)) == -1)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			break;
		buf[n] = '\0';
		if ((q = strrchr(buf, ')')) == NULL || sscanf(q + 2, "%*c %ld", &p) != 1)
			break;
	}
	for (pass = 0; pass < 500; pass++) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		int left = 0;

		if (d == NULL)
			fail("/proc");
		while ((e = readdir(d)) != NULL) {
			char path[300], buf[8192];
			long pid = atol(e->d_name);
			ssize_t n, i;
			int fd, k, mine = 0;
			char st;

			if (pid <= 0)
				continue;
			for (k = 0; k < nkeep; k++)
				if (keep[k] == pid)
					mine = 1;
			if (mine)
				continue;
			snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n <= 0)
				continue;
			for (i = 0; i < n; i++)
				if (buf[i] == '\0')
					buf[i] = ' ';
			buf[n] = '\0';
			if (strstr(buf, tag) == NULL)
				continue;
			st = proc_state(pid);
			if (st == 0 || st == 'Z' || st == 'X')
				continue;
			left++;
			if (kill((pid_t)pid, SIGKILL) == 0 && pass == 0)
				killed++;
		}
		closedir(d);
		if (left == 0)
			break;
		sleep_ms(10);
	}
	printf("%d\n", killed);
	return 0;
}

static int
kids(long parent)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (d == NULL)
		fail("/proc");
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[1024], *p, *c;
		long pid = atol(e->d_name), ppid;
		ssize_t n;
		int fd;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if ((c = strchr(buf, '(')) == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == parent) {
			*p = '\0';
			printf("%ld %s\n", pid, c + 1);
		}
	}
	closedir(d);
	return 0;
}

static int
switches(int n, char **pids)
{
	int i;

	for (i = 0; i < n; i++) {
		char path[300];
		unsigned long long sum = 0, a, b, c;
		struct dirent *e;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%s/task", pids[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			FILE *f;

			if (!isdigit((unsigned char)e->d_name[0]))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/schedstat",
			    pids[i], e->d_name);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			if (fscanf(f, "%llu %llu %llu", &a, &b, &c) == 3)
				sum += c;
			fclose(f);
		}
		closedir(d);
		printf("%s %llu\n", pids[i], sum);
	}
	return 0;
}

/* ---- etcd's gateway ----------------------------------------------------- */

static int
freeport(int n)
{
	int fds[16], i;

	if (n < 1 || n > 16)
		return 2;
	for (i = 0; i < n; i++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&a, sizeof(a)) == -1 ||
		    getsockname(fds[i], (struct sockaddr *)&a, &len) == -1)
			fail("freeport");
		printf("%s%d", i ? " " : "", ntohs(a.sin_port));
	}
	printf("\n");
	for (i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

/*
 * http: one HTTP/1.0 request to 127.0.0.1:PORT (the reply then ends at EOF,
 * never chunked), within 5 seconds.  Returns the status (-1: no reply);
 * *BODY (malloc'd, NUL-terminated) is the reply's body.
 */
static int
http(int port, const char *path, const char *body, char **out)
{
	int64_t end = now_ns() + 5000000000LL;
	struct sockaddr_in a;
	char head[512], *buf = NULL, *p;
	size_t len = 0, cap = 0;
	int fd, status = -1, hl;

	*out = NULL;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fail("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		close(fd);
		return -1;
	}
	hl = snprintf(head, sizeof(head), body ? "POST %s HTTP/1.0\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n" :
	    "GET %s HTTP/1.0\r\n\r\n", path, body ? strlen(body) : (size_t)0);
	if (write(fd, head, (size_t)hl) != hl ||
	    (body && write(fd, body, strlen(body)) != (ssize_t)strlen(body))) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int64_t left = (end - now_ns()) / 1000000;
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		if (cap - len < 65536) {
			char *nb;

			cap = cap ? cap * 2 : 262144;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				fail("realloc");
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - len)) <= 0) {
			if (n == 0)
				status = 0;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL || status != 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/%*d.%*d %d", &status) != 1 ||
	    (p = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return -1;
	}
	memmove(buf, p + 4, len - (size_t)(p + 4 - buf) + 1);
	*out = buf;
	return status;
}

static int
do_http(int port, const char *path, const char *body)
{
	char *r;
	int st = http(port, path, body, &r);

	if (r)
		fputs(r, stdout);
	free(r);
	return st == 200 ? 0 : 1;
}

/* The sum of NAME's samples in the /metrics text M; -1 if none. */
static double
metric_sum(const char *m, const char *name)
{
	size_t n = strlen(name);
	double sum = -1;
	const char *p = m;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *e, *v;

		if (strncmp(p, name, n) || (p[n] != ' ' && p[n] != '{'))
			continue;
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		for (v = e; v > p && v[-1] != ' '; v--)
			;
		sum = (sum < 0 ? 0 : sum) + strtod(v, NULL);
	}
	return sum;
}

static int
metric(int port, int n, char **names)
{
	char *m;
	int i;

	if (http(port, "/metrics", NULL, &m) != 200) {
		free(m);
		fprintf(stderr, "bench_clock: no /metrics on port %d\n", port);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%s%.0f", i ? " " : "", metric_sum(m, names[i]));
	printf("\n");
	free(m);
	return 0;
}

static void
b64(const char *s, size_t n, char *out)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3, out += 4) {
		unsigned v = (unsigned char)s[i] << 16 |
		    (unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];

		out[0] = t[v >> 18]; out[1] = t[v >> 12 & 63];
		out[2] = t[v >> 6 & 63]; out[3] = t[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned char)s[i] << 16 |
		    (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0);

		out[0] = t[v >> 18]; out[1] = t[v >> 12 & 63];
		out[2] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[3] = '=';
		out += 4;
	}
	*out = '\0';
}

/* The range request body for all keys starting with PREFIX, plus EXTRA. */
static void
range_body(const char *prefix, const char *extra, char *body, size_t len)
{
	char k[400], k64[600], e64[600];
	size_t n = strlen(prefix);

	if (n == 0 || n >= sizeof(k) / 2) {
		fprintf(stderr, "bench_clock: bad prefix\n");
		exit(2);
	}
	b64(prefix, n, k64);
	memcpy(k, prefix, n);
	k[n - 1]++;		/* range_end: the prefix with its last byte + 1 */
	b64(k, n, e64);
	snprintf(body, len, "{\"key\":\"%s\",\"range_end\":\"%s\"%s}", k64, e64,
	    extra);
}

/* The int64 (a JSON string or number) after "KEY": in S, or 0. */
static long long
jint(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (s == NULL || (p = strstr(s, pat)) == NULL)
		return 0;
	p += strlen(pat);
	if (*p == '"')
		p++;
	return atoll(p);
}

static int
equeue(int port, const char *prefix, long long nkeys, long long nwatch,
    int timeout_ms)
{
	int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
	char body[1400], *r, *m;
	long long keys = -1, w = -1;

	range_body(prefix, ",\"count_only\":true", body, sizeof(body));
	for (;;) {
		if (http(port, "/v3/kv/range", body, &r) == 200) {
			keys = jint(r, "count");
			if (keys >= nkeys) {
				free(r);
				r = NULL;
				if (http(port, "/metrics", NULL, &m) == 200)
					w = (long long)metric_sum(m,
					    "etcd_debugging_mvcc_watcher_total");
				free(m);
				if (w >= nwatch)
					break;
			}
		}
		free(r);
		if (now_ns() > end) {
			printf("%lld %lld\n", keys, w);
			fprintf(stderr, "bench_clock: %s: %lld of %lld keys, %lld of"
			    " %lld watchers\n", prefix, keys, nkeys, w, nwatch);
			return 1;
		}
		sleep_ms(keys >= nkeys ? 10 : 5);
	}
	printf("%lld %lld\n", keys, w);
	return 0;
}

static int
erevoke(int port, const char *prefix)
{
	char body[1400], *r, *p;
	int n = 0;

	range_body(prefix, ",\"keys_only\":true", body, sizeof(body));
	if (http(port, "/v3/kv/range", body, &r) != 200) {
		free(r);
		return 1;
	}
	for (p = r; (p = strstr(p, "\"lease\":")) != NULL; p++) {
		char rb[64], *x;
		long long id = jint(p, "lease");

		if (id == 0)
			continue;
		snprintf(rb, sizeof(rb), "{\"ID\":\"%lld\"}", id);
		if (http(port, "/v3/lease/revoke", rb, &x) == 200)
			n++;
		free(x);
	}
	free(r);
	printf("%d\n", n);
	return 0;
}

static int
eorphans(int port)
{
	char *r, *p;
	int n = 0;

	if (http(port, "/v3/lease/leases", "{}", &r) != 200) {
		free(r);
		return 1;
	}
	for (p = r; (p = strstr(p, "\"ID\":")) != NULL; p++) {
		char rb[80], *x;
		long long id = jint(p, "ID");

		snprintf(rb, sizeof(rb), "{\"ID\":\"%lld\",\"keys\":true}", id);
		if (http(port, "/v3/lease/timetolive", rb, &x) == 200 &&
		    strstr(x, "\"keys\"") == NULL) {
			free(x);
			snprintf(rb, sizeof(rb), "{\"ID\":\"%lld\"}", id);
			if (http(port, "/v3/lease/revoke", rb, &x) == 200)
				n++;
		}
		free(x);
	}
	free(r);
	printf("%d\n", n);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_clock now | relay LOG | relay-lock LOG WITNESS |"
	    " relay-check LOG PIDFILE |"
	    " kill SIG PID LOG | alt N OUT CMD... [::: CMD...] |"
	    " await LOG N MS | waitlocks FILE START N MS | switches PID... | kids PID | sweep TAG |"
	    " freeport N | http PORT PATH [BODY] | metric PORT NAME... |"
	    " equeue PORT PREFIX NKEYS NWATCH MS | erevoke PORT PREFIX |"
	    " eorphans PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "relay"))
		return relay(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "relay-lock"))
		return relay_lock(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "relay-check"))
		return relay_check(argv[2], argv[3]);
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "now")) {
		printf("%lld\n", (long long)now_ns());
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "kill"))
		return do_kill(argv[2], argv[3], argv[4]);
	if (argc >= 5 && !strcmp(argv[1], "alt"))
		return alt(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "await"))
		return await(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "waitlocks"))
		return waitlocks(argv[2], atoll(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(argv[1], "switches"))
		return switches(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "kids"))
		return kids(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "sweep"))
		return sweep(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "freeport"))
		return freeport(atoi(argv[2]));
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "http"))
		return do_http(atoi(argv[2]), argv[3], argc == 5 ? argv[4] : NULL);
	if (argc >= 4 && !strcmp(argv[1], "metric"))
		return metric(atoi(argv[2]), argc - 3, argv + 3);
	if (argc == 7 && !strcmp(argv[1], "equeue"))
		return equeue(atoi(argv[2]), argv[3], atoll(argv[4]), atoll(argv[5]),
		    atoi(argv[6]));
	if (argc == 4 && !strcmp(argv[1], "erevoke"))
		return erevoke(atoi(argv[2]), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "eorphans"))
		return eorphans(atoi(argv[2]));
	usage();
	return 2;
}
