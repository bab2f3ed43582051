# Shared setup for the leaderrun bats suite.
# LEADERRUN is set by the Makefile to the freshly built binary.

bats_require_minimum_version 1.5.0
# in_ci, unmet, need_cmd, need_root: skip on a developer's machine, fail in CI.
source "${BASH_SOURCE[0]%/*}/ci.bash"

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
# The file has two 512-byte slots; the current record is the one with the
# higher seq.
field() {
	local f=$DIR/${2:-t}.lease a b
	a=$(head -c 512 "$f" | sed -n 's/^seq=//p')
	b=$(tail -c +513 "$f" | head -c 512 | sed -n 's/^seq=//p')
	if [ -n "$b" ] && { [ -z "$a" ] || [ "$b" -gt "$a" ]; }; then
		tail -c +513 "$f" | head -c 512 | sed -n "s/^$1=//p"
	else
		head -c 512 "$f" | sed -n "s/^$1=//p"
	fi
}

# ---- shared by 02-*.bats .. 09-*.bats -------------------------------------

# lr_setup / lr_teardown: what setup and teardown above do (the files that
# use these define setup and teardown of their own), plus: every process the
# test starts carries LRT_TAG in its environment, and lr_teardown kills all
# of them, whatever their command line (commands, stragglers, helpers, other
# users' and other PID namespaces' processes included).
lr_setup() {
	DIR=$BATS_TEST_TMPDIR/locks
	mkdir -p "$DIR"
	OUT=$BATS_TEST_TMPDIR
	export LRT_TAG=$BATS_TEST_TMPDIR
	EXTRA_DIR=
}

lr_teardown() {
	kill_tagged
	if [ -n "${EXTRA_DIR:-}" ]; then
		chmod -R u+rwx "$EXTRA_DIR" 2>/dev/null || true
		rm -rf "$EXTRA_DIR"
	fi
	return 0
}

# kill_tagged: SIGKILL every process carrying this test's LRT_TAG except this
# shell (the test process, where lr_setup exported it; its ancestors do not
# carry it), until none is left.
kill_tagged() {
	local p pids round found
	[ -n "${LRT_TAG:-}" ] || return 0
	for round in 1 2 3 4 5; do
		pids=$(grep -lzxF "LRT_TAG=$LRT_TAG" /proc/[0-9]*/environ 2>/dev/null |
		    cut -d/ -f3) || true
		found=0
		for p in $pids; do
			[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
			kill -KILL "$p" 2>/dev/null && found=1
		done
		[ $found = 1 ] || break
		sleep 0.02
	done
	return 0
}

# now_ms: the wall clock in milliseconds, without forking.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# wait_until SECONDS COMMAND [ARG ...]: run COMMAND every 10ms until it
# succeeds; fail after SECONDS (an integer).
wait_until() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		if [ "$(now_ms)" -ge $end ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.01
	done
}

# has PATTERN FILE: FILE exists and contains the fixed string PATTERN.
has() { [ -e "$2" ] && grep -qF -- "$1" "$2"; }

# alive PID: process PID exists and is not a zombie.
alive() {
	local line
	[ -n "$1" ] && read -r line 2>/dev/null < "/proc/$1/stat" || return 1
	line=${line##*) }
	[ "${line%% *}" != Z ]
}

# dead PID: process PID is gone or a zombie.
dead() { ! alive "$1"; }

# bg NAME ARG ...: run leaderrun -d DIR ARG ... in the background, stdout to
# $OUT/NAME.out, stderr to $OUT/NAME.err; its pid is in $OUT/NAME.pid.
# SIGINT and SIGQUIT are reset to default, as for a command started in the
# foreground (bash starts background jobs with both ignored, and leaderrun
# leaves signals that were ignored at its start alone).
bg() {
	local n=$1
	shift
	env --default-signal=INT,QUIT "$LEADERRUN" -d "$DIR" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

# pid_of NAME: the pid of background job NAME started with bg.
pid_of() { cat "$OUT/$1.pid"; }

# wait_exit NAME [SECONDS]: wait until background job NAME has ended; its
# exit status goes to STATUS.
wait_exit() {
	local p
	p=$(pid_of "$1")
	wait_gone "$p" "${2:-5}" || return 1
	STATUS=0
	wait "$p" || STATUS=$?
}

# sys_id: this host's "sys" value as leaderrun writes it in the record.
sys_id() {
	echo "$(cat /proc/sys/kernel/random/boot_id)/$(stat -L -c %i /proc/self/ns/pid)"
}

# start_ticks PID: the start time of PID in clock ticks (/proc/PID/stat field 22).
start_ticks() {
	local line
	read -r line < "/proc/$1/stat"
	line=${line##*) }
	set -- $line
	echo "${20}"
}

# fnv1a64 STRING: the FNV-1a 64-bit hash of STRING (ASCII), 16 hex digits.
fnv1a64() {
	local LC_ALL=C s=$1 i c h=-3750763034362895579 # offset basis, signed
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ c) * 1099511628211))
	done
	printf '%016x\n' "$h"
}

# slotted: true if this leaderrun writes the record as two checksummed
# 512-byte slots (seq= and sum= lines), false for the single text record of
# the spec.  Found out once per run by looking at a record it wrote.  (Tests
# run in parallel: the cache appears whole, by rename, or not at all.)
slotted() {
	local cache=$BATS_RUN_TMPDIR/lrt-record-format d
	if [ ! -s "$cache" ]; then
		d=$(mktemp -d "$BATS_RUN_TMPDIR/lrt-probe.XXXXXX")
		"$LEADERRUN" -d "$d" -l probe -- true > /dev/null 2>&1 || true
		if grep -aq '^seq=' "$d/probe.lease" 2>/dev/null; then
			echo slotted > "$d/format"
		else
			echo plain > "$d/format"
		fi
		mv -f "$d/format" "$cache"
		rm -rf "$d"
	fi
	[ "$(cat "$cache")" = slotted ]
}

# write_record FILE key=value ...: write a lease record in the format this
# leaderrun reads (a valid one by default: held by other-node elsewhere;
# arguments override fields, "-key" drops one) and move it over FILE.
write_record() {
	local f=$1 k text slot pad
	shift
	local -A rec=([seq]=1 [state]=held [holder]=other-node [host]=elsewhere
	    [sys]=0-0-0/1 [pid]=4242 [start]=0 [job]=0 [term]=7
	    [acquired]=1 [renewed]=1 [renewals]=1 [lease_ms]=400)
	local order=(state holder host sys pid start job term acquired renewed
	    renewals lease_ms)
	for k in "$@"; do
		case $k in
		-*) unset "rec[${k#-}]" ;;
		*) rec[${k%%=*}]=${k#*=} ;;
		esac
	done
	text="leaderrun-lease 1"$'\n'
	if slotted; then
		[ -n "${rec[seq]+x}" ] && text+="seq=${rec[seq]}"$'\n'
	fi
	for k in "${order[@]}"; do
		[ -n "${rec[$k]+x}" ] && text+="$k=${rec[$k]}"$'\n'
	done
	if slotted; then
		# Slot seq%2 holds the record, the other one only padding.
		text+="sum=$(fnv1a64 "$text")"$'\n'
		printf -v pad '%*s' $((511 - ${#text})) ''
		slot=$text$pad$'\n'
		printf -v pad '%511s' ''
		if [ $((${rec[seq]:-1} % 2)) = 1 ]; then
			printf '%s\n%s' "$pad" "$slot" > "$f.tmp.$$"
		else
			printf '%s%s\n' "$slot" "$pad" > "$f.tmp.$$"
		fi
	else
		printf '%s' "$text" > "$f.tmp.$$"
	fi
	mv -f "$f.tmp.$$" "$f"
}

# hold_mutex LOCKFILE READY: in the background, hold the lease store's record
# lock (an fcntl write lock on byte 0 of LOCKFILE), as a writer stuck in I/O
# would; create READY once it is held; MUTEX_PID is its pid.  Linux
# x86_64/aarch64 struct flock.
hold_mutex() {
	perl -e '
		use Fcntl;
		sysopen(my $fh, $ARGV[0], O_RDWR) or die "open $ARGV[0]: $!";
		my $fl = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 1, 0);
		fcntl($fh, F_SETLKW, $fl) or die "lock: $!";
		open(my $r, ">", $ARGV[1]) or die "$ARGV[1]: $!";
		close $r;
		sleep 1000;' "$1" "$2" &
	MUTEX_PID=$!
	disown
}

# elapsed_ms SINCE: milliseconds since SINCE (a now_ms value).
elapsed_ms() { echo $(($(now_ms) - $1)); }

# AT_ONCE_MS: the bound for what the man page calls "at once" (a handover
# on one host, a -n try, a takeover from a dead local holder): milliseconds
# of work (processes to start and reap, a shell polling every 10ms), never a
# poll period.  tests/spread.sh, 30 runs of each such test of 02, 05 and 06:
# 11-51ms, and 19-72ms with both cores busy (yes > /dev/null); 300ms leaves
# room for make test's four files at a time on a shared machine.  The
# sanitizer builds of make test-race are timed by the same tests but are
# not what the claim is about: a TSan leaderrun takes ~1.2 s to exit.
AT_ONCE_MS=300
[ -z "${LEADERRUN_SANITIZED:-}" ] || AT_ONCE_MS=1800

# Timings for a leader that must keep its lease on a busy machine, notice a
# loss within 50ms, and give its command 600ms to act on the stop signal.
SAFE=(-t 2s -r 50ms --renew-deadline 1s -k 600ms)

# "${HOLD[@]}" READY GO: command words for a command that creates READY, then
# runs until GO exists.
HOLD=(sh -c 'touch "$1"; until [ -e "$2" ]; do sleep 0.01; done' hold)

# "${TRAPPER[@]}" SIG MARK READY STATUS: command words for a command that on
# SIG writes SIG to MARK and exits STATUS; it creates READY once the trap is
# set.
TRAPPER=(sh -c 'trap "echo $1 > \"$2\"; exit $4" "$1"; touch "$3"
	while :; do sleep 0.01; done' trapper)
