/*
 * leaderrun - run a command on one elected instance only.
 *
 * Several leaderrun processes, on one host or on hosts sharing a lease
 * store, compete for a named lease.  The winner forks and execs COMMAND and
 * renews the lease while it runs; if renewal fails or the lease is lost, the
 * command's process group gets the stop signal, then SIGKILL, before any
 * other instance can take over.  When the command exits the lease is
 * released and a waiting instance takes over at once.
 *
 * One thread runs the event loop: signals arrive through a self-pipe, every
 * deadline sits on the monotonic clock, and lease I/O, which can hang, runs
 * on a worker thread that reports back through a pipe.  The loop never waits
 * on lease I/O, so a stalled store cannot delay stopping the command.
 *
 * Exit status: the command's own, or 128+N if signal N killed it; or
 *	75	not elected (-n, -w), unless -E says otherwise
 *	124	leadership lost: the command was stopped, or never started
 *	125	leaderrun itself failed
 *	126	the command could not be executed
 *	127	the command was not found
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lease.h"
#include "lib/base.h"
#include "lib/host.h"
#include "wire/json.h"
#include "wire/net.h"

#define VERSION	"0.1.0"

enum {
	EXIT_NOT_ELECTED = 75,	/* -n or -w: another instance leads */
	EXIT_LOST = 124,	/* leadership lost, command stopped */
	EXIT_FAIL = 125,	/* leaderrun itself failed */
	EXIT_CANNOT_INVOKE = 126,
	EXIT_ENOENT = 127
};

/* How often to look for a command's stragglers that are not our children. */
#define STRAGGLER_POLL_NS (10 * NS_PER_MS)

static const char *progname = "leaderrun";

static void
warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

_Noreturn static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ---- options ---------------------------------------------------------- */

struct opts {
	const char	*name;
	const char	*dir;		/* -d DIR, the short form of -S file:DIR */
	const char	*store;		/* -S URL, or LEADERRUN_STORE */
	const char	*password_file;	/* --store-password-file FILE */
	const char	*password;	/* the store user's, NULL if none */
	const char	*node_id;
	int64_t		 lease_ns, retry_ns, deadline_ns, kill_ns, wait_ns;
	int64_t		 min_hold_ns;	/* 0: release when the command ends */
	const char	*metrics;	/* --metrics FILE, or NULL */
	int		 sig;
	int		 nonblock;
	int		 conflict_code;
	int		 verbose;
	int		 status;
	int		 json;		/* --status/--list as JSON */
	int		 list;		/* --list */
	int		 named;		/* -l was given */
	int64_t		 heartbeat_ns;	/* 0: no heartbeat lines */
	int		 no_emoji;
	char	       **argv;
};

static const char usage_line[] =
    "usage: leaderrun [-nv] [-d dir | -S url] [-E code] [-i id] [-k dur] "
    "[-l name]\n"
    "                 [-r dur] [-s sig] [-t dur] [-w dur] [--metrics file]\n"
    "                 [--min-hold dur] [--renew-deadline dur] [--] command [arg ...]\n"
    "       leaderrun --status [--json] [-d dir | -S url] [-l name]\n"
    "       leaderrun --list [--json] [-d dir | -S url]\n";

_Noreturn static void
try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	exit(EXIT_FAIL);
}


_Noreturn static void
help(void)
{
	fputs(usage_line, stdout);
	fputs("\n"
"Run COMMAND only on the instance that holds the lease NAME; renew the lease\n"
"while it runs, and stop it if the lease cannot be renewed.\n"
"\n"
"Options:\n"
"  -l, --lock-name NAME       lease name (default: leader-election-demo)\n"
"  -d, --lock-dir DIR         directory of the lease files (default: /tmp);\n"
"                             short for -S file:DIR\n"
"  -S, --store URL            the lease store: file:DIR,\n"
"                             etcd://[USER@]HOST:PORT[,HOST:PORT...][/PREFIX],\n"
"                             redis://[USER@]HOST:PORT[/DB] or\n"
"                             redis+unix://[USER@]/PATH[?db=N]\n"
"                             (default: $LEADERRUN_STORE, else file:/tmp)\n"
"      --store-password-file FILE\n"
"                             the store user's password: the first line of\n"
"                             FILE, which only its owner may access\n"
"                             (default: $LEADERRUN_STORE_PASSWORD)\n"
"  -i, --node-id ID           this contender's identity (default: HOST:PID)\n"
"  -t, --lease-duration DUR   how long a lease lasts unrenewed (default: 10s)\n"
"  -r, --retry-period DUR     renew / re-check period (default: lease/5)\n"
"      --renew-deadline DUR   step down if not renewed within DUR\n"
"                             (default: lease/2)\n"
"  -k, --kill-after DUR       SIGKILL this long after the stop signal\n"
"                             (default: lease*3/10)\n"
"  -s, --signal SIG           stop signal on lost leadership (default: TERM)\n"
"  -n, --nonblock             fail at once if another instance leads\n"
"  -w, --timeout DUR          give up waiting for leadership after DUR\n"
"  -E, --conflict-exit-code N exit code when not elected (default: 75)\n"
"      --min-hold DUR         keep the lease until DUR after the election,\n"
"                             also when the command ends sooner\n"
"      --metrics FILE         keep Prometheus metrics in FILE (for\n"
"                             node_exporter's textfile collector)\n"
"  -v, --verbose              report leadership changes on stderr\n"
"      --heartbeat[=DUR]      print a status line every DUR (default: 1s)\n"
"                             and an event line at each change, on stderr;\n"
"                             DUR needs the =, as in --heartbeat=2s\n"
"      --no-emoji             plain ASCII markers in heartbeat lines\n"
"      --status               show who holds the lease, then exit\n"
"      --list                 show every lease of the store, then exit\n"
"      --json                 with --status: one JSON object on stdout;\n"
"                             with --list: an array of them\n"
"  -h, --help                 show this help, then exit\n"
"  -V, --version              show the version, then exit\n"
"\n"
"DUR is a number with a unit (ns, us, ms, s, m, h), several may follow each\n"
"other (1m30s); a bare number is seconds.  Required: lease-duration >\n"
"renew-deadline > retry-period, and renew-deadline + kill-after <\n"
"lease-duration.\n"
"\n"
"Long options take two dashes: --node-id=ID, not -node-id=ID.\n"
"\n"
"The command gets LEADERRUN_NAME, LEADERRUN_NODE_ID and LEADERRUN_TERM.\n"
"\n"
"Exit status:\n"
"  the command's status, or 128+N if it was killed by signal N\n"
"   75  not elected with -n or -w (see -E)\n"
"  124  leadership lost; the command was stopped, or never started\n"
"  125  leaderrun itself failed\n"
"  126  the command could not be executed\n"
"  127  the command was not found\n"
"  --status: 0 if the lease is held, 1 if it is free or released\n"
"\n"
"Full documentation: man leaderrun\n", stdout);
	if (fflush(stdout) == EOF || ferror(stdout))
		exit(EXIT_FAIL);
	exit(0);
}

/*
 * parse_duration: read S, Go style ("1m30s", "500ms", "1.5s"; a bare
 * number is seconds), into *NS.  Returns NULL, or why S is refused.
 */
static const char *
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

/* parse_signal: a name (TERM, SIGTERM, term) or a number; -1 if unknown. */
static int
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

static int
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

/*
 * escape: VAL made safe to print into BUF (LEN bytes): its first MAX bytes,
 * those outside printable ASCII (and the backslash, and the space if
 * NOSPACE) shown as \xNN, "..." if it was longer.  Returns BUF.
 */
static const char *
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

/* quote: VAL made safe to print: at most 64 bytes, bytes outside
 * printable ASCII shown as \xNN.  Returns a static buffer. */
static const char *
quote(const char *val)
{
	static char buf[64 * 4 + 8];

	return escape(val, 64, 0, buf, sizeof(buf));
}

_Noreturn static void
bad_value(const char *opt, const char *val, const char *why)
{
	warnx("invalid %s '%s': %s", opt, quote(val), why);
	try_help();
}

static int64_t
duration_arg(const char *opt, const char *val)
{
	int64_t ns = 0;
	const char *why = parse_duration(val, &ns);

	if (why)
		bad_value(opt, val, why);
	return ns;
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

/*
 * fmt_duration: NS as people write it, exactly: hours, minutes, then
 * seconds with a decimal fraction, zero parts left out (10s, 2m30s, 1h5s,
 * 1m0.5s); below a second the largest of ms, us and ns with a fraction
 * (1.5ms, 500us).  parse_duration reads it back to NS.  0 is "0s"; a
 * negative value gets a "-".
 */
static void
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

/* long_option: the option of LO that "--WORD" (up to an "=") names, as
 * getopt_long finds it: the exact name, or the one name it begins. */
static const struct option *
long_option(const struct option *lo, const char *word)
{
	const struct option *hit = NULL;
	size_t n = strcspn(word, "=");

	for (; lo->name; lo++) {
		if (strncmp(lo->name, word, n))
			continue;
		if (lo->name[n] == '\0')
			return lo;
		if (hit)
			return NULL;	/* ambiguous: getopt refuses it */
		hit = lo;
	}
	return hit;
}

/*
 * refuse_single_dash: refuse -node-id=x, -lock-name x and the like, the
 * flags of the Go demo.  getopt would take them for clusters of short
 * options, some of them silently (-lock-name is -l ock-name), so look
 * first: every word up to the first non-option or "--", skipping option
 * values as getopt will, that spells one of our long option names after
 * a single dash.
 */
static void
refuse_single_dash(char **argv, const struct option *lo, const char *so)
{
	const struct option *opt;
	const char *w, *p, *c;
	size_t n;

	for (argv++; (w = *argv) != NULL && w[0] == '-' && w[1]; argv++) {
		if (!strcmp(w, "--"))
			return;
		if (w[1] == '-') {
			if ((opt = long_option(lo, w + 2)) == NULL)
				return;		/* getopt refuses it */
			if (opt->has_arg == required_argument &&
			    !strchr(w, '=') && *++argv == NULL)
				return;
			continue;
		}
		n = strcspn(w + 1, "=");
		for (opt = lo; opt->name; opt++)
			if (strlen(opt->name) == n && !strncmp(opt->name, w + 1, n)) {
				warnx("long options take two dashes: --%s",
				    opt->name);
				try_help();
			}
		/* Short options; the first that takes a value ends the word. */
		for (p = w + 1; *p; p++) {
			if (*p == ':' || *p == '+' || (c = strchr(so, *p)) == NULL)
				return;		/* getopt refuses it */
			if (c[1] == ':') {
				if (p[1] == '\0' && *++argv == NULL)
					return;
				break;
			}
		}
	}
}

/*
 * store_arg: settle which store we use: -S URL, or -d DIR (its short form,
 * so not both), or $LEADERRUN_STORE, or file:/tmp.  A bad URL is refused
 * here, before anything else happens.
 */
static void
store_arg(struct opts *o)
{
	static char dirurl[PATH_MAX + 8];
	char err[LEASE_ERRLEN];
	const char *env = getenv("LEADERRUN_STORE");

	if (o->store && o->dir) {
		warnx("-d and -S both name the store; use one");
		try_help();
	}
	if (o->dir) {
		if (strlen(o->dir) >= PATH_MAX)	/* as open(2) would say */
			die(EXIT_FAIL, "open %s: %s", quote(o->dir),
			    strerror(ENAMETOOLONG));
		snprintf(dirurl, sizeof(dirurl), "file:%s", o->dir);
		o->store = dirurl;
	} else if (o->store == NULL && env && *env)
		o->store = env;
	else if (o->store == NULL)
		o->store = "file:/tmp";
	if (lease_store_check(o->store, err) == -1) {
		warnx("%s%s", err, o->store == env ? " (from LEADERRUN_STORE)" : "");
		try_help();
	}
}

/*
 * acl_private: -1 if FD has no POSIX ACL (or we cannot tell); 1 if it has
 * one under which nobody but its owner and we (our effective uid) may
 * access it, so that its group bits are only the ACL's mask: systemd hands
 * a service its credentials (LoadCredential=) as 0400 files with an entry
 * user:SERVICE:r, which stat shows as mode 0440; 0 if the ACL lets anyone
 * else at it.
 */
static int
acl_private(int fd)
{
#ifdef __linux__
	/* Linux's xattr form: a version (2), then {tag, perm, id} entries,
	 * all little-endian. */
	unsigned char a[4 + 8 * 64];
	ssize_t n = fgetxattr(fd, "system.posix_acl_access", a, sizeof(a)), i;

	if (n < 4 || (n - 4) % 8 != 0 || a[0] != 2 || a[1] || a[2] || a[3])
		return -1;
	for (i = 4; i < n; i += 8) {
		unsigned tag = a[i] | (unsigned)a[i + 1] << 8;
		unsigned perm = a[i + 2] | (unsigned)a[i + 3] << 8;
		unsigned long id = a[i + 4] | (unsigned long)a[i + 5] << 8 |
		    (unsigned long)a[i + 6] << 16 | (unsigned long)a[i + 7] << 24;

		if (tag == 0x01 || tag == 0x10)		/* the owner, the mask */
			continue;
		if (tag == 0x02 && id == (unsigned long)geteuid())
			continue;			/* user:US */
		if (perm & 7)	/* another user, a group, the others */
			return 0;
	}
	return 1;
#else
	(void)fd;
	return -1;
#endif
}

/*
 * password_file: the first line of PATH (without its newline) into BUF
 * (LEN bytes).  PATH must be a regular file, or a symlink to one (as
 * Kubernetes mounts secrets), that only its owner may access (and we, by
 * an ACL: see acl_private); a missing, empty or open file exits 125.
 * Never prints what it read.
 */
static void
password_file(const char *path, char *buf, size_t len)
{
	struct stat st;
	size_t n = 0, line;
	ssize_t got;
	int fd, acl = -1;
	char mode[16];

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		die(EXIT_FAIL, "store password file %s: %s", quote(path),
		    strerror(errno));
	if (fstat(fd, &st) == -1)
		die(EXIT_FAIL, "store password file %s: %s", quote(path),
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EXIT_FAIL, "store password file %s: not a regular file",
		    quote(path));
	snprintf(mode, sizeof(mode), "mode %04o", (unsigned)(st.st_mode & 07777));
	if ((st.st_mode & S_IRWXO) ||
	    ((st.st_mode & S_IRWXG) && (acl = acl_private(fd)) != 1))
		die(EXIT_FAIL, "store password file %s: %s lets group or others "
		    "at it; it must be private to its owner (chmod 600)",
		    quote(path), acl == 0 ? "its ACL" : mode);
	while (n < len - 1 && (got = read(fd, buf + n, len - 1 - n)) != 0) {
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			die(EXIT_FAIL, "store password file %s: %s", quote(path),
			    strerror(errno));
		n += (size_t)got;
		if (memchr(buf, '\n', n))
			break;
	}
	close(fd);
	for (line = 0; line < n && buf[line] != '\n'; line++)
		;
	if (line == len - 1)
		die(EXIT_FAIL, "store password file %s: first line longer than "
		    "%zu bytes", quote(path), len - 2);
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	memset(buf + line, 0, len - line);
	if (line == 0)
		die(EXIT_FAIL, "store password file %s: no password on its first "
		    "line", quote(path));
	if (strlen(buf) != line)
		die(EXIT_FAIL, "store password file %s: NUL byte in the password",
		    quote(path));
}

/*
 * store_password: the store user's password, from --store-password-file
 * (which wins) or LEADERRUN_STORE_PASSWORD, into O->password (NULL if
 * neither).  The variable leaves our environment, so the command does not
 * inherit it.
 */
static void
store_password(struct opts *o)
{
	static char pw[4096];
	const char *env = getenv("LEADERRUN_STORE_PASSWORD");

	if (env && !o->password_file) {
		if (strlen(env) >= sizeof(pw))
			die(EXIT_FAIL, "LEADERRUN_STORE_PASSWORD: longer than %zu "
			    "bytes", sizeof(pw) - 1);
		strcpy(pw, env);
	}
	if (unsetenv("LEADERRUN_STORE_PASSWORD") == -1)
		die(EXIT_FAIL, "unsetenv: %s", strerror(errno));
	if (o->password_file)
		password_file(o->password_file, pw, sizeof(pw));
	o->password = pw[0] ? pw : NULL;
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_RENEW_DEADLINE = CHAR_MAX + 1, OPT_STATUS, OPT_HEARTBEAT,
	    OPT_NO_EMOJI, OPT_MIN_HOLD, OPT_JSON, OPT_LIST, OPT_METRICS,
	    OPT_PASSWORD_FILE };
	static const struct option longopts[] = {
		{ "conflict-exit-code", required_argument, NULL, 'E' },
		{ "heartbeat", optional_argument, NULL, OPT_HEARTBEAT },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "node-id", required_argument, NULL, 'i' },
		{ "kill-after", required_argument, NULL, 'k' },
		{ "lock-dir", required_argument, NULL, 'd' },
		{ "lock-name", required_argument, NULL, 'l' },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "lease-duration", required_argument, NULL, 't' },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "min-hold", required_argument, NULL, OPT_MIN_HOLD },
		{ "no-emoji", no_argument, NULL, OPT_NO_EMOJI },
		{ "nonblock", no_argument, NULL, 'n' },
		{ "renew-deadline", required_argument, NULL, OPT_RENEW_DEADLINE },
		{ "retry-period", required_argument, NULL, 'r' },
		{ "signal", required_argument, NULL, 's' },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "store", required_argument, NULL, 'S' },
		{ "store-password-file", required_argument, NULL,
		    OPT_PASSWORD_FILE },
		{ "timeout", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static const char shortopts[] = "+:E:S:Vd:hi:k:l:nr:s:t:vw:";
	char a[32], b[32], c[32];
	int ch;

	memset(o, 0, sizeof(*o));
	o->name = "leader-election-demo";
	o->lease_ns = 10 * NS_PER_S;
	o->sig = SIGTERM;
	o->conflict_code = EXIT_NOT_ELECTED;
	refuse_single_dash(argv, longopts, shortopts);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		/* Never NULL for an option that takes an argument; "" keeps the
		 * static analysers from assuming otherwise. */
		const char *arg = optarg ? optarg : "";

		switch (ch) {
		case 'E': {
			char *end;
			long n;

			errno = 0;
			n = strtol(arg, &end, 10);
			if (errno || *end || end == arg || n < 0 || n > 255)
				bad_value("exit code", arg, "must be 0-255");
			o->conflict_code = (int)n;
			break;
		}
		case 'S':
			o->store = arg;
			break;
		case 'V':
			printf("leaderrun %s\n", VERSION);
			exit(fflush(stdout) == EOF ? EXIT_FAIL : 0);
		case 'd':
			if (*arg == '\0')
				bad_value("lock directory", arg, "empty");
			o->dir = arg;
			break;
		case 'h':
			help();
			break;
		case 'i':
			if (!node_id_ok(arg))
				bad_value("node id", arg, "1-128 printable "
				    "characters, no spaces");
			o->node_id = arg;
			break;
		case 'k':
			o->kill_ns = duration_arg("kill-after", arg);
			break;
		case 'l':
			if (!lease_name_ok(arg))
				bad_value("lock name", arg, "1-128 characters of "
				    "A-Z a-z 0-9 . _ @ + : -, not . or ..");
			o->name = arg;
			o->named = 1;
			break;
		case 'n':
			o->nonblock = 1;
			break;
		case 'r':
			o->retry_ns = duration_arg("retry-period", arg);
			break;
		case 's':
			if ((o->sig = parse_signal(arg)) == -1)
				bad_value("signal", arg, "unknown signal");
			break;
		case 't':
			o->lease_ns = duration_arg("lease-duration", arg);
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'w':
			o->wait_ns = duration_arg("timeout", arg);
			break;
		case OPT_RENEW_DEADLINE:
			o->deadline_ns = duration_arg("renew-deadline", arg);
			break;
		case OPT_STATUS:
			o->status = 1;
			break;
		case OPT_HEARTBEAT:
			o->heartbeat_ns = optarg ?
			    duration_arg("heartbeat", arg) : NS_PER_S;
			break;
		case OPT_NO_EMOJI:
			o->no_emoji = 1;
			break;
		case OPT_MIN_HOLD:
			o->min_hold_ns = duration_arg("min-hold", arg);
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_LIST:
			o->list = 1;
			break;
		case OPT_METRICS:
			if (*arg == '\0')
				bad_value("metrics file", arg, "empty");
			o->metrics = arg;
			break;
		case OPT_PASSWORD_FILE:
			o->password_file = arg;
			break;
		case ':':
			warnx("option '%s' requires an argument",
			    quote(argv[optind - 1]));
			try_help();
			break;
		default:
		{
			const char *bad = argv[optind - 1];

			if (strncmp(bad, "--", 2) != 0)
				warnx("invalid option -- '%c'", optopt);
			else if (optopt && strchr(bad, '='))
				warnx("option '%.*s' doesn't allow an argument",
				    (int)(strchr(bad, '=') - bad), quote(bad));
			else
				warnx("unrecognized option '%s'", quote(bad));
			try_help();
		}
		}
	}
	o->argv = argv + optind;
	if (o->json && !o->status && !o->list) {
		warnx("--json goes with --status or --list");
		try_help();
	}
	if (o->list && o->status) {
		warnx("--list and --status: use one");
		try_help();
	}
	if (o->list && o->named) {
		warnx("--list shows every lease; -l names one (use --status)");
		try_help();
	}
	store_arg(o);
	store_password(o);
	if (o->status || o->list) {
		if (*o->argv) {
			warnx("%s takes no command", o->list ? "--list" : "--status");
			try_help();
		}
		return;
	}
	if (*o->argv == NULL) {
		warnx("no command given");
		try_help();
	}
	/* Timings that are not given scale with the lease. */
	if (!o->retry_ns)
		o->retry_ns = o->lease_ns / 5;
	if (!o->deadline_ns)
		o->deadline_ns = o->lease_ns / 2;
	if (!o->kill_ns)
		o->kill_ns = o->lease_ns / 10 * 3;
	fmt_duration(a, sizeof(a), o->lease_ns);
	fmt_duration(b, sizeof(b), o->deadline_ns);
	fmt_duration(c, sizeof(c), o->retry_ns);
	if (!(o->lease_ns > o->deadline_ns && o->deadline_ns > o->retry_ns)) {
		warnx("invalid timing: need lease-duration (%s) > renew-deadline "
		    "(%s) > retry-period (%s)", a, b, c);
		try_help();
	}
	if (o->deadline_ns >= o->lease_ns - o->kill_ns) {
		fmt_duration(c, sizeof(c), o->kill_ns);
		warnx("invalid timing: renew-deadline (%s) + kill-after (%s) must "
		    "be below lease-duration (%s), or the command could outlive "
		    "the lease", b, c, a);
		try_help();
	}
}

/* ---- --status --------------------------------------------------------- */

/* fmt_age: MS milliseconds, as fmt_duration does it.  A record's time
 * stamps can be anything: past 292 years, plain milliseconds. */
static void
fmt_age(char *buf, size_t len, int64_t ms)
{
	if (ms > INT64_MAX / NS_PER_MS || ms < -(INT64_MAX / NS_PER_MS))
		snprintf(buf, len, "%lldms", (long long)ms);
	else
		fmt_duration(buf, len, ms * NS_PER_MS);
}

/* How many waiters --status shows, in queue order. */
#define MAXWAITERS	64

/* json_str: S as a JSON string literal on F, any bytes escaped, or
 * null when S is NULL or empty. */
static void
json_str(FILE *f, const char *s)
{
	size_t n;
	char *buf;

	if (s == NULL || *s == '\0') {
		fputs("null", f);
		return;
	}
	n = strlen(s) * 6 + 3;		/* \u00XX for each byte at worst */
	if ((buf = malloc(n)) == NULL || json_quote(s, buf, n) == 0)
		die(EXIT_FAIL, "json: %s", strerror(ENOMEM));
	fputs(buf, f);
	free(buf);
}

/* time_known: a record's wall-clock time stamp MS is one we show: set (not
 * 0), and within the years 1970-9999. */
static int
time_known(int64_t ms)
{
	return ms > 0 && ms <= 253402300799999LL;
}

/* json_time: wall-clock MS as an RFC 3339 UTC string with milliseconds
 * ("2026-12-01T04:14:28.123Z"), or null unless time_known. */
static void
json_time(FILE *f, int64_t ms)
{
	char buf[32];
	time_t t;
	struct tm tm;

	if (!time_known(ms)) {
		fputs("null", f);
		return;
	}
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		fputs("null", f);
		return;
	}
	fprintf(f, "\"%s.%03dZ\"", buf, (int)(ms % 1000));
}

/*
 * status_json: the lease NAME of store STORE (WHERE: where it lives) as one
 * JSON object on F, no newline.  The field names are documented (man page,
 * Status) and stable: add fields, never rename or drop them.
 */
static void
status_json(FILE *f, const char *name, const char *store, const char *where,
    const struct lease_holder *h, const struct lease_holder *w, int nw,
    int64_t now_ms)
{
	static const char *const states[] = { "free", "held", "released" };
	int known = h->state != LEASE_FREE, held = h->state == LEASE_HELD, i;

	fputs("{\"name\":", f);
	json_str(f, name);
	fputs(",\"lease\":", f);
	json_str(f, where);
	fputs(",\"store\":", f);
	json_str(f, store);
	fprintf(f, ",\"state\":\"%s\",\"holder\":", states[held ? 1 :
	    h->state == LEASE_RELEASED ? 2 : 0]);
	json_str(f, known ? h->id : NULL);
	fputs(",\"host\":", f);
	json_str(f, known ? h->host : NULL);
	if (known && h->pid > 0)
		fprintf(f, ",\"pid\":%ld", h->pid);
	else
		fputs(",\"pid\":null", f);
	if (known)
		fprintf(f, ",\"term\":%llu", (unsigned long long)h->term);
	else
		fputs(",\"term\":null", f);
	fputs(",\"acquired\":", f);
	json_time(f, known ? h->acquired_ms : 0);
	fputs(",\"renewed\":", f);
	json_time(f, known ? h->renewed_ms : 0);
	if (held && h->ttl_ms >= 0)	/* the server's count, not our guess */
		fprintf(f, ",\"expires_in_ms\":%lld", (long long)h->ttl_ms);
	else if (held && time_known(h->renewed_ms) && h->lease_ms > 0 &&
	    h->lease_ms < INT64_MAX / 4)
		fprintf(f, ",\"expires_in_ms\":%lld",
		    (long long)(h->renewed_ms + h->lease_ms - now_ms));
	else
		fputs(",\"expires_in_ms\":null", f);
	if (held && h->local)
		fprintf(f, ",\"alive\":%s", h->alive ? "true" : "false");
	else
		fputs(",\"alive\":null", f);
	fprintf(f, ",\"command\":%s", !held ? "null" : h->done ? "\"done\"" :
	    h->job > 0 ? "\"running\"" : "\"starting\"");
	if (h->waiters < 0) {
		fputs(",\"waiters\":null}", f);
		return;
	}
	fputs(",\"waiters\":[", f);
	for (i = 0; i < nw; i++) {
		fputs(i ? ",{\"holder\":" : "{\"holder\":", f);
		json_str(f, w[i].id);
		fputs(",\"host\":", f);
		json_str(f, w[i].host);
		if (w[i].pid > 0)
			fprintf(f, ",\"pid\":%ld}", w[i].pid);
		else
			fputs(",\"pid\":null}", f);
	}
	fputs("]}", f);
}

static int
show_status(const struct opts *o)
{
	struct lease_config cfg = { o->name, o->store, "", 0, 0, 0, 2 * NS_PER_S,
	    o->password };
	struct lease_holder h, w[MAXWAITERS];
	char err[LEASE_ERRLEN], age[32], left[32], where[PATH_MAX + 300];
	int64_t now_ms;
	int nw, i;

	if (lease_status(&cfg, &h, w, MAXWAITERS, &nw, err) != LEASE_OK)
		die(EXIT_FAIL, "status: %s", err);
	now_ms = wall_ms();
	lease_store_where(o->store, o->name, where, sizeof(where));
	if (o->json) {
		status_json(stdout, o->name, o->store, where, &h, w, nw, now_ms);
		putchar('\n');
		if (fflush(stdout) == EOF || ferror(stdout))
			die(EXIT_FAIL, "write error: %s", strerror(errno));
		return h.state == LEASE_HELD ? 0 : 1;
	}
	printf("lease:      %s\n", where);
	if (h.state == LEASE_FREE) {
		printf("state:      free\n");
	} else if (h.state == LEASE_RELEASED) {
		printf("state:      released\nlast:       %s\nterm:       %llu\n",
		    h.id, (unsigned long long)h.term);
	} else {
		fmt_age(age, sizeof(age), now_ms - h.acquired_ms);
		if (h.ttl_ms >= 0)	/* the server's count, not our guess */
			fmt_age(left, sizeof(left), h.ttl_ms);
		else
			fmt_age(left, sizeof(left), h.renewed_ms + h.lease_ms - now_ms);
		printf("state:      held\nholder:     %s\nhost:       %s\n"
		    "pid:        %ld\nterm:       %llu\nage:        %s\n"
		    "expires-in: %s\n", h.id, h.host, h.pid,
		    (unsigned long long)h.term, age, left);
		if (h.local)
			printf("alive:      %s\n", h.alive ? "yes" : "no");
		if (h.done)
			printf("command:    done (holding until min-hold ends)\n");
		else if (h.job > 0)
			printf("command:    running (process group %ld)\n", h.job);
		else
			printf("command:    starting\n");
	}
	if (h.waiters >= 0)
		printf("waiters:    %d\n", h.waiters);
	for (i = 0; i < nw; i++)
		printf("waiting:    %d. %s on %s (pid %ld)\n", i + 1, w[i].id,
		    w[i].host, w[i].pid);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "write error: %s", strerror(errno));
	return h.state == LEASE_HELD ? 0 : 1;
}

/* ---- --list ----------------------------------------------------------- */

/* One line of the --list table, escaped: no spaces, printable ASCII. */
struct row {
	char		 name[LEASE_IDLEN];
	char		 state[12];
	char		 holder[LEASE_IDLEN * 4 + 8];
	char		 host[LEASE_HOSTLEN * 4 + 8];
	char		 term[24];
	char		 age[48];
};

struct listing {
	const struct opts *o;
	int64_t		 now_ms;
	int		 n;		/* leases so far */
	struct row	*rows;		/* the table, unless --json */
	size_t		 cap;
	FILE		*json;		/* --json: the array so far */
};

/* list_item: one entry of lease_list: a warning, a JSON object, or a row. */
static void
list_item(void *arg, const struct lease_item *it)
{
	struct listing *ls = arg;
	const struct lease_holder *h = &it->h;
	char where[PATH_MAX + 300], ebuf[256 * 4 + 8];
	struct row *r;
	int64_t since;

	if (it->why && it->name) {
		warnx("warning: skipped lease %s: %s", it->name, it->why);
		return;
	}
	if (it->why) {
		warnx("warning: skipped '%s': %s", escape(it->entry, 256, 0,
		    ebuf, sizeof(ebuf)), it->why);
		return;
	}
	if (ls->json) {
		lease_store_where(ls->o->store, it->name, where, sizeof(where));
		fputs(ls->n ? ",\n" : "\n", ls->json);
		status_json(ls->json, it->name, ls->o->store, where, h, it->w,
		    it->nw, ls->now_ms);
		ls->n++;
		return;
	}
	if ((size_t)ls->n == ls->cap) {
		struct row *more;

		ls->cap = ls->cap ? 2 * ls->cap : 64;
		if ((more = realloc(ls->rows, ls->cap * sizeof(*more))) == NULL)
			die(EXIT_FAIL, "list: %s", strerror(errno));
		ls->rows = more;
	}
	r = &ls->rows[ls->n++];
	snprintf(r->name, sizeof(r->name), "%s", it->name);
	snprintf(r->state, sizeof(r->state), "%s", h->state == LEASE_HELD ?
	    "held" : h->state == LEASE_RELEASED ? "released" : "free");
	strcpy(r->holder, "-");
	strcpy(r->host, "-");
	strcpy(r->term, "-");
	strcpy(r->age, "-");
	if (h->state == LEASE_FREE)
		return;
	if (h->id[0])
		escape(h->id, sizeof(h->id), 1, r->holder, sizeof(r->holder));
	if (h->host[0])
		escape(h->host, sizeof(h->host), 1, r->host, sizeof(r->host));
	snprintf(r->term, sizeof(r->term), "%llu", (unsigned long long)h->term);
	/* Held: since it was acquired; released: since the release. */
	since = h->state == LEASE_HELD ? h->acquired_ms : h->renewed_ms;
	if (time_known(since))
		fmt_age(r->age, sizeof(r->age), ls->now_ms - since);
}

/*
 * show_list: every lease of the store, as an aligned table (NAME STATE
 * HOLDER HOST TERM AGE) or, with --json, an array of --status objects.
 * 0 when the store could be listed, whatever the leases' states; 125 if it
 * could not.  Entries that were skipped are warnings on stderr.
 */
static int
show_list(const struct opts *o)
{
	static const char *const head[] = { "NAME", "STATE", "HOLDER", "HOST",
	    "TERM", "AGE" };
	struct lease_config cfg = { NULL, o->store, "", 0, 0, 0, 2 * NS_PER_S,
	    o->password };
	struct listing ls;
	char err[LEASE_ERRLEN], *buf = NULL;
	size_t wd[6], i, len = 0;
	int k;

	memset(&ls, 0, sizeof(ls));
	ls.o = o;
	ls.now_ms = wall_ms();
	/* All or nothing on stdout: a store that fails half way through
	 * must not leave half an array. */
	if (o->json && (ls.json = open_memstream(&buf, &len)) == NULL)
		die(EXIT_FAIL, "list: %s", strerror(errno));
	if (lease_list(&cfg, list_item, &ls, MAXWAITERS, err) != LEASE_OK)
		die(EXIT_FAIL, "list: %s", err);
	if (o->json) {
		if (fclose(ls.json) == EOF)
			die(EXIT_FAIL, "list: %s", strerror(errno));
		printf("[%s%s]\n", buf, ls.n ? "\n" : "");
		free(buf);
	} else {
		for (k = 0; k < 6; k++)
			wd[k] = strlen(head[k]);
		for (i = 0; i < (size_t)ls.n; i++) {
			const char *c[6] = { ls.rows[i].name, ls.rows[i].state,
			    ls.rows[i].holder, ls.rows[i].host, ls.rows[i].term,
			    ls.rows[i].age };

			for (k = 0; k < 6; k++)
				if (strlen(c[k]) > wd[k])
					wd[k] = strlen(c[k]);
		}
		printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)wd[0], head[0],
		    (int)wd[1], head[1], (int)wd[2], head[2], (int)wd[3],
		    head[3], (int)wd[4], head[4], head[5]);
		for (i = 0; i < (size_t)ls.n; i++) {
			const struct row *r = &ls.rows[i];

			printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)wd[0],
			    r->name, (int)wd[1], r->state, (int)wd[2], r->holder,
			    (int)wd[3], r->host, (int)wd[4], r->term, r->age);
		}
		free(ls.rows);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "write error: %s", strerror(errno));
	return 0;
}

/* ---- the lease worker thread ------------------------------------------ */

/*
 * Lease I/O may hang (NFS), so it runs here, never on the event loop.  The
 * loop sends a struct request down req[] and gets struct reply pointers back
 * on rep[].  While contending the worker retries on its own, sleeping on the
 * store's watch descriptor, so an idle follower costs no loop wake-ups.
 */
enum op { OP_CONTEND, OP_RENEW, OP_RELEASE, OP_STOP };
enum rep_kind { R_ACQUIRED, R_BUSY, R_NOT_ELECTED, R_RENEWED, R_RELEASED,
    R_STOPPED, R_ERROR, R_WARNING, R_LOST };

struct request {
	enum op		 op;
	long		 arg;	/* CONTEND: try once; RENEW: job pgid */
};

struct reply {
	enum rep_kind	 kind;
	int		 rc;		/* LEASE_* */
	int64_t		 started;	/* when the call began */
	struct lease_holder h;
	int		 renew_now;	/* R_ACQUIRED: see lease_renew_now */
	int		 ran;		/* R_ACQUIRED: the worker started the job */
	int		 start_err;	/* R_ACQUIRED: errno of that start */
	char		 msg[LEASE_ERRLEN];
};

/* Messages to the watchdog (see its section) besides deadlines. */
#define WD_DONE	0
#define WD_NOW	1
#define WD_BYE	2

/* One write of a WD_BYE message stays whole in the pipe (the only writer
 * then is the worker, before the command starts). */
struct wd_bye {
	int64_t		 msg;
	struct lease_farewell bye;
};
#ifdef PIPE_BUF
_Static_assert(sizeof(struct wd_bye) <= PIPE_BUF, "WD_BYE exceeds PIPE_BUF");
#endif

/*
 * The held command's gate.  The worker starts the command itself the
 * moment it is elected in time, one thread hand-off sooner than the loop
 * could (it matters: the loop's wake-up is most of a handover's cost
 * beyond flock's).  The loop may give up on the command at the same
 * moment (a signal, -w): whoever moves the gate from HELD first wins.
 */
enum { GATE_HELD, GATE_STARTED, GATE_CANCELLED };

struct worker {
	const struct lease_config *cfg;
	struct lease	*lease;
	int		 req[2];
	int		 rep[2];
	pthread_t	 thread;
	int		 go;		/* the held command's start pipe */
	int		 wdfd;		/* the watchdog's pipe */
	int64_t		 deadline_ns;	/* elected later than this after the
					 * acquire began: too late to start */
	atomic_int	 gate;
};

/*
 * start_held: arm the watchdog with DEADLINE, then let the held command
 * exec with TERM; unless the loop gave up on it first.  Returns 1 if
 * started, 0 if not, -errno on failure.
 */
static int
start_held(struct worker *w, uint64_t term, int64_t deadline)
{
	struct wd_bye m;
	int held = GATE_HELD;

	if (!atomic_compare_exchange_strong(&w->gate, &held, GATE_STARTED))
		return 0;
	/* The watchdog stops the command from its first instruction on. */
	memset(&m, 0, sizeof(m));
	m.msg = WD_BYE;
	lease_farewell(w->lease, &m.bye);
	if (m.bye.n > 0)
		(void)!write(w->wdfd, &m, sizeof(m));
	(void)!write(w->wdfd, &deadline, sizeof(deadline));
	if (write(w->go, &term, sizeof(term)) != (ssize_t)sizeof(term))
		return -errno;
	return 1;
}

static void
post(struct worker *w, enum rep_kind kind, int rc, int64_t started,
    const struct lease_holder *h, const char *msg)
{
	struct reply *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();	/* the loop cannot go on without replies */
	r->kind = kind;
	r->rc = rc;
	r->started = started;
	if (h)
		r->h = *h;
	if (kind == R_ACQUIRED) {
		int st = 0;

		/* In time (the lease runs from STARTED at best): go. */
		if (now_ns() - started < w->deadline_ns)
			st = start_held(w, h->term, started + w->deadline_ns);
		r->ran = st > 0;
		r->start_err = st < 0 ? -st : 0;
		r->renew_now = lease_renew_now(w->lease);
	}
	if (msg)
		snprintf(r->msg, sizeof(r->msg), "%s", msg);
	while (write(w->rep[1], &r, sizeof(r)) == -1 && errno == EINTR)
		;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct lease_holder h, last;
	char err[LEASE_ERRLEN];
	int contending = 0, once = 0, attempts = 0, leading = 0;
	long job = 0;
	int64_t next_try = 0;

	memset(&last, 0, sizeof(last));
	/* Opening the store is I/O too (it may sit on a stalled mount). */
	if (lease_open(&w->lease, w->cfg, err) != LEASE_OK) {
		post(w, R_ERROR, LEASE_ERR, now_ns(), NULL, err);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[2];
		int nfd = 1, timeout = -1;
		int64_t now = now_ns();

		pfd[0].fd = w->req[0];
		pfd[0].events = POLLIN;
		if (contending || leading) {
			int fd = lease_watch_fd(w->lease);

			if (contending) {
				int64_t ms = next_try > now ? (next_try - now +
				    NS_PER_MS - 1) / NS_PER_MS : 0;

				timeout = ms > INT_MAX ? INT_MAX : (int)ms;
			}
			if (fd != -1) {
				pfd[1].fd = fd;
				pfd[1].events = POLLIN;
				nfd = 2;
			}
		}
		if (poll(pfd, (nfds_t)nfd, timeout) == -1 && errno != EINTR)
			continue;
		if (nfd == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    lease_watch_clear(w->lease)) {
			if (contending)
				next_try = 0;
			else if (leading) {
				/* Our lease may be gone (a store that can tell,
				 * such as etcd's watch on our key): renew now
				 * rather than at the next period. */
				int64_t t0 = now_ns();

				if (lease_renew(w->lease, job, err) == LEASE_LOST) {
					leading = 0;
					post(w, R_LOST, LEASE_LOST, t0, NULL, err);
				}
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			struct request rq;
			ssize_t n = read(w->req[0], &rq, sizeof(rq));
			int64_t t0 = now_ns();
			int rc;

			if (n == 0)
				return NULL;
			if (n != (ssize_t)sizeof(rq))
				continue;
			switch (rq.op) {
			case OP_CONTEND:
				contending = 1;
				once = (int)rq.arg;
				next_try = 0;
				break;
			case OP_RENEW:
				job = rq.arg;
				rc = lease_renew(w->lease, job, err);
				if (rc == LEASE_LOST)
					leading = 0;
				/* The deadline runs from when the lease was renewed. */
				if (rc == LEASE_OK && lease_renewed_from(w->lease) > 0 &&
				    lease_renewed_from(w->lease) < t0)
					t0 = lease_renewed_from(w->lease);
				post(w, R_RENEWED, rc, t0, NULL, err);
				break;
			case OP_RELEASE:
				leading = 0;
				rc = lease_release(w->lease, err);
				post(w, R_RELEASED, rc, t0, NULL, err);
				break;
			case OP_STOP:
				contending = 0;
				lease_withdraw(w->lease);
				post(w, R_STOPPED, LEASE_OK, t0, NULL, NULL);
				break;
			}
		}
		if (contending && now_ns() >= next_try) {
			int64_t t0 = now_ns(), retry;
			int rc = lease_acquire(w->lease, &h, &retry, err);
			const char *warning = lease_warning(w->lease);

			if (warning)
				post(w, R_WARNING, LEASE_OK, t0, NULL, warning);
			attempts++;
			if (rc == LEASE_OK) {
				contending = 0;
				leading = 1;
				/* The lease runs from its last renewal. */
				if (lease_renewed_from(w->lease) > 0 &&
				    lease_renewed_from(w->lease) < t0)
					t0 = lease_renewed_from(w->lease);
				post(w, R_ACQUIRED, rc, t0, &h, NULL);
			} else if (rc == LEASE_BUSY && once) {
				contending = 0;
				lease_withdraw(w->lease);
				post(w, R_NOT_ELECTED, rc, t0, &h, NULL);
			} else if (rc == LEASE_BUSY) {
				if (attempts == 1 || strcmp(h.id, last.id) ||
				    h.term != last.term || h.state != last.state)
					post(w, R_BUSY, rc, t0, &h, NULL);
				last = h;
				next_try = now_ns() + retry;
			} else {
				post(w, R_ERROR, rc, t0, NULL, err);
				if (once || attempts == 1)
					contending = 0;
				next_try = now_ns() + retry;
			}
		}
	}
}

static void
send_request(struct worker *w, enum op op, long arg)
{
	struct request rq;

	memset(&rq, 0, sizeof(rq));	/* no uninitialised padding in the pipe */
	rq.op = op;
	rq.arg = arg;
	if (write(w->req[1], &rq, sizeof(rq)) != (ssize_t)sizeof(rq))
		die(EXIT_FAIL, "worker: %s", strerror(errno));
}

/* ---- signals ---------------------------------------------------------- */

static int sigpipe_fds[2] = { -1, -1 };

static const int caught[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
    SIGUSR1, SIGUSR2 };
#define NCAUGHT	(int)(sizeof(caught) / sizeof(caught[0]))
/* Signals that were ignored when we started stay ignored, also for the
 * command (a shell starts background jobs with INT and QUIT ignored). */
static int was_ignored[NCAUGHT];
static int pipe_ignored;

static void
on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(sigpipe_fds[1], &c, 1);
	errno = e;
}

static int
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

static void
setup_signals(void)
{
	struct sigaction sa;
	int i;

	if (cloexec_pipe(sigpipe_fds, 1) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	for (i = 0; i < NCAUGHT; i++) {
		struct sigaction old;

		sigaction(caught[i], NULL, &old);
		was_ignored[i] = caught[i] != SIGCHLD && old.sa_handler == SIG_IGN;
		if (was_ignored[i])
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigfillset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART | (caught[i] == SIGCHLD ? SA_NOCLDSTOP : 0);
		if (sigaction(caught[i], &sa, NULL) == -1)
			die(EXIT_FAIL, "sigaction: %s", strerror(errno));
	}
	/* A closed reader must not kill us: writes report EPIPE instead. */
	{
		struct sigaction old;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, &old);
		pipe_ignored = old.sa_handler == SIG_IGN;
	}
}

/* ---- the command ------------------------------------------------------ */

/*
 * resolve: find COMMAND like execvp would, into PATH (PATH_MAX bytes),
 * before we compete, so a typo fails at once and never takes the lease.
 * Returns 0, or EXIT_ENOENT / EXIT_CANNOT_INVOKE with errno set.
 */
static int
resolve(const char *cmd, char *path)
{
	const char *dirs, *p;
	struct stat st;
	int denied = 0;

	if (*cmd == '\0') {
		errno = ENOENT;
		return EXIT_ENOENT;
	}
	if (strchr(cmd, '/')) {
		if (strlen(cmd) >= PATH_MAX) {
			errno = ENAMETOOLONG;
			return EXIT_CANNOT_INVOKE;
		}
		strcpy(path, cmd);
		if (stat(path, &st) == -1)
			return errno == ENOENT || errno == ENOTDIR ?
			    EXIT_ENOENT : EXIT_CANNOT_INVOKE;
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return EXIT_CANNOT_INVOKE;
		}
		if (access(path, X_OK) == -1)
			return EXIT_CANNOT_INVOKE;
		return 0;
	}
	if ((dirs = getenv("PATH")) == NULL)
		dirs = "/usr/local/bin:/bin:/usr/bin";
	for (p = dirs;; p++) {
		const char *q = strchr(p, ':');
		size_t n = q ? (size_t)(q - p) : strlen(p);

		if (n + strlen(cmd) + 2 < PATH_MAX) {
			if (n == 0)
				snprintf(path, PATH_MAX, "%s", cmd);
			else
				snprintf(path, PATH_MAX, "%.*s/%s", (int)n, p, cmd);
			if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
				if (access(path, X_OK) == 0)
					return 0;
				denied = 1;
			}
		}
		if (q == NULL)
			break;
		p = q;
	}
	errno = denied ? EACCES : ENOENT;
	return denied ? EXIT_CANNOT_INVOKE : EXIT_ENOENT;
}

struct job {
	pid_t		 pid;		/* 0: none yet */
	int		 go;		/* write end: lets the child exec */
	int		 execerr;	/* read end: errno if exec failed */
	int		 fg;		/* we gave it the terminal */
	int		 status;
	int		 exited;
	int		 early;		/* ended before its start was reported */
};

static sigset_t startup_mask;

static void wd_spawn(const int[2], int, pid_t, int, int64_t, int);

#ifdef __linux__
/* Not declared under _POSIX_C_SOURCE. */
long syscall(long, ...);
#endif

/* max_fd: our highest descriptor, for a child that may not list them. */
static int
max_fd(void)
{
	int maxfd = 63;
#ifndef SYS_close_range
	DIR *d;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		struct dirent *e;

		maxfd = 0;
		while ((e = readdir(d)) != NULL)
			if (atoi(e->d_name) > maxfd)
				maxfd = atoi(e->d_name);
		closedir(d);
		return maxfd;
	}
#endif
	if (sysconf(_SC_OPEN_MAX) > 0)
		maxfd = (int)sysconf(_SC_OPEN_MAX) - 1;
	return maxfd;
}

/*
 * spawn: fork the command before we contend, held before exec until its
 * term comes on J->go: the lease is acquired naming its process group, so
 * the one write that elects us also records the job, and the command
 * starts the moment we lead.  Its process first forks the watchdog on WDP
 * (see wd_spawn; its pid comes on TELL).  We have no threads yet, so the
 * child may use all of libc (setenv) before exec.
 */
static void
spawn(struct job *j, const char *path, char **argv, int fg, const int wdp[2],
    const int tell[2], int sig, int64_t kill_ns)
{
	sigset_t all, old;
	int go[2], ee[2], maxfd = max_fd();
	pid_t parent = getpid();

	if (cloexec_pipe(go, 0) == -1 || cloexec_pipe(ee, 0) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	j->pid = fork();
	if (j->pid == -1)
		die(EXIT_FAIL, "fork: %s", strerror(errno));
	if (j->pid == 0) {
		struct sigaction sa;
		uint64_t term;
		char num[32];
		int i, e;

		wd_spawn(wdp, tell[1], getpid(), sig, kill_ns, maxfd);
		setpgid(0, 0);
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_FAIL);
#else
		(void)parent;
#endif
		close(go[1]);
		close(ee[0]);
		if (read(go[0], &term, sizeof(term)) != (ssize_t)sizeof(term))
			_exit(EXIT_FAIL);	/* leaderrun gave up */
		snprintf(num, sizeof(num), "%llu", (unsigned long long)term);
		if (setenv("LEADERRUN_TERM", num, 1) == -1)
			_exit(EXIT_FAIL);
		/* Signals are blocked, so taking the terminal cannot stop us. */
		if (fg)
			tcsetpgrp(STDIN_FILENO, getpid());
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (i = 0; i < NCAUGHT; i++)
			if (!was_ignored[i])
				sigaction(caught[i], &sa, NULL);
		if (!pipe_ignored)
			sigaction(SIGPIPE, &sa, NULL);
		pthread_sigmask(SIG_SETMASK, &startup_mask, NULL);
		execv(path, argv);
		e = errno;
		(void)!write(ee[1], &e, sizeof(e));
		_exit(e == ENOENT ? EXIT_ENOENT : EXIT_CANNOT_INVOKE);
	}
	setpgid(j->pid, j->pid);	/* also here: no race with our kill(-pgid) */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(go[0]);
	close(ee[1]);
	close(wdp[0]);
	close(tell[1]);
	j->go = go[1];
	j->execerr = ee[0];
	j->fg = fg;
}

/*
 * signal_job: send SIG (0: just look) to the job's process group and, on
 * Linux, to our children other than SKIP (the watchdog): the job's orphans,
 * reparented to us as their subreaper, including those that left the group.
 * Returns 1 if any of them exists.
 */
static int
signal_job(const struct job *j, pid_t skip, int sig)
{
	int found = 0;

	if (j->pid > 0 && kill(-j->pid, sig) == 0)
		found = 1;
#ifdef __linux__
	{
		long pids[256];
		int i, n = host_children((long)skip, pids, 256);

		for (i = 0; i < n; i++) {
			found = 1;
			if (sig)
				kill((pid_t)pids[i], sig);
		}
	}
#else
	(void)skip;
#endif
	return found;
}

static int
exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	warnx("command ended with unexpected wait status %#x", status);
	return EXIT_FAIL;
}

/* ---- the watchdog ----------------------------------------------------- */

/*
 * A forked copy of us that owns the stop sequence for a lost lease: it
 * signals the job's process group when the renew deadline passes without a
 * newer one from the supervisor, and SIGKILLs it kill-after later.  Being a
 * process of its own, it keeps that promise when the supervisor cannot: a
 * supervisor stopped by SIGSTOP or a debugger, or one that was killed (then
 * the pipe reaches EOF and the whole group, not only the PDEATHSIG'd child,
 * is killed at once).  It is in place before the command can start: the
 * held command's process forks it while we contend (wd_spawn), and the
 * worker arms it, right before the start, with the first deadline.  Only
 * async-signal-safe calls here, as in any fork of the held process.
 * Messages: a deadline on the lease clock (arms it), WD_NOW to stop at
 * once, WD_BYE and the store's last words, WD_DONE to exit quietly (see
 * them above the worker).  An EOF before it was armed is a supervisor that
 * never started the command.
 */

/*
 * farewell: the supervisor is dead and the job got SIGKILL.  Once its whole
 * group is gone (never before: a store must not free the lease while the
 * job lives), send the store's last words so the next leader starts now,
 * not a TTL later.  Async-signal-safe, like all of the watchdog.
 */
static void
farewell(const struct lease_farewell *bye, pid_t pgid, int64_t kill_ns)
{
	int64_t end = now_ns() + kill_ns;
	int i;

	if (bye->n == 0)
		return;
	while (host_group_alive(pgid)) {
		struct timespec ts = { 0, 200000 };

		if (now_ns() >= end)
			return;		/* still there: the TTL will do */
		nanosleep(&ts, NULL);
	}
	end = now_ns() + NS_PER_S;
	for (i = 0; i < bye->n; i++)
		if (net_oneshot(&bye->addr[i], bye->addrlen[i], bye->req,
		    bye->len, end) == 0)
			return;
}

_Noreturn static void
watchdog_main(int fd, pid_t pgid, int sig, int64_t kill_ns)
{
	struct lease_farewell bye;
	int64_t deadline = NEVER;
	int stopping = 0, armed = 0;

	memset(&bye, 0, sizeof(bye));
	for (;;) {
		struct pollfd p;
		int64_t now = now_ns(), msg, ms;
		ssize_t n;

		p.fd = fd;
		p.events = POLLIN;
		ms = deadline > now ? (deadline - now + NS_PER_MS - 1) / NS_PER_MS : 0;
		if (poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms) > 0) {
			while ((n = read(fd, &msg, sizeof(msg))) == (ssize_t)sizeof(msg)) {
				if (msg == WD_DONE)
					_exit(0);
				if (msg == WD_BYE) {
					if (read(fd, &bye, sizeof(bye)) !=
					    (ssize_t)sizeof(bye))
						memset(&bye, 0, sizeof(bye));
					continue;
				}
				armed = 1;
				if (!stopping)
					deadline = msg;
			}
			if (n == 0 && !armed)
				_exit(0);	/* the command never started */
			if (n == 0) {
				/* The supervisor died: nobody else will stop the job. */
				kill(-pgid, SIGKILL);
				farewell(&bye, pgid, kill_ns);
				_exit(0);
			}
		}
		if (now_ns() < deadline)
			continue;
		if (stopping) {
			kill(-pgid, SIGKILL);
			_exit(0);
		}
		stopping = 1;
		kill(-pgid, sig);
		kill(-pgid, SIGCONT);
		deadline = now_ns() + kill_ns;
	}
}

/*
 * wd_spawn: in the held command's process, right after the fork: fork the
 * watchdog on pipe P, as a grandchild (its parent exits at once), so that
 * it comes back to the supervisor, a child subreaper, as its child; and so
 * that the supervisor's path to the start pays no fork for it.  Its pid
 * goes to TELL, 0 if it could not be forked (the supervisor then stops the
 * command alone).  MAXFD: the highest descriptor to close without
 * close_range.
 */
static void
wd_spawn(const int p[2], int tell, pid_t pgid, int sig, int64_t kill_ns,
    int maxfd)
{
	pid_t w1, w2;
	int fd;

	if ((w1 = fork()) == 0) {
		if ((w2 = fork()) == 0) {
			/* Out of the job's group (which it kills) and of
			 * the terminal's; holding nothing but its pipe. */
			setsid();
#ifdef SYS_close_range
			/* One call (Linux 5.9); an older kernel says ENOSYS. */
			if (p[0] > 0 &&
			    syscall(SYS_close_range, 0, p[0] - 1, 0) == 0 &&
			    syscall(SYS_close_range, p[0] + 1, ~0U, 0) == 0)
				maxfd = -1;
#endif
			for (fd = 0; fd <= maxfd; fd++)
				if (fd != p[0])
					close(fd);
			watchdog_main(p[0], pgid, sig, kill_ns);
		}
		if (w2 == -1)
			w2 = 0;
		(void)!write(tell, &w2, sizeof(w2));
		_exit(0);
	}
	if (w1 > 0)
		while (waitpid(w1, NULL, 0) == -1 && errno == EINTR)
			;
	close(tell);
	close(p[0]);
	close(p[1]);
}

/* ---- the supervisor --------------------------------------------------- */

/* What --metrics reports; counts are for this process's lifetime. */
struct metrics {
	int		 leader;	/* we hold the lease */
	uint64_t	 term;		/* of the current or last leadership */
	uint64_t	 elections;
	uint64_t	 lost_deadline;	/* reason="renew_deadline" */
	uint64_t	 lost_lost;	/* reason="lost" */
	uint64_t	 renewals;
	uint64_t	 renew_failures;
	int64_t		 renewed_ms;	/* wall clock of the last renewal, 0 */
	int64_t		 led_ns;	/* time led, up to lead_since */
	int64_t		 lead_since;	/* lease clock, while leader */
	int		 exit_status;	/* -1 until the command has ended */
	char		 last_err[LEASE_ERRLEN + PATH_MAX];
};

enum state {
	ST_CONTEND,	/* waiting for leadership */
	ST_RUNNING,	/* command running, renewing */
	ST_STOPPING,	/* stop signal sent; SIGKILL at t_kill */
	ST_DRAINING,	/* command exited; stopping what it left behind */
	ST_HOLDING,	/* command done; renewing until t_hold (--min-hold) */
	ST_RELEASING,	/* release in flight */
	ST_ABORTING	/* giving up before running: waiting for the worker */
};

struct sup {
	const struct opts *o;
	struct worker	 w;
	struct job	 job;
	char		 path[PATH_MAX];
	enum state	 state;
	int		 fg;		/* we may hand the terminal to the job */
	uint64_t	 term;
	int		 code;		/* exit status, once known */
	int		 lost;
	int		 signalled;	/* INT/TERM/HUP/QUIT forwarded: no hold */
	uint64_t	 pending_sigs;	/* came while the worker started the job */
	long		 renew_job;	/* the job named by the renewal in flight */
	pid_t		 wd;		/* the watchdog, 0 when gone, -1 not
					 * known yet (see wd_pid) */
	int		 wdfd;		/* its pipe, made before contending */
	int		 wdtell;	/* where its pid comes, or -1 */
	int		 renew_inflight;
	int		 contacted;	/* the store answered an acquire once */
	int		 emoji;		/* heartbeat markers: emoji or ASCII */
	char		 leader[LEASE_IDLEN];	/* who leads, as last seen */
	uint64_t	 leader_term;
	int64_t		 t_beat;
	int		 renew_failing;
	char		 last_err[LEASE_ERRLEN];
	int64_t		 t_elected;	/* start of the acquire that won */
	int64_t		 t_wait, t_renew, t_deadline, t_kill, t_poll, t_bail;
	int64_t		 t_hold;	/* end of --min-hold */
	int64_t		 t_metrics;	/* next periodic --metrics write */
	struct metrics	 m;
};

static void
logv(const struct sup *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->o->verbose)
		return;
	fprintf(stderr, "%s: %s: ", progname, s->o->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * beat: a heartbeat line, "2024/01/10 14:30:27 MARK [node] text", when
 * --heartbeat is on.  MARK is EMOJI in a UTF-8 locale, else ASCII (may be
 * NULL: no marker).  Wall time: for people, never for deadlines.
 */
static void
beat(const struct sup *s, const char *emoji, const char *ascii,
    const char *fmt, ...)
{
	const char *mark = s->emoji ? emoji : ascii;
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;

	if (!s->o->heartbeat_ns)
		return;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(stderr, "%s %s%s[%s] ", when, mark ? mark : "", mark ? " " : "",
	    s->o->node_id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
heartbeat(struct sup *s, int64_t now)
{
	char hms[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	if (s->state == ST_CONTEND && s->leader[0])
		beat(s, "\xf0\x9f\x91\xa5", "[follower]", "Status: FOLLOWER - "
		    "Heartbeat at %s - leader %s (term %llu)", hms, s->leader,
		    (unsigned long long)s->leader_term);
	else if (s->state == ST_CONTEND)
		beat(s, "\xf0\x9f\x91\xa5", "[follower]", "Status: FOLLOWER - "
		    "Heartbeat at %s - no leader", hms);
	else if (s->state == ST_RUNNING)
		beat(s, "\xf0\x9f\x91\x91", "[leader]", "Status: LEADER - "
		    "Heartbeat at %s (term %llu)", hms,
		    (unsigned long long)s->term);
	else if (s->state == ST_HOLDING)
		beat(s, "\xf0\x9f\x91\x91", "[leader]", "Status: LEADER - "
		    "Heartbeat at %s (term %llu) - command done, holding",
		    hms, (unsigned long long)s->term);
	else
		beat(s, "\xe2\x8f\xb3", "[stopping]", "Status: STEPPING DOWN - "
		    "Heartbeat at %s (term %llu)", hms,
		    (unsigned long long)s->term);
	s->t_beat = now + s->o->heartbeat_ns;
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

static void
wd_send(struct sup *s, int64_t msg)
{
	(void)!write(s->wdfd, &msg, sizeof(msg));
}

/* wd_pid: the watchdog's pid once its forker has told us; 0 if there is
 * none (any more), -1 while not known yet. */
static pid_t
wd_pid(struct sup *s)
{
	pid_t p;
	ssize_t n;

	if (s->wdtell != -1 && (n = read(s->wdtell, &p, sizeof(p))) != -1) {
		s->wd = n == (ssize_t)sizeof(p) ? p : 0;
		close(s->wdtell);
		s->wdtell = -1;
		if (s->wd == 0)
			warnx("watchdog: fork failed; leaderrun alone will stop "
			    "the command");
	}
	return s->wd;
}

/*
 * held_cancel: the loop gives up on the held command.  Returns 1 if it
 * will not start, 0 if the worker has started it already (its reply is on
 * the way).
 */
static int
held_cancel(struct sup *s)
{
	int held = GATE_HELD;

	return atomic_compare_exchange_strong(&s->w.gate, &held,
	    GATE_CANCELLED) || held == GATE_CANCELLED;
}

_Noreturn static void
finish(struct sup *s, int code)
{
	/* Held, never started: it goes with us.  Just started by the worker:
	 * it must not run on unsupervised either. */
	if (s->job.go != -1)
		kill(held_cancel(s) ? s->job.pid : -s->job.pid, SIGKILL);
	if (s->job.fg) {
		/* Take the terminal back from the job's group. */
		sigset_t ttou, old;

		sigemptyset(&ttou);
		sigaddset(&ttou, SIGTTOU);
		pthread_sigmask(SIG_BLOCK, &ttou, &old);
		tcsetpgrp(STDIN_FILENO, getpgrp());
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	exit(code);
}

/* label_value: V escaped for a Prometheus label value, on F. */
static void
label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* metrics_text: the exposition of S's metrics into F at NOW. */
static void
metrics_text(FILE *f, const struct sup *s, int64_t now)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "leaderrun_leader", "gauge",
		    "1 while this instance holds the lease, else 0." },
		{ "leaderrun_term", "gauge",
		    "Term (fencing token) of this instance's current or last "
		    "leadership; 0 before the first." },
		{ "leaderrun_elections_total", "counter",
		    "Times this instance was elected." },
		{ "leaderrun_losses_total", "counter",
		    "Leaderships lost, by reason: renew_deadline (no renewal "
		    "within renew-deadline), lost (the store says the lease is "
		    "gone or taken)." },
		{ "leaderrun_renewals_total", "counter",
		    "Successful renewals of the lease." },
		{ "leaderrun_renew_failures_total", "counter",
		    "Renewals that failed with an error." },
		{ "leaderrun_last_renewal_timestamp_seconds", "gauge",
		    "Wall-clock time of the last successful renewal, for "
		    "display; absent before the first." },
		{ "leaderrun_leader_seconds_total", "counter",
		    "Time this instance held the lease, on its monotonic clock." },
		{ "leaderrun_command_exit_status", "gauge",
		    "Exit status leaderrun gives for the command (124: stopped "
		    "on a lost lease); absent until it has ended." },
	};
	const struct metrics *m = &s->m;
	int64_t led = m->led_ns + (m->leader ? now - m->lead_since : 0);
	size_t i;

	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		if ((i == 6 && m->renewed_ms == 0) || (i == 8 && m->exit_status < 0))
			continue;
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam[i].name,
		    fam[i].help, fam[i].name, fam[i].type);
		fprintf(f, "%s{lease=\"", fam[i].name);
		label_value(f, s->o->name);
		fputs("\",node=\"", f);
		label_value(f, s->o->node_id);
		fputc('"', f);
		switch (i) {
		case 0:
			fprintf(f, "} %d\n", m->leader);
			break;
		case 1:
			fprintf(f, "} %llu\n", (unsigned long long)m->term);
			break;
		case 2:
			fprintf(f, "} %llu\n", (unsigned long long)m->elections);
			break;
		case 3:
			fprintf(f, ",reason=\"renew_deadline\"} %llu\n",
			    (unsigned long long)m->lost_deadline);
			fprintf(f, "%s{lease=\"", fam[i].name);
			label_value(f, s->o->name);
			fputs("\",node=\"", f);
			label_value(f, s->o->node_id);
			fprintf(f, "\",reason=\"lost\"} %llu\n",
			    (unsigned long long)m->lost_lost);
			break;
		case 4:
			fprintf(f, "} %llu\n", (unsigned long long)m->renewals);
			break;
		case 5:
			fprintf(f, "} %llu\n", (unsigned long long)m->renew_failures);
			break;
		case 6:
			fprintf(f, "} %lld.%03d\n", (long long)(m->renewed_ms / 1000),
			    (int)(m->renewed_ms % 1000));
			break;
		case 7:
			fprintf(f, "} %lld.%03d\n", (long long)(led / NS_PER_S),
			    (int)(led % NS_PER_S / NS_PER_MS));
			break;
		case 8:
			fprintf(f, "} %d\n", m->exit_status);
			break;
		}
	}
}

/* metrics_fail: a write of the metrics file failed; say so once per error. */
static void
metrics_fail(struct sup *s, const char *what, const char *file, int e)
{
	char msg[sizeof(s->m.last_err)];

	snprintf(msg, sizeof(msg), "%s %s: %s", what, file, strerror(e));
	if (strcmp(msg, s->m.last_err) != 0)
		warnx("warning: metrics: %s", msg);
	snprintf(s->m.last_err, sizeof(s->m.last_err), "%s", msg);
}

/*
 * metrics_write: write the --metrics file as node_exporter's textfile
 * collector wants it: a new file (mode 0644) beside it, renamed over it, so
 * a reader never sees half of one.  Called on the event loop: a local file
 * takes microseconds; the file must not sit on a file system that can hang
 * (the watchdog still stops the command on time if it does).  A failure is
 * a warning, never a reason to stop.
 */
static void
metrics_write(struct sup *s, int64_t now)
{
	char tmp[PATH_MAX + 32], *buf = NULL;
	size_t len = 0, off = 0;
	FILE *f;
	int fd, e;
	ssize_t w;

	if (s->o->metrics == NULL)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", s->o->metrics,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		metrics_fail(s, "write", s->o->metrics, ENAMETOOLONG);
		return;
	}
	if ((f = open_memstream(&buf, &len)) == NULL) {
		metrics_fail(s, "write", s->o->metrics, errno);
		return;
	}
	metrics_text(f, s, now);
	if (fclose(f) == EOF) {
		metrics_fail(s, "write", s->o->metrics, errno);
		free(buf);
		return;
	}
	/* A leftover of ours, or a link someone planted: never write through. */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		metrics_fail(s, "remove", tmp, errno);
		free(buf);
		return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0644);
	if (fd == -1) {
		metrics_fail(s, "create", tmp, errno);
		free(buf);
		return;
	}
	e = fchmod(fd, 0644) == -1 ? errno : 0;	/* whatever the umask */
	while (!e && off < len) {
		if ((w = write(fd, buf + off, len - off)) == -1 && errno != EINTR)
			e = errno;
		else if (w > 0)
			off += (size_t)w;
	}
	free(buf);
	if (close(fd) == -1 && !e)
		e = errno;
	if (e) {
		metrics_fail(s, "write", tmp, e);
		unlink(tmp);
		return;
	}
	if (rename(tmp, s->o->metrics) == -1) {
		metrics_fail(s, "rename", s->o->metrics, errno);
		unlink(tmp);
		return;
	}
	s->m.last_err[0] = '\0';
}

/* metrics_lead: leadership begins (ON) or ends at NOW, for the gauges. */
static void
metrics_lead(struct sup *s, int on, int64_t now)
{
	if (on && !s->m.leader)
		s->m.lead_since = now;
	else if (!on && s->m.leader)
		s->m.led_ns += now - s->m.lead_since;
	s->m.leader = on;
}

/* On every exit: the file says we no longer lead (marked, not removed). */
static struct sup *metrics_sup;

static void
metrics_at_exit(void)
{
	int64_t now = now_ns();

	if (metrics_sup == NULL)
		return;
	metrics_lead(metrics_sup, 0, now);
	metrics_write(metrics_sup, now);
}

/* Ask the worker to release; exit when it answers or t_bail passes. */
static void
release(struct sup *s, int64_t now)
{
	metrics_lead(s, 0, now);
	s->state = ST_RELEASING;
	send_request(&s->w, OP_RELEASE, 0);
	s->t_bail = now + s->o->deadline_ns;
}

/* metrics_loss: leadership lost at NOW, by the renew deadline or not. */
static void
metrics_loss(struct sup *s, int deadline, int64_t now)
{
	if (deadline)
		s->m.lost_deadline++;
	else
		s->m.lost_lost++;
	metrics_lead(s, 0, now);
	metrics_write(s, now);
}

/* stop_job: leadership is lost (DEADLINE: by the renew deadline): stop
 * the command. */
static void
stop_job(struct sup *s, int64_t now, const char *why, int deadline)
{
	if (s->state != ST_RUNNING)
		return;		/* the command has ended already */
	metrics_loss(s, deadline, now);
	warnx("%s: lost leadership: %s", s->o->name, why);
	beat(s, "\xf0\x9f\x92\x94", "[lost]", "LOST LEADERSHIP - %s", why);
	s->lost = 1;
	s->code = EXIT_LOST;
	s->state = ST_STOPPING;
	/* SIGKILL is due kill-after from now, whoever sends it, and stays due
	 * for stragglers if the command itself ends sooner. */
	s->t_kill = now + s->o->kill_ns;
	if (wd_pid(s) > 0)
		wd_send(s, WD_NOW);	/* it signals at once, then SIGKILLs */
	else {
		signal_job(&s->job, wd_pid(s), s->o->sig);
		signal_job(&s->job, wd_pid(s), SIGCONT);
	}
}

/* Send a renewal naming the job, or saying it is done while we hold on. */
static void
renew(struct sup *s)
{
	s->renew_job = s->state == ST_HOLDING ? LEASE_JOB_DONE : (long)s->job.pid;
	send_request(&s->w, OP_RENEW, s->renew_job);
	s->renew_inflight = 1;
	s->t_renew = NEVER;
}

/*
 * hold_lost: the lease went while we held on after the command (--min-hold).
 * The command's work is done and its status stands: say so and leave.
 */
_Noreturn static void
hold_lost(struct sup *s, const char *why, int64_t now)
{
	metrics_loss(s, 0, now);
	warnx("%s: lost the lease during min-hold: %s", s->o->name, why);
	beat(s, "\xf0\x9f\x92\x94", "[lost]", "LOST LEADERSHIP - during "
	    "min-hold: %s", why);
	finish(s, s->code);
}

/*
 * hold_or_release: the command and all it left behind are gone.  With
 * --min-hold, keep the lease, renewing it with the record saying done,
 * until min-hold after the election (on our clock); else release now.  A
 * command that was lost or signalled to stop is not held for.
 */
static void
hold_or_release(struct sup *s, int64_t now)
{
	int64_t hold = s->o->min_hold_ns;
	char d[32];

	if (s->lost || s->signalled || hold == 0) {
		release(s, now);
		return;
	}
	s->t_hold = hold >= NEVER - s->t_elected ? NEVER - 1 : s->t_elected + hold;
	if (now >= s->t_hold) {
		release(s, now);
		return;
	}
	s->state = ST_HOLDING;
	/* To the millisecond: a message, not a measurement. */
	fmt_duration(d, sizeof(d), (s->t_hold - now + NS_PER_MS - 1) /
	    NS_PER_MS * NS_PER_MS);
	logv(s, "command done; holding the lease for %s more (min-hold)", d);
	/* The record says done at once, or right after the renewal in flight. */
	if (s->renew_inflight)
		s->t_renew = now;
	else
		renew(s);
}

/* Renewals failed for renew-deadline while holding: let the lease go. */
static void
hold_deadline(struct sup *s, int64_t now)
{
	char d[32];

	fmt_duration(d, sizeof(d), s->o->deadline_ns);
	warnx("%s: min-hold: no renewal within %s%s%s; releasing", s->o->name, d,
	    s->last_err[0] ? ": " : "", s->last_err);
	metrics_loss(s, 1, now);
	release(s, now);
}

static void job_exited(struct sup *, int, int64_t);
static void on_signal_byte(struct sup *, int, int64_t);

static void
elected(struct sup *s, const struct reply *r, int64_t now)
{
	int sig;

	s->term = r->h.term;
	s->m.elections++;
	s->m.term = s->term;
	metrics_lead(s, 1, r->started);
	metrics_write(s, now);
	logv(s, "elected (term %llu, node %s)", (unsigned long long)s->term,
	    s->o->node_id);
	beat(s, NULL, NULL, "Successfully acquired leadership (term %llu)",
	    (unsigned long long)s->term);
	beat(s, "\xf0\x9f\x8e\x89", "[elected]", "BECAME LEADER - Starting "
	    "leadership duties");
	snprintf(s->leader, sizeof(s->leader), "%s", s->o->node_id);
	s->leader_term = s->term;
	s->t_wait = NEVER;
	/* The acquire began at r->started (or the store's lease was renewed
	 * then): the lease runs from there at best. */
	s->t_elected = r->started;
	s->t_deadline = r->started + s->o->deadline_ns;
	s->state = ST_RUNNING;
	if (r->start_err)
		die(EXIT_FAIL, "start command: %s", strerror(r->start_err));
	if (!r->ran) {
		/* The worker found it too late to start: the lease may run
		 * out under the command.  It never ran, so it needs no grace. */
		char d[32], took[32];

		fmt_duration(d, sizeof(d), s->o->deadline_ns);
		fmt_duration(took, sizeof(took), now - s->t_elected);
		warnx("%s: lost leadership: the command never started: the "
		    "election took %s, more than renew-deadline %s", s->o->name,
		    took, d);
		beat(s, "\xf0\x9f\x92\x94", "[lost]", "LOST LEADERSHIP - the "
		    "command never started");
		metrics_loss(s, 1, now);
		s->lost = 1;
		s->code = EXIT_LOST;
		held_cancel(s);
		close(s->job.go);
		s->job.go = -1;
		kill(-s->job.pid, SIGKILL);
		s->state = ST_STOPPING;
		s->t_kill = NEVER;
		return;
	}
	close(s->job.go);
	s->job.go = -1;
	s->t_renew = r->started + s->o->retry_ns;
	/* Signals that came while the worker started it are for it. */
	for (sig = 1; sig < 64; sig++)
		if (s->pending_sigs & (UINT64_C(1) << sig))
			on_signal_byte(s, sig, now);
	s->pending_sigs = 0;
	if (s->job.early) {
		/* It ran and ended before we heard that it started. */
		job_exited(s, s->job.status, now);
		return;
	}
	/* The first renewal follows at once if the store completes its claim
	 * with it. */
	if (r->renew_now)
		renew(s);
}

static void
on_reply(struct sup *s, struct reply *r, int64_t now)
{
	switch (r->kind) {
	case R_WARNING:
		warnx("warning: %s", r->msg);
		break;
	case R_LOST:
		if (s->state == ST_HOLDING)
			hold_lost(s, r->msg, now);
		stop_job(s, now, r->msg, 0);
		break;
	case R_BUSY:
		s->contacted = 1;
		if (r->h.state == LEASE_HELD && (strcmp(r->h.id, s->leader) ||
		    r->h.term != s->leader_term)) {
			snprintf(s->leader, sizeof(s->leader), "%s", r->h.id);
			s->leader_term = r->h.term;
			if (r->h.id[0])
				beat(s, "\xf0\x9f\x94\x84", "[leader]", "Leader "
				    "is %s (term %llu)", r->h.id,
				    (unsigned long long)r->h.term);
		} else if (r->h.state != LEASE_HELD)
			s->leader[0] = '\0';
		if (r->h.state == LEASE_HELD && r->h.id[0])
			logv(s, "waiting: held by %s on %s (term %llu)", r->h.id,
			    r->h.host, (unsigned long long)r->h.term);
		else if (r->h.state == LEASE_HELD)
			logv(s, "waiting: held by an unknown contender");
		else
			logv(s, "waiting: another contender is taking over");
		break;
	case R_NOT_ELECTED:
		if (r->h.id[0])
			logv(s, "not elected: held by %s on %s (term %llu)",
			    r->h.id, r->h.host, (unsigned long long)r->h.term);
		else
			logv(s, "not elected");
		finish(s, s->o->conflict_code);
		break;
	case R_ERROR:
		if (s->state == ST_ABORTING)
			break;
		if (!s->contacted || s->o->nonblock)
			die(EXIT_FAIL, "%s", r->msg);
		if (strcmp(r->msg, s->last_err)) {
			warnx("%s (retrying)", r->msg);
			snprintf(s->last_err, sizeof(s->last_err), "%s", r->msg);
		}
		break;
	case R_ACQUIRED:
		if (s->state == ST_ABORTING) {
			release(s, now);
			break;
		}
		elected(s, r, now);
		break;
	case R_RENEWED:
		s->renew_inflight = 0;
		if (r->rc == LEASE_OK) {
			s->m.renewals++;
			s->m.renewed_ms = wall_ms();
			if (s->renew_failing)
				logv(s, "renewal works again");
			s->renew_failing = 0;
			s->last_err[0] = '\0';
			/* Never earlier than it was: a renewal that leaned on
			 * an older keepalive does not shorten it. */
			if (r->started + s->o->deadline_ns > s->t_deadline)
				s->t_deadline = r->started + s->o->deadline_ns;
			wd_send(s, s->t_deadline);
		} else if (r->rc == LEASE_LOST) {
			if (s->state == ST_HOLDING)
				hold_lost(s, r->msg, now);
			stop_job(s, now, r->msg, 0);
		} else {
			s->m.renew_failures++;
			metrics_write(s, now);
			if (strcmp(r->msg, s->last_err)) {
				warnx("%s: renew: %s", s->o->name, r->msg);
				snprintf(s->last_err, sizeof(s->last_err), "%s",
				    r->msg);
				s->renew_failing = 1;
			}
		}
		if (s->state == ST_RUNNING || s->state == ST_HOLDING) {
			/* After a failure, try again sooner: several tries fit
			 * in the renew deadline. */
			s->t_renew = r->rc == LEASE_OK ?
			    r->started + s->o->retry_ns : now + s->o->retry_ns / 4;
		}
		/* Holding, and that one still named the job: say done now. */
		if (s->state == ST_HOLDING && s->renew_job != LEASE_JOB_DONE)
			s->t_renew = now;
		break;
	case R_RELEASED:
		if (r->rc == LEASE_OK) {
			logv(s, "released (term %llu)", (unsigned long long)s->term);
			beat(s, "\xf0\x9f\x91\x8b", "[released]", "Released "
			    "leadership (term %llu)", (unsigned long long)s->term);
		}
		else if (r->rc == LEASE_ERR && !s->lost)
			warnx("%s: release: %s", s->o->name, r->msg);
		finish(s, s->code);
		break;
	case R_STOPPED:
		if (s->state == ST_ABORTING)
			finish(s, s->code);
		break;
	}
}

/* Our command is gone: stop what it left behind, then release. */
static void
job_exited(struct sup *s, int status, int64_t now)
{
	s->job.exited = 1;
	wd_send(s, WD_DONE);	/* what is left is ours to stop */
	if (!s->lost) {
		s->code = exit_code(status);
		logv(s, "command exited (status %d)", s->code);
	}
	s->m.exit_status = s->code;
	metrics_write(s, now);
	if (signal_job(&s->job, wd_pid(s), 0)) {
		logv(s, "stopping the processes the command left behind");
		signal_job(&s->job, wd_pid(s), s->o->sig);
		signal_job(&s->job, wd_pid(s), SIGCONT);
		if (s->state != ST_STOPPING || s->t_kill == NEVER)
			s->t_kill = now + s->o->kill_ns;
		s->state = ST_DRAINING;
		s->t_poll = now + STRAGGLER_POLL_NS;
		return;
	}
	hold_or_release(s, now);
}

static void
reap(struct sup *s, int64_t now)
{
	int st, ended = 0;
	pid_t p;

	/* Reap everything first, so that zombies do not count as stragglers. */
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == wd_pid(s)) {
			/* If it went before the job, t_kill still stands.  Its
			 * pipe stays open: the worker may write to it. */
			s->wd = 0;
		} else if (p == s->job.pid && !s->job.exited) {
			s->job.status = st;
			ended = 1;
		}
	}
	if (ended && s->job.go != -1 && !held_cancel(s)) {
		/* The worker started it, and it ended before we heard. */
		s->job.early = 1;
	} else if (ended && s->job.go != -1) {
		/* The held command died before it could start: someone killed
		 * it.  Without it there is nothing to lead for. */
		s->job.exited = 1;
		close(s->job.go);
		s->job.go = -1;
		if (s->state == ST_CONTEND) {
			warnx("%s: the command's process (pid %ld) ended before it "
			    "could start", s->o->name, (long)s->job.pid);
			s->code = EXIT_FAIL;
			s->state = ST_ABORTING;
			send_request(&s->w, OP_STOP, 0);
			s->t_bail = now + s->o->deadline_ns;
		}
	} else if (ended)
		job_exited(s, s->job.status, now);
	else if (s->state == ST_DRAINING && !signal_job(&s->job, wd_pid(s), 0))
		hold_or_release(s, now);
}

static void
on_signal_byte(struct sup *s, int sig, int64_t now)
{
	if (sig == SIGCHLD) {
		reap(s, now);
		return;
	}
	switch (s->state) {
	case ST_CONTEND:
		if (!held_cancel(s)) {
			/* The worker has just started the command: the
			 * signal is for it, once we hear of the start. */
			s->pending_sigs |= UINT64_C(1) << (sig & 63);
			break;
		}
		/* Still waiting: end without running the command. */
		s->code = 128 + sig;
		s->state = ST_ABORTING;
		send_request(&s->w, OP_STOP, 0);
		s->t_bail = now + s->o->deadline_ns;
		break;
	case ST_RUNNING:
		/* Asked to stop: once the command is done, do not hold on. */
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP ||
		    sig == SIGQUIT)
			s->signalled = 1;
		signal_job(&s->job, wd_pid(s), sig);
		break;
	case ST_STOPPING:
	case ST_DRAINING:
		signal_job(&s->job, wd_pid(s), sig);
		break;
	case ST_HOLDING:
		/* The command is done: a signal ends the hold at once. */
		logv(s, "got signal %d: ending min-hold", sig);
		release(s, now);
		break;
	default:
		break;
	}
}

static void
check_exec(struct sup *s)
{
	int e;
	ssize_t n = read(s->job.execerr, &e, sizeof(e));

	if (n == (ssize_t)sizeof(e))
		warnx("failed to run command '%s': %s", s->o->argv[0], strerror(e));
	close(s->job.execerr);
	s->job.execerr = -1;
}

/* deadline_passed: no renewal within renew-deadline: stop the command. */
static void
deadline_passed(struct sup *s, int64_t now)
{
	char d[32], why[LEASE_ERRLEN + 96];

	fmt_duration(d, sizeof(d), s->o->deadline_ns);
	if (s->last_err[0] && s->renew_failing)
		snprintf(why, sizeof(why), "%s", s->last_err);
	else
		snprintf(why, sizeof(why), "no renewal within %s", d);
	stop_job(s, now, why, 1);
}

static void
run_timers(struct sup *s, int64_t now)
{
	if (s->state == ST_RUNNING && now >= s->t_deadline)
		deadline_passed(s, now);
	/* Elected just now, as the wait ran out: the command runs. */
	if (s->state == ST_CONTEND && now >= s->t_wait && !held_cancel(s))
		s->t_wait = NEVER;
	if (s->state == ST_CONTEND && now >= s->t_wait && s->o->nonblock) {
		char d[32];

		fmt_duration(d, sizeof(d), s->o->deadline_ns);
		warnx("%s: the lease store did not answer within %s", s->o->name, d);
		finish(s, EXIT_FAIL);
	}
	if (s->state == ST_CONTEND && now >= s->t_wait) {
		logv(s, "not elected: timed out");
		s->code = s->o->conflict_code;
		s->state = ST_ABORTING;
		send_request(&s->w, OP_STOP, 0);
		s->t_bail = now + s->o->deadline_ns;
	}
	if ((s->state == ST_STOPPING || s->state == ST_DRAINING) &&
	    now >= s->t_kill) {
		signal_job(&s->job, wd_pid(s), SIGKILL);
		s->t_kill = NEVER;
		s->t_poll = now + STRAGGLER_POLL_NS;
	}
	if (s->state == ST_DRAINING && now >= s->t_poll) {
		if (signal_job(&s->job, wd_pid(s), 0))
			s->t_poll = now + STRAGGLER_POLL_NS;
		else
			hold_or_release(s, now);
	}
	if (s->state == ST_HOLDING && now >= s->t_hold) {
		logv(s, "min-hold over");
		release(s, now);
	}
	if (s->state == ST_HOLDING && now >= s->t_deadline)
		hold_deadline(s, now);
	if ((s->state == ST_RUNNING || s->state == ST_HOLDING) &&
	    !s->renew_inflight && now >= s->t_renew)
		renew(s);
	if ((s->state == ST_RELEASING || s->state == ST_ABORTING) &&
	    now >= s->t_bail)
		finish(s, s->code);	/* the store hangs; the job is gone */
	if (s->o->heartbeat_ns && now >= s->t_beat)
		heartbeat(s, now);
	if (s->o->metrics && now >= s->t_metrics) {
		metrics_write(s, now);
		s->t_metrics = now + s->o->retry_ns;
	}
}

static int64_t
earliest(const struct sup *s)
{
	int64_t t = NEVER;

	switch (s->state) {
	case ST_CONTEND:
		t = s->t_wait;
		break;
	case ST_RUNNING:
		t = s->t_deadline;
		if (!s->renew_inflight && s->t_renew < t)
			t = s->t_renew;
		break;
	case ST_STOPPING:
		t = s->t_kill;
		break;
	case ST_DRAINING:
		t = s->t_kill < s->t_poll ? s->t_kill : s->t_poll;
		break;
	case ST_HOLDING:
		t = s->t_hold < s->t_deadline ? s->t_hold : s->t_deadline;
		if (!s->renew_inflight && s->t_renew < t)
			t = s->t_renew;
		break;
	case ST_RELEASING:
	case ST_ABORTING:
		t = s->t_bail;
		break;
	}
	if (s->o->heartbeat_ns && s->t_beat < t)
		t = s->t_beat;
	if (s->o->metrics && s->t_metrics < t)
		t = s->t_metrics;
	return t;
}

static void
start_worker(struct sup *s, const struct lease_config *cfg)
{
	sigset_t all, old;

	s->w.cfg = cfg;
	/* The loop's end of rep[] does not block: deadline_passed may have
	 * taken the reply that poll saw. */
	if (cloexec_pipe(s->w.req, 0) == -1 || cloexec_pipe(s->w.rep, 0) == -1 ||
	    fcntl(s->w.rep[0], F_SETFL, O_NONBLOCK) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	/* The worker takes no signals: they all come to the loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&s->w.thread, NULL, worker_main, &s->w) != 0)
		die(EXIT_FAIL, "cannot start the lease worker");
	/* Never joined: it lives until exit, or ends early on a store error. */
	pthread_detach(s->w.thread);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * heartbeat_slip: was COMMAND (argv[0] of the command, which follows at
 * least our own argv[0]) meant as the interval of --heartbeat?  Its value
 * is optional, so "--heartbeat 2s" makes 2s the command.  Yes if the word
 * before it is --heartbeat, or the abbreviation getopt took for it, and
 * the command reads as a duration.
 */
static int
heartbeat_slip(char **command)
{
	const char *prev = command[-1];
	size_t n = strlen(prev);
	int64_t ns;

	return n >= strlen("--hea") && !strncmp(prev, "--heartbeat", n) &&
	    parse_duration(command[0], &ns) == NULL;
}

static int
supervise(struct opts *o)
{
	struct sup s;
	struct lease_config cfg;
	char host[256], idbuf[300];
	int rc, wdp[2], tell[2];

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.job.go = s.job.execerr = -1;
	if ((rc = resolve(o->argv[0], s.path)) != 0) {
		warnx("failed to run command '%s': %s", o->argv[0],
		    strerror(errno));
		if (rc == EXIT_ENOENT && heartbeat_slip(o->argv))
			warnx("did you mean --heartbeat=%s?", quote(o->argv[0]));
		exit(rc);
	}
	if (o->node_id == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			strcpy(host, "localhost");
		host[64] = '\0';
		snprintf(idbuf, sizeof(idbuf), "%s:%ld", host, (long)getpid());
		o->node_id = idbuf;
	}
	if (setenv("LEADERRUN_NAME", o->name, 1) == -1 ||
	    setenv("LEADERRUN_NODE_ID", o->node_id, 1) == -1)
		die(EXIT_FAIL, "setenv: %s", strerror(errno));
	s.fg = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
#ifdef PR_SET_CHILD_SUBREAPER
	/* Orphans of the command come to us, so we can stop them too. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	cfg.name = o->name;
	cfg.store = o->store;
	/* A network call that hangs must give up in time for another try, on
	 * another member, within the renew deadline. */
	cfg.io_ns = o->deadline_ns / 2;
	cfg.node_id = o->node_id;
	cfg.lease_ns = o->lease_ns;
	cfg.retry_ns = o->retry_ns;
	cfg.password = o->password;
	pthread_sigmask(SIG_SETMASK, NULL, &startup_mask);
	setup_signals();
	/* The watchdog's pipes, before contending so that nothing after the
	 * command's start can run out of descriptors. */
	if (cloexec_pipe(wdp, 1) == -1 || cloexec_pipe(tell, 1) == -1)
		die(EXIT_FAIL, "pipe: %s", strerror(errno));
	/* Before any thread exists: see spawn. */
	spawn(&s.job, s.path, o->argv, s.fg, wdp, tell, o->sig, o->kill_ns);
	s.wd = -1;
	s.wdfd = wdp[1];
	s.wdtell = tell[0];
	cfg.job = (long)s.job.pid;
	s.w.go = s.job.go;
	s.w.wdfd = s.wdfd;
	s.w.deadline_ns = o->deadline_ns;
	atomic_init(&s.w.gate, GATE_HELD);
	start_worker(&s, &cfg);

	s.state = ST_CONTEND;
	s.emoji = o->heartbeat_ns && !o->no_emoji && utf8_locale();
	beat(&s, "\xe2\x9c\x85", "[start]", "Leader election started for %s. "
	    "Press Ctrl+C to stop", o->name);
	s.t_beat = now_ns() + o->heartbeat_ns;
	s.t_wait = NEVER;
	if (o->wait_ns && o->wait_ns < NEVER - now_ns())
		s.t_wait = now_ns() + o->wait_ns;
	if (o->nonblock)	/* one attempt, but never an endless one */
		s.t_wait = now_ns() + o->deadline_ns;
	s.t_renew = s.t_deadline = s.t_kill = s.t_poll = s.t_bail = NEVER;
	s.m.exit_status = -1;
	s.t_metrics = now_ns() + o->retry_ns;
	if (o->metrics) {
		metrics_write(&s, now_ns());
		metrics_sup = &s;
		if (atexit(metrics_at_exit) != 0)
			die(EXIT_FAIL, "atexit: %s", strerror(errno));
	}
	send_request(&s.w, OP_CONTEND, o->nonblock);

	for (;;) {
		struct pollfd pfd[3];
		int64_t now = now_ns(), t = earliest(&s);
		int timeout = -1, n = 2;

		if (t != NEVER) {
			int64_t ms = t > now ? (t - now + NS_PER_MS - 1) / NS_PER_MS : 0;
			timeout = ms > INT_MAX ? INT_MAX : (int)ms;
		}
		pfd[0].fd = sigpipe_fds[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = s.w.rep[0];
		pfd[1].events = POLLIN;
		if (s.job.execerr != -1 && s.job.go == -1) {
			pfd[2].fd = s.job.execerr;
			pfd[2].events = POLLIN;
			n = 3;
		}
		if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR)
			die(EXIT_FAIL, "poll: %s", strerror(errno));
		now = now_ns();
		/* Deadlines first: a leader that was frozen stops its job before
		 * it looks at anything else. */
		run_timers(&s, now);
		if (pfd[0].revents & POLLIN) {
			unsigned char sig[64];
			ssize_t i, got;

			while ((got = read(sigpipe_fds[0], sig, sizeof(sig))) > 0)
				for (i = 0; i < got; i++)
					on_signal_byte(&s, sig[i], now);
		}
		if (n == 3 && (pfd[2].revents & (POLLIN | POLLHUP)))
			check_exec(&s);
		if (pfd[1].revents & POLLIN) {
			struct reply *r;

			if (read(s.w.rep[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
				on_reply(&s, r, now);
				free(r);
			}
		}
		run_timers(&s, now_ns());
	}
	return EXIT_FAIL;	/* not reached: finish() exits */
}

int
main(int argc, char **argv)
{
	struct opts o;

#ifdef M_ARENA_MAX
	/* One arena: the worker's few small blocks do not need a 64 MiB
	 * reservation of their own, nor the page faults that come with it. */
	mallopt(M_ARENA_MAX, 1);
#endif
	parse_args(argc, argv, &o);
	if (o.status)
		return show_status(&o);
	if (o.list)
		return show_list(&o);
	return supervise(&o);
}
