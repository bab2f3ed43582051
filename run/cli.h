/*
 * cli.h - the command line: options, their checks, the timing rules, and
 * --help.  Everything here happens before any lease I/O: a bad option,
 * value or timing exits 125 with a message and the "Try --help" line.
 */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>

#define LEADERRUN_VERSION	"0.1.0"

struct lease_config;

struct opts {
	const char	*name;
	const char	*dir;		/* -d DIR, the short form of -S file:DIR */
	const char	*store;		/* -S URL, or LEADERRUN_STORE */
	const char	*password_file;	/* --store-password-file FILE */
	const char	*password;	/* the store user's, NULL if none */
	const char	*node_id;	/* NULL: HOST:PID, set by the supervisor */
	int64_t		 lease_ns, retry_ns, deadline_ns, kill_ns, wait_ns;
	int64_t		 min_hold_ns;	/* 0: release when the command ends */
	const char	*metrics;	/* --metrics FILE, or NULL */
	int		 sig;
	int		 nonblock;
	int		 slots;		/* --slots N; 0 when not given (one) */
	int		 conflict_code;
	int		 verbose;
	int		 status;
	int		 json;		/* --status/--list as JSON */
	int		 list;		/* --list */
	int		 named;		/* -l was given */
	int64_t		 heartbeat_ns;	/* 0: no heartbeat lines */
	int		 no_emoji;
	char	       **argv;		/* the command */
};

/*
 * parse_args: ARGV into *O, with the defaults of every timing that was not
 * given (they scale with the lease), the store settled (-S, -d,
 * LEADERRUN_STORE, file:/tmp) and its password read.  Exits on --help,
 * --version and on anything refused.
 */
void	parse_args(int argc, char **argv, struct opts *o);

/*
 * opts_lease_config: the lease_config of O: a contender's for a run; for
 * --status and --list a reader's (no node id, 2 s for a network call).
 */
void	opts_lease_config(const struct opts *o, struct lease_config *cfg);

/*
 * heartbeat_slip: was COMMAND (the command's argv, which follows at least
 * our own argv[0]) meant as the interval of --heartbeat?  Its value is
 * optional, so "--heartbeat 2s" makes 2s the command.
 */
int	heartbeat_slip(char **command);

#endif
