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
LEASE_SRCS = lease.c store/file.c store/etcd.c store/redis.c \
	  wire/net.c wire/http.c wire/json.c wire/resp.c lib/base.c lib/host.c
SRCS	= leaderrun.c $(RUN_SRCS) $(LEASE_SRCS)
HDRS	= run/cli.h run/values.h run/secret.h run/report.h run/supervise.h \
	  run/worker.h run/gate.h run/job.h run/sig.h run/watchdog.h \
	  run/metrics.h run/log.h \
	  lease.h store/store.h wire/net.h wire/http.h wire/json.h wire/resp.h \
	  lib/base.h lib/host.h

# Demo knobs: make run NODE_ID=node-2 LEASE=5s
NODE_ID	  = node-1
LOCK_NAME = leader-election-demo
LOCK_DIR  = /tmp
LEASE	  = 10s
RETRY	  = 2s
HEARTBEAT = 1s
# make chaos TERMS=10000; make fuzz FUZZTIME=60
TERMS	  = 2000
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
	     tests/52-etcd-promises.bats tests/14-metrics.bats
TEST_FILES = $(TEST_FIRST) $(filter-out $(TEST_FIRST),$(wildcard tests/*.bats))

test: test-needs leaderrun tests/faultshim.so tests/wire_test
	LEADERRUN=$(CURDIR)/leaderrun FAULTSHIM=$(CURDIR)/tests/faultshim.so \
	    $(BATS) $(BATS_JOBS) $(TEST_FILES)

# What make test runs, as COMMAND:DEBIAN-PACKAGE; a missing command stops it
# with the one apt-get line that brings all the missing ones (tests/needs.sh).
# TEST_WANTS are optional (a note if missing): the store servers and the
# checkers, whose tests skip without them, naming the package (and fail
# when CI=true).
TEST_NEEDS = $(firstword $(BATS)):bats tmux:tmux setpriv:util-linux \
	     unshare:util-linux flock:util-linux setsid:util-linux \
	     script:bsdutils pgrep:procps perl:perl cc:gcc \
	     $(if $(BATS_JOBS),parallel:parallel)
TEST_WANTS = etcd:etcd-server etcdctl:etcd-client redis-server:redis-server \
	     redis-cli:redis-tools stunnel:stunnel4 openssl:openssl \
	     systemd-analyze:systemd promtool:prometheus jq:jq

test-needs:
	@BATS='$(BATS)' tests/needs.sh $(TEST_NEEDS) -- $(TEST_WANTS)

# Unit tests of the plumbing (net, HTTP, JSON), TAP; run by 40-wire.bats.
WIRE	= lib/base.c wire/net.c wire/http.c wire/json.c
tests/wire_test: tests/wire_test.c $(WIRE) lib/base.h wire/net.h wire/http.h \
    wire/json.h
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ tests/wire_test.c $(WIRE)

# LD_PRELOAD shim that makes chosen lease I/O calls fail or hang.
tests/faultshim.so: tests/faultshim.c
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -shared -fPIC -o $@ \
	    tests/faultshim.c -ldl

# Contenders under random faults; proves no overlap, ordered terms, no leak.
# STORE=etcd: on an etcd of its own, with etcd stopped and killed as well.
chaos: leaderrun
	LEADERRUN=$(CURDIR)/leaderrun tests/chaos.sh -s '$(or $(STORE),file)' \
	    -T $(TERMS)

fuzz/fuzz_record: tests/fuzz_record.c $(SRCS) $(HDRS)
	mkdir -p fuzz
	$(FUZZCC) $(CPPFLAGS) $(FUZZFLAGS) -o $@ tests/fuzz_record.c lease.c \
	    store/etcd.c store/redis.c $(WIRE) lib/host.c wire/resp.c $(LDLIBS)

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

# libFuzzer on every parser of untrusted bytes, FUZZTIME seconds each.
fuzz: fuzz/fuzz_record fuzz/fuzz_duration fuzz/fuzz_http fuzz/fuzz_json \
    fuzz/fuzz_resp
	mkdir -p fuzz/corpus-record fuzz/corpus-duration fuzz/corpus-http \
	    fuzz/corpus-json fuzz/corpus-resp
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
	exit $$rc

install: leaderrun
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp leaderrun $(DESTDIR)$(BINDIR)/leaderrun
	chmod 755 $(DESTDIR)$(BINDIR)/leaderrun
	cp man/leaderrun.1 $(DESTDIR)$(MANDIR)/man1/leaderrun.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/leaderrun.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/leaderrun $(DESTDIR)$(MANDIR)/man1/leaderrun.1

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

# Benchmark against flock(1), and on etcd against etcdctl lock: two tables,
# about four minutes (BENCH_ETCD_ONLY=1: the etcd one alone).  Needs bash,
# flock, setsid, unshare (util-linux) and a C compiler; the frozen-leader
# case needs root, the etcd one etcd and etcdctl (Debian: etcd-server
# etcd-client), and each is skipped otherwise.
bench: leaderrun
	CC='$(CC)' tests/bench.sh '$(CURDIR)/leaderrun'

# Where the time of one uncontended run goes, step by step, beside flock(1)
# (a stamped copy of the sources, built in a temporary directory).
breakdown:
	CC='$(CC)' tests/breakdown.sh

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
	rm -rf leaderrun *.o cov san fuzz tests/faultshim.so tests/wire_test

.PHONY: all test test-needs install uninstall clean demo run run-node1 \
	run-node2 run-node3 demo-parallel kill-demo test-coverage test-race lint \
	bench breakdown chaos fuzz
