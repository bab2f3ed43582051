#!/bin/bash
# tests/bench_scale.sh - leaderrun at fleet scale on etcd: N contenders over
# NAMES lease names (1,000 over 100 by default) on one etcd, then on a
# 3-member cluster; prints one table.
#
# usage: tests/bench_scale.sh [LEADERRUN]	(make bench-scale)
#
# Per setup, from a fresh etcd (one member, or three on loopback):
#  - cold start: the contenders are started round robin over the names
#    (name i mod NAMES), all at once (on a cluster, in waves of
#    SCALE_WAVE, each once the last has queued); the time from the first start until
#    every name has a leader (the first command's own timestamp);
#  - idle: once every contender has its key and its watch, and after a
#    settling time, etcd's gRPC messages received per second and calls
#    started per second (grpc_server_msg_received_total and _started_total,
#    summed over the members), etcd's CPU (utime+stime of its processes)
#    and the contenders' CPU, over a window of IDLE seconds;
#  - memory: Pss (/proc/PID/smaps_rollup) of every contender process:
#    supervisors, watchdogs and held commands (the jobs of the leaders are
#    the work, and not counted);
#  - handover: HANDOVERS graceful handovers, one name at a time, while the
#    others idle: the leader's command logs a timestamp as it exits, the
#    next one as it starts (tests/bench_clock relay); a new contender then
#    takes the place of the one that left;
#  - on the cluster, a member killed mid-run: SIGKILL of the first member of
#    every contender's URL (the one they all talk to), then KILLWAIT seconds
#    with handovers going on.
# Every command holds an flock(2) on a witness file of its name while it
# runs and logs an overlap if another holds it: "overlaps" counts them over
# the whole run (target 0), "names led" counts the witnesses held at the end
# (target: all).
#
# Limits: each contender is three processes and two TCP connections to etcd
# (its calls and its watch), so N contenders need about 3N processes
# (ulimit -u) and etcd about 2N file descriptors: the script raises its
# soft ulimit -n to the hard limit, and etcd inherits it.
#
# Environment:
#	SCALE_N=1000 SCALE_NAMES=100	contenders, lease names
#	SCALE_IDLE=20			idle window (s)
#	SCALE_HANDOVERS=30		handovers per setup
#	SCALE_KILLWAIT=20		after the member is killed (s)
#	SCALE_SETUPS="1 3"		one member, three members
#	SCALE_WAVE=200			on a cluster, start this many at a time
#	SCALE_OPTS=""			more leaderrun options (e.g. "-t 5s")
#	SCALE_KEEP=1			keep the work directory
# Needs bash, setsid, awk, etcd and a C compiler; runs a few minutes and
# loads a 2-core machine fully during the cold start.
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
LR_IN=${1:-${LEADERRUN:-$here/../leaderrun}}
N=${SCALE_N:-1000}
NAMES=${SCALE_NAMES:-100}
IDLE=${SCALE_IDLE:-20}
NH=${SCALE_HANDOVERS:-30}
KILLWAIT=${SCALE_KILLWAIT:-20}
SETUPS=${SCALE_SETUPS:-1 3}
WAVE=${SCALE_WAVE:-200}
OPTS=${SCALE_OPTS:-}

die() { echo "bench-scale: $*" >&2; exit 1; }
note() { printf '  %s\n' "$*" >&2; }
for t in etcd setsid awk sort; do
	command -v $t >/dev/null 2>&1 || die "$t is required (Debian: etcd-server)"
done
[ -x "$LR_IN" ] || die "$LR_IN: not an executable (run make first)"
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || CC=gcc

ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((2 * N + 200)) ] ||
	die "etcd needs ~$((2 * N)) file descriptors; ulimit -n is $(ulimit -n)"
[ "$(ulimit -u)" = unlimited ] || [ "$(ulimit -u)" -ge $((4 * N)) ] ||
	die "$N contenders need ~$((3 * N)) processes; ulimit -u is $(ulimit -u)"

W=$(mktemp -d "${TMPDIR:-/tmp}/lrscale.XXXXXX") || die "mktemp failed"
BC=$W/bench_clock
LR=$W/leaderrun		# a private copy: its path tags every contender
EPIDS=() EPORTS=()

# members_stop: SIGTERM to our etcd members by PID, SIGKILL after 5 s.
members_stop() {
	local p i
	for p in "${EPIDS[@]}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
	for p in "${EPIDS[@]}"; do
		[ -n "$p" ] || continue
		for ((i = 0; i < 100; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		{ kill -KILL "$p"; wait "$p"; } 2>/dev/null	# no "Killed" report
	done
	EPIDS=()
}

cleanup() {
	trap - EXIT INT TERM HUP
	[ -x "$BC" ] && "$BC" sweep "$W/" >/dev/null
	members_stop
	wait 2>/dev/null
	if [ "${SCALE_KEEP:-0}" = 1 ]; then echo "bench-scale: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cp "$LR_IN" "$LR" || die "cannot copy $LR_IN"
"$CC" -O2 -iquote "$here/.." -o "$BC" "$here/bench_clock.c" "$here/../lib/host.c" ||
	die "cannot build bench_clock"
HZ=$(getconf CLK_TCK)

# members_start K: K etcd members on free loopback ports, data under $W;
# returns once every member reports itself healthy (a raft leader).
members_start() {
	local k=$1 i j ports=() cluster="" ok
	read -r -a ports <<< "$("$BC" freeport $((2 * k)))"
	for ((i = 0; i < k; i++)); do
		cluster+="${cluster:+,}m$i=http://127.0.0.1:${ports[2 * i + 1]}"
	done
	for ((i = 0; i < k; i++)); do
		EPORTS[i]=${ports[2 * i]}
		rm -rf "$W/etcd$k.$i"
		etcd --name "m$i" --data-dir "$W/etcd$k.$i" \
		    --listen-client-urls "http://127.0.0.1:${EPORTS[i]}" \
		    --advertise-client-urls "http://127.0.0.1:${EPORTS[i]}" \
		    --listen-peer-urls "http://127.0.0.1:${ports[2 * i + 1]}" \
		    --initial-advertise-peer-urls "http://127.0.0.1:${ports[2 * i + 1]}" \
		    --initial-cluster "$cluster" --initial-cluster-token "lrscale$k" \
		    --logger zap --log-level error \
		    </dev/null >/dev/null 2>>"$W/etcd.log" &
		EPIDS[i]=$!
		disown $!	# no "Killed" job report when it is stopped
	done
	for ((j = 0; j < 400; j++)); do
		ok=0
		for ((i = 0; i < k; i++)); do
			"$BC" http "${EPORTS[i]}" /health 2>/dev/null | grep -q '"true"' &&
				ok=$((ok + 1))
		done
		[ $ok = "$k" ] && return 0
		sleep 0.05
	done
	return 1
}

# msgs: gRPC messages received and calls started, summed over the live members.
msgs() {
	local i m c tm=0 tc=0
	for i in "${!EPORTS[@]}"; do
		[ -n "${EPIDS[i]}" ] || continue
		read -r m c <<< "$("$BC" metric "${EPORTS[i]}" \
		    grpc_server_msg_received_total grpc_server_started_total)"
		tm=$((tm + ${m:-0})) tc=$((tc + ${c:-0}))
	done
	echo "$tm $tc"
}

# ticks PID...: utime+stime of these processes, in clock ticks.
ticks() {
	local p
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
	    awk '{ sub(/.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# contenders: "PID ROLE" of every live contender process (supervisor,
# watchdog: the other session leader, held: the held command).
contenders() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(head -c ${#LR} "$p/cmdline" 2>/dev/null | tr -d '\0')" = "$LR" ] ||
			continue
		cat "$p/stat" 2>/dev/null
	done | awk -v sup=" ${PIDS[*]} " '{
		pid = $1; sub(/.*\) /, ""); sid = $4
		if ($1 == "Z") next
		if (index(sup, " " pid " ")) print pid, "supervisor"
		else if (pid == sid) print pid, "watchdog"
		else print pid, "held" }'
}

# pss PID...: their summed Pss in kB.
pss() {
	local p
	for p in "$@"; do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
	    awk '$1 == "Pss:" { t += $2 } END { print t + 0 }'
}

# spawn K: one contender for name nK.
spawn() {
	local k=$1
	# shellcheck disable=SC2086
	setsid "$LR" -S "$URL" -l "n$k" $OPTS -- "$BC" relay-lock "$W/log.$k" \
	    "$W/wit.$k" </dev/null >/dev/null 2>>"$W/err.$SETUP" &
	PIDS+=($!)
	disown $!	# no "Killed" job reports at the sweep
}

# stats FILE: "n p50 p99 max" in ms of the ns values in FILE.
stats() {
	sort -n "$1" 2>/dev/null | awk '
	function rank(q) { r = int(q * NR); if (r < q * NR) r++; return r < 1 ? 1 : r }
	{ v[NR] = $1 }
	END {
		if (NR == 0) { print "0 nan nan nan"; exit }
		printf "%d %.2f %.2f %.2f\n", NR, v[rank(.5)] / 1e6, v[rank(.99)] / 1e6,
		    v[NR] / 1e6 }'
}

# handover K: hand name K over to its next contender; the time (ns) from the
# exit of the old command to the start of the new one to $W/ho.$SETUP.
handover() {
	local k=$1 log n pid
	log=$W/log.$k
	n=$(wc -l < "$log")
	read -r _ _ pid _ <<< "$(grep '^S' "$log" | tail -n 1)"
	kill -USR1 "$pid" 2>/dev/null || return 1
	"$BC" await "$log" $((n + 2)) 20000 >/dev/null || return 1
	awk -v n="$n" 'NR > n && $1 == "E" { e = $2 } NR > n && $1 == "S" && e { print $2 - e; exit }' \
	    "$log" >> "$W/ho.$SETUP"
	spawn "$k"
}

declare -A R
run_setup() {
	local k=$1 i t0 t1 m0 m1 c0 c1 e0 e1 l0 l1 ep="" wait_all role p
	local -a sup=() wd=() held=() all=()
	SETUP=$k PIDS=()
	echo "setup: $N contenders over $NAMES names on $k etcd member(s)" >&2
	members_start "$k" || { note "etcd did not start: $(tail -n 2 "$W/etcd.log")"; return 1; }
	for ((i = 0; i < k; i++)); do ep+="${ep:+,}127.0.0.1:${EPORTS[i]}"; done
	URL=etcd://$ep
	rm -f "$W"/log.* "$W"/wit.*
	for ((i = 0; i < NAMES; i++)); do : > "$W/log.$i"; done

	# Cold start: all at once on one member; on a cluster, in waves of
	# WAVE, each once the last has queued (all at once, the three members
	# and the contenders share the 2 cores of the machine this was written
	# on, calls time out, and a contender whose first call fails exits 125).
	local wave=$N
	[ "$k" -gt 1 ] && wave=$WAVE
	t0=$("$BC" now)
	for ((i = 0; i < N; i++)); do
		spawn $((i % NAMES))
		if (((i + 1) % wave == 0 && i + 1 < N)); then
			"$BC" equeue "${EPORTS[0]}" leaderrun/ $((i + 1)) 0 60000 >/dev/null
		fi
	done
	t1=$("$BC" now)
	R[spawn_$k]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	for ((wait_all = 0; wait_all < 600; wait_all++)); do
		i=$(grep -l '^S' "$W"/log.* 2>/dev/null | wc -l)
		[ "$i" -ge "$NAMES" ] && break
		sleep 0.2
	done
	R[cold_$k]=$(for ((i = 0; i < NAMES; i++)); do grep -m1 '^S' "$W/log.$i"; done |
	    awk -v t0="$t0" -v n="$NAMES" '{ if ($2 > m) m = $2; c++ }
	    END { if (c < n) print "only " c " names"; else printf "%.2f s\n", (m - t0) / 1e9 }')
	note "cold start: spawned in ${R[spawn_$k]} s, all names led after ${R[cold_$k]}"

	# Every contender queued and watching (each: a key; each name: a mark).
	"$BC" equeue "${EPORTS[0]}" leaderrun/ $((N + NAMES)) "$N" 300000 >/dev/null ||
		note "WARNING: not every contender queued and watching in 300 s"
	sleep 3		# past the first renewal of each leader

	# Idle.
	read -r m0 c0 <<< "$(msgs)"
	e0=$(ticks "${EPIDS[@]}"); l0=$(ticks "${PIDS[@]}")
	t0=$("$BC" now)
	sleep "$IDLE"
	read -r m1 c1 <<< "$(msgs)"
	e1=$(ticks "${EPIDS[@]}"); l1=$(ticks "${PIDS[@]}")
	t1=$("$BC" now)
	R[req_$k]=$(awk -v m=$((m1 - m0)) -v c=$((c1 - c0)) -v dt=$((t1 - t0)) \
	    'BEGIN { printf "%.0f (%.0f calls)", m / (dt / 1e9), c / (dt / 1e9) }')
	R[ecpu_$k]=$(awk -v t=$((e1 - e0)) -v dt=$((t1 - t0)) -v hz="$HZ" \
	    'BEGIN { printf "%.1f %%", t / hz / (dt / 1e9) * 100 }')
	R[lcpu_$k]=$(awk -v t=$((l1 - l0)) -v dt=$((t1 - t0)) -v hz="$HZ" \
	    'BEGIN { printf "%.1f %%", t / hz / (dt / 1e9) * 100 }')
	note "idle ${IDLE}s: etcd messages/s ${R[req_$k]}, etcd CPU ${R[ecpu_$k]} of a core," \
	    "supervisors' CPU ${R[lcpu_$k]}"

	# Memory.
	while read -r p role; do
		all+=("$p")
		case $role in supervisor) sup+=("$p") ;; watchdog) wd+=("$p") ;; *) held+=("$p") ;; esac
	done <<< "$(contenders)"
	R[pss_$k]=$(pss "${all[@]}")
	R[pssn_$k]="${#sup[@]} / ${#wd[@]} / ${#held[@]}"
	R[psss_$k]="$(pss "${sup[@]}") / $(pss "${wd[@]}") / $(pss "${held[@]}")"
	note "Pss: ${R[pss_$k]} kB in ${#all[@]} processes; supervisors / watchdogs / held:" \
	    "${R[pssn_$k]} processes, ${R[psss_$k]} kB"

	# Handovers while the others idle.
	for ((i = 0; i < NH; i++)); do
		handover $((i % NAMES)) || note "WARNING: handover of n$((i % NAMES)) failed"
		sleep 0.3	# the new contender joins; then quiet
	done
	R[ho_$k]=$(stats "$W/ho.$k")
	note "handover: n p50 p99 max (ms) = ${R[ho_$k]}"

	# A member killed mid-run.
	R[kill_$k]=-
	if [ "$k" -gt 1 ]; then
		local s0 s1 nh=0
		s0=$(cat "$W"/log.* | grep -c '^S')
		{ kill -KILL "${EPIDS[0]}"; wait "${EPIDS[0]}"; } 2>/dev/null
		EPIDS[0]=
		t0=$("$BC" now)
		t1=$((t0 + KILLWAIT * 1000000000))
		while [ "$("$BC" now)" -lt "$t1" ]; do
			handover $(((NH + nh) % NAMES)) 2>/dev/null && nh=$((nh + 1))
			sleep 1
		done
		s1=$(cat "$W"/log.* | grep -c '^S')
		R[kill_$k]="$((s1 - s0 - nh)) lost, $nh handed over"
		note "member 0 killed: leaderships lost ${R[kill_$k]} in ${KILLWAIT}s"
	fi

	# The witnesses.
	R[ovl_$k]=$(cat "$W"/log.* | grep -c '^O')
	R[led_$k]=$(for ((i = 0; i < NAMES; i++)); do
		flock -n "$W/wit.$i" true 2>/dev/null || echo
	done | wc -l)
	R[alive_$k]=$(for p in "${PIDS[@]}"; do [ -e "/proc/$p" ] && echo; done | wc -l)
	note "overlaps ${R[ovl_$k]}, names led ${R[led_$k]}/$NAMES," \
	    "contenders alive ${R[alive_$k]} (of $N in line)"
	tail -n 3 "$W/err.$k" 2>/dev/null | sed 's/^/  stderr: /' >&2

	"$BC" sweep "$W/" >/dev/null
	wait 2>/dev/null
	members_stop
}

T0=$(date +%s)
echo "bench-scale: $(etcd --version | awk '/^etcd Version/ { print "etcd " $3 }'), $N contenders," \
    "$NAMES names, leaderrun ${OPTS:-default timings}; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for s in $SETUPS; do run_setup "$s"; done

row() { printf '%s|%s|%s\n' "$@"; }
{
	row "metric" "1 member" "3 members"
	row "-" "-" "-"
	v() { echo "${R[${1}_$2]:--}"; }
	row "cold start: all $NAMES names led after" "$(v cold 1)" "$(v cold 3)"
	row "  (spawning the $N took, s; 3: in waves of $WAVE)" "$(v spawn 1)" "$(v spawn 3)"
	row "idle: etcd gRPC messages/s (calls/s)" "$(v req 1)" "$(v req 3)"
	row "idle: etcd CPU (all members, % of a core)" "$(v ecpu 1)" "$(v ecpu 3)"
	row "idle: supervisors' CPU (% of a core)" "$(v lcpu 1)" "$(v lcpu 3)"
	row "Pss of the contenders, kB" "$(v pss 1)" "$(v pss 3)"
	row "  supervisor / watchdog / held: processes" "$(v pssn 1)" "$(v pssn 3)"
	row "  supervisor / watchdog / held: kB" "$(v psss 1)" "$(v psss 3)"
	row "handover n p50 p99 max (ms), others idle" "$(v ho 1)" "$(v ho 3)"
	row "member killed: leaderships lost (target 0)" "$(v kill 1)" "$(v kill 3)"
	row "overlaps (target 0)" "$(v ovl 1)" "$(v ovl 3)"
	row "names led at the end (target $NAMES)" "$(v led 1)" "$(v led 3)"
	row "contenders alive at the end" "$(v alive 1)" "$(v alive 3)"
} | column -t -s '|'
echo "bench-scale: $(( $(date +%s) - T0 )) s"
