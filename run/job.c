/*
 * job.c - the command: resolve it, fork it held, let it go, signal its
 * process group and its reparented descendants, and read its end.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base.h"
#include "lib/host.h"
#include "run/job.h"
#include "run/log.h"
#include "run/sig.h"
#include "run/watchdog.h"

int
resolve(const char *cmd, char *path)
{
	const char *dirs, *p;
	struct stat st;
	int denied = 0;

	if (*cmd == '\0') {
		errno = ENOENT;
		return EXIT_ENOENT;
	}
	if (strchr(cmd, '/')) {
		if (strlen(cmd) >= PATH_MAX) {
			errno = ENAMETOOLONG;
			return EXIT_CANNOT_INVOKE;
		}
		strcpy(path, cmd);
		if (stat(path, &st) == -1)
			return errno == ENOENT || errno == ENOTDIR ?
			    EXIT_ENOENT : EXIT_CANNOT_INVOKE;
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return EXIT_CANNOT_INVOKE;
		}
		if (access(path, X_OK) == -1)
			return EXIT_CANNOT_INVOKE;
		return 0;
	}
	if ((dirs = getenv("PATH")) == NULL)
		dirs = "/usr/local/bin:/bin:/usr/bin";
	for (p = dirs;; p++) {
		const char *q = strchr(p, ':');
		size_t n = q ? (size_t)(q - p) : strlen(p);

		if (n + strlen(cmd) + 2 < PATH_MAX) {
			if (n == 0)
				snprintf(path, PATH_MAX, "%s", cmd);
			else
				snprintf(path, PATH_MAX, "%.*s/%s", (int)n, p, cmd);
			if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
				if (access(path, X_OK) == 0)
					return 0;
				denied = 1;
			}
		}
		if (q == NULL)
			break;
		p = q;
	}
	errno = denied ? EACCES : ENOENT;
	return denied ? EXIT_CANNOT_INVOKE : EXIT_ENOENT;
}

/* max_fd: our highest descriptor, for a child that may not list them. */
static int
max_fd(void)
{
	int maxfd = 63;
#ifndef SYS_close_range
	DIR *d;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		struct dirent *e;

		maxfd = 0;
		while ((e = readdir(d)) != NULL)
			if (atoi(e->d_name) > maxfd)
				maxfd = atoi(e->d_name);
		closedir(d);
		return maxfd;
	}
#endif
	if (sysconf(_SC_OPEN_MAX) > 0)
		maxfd = (int)sysconf(_SC_OPEN_MAX) - 1;
	return maxfd;
}

void
spawn(struct job *j, const char *path, char **argv, int fg, const int wdp[2],
    const int tell[2], int sig, int64_t kill_ns)
{
	sigset_t all, old;
	int go[2], ee[2], maxfd = max_fd();
	pid_t parent = getpid();

	if (cloexec_pipe(go, 0) == -1 || cloexec_pipe(ee, 0) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	j->pid = fork();
	if (j->pid == -1)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (j->pid == 0) {
		uint64_t go_msg[2];	/* term, slot */
		char num[32];
		int e;

		wd_spawn(wdp, tell[1], getpid(), sig, kill_ns, maxfd);
		setpgid(0, 0);
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_FAIL);
#else
		(void)parent;
#endif
		close(go[1]);
		close(ee[0]);
		if (read(go[0], go_msg, sizeof(go_msg)) != (ssize_t)sizeof(go_msg))
			_exit(EXIT_FAIL);	/* leaderrun gave up */
		snprintf(num, sizeof(num), "%llu", (unsigned long long)go_msg[0]);
		if (setenv("LEADERRUN_TERM", num, 1) == -1)
			_exit(EXIT_FAIL);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)go_msg[1]);
		if (setenv("LEADERRUN_SLOT", num, 1) == -1)
			_exit(EXIT_FAIL);
		/* Signals are blocked, so taking the terminal cannot stop us. */
		if (fg)
			tcsetpgrp(STDIN_FILENO, getpid());
		sig_child();
		execv(path, argv);
		e = errno;
		(void)!write(ee[1], &e, sizeof(e));
		_exit(e == ENOENT ? EXIT_ENOENT : EXIT_CANNOT_INVOKE);
	}
	setpgid(j->pid, j->pid);	/* also here: no race with our kill(-pgid) */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(go[0]);
	close(ee[1]);
	close(wdp[0]);
	close(tell[1]);
	j->go = go[1];
	j->execerr = ee[0];
	j->fg = fg;
}

int
signal_job(const struct job *j, pid_t skip, int sig)
{
	int found = 0;

	if (j->pid > 0 && kill(-j->pid, sig) == 0)
		found = 1;
#ifdef __linux__
	{
		long pids[256];
		int i, n = host_children((long)skip, pids, 256);

		for (i = 0; i < n; i++) {
			found = 1;
			if (sig)
				kill((pid_t)pids[i], sig);
		}
	}
#else
	(void)skip;
#endif
	return found;
}

int
exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	warnx("command ended with unexpected wait status %#x", status);
	return EXIT_FAIL;
}

void
check_exec(struct job *j, const char *cmd)
{
	int e;
	ssize_t n = read(j->execerr, &e, sizeof(e));

	if (n == (ssize_t)sizeof(e))
		warnx("failed to run command '%s': %s", cmd, strerror(e));
	close(j->execerr);
	j->execerr = -1;
}
