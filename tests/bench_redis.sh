#!/usr/bin/env bash
# bench_redis.sh LEADERRUN: the Redis store's figures, on a redis-server of
# its own (loopback, no persistence, a free port):
#  - uncontended run of `-- true`, Redis against the file store (N runs);
#  - graceful handover with 2 waiters: from the leader's command's last
#    instruction to the next leader's command's first, p50/p99 over R rounds;
#  - crash failover: from kill -9 of the leader's supervisor to the next
#    command's start, with the old command checked dead at that moment;
#  - Redis commands per handover with 100 waiters (INFO commandstats delta).
# Knobs: N (50), R (21), K (10), W (100).  Needs bash 5 (EPOCHREALTIME),
# redis-server, redis-cli, python3.
set -eu
LR=${1:?usage: bench_redis.sh LEADERRUN}
N=${N:-50} R=${R:-21} K=${K:-10} W=${W:-100}
T=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$T" --maxclients 10000 > "$T/redis.log" 2>&1 &
RPID=$!
trap 'kill $RPID 2>/dev/null; pkill -KILL -f -- "-l bench-$$" 2>/dev/null; rm -rf "$T"' EXIT
U=redis://127.0.0.1:$port
until [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; do sleep 0.01; done
rc() { redis-cli -p "$port" "$@"; }
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
# pct P: the P-th percentile of the numbers on stdin.
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print a[i] }'; }
name=bench-$$

# ---- uncontended -----------------------------------------------------------
loop() {
	local t0 t1 i
	t0=$(now_us)
	for ((i = 0; i < N; i++)); do "$LR" "$@" -l "$name" -- true; done
	t1=$(now_us)
	echo $(((t1 - t0) / N))
}
mkdir "$T/d"
loop -S "file:$T/d" > /dev/null	# warm the caches
f=$(loop -S "file:$T/d")
r=$(loop -S "$U")
printf 'uncontended `-- true` (%d runs): file %d us, redis %d us per run (%.2fx)\n' \
    "$N" "$f" "$r" "$(echo "$r / $f" | bc -l)"

# ---- graceful handover, 2 waiters ------------------------------------------
cat > "$T/job.sh" <<'EOF'
#!/bin/bash
echo "start $EPOCHREALTIME" >> "$1"
until [ -e "$2" ]; do sleep 0.001; done
echo "end $EPOCHREALTIME" >> "$1"
EOF
chmod +x "$T/job.sh"
: > "$T/gaps"
for ((i = 0; i < R; i++)); do
	rm -f "$T/log" "$T/go"*
	"$LR" -S "$U" -l "$name" -t 10s -r 2s -- "$T/job.sh" "$T/log" "$T/go" &
	p1=$!
	until [ -s "$T/log" ]; do sleep 0.001; done
	"$LR" -S "$U" -l "$name" -t 10s -r 2s -- "$T/job.sh" "$T/log" "$T/go" &
	p2=$!
	"$LR" -S "$U" -l "$name" -t 10s -r 2s -- "$T/job.sh" "$T/log" "$T/go" &
	p3=$!
	until [ "$(rc pubsub numsub "leaderrun:{$name}:released" | tail -n 1)" = 2 ]; do sleep 0.001; done
	sleep 0.05
	touch "$T/go"
	wait $p1 $p2 $p3
	awk '$1 == "end" { e = $2 } $1 == "start" && e { printf "%d\n", ($2 - e) * 1000000; e = 0 }' \
	    "$T/log" | head -n 1 >> "$T/gaps"
done
printf 'graceful handover, 2 waiters (%d rounds): p50 %d us, p99 %d us\n' "$R" \
    "$(pct 50 < "$T/gaps")" "$(pct 99 < "$T/gaps")"

# ---- crash failover -----------------------------------------------------------
cat > "$T/old.sh" <<'EOF'
#!/bin/sh
echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 100
EOF
cat > "$T/new.sh" <<'EOF'
#!/bin/bash
t=$EPOCHREALTIME
if kill -0 "$(cat "$1")" 2>/dev/null && ! grep -q ') Z ' "/proc/$(cat "$1")/stat"; then
	echo alive > "$2.old"
fi
echo "$t" > "$2"
EOF
chmod +x "$T/old.sh" "$T/new.sh"
: > "$T/fail"
alive=0
for ((i = 0; i < K; i++)); do
	rm -f "$T/pid" "$T/new" "$T/new.old"
	"$LR" -S "$U" -l "$name" -t 10s -- "$T/old.sh" "$T/pid" &
	sup=$!
	until [ -s "$T/pid" ]; do sleep 0.001; done
	"$LR" -S "$U" -l "$name" -t 10s -- "$T/new.sh" "$T/pid" "$T/new" &
	new=$!
	until [ "$(rc pubsub numsub "leaderrun:{$name}:released" | tail -n 1)" = 1 ]; do sleep 0.001; done
	t0=$EPOCHREALTIME
	kill -KILL "$sup"
	until [ -s "$T/new" ]; do sleep 0.001; done
	awk -v a="$t0" -v b="$(cat "$T/new")" 'BEGIN { printf "%d\n", (b - a) * 1000000 }' >> "$T/fail"
	[ ! -e "$T/new.old" ] || alive=$((alive + 1))
	wait $sup $new 2>/dev/null || true
done
printf 'crash failover after kill -9 (%d runs): p50 %d us, max %d us; old job alive at the new start: %d\n' \
    "$K" "$(pct 50 < "$T/fail")" "$(pct 100 < "$T/fail")" "$alive"

# ---- commands per handover, W waiters ----------------------------------------
rm -f "$T/log" "$T/go"
"$LR" -S "$U" -l "$name" -t 10s -r 2s -- "$T/job.sh" "$T/log" "$T/go" &
pids=$!
until [ -s "$T/log" ]; do sleep 0.001; done
for ((i = 0; i < W; i++)); do
	"$LR" -S "$U" -l "$name" -t 10s -r 2s -- "$T/job.sh" "$T/log" "$T/go2" &
	pids="$pids $!"
done
until [ "$(rc pubsub numsub "leaderrun:{$name}:released" | tail -n 1)" = "$W" ]; do sleep 0.01; done
sleep 0.2
stats() { rc info commandstats | tr -d '\r' | grep '^cmdstat_' | sort; }
sum() { awk -F'[:=,]' '{ s += $3 } END { print s }' "$1"; }
stats > "$T/before"
touch "$T/go"
until [ "$(grep -c start "$T/log")" = 2 ]; do sleep 0.001; done
sleep 0.2	# let the losers' attempts land
stats > "$T/after"
# The first INFO is counted in the second; the second in neither.
echo "Redis commands for one handover with $W waiters: $(($(sum "$T/after") - $(sum "$T/before") - 1))" \
    "(INFO commandstats delta, the INFO itself excluded)"
join -t: -a 2 "$T/before" "$T/after" | awk -F'[:=,]' '
	NF >= 13 { d = $13 - $3 } NF < 13 { d = $3 }
	d && $1 != "cmdstat_info" { printf "  %s %d\n", substr($1, 9), d }'
touch "$T/go2"
wait $pids
