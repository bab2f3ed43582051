/*
 * values.h - option values read and written as people type them:
 * durations, signals, node ids, and bytes made safe to print.
 */
#ifndef VALUES_H
#define VALUES_H

#include <stddef.h>
#include <stdint.h>

/*
 * parse_duration: read S, Go style ("1m30s", "500ms", "1.5s"; a bare
 * number is seconds), into *NS.  Returns NULL, or why S is refused.
 */
const char *parse_duration(const char *s, int64_t *ns);

/*
 * fmt_duration: NS as people write it, exactly: hours, minutes, then
 * seconds with a decimal fraction, zero parts left out (10s, 2m30s, 1h5s,
 * 1m0.5s); below a second the largest of ms, us and ns with a fraction
 * (1.5ms, 500us).  parse_duration reads it back to NS.  0 is "0s"; a
 * negative value gets a "-".
 */
void	fmt_duration(char *buf, size_t len, int64_t ns);

/* fmt_age: MS milliseconds, as fmt_duration does it.  A record's time
 * stamps can be anything: past 292 years, plain milliseconds. */
void	fmt_age(char *buf, size_t len, int64_t ms);

/* parse_signal: a name (TERM, SIGTERM, term) or a number; -1 if unknown. */
int	parse_signal(const char *s);

/* node_id_ok: 1 if S is a node id: 1-128 printable bytes, no spaces. */
int	node_id_ok(const char *s);

/*
 * escape: VAL made safe to print into BUF (LEN bytes): its first MAX bytes,
 * those outside printable ASCII (and the backslash, and the space if
 * NOSPACE) shown as \xNN, "..." if it was longer.  Returns BUF.
 */
const char *escape(const char *val, size_t max, int nospace, char *buf,
	    size_t len);

/* quote: VAL made safe to print: at most 64 bytes, bytes outside
 * printable ASCII shown as \xNN.  Returns a static buffer. */
const char *quote(const char *val);

#endif
