#!/usr/bin/env bats
# --metrics FILE: Prometheus text exposition for node_exporter's textfile
# collector, written whole (temporary file, rename) at each event and every
# retry-period, marked leaderrun_leader 0 on exit.  Checked with a real
# parser of the format: Debian's python3-prometheus-client (and promtool
# where it is installed).
load helpers

setup() {
	lr_setup
	M=$DIR/prom/leaderrun.prom
	mkdir -p "$DIR/prom"
	# The system python3 has the Debian package; a pyenv python3 first
	# on PATH does not.
	/usr/bin/python3 -c 'import prometheus_client' 2> /dev/null ||
	    unmet "no python3-prometheus-client (apt-get install python3-prometheus-client)"
}
teardown() { lr_teardown; }

# prom [FILE]: FILE (default $M) parsed by prometheus_client, one line per
# sample: "NAME[REASON] VALUE", sorted; fails if the parser refuses it, if a
# family lacks HELP, or if a sample lacks the lease and node labels.
prom() {
	/usr/bin/python3 - "${1:-$M}" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
out = []
for fam in text_string_to_metric_families(text):
    assert fam.documentation, "no HELP for " + fam.name
    assert fam.type in ("gauge", "counter"), fam.type
    assert "# TYPE %s %s" % (fam.name if fam.type == "gauge" else fam.name + "_total", fam.type) in text \
        or "# TYPE %s %s" % (fam.name, fam.type) in text, fam.name
    for s in fam.samples:
        assert set(s.labels) - {"reason"} == {"lease", "node"}, s.labels
        reason = "[%s]" % s.labels["reason"] if "reason" in s.labels else ""
        v = s.value
        out.append("%s%s %s" % (s.name, reason, int(v) if v == int(v) else v))
print("\n".join(sorted(out)))
PY
}

# metric NAME [FILE]: the value of sample NAME (with [reason] if any).
metric() { prom "${2:-$M}" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { exit !f }'; }

# label LABEL [FILE]: the value of LABEL on leaderrun_leader.
label() {
	/usr/bin/python3 - "${2:-$M}" "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        if s.name == "leaderrun_leader":
            sys.stdout.write(s.labels[sys.argv[2]])
PY
}

# REWRITE_MS: the longest gap between two rewrites of a waiter's file with
# -r 50ms: five retry periods.  tests/spread.sh, 30 runs: at most 52ms, and
# 104ms with both cores busy.
REWRITE_MS=250

is_leader() { [ "$(metric leaderrun_leader)" = "${1:-1}" ]; }
renewals_at_least() { [ "$(metric leaderrun_renewals_total)" -ge "$1" ] 2> /dev/null; }
rewritten_since() { [ "$(stat -c %y "$M")" != "$1" ]; }
done_marked() { [ "$(field done)" = 1 ]; }

@test "metrics: a leader's file, parsed by prometheus_client: leader 1, then 0 with the exit status" {
	bg a -l t -i node-1 "${SAFE[@]}" --metrics "$M" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	wait_until 5 is_leader 1
	prom
	[ "$(label lease)" = t ]
	[ "$(label node)" = node-1 ]
	[ "$(metric leaderrun_term)" = 1 ]
	[ "$(metric leaderrun_elections_total)" = 1 ]
	[ "$(metric 'leaderrun_losses_total[lost]')" = 0 ]
	[ "$(metric 'leaderrun_losses_total[renew_deadline]')" = 0 ]
	[ "$(metric leaderrun_renew_failures_total)" = 0 ]
	run ! metric leaderrun_command_exit_status
	[ "$(stat -c %a "$M")" = 644 ]
	wait_until 5 renewals_at_least 2
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
	prom
	[ "$(metric leaderrun_leader)" = 0 ]
	[ "$(metric leaderrun_command_exit_status)" = 0 ]
	[ "$(metric leaderrun_term)" = 1 ]
	awk -v v="$(metric leaderrun_leader_seconds_total)" 'BEGIN { exit !(v > 0 && v < 60) }'
	awk -v v="$(metric leaderrun_last_renewal_timestamp_seconds)" -v now="$(date +%s)" \
	    'BEGIN { exit !(v > now - 60 && v <= now + 1) }'
	# Nothing else is left in the directory, and stdout was the command's.
	[ "$(ls -A "$DIR/prom")" = leaderrun.prom ]
	[ ! -s "$OUT/a.out" ]
	[ "$(stat -c %a "$M")" = 644 ]
}

@test "metrics: a waiting follower says leader 0 and rewrites the file every retry-period" {
	bg a -l t "${SAFE[@]}" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg b -l t -i follower "${SAFE[@]}" --metrics "$M" -- true
	wait_for "$M"
	[ "$(metric leaderrun_leader)" = 0 ]
	[ "$(metric leaderrun_elections_total)" = 0 ]
	[ "$(metric leaderrun_term)" = 0 ]
	run ! metric leaderrun_last_renewal_timestamp_seconds
	alive "$(pid_of b)" || { cat "$OUT/b.err"; false; }
	# Rewritten while it waits: a new modification time (in ns), and the
	# next one a retry period (50ms) after it, as the writer's own file
	# times tell.
	local t t1 t2 gap
	t=$(stat -c %y "$M")
	wait_until 5 rewritten_since "$t"
	t=$(stat -c %y "$M")
	t1=$(stat -c %.3Y "$M")
	wait_until 5 rewritten_since "$t"
	t2=$(stat -c %.3Y "$M")
	gap=$(( ${t2/./} - ${t1/./} ))
	echo "rewritten ${gap}ms after the write before (retry 50ms)"
	[ "$gap" -lt "$REWRITE_MS" ]
	[ "$(metric leaderrun_leader)" = 0 ]
	touch "$OUT/go"
	wait_exit b
	[ "$STATUS" = 0 ]
	[ "$(metric leaderrun_elections_total)" = 1 ]
	[ "$(metric leaderrun_term)" = 2 ]
	[ "$(metric leaderrun_leader)" = 0 ]
}

@test "metrics: a lost lease counts as reason=lost, the status 124, leader 0" {
	bg a -l t "${SAFE[@]}" --metrics "$M" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	wait_until 5 is_leader 1
	rm "$DIR/t.lease"
	wait_exit a
	[ "$STATUS" = 124 ]
	[ "$(metric 'leaderrun_losses_total[lost]')" = 1 ]
	[ "$(metric 'leaderrun_losses_total[renew_deadline]')" = 0 ]
	[ "$(metric leaderrun_leader)" = 0 ]
	[ "$(metric leaderrun_command_exit_status)" = 124 ]
}

@test "metrics: failing renewals count, and the renew deadline counts as reason=renew_deadline" {
	need_shim
	env LD_PRELOAD="$FAULTSHIM" LR_FAULT='write:EIO' LR_FAULT_FILE="$OUT/fault.on" \
	    "$LEADERRUN" -d "$DIR" -l t "${FAST[@]}" --metrics "$M" -- "${HOLD[@]}" \
	    "$OUT/ready" "$OUT/go" > "$OUT/a.out" 2> "$OUT/a.err" &
	echo $! > "$OUT/a.pid"
	wait_for "$OUT/ready"
	touch "$OUT/fault.on"
	wait_exit a
	[ "$STATUS" = 124 ]
	[ "$(metric 'leaderrun_losses_total[renew_deadline]')" = 1 ]
	[ "$(metric 'leaderrun_losses_total[lost]')" = 0 ]
	[ "$(metric leaderrun_renew_failures_total)" -ge 1 ]
	[ "$(metric leaderrun_leader)" = 0 ]
}

@test "metrics: during --min-hold the leader still says 1; the exit status is there" {
	bg a -l t "${SAFE[@]}" --min-hold 10s --metrics "$M" -- sh -c 'exit 5'
	wait_until 5 done_marked
	wait_until 5 metric leaderrun_command_exit_status
	[ "$(metric leaderrun_command_exit_status)" = 5 ]
	[ "$(metric leaderrun_leader)" = 1 ]
	kill -TERM "$(pid_of a)"
	wait_exit a
	[ "$STATUS" = 5 ]
	[ "$(metric leaderrun_leader)" = 0 ]
}

@test "metrics: label values are escaped as the format wants (backslash, double quote)" {
	run -0 lr -l t -i 'no"de\x' "${FAST[@]}" --metrics "$M" -- true
	grep -qF 'node="no\"de\\x"' "$M"
	[ "$(label node)" = 'no"de\x' ]
}

@test "metrics: a file that cannot be written is one warning, and the command runs as usual" {
	touch "$OUT/notadir"
	run --separate-stderr -3 lr -l t "${FAST[@]}" --metrics "$OUT/notadir/m.prom" -- \
	    sh -c 'sleep 0.3; echo ran; exit 3'
	echo "$stderr"
	[ "$output" = ran ]
	[ "${#stderr_lines[@]}" = 1 ]
	[[ "$stderr" == "leaderrun: warning: metrics: "*" $OUT/notadir/m.prom"*": Not a directory" ]]
}

@test "metrics: a link at FILE is replaced, never written through" {
	echo precious > "$OUT/victim"
	ln -s "$OUT/victim" "$M"
	run -0 lr -l t "${FAST[@]}" --metrics "$M" -- true
	[ "$(cat "$OUT/victim")" = precious ]
	[ -f "$M" ] && [ ! -L "$M" ]
	prom > /dev/null
}

@test "metrics: promtool agrees, where it is installed" {
	need_cmd promtool prometheus
	run -0 lr -l t "${FAST[@]}" --metrics "$M" -- true
	run -0 promtool check metrics < "$M"
	[ -z "$output" ]
}

@test "metrics: --metrics needs a file name; --help names it" {
	run --separate-stderr -125 lr -l t --metrics "" -- touch "$OUT/ran"
	[ "${stderr_lines[0]}" = "leaderrun: invalid metrics file '': empty" ]
	[ ! -e "$OUT/ran" ]
	run -0 "$LEADERRUN" --help
	[[ "$output" == *"--metrics FILE"* ]]
	[[ "$output" == *"[--metrics file]"* ]]
}
