/*
 * job.h - the command: found before we contend, forked and held before
 * exec until we lead, signalled as a process group, and its exit status.
 */
#ifndef JOB_H
#define JOB_H

#include <sys/types.h>
#include <stdint.h>

struct job {
	pid_t		 pid;		/* 0: none yet */
	int		 go;		/* write end: lets the child exec, -1
					 * once it has started or never will */
	int		 execerr;	/* read end: errno if exec failed */
	int		 fg;		/* we gave it the terminal */
	int		 status;
	int		 exited;
	int		 early;		/* ended before its start was reported */
};

/*
 * resolve: find COMMAND like execvp would, into PATH (PATH_MAX bytes),
 * before we compete, so a typo fails at once and never takes the lease.
 * Returns 0, or EXIT_ENOENT / EXIT_CANNOT_INVOKE with errno set.
 */
int	resolve(const char *cmd, char *path);

/*
 * spawn: fork the command before we contend, held before exec until its
 * term comes on J->go: the lease is acquired naming its process group, so
 * the one write that elects us also records the job, and the command
 * starts the moment we lead.  Its process first forks the watchdog on WDP
 * (wd_spawn; its pid comes on TELL) with SIG and KILL_NS.  FG: give it the
 * terminal.  Call it before any thread exists: the child uses all of libc
 * (setenv) before exec.  Exits 125 on failure.
 */
void	spawn(struct job *j, const char *path, char **argv, int fg,
	    const int wdp[2], const int tell[2], int sig, int64_t kill_ns);

/*
 * signal_job: send SIG (0: just look) to the job's process group and, on
 * Linux, to our children other than SKIP (the watchdog): the job's orphans,
 * reparented to us as their subreaper, including those that left the group.
 * Returns 1 if any of them exists.
 */
int	signal_job(const struct job *j, pid_t skip, int sig);

/* exit_code: the exit status we give for wait status STATUS (128+N for
 * signal N). */
int	exit_code(int status);

/* check_exec: the command's exec failed if its error pipe says so: tell
 * why (CMD is its name).  Closes the pipe. */
void	check_exec(struct job *j, const char *cmd);

#endif
