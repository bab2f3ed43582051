/*
 * sig.h - signals as bytes on a self-pipe, for the event loop; and the
 * dispositions the command starts with.
 */
#ifndef SIG_H
#define SIG_H

/*
 * sig_setup: catch CHLD, INT, TERM, HUP, QUIT, USR1 and USR2 (those that
 * were not ignored when we started: they stay ignored, also for the
 * command, as a shell starts background jobs with INT and QUIT ignored),
 * and ignore PIPE.  Returns the self-pipe's read end: each caught signal
 * is one byte there.  Exits 125 on failure.
 */
int	sig_setup(void);

/*
 * sig_child: in a forked child before exec, with every signal blocked:
 * the dispositions and the signal mask we started with.
 */
void	sig_child(void);

#endif
