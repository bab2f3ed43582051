#!/usr/bin/env bash
# bench_pg.sh LEADERRUN: the PostgreSQL store's figures, on a postgres of
# its own (initdb in a temporary directory, loopback, a free port, SCRAM
# for the role used), beside etcd when etcd is installed:
#  - graceful handover with 2 waiters: from the leader's command's last
#    instruction to the next leader's command's first, p50/p99 over R
#    rounds, on PostgreSQL and on etcd;
#  - crash failover: from kill -9 of the leader's supervisor to the next
#    command's start (a waiter on the same host), with SCRAM (no last words:
#    the waiter sees the holder gone) and with trust (the watchdog's last
#    words), the old command checked dead at that moment;
#  - statements per handover with W waiters (pg_stat_database xact_commit
#    delta, and pg_stat_statements by statement).
# Knobs: R (21), K (10), W (100).  Needs bash 5 (EPOCHREALTIME), python3,
# PostgreSQL 15 ($PG_BINDIR, default /usr/lib/postgresql/15/bin).
set -eu
LR=${1:?usage: bench_pg.sh LEADERRUN}
R=${R:-21} K=${K:-10} W=${W:-100}
BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
T=$(mktemp -d)
chmod 755 "$T"
AS=()
[ "$(id -u)" != 0 ] || AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
mkdir "$T/pg" "$T/sock"
[ "$(id -u)" != 0 ] || chown nobody:nogroup "$T/pg" "$T/sock"
"${AS[@]}" "$BIN/initdb" -D "$T/pg/data" -U postgres -A trust -E UTF8 --no-locale \
    --no-sync --no-instructions > "$T/initdb.log" 2>&1
cat > "$T/pg/data/pg_hba.conf" <<EOF
local	all	all			trust
host	all	lr_trust	127.0.0.1/32	trust
host	all	all		127.0.0.1/32	scram-sha-256
EOF
"${AS[@]}" "$BIN/postgres" -D "$T/pg/data" -p "$port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$T/sock" -c fsync=off -c synchronous_commit=off \
    -c max_connections=$((W + 50)) -c shared_preload_libraries=pg_stat_statements \
    > "$T/pg.log" 2>&1 &
PGPID=$!
EPID=
trap 'kill -INT $PGPID 2>/dev/null; [ -z "$EPID" ] || kill $EPID 2>/dev/null; wait; rm -rf "$T"' EXIT
q() { "$BIN/psql" -X -q -A -t -h "$T/sock" -p "$port" -U postgres -d postgres -c "$1"; }
until q 'SELECT 1' > /dev/null 2>&1; do sleep 0.05; done
q "CREATE ROLE lr LOGIN PASSWORD 'bench'" > /dev/null
q "CREATE ROLE lr_trust LOGIN" > /dev/null
q "GRANT ALL ON SCHEMA public TO lr, lr_trust" > /dev/null
q "CREATE EXTENSION pg_stat_statements" > /dev/null
export LEADERRUN_STORE_PASSWORD=bench
U=postgres://lr@127.0.0.1:$port/postgres
UT=postgres://lr_trust@127.0.0.1:$port/postgres
"$LR" -S "$U" -l warm -- true	# the tables
q "GRANT SELECT, INSERT, UPDATE ON leaderrun_lease TO lr_trust;
   GRANT SELECT, INSERT, UPDATE, DELETE ON leaderrun_lease_waiter TO lr_trust" > /dev/null
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print a[i] }'; }
name=bench-$$
waiters() { q "SELECT count(*) FROM leaderrun_lease_waiter WHERE name = '$name'"; }

# ---- graceful handover, 2 waiters ------------------------------------------
cat > "$T/job.sh" <<'EOF'
#!/bin/bash
echo "start $EPOCHREALTIME" >> "$1"
until [ -e "$2" ]; do sleep 0.001; done
echo "end $EPOCHREALTIME" >> "$1"
EOF
chmod +x "$T/job.sh"
# handover URL READY: R rounds; READY N says when N waiters wait.
handover() {
	local u=$1 ready=$2 i p1 p2 p3
	: > "$T/gaps"
	for ((i = 0; i < R; i++)); do
		rm -f "$T/log" "$T/go"*
		"$LR" -S "$u" -l "$name" -t 10s -r 2s -- "$T/job.sh" "$T/log" "$T/go" &
		p1=$!
		until [ -s "$T/log" ]; do sleep 0.001; done
		"$LR" -S "$u" -l "$name" -t 10s -r 2s -v -- "$T/job.sh" "$T/log" "$T/go" 2> "$T/w2" &
		p2=$!
		"$LR" -S "$u" -l "$name" -t 10s -r 2s -v -- "$T/job.sh" "$T/log" "$T/go" 2> "$T/w3" &
		p3=$!
		until "$ready"; do sleep 0.001; done
		sleep 0.05
		touch "$T/go"
		wait $p1 $p2 $p3
		awk '$1 == "end" { e = $2 } $1 == "start" && e { printf "%d\n", ($2 - e) * 1000000; e = 0 }' \
		    "$T/log" | head -n 1 >> "$T/gaps"
	done
	printf 'graceful handover, 2 waiters, %s (%d rounds): p50 %d us, p99 %d us\n' "$3" "$R" \
	    "$(pct 50 < "$T/gaps")" "$(pct 99 < "$T/gaps")"
}
pg_two() { [ "$(waiters)" = 2 ]; }
both_wait() { grep -q waiting "$T/w2" 2>/dev/null && grep -q waiting "$T/w3" 2>/dev/null; }
handover "$U" pg_two postgres
if command -v etcd > /dev/null; then
	ep=$(free_port) pp=$(free_port)
	etcd --data-dir "$T/etcd" --listen-client-urls "http://127.0.0.1:$ep" \
	    --advertise-client-urls "http://127.0.0.1:$ep" \
	    --listen-peer-urls "http://127.0.0.1:$pp" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
	    --initial-cluster "default=http://127.0.0.1:$pp" > "$T/etcd.log" 2>&1 &
	EPID=$!
	until ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ep" endpoint health > /dev/null 2>&1; do
		sleep 0.05
	done
	unset LEADERRUN_STORE_PASSWORD
	handover "etcd://127.0.0.1:$ep" both_wait etcd
	export LEADERRUN_STORE_PASSWORD=bench
fi

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
pg_one() { [ "$(waiters)" = 1 ]; }
crash() {
	local u=$1 i sup new alive=0
	: > "$T/fail"
	for ((i = 0; i < K; i++)); do
		rm -f "$T/pid" "$T/new" "$T/new.old"
		"$LR" -S "$u" -l "$name" -t 10s -- "$T/old.sh" "$T/pid" &
		sup=$!
		until [ -s "$T/pid" ]; do sleep 0.001; done
		"$LR" -S "$u" -l "$name" -t 10s -- "$T/new.sh" "$T/pid" "$T/new" &
		new=$!
		until pg_one; do sleep 0.001; done
		t0=$EPOCHREALTIME
		kill -KILL "$sup"
		until [ -s "$T/new" ]; do sleep 0.001; done
		awk -v a="$t0" -v b="$(cat "$T/new")" 'BEGIN { printf "%d\n", (b - a) * 1000000 }' >> "$T/fail"
		[ ! -e "$T/new.old" ] || alive=$((alive + 1))
		wait $sup $new 2>/dev/null || true
	done
	printf 'crash failover after kill -9, %s (%d runs): p50 %d us, max %d us; old job alive at the new start: %d\n' \
	    "$2" "$K" "$(pct 50 < "$T/fail")" "$(pct 100 < "$T/fail")" "$alive"
}
# (bash's "Killed" notes for the supervisors killed on purpose: not shown)
crash "$U" "SCRAM (a waiter on the same host sees the holder gone)" 2> /dev/null
crash "$UT" "trust (the watchdog's last words)" 2> /dev/null

# ---- statements per handover, W waiters ----------------------------------------
rm -f "$T/log" "$T/go"
"$LR" -S "$U" -l "$name" -t 60s -r 20s -- "$T/job.sh" "$T/log" "$T/go" &
pids=$!
until [ -s "$T/log" ]; do sleep 0.001; done
for ((i = 0; i < W; i++)); do
	"$LR" -S "$U" -l "$name" -t 60s -r 20s -- "$T/job.sh" "$T/log" "$T/go2" &
	pids="$pids $!"
done
until [ "$(waiters)" = "$W" ]; do sleep 0.01; done
sleep 0.2
# Waiters also look every retry period: count a quiet window as long as
# the handover's, and take it off.  (pg_stat_statements counts at once;
# pg_stat_database's counters lag by up to a second.)
calls() { q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'"; }
sleep 1	# the last waiters' first looks
q "SELECT pg_stat_statements_reset()" > /dev/null
sleep 0.5
quiet=$(calls)
q "SELECT pg_stat_statements_reset()" > /dev/null
touch "$T/go"
until [ "$(grep -c start "$T/log")" = 2 ]; do sleep 0.001; done
sleep 0.5
busy=$(calls)
echo "statements for one handover with $W waiters (retry 20s): $busy in the 0.5 s" \
    "after the release ($quiet in a quiet 0.5 s before it: the waiters' own looks);" \
    "pg_stat_statements, by statement:"
q "SELECT calls, left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_statements
   WHERE query NOT LIKE '%pg_stat%' ORDER BY calls DESC" | sed 's/^/  /'
touch "$T/go2"
wait $pids
