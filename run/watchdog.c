/*
 * watchdog.c - the watchdog process, and the messages the supervisor
 * sends it.  Everything the watchdog itself runs is async-signal-safe, as
 * in any fork of the held command's process.
 */
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lease.h"
#include "lib/base.h"
#include "lib/host.h"
#include "run/log.h"
#include "run/watchdog.h"
#include "wire/net.h"

#ifdef __linux__
/* Not declared under _POSIX_C_SOURCE. */
long syscall(long, ...);
#endif

/* A waiter's last words: one write, whole in the pipe. */
struct wd_words {
	struct wd_msg	 bye;
	struct lease_farewell farewell;
};
#ifdef PIPE_BUF
_Static_assert(sizeof(struct wd_words) <= PIPE_BUF, "words exceed PIPE_BUF");
#endif
_Static_assert(offsetof(struct wd_words, farewell) == sizeof(struct wd_msg),
    "padded words");

/* The arming message stays whole in the pipe: one write. */
struct wd_arming {
	struct wd_msg	 bye;
	struct lease_farewell farewell;
	struct wd_msg	 deadline;
};
#ifdef PIPE_BUF
_Static_assert(sizeof(struct wd_arming) <= PIPE_BUF, "arming exceeds PIPE_BUF");
#endif
/* The watchdog reads it as three messages: no padding between them. */
_Static_assert(offsetof(struct wd_arming, deadline) ==
    sizeof(struct wd_msg) + sizeof(struct lease_farewell), "padded arming");

/*
 * farewell: the supervisor is dead and the job got SIGKILL.  Once its whole
 * group is gone (never before: a store must not free the lease while the
 * job lives), send the store's last words so the next leader starts now,
 * not a TTL later.  Async-signal-safe, like all of the watchdog.
 */
static void
farewell(const struct lease_farewell *bye, pid_t pgid, int64_t kill_ns)
{
	int64_t end = now_ns() + kill_ns;
	int i;

	if (bye->n == 0)
		return;
	while (host_group_alive(pgid)) {
		struct timespec ts = { 0, 200000 };

		if (now_ns() >= end)
			return;		/* still there: the TTL will do */
		nanosleep(&ts, NULL);
	}
	end = now_ns() + NS_PER_S;
	for (i = 0; i < bye->n; i++)
		if (net_oneshot(&bye->addr[i], bye->addrlen[i], bye->req,
		    bye->len, bye->eof, end) == 0)
			return;
}

_Noreturn static void
watchdog_main(int fd, pid_t pgid, int sig, int64_t kill_ns)
{
	struct lease_farewell bye;
	struct wd_msg m;
	int64_t deadline = NEVER;
	int stopping = 0, armed = 0;

	memset(&bye, 0, sizeof(bye));
	for (;;) {
		struct pollfd p;
		int64_t now = now_ns(), ms;
		ssize_t n;

		p.fd = fd;
		p.events = POLLIN;
		ms = deadline > now ? (deadline - now + NS_PER_MS - 1) / NS_PER_MS : 0;
		if (poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms) > 0) {
			while ((n = read(fd, &m, sizeof(m))) == (ssize_t)sizeof(m)) {
				if (m.kind == WD_DONE)
					_exit(0);
				if (m.kind == WD_BYE) {
					if (read(fd, &bye, sizeof(bye)) !=
					    (ssize_t)sizeof(bye))
						memset(&bye, 0, sizeof(bye));
					continue;
				}
				armed = 1;
				if (!stopping)	/* WD_NOW: a deadline passed */
					deadline = m.kind == WD_NOW ? 0 : m.deadline;
			}
			if (n == 0 && !armed && bye.n == 0)
				_exit(0);	/* the command never started */
			if (n == 0) {
				/* The supervisor died: nobody else will stop the job
				 * (or end the held process of a waiter, whose place
				 * the farewell gives up). */
				kill(-pgid, SIGKILL);
				farewell(&bye, pgid, kill_ns);
				_exit(0);
			}
		}
		if (now_ns() < deadline)
			continue;
		if (stopping) {
			kill(-pgid, SIGKILL);
			_exit(0);
		}
		stopping = 1;
		kill(-pgid, sig);
		kill(-pgid, SIGCONT);
		deadline = now_ns() + kill_ns;
	}
}

void
wd_spawn(const int p[2], int tell, pid_t pgid, int sig, int64_t kill_ns,
    int maxfd)
{
	pid_t w1, w2;
	int fd;

	if ((w1 = fork()) == 0) {
		if ((w2 = fork()) == 0) {
			/* Out of the job's group (which it kills) and of
			 * the terminal's; holding nothing but its pipe. */
			setsid();
#ifdef SYS_close_range
			/* One call (Linux 5.9); an older kernel says ENOSYS. */
			if (p[0] > 0 &&
			    syscall(SYS_close_range, 0, p[0] - 1, 0) == 0 &&
			    syscall(SYS_close_range, p[0] + 1, ~0U, 0) == 0)
				maxfd = -1;
#endif
			for (fd = 0; fd <= maxfd; fd++)
				if (fd != p[0])
					close(fd);
			watchdog_main(p[0], pgid, sig, kill_ns);
		}
		if (w2 == -1)
			w2 = 0;
		(void)!write(tell, &w2, sizeof(w2));
		_exit(0);
	}
	if (w1 > 0)
		while (waitpid(w1, NULL, 0) == -1 && errno == EINTR)
			;
	close(tell);
	close(p[0]);
	close(p[1]);
}

void
wd_arm(int fd, int64_t deadline, const struct lease_farewell *bye)
{
	struct wd_arming a;

	memset(&a, 0, sizeof(a));
	a.deadline.kind = WD_DEADLINE;
	a.deadline.deadline = deadline;
	if (bye->n > 0) {
		a.bye.kind = WD_BYE;
		a.farewell = *bye;
		(void)!write(fd, &a, sizeof(a));
	} else
		(void)!write(fd, &a.deadline, sizeof(a.deadline));
}

void
wd_place(int fd, const struct lease_farewell *bye)
{
	struct wd_words m;

	memset(&m, 0, sizeof(m));
	m.bye.kind = WD_BYE;
	m.farewell = *bye;
	(void)!write(fd, &m, sizeof(m));
}

void
wd_send(const struct wd *w, enum wd_kind kind, int64_t deadline)
{
	struct wd_msg m;

	m.kind = kind;
	m.deadline = deadline;
	(void)!write(w->fd, &m, sizeof(m));
}

pid_t
wd_pid(struct wd *w)
{
	pid_t p;
	ssize_t n;

	if (w->tell != -1 && (n = read(w->tell, &p, sizeof(p))) != -1) {
		w->pid = n == (ssize_t)sizeof(p) ? p : 0;
		close(w->tell);
		w->tell = -1;
		if (w->pid == 0)
			warnx("watchdog: fork failed; leaderrun alone will stop "
			    "the command");
	}
	return w->pid;
}
