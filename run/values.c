/*
 * values.c - durations, signals and node ids as people write them, and
 * bytes made safe to print.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base.h"
#include "run/values.h"

const char *
parse_duration(const char *s, int64_t *ns)
{
	static const struct { const char *u; int64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 },
		{ "ms", NS_PER_MS }, { "s", NS_PER_S }, { "m", 60 * NS_PER_S },
		{ "h", 3600 * NS_PER_S },
	};
	int64_t total = 0;
	int bare = 1;

	if (*s == '-')
		return "must be positive";
	if (*s == '\0')
		return "empty";
	while (*s) {
		int64_t ip = 0, fp = 0, fscale = 1, unit = 0;
		size_t ulen = 0, i;
		int digits = 0;

		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (ip > (INT64_MAX - 9) / 10)
				return "too large";
			ip = ip * 10 + (*s - '0');
		}
		if (*s == '.') {
			for (s++; isdigit((unsigned char)*s); s++, digits++)
				if (fscale < 1000000000LL) {
					fp = fp * 10 + (*s - '0');
					fscale *= 10;
				}
		}
		if (digits == 0)
			return "not a duration";
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].u);
			if (!strncmp(s, units[i].u, n) && n > ulen) {
				unit = units[i].ns;
				ulen = n;
			}
		}
		if (ulen == 0) {
			if (*s || !bare)
				return "unknown unit (use ns, us, ms, s, m or h)";
			unit = NS_PER_S;	/* a bare number is seconds */
		}
		bare = 0;
		s += ulen;
		if (ip > INT64_MAX / unit)
			return "too large";
		ip *= unit;
		/* fp * unit / fscale without overflow: fp < fscale <= 1e9. */
		fp = fp * (unit / fscale) + fp * (unit % fscale) / fscale;
		if (ip > INT64_MAX - fp || total > INT64_MAX - ip - fp)
			return "too large";
		total += ip + fp;
	}
	if (total == 0)
		return "must be positive";
	if (total < NS_PER_MS)
		return "must be at least 1ms";
	*ns = total;
	return NULL;
}


static const struct signame {
	const char *name;
	int sig;
} signames[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "SYS", SIGSYS },
};

int
parse_signal(const char *s)
{
	char up[16];
	size_t i;

	if (isdigit((unsigned char)*s)) {
		char *end;
		long n;
		sigset_t set;

		errno = 0;
		n = strtol(s, &end, 10);
		sigemptyset(&set);
		if (errno || *end || n <= 0 || n > 1024 || sigaddset(&set, (int)n) == -1)
			return -1;
		return (int)n;
	}
	if (strlen(s) >= sizeof(up))
		return -1;
	for (i = 0; s[i]; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = '\0';
	s = strncmp(up, "SIG", 3) ? up : up + 3;
	for (i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
		if (!strcmp(s, signames[i].name))
			return signames[i].sig;
	return -1;
}


int
node_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 127)
			return 0;
	return 1;
}


const char *
escape(const char *val, size_t max, int nospace, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < max && val[i] && o + 8 < len; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c >= ' ' && c < 127 && c != '\\' && !(nospace && c == ' '))
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	if (val[i])
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o] = '\0';
	return buf;
}


const char *
quote(const char *val)
{
	static char buf[64 * 4 + 8];

	return escape(val, 64, 0, buf, sizeof(buf));
}


/* put_dec: append V / UNIT (a power of ten) and the unit name U to BUF
 * (LEN bytes) at *O, the fraction without trailing zeros. */
static void
put_dec(char *buf, size_t len, size_t *o, uint64_t v, uint64_t unit,
    const char *u)
{
	uint64_t f = v % unit, scale;
	int w = 0;

	for (scale = unit; scale > 1; scale /= 10)
		w++;
	for (; f && f % 10 == 0; f /= 10)
		w--;
	if (f)
		*o += (size_t)snprintf(buf + *o, len - *o, "%llu.%0*llu%s",
		    (unsigned long long)(v / unit), w, (unsigned long long)f, u);
	else
		*o += (size_t)snprintf(buf + *o, len - *o, "%llu%s",
		    (unsigned long long)(v / unit), u);
}


void
fmt_duration(char *buf, size_t len, int64_t ns)
{
	char tmp[48];	/* "-2562047h47m16.854775807s" at most */
	size_t o = 0;
	uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	uint64_t min = 60 * NS_PER_S;

	if (ns < 0)
		tmp[o++] = '-';
	if (u < 1000)
		put_dec(tmp, sizeof(tmp), &o, u, 1, u ? "ns" : "s");
	else if (u < NS_PER_MS)
		put_dec(tmp, sizeof(tmp), &o, u, 1000, "us");
	else if (u < NS_PER_S)
		put_dec(tmp, sizeof(tmp), &o, u, NS_PER_MS, "ms");
	else {
		if (u >= 60 * min)
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%lluh",
			    (unsigned long long)(u / (60 * min)));
		if (u / min % 60)
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%llum",
			    (unsigned long long)(u / min % 60));
		if (u % min)
			put_dec(tmp, sizeof(tmp), &o, u % min, NS_PER_S, "s");
	}
	snprintf(buf, len, "%s", tmp);
}


void
fmt_age(char *buf, size_t len, int64_t ms)
{
	if (ms > INT64_MAX / NS_PER_MS || ms < -(INT64_MAX / NS_PER_MS))
		snprintf(buf, len, "%lldms", (long long)ms);
	else
		fmt_duration(buf, len, ms * NS_PER_MS);
}
