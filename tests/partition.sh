#!/usr/bin/env bash
# partition.sh - network faults between leaderrun's hosts and their store,
# Jepsen-style: never two commands at once, and how long a failover takes.
#
#   tests/partition.sh [-s etcd|redis|postgres] [-n rounds] [-H hosts] [-m members]
#                      [-t lease-ms] [-e election-ms] [-F kinds] [-r seed]
#                      [-d min-max] [-q] [-k]
#
# As root.  Each "host" (-H, 2 or 3, default 2) is a network namespace plus
# a PID and UTS namespace of its own, so leaderrun sees another boot/pid-ns
# identity and another hostname on each; the store runs in namespaces of its
# own: one redis-server, one postgres, or etcd with -m members (1 or 3, default 3), each
# member with a client link and a peer link (tests/netns.bash draws the
# network).  Every host runs leaderrun in a loop on one lease; the command
# is a job that takes `flock -n` on a shared witness file first thing and
# keeps it for its whole life (its children inherit the descriptor): a job
# that finds the witness taken logs an overlap and exits.  That is the
# kernel's word, exact, with no clock involved.
#
# Each round waits for a leader, picks a fault at random, applies it for a
# random time (0.3 to 2.5 leases, or -d MIN-MAX ms), heals it, watches the leader for 0.6 of
# a lease more, then requires, within a bound, a leader and every host able
# to read the store again (leaderrun --status from the host's namespace).
# The faults, on the client link of the leader's host or of a follower:
#   cut        both ends drop every packet: a silent cut both ways
#   oneway     the store's end drops: requests arrive, replies are lost
#   flap       cut and healed in turn, every 100-400 ms
#   slow       both ends at 16 kbit/s
# and on a 3-member etcd (etcd's raft is the target; "leader's" when the
# member is the first one the leader's host asks):
#   member-cut a member's peer link cut both ways: partitioned from the other
#              two, while the hosts still reach it
#   raft-stop  the raft leader SIGSTOPped (SIGCONT at the heal)
# Each round records cut -> old command stopped (its TERM trap's stamp, or
# the moment its lock on alive.TERM freed), cut -> new command started (the
# new job's first stamp), or that the leader rode the fault out.
#
# At the end it prints one table per fault kind and the exit statuses of
# leaderrun, and exits 1 on any overlap, term that went back, host that did
# not recover, or leak (a process of the run, a namespace left), 2 on a
# usage or setup error.  -k keeps the run directory (always kept on
# failure); -q prints only the summary line and the tables.  INT or TERM
# ends the run after the round under way, with its tables.  Timestamps are
# bash's EPOCHREALTIME: they measure, they never decide an overlap.
#
# Defaults: etcd -t 3000 (etcd TTLs are whole seconds) with etcd's own
# election timeout, 1000 ms (-e; the heartbeat is a tenth); redis and
# postgres -t 1000.  PG_BINDIR: where postgres is (/usr/lib/postgresql/15/bin).
# Environment: LEADERRUN (default ../leaderrun), TMPDIR, PARTITION_ARGS
# (more leaderrun options for every host), PARTITION_ETCD_ARGS (more etcd
# options for every member, such as --pre-vote).
set -u

here=$(cd "$(dirname "$0")" && pwd)
LEADERRUN=${LEADERRUN:-$here/../leaderrun}
# shellcheck source=tests/netns.bash
. "$here/netns.bash"

die() { echo "partition: $*" >&2; exit 2; }
say() { [ "$QUIET" = 1 ] || echo "partition: $*" >&2; }
now() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }	# ms

STORE=etcd ROUNDS=10 HOSTS=2 MEMBERS=3 LEASE= ELECTION=1000 KINDS= SEED=
QUIET=0 KEEP=0
FAULT_MIN= FAULT_MAX=
while getopts s:n:H:m:t:e:F:r:d:qk opt; do
	case $opt in
	s) STORE=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	H) HOSTS=$OPTARG ;;
	m) MEMBERS=$OPTARG ;;
	t) LEASE=$OPTARG ;;
	e) ELECTION=$OPTARG ;;
	F) KINDS=$OPTARG ;;
	r) SEED=$OPTARG ;;
	d) FAULT_MIN=${OPTARG%-*} FAULT_MAX=${OPTARG#*-} ;;
	q) QUIET=1 ;;
	k) KEEP=1 ;;
	*) die "usage: partition.sh [-s etcd|redis|postgres] [-n rounds] [-H hosts] [-m members] [-t lease-ms] [-e election-ms] [-F kinds] [-r seed] [-d min-max] [-q] [-k]" ;;
	esac
done
case $STORE in
etcd) : "${LEASE:=3000}"
      case $MEMBERS in 1 | 3) ;; *) die "-m: 1 or 3 members" ;; esac ;;
redis | postgres) : "${LEASE:=1000}"; MEMBERS=1 ;;
*) die "-s: etcd, redis or postgres" ;;
esac
case $HOSTS in 2 | 3) ;; *) die "-H: 2 or 3 hosts" ;; esac
: "${FAULT_MIN:=$((LEASE * 3 / 10))}" "${FAULT_MAX:=$((LEASE * 5 / 2))}"
[[ $ROUNDS =~ ^[0-9]+$ && $LEASE =~ ^[0-9]+$ && $ELECTION =~ ^[0-9]+$ &&
   $FAULT_MIN =~ ^[0-9]+$ && $FAULT_MAX =~ ^[0-9]+$ ]] && [ "$FAULT_MIN" -le "$FAULT_MAX" ] ||
    die "-n, -t, -e and -d take whole numbers (-d: MIN-MAX, MIN <= MAX)"
[ -x "$LEADERRUN" ] || die "no leaderrun at $LEADERRUN (make first)"
why=$(netns_usable) || die "$why"
PG_BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
case $STORE in
etcd) server=etcd ;;
redis) server=redis-server ;;
postgres) server=$PG_BIN/postgres ;;
esac
for c in flock setpriv "$server"; do
	command -v "$c" > /dev/null || die "$c not installed"
done
[ "$STORE" = etcd ] && { command -v curl > /dev/null || die "curl not installed"; }
if [ -z "$KINDS" ]; then
	KINDS="cut oneway flap slow"
	[ "$STORE" = etcd ] && [ "$MEMBERS" = 3 ] && KINDS="$KINDS member-cut raft-stop"
fi
read -ra KIND_LIST <<< "$KINDS"
for k in "${KIND_LIST[@]}"; do
	case $k in
	cut | oneway | flap | slow) ;;
	member-cut | raft-stop) [ "$STORE" = etcd ] && [ "$MEMBERS" = 3 ] ||
	    die "$k needs a 3-member etcd" ;;
	*) die "unknown fault kind: $k" ;;
	esac
done
: "${SEED:=$((RANDOM * 32768 + RANDOM))}"
RANDOM=$SEED

D=$(mktemp -d "${TMPDIR:-/tmp}/partition.XXXXXX") || die "mktemp failed"
TAG=lrp$$
NETNS_PREFIX=$TAG
LOG=$D/log
NAME=part
FAILED=0
declare -a PIDS=() STORE_PIDS=()

# ---- cleanup: everything this run started, by PID, then its namespaces ----
LEAKS=0 PGD=
cleanup() {
	local p ns left
	trap - EXIT INT TERM
	for p in "${PIDS[@]}" "${STORE_PIDS[@]}"; do
		kill -CONT "$p" 2> /dev/null
		kill -KILL "$p" 2> /dev/null
	done
	for p in "${PIDS[@]}" "${STORE_PIDS[@]}"; do
		wait "$p" 2> /dev/null
	done
	# --kill-child took the PID namespaces down; wait for their last
	# processes to be reaped (bounded) before the namespaces go.
	for _ in $(seq 100); do
		left=$(tagged)
		[ -z "$left" ] && break
		sleep 0.05
	done
	netns_teardown
	[ -z "$PGD" ] || rm -rf "$PGD"
	if [ -n "$left" ]; then
		echo "partition: leak: processes left: $left" >&2
		LEAKS=$((LEAKS + 1))
	fi
	if [ -n "$(netns_left)" ]; then
		echo "partition: leak: namespaces left: $(netns_left | tr '\n' ' ')" >&2
		LEAKS=$((LEAKS + 1))
	fi
	if [ -n "$(ip -o link show type veth 2> /dev/null | grep -E "$TAG|: (h[123]|m[123]p?|s)@")" ]; then
		echo "partition: leak: veth left in the root namespace" >&2
		LEAKS=$((LEAKS + 1))
	fi
}

# tagged: the PIDs of processes of this run (PART_TAG in their environment).
tagged() {
	local f
	for f in /proc/[0-9]*/environ; do
		grep -qsz "^PART_TAG=$TAG\$" "$f" && { f=${f#/proc/}; printf '%s ' "${f%/environ}"; }
	done
}

finish() {
	local rc=$1
	cleanup
	[ "$LEAKS" = 0 ] || rc=1
	if [ "$rc" = 0 ] && [ "$KEEP" = 0 ]; then
		rm -rf "$D"
	else
		echo "partition: run directory kept: $D" >&2
	fi
	exit "$rc"
}
# INT or TERM ends the run after the current round, with the table.
STOP=0
trap 'STOP=1' INT TERM
trap 'finish $?' EXIT

# ---- the network and the store -------------------------------------------
netns_fabric || die "cannot build the network"
# Hosts: h1..h3 at 10.231.1.21..23; etcd members m1..m3 at .11..13 (peers
# 10.231.2.11..13); redis or postgres s at .10.
for i in $(seq "$HOSTS"); do
	netns_node "h$i" $((20 + i)) || die "cannot make host h$i"
done

start_bg() {	# start_bg VAR CMD...: a process of this run, dies with it
	local var=$1
	shift
	env PART_TAG="$TAG" setpriv --pdeathsig KILL "$@" &
	eval "$var+=($!)"
}

if [ "$STORE" = redis ]; then
	netns_node s 10 || die "cannot make the store's namespace"
	mkdir "$D/redis"
	start_bg STORE_PIDS ip netns exec "$TAG-s" redis-server --bind 10.231.1.10 \
	    --port 6379 --protected-mode no --save '' --appendonly no --dir "$D/redis" \
	    --logfile "$D/redis/log"
	URLS=(redis://10.231.1.10:6379 redis://10.231.1.10:6379 redis://10.231.1.10:6379)
	for _ in $(seq 100); do
		netns_exec h1 redis-cli -h 10.231.1.10 ping 2> /dev/null | grep -q PONG && break
		sleep 0.05
	done
elif [ "$STORE" = postgres ]; then
	# As nobody (postgres refuses root), trusting the hosts' subnet: the
	# logins are tested elsewhere, the network here.
	netns_node s 10 || die "cannot make the store's namespace"
	# Its data apart from $D, whose parents (a test's TMPDIR) nobody may
	# not be able to enter; removed with the run, the logs kept in $D.
	PGD=$(mktemp -d /tmp/partition-pg.XXXXXX) || die "mktemp failed"
	chmod 755 "$PGD"
	chown nobody:nogroup "$PGD"
	PGAS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	"${PGAS[@]}" "$PG_BIN/initdb" -D "$PGD/data" -U postgres -A trust \
	    -E UTF8 --no-locale --no-sync --no-instructions > "$D/initdb.log" 2>&1 ||
	    die "initdb failed (log: $D/initdb.log)"
	printf 'host all all 10.231.0.0/16 trust\n' > "$PGD/data/pg_hba.conf"
	start_bg STORE_PIDS ip netns exec "$TAG-s" "${PGAS[@]}" "$PG_BIN/postgres" \
	    -D "$PGD/data" -p 5432 -c listen_addresses=10.231.1.10 \
	    -c unix_socket_directories= -c fsync=off -c full_page_writes=off \
	    -c max_connections=40 2> "$D/postgres.log"
	URLS=(postgres://postgres@10.231.1.10:5432/postgres
	    postgres://postgres@10.231.1.10:5432/postgres
	    postgres://postgres@10.231.1.10:5432/postgres)
	for _ in $(seq 100); do
		netns_exec h1 "$PG_BIN/pg_isready" -q -h 10.231.1.10 -p 5432 && break
		sleep 0.05
	done
else
	read -ra ETCD_EXTRA <<< "${PARTITION_ETCD_ARGS:-}"
	cluster= eps=()
	for i in $(seq "$MEMBERS"); do
		if [ "$MEMBERS" = 3 ]; then
			netns_node "m$i" $((10 + i)) $((10 + i)) || die "cannot make member m$i"
			peer=10.231.2.$((10 + i))
		else
			netns_node "m$i" $((10 + i)) || die "cannot make member m$i"
			peer=10.231.1.$((10 + i))
		fi
		cluster+="${cluster:+,}m$i=http://$peer:2380"
		eps+=("10.231.1.$((10 + i)):2379")
	done
	for i in $(seq "$MEMBERS"); do
		if [ "$MEMBERS" = 3 ]; then peer=10.231.2.$((10 + i)); else peer=10.231.1.$((10 + i)); fi
		c=http://10.231.1.$((10 + i)):2379
		start_bg STORE_PIDS ip netns exec "$TAG-m$i" etcd --name "m$i" \
		    --data-dir "$D/m$i" --listen-client-urls "$c" \
		    --advertise-client-urls "$c" \
		    --listen-peer-urls "http://$peer:2380" \
		    --initial-advertise-peer-urls "http://$peer:2380" \
		    --initial-cluster "$cluster" --initial-cluster-state new \
		    --initial-cluster-token "$TAG" \
		    --heartbeat-interval $((ELECTION / 10)) \
		    --election-timeout "$ELECTION" "${ETCD_EXTRA[@]}" 2> "$D/m$i.log"
	done
	# Host i asks member i first (then the others in turn).
	URLS=()
	for i in 1 2 3; do
		if [ "$MEMBERS" = 3 ]; then
			j=$(( (i - 1) % 3 ))
			URLS+=("etcd://${eps[j]},${eps[(j + 1) % 3]},${eps[(j + 2) % 3]}")
		else
			URLS+=("etcd://${eps[0]}")
		fi
	done
	for _ in $(seq 200); do
		netns_exec net curl -s -m 1 -X POST -d '{"key":"eA=="}' \
		    "http://${eps[$((MEMBERS - 1))]}/v3/kv/range" 2> /dev/null |
		    grep -q header && break
		sleep 0.05
	done
fi

# raft_leader: the index of etcd's raft leader, from the members' metrics.
raft_leader() {
	local i
	for i in $(seq "$MEMBERS"); do
		netns_exec net curl -s -m 1 "http://10.231.1.$((10 + i)):2379/metrics" 2> /dev/null |
		    grep -q '^etcd_server_is_leader 1' && { echo "$i"; return 0; }
	done
	return 1
}

# ---- the job and the hosts --------------------------------------------------
cat > "$D/job" <<'EOF'
#!/bin/bash
# The command leaderrun runs: the witness first, then work until TERM.
d=$1
exec 9>> "$d/witness"
if ! flock -n 9; then
	printf 'X %s %s %s\n' "${EPOCHREALTIME/./}" "$PART_HOST" "$LEADERRUN_TERM" >> "$d/log"
	exit 99
fi
exec 8> "$d/alive.$LEADERRUN_TERM"
flock -s 8
trap 'printf "E %s %s %s\n" "${EPOCHREALTIME/./}" "$PART_HOST" "$LEADERRUN_TERM" >> "$d/log"; exit 143' TERM
printf 'S %s %s %s\n' "${EPOCHREALTIME/./}" "$PART_HOST" "$LEADERRUN_TERM" >> "$d/log"
while :; do sleep 1 & wait $!; done
EOF
cat > "$D/host" <<'EOF'
#!/bin/bash
# One host's contender: leaderrun in a loop, each exit status logged.
d=$1 lr=$2 url=$3 lease=$4
shift 4
hostname "$PART_HOST"
while :; do
	"$lr" -v -S "$url" -l part -t "${lease}ms" "$@" -- "$d/job" "$d" 2>> "$d/$PART_HOST.err"
	printf 'R %s %s %s\n' "${EPOCHREALTIME/./}" "$PART_HOST" $? >> "$d/log"
	sleep 0.05
done
EOF
chmod +x "$D/job" "$D/host"
: > "$LOG"
read -ra EXTRA <<< "${PARTITION_ARGS:-}"
for i in $(seq "$HOSTS"); do
	PART_HOST=h$i start_bg PIDS ip netns exec "$TAG-h$i" unshare --pid \
	    --fork --kill-child --mount-proc --uts env PART_HOST="h$i" \
	    "$D/host" "$D" "$LEADERRUN" "${URLS[i - 1]}" "$LEASE" "${EXTRA[@]}"
done
say "$STORE ($MEMBERS member(s)), $HOSTS hosts, lease ${LEASE}ms, $ROUNDS rounds, faults: $KINDS, seed $SEED, in $D"

# ---- watching the log -------------------------------------------------------
exec 7< "$LOG"
CUR_TERM= CUR_HOST= CUR_START= PARTIAL= OVERLAPS=0 TERM_BACK=0 LAST_TERM=0
declare -A ENDED=() STATUS=()
poll_log() {
	local line l t h x
	while IFS= read -r line <&7 || { PARTIAL+=$line; false; }; do
		line=$PARTIAL$line PARTIAL=
		read -r l t h x <<< "$line"
		case $l in
		S) if [ "$x" -le "$LAST_TERM" ]; then
			echo "partition: term went back: $h started term $x after $LAST_TERM" >&2
			TERM_BACK=$((TERM_BACK + 1))
		   fi
		   LAST_TERM=$x CUR_TERM=$x CUR_HOST=$h CUR_START=$((t / 1000)) ;;
		E) ENDED[$x]=$((t / 1000)) ;;
		X) OVERLAPS=$((OVERLAPS + 1))
		   [ "$OVERLAPS" -gt 5 ] ||
		   echo "partition: OVERLAP: $h started term $x while another job held the witness" >&2 ;;
		R) STATUS[$x]=$(( ${STATUS[$x]:-0} + 1 )) ;;
		esac
	done
}
# dead TERM: the job of TERM is gone (its lock on alive.TERM is free).
dead() { flock -n -x "$D/alive.$1" true 2> /dev/null; }
# leader_now: a job runs (CUR_TERM alive) - or fail.
leader_now() { poll_log; [ -n "$CUR_TERM" ] && ! dead "$CUR_TERM"; }

# recovered: within BOUND ms, a leader runs and every host reads the store.
BOUND=$((LEASE * 4 + 15000))
recovered() {
	local t0 i ok
	t0=$(now)
	while [ $(( $(now) - t0 )) -lt "$BOUND" ]; do
		[ "$OVERLAPS" = 0 ] || { NOT_BACK="two commands at once"; return 1; }
		ok=1
		leader_now || ok=0
		if [ "$ok" = 1 ]; then
			for i in $(seq "$HOSTS"); do
				timeout 10 ip netns exec "$TAG-h$i" "$LEADERRUN" --status \
				    -S "${URLS[i - 1]}" -l "$NAME" > /dev/null 2>&1
				[ $? -le 1 ] || { ok=0; NOT_BACK=h$i; break; }
			done
		else
			NOT_BACK="no leader"
		fi
		[ "$ok" = 1 ] && return 0
		sleep 0.2
	done
	return 1
}

# ---- the rounds --------------------------------------------------------------
ROWS=$D/rows	# kind side rode(0/1) stop-ms start-ms late(0/1) fault-ms
# The watch after the heal: long enough for a renewal that hung in the
# fault to run out; on etcd, for two election timeouts more (a member that
# comes back may call an election).
SETTLE=$((LEASE * 6 / 10))
[ "$STORE" = etcd ] && SETTLE=$((SETTLE + 2 * ELECTION))
: > "$ROWS"
rand() { echo $(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); }

apply() {	# apply KIND TARGET: the fault on
	case $1 in
	cut | flap) netns_cut "$2" c ;;
	oneway) netns_lose_replies "$2" ;;
	slow) netns_slow_link "$2" ;;
	member-cut) netns_cut "$2" p ;;
	raft-stop) kill -STOP "${STORE_PIDS[${2#m} - 1]}" ;;
	esac
}
heal() {	# heal KIND TARGET: the fault off
	case $1 in
	cut | flap | oneway | slow) netns_heal_link "$2" c ;;
	member-cut) netns_heal_link "$2" p ;;
	raft-stop) kill -CONT "${STORE_PIDS[${2#m} - 1]}" ;;
	esac
}

recovered || { echo "partition: no leader at the start ($NOT_BACK)" >&2; FAILED=1; ROUNDS=0; }
for round in $(seq "$ROUNDS"); do
	[ "$STOP" = 0 ] || break
	# The leader may have changed since recovered looked.
	leader_now || recovered || { FAILED=1; break; }
	lh=$CUR_HOST lt=$CUR_TERM
	kind=${KIND_LIST[RANDOM % ${#KIND_LIST[@]}]}
	lhi=${lh#h}
	case $kind in
	member-cut)
		if [ $((RANDOM % 2)) = 0 ]; then m=$lhi; else m=$(( (lhi + RANDOM % 2) % 3 + 1 )); fi
		target=m$m ;;
	raft-stop)
		m=$(raft_leader) || { echo "partition: round $round: no raft leader" >&2; m=1; }
		target=m$m ;;
	*)
		if [ $((RANDOM % 2)) = 0 ]; then target=$lh
		else target=h$(( (lhi + RANDOM % (HOSTS - 1)) % HOSTS + 1 )); fi ;;
	esac
	case $kind in
	member-cut | raft-stop) [ "$m" = "$lhi" ] && side=leader || side=follower ;;
	*) [ "$target" = "$lh" ] && side=leader || side=follower ;;
	esac
	dur=$(rand "$FAULT_MIN" "$FAULT_MAX")
	stop= start= flap_on=1 flap_next=
	t0=$(now)
	apply "$kind" "$target"
	[ "$kind" = flap ] && flap_next=$((t0 + $(rand 100 400)))
	end=$((t0 + dur)) settle=$((t0 + dur + SETTLE))
	healed=0
	while t=$(now); [ "$t" -lt "$settle" ]; do
		if [ "$healed" = 0 ] && [ "$t" -ge "$end" ]; then
			[ "$flap_on" = 1 ] && heal "$kind" "$target"
			healed=1
		fi
		if [ "$healed" = 0 ] && [ -n "$flap_next" ] && [ "$t" -ge "$flap_next" ]; then
			if [ "$flap_on" = 1 ]; then heal flap "$target"; flap_on=0
			else apply flap "$target"; flap_on=1; fi
			flap_next=$((t + $(rand 100 400)))
		fi
		poll_log
		if [ -z "$stop" ] && dead "$lt"; then
			poll_log
			stop=$(( ${ENDED[$lt]:-$(now)} - t0 ))
		fi
		if [ -z "$start" ] && [ "$CUR_TERM" != "$lt" ]; then
			start=$((CUR_START - t0))
		fi
		[ "$OVERLAPS" = 0 ] || break
		sleep 0.025
	done
	[ "$healed" = 1 ] || heal "$kind" "$target"
	# A leader that changes after the watch, while the hosts come back, is
	# a late loss of this round's fault (etcd: a member's return may force
	# a raft election).
	after=$CUR_TERM
	[ -n "$after" ] && dead "$after" && after=
	if ! recovered; then
		echo "partition: round $round: $kind on $target: not recovered $((BOUND / 1000))s after the heal: $NOT_BACK" >&2
		FAILED=1
		break
	fi
	late=0
	[ "$CUR_TERM" = "$after" ] || late=1
	rode=0
	[ -z "$stop" ] && [ -z "$start" ] && [ "$late" = 0 ] && rode=1
	echo "$kind $side $rode ${stop:--} ${start:--} $late $dur" >> "$ROWS"
	say "round $round: $kind on $target ($side's) for ${dur}ms: $([ "$rode" = 1 ] && echo "rode it out" || echo "stopped ${stop:--}ms, started ${start:--}ms")$([ "$late" = 1 ] && echo ", leader changed after the heal")"
	[ "$OVERLAPS" = 0 ] || { FAILED=1; break; }
done
poll_log

# ---- the tables -------------------------------------------------------------
{
	echo "partition: $STORE, $HOSTS hosts, lease ${LEASE}ms, $(wc -l < "$ROWS") rounds, $OVERLAPS overlaps, seed $SEED$([ "$STOP" = 0 ] || echo ", stopped by a signal")"
	awk '
	function stats(a, n,   i, j, t, s) {	# "median / max", ms
		if (n == 0) return "-"
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return sprintf("%.2f / %.2f", a[int((n + 1) / 2)] / 1000, a[n] / 1000)
	}
	{ k = $1 " " $2; if (!(k in n)) order[++nk] = k; n[k]++
	  if ($3) rode[k]++
	  if ($6) late[k]++
	  if ($4 != "-") { ns[k]++; s[k, ns[k]] = $4 }
	  if ($5 != "-") { nb[k]++; b[k, nb[k]] = $5 } }
	END {
		printf "%-11s %-9s %6s %6s %9s %5s %17s %17s\n", "fault", "link", "rounds", "rode", "failovers", "late", "cut->stopped (s)", "cut->started (s)"
		for (i = 1; i <= nk; i++) {
			k = order[i]; split(k, w, " ")
			delete x; for (j = 1; j <= ns[k]; j++) x[j] = s[k, j]; st = stats(x, ns[k])
			delete y; for (j = 1; j <= nb[k]; j++) y[j] = b[k, j]; bt = stats(y, nb[k])
			printf "%-11s %-9s %6d %6d %9d %5d %17s %17s\n", w[1], w[2], n[k], rode[k], nb[k], late[k], st, bt
		}
	}' <(sort -s -k1,1 -k2,2 "$ROWS")
	printf 'leaderrun exit statuses:'
	for s in "${!STATUS[@]}"; do printf ' %s x%s' "$s" "${STATUS[$s]}"; done
	echo
}
for s in "${!STATUS[@]}"; do
	case $s in
	124 | 125) ;;	# lost; the store unreachable at the start
	*) echo "partition: leaderrun exited $s ${STATUS[$s]} time(s): not a status a partition explains" >&2
	   FAILED=1 ;;
	esac
done
[ "$TERM_BACK" = 0 ] || FAILED=1
[ "$OVERLAPS" = 0 ] || FAILED=1
exit "$FAILED"
