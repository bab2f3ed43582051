#!/usr/bin/env bats
# The PostgreSQL store (issue 24): -S postgres://[USER@]HOST:PORT[,...]/DB
# and postgres+unix://[USER@]/SOCKETDIR, on a real PostgreSQL 15 started
# once for the file (tests/postgres.bash, SCRAM on TCP); each test uses a
# lease name of its own.  The shared scenarios run in
# 43-scenarios-postgres.bats.
load helpers
load postgres

setup_file() {
	if have_postgres; then
		postgres_start
		# The tables as an operator makes them (leaderrun(1)), with the
		# least privileges the other roles need.
		psql_ "CREATE TABLE leaderrun_lease (name text PRIMARY KEY,
		    token text, holder text, epoch bigint NOT NULL DEFAULT 0,
		    expires timestamptz, clean boolean NOT NULL DEFAULT false)" \
		    "CREATE TABLE leaderrun_lease_waiter (name text NOT NULL,
		    token text NOT NULL, since timestamptz NOT NULL,
		    seen timestamptz NOT NULL, PRIMARY KEY (name, token))" \
		    "GRANT SELECT, INSERT, UPDATE ON leaderrun_lease TO lr_scram,
		    lr_md5, lr_pass, lr_trust" \
		    "GRANT SELECT, INSERT, UPDATE, DELETE ON leaderrun_lease_waiter
		    TO lr_scram, lr_md5, lr_pass, lr_trust"
	fi
}
teardown_file() { postgres_teardown; }

setup() {
	lr_setup
	export LEADERRUN_STORE_PASSWORD=$PG_PASS_SCRAM
	URL=postgres://lr_scram@$PG_HOST:$PG_PORT/$PG_DB
}
teardown() { lr_teardown; }

# live: this test needs the file's server.
live() {
	need_postgres || return
	[ -n "${PG_PID:-}" ] || { echo "the file's server did not start" >&2; return 1; }
}

lrp() { "$LEADERRUN" -S "$URL" "$@"; }

bgp() {
	local n=$1
	shift
	env --default-signal=INT,QUIT "$LEADERRUN" -S "$URL" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

# row NAME COLUMN: that column of the lease row.
row() { psql_ "SELECT $2 FROM leaderrun_lease WHERE name = '$1'"; }

# ---- URLs, no server needed -----------------------------------------------------

@test "postgres URLs: bad forms are refused (125) with a reason, before any I/O" {
	for u in 'postgres://' 'postgres://127.0.0.1:5432' 'postgres://127.0.0.1/db' \
	    'postgres://127.0.0.1:99999/db' 'postgres://h:1/db?table=Bad-Name' \
	    'postgres://h:1/db?x=1' 'postgres+unix://nouser/tmp' 'postgres+unix:/x' \
	    'postgres://h:1,h:2,h:3,h:4,h:5,h:6,h:7,h:8,h:9/db' \
	    'postgres://h:1/db?db=other'; do
		run --separate-stderr -125 "$LEADERRUN" -S "$u" -l t -- true
		echo "$u: $stderr"
		[[ "$stderr" == "leaderrun: "*"store '"* ]]
	done
	run --separate-stderr -125 "$LEADERRUN" -S 'postgres://u:secret@h:1/db' -l t -- true
	[[ "$stderr" == *"password in the URL is refused"* ]]
	[[ "$stderr" != *secret* ]]
}

# ---- logins ------------------------------------------------------------------

@test "postgres: SCRAM-SHA-256 logs in; a wrong password is a one-line error naming 28P01 and what to check" {
	live
	run -0 lrp -l login -- sh -c 'echo "term $LEADERRUN_TERM"'
	[[ "$output" == "term "[0-9]* ]]
	run --separate-stderr env LEADERRUN_STORE_PASSWORD=wrong "$LEADERRUN" -S "$URL" -l login -- true
	echo "status $status: $stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == "leaderrun: "*"28P01"*"LEADERRUN_STORE_PASSWORD"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -le 2 ]
	# md5 and cleartext (to a local terminator) log in too; trust needs none.
	run -0 env LEADERRUN_STORE_PASSWORD="$PG_PASS_MD5" "$LEADERRUN" -S \
	    "postgres://lr_md5@$PG_HOST:$PG_PORT/$PG_DB" -l login -- true
	run -0 env LEADERRUN_STORE_PASSWORD="$PG_PASS_PLAIN" "$LEADERRUN" -S \
	    "postgres://lr_pass@$PG_HOST:$PG_PORT/$PG_DB" -l login -- true
	run -0 env -u LEADERRUN_STORE_PASSWORD "$LEADERRUN" -S \
	    "postgres://lr_trust@$PG_HOST:$PG_PORT/$PG_DB" -l login -- true
	# The unix socket (trusted here), database from ?db=.
	run -0 env -u LEADERRUN_STORE_PASSWORD "$LEADERRUN" -S \
	    "postgres+unix://lr_trust@/$PG_SOCKDIR?db=$PG_DB&port=$PG_PORT" -l login -- true
}

@test "postgres: a missing database names 3D000; a closed first endpoint fails over to the next" {
	live
	run --separate-stderr "$LEADERRUN" -S "postgres://lr_scram@$PG_HOST:$PG_PORT/nodb" -l t -- true
	echo "$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *3D000* ]]
	dead_port=$(free_ports 1)
	run -0 "$LEADERRUN" -S "postgres://lr_scram@127.0.0.1:$dead_port,$PG_HOST:$PG_PORT/$PG_DB" \
	    -l failover -- sh -c 'echo ran'
	[ "$output" = ran ]
}

# ---- the tables ----------------------------------------------------------------

@test "postgres: the tables are created when missing, ?table= names them; the row keeps the epoch, clears the token" {
	live
	psql_ "DROP TABLE IF EXISTS mylease, mylease_waiter"
	run -0 lrp -S "$URL?table=mylease" -l tab -- true
	run -0 lrp -S "$URL?table=mylease" -l tab -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 2 ]
	[ "$(psql_ "SELECT epoch, token IS NULL, clean FROM mylease WHERE name = 'tab'")" = '2|t|t' ]
	psql_ "SELECT count(*) FROM mylease_waiter" > /dev/null
}

@test "postgres: contenders that create the missing tables at the same instant all go on (the race on the table's row type)" {
	live
	# Each round: a new table name, 8 contenders started together; every
	# one of them leads in turn or is told "busy" (75), none fails (125).
	# Two creations at once collide on the table (42P07), its row type
	# (42710) or the catalog (23505): each means "made by another".
	for r in 1 2 3 4 5; do
		psql_ "DROP TABLE IF EXISTS race$r, race${r}_waiter"
		for i in 1 2 3 4 5 6 7 8; do
			"$LEADERRUN" -S "$URL?table=race$r" -l t -n -- true \
			    > /dev/null 2> "$OUT/race$r.$i.err" &
			echo $! > "$OUT/race$r.$i.pid"
		done
		for i in 1 2 3 4 5 6 7 8; do
			wait_exit "race$r.$i" 10
			echo "round $r contender $i: $STATUS $(cat "$OUT/race$r.$i.err")"
			[ "$STATUS" = 0 ] || [ "$STATUS" = 75 ]
		done
	done
}

# ---- acquire, renew, release ------------------------------------------------------

@test "postgres: a 300ms lease is renewed while the command runs 1s; the row names the holder; release frees it" {
	live
	bgp a -l renew -t 300ms -i node-a -- sh -c 'echo $$ > "$1.new"; mv "$1.new" "$1"; sleep 1' \
	    sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid" 10
	row renew holder | grep -qx 'holder=node-a'
	sleep 0.6
	# Still ours well past the lease: renewed, by the server's clock.
	[ "$(row renew "expires > now()")" = t ]
	run -75 lrp -l renew -n -- true
	wait_exit a
	[ "$STATUS" = 0 ]
	[ "$(row renew "token IS NULL")" = t ]
	[ "$(row renew clean)" = t ]
}

@test "postgres: waiters are served in the order they came, one NOTIFY each" {
	live
	write_order() { echo "$1" >> "$OUT/order"; }
	bgp a -l q -t 3s -i a -- sh -c 'touch "$1"; until [ -e "$2" ]; do sleep 0.01; done' \
	    sh "$OUT/a.ready" "$OUT/a.go"
	wait_for "$OUT/a.ready" 10
	for w in b c d e; do
		bgp "$w" -l q -t 6s -r 2s -i "$w" -v -- sh -c 'echo "$1" >> "$2"; sleep 0.05' \
		    sh "$w" "$OUT/order"
		wait_until 5 has waiting "$OUT/$w.err"
	done
	t0=$(now_ms)
	touch "$OUT/a.go"
	for w in b c d e; do wait_exit "$w" 10; [ "$STATUS" = 0 ]; done
	took=$(elapsed_ms "$t0")
	cat "$OUT/order"
	echo "four handovers in ${took}ms (retry period 2s: woken, not polled)"
	[ "$(tr '\n' ' ' < "$OUT/order")" = "b c d e " ]
	[ "$took" -lt 1500 ]
	[ "$(psql_ "SELECT count(*) FROM leaderrun_lease_waiter WHERE name = 'q'")" = 0 ]
}

# ---- failures ------------------------------------------------------------------

@test "postgres: after SIGKILL of the supervisor the watchdog's last words free the row (trust login)" {
	live
	URL=postgres://lr_trust@$PG_HOST:$PG_PORT/$PG_DB
	bgp a -l bye -t 30s -i a -- sh -c 'echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' \
	    sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid" 10
	[ "$(row bye "token IS NOT NULL")" = t ]
	t0=$(now_ms)
	kill -KILL "$(pid_of a)"
	wait_until 3 eval '[ "$(row bye "token IS NULL")" = t ]'
	echo "row freed $(elapsed_ms "$t0")ms after the kill (lease 30s)"
	[ "$(elapsed_ms "$t0")" -lt 1000 ]
	dead "$(cat "$OUT/cmd.pid")"
}

@test "postgres: a row deleted by hand: the leader stops, the waiter that saw it starts only after that" {
	live
	bgp a -l del -t 1s -r 100ms -i a -- "${TRAPPER[@]}" TERM "$OUT/a.term" "$OUT/a.ready" 0
	wait_for "$OUT/a.ready" 10
	bgp b -l del -t 1s -r 100ms -i b -v -- sh -c 'touch "$1"; date +%s%3N > "$2"' \
	    sh "$OUT/b.started" "$OUT/b.at"
	wait_until 5 has waiting "$OUT/b.err"
	t0=$(now_ms)
	psql_ "DELETE FROM leaderrun_lease WHERE name = 'del'"
	wait_for "$OUT/a.term" 5
	a_stop=$(now_ms)
	wait_for "$OUT/b.started" 5
	wait_exit a 5
	echo "a stopped after $((a_stop - t0))ms; b started after $(($(cat "$OUT/b.at") - t0))ms"
	cat "$OUT/b.err"
	[ "$(cat "$OUT/b.at")" -ge "$a_stop" ]
	# -t 1s: renew-deadline 500ms + kill-after 300ms.
	[ "$(($(cat "$OUT/b.at") - t0))" -ge 800 ]
	grep -q "deleted by hand?): waiting 800 ms" "$OUT/b.err"
	wait_exit b 5
	[ "$STATUS" = 0 ]
}

@test "postgres: a read-only hot standby is recognised and skipped, first in the list or alone" {
	live
	local sport sdir
	bin=$(_pg_bindir)
	sport=$(free_ports 1)
	sdir=$PG_DIR/standby
	echo "local replication all trust" >> "$PG_DIR/data/pg_hba.conf"
	psql_ "SELECT pg_reload_conf()" > /dev/null
	_pg_as "$bin/pg_basebackup" -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres \
	    -D "$sdir" -R -X stream > "$PG_DIR/basebackup.log" 2>&1
	server_spawn "$PG_DIR/standby.log" $([ "$(id -u)" = 0 ] && echo setpriv \
	    --reuid=nobody --regid=nogroup --clear-groups) "$bin/postgres" -D "$sdir" \
	    -p "$sport" -c listen_addresses=127.0.0.1 \
	    -c unix_socket_directories="$PG_SOCKDIR" -c fsync=off
	spid=$_SPAWNED
	server_wait 20 "$spid" eval "PSQL_DB=postgres timeout 5 $bin/psql -X -A -t \
	    -h $PG_SOCKDIR -p $sport -U postgres -d postgres \
	    -c 'SELECT pg_is_in_recovery()' 2> /dev/null | grep -qx t"
	run -0 "$LEADERRUN" -S "postgres://lr_scram@127.0.0.1:$sport,$PG_HOST:$PG_PORT/$PG_DB" \
	    -l standby -- sh -c 'echo "ran, term $LEADERRUN_TERM"'
	[ "$output" = "ran, term 1" ]
	run --separate-stderr "$LEADERRUN" -S "postgres://lr_scram@127.0.0.1:$sport/$PG_DB" \
	    -l standby -- true
	echo "$stderr"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"read-only standby"* ]]
	kill -INT "$spid"
	wait "$spid" 2> /dev/null || true
}

# ---- reading ---------------------------------------------------------------------

@test "postgres: --status and --list, plain and --json, name the holder, the term and the waiters" {
	live
	bgp a -l st -t 3s -i node-a -- sh -c 'touch "$1"; until [ -e "$2" ]; do sleep 0.01; done' \
	    sh "$OUT/a.ready" "$OUT/a.go"
	wait_for "$OUT/a.ready" 10
	bgp b -l st -t 3s -i node-b -v -- true
	wait_until 5 has waiting "$OUT/b.err"
	run -0 lrp --status -l st
	echo "$output"
	[[ "$output" == *"lease:      postgres://$PG_HOST:$PG_PORT/$PG_DB leaderrun_lease/st"* ]]
	[[ "$output" == *"holder:     node-a"* ]]
	[[ "$output" == *"waiters:    1"* ]]
	run -0 lrp --status --json -l st
	echo "$output"
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["state"]=="held" and d["holder"]=="node-a", d' "$output"
	run -0 lrp --list --json
	echo "$output"
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); n=[x["name"] for x in d]; assert "st" in n and n==sorted(n), n' "$output"
	run lrp --list
	echo "$output"
	[[ "$output" == *st* ]]
	touch "$OUT/a.go"
	wait_exit b 5
	[ "$STATUS" = 0 ]
}

# Last: it restarts the file's server.
@test "postgres: a server stopped under a leader: 124 within the renew deadline; the server back, leases work again" {
	live
	bgp l -l stop -t 2s -r 50ms --renew-deadline 500ms -k 300ms -- \
	    "${TRAPPER[@]}" TERM "$OUT/term" "$OUT/ready" 0
	wait_for "$OUT/ready" 10
	t0=$(now_ms)
	_PG_PID=$PG_PID		# started by setup_file, another shell
	postgres_stop
	wait_exit l 5
	took=$(elapsed_ms "$t0")
	echo "exit $STATUS ${took}ms after the stop"
	cat "$OUT/l.err"
	[ "$STATUS" = 124 ]
	[ "$took" -le 1200 ]
	[ -e "$OUT/term" ]
	_pg_launch
	server_wait 20 "$_PG_PID" _pg_ready
	# The leader's row outlived it; it expires by the server's clock.
	run -0 lrp -l stop -w 5s -- sh -c 'echo ok'
	[ "$output" = ok ]
	postgres_stop	# this test's shell started it: it goes with it
}
