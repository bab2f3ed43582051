#!/bin/bash
# tests/bench.sh - benchmark leaderrun against flock(1), leaderrun on etcd
# against `etcdctl lock` on the same etcd, and leaderrun on Redis against
# leaderrun on the file store, in one run; print one table per baseline
# (metric | leaderrun | flock, etcdctl lock or file store | ratio | target |
# pass/fail).  Given a second build (make bench: the static one), it runs
# beside the first in every measurement but the frozen leader, and the
# tables get its columns: its value, its ratio, and its own target after
# the default build's ("1.3x / 1.1x": default / static).
#
# usage: tests/bench.sh [LEADERRUN [STATIC]]	(make bench; default ../leaderrun)
#
# Needs bash, flock, setsid, unshare (util-linux), coreutils, awk and a C
# compiler for tests/bench_clock.c (timestamps, waits, process cleanup).
# The frozen-leader test needs root (unshare of PID and UTS namespaces); it
# is reported as skipped otherwise.  The etcd section needs etcd and
# etcdctl (3.4 or later; Debian: etcd-server etcd-client) and is skipped
# with a note without them; it starts its own etcd on 127.0.0.1 (free ports,
# a data directory under the work directory) and stops it by its PID.  The
# Redis section needs redis-server and redis-cli (Debian: redis-server
# redis-tools), is skipped likewise without them, and starts its own
# redis-server the same way (no persistence, maxclients 10000: 1,000
# waiters hold 2,000 connections); it runs the default build only.
# Environment:
#	BENCH_QUICK=1	fewer trials, shorter windows (a smoke test, ~2 min)
#	BENCH_ONLY="..."	only these sections: uncontended handover crash
#			frozen idle etcd redis postgres (tests/bench_pg.sh,
#			on a PostgreSQL 15 of its own, beside etcd)
#	BENCH_ETCD_ONLY=1	only the etcd section (BENCH_ONLY=etcd)
#	TMPDIR		where the lock files go (default /tmp)
#	BENCH_KEEP=1	keep the work directory (logs) for inspection
#	BENCH_VERBOSE=1	run the contenders with -v (their stderr: DIR/err)
#
# Method.  Every timestamp is CLOCK_MONOTONIC, taken by the same helper
# (bench_clock) on both sides, so the fork/exec cost of the measured command
# is the same for leaderrun and flock.
#  - uncontended: fork to waitpid of `leaderrun -l b -- true`, `flock FILE
#    true` and `true`, round robin; overhead = median - median(true).
#  - handover: the leader's command logs a timestamp right before it exits
#    (on SIGUSR1), the next contender's command logs one as its first action.
#    Trials are chained: each successor is the next leader, a new waiter
#    replaces it, and the next trial starts only once /proc/locks shows all
#    N waiters blocked on the lock (leaderrun: byte 2 of NAME.lock).
#  - crash: SIGKILL of the leader's supervisor (flock: of flock and its
#    command's whole process group; and, once, of flock alone) -> the next
#    command starts.  The next command first checks that no process of the
#    old job (the command and a child it forked) is still alive.
#  - frozen: the leader runs in other PID+UTS namespaces (another "host",
#    same lock dir); SIGSTOP of its supervisor -> the next command starts.
#  - idle: CPU of the leader's processes, of N waiting followers and of
#    flock(1) waiters over a window at default timings: utime+stime from
#    /proc/PID/stat (all threads) and, because tick sampling misses short
#    wake-ups, run time from /proc/PID/task/*/schedstat; peak RSS (VmHWM).
#  - redis: uncontended, handover (2 and 100 waiters) and crash as above,
#    leaderrun on Redis and on the file store in the same rounds (a trial
#    starts once Redis counts a subscription, and a place when the lease
#    has a queue, per waiter); Redis commands per handover with 100 and
#    with 1,000 waiters (started in waves of 100), and per second from 100
#    idle waiters and the leader at default timings, from INFO
#    commandstats: top-level (EVAL, EVALSHA, SUBSCRIBE...) and, in a
#    detail line, those run inside the scripts; the memory (VmRSS, Pss) of
#    a waiting contender's processes.
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
LR_IN=${1:-${LEADERRUN:-$here/../leaderrun}}
LS_IN=${2:-}
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-uncontended handover crash frozen idle etcd redis slots postgres}
[ "${BENCH_ETCD_ONLY:-0}" = 1 ] && ONLY=etcd
T_START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

die() { echo "bench: $*" >&2; exit 1; }
for t in flock setsid awk sort; do
	command -v $t >/dev/null 2>&1 || die "$t is required"
done
[ -x "$LR_IN" ] || die "$LR_IN: not an executable (run make first)"
[ -z "$LS_IN" ] || [ -x "$LS_IN" ] || die "$LS_IN: not an executable (make static)"
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || CC=gcc
command -v "$CC" >/dev/null 2>&1 || die "a C compiler is required"

W=$(mktemp -d "${TMPDIR:-/tmp}/lrbench.XXXXXX") || die "mktemp failed"
BC=$W/bench_clock
LR=$W/leaderrun		# a private copy: a rebuild mid-run cannot change it
LS=			# the static build's, named leaderrun too (its watchdog's comm)

cleanup() {
	trap - EXIT INT TERM HUP
	declare -F etcd_stop >/dev/null && etcd_stop
	declare -F redis_stop >/dev/null && redis_stop
	# Every process we start has $W in its command line.
	[ -x "$BC" ] && "$BC" sweep "$W/" >/dev/null
	wait 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cp "$LR_IN" "$LR" || die "cannot copy $LR_IN"
if [ -n "$LS_IN" ]; then
	LS=$W/static/leaderrun
	mkdir "$W/static" && cp "$LS_IN" "$LS" || die "cannot copy $LS_IN"
fi
# It reads /proc through lib/host.c, as leaderrun does.
"$CC" -O2 -static -iquote "$here/.." -o "$BC" "$here/bench_clock.c" \
    "$here/../lib/host.c" 2>/dev/null ||
	"$CC" -O2 -iquote "$here/.." -o "$BC" "$here/bench_clock.c" \
	    "$here/../lib/host.c" || die "cannot build bench_clock"

if [ "$QUICK" = 1 ]; then
	N_UNC=100 N_H2=25 B_H2=1 N_H100=10 B_H100=1 N_CRASH=15 N_FROZEN=2
	W_IDLE100=5 W_IDLE1000=5 N_FOLLOW=(100 300)
	N_EUNC=40 N_EH2=10 B_EH2=1 N_EH100=6 B_EH100=1 N_ECRASH=10 N_ECRASH_CTL=3
	W_EIDLE=5
	N_RUNC=40 N_RH2=10 B_RH2=1 N_RH100=6 B_RH100=1 N_RCRASH=10
	N_RC100=2 N_RC1000=1 N_RIDLE=100 W_RIDLE=10
	N_SH=6 B_SH=1
else
	N_UNC=300 N_H2=25 B_H2=4 N_H100=25 B_H100=2 N_CRASH=50 N_FROZEN=6
	W_IDLE100=10 W_IDLE1000=20 N_FOLLOW=(100 1000)
	N_EUNC=150 N_EH2=15 B_EH2=2 N_EH100=10 B_EH100=2 N_ECRASH=30
	N_ECRASH_CTL=6 W_EIDLE=10
	N_RUNC=150 N_RH2=25 B_RH2=2 N_RH100=15 B_RH100=2 N_RCRASH=30
	N_RC100=3 N_RC1000=2 N_RIDLE=100 W_RIDLE=20
	N_SH=12 B_SH=2
fi
SETTLE=0.02		# quiet time before each trial
ESETTLE=0.05		# etcd: after the last scrape of /metrics
FROZEN_T=2s FROZEN_R_MS=400	# frozen test: -t 2s gives retry 400ms
HZ=$(getconf CLK_TCK)
SIGSTOP_N=$(kill -l STOP)
SEQ=0
VERBOSE=
[ "${BENCH_VERBOSE:-0}" = 1 ] && VERBOSE=-v
declare -A R		# results by key

want() { [[ " $ONLY " == *" $1 "* ]]; }
note() { printf '  %s\n' "$*" >&2; }

# stats FILE: "n p50 p99 min max" in ms of the ns values in FILE
# (percentiles by nearest rank).
stats() {
	sort -n "$1" 2>/dev/null | awk '
	function rank(q) { r = int(q * NR); if (r < q * NR) r++; return r < 1 ? 1 : r }
	{ v[NR] = $1 }
	END {
		if (NR == 0) { print "0 nan nan nan nan"; exit }
		printf "%d %.3f %.3f %.3f %.3f\n", NR, v[rank(.5)] / 1e6,
		    v[rank(.99)] / 1e6, v[1] / 1e6, v[NR] / 1e6
	}'
}

# bin TOOL: the binary of a leaderrun tool (lr le: default build, ls es:
# static build).
bin() { case $1 in ls|es) echo "$LS" ;; *) echo "$LR" ;; esac; }

# spawn TOOL DIR OPTS CMD...: start one contender for lock DIR/h in its own
# session, stdin from /dev/null.  OPTS: extra leaderrun options (one word,
# split on commas).  The pid goes to $!.
spawn() {
	local tool=$1 d=$2 opts=$3
	shift 3
	if [ "$tool" = lr ] || [ "$tool" = ls ]; then	# ls: the static build
		setsid "$(bin "$tool")" -d "$d" -l h ${opts//,/ } $VERBOSE -- "$@" \
		    </dev/null >/dev/null 2>>"$d/err" &
	elif [ "$tool" = le ] || [ "$tool" = es ]; then	# on etcd, lock named after DIR
		setsid "$(bin "$tool")" -S "etcd://$EEP" -l "${d##*/}" ${opts//,/ } \
		    $VERBOSE -- "$@" </dev/null >/dev/null 2>>"$d/err" &
	elif [ "$tool" = rx ]; then	# on Redis, lock named after DIR
		setsid "$LR" -S "$RURL" -l "${d##*/}" ${opts//,/ } $VERBOSE -- "$@" \
		    </dev/null >/dev/null 2>>"$d/err" &
	elif [ "$tool" = ec ]; then	# etcdctl lock
		setsid etcdctl --endpoints "$EEP" lock ${opts//,/ } "${d##*/}" \
		    -- "$@" </dev/null >/dev/null 2>>"$d/err" &
	else
		setsid flock "$d/h.flock" "$@" </dev/null >/dev/null 2>>"$d/err" &
	fi
	disown $!	# no "Killed" job reports; bash still reaps it
}

# lockspec TOOL DIR: the lock file and first byte waiters block on.
lockspec() {
	if [ "$1" = flock ]; then echo "$2/h.flock 0"; else echo "$2/h.lock 2"; fi
}

# waitq TOOL DIR N TIMEOUT_MS: wait until N contenders of the chain in DIR
# wait (file store, flock: blocked on the lock in /proc/locks; Redis: see
# rwait).  1 on timeout.
waitq() {
	local lock start
	if [ "$1" = rx ]; then
		rwait "${2##*/}" "$3" "$4"
	else
		read -r lock start <<< "$(lockspec "$1" "$2")"
		"$BC" waitlocks "$lock" "$start" "$3" "$4" >/dev/null
	fi
}

newdir() {
	SEQ=$((SEQ + 1))
	D=$W/c$SEQ
	mkdir "$D" && : > "$D/log"
}

# endchain DIR: kill everything of a chain (until none is left) and reap.
endchain() {
	"$BC" sweep "$1/" >/dev/null
	wait 2>/dev/null
}

# ---- uncontended -------------------------------------------------------

bench_uncontended() {
	local d=$W/unc out=$W/unc.out
	mkdir "$d"
	local keys="lr flock true" static=()
	[ -z "$LS" ] || { keys="lr flock true ls"; static=(::: "$LS" -d "$d" -l s -- true); }
	echo "uncontended: $N_UNC runs each, round robin" >&2
	"$BC" alt "$N_UNC" "$out" "$LR" -d "$d" -l b -- true ::: \
	    flock "$d/b.flock" true ::: true "${static[@]}" </dev/null >/dev/null 2>&1
	awk '$3 != 0 { bad++ } END { exit bad > 0 }' "$out" ||
		note "WARNING: some runs failed"
	local i=0 k
	for k in $keys; do
		i=$((i + 1))
		awk -v i=$((i - 1)) '$1 == i { print $2 }' "$out" > "$W/unc.$k"
		R[unc_$k]=$(stats "$W/unc.$k")
		note "$k: n p50 p99 min max (ms) = ${R[unc_$k]}"
	done
}

# ---- graceful handover -------------------------------------------------

# chain TOOL OPTS NWAIT TRIALS OUT: TRIALS graceful handovers with NWAIT
# contenders waiting; append latencies (ns) to OUT, mutual-exclusion
# violations to OUT.bad, and per handover the wake-ups of the waiters that
# stay waiting (scheduled-in counts of all their threads, from just before
# the leader is told to exit until 20ms after the successor started) to
# OUT.herd.
chain() {
	local tool=$1 opts=$2 nw=$3 trials=$4 out=$5 i line pid lead succ
	local -a pids=()
	newdir
	local d=$D log=$D/log
	spawn "$tool" "$d" "$opts" "$BC" relay "$log"
	pids+=($!)
	line=$("$BC" await "$log" 1 10000) || { endchain "$d"; return 1; }
	for ((i = 0; i < nw; i++)); do
		spawn "$tool" "$d" "$opts" "$BC" relay "$log"
		pids+=($!)
	done
	for ((i = 1; i <= trials; i++)); do
		waitq "$tool" "$d" "$nw" 30000 || break
		sleep $SETTLE
		# The running command and its supervisor (or flock).
		read -r _ _ pid lead _ <<< "$line"
		"$BC" switches "${pids[@]}" > "$d/sw0"
		kill -USR1 "$pid"
		line=$("$BC" await "$log" $((2 * i + 1)) 10000) || break
		sleep 0.02
		"$BC" switches "${pids[@]}" > "$d/sw1"
		read -r _ _ _ succ _ <<< "$line"
		awk -v a="$lead" -v b="$succ" 'NR == FNR { s[$1] = $2; next }
		    ($1 in s) && $1 != a && $1 != b { t += $2 - s[$1] }
		    END { print t + 0 }' "$d/sw0" "$d/sw1" >> "$out.herd"
		spawn "$tool" "$d" "$opts" "$BC" relay "$log"
		pids+=($!)
	done
	# What the teardown adds to the log (a waiter taking over from the
	# killed leader) is not measured.
	head -n $((2 * i - 1)) "$log" > "$log.measured"
	endchain "$d"
	# S0 E0 S1 E1 ...: latency = S(k) - E(k-1); an S while another
	# command runs, or an E of another pid, breaks mutual exclusion.
	awk -v bad="$out.bad" '
	$1 == "S" { if (run) print "overlap" >> bad
		    if (have_e) printf "%.0f\n", $2 - te; run = 1; cur = $3; have_e = 0 }
	$1 == "E" { if (!run || $3 != cur) print "foreign exit" >> bad
		    run = 0; te = $2; have_e = 1 }' "$log.measured" >> "$out"
	[ "$i" -gt "$trials" ] ||
		note "WARNING: $tool $opts, $nw waiters: chain ended early" \
		    "($(tail -n 3 "$d/err" 2>/dev/null | tr '\n' ' '))"
}

HCFG=("lr2s lr -r,2s" "lr200ms lr -r,200ms" "flock flock -")
[ -z "$LS" ] || HCFG+=("ls2s ls -r,2s" "ls200ms ls -r,200ms")

bench_handover() {
	local nw blocks trials b c name tool opts
	for nw in 2 100; do
		if [ $nw = 2 ]; then blocks=$B_H2 trials=$N_H2; else blocks=$B_H100 trials=$N_H100; fi
		echo "handover: $nw waiters, $blocks x $trials trials per configuration" >&2
		for ((b = 0; b < blocks; b++)); do
			for c in "${HCFG[@]}"; do
				read -r name tool opts <<< "$c"
				[ "$opts" = - ] && opts=
				chain "$tool" "$opts" $nw $trials "$W/h.$nw.$name"
			done
		done
		for c in "${HCFG[@]}"; do
			read -r name _ <<< "$c"
			local k=h${nw}_$name
			R[$k]=$(stats "$W/h.$nw.$name")
			R[${k}_bad]=$(cat "$W/h.$nw.$name.bad" 2>/dev/null | wc -l)
			R[${k}_herd]=$(awk '{ t += $1 } END { printf "%.1f", NR ? t / NR : 0 }' \
			    "$W/h.$nw.$name.herd" 2>/dev/null)
			note "$name: n p50 p99 min max (ms) = ${R[$k]}," \
			    "exclusion violations ${R[${k}_bad]}," \
			    "wake-ups of the other waiters per handover ${R[${k}_herd]}"
		done
	done
}

# ---- crash failover ----------------------------------------------------

# crash_chain TOOL TRIALS OUT: SIGKILL the leader (leaderrun: its supervisor;
# flock: flock and its command's process group), 2 waiters; latencies (ns)
# to OUT, old-job processes alive at each start to OUT.alive.
crash_chain() {
	local tool=$1 trials=$2 out=$3 i line pid ppid child
	newdir
	local d=$D log=$D/log pf=$D/old.pids
	spawn "$tool" "$d" "" "$BC" relay-check "$log" "$pf"
	line=$("$BC" await "$log" 1 10000) || { endchain "$d"; return 1; }
	spawn "$tool" "$d" "" "$BC" relay-check "$log" "$pf"
	spawn "$tool" "$d" "" "$BC" relay-check "$log" "$pf"
	for ((i = 1; i <= trials; i++)); do
		waitq "$tool" "$d" 2 30000 || break
		sleep $SETTLE
		read -r _ _ pid ppid child _ <<< "$line"
		echo "$pid $child" > "$pf"
		if [ "$tool" != flock ]; then
			"$BC" kill 9 "$ppid" "$log"	# the supervisor only
		else
			"$BC" kill 9 "-$ppid" "$log"	# flock + command + child
		fi
		line=$("$BC" await "$log" $((2 * i + 1)) 10000) || break
		spawn "$tool" "$d" "" "$BC" relay-check "$log" "$pf"
	done
	endchain "$d"
	awk -v alive="$out.alive" '
	$1 == "K" { tk = $2; k = 1 }
	$1 == "S" && k { printf "%.0f\n", $2 - tk; print $6 >> alive; k = 0 }' "$log" >> "$out"
}

# flock_kill_alone: SIGKILL of flock(1) only, its command keeps running.
flock_kill_alone() {
	local line pid ppid child
	newdir
	local d=$D log=$D/log pf=$D/old.pids
	spawn flock "$d" "" "$BC" relay-check "$log" "$pf"
	line=$("$BC" await "$log" 1 10000) || { endchain "$d"; return 1; }
	spawn flock "$d" "" "$BC" relay-check "$log" "$pf"
	"$BC" waitlocks "$d/h.flock" 0 1 30000 >/dev/null
	read -r _ _ pid ppid child _ <<< "$line"
	"$BC" kill 9 "$ppid" "$log"
	if "$BC" await "$log" 3 2000 >/dev/null 2>&1; then
		R[crash_flock_alone]="took over"
	else
		local st
		st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
		R[crash_flock_alone]="none in 2s, job $([ -n "$st" ] && [ "$st" != Z ] && echo "runs on" || echo gone)"
	fi
	endchain "$d"
}

bench_crash() {
	local t
	echo "crash failover: $N_CRASH trials each, 2 waiters" >&2
	for t in lr flock ${LS:+ls}; do
		crash_chain $t "$N_CRASH" "$W/crash.$t"
		R[crash_$t]=$(stats "$W/crash.$t")
		R[crash_${t}_alive]=$(awk '$1 > 0 { n++ } END { print n + 0 "/" NR }' \
		    "$W/crash.$t.alive" 2>/dev/null)
		note "$t: n p50 p99 min max (ms) = ${R[crash_$t]}," \
		    "old job alive at start: ${R[crash_${t}_alive]} trials"
	done
	flock_kill_alone
	note "kill -9 of flock(1) alone: ${R[crash_flock_alone]}"
}

# ---- frozen leader on another "host" -----------------------------------

# frozen TOOL OUT: one trial; the leader runs in new PID+UTS namespaces
# (hostname other), same lock dir; SIGSTOP of its supervisor (flock: of
# flock).  Appends the latency (ns) or "none" to OUT.
frozen() {
	local tool=$1 out=$2 line sup k c relay rc wait_ms
	newdir
	local d=$D log=$D/log pf=$D/old.pids
	local -a cmd
	if [ "$tool" = lr ]; then
		cmd=("$LR" -d "$d" -l h -t "$FROZEN_T" -- "$BC" relay-check "$log" "$pf")
	else
		cmd=(flock "$d/h.flock" "$BC" relay-check "$log" "$pf")
	fi
	setsid unshare --uts --pid --fork --mount-proc sh -c \
	    'hostname other 2>/dev/null || echo other > /proc/sys/kernel/hostname
	     exec "$@"' sh "${cmd[@]}" </dev/null >/dev/null 2>>"$d/err" &
	local u=$!
	disown $u
	line=$("$BC" await "$log" 1 10000) || { endchain "$d"; return 1; }
	read -r sup _ <<< "$("$BC" kids $u)"
	# The job: the command (bench_clock) and the child it forked.
	while read -r k c; do [ "$c" = bench_clock ] && relay=$k; done \
	    <<< "$("$BC" kids "$sup")"
	read -r rc _ <<< "$("$BC" kids "$relay")"
	if [ "$tool" = lr ]; then
		spawn lr "$d" "-t,$FROZEN_T" "$BC" relay-check "$log" "$pf"
		"$BC" waitlocks "$d/h.lock" 2 1 30000 >/dev/null
		wait_ms=10000
	else
		spawn flock "$d" "" "$BC" relay-check "$log" "$pf"
		"$BC" waitlocks "$d/h.flock" 0 1 30000 >/dev/null
		wait_ms=$((${FROZEN_T%s} * 1000 + FROZEN_R_MS + 1000))
	fi
	echo "$relay $rc" > "$pf"
	# A random phase against the leader's renewals.
	sleep "$(printf '0.%03d' $((RANDOM % FROZEN_R_MS)))"
	"$BC" kill "$SIGSTOP_N" "$sup" "$log"
	if "$BC" await "$log" 3 $wait_ms >/dev/null 2>&1; then
		awk '$1 == "K" { tk = $2 } $1 == "S" && tk { printf "%.0f\n", $2 - tk; exit }' \
		    "$log" >> "$out"
		awk '$1 == "K" { k = 1 } $1 == "S" && k { print $6; exit }' \
		    "$log" >> "$out.alive"
	else
		echo none >> "$out"
		# Is the frozen leader's job still running?
		local st
		st=$(awk '{ print $3 }' "/proc/$relay/stat" 2>/dev/null)
		[ -n "$st" ] && [ "$st" != Z ] && echo running >> "$out.job"
	fi
	endchain "$d"
}

bench_frozen() {
	local i
	if ! unshare --uts --pid --fork --mount-proc true 2>/dev/null; then
		R[frozen_lr]=skipped R[frozen_flock]=skipped
		note "frozen leader: skipped (unshare needs root)"
		return
	fi
	echo "frozen leader: $N_FROZEN trials, -t $FROZEN_T (retry ${FROZEN_R_MS}ms)" >&2
	for ((i = 0; i < N_FROZEN; i++)); do
		frozen lr "$W/frozen.lr"
	done
	frozen flock "$W/frozen.flock"
	grep -v none "$W/frozen.lr" > "$W/frozen.lr.ok"
	R[frozen_lr]=$(stats "$W/frozen.lr.ok")
	R[frozen_lr_none]=$(grep -c none "$W/frozen.lr")
	R[frozen_lr_alive]=$(awk '$1 > 0 { n++ } END { print n + 0 "/" NR }' \
	    "$W/frozen.lr.alive" 2>/dev/null)
	if grep -q none "$W/frozen.flock"; then
		R[frozen_flock]="never"
		[ -s "$W/frozen.flock.job" ] && R[frozen_flock]="never, job runs on"
	else
		R[frozen_flock]=$(stats "$W/frozen.flock")
	fi
	note "leaderrun: n p50 p99 min max (ms) = ${R[frozen_lr]}, no takeover:" \
	    "${R[frozen_lr_none]}, old job alive at start: ${R[frozen_lr_alive]}"
	note "flock: ${R[frozen_flock]}"
}

# ---- idle cost ---------------------------------------------------------

# cpu PID...: utime+stime in clock ticks (all threads) summed, then the sum
# of the threads' schedstat run time in ns.
cpu() {
	local p files=()
	[ $# -gt 0 ] || { echo "0 0"; return; }
	for p; do files+=("/proc/$p/task/"*/schedstat); done
	local ticks ns
	ticks=$(for p; do echo "/proc/$p/stat"; done | xargs cat 2>/dev/null |
	    awk '{ sub(/.*\) /, ""); t += $12 + $13 } END { print t + 0 }')
	ns=$(cat "${files[@]}" 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t }')
	echo "$ticks $ns"
}

hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# idle NFOLLOW WINDOW: a leaderrun leader with NFOLLOW followers and a flock
# holder with NFOLLOW waiters, side by side, default timings (and, given a
# static build, its leader and NFOLLOW followers too).
idle() {
	local nf=$1 win=$2 i line sup wd= ssup= swd= k c
	local -a fol=() fw=() sfol=()
	newdir
	local dl=$D
	newdir
	local df=$D
	newdir
	local ds=$D
	echo "idle: 1 leader + $nf followers, flock 1 + $nf${LS:+, static 1 + $nf}," \
	    "window ${win}s" >&2
	spawn lr "$dl" "" "$BC" relay "$dl/log"
	line=$("$BC" await "$dl/log" 1 10000) || { endchain "$dl"; return 1; }
	read -r _ _ _ sup _ <<< "$line"
	while read -r k c; do [ "$c" = leaderrun ] && wd=$k; done <<< "$("$BC" kids "$sup")"
	if [ -n "$LS" ]; then
		spawn ls "$ds" "" "$BC" relay "$ds/log"
		line=$("$BC" await "$ds/log" 1 10000) || { endchain "$ds"; return 1; }
		read -r _ _ _ ssup _ <<< "$line"
		while read -r k c; do [ "$c" = leaderrun ] && swd=$k; done \
		    <<< "$("$BC" kids "$ssup")"
	fi
	spawn flock "$df" "" "$BC" relay "$df/log"
	line=$("$BC" await "$df/log" 1 10000)
	read -r _ _ _ fl _ <<< "$line"
	for ((i = 0; i < nf; i++)); do
		spawn lr "$dl" "" "$BC" relay "$dl/log"
		fol+=($!)
		spawn flock "$df" "" "$BC" relay "$df/log"
		fw+=($!)
		[ -z "$LS" ] || { spawn ls "$ds" "" "$BC" relay "$ds/log"; sfol+=($!); }
	done
	"$BC" waitlocks "$dl/h.lock" 2 "$nf" 120000 >/dev/null ||
		note "WARNING: not all followers blocked"
	[ -z "$LS" ] || "$BC" waitlocks "$ds/h.lock" 2 "$nf" 120000 >/dev/null ||
		note "WARNING: not all static followers blocked"
	"$BC" waitlocks "$df/h.flock" 0 "$nf" 120000 >/dev/null
	sleep 3		# past the followers' first retry period
	local t0 t1 a0 a1 b0 b1 f0 f1 sa0 sa1 sb0 sb1
	t0=$("$BC" now)
	a0=$(cpu "$sup" ${wd:-}); b0=$(cpu "${fol[@]}"); f0=$(cpu "$fl" "${fw[@]}")
	sa0=$(cpu ${ssup:-} ${swd:-}); sb0=$(cpu "${sfol[@]}")
	sleep "$win"
	a1=$(cpu "$sup" ${wd:-}); b1=$(cpu "${fol[@]}"); f1=$(cpu "$fl" "${fw[@]}")
	sa1=$(cpu ${ssup:-} ${swd:-}); sb1=$(cpu "${sfol[@]}")
	t1=$("$BC" now)
	# % of one core: by ticks, and by schedstat run time.
	pct() {
		awk -v a="$1" -v b="$2" -v dt=$((t1 - t0)) -v hz="$HZ" 'BEGIN {
			split(a, x, " "); split(b, y, " ")
			printf "%.3f %.3f\n", (y[1] - x[1]) / hz / (dt / 1e9) * 100,
			    (y[2] - x[2]) / 1e9 / (dt / 1e9) * 100 }'
	}
	R[idle_leader_$nf]=$(pct "$a0" "$a1")
	R[idle_fol_$nf]=$(pct "$b0" "$b1")
	R[idle_flock_$nf]=$(pct "$f0" "$f1")
	R[idle_alive_$nf]=$(for p in "${fol[@]}"; do [ -e /proc/$p ] && echo; done | wc -l)
	R[rss_lr_leader]=$(hwm "$sup") R[rss_lr_wd]=$(hwm "${wd:-0}")
	R[rss_lr_fol]=$(for p in "${fol[@]}"; do hwm "$p"; done | sort -n | tail -n 1)
	R[rss_flock]=$(for p in "$fl" "${fw[@]}"; do hwm "$p"; done | sort -n | tail -n 1)
	R[anon_lr]=$(for p in "$sup" "${fol[@]}"; do anon "$p"; done | sort -n | tail -n 1)
	R[anon_flock]=$(for p in "$fl" "${fw[@]}"; do anon "$p"; done | sort -n | tail -n 1)
	note "% of one core (ticks, schedstat): leader ${R[idle_leader_$nf]}," \
	    "$nf followers ${R[idle_fol_$nf]} (${R[idle_alive_$nf]} alive)," \
	    "flock 1+$nf ${R[idle_flock_$nf]}"
	note "VmHWM kB: leader ${R[rss_lr_leader]}, its watchdog ${R[rss_lr_wd]}," \
	    "followers max ${R[rss_lr_fol]}, flock max ${R[rss_flock]};" \
	    "RssAnon kB max: leaderrun ${R[anon_lr]}, flock ${R[anon_flock]}"
	if [ -n "$LS" ]; then
		R[idle_sleader_$nf]=$(pct "$sa0" "$sa1")
		R[idle_sfol_$nf]=$(pct "$sb0" "$sb1")
		R[rss_ls_leader]=$(hwm "$ssup") R[rss_ls_wd]=$(hwm "${swd:-0}")
		R[rss_ls_fol]=$(for p in "${sfol[@]}"; do hwm "$p"; done | sort -n | tail -n 1)
		R[anon_ls]=$(for p in "$ssup" "${sfol[@]}"; do anon "$p"; done |
		    sort -n | tail -n 1)
		note "static: % of one core: leader ${R[idle_sleader_$nf]}," \
		    "$nf followers ${R[idle_sfol_$nf]}; VmHWM kB: leader" \
		    "${R[rss_ls_leader]}, its watchdog ${R[rss_ls_wd]}, followers max" \
		    "${R[rss_ls_fol]}; RssAnon kB max ${R[anon_ls]}"
	fi
	endchain "$dl"
	endchain "$df"
	endchain "$ds"
}

bench_idle() {
	idle "${N_FOLLOW[0]}" "$W_IDLE100"
	idle "${N_FOLLOW[1]}" "$W_IDLE1000"
}

# ---- etcd: leaderrun on etcd against etcdctl lock ----------------------
#
# One etcd (a single member on 127.0.0.1, fsync as shipped) serves both
# sides.  Each chain uses a lock of its own (named after its directory:
# leaderrun keys leaderrun/cN/..., etcdctl lock keys cN/...), and after each
# chain the leases of its killed contenders are revoked, so that no lease
# expires later, inside another measurement (expiry is a raft proposal too).

EPID= EPORT= EEP=
export ETCDCTL_API=3

# etcd_start: a fresh etcd on free ports; 0 once it answers /health.
etcd_start() {
	local try i peer
	for try in 1 2 3; do
		read -r EPORT peer <<< "$("$BC" freeport 2)"
		EEP=127.0.0.1:$EPORT
		rm -rf "$W/etcd.data"
		etcd --name lrbench --data-dir "$W/etcd.data" \
		    --listen-client-urls "http://$EEP" \
		    --advertise-client-urls "http://$EEP" \
		    --listen-peer-urls "http://127.0.0.1:$peer" \
		    --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		    --initial-cluster "lrbench=http://127.0.0.1:$peer" \
		    --logger zap --log-level error \
		    </dev/null >/dev/null 2>>"$W/etcd.log" &
		EPID=$!
		disown $EPID
		for ((i = 0; i < 200; i++)); do
			"$BC" http "$EPORT" /health >/dev/null 2>&1 && return 0
			kill -0 "$EPID" 2>/dev/null || break
			sleep 0.05
		done
		etcd_stop
	done
	return 1
}

# etcd_stop: SIGTERM to our etcd by its PID, SIGKILL after 5 s.
etcd_stop() {
	local i st
	[ -n "$EPID" ] || return 0
	kill -TERM "$EPID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$EPID/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$EPID" 2>/dev/null
	EPID=
}

# ekeys TOOL DIR: the prefix of the keys of the chain in DIR.
ekeys() { if [ "$1" = ec ]; then echo "${2##*/}/"; else echo "leaderrun/${2##*/}/"; fi; }
emetric() { "$BC" metric "$EPORT" "$@"; }

# eendchain TOOL DIR: kill the chain, then revoke what its dead left, and
# the leases without a key (etcdctl lock leaves its session lease to
# expire after the TTL, a raft proposal then; so does a leaderrun release).
eendchain() {
	endchain "$2"
	"$BC" erevoke "$EPORT" "$(ekeys "$1" "$2")" >/dev/null
	"$BC" eorphans "$EPORT" >/dev/null
}

bench_etcd_uncontended() {
	local d=$W/eunc out=$W/eunc.out i k
	mkdir "$d"
	local keys="le ec true" static=()
	[ -z "$LS" ] || { keys="le ec true es"; static=(::: "$LS" -S "etcd://$EEP" -l uns -- true); }
	echo "etcd uncontended: $N_EUNC runs each, round robin" >&2
	"$BC" alt "$N_EUNC" "$out" "$LR" -S "etcd://$EEP" -l unc -- true ::: \
	    etcdctl --endpoints "$EEP" lock unc -- true ::: true "${static[@]}" \
	    </dev/null >/dev/null 2>&1
	awk '$3 != 0 { bad++ } END { exit bad > 0 }' "$out" ||
		note "WARNING: some runs failed"
	note "leases left to expire: $("$BC" eorphans "$EPORT") (revoked)"
	i=0
	for k in $keys; do
		awk -v i=$i '$1 == i { print $2 }' "$out" > "$W/eunc.$k"
		awk -v i=$i '$1 == i { print $4 }' "$out" > "$W/eunc.$k.cpu"
		i=$((i + 1))
		R[eunc_$k]=$(stats "$W/eunc.$k")
		R[eunc_cpu_$k]=$(stats "$W/eunc.$k.cpu")
		note "$k: n p50 p99 min max (ms) = ${R[eunc_$k]}; CPU (user+sys)" \
		    "p50 $(echo "${R[eunc_cpu_$k]}" | cut -d" " -f2) ms"
	done
}

# echain TOOL NWAIT TRIALS OUT [IDLE]: TRIALS graceful handovers with NWAIT
# waiting, as chain() does, a trial starting once etcd holds NWAIT+1 keys of
# the lock and NWAIT more watchers than before the chain.  Latencies (ns) to
# OUT, exclusion violations to OUT.bad, raft proposals committed from just
# before the leader is told to exit until 100 ms after the successor started
# to OUT.prop; leases left without a key (to expire later) to OUT.orph.  IDLE=1: then, with the queue full and idle, etcd requests
# per second, CPU and peak RSS of the contenders into R[eidle_TOOL...].
echain() {
	local tool=$1 nw=$2 trials=$3 out=$4 idle=${5:-0} i line pid lead w0 pfx p0 p1
	local -a pids=()
	newdir
	local d=$D log=$D/log
	pfx=$(ekeys "$tool" "$d")
	w0=$(emetric etcd_debugging_mvcc_watcher_total)
	spawn "$tool" "$d" "" "$BC" relay "$log"
	pids+=($!)
	line=$("$BC" await "$log" 1 20000) || { eendchain "$tool" "$d"; return 1; }
	for ((i = 0; i < nw; i++)); do
		spawn "$tool" "$d" "" "$BC" relay "$log"
		pids+=($!)
	done
	for ((i = 1; i <= trials; i++)); do
		"$BC" equeue "$EPORT" "$pfx" $((nw + 1)) $((w0 + nw)) 60000 \
		    >/dev/null || break
		read -r _ _ pid lead _ <<< "$line"
		p0=$(emetric etcd_server_proposals_committed_total)
		# Quiet time after the scrapes of /metrics (etcd's GC).
		sleep $ESETTLE
		kill -USR1 "$pid"
		line=$("$BC" await "$log" $((2 * i + 1)) 20000) || break
		sleep 0.1
		p1=$(emetric etcd_server_proposals_committed_total)
		echo $((p1 - p0)) >> "$out.prop"
		spawn "$tool" "$d" "" "$BC" relay "$log"
		pids+=($!)
	done
	head -n $((2 * i - 1)) "$log" > "$log.measured"
	[ "$i" -gt "$trials" ] ||
		note "WARNING: $tool, $nw waiters: chain ended early" \
		    "($(tail -n 3 "$d/err" 2>/dev/null | tr '\n' ' '))"
	# The leases the released left (all waiters have their keys by now),
	# before they can expire during the idle window.
	"$BC" equeue "$EPORT" "$pfx" $((nw + 1)) $((w0 + nw)) 60000 >/dev/null &&
		"$BC" eorphans "$EPORT" >> "$out.orph"
	if [ "$idle" = 1 ] && [ "$i" -gt "$trials" ]; then
		local m0 m1 c0 c1 t0 t1 a0 a1 k c wd= live=()
		sleep 3		# past every waiter's first retry period
		for pid in "${pids[@]}"; do [ -e "/proc/$pid" ] && live+=("$pid"); done
		read -r m0 c0 <<< "$(emetric grpc_server_msg_received_total grpc_server_started_total)"
		t0=$("$BC" now); a0=$(cpu "${live[@]}")
		sleep "$W_EIDLE"
		read -r m1 c1 <<< "$(emetric grpc_server_msg_received_total grpc_server_started_total)"
		t1=$("$BC" now); a1=$(cpu "${live[@]}")
		R[eidle_$tool]=$(awk -v m=$((m1 - m0)) -v c=$((c1 - c0)) -v dt=$((t1 - t0)) \
		    'BEGIN { printf "%.1f %.1f\n", m / (dt / 1e9), c / (dt / 1e9) }')
		R[eidle_cpu_$tool]=$(awk -v a="$a0" -v b="$a1" -v dt=$((t1 - t0)) -v hz="$HZ" 'BEGIN {
			split(a, x, " "); split(b, y, " ")
			printf "%.2f %.2f\n", (y[1] - x[1]) / hz / (dt / 1e9) * 100,
			    (y[2] - x[2]) / 1e9 / (dt / 1e9) * 100 }')
		R[eidle_n_$tool]=${#live[@]}
		R[erss_$tool]=$(for pid in "${live[@]}"; do hwm "$pid"; done | sort -n | tail -n 1)
		R[eanon_$tool]=$(for pid in "${live[@]}"; do anon "$pid"; done | sort -n | tail -n 1)
		if [ "$tool" != ec ]; then
			read -r _ _ _ lead _ <<< "$line"
			while read -r k c; do [ "$c" = leaderrun ] && wd=$k; done \
			    <<< "$("$BC" kids "$lead")"
			R[erss_wd_$tool]=$(hwm "${wd:-0}")
		fi
		note "$tool idle, ${#live[@]} contenders: etcd messages/s, calls/s" \
		    "${R[eidle_$tool]}; % of one core (ticks, sched) ${R[eidle_cpu_$tool]};" \
		    "VmHWM kB max ${R[erss_$tool]}${wd:+, watchdog of the leader $(hwm "$wd")}"
	fi
	# Not counted: what the teardown leaves (a waiter handed the lock
	# while the chain is being killed ends its term too).
	eendchain "$tool" "$d"
	echo $((i - 1)) >> "$out.ntr"
	awk -v bad="$out.bad" '
	$1 == "S" { if (run) print "overlap" >> bad
		    if (have_e) printf "%.0f\n", $2 - te; run = 1; cur = $3; have_e = 0 }
	$1 == "E" { if (!run || $3 != cur) print "foreign exit" >> bad
		    run = 0; te = $2; have_e = 1 }' "$log.measured" >> "$out"
}

bench_etcd_handover() {
	local nw blocks trials b tool idle
	for nw in 2 100; do
		if [ $nw = 2 ]; then blocks=$B_EH2 trials=$N_EH2; else blocks=$B_EH100 trials=$N_EH100; fi
		echo "etcd handover: $nw waiters, $blocks x $trials trials each" >&2
		for ((b = 0; b < blocks; b++)); do
			for tool in le ec ${LS:+es}; do
				idle=0
				[ $nw = 100 ] && [ $b = $((blocks - 1)) ] && idle=1
				echain $tool $nw "$trials" "$W/eh.$nw.$tool" $idle
			done
		done
		for tool in le ec ${LS:+es}; do
			local k=eh${nw}_$tool
			R[$k]=$(stats "$W/eh.$nw.$tool")
			R[${k}_bad]=$(cat "$W/eh.$nw.$tool.bad" 2>/dev/null | wc -l)
			R[${k}_prop]=$(awk '{ t += $1 } END { if (NR) printf "%.2f", t / NR }' \
			    "$W/eh.$nw.$tool.prop" 2>/dev/null)
			R[${k}_propmax]=$(sort -n "$W/eh.$nw.$tool.prop" 2>/dev/null | tail -n 1)
			# Proposals deferred: a lease left to expire per handover.
			R[${k}_defer]=$(awk 'FNR == NR { o += $1; next } { t += $1 }
			    END { if (t) printf "%.2f", o / t }' \
			    "$W/eh.$nw.$tool.orph" "$W/eh.$nw.$tool.ntr" 2>/dev/null)
			R[${k}_ptot]=$(awk -v a="${R[${k}_prop]}" -v b="${R[${k}_defer]}" \
			    'BEGIN { if (a != "") printf "%.2f", a + b }')
			note "$tool: n p50 p99 min max (ms) = ${R[$k]}, exclusion" \
			    "violations ${R[${k}_bad]}, raft proposals per handover" \
			    "${R[${k}_prop]} (max ${R[${k}_propmax]}) + ${R[${k}_defer]}" \
			    "later (a lease left to expire)"
		done
	done
}

# ecrash TOOL OPTS TRIALS OUT: SIGKILL of the leader's wrapper (leaderrun's
# supervisor, or etcdctl), 2 waiters; as crash_chain().
ecrash() {
	local tool=$1 opts=$2 trials=$3 out=$4 i line pid ppid child w0 pfx
	newdir
	local d=$D log=$D/log pf=$D/old.pids
	pfx=$(ekeys "$tool" "$d")
	w0=$(emetric etcd_debugging_mvcc_watcher_total)
	spawn "$tool" "$d" "$opts" "$BC" relay-check "$log" "$pf"
	line=$("$BC" await "$log" 1 20000) || { eendchain "$tool" "$d"; return 1; }
	spawn "$tool" "$d" "$opts" "$BC" relay-check "$log" "$pf"
	spawn "$tool" "$d" "$opts" "$BC" relay-check "$log" "$pf"
	for ((i = 1; i <= trials; i++)); do
		"$BC" equeue "$EPORT" "$pfx" 3 $((w0 + 2)) 30000 >/dev/null || break
		sleep $ESETTLE
		read -r _ _ pid ppid child _ <<< "$line"
		echo "$pid $child" > "$pf"
		"$BC" kill 9 "$ppid" "$log"	# the wrapper only
		line=$("$BC" await "$log" $((2 * i + 1)) 20000) || break
		spawn "$tool" "$d" "$opts" "$BC" relay-check "$log" "$pf"
	done
	[ "$i" -gt "$trials" ] ||
		note "WARNING: $tool crash chain ended early" \
		    "($(tail -n 3 "$d/err" 2>/dev/null | tr '\n' ' '))"
	eendchain "$tool" "$d"
	awk -v alive="$out.alive" '
	$1 == "K" { tk = $2; k = 1 }
	$1 == "S" && k { printf "%.0f\n", $2 - tk; print $6 >> alive; k = 0 }' "$log" >> "$out"
}

bench_etcd_crash() {
	local t n opts
	echo "etcd crash failover: $N_ECRASH (leaderrun) and $N_ECRASH_CTL" \
	    "(etcdctl lock --ttl=1: granted ${EMINTTL}s) trials, 2 waiters" >&2
	for t in le ec ${LS:+es}; do
		if [ $t != ec ]; then n=$N_ECRASH opts=; else n=$N_ECRASH_CTL opts=--ttl=1; fi
		ecrash $t "$opts" "$n" "$W/ecrash.$t"
		R[ecrash_$t]=$(stats "$W/ecrash.$t")
		R[ecrash_${t}_alive]=$(awk '$1 > 0 { n++ } END { print n + 0 "/" NR }' \
		    "$W/ecrash.$t.alive" 2>/dev/null)
		note "$t: n p50 p99 min max (ms) = ${R[ecrash_$t]}," \
		    "old job alive at start: ${R[ecrash_${t}_alive]} trials"
	done
}

bench_etcd() {
	local t
	for t in etcd etcdctl; do
		if ! command -v $t >/dev/null 2>&1; then
			R[etcd_skip]="$t not found (Debian: apt-get install etcd-server etcd-client)"
			note "etcd section skipped: ${R[etcd_skip]}"
			return
		fi
	done
	if ! etcd_start; then
		R[etcd_skip]="etcd did not start ($(tail -n 2 "$W/etcd.log" | tr '\n' ' '))"
		note "etcd section skipped: ${R[etcd_skip]}"
		return
	fi
	R[etcd_ver]=$(etcd --version 2>/dev/null | awk '/^etcd Version/ { print $3 }')
	# The shortest TTL etcd grants (etcdctl lock --ttl=1 gets this).
	EMINTTL=$("$BC" http "$EPORT" /v3/lease/grant '{"TTL":"1","ID":"4242"}' |
	    sed -n 's/.*"TTL":"\{0,1\}\([0-9]*\).*/\1/p')
	"$BC" http "$EPORT" /v3/lease/revoke '{"ID":"4242"}' >/dev/null
	echo "etcd ${R[etcd_ver]} on $EEP (pid $EPID), data in $W/etcd.data" >&2
	bench_etcd_uncontended
	bench_etcd_handover
	bench_etcd_crash
	etcd_stop
}

# ---- Redis: leaderrun on Redis beside leaderrun on the file store -------
#
# One redis-server of its own (127.0.0.1, a free port, no persistence, its
# directory under the work directory, maxclients 10000), stopped by its
# PID.  Each chain uses a lease of its own (named after its directory), and
# the file store is measured beside it, in the same rounds: the baseline.
# A waiter waits once Redis counts its subscription (every waiter holds
# one, a leader none; the old store: one shared channel, the queue: one
# channel per waiter) and, when the lease has a queue, its place in it.

RPID= RPORT= RURL=
# The commands a client sends itself (store/redis.c, store/redis_conn.c:
# scripts by EVAL or EVALSHA, SCRIPT LOAD, SUBSCRIBE and UNSUBSCRIBE, AUTH
# and SELECT when connecting, PING); any other command that INFO
# commandstats counts ran inside a script.
RTOP=" eval evalsha eval_ro evalsha_ro fcall fcall_ro script subscribe
unsubscribe psubscribe punsubscribe ssubscribe sunsubscribe auth hello
select ping client quit reset multi exec discard watch unwatch "
RTOP=${RTOP//$'\n'/ }

rcli() { redis-cli -h 127.0.0.1 -p "$RPORT" "$@"; }

# redis_start: a fresh redis-server on a free port; 0 once it answers with
# its own process id.
redis_start() {
	local i
	mkdir -p "$W/redis"
	for _ in 1 2 3; do
		RPORT=$("$BC" freeport 1)
		redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$W/redis" --maxclients 10000 \
		    --daemonize no </dev/null >>"$W/redis.log" 2>&1 &
		RPID=$!
		disown $RPID
		for ((i = 0; i < 200; i++)); do
			if rcli info server 2>/dev/null | tr -d '\r' |
			    grep -qx "process_id:$RPID"; then
				RURL=redis://127.0.0.1:$RPORT
				return 0
			fi
			kill -0 "$RPID" 2>/dev/null || break
			sleep 0.05
		done
		redis_stop
	done
	return 1
}

# redis_stop: SIGTERM to our redis-server by its PID, SIGKILL after 5 s.
redis_stop() {
	local i st
	[ -n "$RPID" ] || return 0
	kill -TERM "$RPID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$RPID/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$RPID" 2>/dev/null
	RPID=
}

# rsubs NAME: "<subscriptions> <queued>": the subscribers of the channels
# of lease NAME, and the members of its queue (0 without one).
# With RSLOTS=N, of the leases of its N slots together (NAME, NAME#1...).
rsubs() {
	local ch s=0 q t=0 k n
	for ((k = 0; k < ${RSLOTS:-1}; k++)); do
		n=$1
		[ $k = 0 ] || n="$1#$k"
		ch=$(rcli --raw pubsub channels "leaderrun:{$n}:*" 2>/dev/null | tr '\n' ' ')
		# shellcheck disable=SC2086 # one word per channel
		[ -z "${ch// /}" ] || s=$((s + $(rcli --raw pubsub numsub $ch 2>/dev/null |
		    awk 'NR % 2 == 0 { s += $1 } END { print s + 0 }')))
		q=$(rcli --raw zcard "leaderrun:{$n}:queue" 2>/dev/null)
		case $q in ''|*[!0-9]*) q=0 ;; esac
		t=$((t + q))
	done
	echo "$s $t"
}

# rwait NAME N TIMEOUT_MS: wait until N contenders of lease NAME wait (N
# subscriptions, and N places if it has a queue).  1 on timeout.
rwait() {
	local end s q
	end=$(( $("$BC" now) + $3 * 1000000 ))
	while :; do
		read -r s q <<< "$(rsubs "$1")"
		[ "$s" -ge "$2" ] && { [ "$q" = 0 ] || [ "$q" -ge "$2" ]; } && return 0
		[ "$("$BC" now)" -lt "$end" ] || return 1
		sleep 0.01
	done
}

# rstats: "<command> <calls>" from INFO commandstats, a subcommand under
# its command's name (client|list counts as client).
rstats() {
	rcli info commandstats 2>/dev/null | tr -d '\r' |
	    sed -n 's/^cmdstat_\([^:|]*\)[^:]*:calls=\([0-9]*\),.*/\1 \2/p' |
	    awk '{ n[$1] += $2 } END { for (c in n) print c, n[c] }' | sort
}
# rdelta BEFORE AFTER: "<command> <calls>" of the commands called between
# the two, our own INFOs left out.
rdelta() {
	awk 'NR == FNR { b[$1] = $2; next }
	    $1 != "info" && $2 - b[$1] > 0 { print $1, $2 - b[$1] }' "$1" "$2"
}
rtotal() { awk '$1 != "info" { t += $2 } END { print t + 0 }'; }

# rsplit FILE DIV: of "<command> <calls>" lines (summed per command, divided
# by DIV): "<top-level> <all> <detail>", detail as "top-level: eval 1.0;
# in scripts: get 3.0, set 1.0" (RTOP says which are top-level).
rsplit() {
	awk '{ c[$1] += $2 } END { for (k in c) print k, c[k] }' "$1" |
	    sort -k2,2nr -k1,1 | awk -v top="$RTOP" -v div="$2" '
	BEGIN { n = split(top, t, " "); for (i = 1; i <= n; i++) istop[t[i]] = 1 }
	{
		v = sprintf("%.1f", $2 / div); all += v
		if ($1 in istop) { tl += v; a = a (a == "" ? "" : ", ") $1 " " v }
		else b = b (b == "" ? "" : ", ") $1 " " v
	}
	END {
		printf "%.1f %.1f top-level: %s; in scripts: %s\n", tl, all,
		    a == "" ? "none" : a, b == "" ? "none" : b
	}'
}

rbench_uncontended() {
	local d=$W/runc out=$W/runc.out i=0 k
	mkdir "$d"
	echo "redis uncontended: $N_RUNC runs each, round robin" >&2
	"$BC" alt "$N_RUNC" "$out" "$LR" -S "$RURL" -l unc -- true ::: \
	    "$LR" -d "$d" -l b -- true ::: true </dev/null >/dev/null 2>&1
	awk '$3 != 0 { bad++ } END { exit bad > 0 }' "$out" ||
		note "WARNING: some runs failed"
	for k in rx lr true; do
		awk -v i=$i '$1 == i { print $2 }' "$out" > "$W/runc.$k"
		i=$((i + 1))
		R[runc_$k]=$(stats "$W/runc.$k")
		note "$k: n p50 p99 min max (ms) = ${R[runc_$k]}"
	done
}

rbench_handover() {
	local nw blocks trials b tool k
	for nw in 2 100; do
		if [ $nw = 2 ]; then blocks=$B_RH2 trials=$N_RH2; else blocks=$B_RH100 trials=$N_RH100; fi
		echo "redis handover: $nw waiters, $blocks x $trials trials each, -r 2s" >&2
		for ((b = 0; b < blocks; b++)); do
			for tool in rx lr; do
				chain "$tool" -r,2s $nw "$trials" "$W/rh.$nw.$tool"
			done
		done
		for tool in rx lr; do
			k=rh${nw}_$tool
			R[$k]=$(stats "$W/rh.$nw.$tool")
			R[${k}_bad]=$(cat "$W/rh.$nw.$tool.bad" 2>/dev/null | wc -l)
			R[${k}_herd]=$(awk '{ t += $1 } END { printf "%.1f", NR ? t / NR : 0 }' \
			    "$W/rh.$nw.$tool.herd" 2>/dev/null)
			note "$tool: n p50 p99 min max (ms) = ${R[$k]}, exclusion violations" \
			    "${R[${k}_bad]}, wake-ups of the other waiters per handover ${R[${k}_herd]}"
		done
	done
}

rbench_crash() {
	local t
	echo "redis crash failover: $N_RCRASH trials each, 2 waiters" >&2
	for t in rx lr; do
		crash_chain $t "$N_RCRASH" "$W/rcrash.$t"
		R[rcrash_$t]=$(stats "$W/rcrash.$t")
		R[rcrash_${t}_alive]=$(awk '$1 > 0 { n++ } END { print n + 0 "/" NR }' \
		    "$W/rcrash.$t.alive" 2>/dev/null)
		note "$t: n p50 p99 min max (ms) = ${R[rcrash_$t]}," \
		    "old job alive at start: ${R[rcrash_${t}_alive]} trials"
	done
}

# rcount NWAIT TRIALS KEY: a Redis leader and NWAIT waiters, started in
# waves of 100, all with -t 10m (their periodic looks, every 2 min, fall
# outside the windows); TRIALS graceful handovers, each counted from INFO
# commandstats right before the leader is told to exit until the counts
# stood still for 300 ms after the successor started (at most 10 s); a new
# waiter replaces the successor before the next.  R[KEY]: "<top-level>
# <all> <detail>" per handover (rsplit); R[KEY_n]: the handovers counted.
# RSLOTS=N: with --slots N, N commands run; the oldest is told to exit.
rcount() {
	local nw=$1 trials=$2 key=$3 i n k j line pid prev cur still t0
	local ns=${RSLOTS:-1} opts=-t,10m run=()
	[ "$ns" = 1 ] || opts+=",--slots,$ns"
	newdir
	local d=$D log=$D/log name=${D##*/}
	: > "$W/$key.cmds"
	echo "redis commands per handover: $nw waiters, $trials handovers${RSLOTS:+, --slots $ns}" >&2
	t0=$("$BC" now)
	for ((i = 1; i <= ns; i++)); do
		spawn rx "$d" "$opts" "$BC" relay "$log"
		"$BC" await "$log" $i 20000 > /dev/null || { endchain "$d"; return 1; }
	done
	while read -r _ _ pid _; do run+=("$pid"); done < <(head -n "$ns" "$log")
	for ((n = 0; n < nw; n += 100)); do
		for ((i = n; i < nw && i < n + 100; i++)); do
			spawn rx "$d" "$opts" "$BC" relay "$log"
		done
		rwait "$name" "$i" 120000 ||
			{ note "WARNING: only $(rsubs "$name") of $i waiting after 120 s"; break; }
	done
	note "$nw waiting after $(( ($("$BC" now) - t0) / 1000000 )) ms"
	# With slots, N handovers first, not counted: the waiters that came to
	# empty queues are first in several, and the one that wins leaves the
	# others (R[KEY_first]: their commands).  After them, each queue has a
	# first of its own.
	local warm=0 first=0
	[ "$ns" = 1 ] || warm=$ns
	for ((k = 1; k <= trials + warm; k++)); do
		rwait "$name" "$nw" 120000 || break
		sleep 0.5
		rstats > "$d/st0"
		kill -USR1 "${run[0]}"
		run=("${run[@]:1}")
		"$BC" await "$log" $((ns + 2 * k)) 60000 > /dev/null || break
		read -r _ _ pid _ <<< "$(grep '^S' "$log" | tail -n 1)"
		run+=("$pid")
		prev='' still=0
		for ((j = 0; j < 100 && still < 3; j++)); do
			sleep 0.1
			cur=$(rstats | rtotal)
			if [ "$cur" = "$prev" ]; then still=$((still + 1)); else still=0; fi
			prev=$cur
		done
		rstats > "$d/st1"
		if [ "$k" -le "$warm" ]; then
			first=$((first + $(rdelta "$d/st0" "$d/st1" | rtotal)))
			R[${key}_first]=$first
		else
			rdelta "$d/st0" "$d/st1" >> "$W/$key.cmds"
		fi
		note "handover $k: $(rdelta "$d/st0" "$d/st1" | tr '\n' ' ')"
		spawn rx "$d" "$opts" "$BC" relay "$log"
	done
	[ "$k" -gt $((trials + warm)) ] ||
		note "WARNING: $nw waiters: ended early" \
		    "($(tail -n 3 "$d/err" 2>/dev/null | tr '\n' ' '))"
	endchain "$d"
	k=$((k - warm))
	R[${key}_n]=$((k - 1))
	[ "$k" -gt 1 ] && R[$key]=$(rsplit "$W/$key.cmds" $((k - 1)))
}

# mem PID: "<rss kB> <pss kB> <processes>" of a contender: its supervisor
# and the supervisor's children (the held command, the watchdog).
mem() {
	local p k c ps=("$1")
	while read -r k c; do [ -n "$k" ] && ps+=("$k"); done <<< "$("$BC" kids "$1")"
	for p in "${ps[@]}"; do
		awk '/^VmRSS:/ { print "rss", $2 }' "/proc/$p/status" 2>/dev/null
		awk '/^Pss:/ { print "pss", $2 }' "/proc/$p/smaps_rollup" 2>/dev/null
	done | awk -v n=${#ps[@]} '{ t[$1] += $2 } END { print t["rss"] + 0, t["pss"] + 0, n }'
}

# ridle: a leader and N_RIDLE waiters on Redis, and as many on the file
# store, default timings: Redis commands per second over W_RIDLE s, 3 s
# after all wait (past every waiter's first retry period); the memory of a
# waiting contender (the median of the first 20).
ridle() {
	local i line p rf=() ff=() t0 t1 nw=$N_RIDLE
	newdir
	local dr=$D
	newdir
	local df=$D
	echo "redis idle: 1 leader + $nw waiters (and as many on the file store)," \
	    "window ${W_RIDLE}s" >&2
	spawn rx "$dr" "" "$BC" relay "$dr/log"
	spawn lr "$df" "" "$BC" relay "$df/log"
	"$BC" await "$dr/log" 1 20000 >/dev/null && "$BC" await "$df/log" 1 20000 >/dev/null ||
		{ endchain "$dr"; endchain "$df"; return 1; }
	for ((i = 0; i < nw; i++)); do
		spawn rx "$dr" "" "$BC" relay "$dr/log"
		rf+=($!)
		spawn lr "$df" "" "$BC" relay "$df/log"
		ff+=($!)
	done
	rwait "${dr##*/}" "$nw" 120000 || note "WARNING: not all Redis waiters wait"
	waitq lr "$df" "$nw" 120000 || note "WARNING: not all file-store waiters wait"
	sleep 3
	rstats > "$dr/st0"
	t0=$("$BC" now)
	sleep "$W_RIDLE"
	rstats > "$dr/st1"
	t1=$("$BC" now)
	rdelta "$dr/st0" "$dr/st1" > "$dr/idle"
	R[ridle]=$(rsplit "$dr/idle" "$(awk -v dt=$((t1 - t0)) 'BEGIN { print dt / 1e9 }')")
	R[ridle_n]=$(for p in "${rf[@]}"; do [ -e "/proc/$p" ] && echo; done | wc -l)
	for p in "${rf[@]:0:20}"; do mem "$p"; done | sort -n -k2 > "$dr/mem"
	for p in "${ff[@]:0:20}"; do mem "$p"; done | sort -n -k2 > "$df/mem"
	R[rmem_rx]=$(awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }' "$dr/mem")
	R[rmem_lr]=$(awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }' "$df/mem")
	note "Redis commands/s: $(echo "${R[ridle]}" | cut -d' ' -f1) top-level," \
	    "$(echo "${R[ridle]}" | cut -d' ' -f2) in all (${R[ridle]#* * })," \
	    "${R[ridle_n]} waiters alive"
	note "a waiting contender (rss kB, pss kB, processes): Redis ${R[rmem_rx]}," \
	    "file store ${R[rmem_lr]}"
	endchain "$dr"
	endchain "$df"
}

bench_redis() {
	local t
	for t in redis-server redis-cli; do
		if ! command -v $t >/dev/null 2>&1; then
			R[redis_skip]="$t not found (Debian: apt-get install redis-server redis-tools)"
			note "redis section skipped: ${R[redis_skip]}"
			return
		fi
	done
	if ! redis_start; then
		R[redis_skip]="redis-server did not start ($(tail -n 2 "$W/redis.log" | tr '\n' ' '))"
		note "redis section skipped: ${R[redis_skip]}"
		return
	fi
	R[redis_ver]=$(rcli info server | tr -d '\r' | sed -n 's/^redis_version://p')
	echo "redis ${R[redis_ver]} on 127.0.0.1:$RPORT (pid $RPID)" >&2
	rbench_uncontended
	rbench_handover
	rbench_crash
	rcount 100 "$N_RC100" rc100
	rcount 1000 "$N_RC1000" rc1000
	ridle
	redis_stop
}

# ---- slots (--slots N) ------------------------------------------------

# schain TOOL SLOTS NWAIT TRIALS OUT: as chain, with --slots SLOTS: SLOTS
# commands run, NWAIT contenders wait; each trial tells the oldest running
# command to exit and times the next start.  Latencies (ns) to OUT; more
# than SLOTS at once, or an exit of a command not running, to OUT.bad.
schain() {
	local tool=$1 ns=$2 nw=$3 trials=$4 out=$5 i line pid
	local opts="-r,2s,--slots,$ns" run=()
	newdir
	local d=$D log=$D/log
	for ((i = 0; i < ns; i++)); do
		spawn "$tool" "$d" "$opts" "$BC" relay "$log"
	done
	# await prints the last line once there are enough: read them here.
	"$BC" await "$log" "$ns" 10000 > /dev/null || { endchain "$d"; return 1; }
	while read -r _ _ pid _; do run+=("$pid"); done < <(head -n "$ns" "$log")
	for ((i = 0; i < nw; i++)); do
		spawn "$tool" "$d" "$opts" "$BC" relay "$log"
	done
	for ((i = 1; i <= trials; i++)); do
		RSLOTS=$ns waitq "$tool" "$d" "$nw" 30000 || break
		sleep $SETTLE
		kill -USR1 "${run[0]}"
		run=("${run[@]:1}")
		"$BC" await "$log" $((ns + 2 * i)) 10000 > /dev/null || break
		read -r _ _ pid _ <<< "$(grep '^S' "$log" | tail -n 1)"
		run+=("$pid")
		spawn "$tool" "$d" "$opts" "$BC" relay "$log"
	done
	head -n $((ns + 2 * i - 2)) "$log" > "$log.measured"
	endchain "$d"
	awk -v bad="$out.bad" -v ns="$ns" '
	$1 == "S" { if (++run > ns) print "more than " ns >> bad
		    if (have_e) printf "%.0f\n", $2 - te; up[$3] = 1; have_e = 0 }
	$1 == "E" { if (!up[$3]) print "foreign exit" >> bad
		    delete up[$3]; run--; te = $2; have_e = 1 }' "$log.measured" >> "$out"
	[ "$i" -gt "$trials" ] ||
		note "WARNING: $tool --slots $ns, $nw waiters: chain ended early" \
		    "($(tail -n 3 "$d/err" 2>/dev/null | tr '\n' ' '))"
}

# bench_slots: with 100 waiters, --slots 3 against one slot in the same
# blocks: handover p50 on the file store and on Redis, and Redis commands
# per handover.
bench_slots() {
	local b tool n k
	RURL=
	if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
		redis_start || note "slots: redis-server did not start: the file store only"
	else
		note "slots: no redis-server: the file store only"
	fi
	echo "slots: 100 waiters, $B_SH x $N_SH handovers each, --slots 3 and 1" >&2
	for ((b = 0; b < B_SH; b++)); do
		for tool in lr ${RURL:+rx}; do
			for n in 3 1; do
				schain "$tool" $n 100 "$N_SH" "$W/sh.$tool.$n"
			done
		done
	done
	for tool in lr ${RURL:+rx}; do
		for n in 3 1; do
			k=sh_${tool}_$n
			R[$k]=$(stats "$W/sh.$tool.$n")
			R[${k}_bad]=$(cat "$W/sh.$tool.$n.bad" 2>/dev/null | wc -l)
			note "$tool --slots $n: n p50 p99 min max (ms) = ${R[$k]}," \
			    "violations ${R[${k}_bad]}"
		done
	done
	[ -n "${RURL:-}" ] || return 0
	RSLOTS=3 rcount 100 "$N_RC100" rcs3
	rcount 100 "$N_RC100" rcs1
	redis_stop
}

# ---- run ---------------------------------------------------------------

want uncontended && bench_uncontended
want handover && bench_handover
want crash && bench_crash
want frozen && bench_frozen
want idle && bench_idle
want etcd && bench_etcd
want redis && bench_redis
want slots && bench_slots

# ---- the table ---------------------------------------------------------

f() { echo "${R[$1]:-}" | awk -v i="$2" '{ print $i }'; }	# field of a result
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "" || a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0)
			print "-"
		else printf "%.2fx\n", a / b }'
}
# verdict VALUE LIMIT: pass if VALUE <= LIMIT
verdict() {
	awk -v a="$1" -v l="$2" 'BEGIN {
		if (a !~ /^[0-9.]+/) print "n/a"
		else print (a + 0 <= l + 0 ? "pass" : "FAIL") }'
}
ROWS=()
# row METRIC DEFAULT STATIC BASE RATIO SRATIO TARGET VERDICT: one line of a
# table; STATIC and SRATIO are the static build's (dropped without one).
row() { ROWS+=("$1|$2|$3|$4|$5|$6|$7|$8"); }
ms() { [ -n "$1" ] && [ "$1" != nan ] && echo "$1 ms" || echo "-"; }
# tv TARGET LIMIT A STARGET SLIMIT S [UNIT]: sets T (the target cell) and V
# (pass/fail): "<= 1.3x / 1.1x" and "pass / FAIL" with a static build.  A,
# S: the values compared with LIMIT, SLIMIT ("1.21x" is read as 1.21).
tv() {
	local u=${7:-}
	if [ -n "$LS" ]; then
		T="<= $2$u / $5$u" V="$(verdict "${3%x}" "$2") / $(verdict "${6%x}" "$5")"
	else
		T="<= $2$u" V=$(verdict "${3%x}" "$2")
	fi
}
# tv2 VERDICT SVERDICT: V for a check done on each build.
tv2() { if [ -n "$LS" ]; then V="$1 / $2"; else V=$1; fi; }
okif() { if "$@"; then echo pass; else echo FAIL; fi; }

if want uncontended; then
	a=$(f unc_lr 2) s=$(f unc_ls 2) b=$(f unc_flock 2) t=$(f unc_true 2)
	row "uncontended wall p50 (true: $t ms)" "$(ms "$a")" "$(ms "$s")" "$(ms "$b")" \
	    "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "-" "info"
	oa=$(awk -v a="$a" -v t="$t" 'BEGIN { printf "%.3f", a - t }')
	os=$(awk -v a="$s" -v t="$t" 'BEGIN { if (a != "") printf "%.3f", a - t }')
	ob=$(awk -v a="$b" -v t="$t" 'BEGIN { printf "%.3f", a - t }')
	r=$(ratio "$oa" "$ob") rs=$(ratio "$os" "$ob")
	tv 1.3 1.3 "$r" 1.0 1.0 "$rs" x
	row "uncontended overhead p50 (wall - true)" "$(ms "$oa")" "$(ms "$os")" \
	    "$(ms "$ob")" "$r" "$rs" "$T" "$V"
fi
if want handover; then
	for nw in 2 100; do
		for rp in 2s 200ms; do
			a=$(f h${nw}_lr$rp 2) s=$(f h${nw}_ls$rp 2) b=$(f h${nw}_flock 2)
			r=$(ratio "$a" "$b") rs=$(ratio "$s" "$b")
			tv 1.3 1.3 "$r" 1.1 1.1 "$rs" x
			row "handover p50, $nw waiters, -r $rp" "$(ms "$a")" "$(ms "$s")" \
			    "$(ms "$b")" "$r" "$rs" "$T" "$V"
			a=$(f h${nw}_lr$rp 3) s=$(f h${nw}_ls$rp 3) b=$(f h${nw}_flock 3)
			row "handover p99, $nw waiters, -r $rp (n=$(f h${nw}_lr$rp 1))" \
			    "$(ms "$a")" "$(ms "$s")" "$(ms "$b")" "$(ratio "$a" "$b")" \
			    "$(ratio "$s" "$b")" "-" "info"
		done
	done
	for nw in 2 100; do
		b=${R[h${nw}_flock_herd]:-}
		for rp in 2s 200ms; do
			a=${R[h${nw}_lr${rp}_herd]:-} s=${R[h${nw}_ls${rp}_herd]:-}
			tv 1 1 "$a" 1 1 "$s"
			row "herd: wake-ups of other waiters, $nw w, -r $rp" "$a" "$s" "$b" \
			    "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "$T" "$V"
		done
	done
	bad=0 sbad=0 fbad=0
	for k in h2_lr2s h2_lr200ms h100_lr2s h100_lr200ms; do
		bad=$((bad + ${R[${k}_bad]:-0}))
	done
	for k in h2_ls2s h2_ls200ms h100_ls2s h100_ls200ms; do
		sbad=$((sbad + ${R[${k}_bad]:-0}))
	done
	for k in h2_flock h100_flock; do fbad=$((fbad + ${R[${k}_bad]:-0})); done
	tv2 "$(okif [ $bad = 0 ])" "$(okif [ $sbad = 0 ])"
	row "handover: two commands at once" "$bad" "$sbad" "$fbad" "" "" "0" "$V"
fi
if want crash; then
	a=$(f crash_lr 2) s=$(f crash_ls 2) b=$(f crash_flock 2)
	r=$(ratio "$a" "$b") rs=$(ratio "$s" "$b")
	tv 1.5 1.5 "$r" 1.3 1.3 "$rs" x
	row "crash failover p50 (flock: kill flock+job)" "$(ms "$a")" "$(ms "$s")" \
	    "$(ms "$b")" "$r" "$rs" "$T" "$V"
	if want handover; then
		c=$(f h2_flock 2) r=$(ratio "$a" "$c") rs=$(ratio "$s" "$c")
		tv 2 2 "$r" 2 2 "$rs" x
		row "crash failover p50 vs flock handover p50" "$(ms "$a")" "$(ms "$s")" \
		    "$(ms "$c")" "$r" "$rs" "$T" "$V"
	fi
	a=$(f crash_lr 3) s=$(f crash_ls 3) b=$(f crash_flock 3)
	row "crash failover p99 (n=$(f crash_lr 1))" "$(ms "$a")" "$(ms "$s")" \
	    "$(ms "$b")" "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "-" "info"
	a=${R[crash_lr_alive]:-?} s=${R[crash_ls_alive]:-?} b=${R[crash_flock_alive]:-?}
	tv2 "$(okif [ "${a%%/*}" = 0 ])" "$(okif [ "${s%%/*}" = 0 ])"
	row "crash: old job alive at new start" "$a" "$s" "$b" "" "" "0/n" "$V"
	row "crash: kill -9 of flock(1) alone" "-" "-" "${R[crash_flock_alone]:-?}" \
	    "" "" "" "info"
fi
if want frozen; then
	if [ "${R[frozen_lr]}" = skipped ]; then
		row "frozen leader (other host)" skipped "" skipped "" "" "" "n/a"
	else
		lim=$(( ${FROZEN_T%s} * 1000 + FROZEN_R_MS ))
		a=$(f frozen_lr 2) mx=$(f frozen_lr 5) mn=$(f frozen_lr 4)
		v=$(verdict "$mx" $((lim + 100)))
		# Never before lease - retry after the freeze (safety).
		[ "$(verdict $((${FROZEN_T%s} * 1000 - FROZEN_R_MS)) "$mn")" = pass ] || v=FAIL
		[ "${R[frozen_lr_none]}" = 0 ] || v=FAIL
		[ "${R[frozen_lr_alive]%%/*}" = 0 ] || v=FAIL
		row "frozen leader p50, -t $FROZEN_T (n=$(f frozen_lr 1))" "$(ms "$a")" \
		    "-" "${R[frozen_flock]}" "" "" "~ lease+retry" "$v"
		row "frozen leader min..max (old job alive: ${R[frozen_lr_alive]})" \
		    "$mn..$mx ms" "-" "" "" "" "$((lim - 2 * FROZEN_R_MS))..$lim ms" "$v"
	fi
fi
if want idle; then
	# "ticks / sched": utime+stime from /proc/PID/stat (tick sampled, can
	# miss short wake-ups) / run time from /proc/PID/task/*/schedstat (ns).
	cell() { [ -n "${R[$1]:-}" ] && echo "$(f "$1" 1) / $(f "$1" 2) %" || echo -; }
	big() { awk -v a="$(f "$1" 1)" -v b="$(f "$1" 2)" 'BEGIN { print (a > b ? a : b) }'; }
	for nf in "${N_FOLLOW[@]}"; do
		a=$(big idle_fol_$nf) s=$(big idle_sfol_$nf)
		if [ "$nf" = 1000 ]; then tv 1 1 "$a" 1 1 "$s" %; else T="-" V=info; fi
		row "idle CPU, $nf followers (ticks / sched)" "$(cell idle_fol_$nf)" \
		    "$(cell idle_sfol_$nf)" "$(cell idle_flock_$nf)" "-" "-" "$T" "$V"
	done
	row "idle CPU, 1 leader + watchdog (ticks / sched)" \
	    "$(cell idle_leader_${N_FOLLOW[0]})" "$(cell idle_sleader_${N_FOLLOW[0]})" \
	    "-" "-" "-" "-" "info"
	mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.2f", k / 1024 }'; }
	big2() { awk -v k="${1:-0}" -v f="${2:-0}" 'BEGIN { print (k > f ? k : f) }'; }
	a=$(mib "$(big2 "${R[rss_lr_leader]:-}" "${R[rss_lr_fol]:-}")")
	s=$(mib "$(big2 "${R[rss_ls_leader]:-}" "${R[rss_ls_fol]:-}")")
	b=$(mib "${R[rss_flock]:-}")
	[ -n "$LS" ] || s=
	r=$(ratio "$a" "$b") rs=$(ratio "$s" "$b")
	tv 1.5 1.5 "$a" 0.5 0.5 "$s" " MiB"
	row "peak RSS, one supervisor (VmHWM)" "$a MiB" "${s:+$s MiB}" "$b MiB" "$r" \
	    "$rs" "$T" "$V"
	a=$(mib "${R[anon_lr]:-}") s=$(mib "${R[anon_ls]:-}") b=$(mib "${R[anon_flock]:-}")
	[ -n "$LS" ] || s=
	row "  of which private (RssAnon)" "$a MiB" "${s:+$s MiB}" "$b MiB" \
	    "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "-" "info"
fi

# The etcd rows.
EROWS=()
erow() { EROWS+=("$1|$2|$3|$4|$5|$6|$7|$8"); }
if want etcd && [ -z "${R[etcd_skip]:-}" ]; then
	a=$(f eunc_le 2) s=$(f eunc_es 2) b=$(f eunc_ec 2) t=$(f eunc_true 2)
	r=$(ratio "$a" "$b") rs=$(ratio "$s" "$b")
	tv 0.3 0.3 "$r" 0.3 0.3 "$rs" x
	erow "uncontended wall p50 (true: $t ms, n=$(f eunc_le 1))" "$(ms "$a")" \
	    "$(ms "$s")" "$(ms "$b")" "$r" "$rs" "$T" "$V"
	oa=$(awk -v a="$a" -v t="$t" 'BEGIN { printf "%.3f", a - t }')
	os=$(awk -v a="$s" -v t="$t" 'BEGIN { if (a != "") printf "%.3f", a - t }')
	ob=$(awk -v a="$b" -v t="$t" 'BEGIN { printf "%.3f", a - t }')
	erow "uncontended overhead p50 (wall - true)" "$(ms "$oa")" "$(ms "$os")" \
	    "$(ms "$ob")" "$(ratio "$oa" "$ob")" "$(ratio "$os" "$ob")" "-" "info"
	a=$(f eunc_cpu_le 2) s=$(f eunc_cpu_es 2) b=$(f eunc_cpu_ec 2)
	erow "uncontended CPU p50 (user+sys, wrapper tree)" "$(ms "$a")" "$(ms "$s")" \
	    "$(ms "$b")" "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "-" "info"
	for nw in 2 100; do
		a=$(f eh${nw}_le 2) s=$(f eh${nw}_es 2) b=$(f eh${nw}_ec 2)
		r=$(ratio "$a" "$b") rs=$(ratio "$s" "$b")
		tv 0.75 0.75 "$r" 0.75 0.75 "$rs" x
		erow "handover p50, $nw waiters" "$(ms "$a")" "$(ms "$s")" "$(ms "$b")" \
		    "$r" "$rs" "$T" "$V"
		a=$(f eh${nw}_le 3) s=$(f eh${nw}_es 3) b=$(f eh${nw}_ec 3)
		erow "handover p99, $nw waiters (n=$(f eh${nw}_le 1), $(f eh${nw}_ec 1))" \
		    "$(ms "$a")" "$(ms "$s")" "$(ms "$b")" "$(ratio "$a" "$b")" \
		    "$(ratio "$s" "$b")" "-" "info"
	done
	bad=$(( ${R[eh2_le_bad]:-0} + ${R[eh100_le_bad]:-0} ))
	sbad=$(( ${R[eh2_es_bad]:-0} + ${R[eh100_es_bad]:-0} ))
	tv2 "$(okif [ $bad = 0 ])" "$(okif [ $sbad = 0 ])"
	erow "handover: two commands at once" "$bad" "$sbad" \
	    "$(( ${R[eh2_ec_bad]:-0} + ${R[eh100_ec_bad]:-0} ))" "" "" "0" "$V"
	# "now + later": in the handover, + leases left to expire after the TTL.
	pc() {
		if [ -z "${R[${1}_ptot]:-}" ]; then echo -
		elif [ "${R[${1}_defer]:-0}" = 0.00 ]; then echo "${R[${1}_ptot]:-}"
		else echo "${R[${1}_ptot]:-} (${R[${1}_prop]:-} + ${R[${1}_defer]:-} at TTL)"; fi
	}
	for nw in 100 2; do
		a=${R[eh${nw}_le_ptot]:-} s=${R[eh${nw}_es_ptot]:-} b=${R[eh${nw}_ec_ptot]:-}
		if [ $nw = 100 ]; then tv 3 3 "$a" 3 3 "$s"; else T="-" V=info; fi
		erow "raft proposals per handover, $nw waiters" "$(pc eh${nw}_le)" \
		    "$(pc eh${nw}_es)" "$(pc eh${nw}_ec)" "$(ratio "$a" "$b")" \
		    "$(ratio "$s" "$b")" "$T" "$V"
	done
	a=$(f ecrash_le 2) s=$(f ecrash_es 2) b=$(f ecrash_ec 2)
	tv 100 100 "$a" 100 100 "$s" " ms"
	erow "crash failover p50 (kill -9 of the wrapper)" "$(ms "$a")" "$(ms "$s")" \
	    "$(ms "$b")" "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "$T" "$V"
	a=$(f ecrash_le 3) s=$(f ecrash_es 3) b=$(f ecrash_ec 3)
	erow "crash failover p99 (n=$(f ecrash_le 1), $(f ecrash_ec 1))" "$(ms "$a")" \
	    "$(ms "$s")" "$(ms "$b")" "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "-" "info"
	a=${R[ecrash_le_alive]:-?} s=${R[ecrash_es_alive]:-?} b=${R[ecrash_ec_alive]:-?}
	tv2 "$(okif [ "${a%%/*}" = 0 ])" "$(okif [ "${s%%/*}" = 0 ])"
	erow "crash: old job alive at new start" "$a" "$s" "$b" "" "" "0/n" "$V"
	a=$(f eidle_le 1) s=$(f eidle_es 1) b=$(f eidle_ec 1)
	tv 100 100 "$a" 100 100 "$s"
	erow "etcd requests/s, 100 idle waiters + leader" "$a" "$s" "$b" \
	    "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "$T" "$V"
	a=$(f eidle_cpu_le 2) s=$(f eidle_cpu_es 2) b=$(f eidle_cpu_ec 2)
	erow "idle CPU of those 101 (sched, % of a core)" "$a %" "${s:+$s %}" "$b %" \
	    "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "-" "info"
	emib() { [ -n "${R[$1]:-}" ] && awk -v k="${R[$1]}" 'BEGIN { printf "%.2f", k / 1024 }'; }
	a=$(emib erss_le) s=$(emib erss_es) b=$(emib erss_ec)
	c=$(emib erss_wd_le) cs=$(emib erss_wd_es)
	tv 2 2 "$a" 2 2 "$s" " MiB"
	erow "peak RSS, one supervisor (VmHWM; watchdog $c${cs:+ / $cs})" "$a MiB" \
	    "${s:+$s MiB}" "$b MiB" "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "$T" "$V"
	a=$(emib eanon_le) s=$(emib eanon_es) b=$(emib eanon_ec)
	erow "  of which private (RssAnon)" "$a MiB" "${s:+$s MiB}" "$b MiB" \
	    "$(ratio "$a" "$b")" "$(ratio "$s" "$b")" "-" "info"
fi

# The Redis rows: leaderrun on Redis against leaderrun on the file store
# (no static columns: the section runs the default build).
RROWS=()
rrow() { RROWS+=("$1|$2||$3|$4||$5|$6"); }
if want redis && [ -z "${R[redis_skip]:-}" ]; then
	a=$(f runc_rx 2) b=$(f runc_lr 2) t=$(f runc_true 2)
	rrow "uncontended wall p50 (true: $t ms, n=$(f runc_rx 1))" "$(ms "$a")" \
	    "$(ms "$b")" "$(ratio "$a" "$b")" "-" "info"
	for nw in 2 100; do
		a=$(f rh${nw}_rx 2) b=$(f rh${nw}_lr 2) r=$(ratio "$a" "$b")
		rrow "handover p50, $nw waiters, -r 2s" "$(ms "$a")" "$(ms "$b")" "$r" \
		    "<= 1.3x" "$(verdict "${r%x}" 1.3)"
		a=$(f rh${nw}_rx 3) b=$(f rh${nw}_lr 3)
		rrow "handover p99, $nw waiters (n=$(f rh${nw}_rx 1), $(f rh${nw}_lr 1))" \
		    "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")" "-" "info"
	done
	a=${R[rh100_rx_herd]:-} b=${R[rh100_lr_herd]:-}
	rrow "herd: wake-ups of other waiters, 100 w" "$a" "$b" "$(ratio "$a" "$b")" \
	    "-" "info"
	bad=$(( ${R[rh2_rx_bad]:-0} + ${R[rh100_rx_bad]:-0} ))
	rrow "handover: two commands at once" "$bad" \
	    "$(( ${R[rh2_lr_bad]:-0} + ${R[rh100_lr_bad]:-0} ))" "" "0" "$(okif [ $bad = 0 ])"
	a=$(f rcrash_rx 2) b=$(f rcrash_lr 2)
	rrow "crash failover p50 (kill -9 of the supervisor)" "$(ms "$a")" "$(ms "$b")" \
	    "$(ratio "$a" "$b")" "-" "info"
	a=$(f rcrash_rx 3) b=$(f rcrash_lr 3)
	rrow "crash failover p99 (n=$(f rcrash_rx 1), $(f rcrash_lr 1))" "$(ms "$a")" \
	    "$(ms "$b")" "$(ratio "$a" "$b")" "-" "info"
	a=${R[rcrash_rx_alive]:-?} b=${R[rcrash_lr_alive]:-?}
	rrow "crash: old job alive at new start" "$a" "$b" "" "0/n" \
	    "$(okif [ "${a%%/*}" = 0 ])"
	for nw in 100 1000; do
		a=$(f rc$nw 1) c=$(f rc$nw 2)
		rrow "Redis commands per handover, $nw waiters (n=${R[rc${nw}_n]:-0})" \
		    "${a:--}${c:+ (all: $c)}" "-" "" "<= 4" "$(verdict "$a" 4)"
	done
	a=$(f ridle 1) c=$(f ridle 2)
	rrow "Redis commands/s, $N_RIDLE idle waiters + leader" "${a:--}${c:+ (all: $c)}" \
	    "-" "" "<= 20" "$(verdict "$a" 20)"
	rmib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.2f MiB", k / 1024 }'; }
	a=$(rmib "$(f rmem_rx 1)") b=$(rmib "$(f rmem_lr 1)")
	rrow "memory, one waiter ($(f rmem_rx 3) processes): RSS" "${a:--}" "${b:--}" \
	    "$(ratio "${a% MiB}" "${b% MiB}")" "-" "info"
	a=$(rmib "$(f rmem_rx 2)") b=$(rmib "$(f rmem_lr 2)")
	rrow "  Pss (shared pages divided among sharers)" "${a:--}" "${b:--}" \
	    "$(ratio "${a% MiB}" "${b% MiB}")" "-" "info"
fi

# The slots rows: --slots 3 against one slot, 100 waiters, same blocks.
SROWS=()
rrow0() { SROWS+=("$1|$2||$3|$4||$5|$6"); }
if want slots; then
	for tool in lr rx; do
		[ -n "${R[sh_${tool}_3]:-}" ] || continue
		case $tool in lr) st="file store" ;; rx) st=Redis ;; esac
		a=$(f sh_${tool}_3 2) b=$(f sh_${tool}_1 2) r=$(ratio "$a" "$b")
		rrow0 "$st: handover p50, 100 waiters, -r 2s" "$(ms "$a")" "$(ms "$b")" \
		    "$r" "<= 1.2x" "$(verdict "${r%x}" 1.2)"
		a=$(f sh_${tool}_3 3) b=$(f sh_${tool}_1 3)
		rrow0 "$st: handover p99 (n=$(f sh_${tool}_3 1), $(f sh_${tool}_1 1))" \
		    "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")" "-" "info"
		bad=${R[sh_${tool}_3_bad]:-0}
		rrow0 "$st: more than 3 at once, or a slot twice" "$bad" \
		    "${R[sh_${tool}_1_bad]:-0}" "" "0" "$(okif [ "$bad" = 0 ])"
	done
	if [ -n "${R[rcs3]:-}" ]; then
		a=$(f rcs3 1) b=$(f rcs1 1) r=$(ratio "$a" "$b")
		rrow0 "Redis commands per handover, 100 waiters (n=${R[rcs3_n]:-0}, ${R[rcs1_n]:-0})" \
		    "$a (all: $(f rcs3 2))" "$b (all: $(f rcs1 2))" "$r" "<= 1.2x" \
		    "$(verdict "${r%x}" 1.2)"
	fi
fi

# table COL4 ROW...: one aligned table (without a static build, its two
# columns are left out).
table() {
	local col=$1
	shift
	{
		echo "metric|leaderrun|static|$col|ratio|static ratio|target|pass/fail"
		echo "-|-|-|-|-|-|-|-"
		printf '%s\n' "$@"
	} | awk -F'|' -v static="${LS:+1}" '
	{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
	END {
		for (r = 1; r <= n; r++) {
			line = ""
			for (i = 1; i <= 8; i++) {
				if (!static && (i == 3 || i == 6)) continue
				v = c[r, i]
				if (v == "-" && r == 2) { v = ""; while (length(v) < w[i]) v = v "-" }
				line = line sprintf(i == 1 ? "%-*s" : " | %-*s", w[i], v)
			}
			sub(/ +$/, "", line); print line
		}
	}'
}

echo
echo "leaderrun benchmark, $(date '+%Y-%m-%d %H:%M:%S %z')"
echo "machine: $(nproc) CPUs, $(uname -sr), $(uname -m); load $LOAD0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
# The commit of the tree the binary was built in (another worktree's, too).
src=$(cd "$(dirname "$LR_IN")" && pwd)
rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null) &&
	{ git -C "$src" diff --quiet HEAD -- '*.c' '*.h' 2>/dev/null || rev="$rev+changes"; }
echo "leaderrun: $LR_IN ($("$LR" -V 2>/dev/null)${rev:+, commit $rev})"
[ -z "$LS" ] || echo "static:    $LS_IN ($("$LS" -V 2>/dev/null), $(file -b "$LS" 2>/dev/null |
    sed 's/, BuildID.*//; s/, with debug_info//; s/, not stripped//'))"
if [ ${#ROWS[@]} -gt 0 ]; then
	echo
	echo "against $(flock --version 2>/dev/null | head -n 1):"
	table flock "${ROWS[@]}"
fi
if [ ${#EROWS[@]} -gt 0 ]; then
	echo
	echo "against etcdctl lock ($(etcdctl version 2>/dev/null | head -n 1 |
	    sed 's/.*: //')), both on one etcd ${R[etcd_ver]:-} (1 member, 127.0.0.1):"
	echo "default timings (leaderrun -t 10s, etcdctl --ttl=10); crash:" \
	    "etcdctl --ttl=1, etcd grants ${EMINTTL:-?} s"
	table "etcdctl lock" "${EROWS[@]}"
elif want etcd; then
	echo
	echo "etcd section skipped: ${R[etcd_skip]:-}"
fi
if [ ${#RROWS[@]} -gt 0 ]; then
	echo
	echo "leaderrun on Redis ${R[redis_ver]:-} (one redis-server, 127.0.0.1, no" \
	    "persistence) against leaderrun on the file store, in the same rounds:"
	( LS=; table "file store" "${RROWS[@]}" )
	for k in rc100 rc1000 ridle; do
		[ -n "${R[$k]:-}" ] || continue
		case $k in
		rc100) echo "  per handover, 100 waiters: ${R[$k]#* * }" ;;
		rc1000) echo "  per handover, 1000 waiters: ${R[$k]#* * }" ;;
		ridle) echo "  per second, $N_RIDLE idle waiters + leader: ${R[$k]#* * }" ;;
		esac
	done
elif want redis; then
	echo
	echo "redis section skipped: ${R[redis_skip]:-}"
fi
if [ ${#SROWS[@]} -gt 0 ]; then
	echo
	echo "leaderrun --slots 3 against one slot (the same binary, in the same" \
	    "blocks; the oldest of the 3 running commands exits each time):"
	( LS=; table "--slots 1" "${SROWS[@]}" )
	for k in rcs3 rcs1; do
		[ -n "${R[$k]:-}" ] && echo "  Redis per handover, ${k#rcs} slot(s): ${R[$k]#* * }"
	done
	[ -z "${R[rcs3_first]:-}" ] || echo "  the first 3 handovers with 3 slots, not" \
	    "counted: ${R[rcs3_first]} commands in all (their winners came to empty" \
	    "queues, were first in several, and left the others)"
fi
echo
if [ ${#ROWS[@]} -gt 0 ]; then
	cat <<EOF
ratio = leaderrun / flock (static ratio: the static build's, measured in the
same rounds; target and pass/fail: default / static).  Latencies are
CLOCK_MONOTONIC stamps taken by the same helper on all sides (p99 of n
trials is a high rank, not a tail).  The frozen leader runs the default
build only (it measures lease expiry, not the binary).
handover: leader's command exits -> next contender's command starts; herd:
scheduled-in count of the threads of the waiters that keep waiting, from
just before the leader exits until 20ms after the successor started.
crash: SIGKILL of the leader's supervisor (flock: of flock and its command's
process group; SIGKILL of flock alone does not free the lock).  "alive":
exists and is not a zombie, checked by the new command before its stamp (a
process still inside exit(), its files already closed, counts).  frozen:
SIGSTOP of a leader in other PID+UTS namespaces (hostname other), same dir;
expected between lease - retry and lease + retry after the stop.
idle: default timings; ticks = utime+stime (/proc/PID/stat, all threads),
sched = run time of all threads (/proc/PID/task/*/schedstat); tick sampling
misses short wake-ups on an idle CPU, so the verdict uses the larger.
EOF
fi
if [ ${#EROWS[@]} -gt 0 ]; then
	cat <<EOF
etcd: ratio = leaderrun / etcdctl lock (static ratio: the static build's).
Handover and crash measured as against flock (commands stamp their start
and exit; crash: SIGKILL of the wrapper only, leaderrun's supervisor or
etcdctl), a trial starting once etcd holds all contenders' keys and the
waiters' watches.  Proposals:
etcd_server_proposals_committed_total from just before the leader exits
until 100 ms after the successor started, plus the leases the released
wrappers left to expire after their TTL (etcdctl lock does not revoke its
session; the bench revokes and counts them after each chain).  Requests:
grpc_server_msg_received_total (one per gateway request, unary call or
stream message) over ${W_EIDLE}s, 3 s after the queue filled; the leader's
renewals included.  RSS: the largest VmHWM of the live contenders then.
EOF
fi
if [ ${#RROWS[@]} -gt 0 ]; then
	cat <<EOF2
redis: ratio = leaderrun on Redis / leaderrun on the file store (the same
binary, -t 10s); handover and crash measured as against flock, a trial
starting once Redis counts every waiter's subscription (and its place,
where the lease has a queue).  Commands: INFO commandstats deltas, our
INFOs left out; top-level = what a client sends (EVAL, EVALSHA,
SUBSCRIBE, AUTH...: a script counts once), the rest ran inside scripts.
Per handover: -t 10m (the waiters' periodic looks fall outside), from
just before the leader's command exits until the counts stand still for
300 ms after the successor started.  Per second: -t 10s, over
${W_RIDLE}s, 3 s after all waited, the leader's renewals included.
Memory: a waiting contender's supervisor, held command and watchdog,
VmRSS and Pss summed, the median of 20 (101 contenders on each store).
EOF2
fi
case " $ONLY " in
*" postgres "*)
	if [ -x "${PG_BINDIR:-/usr/lib/postgresql/15/bin}/postgres" ]; then
		echo "postgres (tests/bench_pg.sh):"
		"$here/bench_pg.sh" "$LR_IN" 2>&1 | sed 's/^/  /'
	else
		echo "postgres: skipped (no postgresql-15; or set PG_BINDIR)"
	fi ;;
esac
echo "time: $(( $(date +%s) - T_START ))s"
