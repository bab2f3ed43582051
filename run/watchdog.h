/*
 * watchdog.h - the watchdog: a process of its own that stops the command
 * when the supervisor cannot.
 *
 * It signals the command's process group when the renew deadline passes
 * without a newer one from the supervisor, and SIGKILLs it kill-after
 * later.  Being a process of its own, it keeps that promise when the
 * supervisor cannot: a supervisor stopped by SIGSTOP or a debugger, or one
 * that was killed (its pipe then reaches EOF: the whole group is killed at
 * once, and once it is gone the store's last words free the lease).  The
 * held command's process forks it while we contend (wd_spawn); the gate
 * arms it right before the command starts (wd_arm).
 */
#ifndef WATCHDOG_H
#define WATCHDOG_H

#include <sys/types.h>
#include <stdint.h>

#include "lease.h"

/* What the supervisor tells the watchdog, one struct wd_msg at a time. */
enum wd_kind {
	WD_DEADLINE = 1,	/* (re)arm: stop the job at DEADLINE */
	WD_NOW,			/* the lease is lost: stop the job now */
	WD_DONE,		/* the job has ended: exit quietly */
	WD_BYE			/* a struct lease_farewell follows */
};

struct wd_msg {
	int64_t		 kind;
	int64_t		 deadline;	/* WD_DEADLINE: on now_ns's clock */
};

/* The supervisor's side: its pid (0: none or gone, -1: not known yet),
 * the pipe it writes to, and where its forker tells its pid (or -1). */
struct wd {
	pid_t		 pid;
	int		 fd;
	int		 tell;
};

/*
 * wd_spawn: in the held command's process, right after the fork: fork the
 * watchdog reading pipe P, as a grandchild (its parent exits at once), so
 * that it comes back to the supervisor, a child subreaper, as its child;
 * and so that the supervisor's path to the start pays no fork for it.  Its
 * pid goes to TELL, 0 if it could not be forked (the supervisor then stops
 * the command alone).  PGID: the group it guards; SIG, KILL_NS: the stop
 * signal and the grace before SIGKILL; MAXFD: the highest descriptor to
 * close where close_range is missing.
 */
void	wd_spawn(const int p[2], int tell, pid_t pgid, int sig, int64_t kill_ns,
	    int maxfd);

/*
 * wd_arm: the first deadline, and the store's last words BYE (if any), in
 * one go on FD.  From the worker thread, right before the command starts:
 * the watchdog guards it from its first instruction.
 */
void	wd_arm(int fd, int64_t deadline, const struct lease_farewell *bye);

/*
 * wd_place: a waiter's last words BYE (BYE->n = 0: none), on FD: if the
 * supervisor dies before the command starts, the watchdog sends them once
 * the held process is gone, so that the place it kept in the store's
 * queue does not hold up the waiters behind it.  From the worker thread.
 */
void	wd_place(int fd, const struct lease_farewell *bye);

/* wd_send: one message of KIND (with DEADLINE for WD_DEADLINE). */
void	wd_send(const struct wd *w, enum wd_kind kind, int64_t deadline);

/* wd_pid: the watchdog's pid once its forker has told us; 0 if there is
 * none (any more), -1 while not known yet. */
pid_t	wd_pid(struct wd *w);

#endif
