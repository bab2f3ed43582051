/*
 * host.c - this host's processes via /proc: the stat parser, group
 * liveness, our children, and our identity.
 */
#include <sys/stat.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/host.h"

#ifdef __linux__
/* Not declared under _POSIX_C_SOURCE; getdents64 lists /proc without
 * opendir's malloc, which the watchdog must not call. */
long syscall(long, ...);
#endif

/* put_num: the decimal of N (>= 0) at P; returns the end.  No stdio: the
 * callers must stay async-signal-safe. */
static char *
put_num(char *p, long n)
{
	char tmp[24];
	int i = 0;

	do
		tmp[i++] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	while (i > 0)
		*p++ = tmp[--i];
	return p;
}

/* num_field: skip to field K (1: the next) of the blank-separated numbers
 * at *P and read it; -1 if the line ends first. */
static int
num_field(const char **p, int k, unsigned long long *v)
{
	const char *s = *p;

	for (; k > 1; k--) {
		while (*s == ' ')
			s++;
		while (*s && *s != ' ')
			s++;
	}
	while (*s == ' ')
		s++;
	if (*s == '-')		/* only our own fields are read: never negative */
		return -1;
	if (*s < '0' || *s > '9')
		return -1;
	for (*v = 0; *s >= '0' && *s <= '9'; s++)
		*v = *v * 10 + (unsigned long long)(*s - '0');
	*p = s;
	return 0;
}

int
host_proc_stat(long pid, struct proc_stat *st)
{
	char path[48], buf[1024], *end;
	const char *p;
	unsigned long long v;
	ssize_t n, i;
	int fd;

	if (pid <= 0)
		return -1;
	end = put_num(path + 6, pid);
	memcpy(path, "/proc/", 6);
	memcpy(end, "/stat", 6);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: after the last ')'
	 * come " STATE PPID PGRP ..." and, 19 fields on, the start time. */
	for (p = NULL, i = 0; i < n; i++)
		if (buf[i] == ')')
			p = buf + i;
	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return -1;
	st->state = p[2];
	p += 3;
	if (num_field(&p, 1, &v) == -1)
		return -1;
	st->ppid = (long)v;
	if (num_field(&p, 1, &v) == -1)
		return -1;
	st->pgrp = (long)v;
	if (num_field(&p, 17, &v) == -1)
		return -1;
	st->start = v;
	return 0;
}

/* get_num: the decimal at S, 0 if none.  Async-signal-safe, unlike strtol. */
static long
get_num(const char *s)
{
	long n = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (*s - '0');
	return n;
}

/* member: is PID a live member of group PGID? */
static int
member(long pid, long pgid)
{
	struct proc_stat st;

	/* getpgid is one cheap call; the stat file only for members (this
	 * costs ~1 ms less a look on a host of 60 processes). */
	return getpgid((pid_t)pid) == (pid_t)pgid &&
	    host_proc_stat(pid, &st) == 0 && st.pgrp == pgid && st.state != 'Z';
}

int
host_group_alive(long pgid)
{
	if (pgid <= 0)
		return 0;
	if (kill(-(pid_t)pgid, 0) == -1 && errno == ESRCH)
		return 0;
#ifdef __linux__
	{
		char buf[4096];
		long n, off;
		int fd, alive = 0;

		/* Its leader usually answers for the group; only when it is
		 * gone do we look through /proc for the rest. */
		if (member(pgid, pgid))
			return 1;
		if ((fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
			return 1;
		while (!alive && (n = syscall(SYS_getdents64, fd, buf,
		    sizeof(buf))) > 0) {
			for (off = 0; off < n && !alive;) {
				unsigned short reclen;
				const char *name = buf + off + 19;

				memcpy(&reclen, buf + off + 16, sizeof(reclen));
				if (reclen == 0)
					break;
				if (*name >= '1' && *name <= '9' &&
				    member(get_num(name), pgid))
					alive = 1;
				off += reclen;
			}
		}
		close(fd);
		return alive || n < 0;
	}
#else
	return 1;
#endif
}

int
host_pid_alive(long pid, unsigned long long start)
{
	struct proc_stat st;

	if (pid <= 0)
		return 0;
	if (host_proc_stat(pid, &st) == 0)
		return st.state != 'Z' && (start == 0 || st.start == start);
	/* No /proc: a pid that exists counts as alive. */
	return start == 0 && kill((pid_t)pid, 0) == 0;
}

int
host_children(long skip, long *pids, int max)
{
#ifdef __linux__
	struct proc_stat st;
	char path[64];
	long self = (long)getpid();
	int n = 0, fd;
	long n_read, off;
	char buf[4096];

	/* Only the main thread forks, and orphans are handed to the first
	 * live thread of a subreaper: that is, to it. */
	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", self);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		char *p, *end;
		ssize_t got = read(fd, buf, sizeof(buf) - 1);

		close(fd);
		buf[got > 0 ? got : 0] = '\0';
		for (p = buf; n < max; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid != skip && (host_proc_stat(pid, &st) == -1 ||
			    st.state != 'Z'))
				pids[n++] = pid;
		}
		return n;
	}
	/* No children files (CONFIG_PROC_CHILDREN): look at every process. */
	if ((fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	while (n < max && (n_read = syscall(SYS_getdents64, fd, buf,
	    sizeof(buf))) > 0) {
		for (off = 0; off < n_read && n < max;) {
			unsigned short reclen;
			long pid;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			if (reclen == 0)
				break;
			pid = get_num(buf + off + 19);
			if (pid > 0 && pid != skip &&
			    host_proc_stat(pid, &st) == 0 && st.state != 'Z' &&
			    st.ppid == self)
				pids[n++] = pid;
			off += reclen;
		}
	}
	close(fd);
	return n;
#else
	(void)skip;
	(void)pids;
	(void)max;
	return -1;
#endif
}

/* This host's identity: boot id and PID namespace, "" when unknown. */
static void
self_sys(char *buf, size_t len)
{
	char boot[64];
	struct stat st;
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, boot, sizeof(boot) - 1);
	close(fd);
	if (n <= 0)
		return;
	boot[n] = '\0';
	boot[strcspn(boot, "\n")] = '\0';
	if (stat("/proc/self/ns/pid", &st) == -1)
		return;
	snprintf(buf, len, "%s/%llu", boot, (unsigned long long)st.st_ino);
}

void
host_self(struct host_self *me)
{
	struct proc_stat st;
	char name[256];

	memset(me, 0, sizeof(*me));
	if (gethostname(name, sizeof(name)) == -1)
		strcpy(name, "localhost");
	name[sizeof(me->name) - 1] = '\0';
	memcpy(me->name, name, sizeof(me->name));
	self_sys(me->sys, sizeof(me->sys));
	me->pid = (long)getpid();
	if (host_proc_stat(me->pid, &st) == 0)
		me->start = st.start;
}
