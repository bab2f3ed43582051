# tests/hand.bash - what the hand-delete tests of each store share
# (62-redis-hand, 54-etcd-hand): a job that needs 300 ms to stop, as jobs
# that clean up do, and a witness of two jobs at once.

# write_job: $OUT/job.sh LOG WITNESS NAME: takes an flock -n on WITNESS for
# its whole life (logs "OVERLAP NAME" when it cannot), logs "start NAME",
# writes its pid (its process group's) to LOG.NAME.pid and touches
# LOG.NAME; on SIGTERM it takes 300 ms, logs "stop NAME" and exits 0.
write_job() {
	cat > "$OUT/job.sh" <<'EOF'
#!/bin/sh
exec 9> "$2"
flock -n 9 || echo "OVERLAP $3" >> "$1"
trap 'sleep 0.3; echo "stop $3" >> "$1"; exit 0' TERM
echo "start $3" >> "$1"
echo $$ > "$1.$3.pid"
touch "$1.$3"
while :; do sleep 0.01; done
EOF
	chmod +x "$OUT/job.sh"
}

# no_overlap: b ran after a stopped, never beside it.
no_overlap() {
	cat "$OUT/log" "$OUT/a.err" "$OUT/b.err"
	run ! grep -q OVERLAP "$OUT/log"
	[ "$(sed -n 1p "$OUT/log")" = "start a" ]
	[ "$(sed -n 2p "$OUT/log")" = "stop a" ]
	[ "$(sed -n 3p "$OUT/log")" = "start b" ]
}

# finish: b stops.
finish() {
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}
