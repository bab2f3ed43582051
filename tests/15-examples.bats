#!/usr/bin/env bats
# examples/: the crontab line and the systemd units the man page shows.
# They exist, the man page names them, their leaderrun command lines parse
# (run as --status with the same options, on the test's lock directory),
# and the units pass systemd-analyze verify where it can run.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

EX=$BATS_TEST_DIRNAME/../examples
MAN=$BATS_TEST_DIRNAME/../man/leaderrun.1
FILES=(leaderrun.crontab leaderrun-worker.service leaderrun-report.service
    leaderrun-report.timer leaderrun-job.service stunnel-etcd.service
    leaderrun-stunnel-etcd.conf leaderrun-stunnel-redis.conf
    leaderrun-stunnel-postgres.conf)

# words FILE: the leaderrun command line of FILE, one word a line: the
# command of its crontab line, or its ExecStart= with continuation lines.
words() {
	case $1 in
	*.crontab)
		grep -v -e '^#' -e '^[[:space:]]*$' "$1" |
		    awk '{ for (i = 6; i <= NF; i++) print $i }' ;;
	*)
		sed -n '/^ExecStart=/,/[^\\]$/p' "$1" |
		    sed -e 's/^ExecStart=//' -e 's/\\$//' | tr -s ' \t' '\n' |
		    sed '/^$/d' ;;
	esac
}

@test "examples: the files exist and the man page names each of them" {
	local f
	for f in "${FILES[@]}"; do
		[ -s "$EX/$f" ] || { echo "missing examples/$f" >&2; false; }
		grep -qF "examples/${f//-/\\-}" "$MAN" ||
		    { echo "man page does not name examples/$f" >&2; false; }
	done
}

@test "examples: the crontab line has five time fields and the min-hold fits its minute" {
	local line
	line=$(grep -v -e '^#' -e '^[[:space:]]*$' "$EX/leaderrun.crontab")
	[ "$(wc -l <<< "$line")" = 1 ]
	read -r m h dom mon dow cmd rest <<< "$line"
	[ "$m $h $dom $mon $dow" = "* * * * *" ]
	[ "$cmd" = /usr/local/bin/leaderrun ]
	[[ " $rest " == *" -n -E 0 --min-hold 50s "* ]]
}

@test "examples: every leaderrun command line parses (as --status, on a test directory)" {
	local f w opts cmd seen url
	# The job unit's credential, as systemd would hand it over (%d).
	printf 'pw\n' > "$OUT/etcd-password"
	chmod 600 "$OUT/etcd-password"
	for f in leaderrun.crontab leaderrun-worker.service leaderrun-report.service \
	    leaderrun-job.service; do
		mapfile -t w < <(words "$EX/$f")
		echo "$f: ${w[*]}"
		[ "${w[0]}" = /usr/local/bin/leaderrun ]
		opts=() cmd=() seen= url=
		for x in "${w[@]:1}"; do
			if [ -z "$seen" ] && [ "$x" = -- ]; then
				seen=1
			elif [ -z "$seen" ]; then
				x=${x/#\/srv\/lock/$DIR}
				x=${x/#%d\//$OUT/}
				# A store URL is checked on its own, below; the
				# options run on the test's directory.
				if [ "${#opts[@]}" -gt 0 ] && [ "${opts[-1]}" = -S ]; then
					url=$x
					x=file:$DIR
				fi
				opts+=("$x")
			else
				cmd+=("$x")
			fi
		done
		[ "$seen" = 1 ] && [ "${#cmd[@]}" -ge 1 ]
		[[ "${cmd[0]}" == /* ]]
		# The same options, minus the command: free lease, no complaint.
		run --separate-stderr -1 "$LEADERRUN" --status "${opts[@]}"
		[ -z "$stderr" ] || { echo "$stderr"; false; }
		[[ "$output" == *"state:      free"* ]]
		# The URL parses: leaderrun gets as far as connecting to it.
		if [ -n "$url" ]; then
			run --separate-stderr -125 timeout 20 "$LEADERRUN" --status -S "$url" \
			    --store-password-file "$OUT/etcd-password" -l t -t 2s
			echo "$url: $stderr"
			[[ "$stderr" == "leaderrun: "*"127.0.0.1:123"[789][0-9]* ]]
			[[ "$stderr" != *URL* ]]
		fi
	done
	# Every example with a leaderrun line was parsed here.
	[ "$(grep -l '^ExecStart=/usr/local/bin/leaderrun' "$EX"/*.service | wc -l)" = 3 ]
}

@test "examples: the systemd units pass systemd-analyze verify" {
	need_cmd systemd-analyze systemd
	local d=$OUT/units f
	mkdir -p "$d"
	# A unit that is surely right: if verify fails on it, it cannot run
	# here: skip on a developer's machine, fail in CI, and say why.
	printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' > "$d/probe.service"
	run systemd-analyze verify "$d/probe.service"
	if [ "$status" != 0 ] || [ -n "$output" ]; then
		unmet "systemd-analyze verify does not work here: $output"
	fi
	rm "$d/probe.service"
	# The binaries the units name must exist: the one under test, and
	# /bin/true for the jobs.
	for f in "$EX"/*.service "$EX"/*.timer; do
		sed -e "s|/usr/local/bin/leaderrun|$LEADERRUN|" \
		    -e "s|-- /usr/local/bin/[A-Za-z0-9_-]*|-- /bin/true|" \
		    "$f" > "$d/${f##*/}"
	done
	grep -q "^ExecStart=$LEADERRUN " "$d/leaderrun-worker.service"
	run systemd-analyze verify "$d"/*.service "$d"/*.timer
	echo "$output"
	[ "$status" = 0 ]
	[ -z "$output" ]
}
