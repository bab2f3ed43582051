/*
 * log.c - errors, -v lines and heartbeat lines on stderr.
 */
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run/log.h"

static const char progname[] = "leaderrun";

static struct {
	const char	*name;
	const char	*node_id;
	int		 verbose;
	int		 beats;
	int		 emoji;
} out;

/* The NOLINTs: clang 14's analyser misreads a va_list started by a caller
 * of a function declared with a format attribute. */
static void
vwarnx(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	fputc('\n', stderr);
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

	if (!out.verbose)
		return;
	fprintf(stderr, "%s: %s: ", progname, out.name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	fputc('\n', stderr);
}

void
beat(const char *emoji, const char *ascii, const char *fmt, ...)
{
	const char *mark = out.emoji ? emoji : ascii;
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;

	if (!out.beats)
		return;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(stderr, "%s %s%s[%s] ", when, mark ? mark : "", mark ? " " : "",
	    out.node_id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);	// NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	fputc('\n', stderr);
}
