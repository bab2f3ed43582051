#!/bin/bash
# tests/breakdown.sh - where the time of one uncontended run goes.
#
# usage: tests/breakdown.sh [RUNS]	(default 400)
#
# Builds a copy of leaderrun with CLOCK_MONOTONIC stamps at the steps of a
# run (the copy only: the sources are not touched), runs
# `leaderrun -d DIR -l b -- STAMP` RUNS times from a driver that stamps
# fork and waitpid, and prints the median of each step.  STAMP is a static
# program that stamps its own start.  The same driver runs
# `flock FILE STAMP` for the comparison.  Then, for the crash failover:
# how long after `kill -9` of a leader's supervisor its command's process
# group (a shell and its child) is gone, which is when another contender
# may start; flock(1) has no such step, as nothing stops its command.
# Needs python3, a C compiler and pgrep.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-400}
W=$(mktemp -d "${TMPDIR:-/tmp}/lrbreak.XXXXXX")
trap 'rm -rf "$W"' EXIT
cp -R "$here"/*.c "$here"/*.h "$here"/lib "$here"/wire "$here"/store "$here"/run "$W/"
CC=${CC:-cc}

cat > "$W/tr.h" <<'EOF'
/* The stamps of tests/breakdown.sh: TR(label) at each step, TRDUMP at the end. */
void TR(const char *l);
void TRDUMP(void);
EOF
cat > "$W/tr.c" <<'EOF'
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "tr.h"
static struct { const char *l; long long t; } trv[64];
static atomic_int trn;
void TR(const char *l) { struct timespec ts; int i;
	clock_gettime(CLOCK_MONOTONIC, &ts); i = atomic_fetch_add(&trn, 1);
	if (i < 64) { trv[i].l = l; trv[i].t = ts.tv_sec * 1000000000LL + ts.tv_nsec; } }
void TRDUMP(void) { char b[4096]; int o = 0, i, n = atomic_load(&trn), fd;
	if (n > 64) n = 64;
	for (i = 0; i < n; i++) o += snprintf(b + o, sizeof(b) - o, "%s %lld\n", trv[i].l, trv[i].t);
	if (getenv("LRTRACE") && (fd = open(getenv("LRTRACE"), O_WRONLY | O_APPEND)) >= 0) {
		(void)!write(fd, b, o); close(fd); } }
EOF
python3 - "$W" <<'EOF'
import re, sys
w = sys.argv[1]
def stamp(path, pairs):
    p = w + "/" + path; s = open(p).read()
    i = [m.end() for m in re.finditer(r'#include [<"].*[>"]\n', s)][-1]
    s = s[:i] + '#include "tr.h"\n' + s[i:]
    for a, b in pairs:
        if a not in s:
            sys.exit("breakdown: the sources changed; cannot find in %s: %s" % (path, a.strip()))
        s = s.replace(a, b, 1)
    open(p, 'w').write(s)
stamp("leaderrun.c", [
    ("\tparse_args(argc, argv, &o);", "\tTR(\"main\");\n\tparse_args(argc, argv, &o);")])
stamp("run/supervise.c", [
    ("\tspawn(&s->job,", "\tTR(\"prespawn\");\n\tspawn(&s->job,"),
    ("\ts->wd.pid = -1;\n", "\tTR(\"spawned\");\n\ts->wd.pid = -1;\n"),
    ("\tworker_start(&s->w, cfg, &s->gate);\n", "\tworker_start(&s->w, cfg, &s->gate);\n\tTR(\"thread\");\n"),
    ("\t/* Reap everything first, so that zombies do not count as stragglers. */", "\tTR(\"reap\");\n\t/* Reap everything first, so that zombies do not count as stragglers. */"),
    ("\tif (signal_job(&s->job, wd_pid(&s->wd), 0)) {\n\t\tlogv(", "\tTR(\"exited\");\n\tif (signal_job(&s->job, wd_pid(&s->wd), 0)) {\n\t\tlogv("),
    ("\tmetrics_lead(&s->m, 0, now);\n\ts->state = ST_RELEASING;", "\tTR(\"release\");\n\tmetrics_lead(&s->m, 0, now);\n\ts->state = ST_RELEASING;"),
    ("\t/* Held, never started: it goes with us.", "\tTR(\"finish\");\n\tTRDUMP();\n\t/* Held, never started: it goes with us.")])
stamp("run/worker.c", [
    ("\tif (lease_open(&w->lease, w->cfg, err) != LEASE_OK) {", "\tTR(\"w_open0\");\n\tif (lease_open(&w->lease, w->cfg, err) != LEASE_OK) {"),
    ("\tfor (;;) {\n\t\tstruct pollfd pfd[2];", "\tTR(\"w_open1\");\n\tfor (;;) {\n\t\tstruct pollfd pfd[2];"),
    ("\t\t\tint rc = lease_acquire(w->lease, &h, &retry, err);", "\t\t\tint rc;\n\t\t\tTR(\"w_acq0\");\n\t\t\trc = lease_acquire(w->lease, &h, &retry, err);\n\t\t\tTR(\"w_acq1\");"),
    ("\t\t\t\trc = lease_release(w->lease, err);", "\t\t\t\tTR(\"w_rel0\");\n\t\t\t\trc = lease_release(w->lease, err);\n\t\t\t\tTR(\"w_rel1\");")])
stamp("run/gate.c", [
    ("\tif (write(g->go, &term, sizeof(term)) != (ssize_t)sizeof(term))", "\tTR(\"go\");\n\tif (write(g->go, &term, sizeof(term)) != (ssize_t)sizeof(term))")])
EOF

cat > "$W/drv.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(int argc, char **argv) {
	int i, n = atoi(argv[1]), st, fd; long long t0, t1; pid_t p;
	for (i = 0; i < n; i++) {
		t0 = now();
		if ((p = fork()) == 0) { execv(argv[3], argv + 3); _exit(127); }
		waitpid(p, &st, 0); t1 = now();
		fd = open(argv[2], O_WRONLY | O_APPEND);
		dprintf(fd, "fork %lld\nwaited %lld\nEND\n", t0, t1); close(fd);
		usleep(20000);
	}
	return 0;
}
EOF
cat > "$W/stamp.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(void) { struct timespec t; int fd; clock_gettime(CLOCK_MONOTONIC, &t);
	fd = open(getenv("LRTRACE"), O_WRONLY | O_APPEND);
	dprintf(fd, "cmd %lld\n", t.tv_sec * 1000000000LL + t.tv_nsec); return 0; }
EOF
(cd "$W" && $CC -std=c11 -D_POSIX_C_SOURCE=200809L -iquote . -O2 -o leaderrun \
    leaderrun.c lease.c run/*.c store/*.c lib/*.c wire/*.c tr.c -lpthread &&
    $CC -O2 -o drv drv.c && { $CC -O2 -static -o stamp stamp.c 2>/dev/null ||
    $CC -O2 -o stamp stamp.c; })
mkdir "$W/d"
: > "$W/lr.log"; : > "$W/flock.log"
LRTRACE=$W/lr.log "$W/drv" "$N" "$W/lr.log" "$W/leaderrun" -d "$W/d" -l b -- "$W/stamp"
LRTRACE=$W/flock.log "$W/drv" "$N" "$W/flock.log" "$(command -v flock)" "$W/d/f" "$W/stamp"

python3 - "$W/lr.log" "$W/flock.log" "$N" <<'EOF'
import statistics as st, sys
def load(f):
    recs, cur = [], {}
    for line in open(f):
        p = line.split()
        if p[0] == 'END':
            recs.append(cur); cur = {}
        else:
            cur.setdefault(p[0], int(p[1]))
    return recs
steps = [('fork', 'main', 'exec of leaderrun, dynamic linking'),
    ('main', 'prespawn', 'options, PATH search, signals, pipes'),
    ('prespawn', 'spawned', 'fork of the held command'),
    ('spawned', 'thread', 'worker thread created'),
    ('thread', 'w_open0', 'worker scheduled'),
    ('w_open0', 'w_open1', 'lease_open (identity from /proc, lock file)'),
    ('w_open1', 'w_acq0', 'CONTEND request read'),
    ('w_acq0', 'w_acq1', 'lease_acquire (locks, record, term)'),
    ('w_acq1', 'go', 'the worker arms the watchdog'),
    ('go', 'cmd', 'it starts the command: exec until its first instruction'),
    ('cmd', 'reap', 'command runs and exits, SIGCHLD reaches the loop'),
    ('reap', 'exited', 'waitpid'),
    ('exited', 'release', 'stragglers look (group, children)'),
    ('release', 'w_rel0', 'RELEASE request to the worker'),
    ('w_rel0', 'w_rel1', 'lease_release (record)'),
    ('w_rel1', 'finish', 'reply to the main thread'),
    ('finish', 'waited', 'exit until the caller\'s waitpid returns')]
lr = [r for r in load(sys.argv[1]) if all(k in r for s in steps for k in s[:2])]
fl = [r for r in load(sys.argv[2]) if 'cmd' in r and 'waited' in r]
print(f"uncontended run, median of {len(lr)} runs (us)")
for a, b, what in steps:
    print(f"  {st.median([(r[b] - r[a]) / 1000 for r in lr]):8.1f}  {a} -> {b}: {what}")
for name, rs in (('leaderrun', lr), ('flock', fl)):
    print(f"{name:>9}: fork -> command {st.median([(r['cmd'] - r['fork']) / 1000 for r in rs]):7.1f}, "
          f"command -> waited {st.median([(r['waited'] - r['cmd']) / 1000 for r in rs]):7.1f}, "
          f"total {st.median([(r['waited'] - r['fork']) / 1000 for r in rs]):7.1f}")
EOF

# ---- crash: kill -9 of the supervisor -> the job's group is gone ----------
cat > "$W/gone.c" <<'EOF'
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
/* A member of PG that is not a zombie: the rule leaderrun's waiters use. */
static int alive(pid_t pg) {
	DIR *d = opendir("/proc"); struct dirent *e; int a = 0;
	while (!a && (e = readdir(d)) != NULL) {
		char path[64], b[512], *q; int fd; ssize_t n; pid_t p = atoi(e->d_name);
		if (p <= 0 || getpgid(p) != pg) continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
		if ((fd = open(path, O_RDONLY)) == -1) continue;
		n = read(fd, b, sizeof(b) - 1); close(fd);
		if (n <= 0) continue;
		b[n] = '\0';
		if ((q = strrchr(b, ')')) != NULL && q[2] != 'Z') a = 1;
	}
	closedir(d); return a;
}
int main(int argc, char **argv) {
	pid_t sup = atoi(argv[1]), pg = atoi(argv[2]); long long t0;
	struct timespec ts = { 0, 50000 };
	(void)argc;
	t0 = now(); kill(sup, SIGKILL);
	while (alive(pg)) nanosleep(&ts, NULL);
	printf("%lld\n", now() - t0);
	return 0;
}
EOF
$CC -O2 -o "$W/gone" "$W/gone.c"
: > "$W/gone.out"
for _ in $(seq 15); do
	setsid "$W/leaderrun" -d "$W/d" -l crash -- sh -c 'sleep 60 & sleep 60' \
	    </dev/null >/dev/null 2>&1 &
	sup=$!
	disown "$sup"
	pg=
	for _ in $(seq 200); do
		pg=$("$W/leaderrun" -d "$W/d" -l crash --status 2>/dev/null |
		    sed -n 's/.*running (process group \([0-9]*\)).*/\1/p')
		[ -n "$pg" ] && [ "$(pgrep -c -g "$pg" -x sleep)" = 2 ] && break
		pg=
		sleep 0.01
	done
	[ -n "$pg" ] || { echo "breakdown: no leader" >&2; exit 1; }
	sleep 0.05
	"$W/gone" "$sup" "$pg" >> "$W/gone.out"
	while kill -0 "$sup" 2>/dev/null; do sleep 0.01; done
done
sort -n "$W/gone.out" | awk '{ v[NR] = $1 } END {
	printf "crash: kill -9 of the supervisor -> its command group gone: "
	printf "median %.0f us, min %.0f, max %.0f (n=%d)\n",
	    v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000, NR }'
