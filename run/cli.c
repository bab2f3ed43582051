/*
 * cli.c - options, their values and the timing rules, --help and
 * --version.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "lib/base.h"
#include "run/cli.h"
#include "run/log.h"
#include "run/secret.h"
#include "run/values.h"

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
	fputs("Try 'leaderrun --help' for more information.\n", stderr);
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
"                             redis://[USER@]HOST:PORT[/DB],\n"
"                             redis+unix://[USER@]/PATH[?db=N],\n"
"                             postgres://[USER@]HOST:PORT[,...]/DB or\n"
"                             postgres+unix://[USER@]/DIR[?db=DB]\n"
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
"lease-duration.  On an etcd cluster, a renew-deadline below retry-period + 2s\n"
"cannot ride out one raft election (a warning at the start): -t 7s or more can.\n"
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
 * A raft election stalls every request to an etcd cluster: its members wait
 * out an election timeout (1s by default, which etcd randomises up to 2s)
 * before one stands, while a renewal that went to them hangs or fails.  A
 * leader whose last good renewal came up to a retry-period before the
 * stall needs renew-deadline - retry-period to cover it, or it loses the
 * lease to a member failure the cluster itself rides out.  Measured with
 * tests/partition.sh (raft-stop) on 3-member etcd 3.4 clusters with the
 * default timings: see STORES in the man page.
 */
#define RAFT_ELECTION_NS (2 * NS_PER_S)

static void
warn_raft_election(const struct opts *o)
{
	char b[32], c[32];
	const char *p = o->store + strlen("etcd://");

	/* Only a cluster has elections to ride out: one member named alone
	 * (a test, a small site) stays quiet, as a cron job's mail should. */
	if (strncmp(o->store, "etcd://", strlen("etcd://")) != 0 ||
	    memchr(p, ',', strcspn(p, "/")) == NULL ||
	    o->deadline_ns - o->retry_ns >= RAFT_ELECTION_NS)
		return;
	fmt_duration(b, sizeof(b), o->deadline_ns);
	fmt_duration(c, sizeof(c), o->retry_ns);
	warnx("warning: renew-deadline (%s) - retry-period (%s) is below 2s, "
	    "so one etcd raft election (up to 2s with etcd's default 1s "
	    "election timeout) can cost the lease; -t 7s or more rides it out",
	    b, c);
}


void
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
			printf("leaderrun %s\n", LEADERRUN_VERSION);
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
			/* Only the last word can lack its argument; musl's
			 * getopt leaves optind past argc, glibc's at it. */
			warnx("option '%s' requires an argument",
			    quote(argv[argc - 1]));
			try_help();
			break;
		default:
		{
			const char *bad = argv[optind - 1 < argc ? optind - 1 :
			    argc - 1];

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
	o->password = store_password(o->password_file);
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
	warn_raft_election(o);
}


/*
 * heartbeat_slip: yes if the word before COMMAND is --heartbeat, or the
 * abbreviation getopt took for it, and the command reads as a duration.
 */
int
heartbeat_slip(char **command)
{
	const char *prev = command[-1];
	size_t n = strlen(prev);
	int64_t ns;

	return n >= strlen("--hea") && !strncmp(prev, "--heartbeat", n) &&
	    parse_duration(command[0], &ns) == NULL;
}

void
opts_lease_config(const struct opts *o, struct lease_config *cfg)
{
	int reader = o->status || o->list;

	memset(cfg, 0, sizeof(*cfg));
	cfg->name = o->list ? NULL : o->name;
	cfg->store = o->store;
	cfg->password = o->password;
	cfg->node_id = reader ? "" : o->node_id;
	if (reader) {
		cfg->io_ns = 2 * NS_PER_S;
		return;
	}
	cfg->lease_ns = o->lease_ns;
	cfg->retry_ns = o->retry_ns;
	cfg->stop_ns = o->deadline_ns + o->kill_ns;
	cfg->once = o->nonblock;
	/* A network call that hangs must give up in time for another try, on
	 * another member, within the renew deadline. */
	cfg->io_ns = o->deadline_ns / 2;
}
