/*
 * base.h - what every module of leaderrun may use: the one-line error, the
 * clocks, and three small helpers.  It includes nothing of the project.
 */
#ifndef BASE_H
#define BASE_H

#include <stddef.h>
#include <stdint.h>

/* Room for a one-line reason ("connect 10.0.0.1:2379: timed out"). */
#define ERRLEN		256

#define NS_PER_MS	1000000LL
#define NS_PER_S	1000000000LL
#define NEVER		INT64_MAX	/* a deadline that is not set */

/* seterr: format a one-line reason into ERR (ERRLEN bytes), keeping errno. */
void	seterr(char *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * now_ns: the clock every deadline uses: CLOCK_BOOTTIME on Linux, which
 * counts a suspend (a leader that slept through its lease must know), else
 * CLOCK_MONOTONIC.  Async-signal-safe.
 */
int64_t	now_ns(void);

/* wall_ms: the wall clock in milliseconds, for display only. */
int64_t	wall_ms(void);

/* wipe: clear N bytes at P where the compiler cannot drop the stores. */
void	wipe(void *p, size_t n);

/* cloexec_pipe: pipe(2) with both ends close-on-exec, and non-blocking if
 * NONBLOCK.  0, or -1 with errno. */
int	cloexec_pipe(int fds[2], int nonblock);

/* decimal: V as a decimal of digits only, at most MAX; -1 if it is not one. */
int64_t	decimal(const char *v, int64_t max);

#endif
