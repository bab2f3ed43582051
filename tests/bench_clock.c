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
 *	rounds); for every run append "<index> <wall ns> <status>" to OUT.
 *	Wall time: fork to waitpid return.
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
 */
#define _GNU_SOURCE
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

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

/* State letter of PID from /proc, or 0 when it does not exist. */
static char
proc_state(long pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 0;
	return p[2];
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
			pid_t p;

			t0 = now_ns();
			if ((p = fork()) == -1)
				fail("fork");
			if (p == 0) {
				execvp(cmds[k][0], cmds[k]);
				_exit(127);
			}
			while (waitpid(p, &st, 0) == -1)
				if (errno != EINTR)
					fail("waitpid");
			t1 = now_ns();
			if (r >= 0)
				fprintf(out, "%d %lld %d\n", k, (long long)(t1 - t0),
				    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
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

static void
usage(void)
{
	fprintf(stderr, "usage: bench_clock now | relay LOG | relay-check LOG PIDFILE |"
	    " kill SIG PID LOG | alt N OUT CMD... [::: CMD...] |"
	    " await LOG N MS | waitlocks FILE START N MS | switches PID... | kids PID | sweep TAG\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "relay"))
		return relay(argv[2]);
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
	usage();
	return 2;
}
