#!/bin/sh
# demo-parallel.sh start|stop: three nodes competing for one lease, one tmux
# pane each.  Kill the leader's pane (or its leaderrun) and watch another
# pane take over with a higher term.
#
# Environment: SESSION (tmux session, default leaderrun-demo), LOCK_NAME,
# LOCK_DIR, LEASE, RETRY, HEARTBEAT, DETACH=1 to leave the session detached.
set -eu
cd "$(dirname "$0")/.."
session=${SESSION:-leaderrun-demo}
lock=${LOCK_NAME:-leader-election-demo}
dir=${LOCK_DIR:-/tmp}

if ! command -v tmux >/dev/null 2>&1; then
	echo "demo-parallel: tmux is not installed (apt-get install tmux, brew install tmux)" >&2
	exit 1
fi

node() {
	printf 'exec ./leaderrun --heartbeat=%s -l %s -d %s -i node-%s -t %s -r %s -- examples/work.sh' \
	    "${HEARTBEAT:-1s}" "$lock" "$dir" "$1" "${LEASE:-10s}" "${RETRY:-2s}"
}

case ${1:-start} in
start)
	tmux kill-session -t "$session" 2>/dev/null || true
	tmux new-session -d -s "$session" -x 200 -y 50 "$(node 1)"
	tmux split-window -t "$session" -v "$(node 2)"
	tmux split-window -t "$session" -v "$(node 3)"
	tmux select-layout -t "$session" even-vertical
	tmux set-option -t "$session" remain-on-exit on >/dev/null
	if [ "${DETACH:-}" = 1 ] || [ ! -t 1 ]; then
		echo "demo-parallel: running in tmux session '$session'" \
		    "(tmux attach -t $session; make kill-demo to stop)"
	else
		exec tmux attach -t "$session"
	fi
	;;
stop)
	tmux kill-session -t "$session" 2>/dev/null || true
	# A pane's leaderrun gets SIGHUP from tmux and stops its job; make sure.
	i=0
	while pgrep -f -- "-l $lock -d $dir -i node-" >/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pkill -KILL -f -- "-l $lock -d $dir -i node-" 2>/dev/null || true
	echo "demo-parallel: stopped"
	;;
*)
	echo "usage: demo-parallel.sh start|stop" >&2
	exit 2
	;;
esac
