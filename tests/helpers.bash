# Shared setup for the leaderrun bats suite.
# LEADERRUN is set by the Makefile to the freshly built binary.

bats_require_minimum_version 1.5.0

: "${LEADERRUN:=$BATS_TEST_DIRNAME/../leaderrun}"
# Fast timings: a 400ms lease gives retry 80ms, renew-deadline 200ms,
# kill-after 120ms.
FAST=(-t 400ms)

setup() {
	DIR=$BATS_TEST_TMPDIR/locks
	mkdir -p "$DIR"
	OUT=$BATS_TEST_TMPDIR
}

teardown() {
	# Nothing of a test may outlive it.
	pkill -KILL -f -- "-d $DIR" 2>/dev/null || true
	return 0
}

lr() { "$LEADERRUN" -d "$DIR" "$@"; }

# wait_for FILE [SECONDS]: wait until FILE exists.
wait_for() {
	local f=$1 t=${2:-5} i=0
	while [ ! -e "$f" ]; do
		sleep 0.01
		i=$((i + 1))
		[ $i -lt $((t * 100)) ] || { echo "timed out waiting for $f" >&2; return 1; }
	done
}

# wait_gone PID [SECONDS]: wait until process PID has exited.
wait_gone() {
	local p=$1 t=${2:-5} i=0
	while kill -0 "$p" 2>/dev/null; do
		sleep 0.01
		i=$((i + 1))
		[ $i -lt $((t * 100)) ] || { echo "timed out waiting for pid $p" >&2; return 1; }
	done
}

# field KEY: a field of the lease record of lock NAME (default t).
field() { sed -n "s/^$1=//p" "$DIR/${2:-t}.lease"; }
