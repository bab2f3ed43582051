/*
 * log.h - what leaderrun says on stderr, and the exit codes it ends with.
 *
 * Errors read "leaderrun: what: why".  -v adds a line at each change of
 * leadership ("leaderrun: NAME: elected ..."); --heartbeat adds timestamped
 * status and event lines, with an emoji marker in a UTF-8 locale.  Nothing
 * here writes to stdout: in run mode it belongs to the command.
 */
#ifndef LOG_H
#define LOG_H

#include <stdint.h>

enum {
	EXIT_NOT_ELECTED = 75,	/* -n or -w: another instance leads */
	EXIT_LOST = 124,	/* leadership lost, command stopped */
	EXIT_FAIL = 125,	/* leaderrun itself failed */
	EXIT_CANNOT_INVOKE = 126,
	EXIT_ENOENT = 127
};

/* warnx: "leaderrun: " and the message, on stderr. */
void	warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* die: warnx, then exit with CODE. */
_Noreturn void die(int code, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));

/*
 * log_setup: for logv and beat: the lease NAME and our NODE_ID, whether -v
 * (VERBOSE) and --heartbeat (BEATS) are on, and whether markers may be
 * emoji (they are, unless NO_EMOJI, in a UTF-8 locale).
 */
void	log_setup(const char *name, const char *node_id, int verbose,
	    int beats, int no_emoji);

/* logv: with -v, "leaderrun: NAME: " and the message. */
void	logv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * beat: with --heartbeat, "2024/01/10 14:30:27 MARK [node] text".  MARK is
 * EMOJI in a UTF-8 locale, else ASCII (NULL: no marker).  Wall time: for
 * people, never for deadlines.
 */
void	beat(const char *emoji, const char *ascii, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
