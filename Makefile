# leaderrun - run a command on one elected instance only.

PREFIX	= /usr/local
BINDIR	= $(PREFIX)/bin
MANDIR	= $(PREFIX)/share/man
CC	= cc
CFLAGS	= -O2 -g
WARN	= -std=c11 -Wall -Wextra -Werror -Wshadow -Wcast-qual -Wwrite-strings \
	  -Werror=implicit-function-declaration
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -iquote .
LDLIBS	= -lpthread
BATS	= bats
# From the top down: the supervisor (run/), the lease interface and its
# stores, the plumbing (wire/), the base (lib/).
RUN_SRCS = run/cli.c run/values.c run/secret.c run/report.c \
	  run/supervise.c run/worker.c run/gate.c run/job.c run/sig.c \
	  run/watchdog.c run/metrics.c run/log.c
LEASE_SRCS = lease.c store/slots.c store/file.c store/file_record.c store/holder.c store/common.c store/etcd.c store/etcd_read.c store/etcd_api.c store/etcd_end.c store/redis.c store/redis_lua.c store/redis_read.c \
	  store/redis_conn.c store/postgres.c store/postgres_sql.c \
	  wire/net.c wire/http.c wire/json.c wire/resp.c wire/pg.c wire/pg_msg.c \
	  wire/scram.c lib/base.c lib/host.c lib/digest.c
SRCS	= leaderrun.c $(RUN_SRCS) $(LEASE_SRCS)
HDRS	= run/cli.h run/values.h run/secret.h run/report.h run/supervise.h \
	  run/worker.h run/gate.h run/job.h run/sig.h run/watchdog.h \
	  run/metrics.h run/log.h \
	  lease.h store/store.h store/file_record.h store/etcd.h store/etcd_api.h store/etcd_end.h store/redis.h store/redis_conn.h store/redis_lua.h wire/net.h wire/http.h wire/json.h wire/resp.h \
	  wire/pg.h wire/pg_msg.h wire/scram.h store/postgres_sql.h lib/base.h lib/host.h lib/digest.h

# Demo knobs: make run NODE_ID=node-2 LEASE=5s
NODE_ID	  = node-1
LOCK_NAME = leader-election-demo
LOCK_DIR  = /tmp
LEASE	  = 10s
RETRY	  = 2s
HEARTBEAT = 1s
# make chaos TERMS=10000; make partition ROUNDS=100; make fuzz FUZZTIME=60
TERMS	  = 2000
ROUNDS	  = 20
FUZZTIME  = 60
FUZZCC	  = clang
FUZZFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

all: leaderrun

leaderrun: $(SRCS) $(HDRS)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(SRCS) $(LDLIBS)

# The test files run TEST_JOBS at a time (GNU parallel), the tests of one
# file one after another.  TEST_JOBS=1: all in a row, no GNU parallel needed.
TEST_JOBS = 4
BATS_JOBS = $(if $(filter-out 0 1,$(TEST_JOBS)),--jobs $(TEST_JOBS) \
	    --no-parallelize-within-files)

# The longest files first, so that no long one starts last and runs alone.
TEST_FIRST = tests/21-chaos.bats tests/51-etcd-faults.bats \
	     tests/60-redis.bats tests/50-etcd.bats tests/23-chaos-stores.bats \
	     tests/20-faults.bats tests/70-secure.bats tests/09-store.bats \
	     tests/52-etcd-promises.bats tests/14-metrics.bats \
	     tests/41-scenarios-etcd.bats tests/81-postgres.bats
TEST_FILES = $(TEST_FIRST) $(filter-out $(TEST_FIRST),$(wildcard tests/*.bats))

test: test-needs leaderrun tests/faultshim.so tests/wire_test tests/pg_test
	LEADERRUN=$(CURDIR)/leaderrun FAULTSHIM=$(CURDIR)/tests/faultshim.so \
	    $(BATS) $(BATS_JOBS) $(TEST_FILES)

# The one list of what the suite needs, as COMMAND:DEBIAN-PACKAGE (a
# COMMAND python3/MOD: a module the system python3 imports; /PATH: that
# file, for servers Debian keeps off PATH).  make test
# stops if a TEST_NEEDS command is missing, printing the apt-get line that
# brings them all (tests/needs.sh); TEST_WANTS are optional (a note): the
# store servers, TLS tools and checkers, whose tests skip without them, naming the
# package (and fail when CI=true).  make deps installs both lists, make
# check does that and runs the suite, .ci/run adds CI_NEEDS (the second
# compiler and what make static and make deb use).
TEST_NEEDS = $(firstword $(BATS)):bats tmux:tmux setpriv:util-linux \
	     unshare:util-linux flock:util-linux setsid:util-linux \
	     script:bsdutils pgrep:procps perl:perl cc:gcc \
	     python3:python3 jq:jq strace:strace \
	     $(if $(BATS_JOBS),parallel:parallel)
TEST_WANTS = etcd:etcd-server etcdctl:etcd-client redis-server:redis-server \
	     redis-cli:redis-tools ip:iproute2 tc:iproute2 curl:curl \
	     stunnel:stunnel4 openssl:openssl \
	     systemd-analyze:systemd promtool:prometheus \
	     python3/prometheus_client:python3-prometheus-client \
	     /usr/lib/postgresql/15/bin/postgres:postgresql-15
CI_NEEDS   = clang:clang $(firstword $(MUSLCC)):musl-tools \
	     $(DEB_NEEDS) lintian:lintian git:git

test-needs:
	@BATS='$(BATS)' tests/needs.sh $(TEST_NEEDS) -- $(TEST_WANTS)

# Install what is missing (apt-get, through sudo unless root); DRY_RUN=1
# prints the commands instead.
NEEDS_INSTALL = tests/needs.sh -i $(if $(filter-out 0,$(DRY_RUN)),-n)
deps:
	@BATS='$(BATS)' $(NEEDS_INSTALL) $(TEST_NEEDS) $(TEST_WANTS)

ci-deps:
	@BATS='$(BATS)' $(NEEDS_INSTALL) $(TEST_NEEDS) $(TEST_WANTS) $(CI_NEEDS)

# A newcomer's one command: what the suite needs, then the suite.
check: deps
	@$(if $(filter-out 0,$(DRY_RUN)),echo) $(MAKE) --no-print-directory test

# Unit tests of the plumbing (net, HTTP, JSON), TAP; run by 40-wire.bats.
WIRE	= lib/base.c wire/net.c wire/http.c wire/json.c
tests/wire_test: tests/wire_test.c $(WIRE) lib/base.h wire/net.h wire/http.h \
    wire/json.h
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ tests/wire_test.c $(WIRE)

# The PostgreSQL plumbing (digests, SCRAM, protocol 3.0), TAP; its live
# part runs against a real server in 80-pg-wire.bats.
PGWIRE	= lib/base.c lib/digest.c wire/net.c wire/json.c wire/scram.c \
	  wire/pg_msg.c wire/pg.c
tests/pg_test: tests/pg_test.c $(PGWIRE) lib/base.h lib/digest.h wire/net.h \
    wire/json.h wire/scram.h wire/pg_msg.h wire/pg.h
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ tests/pg_test.c $(PGWIRE)

# LD_PRELOAD shim that makes chosen lease I/O calls fail or hang.
tests/faultshim.so: tests/faultshim.c
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -shared -fPIC -o $@ \
	    tests/faultshim.c -ldl

# Contenders under random faults; proves no overlap, ordered terms, no leak.
# STORE=etcd: on an etcd of its own, with etcd stopped and killed as well.
# Waiters are killed too (kill-wait: the supervisor; kill-waitall: all its
# processes, as when its host dies): by default on file and redis.
chaos: leaderrun
	LEADERRUN=$(CURDIR)/leaderrun tests/chaos.sh -s '$(or $(STORE),file)' \
	    -T $(TERMS) $(if $(SLOTS),-N $(SLOTS))

# Network faults between hosts (network + PID namespaces) and their store:
# cuts, lost replies, flapping and slow links, etcd member faults; proves no
# overlap and every host back after the heal.  Root.  STORE=etcd, redis or
# postgres.
partition: leaderrun
	LEADERRUN=$(CURDIR)/leaderrun tests/partition.sh \
	    -s '$(or $(STORE),etcd)' -n $(ROUNDS)

fuzz/fuzz_record: tests/fuzz_record.c $(SRCS) $(HDRS)
	mkdir -p fuzz
	$(FUZZCC) $(CPPFLAGS) $(FUZZFLAGS) -o $@ tests/fuzz_record.c \
	    $(LEASE_SRCS) $(LDLIBS)

fuzz/fuzz_duration: tests/fuzz_duration.c $(SRCS) $(HDRS)
	mkdir -p fuzz
	$(FUZZCC) $(CPPFLAGS) $(FUZZFLAGS) -o $@ tests/fuzz_duration.c \
	    run/values.c $(LEASE_SRCS) $(LDLIBS)

fuzz/fuzz_http: tests/fuzz_http.c $(WIRE) wire/http.h wire/net.h wire/json.h
	mkdir -p fuzz
	$(FUZZCC) $(CPPFLAGS) $(FUZZFLAGS) -o $@ tests/fuzz_http.c lib/base.c \
	    wire/net.c wire/json.c

fuzz/fuzz_json: tests/fuzz_json.c wire/json.c wire/json.h
	mkdir -p fuzz
	$(FUZZCC) $(CPPFLAGS) $(FUZZFLAGS) -o $@ tests/fuzz_json.c wire/json.c

# The RESP reply parser is pure: it needs resp.c and base.c's seterr.
fuzz/fuzz_resp: tests/fuzz_resp.c wire/resp.c wire/resp.h lib/base.c
	mkdir -p fuzz
	$(FUZZCC) $(CPPFLAGS) $(FUZZFLAGS) -o $@ tests/fuzz_resp.c wire/resp.c \
	    lib/base.c

# The PostgreSQL message reader and decoders, and a login and a query
# replayed from the fuzzer's bytes over a socket pair.
fuzz/fuzz_pg: tests/fuzz_pg.c $(PGWIRE) wire/pg.h wire/pg_msg.h wire/scram.h \
    lib/digest.h
	mkdir -p fuzz
	$(FUZZCC) $(CPPFLAGS) $(FUZZFLAGS) -o $@ tests/fuzz_pg.c $(PGWIRE)

# libFuzzer on every parser of untrusted bytes, FUZZTIME seconds each.
fuzz: fuzz/fuzz_record fuzz/fuzz_duration fuzz/fuzz_http fuzz/fuzz_json \
    fuzz/fuzz_resp fuzz/fuzz_pg
	mkdir -p fuzz/corpus-record fuzz/corpus-duration fuzz/corpus-http \
	    fuzz/corpus-json fuzz/corpus-resp fuzz/corpus-pg
	cd fuzz && rc=0; \
	./fuzz_record -fork=1 -ignore_crashes=1 -max_total_time=$(FUZZTIME) \
	    corpus-record ../tests/corpus/record || rc=1; \
	./fuzz_duration -fork=1 -ignore_crashes=1 -max_total_time=$(FUZZTIME) \
	    corpus-duration ../tests/corpus/duration || rc=1; \
	./fuzz_http -fork=1 -ignore_crashes=1 -max_total_time=$(FUZZTIME) \
	    corpus-http ../tests/corpus/http || rc=1; \
	./fuzz_json -fork=1 -ignore_crashes=1 -max_total_time=$(FUZZTIME) \
	    corpus-json ../tests/corpus/json || rc=1; \
	./fuzz_resp -fork=1 -ignore_crashes=1 -max_total_time=$(FUZZTIME) \
	    corpus-resp ../tests/corpus/resp || rc=1; \
	./fuzz_pg -fork=1 -ignore_crashes=1 -max_total_time=$(FUZZTIME) \
	    corpus-pg ../tests/corpus/pg || rc=1; \
	exit $$rc

install: leaderrun
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp leaderrun $(DESTDIR)$(BINDIR)/leaderrun
	chmod 755 $(DESTDIR)$(BINDIR)/leaderrun
	cp man/leaderrun.1 $(DESTDIR)$(MANDIR)/man1/leaderrun.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/leaderrun.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/leaderrun $(DESTDIR)$(MANDIR)/man1/leaderrun.1

# ---- release -------------------------------------------------------------
# The version is the one #define of the sources (VERSION or LEADERRUN_VERSION).
VERSION = $(shell sed -n 's/^.define[[:space:]]\{1,\}\(LEADERRUN_\)\{0,1\}VERSION[[:space:]]\{1,\}"\([^"]*\)".*/\2/p' \
	  $(SRCS) $(HDRS) | head -n 1)
MUSLCC	= musl-gcc

# One static binary, with musl: the same sources and flags.  It needs no
# libc on the host, starts faster and is smaller in memory (README).
static: static/leaderrun

static/leaderrun: $(SRCS) $(HDRS)
	@tests/needs.sh -w 'make static' $(firstword $(MUSLCC)):musl-tools
	@mkdir -p static
	$(MUSLCC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -static -o $@ \
	    $(SRCS) $(LDLIBS)

# The whole suite on the static binary.  LD_PRELOAD cannot reach it: the
# fault-injection tests are to skip when LEADERRUN_STATIC is set.
test-static: test-needs static/leaderrun tests/faultshim.so tests/wire_test \
    tests/pg_test
	LEADERRUN=$(CURDIR)/static/leaderrun LEADERRUN_STATIC=1 \
	    FAULTSHIM=$(CURDIR)/tests/faultshim.so \
	    $(BATS) $(BATS_JOBS) $(TEST_FILES)

DEB_NEEDS = dpkg-deb:dpkg gzip:gzip strip:binutils readelf:binutils

# A Debian package of the static binary (pkg/deb.sh: dpkg-deb on a staged
# tree; then lintian, if installed, must report no error).
deb: static/leaderrun
	@tests/needs.sh -w 'make deb' $(DEB_NEEDS)
	pkg/deb.sh '$(VERSION)' static/leaderrun

# The release tarball of HEAD (git archive): it builds with make alone.
# distcheck unpacks it in a temporary directory and does just that.
dist:
	@test -n '$(VERSION)' || { echo "dist: no VERSION define found" >&2; exit 1; }
	@git diff --quiet HEAD 2>/dev/null || \
	    echo "dist: note: uncommitted changes are not in the tarball" >&2
	git archive --format=tar.gz --prefix=leaderrun-$(VERSION)/ \
	    -o leaderrun-$(VERSION).tar.gz HEAD

distcheck: dist
	d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	tar -xzf leaderrun-$(VERSION).tar.gz -C "$$d" && \
	$(MAKE) -C "$$d/leaderrun-$(VERSION)" && \
	test "$$("$$d/leaderrun-$(VERSION)/leaderrun" -V)" = "leaderrun $(VERSION)" && \
	echo "distcheck: leaderrun-$(VERSION).tar.gz builds with make alone"

# ---- demos ---------------------------------------------------------------
demo: leaderrun
	./leaderrun --heartbeat=$(HEARTBEAT) -l $(LOCK_NAME) -d $(LOCK_DIR) \
	    -i $(NODE_ID) -t $(LEASE) -r $(RETRY) -- examples/work.sh

run: demo

run-node1 run-node2 run-node3: leaderrun
	$(MAKE) --no-print-directory run NODE_ID=node-$(@:run-node%=%)

demo-parallel: leaderrun
	LOCK_NAME=$(LOCK_NAME) LOCK_DIR=$(LOCK_DIR) LEASE=$(LEASE) RETRY=$(RETRY) \
	    HEARTBEAT=$(HEARTBEAT) examples/demo-parallel.sh start

kill-demo:
	LOCK_NAME=$(LOCK_NAME) LOCK_DIR=$(LOCK_DIR) examples/demo-parallel.sh stop

# ---- checks --------------------------------------------------------------
# Line coverage of the suite, from an instrumented build in cov/.
test-coverage: tests/faultshim.so
	rm -rf cov && mkdir cov
	for f in $(SRCS); do mkdir -p cov/$$(dirname $$f) && \
	    $(CC) $(WARN) $(CPPFLAGS) -O0 -g --coverage \
	    -c $$f -o cov/$${f%.c}.o || exit 1; done
	$(CC) --coverage -o cov/leaderrun $(SRCS:%.c=cov/%.o) $(LDLIBS)
	GCOV_ERROR_FILE=/dev/null LEADERRUN=$(CURDIR)/cov/leaderrun LEADERRUN_COVERAGE=1 \
	    FAULTSHIM=$(CURDIR)/tests/faultshim.so $(BATS) tests
	gcov -o cov $(SRCS) | grep -A1 -E "^File '($(subst $(eval) ,|,$(SRCS)))'"
	@if command -v lcov >/dev/null && command -v genhtml >/dev/null; then \
	    lcov -q -c -d cov -o cov/lcov.info && \
	    genhtml -q -o cov/html cov/lcov.info && \
	    echo "HTML report: cov/html/index.html"; \
	elif command -v gcovr >/dev/null; then \
	    gcovr -r . --object-directory cov --html-details cov/index.html && \
	    echo "HTML report: cov/index.html"; fi

# The suite on sanitizer builds; any report fails the run.
test-race: tests/faultshim.so
	rm -rf san && mkdir san
	clang $(WARN) $(CPPFLAGS) -O1 -g -fno-omit-frame-pointer \
	    -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o san/leaderrun-asan $(SRCS) $(LDLIBS)
	clang $(WARN) $(CPPFLAGS) -O1 -g -fsanitize=thread \
	    -o san/leaderrun-tsan $(SRCS) $(LDLIBS)
	ASAN_OPTIONS=exitcode=99:detect_leaks=1:log_path=$(CURDIR)/san/report \
	UBSAN_OPTIONS=halt_on_error=1:exitcode=99:print_stacktrace=1:log_path=$(CURDIR)/san/report \
	    LEADERRUN=$(CURDIR)/san/leaderrun-asan LEADERRUN_SANITIZED=1 \
	    FAULTSHIM=$(CURDIR)/tests/faultshim.so \
	    $(BATS) tests
	TSAN_OPTIONS=halt_on_error=1:exitcode=99:log_path=$(CURDIR)/san/report \
	    LEADERRUN=$(CURDIR)/san/leaderrun-tsan LEADERRUN_SANITIZED=1 \
	    FAULTSHIM=$(CURDIR)/tests/faultshim.so \
	    $(BATS) tests
	@if grep -l -E 'ERROR: |WARNING: ThreadSanitizer|runtime error' \
	    san/report.* 2>/dev/null; then cat san/report.*; \
	    echo "test-race: sanitizer reports above"; exit 1; fi
	@echo "test-race: no sanitizer report"

# Benchmark against flock(1), on etcd against etcdctl lock, and on Redis
# against the file store: three tables, the default build beside the static
# one (if musl-gcc is there; the Redis table: the default build), about
# ten minutes (BENCH_ONLY="etcd", "redis"...: some sections alone).  Needs
# bash, flock, setsid, unshare (util-linux) and a C compiler; the
# frozen-leader case needs root, the etcd one etcd and etcdctl (Debian:
# etcd-server etcd-client), the Redis one redis-server and redis-cli
# (redis-server redis-tools), and each is skipped otherwise.
HAVE_MUSL = $(shell command -v $(firstword $(MUSLCC)) 2>/dev/null)
bench: leaderrun $(if $(HAVE_MUSL),static/leaderrun)
	CC='$(CC)' tests/bench.sh '$(CURDIR)/leaderrun' \
	    $(if $(HAVE_MUSL),'$(CURDIR)/static/leaderrun')

# leaderrun at fleet scale on etcd: 1,000 contenders over 100 names on one
# etcd, then on a 3-member cluster (cold start, idle load, memory,
# handovers, a member killed); a few minutes, and both cores busy during
# the cold start.  SCALE_N, SCALE_NAMES... make it smaller (see the script).
bench-scale: leaderrun
	CC='$(CC)' tests/bench_scale.sh '$(CURDIR)/leaderrun'

# Where the time of one uncontended run goes, step by step, beside flock(1)
# (a stamped copy of the sources, built in a temporary directory).
breakdown:
	CC='$(CC)' tests/breakdown.sh

# Where the time of a graceful handover on etcd goes, step by step: the
# leaderruns under strace -f, one etcd on loopback (needs strace).
breakdown-etcd: leaderrun
	CC='$(CC)' tests/breakdown_etcd.sh '$(CURDIR)/leaderrun'

# Static checks; all must be silent.  Suppressions, with reasons:
#  clang-tidy security.insecureAPI.*: flags every strcpy/snprintf use, even
#  bounded ones; lib/base.c:seterr carries one NOLINT for a clang 14 va_list
#  false positive.
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --std=c11 -D_POSIX_C_SOURCE=200809L -I. -D__linux__ $(SRCS) \
	    tests/faultshim.c
	clang-tidy --quiet --warnings-as-errors='*' \
	    -checks='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.*' \
	    $(SRCS) -- -std=c11 $(CPPFLAGS)
	for f in $(SRCS); do \
	    gcc -std=c11 $(CPPFLAGS) -fanalyzer -Wall -Wextra -Werror -c $$f \
	    -o /dev/null || exit 1; done
	@echo "lint: clean"

clean:
	rm -rf leaderrun *.o cov san fuzz static tests/faultshim.so \
	    tests/wire_test tests/pg_test leaderrun_*.deb leaderrun-*.tar.gz

.PHONY: all test test-needs install uninstall clean demo run run-node1 \
	run-node2 run-node3 demo-parallel kill-demo test-coverage test-race lint \
	bench bench-scale breakdown breakdown-etcd chaos partition fuzz deps ci-deps check static test-static deb \
	dist distcheck
