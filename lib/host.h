/*
 * host.h - this host's processes, as /proc tells them: one parser of
 * /proc/PID/stat, the one rule for "a process group is alive", and who we
 * are (the identity that makes another holder "on this host").
 *
 * Linux only where it reads /proc; elsewhere the calls answer from kill(2)
 * alone, erring on the side of "alive".  host_proc_stat and
 * host_group_alive are async-signal-safe: the watchdog calls them.
 */
#ifndef HOST_H
#define HOST_H

#define HOST_NAMELEN	65	/* a host name as we record it, with the NUL */

struct proc_stat {
	char		 state;		/* R, S, D, Z, T, ... */
	long		 ppid;
	long		 pgrp;
	unsigned long long start;	/* start time, in clock ticks since boot */
};

/* host_proc_stat: the stat line of PID.  0, or -1 if PID does not exist or
 * /proc cannot tell. */
int	host_proc_stat(long pid, struct proc_stat *st);

/*
 * host_group_alive: 1 while a process of group PGID exists that is not a
 * zombie.  kill() counts zombies, and a zombie waits for an init that may
 * be slow to reap it (or never does, in some containers); it can do no
 * harm.  When /proc cannot be read, the group counts as alive.
 */
int	host_group_alive(long pgid);

/* host_pid_alive: is PID, started at START (0: unknown), still there and
 * not a zombie? */
int	host_pid_alive(long pid, unsigned long long start);

/*
 * host_children: our live children other than SKIP, into PIDS (at most
 * MAX): the main thread's /proc children file, or a scan of /proc where
 * the kernel lacks it.  Returns how many, or -1 without /proc.
 */
int	host_children(long skip, long *pids, int max);

/*
 * Who we are.  Same host means same boot and PID namespace: SYS holds the
 * boot id and the pid namespace inode (Linux), "" elsewhere, where nobody
 * counts as on this host.
 */
struct host_self {
	char		 name[HOST_NAMELEN];
	char		 sys[80];
	long		 pid;
	unsigned long long start;
};

void	host_self(struct host_self *me);

#endif
