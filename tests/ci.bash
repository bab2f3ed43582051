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
#   need_shim        the fault shim (LD_PRELOAD) can reach LEADERRUN: a
#                    static build (LEADERRUN_STATIC=1, make test-static)
#                    loads no shared object, so there the test skips, in
#                    CI too: make test runs it on the default build

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

need_shim() {
	[ -z "${LEADERRUN_STATIC:-}" ] || skip "a static binary loads no LD_PRELOAD: the fault shim cannot reach it (make test runs this on the default build)"
	[ -n "${FAULTSHIM:-}" ] && [ -e "$FAULTSHIM" ] ||
	    unmet "no FAULTSHIM (make test builds tests/faultshim.so and sets it)"
}
