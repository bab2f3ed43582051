# store.bash - one adaptor for the scenarios every store must pass
# (tests/scenarios.suite): STORE=file|etcd|redis|postgres picks the store, and the
# rest of a test does not know which it is.  Loaded after helpers.bash.
#
#   store_start        start the store (a real etcd or redis-server of the
#                      test's own, on a free port), set STORE_URL
#   lrs ARG...         leaderrun on it
#   bgs NAME ARG...    as bg (helpers.bash), on it
#   store_teardown     stop what store_start started
#   store_clean        the store holds nothing of ours once all have ended
#   store_where        what --status prints as lease: for lease t
#   store_items        what the store holds of ours now (to show that a
#                      --status changed nothing)
#   store_pause / store_resume   the store stops answering (the server is
#                      SIGSTOPped; the file store's record lock is held, as
#                      by a writer stuck in I/O) / answers again
#   write_job FILE     a command that logs "start ID TERM" / "end ID TERM"
#   no_overlap LOG     those lines never overlap and the terms grow
#
# And what differs between stores, each the bound its own tests had:
#   SC_LEASE           lease-duration for short elections
#   SC_HANDOVER_MS     a graceful handover "at once"
#   SC_CRASH           lease options for crash failover (a long lease:
#                      the takeover must not wait for it)
#   SC_CRASH_MS        crash failover after SIGKILL of the supervisor
#   SC_LOSS_MS         a stopped store: the command's stop signal after
#                      -r 50ms --renew-deadline 500ms (its last renewal at
#                      most 50ms before the stop)

case ${STORE:=file} in
etcd)	load etcd ;;
redis)	load redis ;;
postgres)	load postgres ;;
file)	;;
*)	echo "store.bash: STORE=$STORE: not file, etcd, redis or postgres" >&2
	return 1 ;;
esac

# Sanitizer builds exit slowly: allow them more where a bound is tight.
_SAN_MS=0
[ -z "${LEADERRUN_SANITIZED:-}" ] || _SAN_MS=1500

case $STORE in
file)	SC_LEASE=10s SC_HANDOVER_MS=$AT_ONCE_MS SC_CRASH=(-t 10s -r 2s)
	SC_CRASH_MS=$AT_ONCE_MS SC_LOSS_MS=900 ;;
etcd)	SC_LEASE=3s SC_HANDOVER_MS=$((200 + 300 + _SAN_MS)) SC_CRASH=(-t 3s)
	SC_CRASH_MS=$((700 + 300 + _SAN_MS)) SC_LOSS_MS=$((900 + _SAN_MS)) ;;
redis)	SC_LEASE=2s SC_HANDOVER_MS=200 SC_CRASH=(-t 10s -r 2s)
	SC_CRASH_MS=300 SC_LOSS_MS=900 ;;
# SCRAM: no last words from the watchdog (a login answers a challenge);
# the first waiter on the holder's host looks every 25ms instead.
postgres) SC_LEASE=2s SC_HANDOVER_MS=200 SC_CRASH=(-t 10s -r 2s)
	SC_CRASH_MS=$((300 + _SAN_MS)) SC_LOSS_MS=900 ;;
esac

store_start() {
	case $STORE in
	file)	STORE_URL=file:$DIR ;;
	etcd)	etcd_start && STORE_URL=$ETCD_URL ;;
	redis)	redis_start && STORE_URL=$REDIS_URL ;;
	postgres) postgres_start &&
		STORE_URL=postgres://lr_scram@$PG_HOST:$PG_PORT/$PG_DB &&
		export LEADERRUN_STORE_PASSWORD=$PG_PASS_SCRAM ;;
	esac
}

store_teardown() {
	case $STORE in
	file)	[ -z "${MUTEX_PID:-}" ] || kill -KILL "$MUTEX_PID" 2> /dev/null || true ;;
	etcd)	etcd_teardown ;;
	redis)	redis_teardown ;;
	postgres) postgres_teardown ;;
	esac
}

store_where() {
	case $STORE in
	file)	echo "$DIR/t.lease" ;;
	etcd)	echo "$ETCD_URL leaderrun/t/" ;;
	redis)	echo "$REDIS_URL/0 leaderrun:{t}:lock" ;;
	postgres) echo "postgres://$PG_HOST:$PG_PORT/$PG_DB leaderrun_lease/t" ;;
	esac
}

store_pause() {
	case $STORE in
	file)	touch "$DIR/t.lock"
		hold_mutex "$DIR/t.lock" "$OUT/locked"
		wait_for "$OUT/locked" ;;
	etcd)	etcd_pause ;;
	redis)	redis_pause ;;
	postgres) pg_pause_all ;;
	esac
}

store_resume() {
	case $STORE in
	file)	kill -KILL "$MUTEX_PID" ;;
	etcd)	etcd_resume ;;
	redis)	redis_resume ;;
	postgres) pg_resume_all ;;
	esac
}

store_items() {
	case $STORE in
	file)	ls -A "$DIR" ;;
	etcd)	etcdctl_ get --prefix leaderrun/ --keys-only | sed '/^$/d' |
		    grep -v '\.ended$'
		[ "$(nleases)" = 0 ] || echo "leases: $(nleases)" ;;
	redis)	rcli --scan --pattern 'leaderrun:*' | sort ;;
	postgres) psql_ "SELECT name || ' ' || coalesce(token, '-') || ' ' ||
		    epoch FROM leaderrun_lease ORDER BY 1" \
		    "SELECT 'waiter ' || name || ' ' || token FROM
		    leaderrun_lease_waiter ORDER BY 1" 2> /dev/null || true ;;
	esac
}

lrs() { "$LEADERRUN" -S "$STORE_URL" "$@"; }

bgs() {
	local n=$1
	shift
	env --default-signal=INT,QUIT "$LEADERRUN" -S "$STORE_URL" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

# store_clean: every contender has ended: nothing of ours is left held.
store_clean() {
	case $STORE in
	file)	[ "$(field state)" != held ] ;;
	etcd)	wait_until 3 no_leftovers && used_etcd ;;
	redis)	[ "$(rcli exists 'leaderrun:{t}:lock')" = 0 ] ;;
	postgres) [ "$(psql_ "SELECT count(*) FROM leaderrun_lease WHERE
		    token IS NOT NULL")" = 0 ] ;;
	esac
}

write_job() {
	cat > "$1" <<'JOB'
#!/bin/sh
# Log start and end under a lock of a separate file.
say() { flock "$1.lk" sh -c 'echo "$1" >> "$2"' sh "$2" "$1"; }
say "$1" "start $LEADERRUN_NODE_ID $LEADERRUN_TERM"
sleep 0.03
say "$1" "end $LEADERRUN_NODE_ID $LEADERRUN_TERM"
JOB
	chmod +x "$1"
}

no_overlap() {
	awk '
		$1 == "start" {
			if (open != "") { print "overlap: " $0 " while " open " runs"; bad = 1 }
			if ($3 + 0 <= last) { print "term did not increase: " $0; bad = 1 }
			open = $2 " " $3; last = $3 + 0; next
		}
		$1 == "end" {
			if (open != $2 " " $3) { print "end without its start: " $0; bad = 1 }
			open = ""; next
		}
		END { exit bad }' "$1"
}
