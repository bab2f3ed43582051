#!/bin/sh
# Leader work for the demos: prints its progress once a second until it is
# stopped.  leaderrun starts it only on the elected node.
node=${LEADERRUN_NODE_ID:-?}
step=0
trap 'echo "[$node] leader work stopped after $step steps"; exit 0' INT TERM HUP
while :; do
	step=$((step + 1))
	echo "[$node] leader work: step $step (term ${LEADERRUN_TERM:-?})"
	sleep 1 &
	wait $! 2>/dev/null	# no "Terminated" note when it is stopped
done
