# The one place that tells CI from a developer's machine; sourced by
# helpers.bash, etcd.bash and redis.bash (and so by every test file).
#
#   in_ci            true when CI is true, 1 or yes (in any case), as CI
#                    services and .ci/run set it
#   unmet REASON     the test cannot run here: in CI it FAILS with REASON
#                    (nothing may skip there), elsewhere it skips with
#                    REASON; REASON names the Debian package or privilege
#   need_cmd CMD PACKAGE   CMD is on PATH, else unmet naming PACKAGE
#   need_root        the test runs as root, else unmet

in_ci() {
	case ${CI:-} in
	[Tt][Rr][Uu][Ee] | 1 | [Yy][Ee][Ss]) return 0 ;;
	esac
	return 1
}

unmet() {
	if in_ci; then
		echo "CI=$CI, so this is a failure, not a skip: $*" >&2
		return 1
	fi
	skip "$*"
}

need_cmd() {
	command -v "$1" > /dev/null 2>&1 ||
	    unmet "$1 not installed (apt-get install $2)"
}

need_root() {
	[ "$(id -u)" = 0 ] || unmet "needs root (run the suite as root)"
}
