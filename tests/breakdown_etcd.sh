#!/bin/bash
# tests/breakdown_etcd.sh - where the time of a graceful handover on etcd
# goes, step by step.
#
# usage: tests/breakdown_etcd.sh [LEADERRUN [HANDOVERS]]	(default 15)
#
# One etcd (one member, loopback), a leader and two waiters on one lock,
# every leaderrun under strace -f (seccomp-bpf: stopped only at the calls
# below, so each costs some tens of microseconds, not every call).  The
# leader's command (tests/bench_clock relay) exits on SIGUSR1; the next
# leader's command is the next relay.  Per handover, the times of:
#   exit     the old command's exit_group
#   revoke   the old supervisor's worker sends its release (the clean-end
#            txn that deletes its key; its lease is left to run out)
#   revoked  ... and has its reply (etcd's raft proposal: the key goes)
#   event    the next waiter receives its watch's DELETE
#   look     ... sends its look (a read-only txn; none, +0, when its watch
#            showed the old leader's clean end whole)
#   looked   ... and has its reply: it leads
#   exec     its held command execs the new relay
#   started  the new relay stamps its start (its first write)
# and the median of each step over the handovers.  etcdctl lock's handover
# is the same path with a Delete for the revoke and a Range for the look.
# Needs strace, python3, etcd and a C compiler.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
LR=${1:-$here/../leaderrun}
N=${2:-15}
for t in strace python3 etcd; do
	command -v $t >/dev/null 2>&1 || { echo "breakdown-etcd: $t is required" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/lrbdetcd.XXXXXX")
EPID=
cleanup() {
	[ -x "$W/bc" ] && "$W/bc" sweep "$W/" >/dev/null
	[ -z "$EPID" ] || kill "$EPID" 2>/dev/null || :
	[ "${BD_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
"${CC:-cc}" -O2 -iquote "$here/.." -o "$W/bc" "$here/bench_clock.c" "$here/../lib/host.c"
cp "$LR" "$W/leaderrun"
read -r cp pp <<< "$("$W/bc" freeport 2)"
etcd --name bd --data-dir "$W/data" --listen-client-urls "http://127.0.0.1:$cp" \
    --advertise-client-urls "http://127.0.0.1:$cp" \
    --listen-peer-urls "http://127.0.0.1:$pp" \
    --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "bd=http://127.0.0.1:$pp" --logger zap --log-level error \
    </dev/null >/dev/null 2>"$W/etcd.log" &
EPID=$!
disown $EPID	# the sweep at the end stops it too
for ((i = 0; i < 100; i++)); do
	"$W/bc" http "$cp" /health >/dev/null 2>&1 && break
	sleep 0.05
done
: > "$W/log"
SEQ=0
spawn() {
	SEQ=$((SEQ + 1))
	setsid strace -f -ttt --seccomp-bpf -s 48 \
	    -e trace=sendto,recvfrom,execve,exit_group,write -o "$W/tr.$SEQ" \
	    "$W/leaderrun" -S "etcd://127.0.0.1:$cp" -l bd -- "$W/bc" relay "$W/log" \
	    </dev/null >/dev/null 2>>"$W/err" &
	disown $!
}
spawn
"$W/bc" await "$W/log" 1 20000 >/dev/null
spawn
spawn
for ((i = 1; i <= N; i++)); do
	"$W/bc" equeue "$cp" leaderrun/bd/ 3 3 20000 >/dev/null
	sleep 0.3
	read -r _ _ pid _ <<< "$(grep '^S' "$W/log" | tail -n 1)"
	kill -USR1 "$pid"
	"$W/bc" await "$W/log" $((2 * i + 1)) 20000 >/dev/null
	spawn
done
sleep 0.3
"$W/bc" sweep "$W/" >/dev/null
sleep 0.2
python3 - "$W" "$N" <<'EOF'
import glob, re, statistics, sys
w, n = sys.argv[1], int(sys.argv[2])
ev = []		# (time, trace, pid, line)
for f in glob.glob(w + "/tr.*"):
    for line in open(f):
        m = re.match(r'(\d+) +(\d+\.\d+) (.*)', line)
        if m:
            ev.append((float(m.group(2)), f, int(m.group(1)), m.group(3)))
ev.sort()
relays = {}	# relay pid -> trace
for t, f, pid, s in ev:
    if s.startswith('execve(') and '"relay"' in s:
        relays[pid] = f
steps = ["exit", "revoke", "revoked", "event", "look", "looked", "exec", "started"]
rows = []
i = 0
while i < len(ev):
    t, f, pid, s = ev[i]
    if not (pid in relays and s.startswith('write(') and '"E ' in s):
        i += 1
        continue
    old = f
    r = {"E": t}
    state = 0
    nxt = None
    for t2, f2, pid2, s2 in ev[i + 1:]:
        # A reply may come on a "<... recvfrom resumed>" line: matched by
        # the thread that sent the request.
        got = 'recvfrom' in s2 and 'HTTP/1.1 200' in s2
        if state == 0 and f2 == old and pid2 == pid and s2.startswith('exit_group'):
            r["exit"] = t2; state = 1
        elif state == 1 and f2 == old and ('POST /v3/lease/revoke' in s2 or
                                           'POST /v3/kv/txn' in s2):
            r["revoke"] = t2; otid = pid2; state = 2
        elif state >= 2 and f2 == old and pid2 == otid and got and "revoked" not in r:
            r["revoked"] = t2; state = max(state, 3)
        elif state in (2, 3) and f2 != old and 'recvfrom' in s2 and \
                'result' in s2 and 'HTTP/1.1' not in s2:
            # A chunk of a watch stream; it may come before the revoke's
            # own reply.
            r["event"] = t2; nxt = f2; tid = pid2; state = 4
        elif state == 4 and f2 == nxt and s2.startswith('execve(') and '"relay"' in s2:
            # No look: the watch showed the clean end whole.
            r["look"] = r["looked"] = r["event"]; r["exec"] = t2; state = 7
        elif state == 4 and f2 == nxt and pid2 == tid and 'POST /v3/kv/txn' in s2:
            r["look"] = t2; state = 5
        elif state == 5 and f2 == nxt and pid2 == tid and got:
            r["looked"] = t2; state = 6
        elif state == 6 and f2 == nxt and s2.startswith('execve(') and '"relay"' in s2:
            r["exec"] = t2; state = 7
        elif state == 7 and f2 == nxt and pid2 in relays and '"S ' in s2:
            r["started"] = t2; state = 8
            break
    if state == 8 and "revoked" in r:
        rows.append(r)
    i += 1
if not rows:
    sys.exit("breakdown-etcd: no complete handover in the traces")
print("graceful handover on etcd, %d of %d traced (medians, ms; under strace):" % (len(rows), n))
print("  step       +ms since the previous   (ms since the old command's exit)")
prev = "E"
tot = 0.0
for s in steps:
    d = statistics.median([(r[s] - r[prev]) * 1000 for r in rows])
    tot += d
    at = statistics.median([(r[s] - r["E"]) * 1000 for r in rows])
    print("  %-8s +%6.3f  (%6.3f)" % (s, d, at))
    prev = s
print("  total    %7.3f  (the old command's last write to the new one's first)" %
      statistics.median([(r["started"] - r["E"]) * 1000 for r in rows]))
EOF
