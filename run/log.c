/*
 * log.c - errors, -v lines and heartbeat lines on stderr.
 */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run/log.h"

static const char progname[] = "leaderrun";

/* A line's head: the name or node id (128 bytes), a time, a marker. */
#define LOG_HEADMAX	256

static struct {
	const char	*name;
	const char	*node_id;
	int		 verbose;
	int		 beats;
	int		 emoji;
} out;

/*
 * emit: HEAD, then FMT with AP, then a newline, on stderr in one write:
 * the command shares our stderr, and a message written in pieces can
 * come out split by its lines (a shell's "Terminated" as the command is
 * stopped).  A message too long for the buffer is cut.
 *
 * The NOLINTs: clang 14's analyser misreads a va_list started by a caller
 * of a function declared with a format attribute.
 */
static void
emit(const char *head, const char *fmt, va_list ap)
{
	char buf[4096];
	size_t n = strlen(head);
	int k;

	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	memcpy(buf, head, n);
	k = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	if (k > 0)
		n += (size_t)k < sizeof(buf) - n - 1 ? (size_t)k : sizeof(buf) - n - 2;
	buf[n++] = '\n';
	fflush(stderr);
	while (write(STDERR_FILENO, buf, n) == -1 && errno == EINTR)
		;
}

static void
vwarnx(const char *fmt, va_list ap)
{
	char head[32];

	snprintf(head, sizeof(head), "%s: ", progname);
	emit(head, fmt, ap);
}

void
warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

_Noreturn void
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	exit(code);
}

/* Emoji only where the locale's character set is UTF-8. */
static int
utf8_locale(void)
{
	int utf8;

	if (setlocale(LC_CTYPE, "") == NULL)
		return 0;
	utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	setlocale(LC_CTYPE, "C");
	return utf8;
}

void
log_setup(const char *name, const char *node_id, int verbose, int beats,
    int no_emoji)
{
	out.name = name;
	out.node_id = node_id;
	out.verbose = verbose;
	out.beats = beats;
	out.emoji = beats && !no_emoji && utf8_locale();
}

void
logv(const char *fmt, ...)
{
	va_list ap;
	char head[LOG_HEADMAX];

	if (!out.verbose)
		return;
	snprintf(head, sizeof(head), "%s: %s: ", progname, out.name);
	va_start(ap, fmt);
	emit(head, fmt, ap);
	va_end(ap);
}

void
beat(const char *emoji, const char *ascii, const char *fmt, ...)
{
	const char *mark = out.emoji ? emoji : ascii;
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;
	char head[LOG_HEADMAX];

	if (!out.beats)
		return;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
	snprintf(head, sizeof(head), "%s %s%s[%s] ", when, mark ? mark : "",
	    mark ? " " : "", out.node_id);
	va_start(ap, fmt);
	emit(head, fmt, ap);
	va_end(ap);
}
