/*
 * base.c - the one-line error, the clocks, wipe, a close-on-exec pipe and
 * decimal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lib/base.h"

void
seterr(char *err, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	/* clang 14's analyser misreads ap here: started on the line above. */
	vsnprintf(err, ERRLEN, fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	errno = e;
}

int64_t
now_ns(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

int
cloexec_pipe(int fds[2], int nonblock)
{
	int i;

	if (pipe(fds) == -1)
		return -1;
	for (i = 0; i < 2; i++)
		if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) == -1 ||
		    (nonblock && fcntl(fds[i], F_SETFL, O_NONBLOCK) == -1))
			return -1;
	return 0;
}

int64_t
decimal(const char *v, int64_t max)
{
	int64_t n = 0;

	if (*v == '\0')
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > (max - (*v - '0')) / 10)
			return -1;
		n = n * 10 + (*v - '0');
	}
	return n;
}
