/*
 * sig.c - the self-pipe: each caught signal becomes one byte for the event
 * loop, the handler does nothing else.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/base.h"
#include "run/log.h"
#include "run/sig.h"

static int sigpipe_fds[2] = { -1, -1 };

static const int caught[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
    SIGUSR1, SIGUSR2 };
#define NCAUGHT	(int)(sizeof(caught) / sizeof(caught[0]))
static int was_ignored[NCAUGHT];
static int pipe_ignored;
static sigset_t startup_mask;

static void
on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(sigpipe_fds[1], &c, 1);
	errno = e;
}

int
sig_setup(void)
{
	struct sigaction sa, old;
	int i;

	pthread_sigmask(SIG_SETMASK, NULL, &startup_mask);
	if (cloexec_pipe(sigpipe_fds, 1) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	for (i = 0; i < NCAUGHT; i++) {
		sigaction(caught[i], NULL, &old);
		was_ignored[i] = caught[i] != SIGCHLD && old.sa_handler == SIG_IGN;
		if (was_ignored[i])
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigfillset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART | (caught[i] == SIGCHLD ? SA_NOCLDSTOP : 0);
		if (sigaction(caught[i], &sa, NULL) == -1)
			die(EXIT_FAIL, "sigaction: %s", strerror(errno));
	}
	/* A closed reader must not kill us: writes report EPIPE instead. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old);
	pipe_ignored = old.sa_handler == SIG_IGN;
	return sigpipe_fds[0];
}

void
sig_child(void)
{
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < NCAUGHT; i++)
		if (!was_ignored[i])
			sigaction(caught[i], &sa, NULL);
	if (!pipe_ignored)
		sigaction(SIGPIPE, &sa, NULL);
	pthread_sigmask(SIG_SETMASK, &startup_mask, NULL);
}
