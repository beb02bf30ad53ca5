# Hartslag — GNU make build.
#
#   make              libhartslag and every binary into build/
#   make check        all tests, the byte-parsing unit tests under valgrind, then all under
#                     ASan+UBSan (build/asan/)
#   make valgrind     the unit tests under valgrind memcheck
#   make demo         broker + partner daemons on loopback, signals exchanged
#   make chaos        the long crash loop (1,000,000 signals, 100 kills), 100,000 queued offline
#   make coverage     line coverage of lib/ (build/cov/)
#   make bench        broker vs raw ZeroMQ ceiling vs mosquitto (figures, never pass/fail)
#   make bench-scale  1,000 partners, 1M queued signals, 10M audit records
#   make fuzz         each libFuzzer target FUZZ_SECONDS (default 300); tests/fuzz/README.md
#   make install      PREFIX (default /usr/local) and DESTDIR; mk/install.mk
#   make format / format-check / clean
#
# BUILD selects the output directory; SAN=1 builds with sanitizers; COV=1
# with coverage instrumentation. Sources are found by wildcard, so a new
# module needs no Makefile change.

BUILD ?= build
SAN ?= 0
COV ?= 0

CC ?= cc
PKGS := libczmq libzmq libsodium libprotobuf-c sqlite3 yaml-0.1 libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes
HARDEN := -fstack-protector-strong -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now
DEFS := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE

ifeq ($(SAN),1)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined
else ifeq ($(COV),1)
  OPT := -O0 -g --coverage
  LDSAN := --coverage
else
  OPT := -O2 -g -D_FORTIFY_SOURCE=2
  LDSAN :=
endif

GEN := $(BUILD)/gen
CFLAGS_ALL := $(WARN) $(HARDEN) $(OPT) $(DEFS) -I$(GEN) -Ilib -Itests/support $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_ALL := $(LDHARDEN) $(LDSAN) $(EXTRA_LDFLAGS)

PROTO := proto/hartslag.proto
PB_C := $(GEN)/hartslag.pb-c.c
PB_H := $(GEN)/hartslag.pb-c.h

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/hartslag.pb-c.o
LIBHARTSLAG := $(BUILD)/libhartslag.a

CLI_SRC := $(wildcard clients/cli/*.c) $(wildcard keys/*.c)
DAEMON_SRC := $(wildcard clients/daemon/*.c)
BROKER_SRC := $(wildcard broker/*.c)
# The CLI reads a daemon's database through the daemon's store (issue 16);
# the store's modules are one list, which the CLI, the store's unit test and
# the audit fuzz target all link (a module added here reaches all three).
DAEMON_STORE_SRC := clients/daemon/store.c clients/daemon/store_case.c \
  clients/daemon/store_case_timer.c clients/daemon/store_case_text.c clients/daemon/store_sql.c
CLI_DAEMON_STORE := $(DAEMON_STORE_SRC) clients/daemon/dlog.c clients/daemon/strbuf.c
CLI_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC) $(CLI_DAEMON_STORE))
DAEMON_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(DAEMON_SRC))
BROKER_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(BROKER_SRC))
# broker/*.c but main.c, as a library the unit tests link (issue 16).
BROKER_LIB_OBJ := $(filter-out $(BUILD)/obj/broker/main.o,$(BROKER_OBJ))
LIBBROKER := $(BUILD)/libhartslag-broker.a

# hartslag-pseudonymd (issue 17): pseudonymd/*.c but main.c as a library
# its unit tests link.
PSD_SRC := $(wildcard pseudonymd/*.c)
PSD_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(PSD_SRC))
PSD_LIB_OBJ := $(filter-out $(BUILD)/obj/pseudonymd/main.o,$(PSD_OBJ))
LIBPSD := $(BUILD)/libhartslag-pseudonymd.a

BINS := $(BUILD)/hartslag
ifneq ($(DAEMON_SRC),)
  BINS += $(BUILD)/hartslagd
endif
ifneq ($(BROKER_SRC),)
  BINS += $(BUILD)/hartslag-broker
endif
ifneq ($(PSD_SRC),)
  BINS += $(BUILD)/hartslag-pseudonymd
endif

UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRC))
TEST_SUPPORT := $(wildcard tests/support/*.c)
TEST_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_SUPPORT))

BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all check test unit integration asan coverage bench demo chaos format format-check clean deps lint valgrind
.DELETE_ON_ERROR:

all: deps-ok $(LIBHARTSLAG) $(BINS)

# Runs scripts/deps.sh only when a library is missing (quick when not).
.PHONY: deps-ok
deps-ok:
	@pkg-config --exists $(PKGS) criterion && command -v protoc-c >/dev/null \
	  || scripts/deps.sh

$(PB_C) $(PB_H): $(PROTO)
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $(PROTO)

$(BUILD)/obj/gen/hartslag.pb-c.o: $(PB_C)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Wshadow,$(CFLAGS_ALL)) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBHARTSLAG): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hartslag: $(CLI_OBJ) $(LIBHARTSLAG)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(LIBHARTSLAG) $(PKG_LIBS)

$(BUILD)/hartslagd: $(DAEMON_OBJ) $(LIBHARTSLAG)
	$(CC) $(LDFLAGS_ALL) -o $@ $(DAEMON_OBJ) $(LIBHARTSLAG) $(PKG_LIBS)

$(LIBBROKER): $(BROKER_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hartslag-broker: $(BUILD)/obj/broker/main.o $(LIBBROKER) $(LIBHARTSLAG)
	$(CC) $(LDFLAGS_ALL) -o $@ $(BUILD)/obj/broker/main.o $(LIBBROKER) $(LIBHARTSLAG) $(PKG_LIBS)

$(LIBPSD): $(PSD_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hartslag-pseudonymd: $(BUILD)/obj/pseudonymd/main.o $(LIBPSD) $(LIBHARTSLAG)
	$(CC) $(LDFLAGS_ALL) -o $@ $(BUILD)/obj/pseudonymd/main.o $(LIBPSD) $(LIBHARTSLAG) $(PKG_LIBS)

# Unit tests see broker/ headers and link the broker's library (only the
# objects a test uses are pulled in).
$(BUILD)/obj/tests/unit/%.o: CFLAGS_ALL += -Ibroker
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT_OBJ) $(LIBBROKER) $(LIBHARTSLAG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(LIBBROKER) $(LIBHARTSLAG) $(PKG_LIBS) -lcriterion

# Unit tests of a daemon module link that module's object (no main).
$(BUILD)/tests/unit/test_daemon_request: $(BUILD)/obj/clients/daemon/request.o
$(BUILD)/tests/unit/test_daemon_store: $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_DAEMON_STORE))
$(BUILD)/tests/unit/test_subject_cache: $(BUILD)/obj/clients/daemon/subject_cache.o
# ... and of the pseudonym service's (issue 17).
$(BUILD)/obj/tests/unit/test_pseudonymd_%.o: CFLAGS_ALL += -Ipseudonymd
$(BUILD)/tests/unit/test_pseudonymd_request: $(BUILD)/obj/pseudonymd/request.o
$(BUILD)/tests/unit/test_pseudonymd_rate_limit: $(BUILD)/obj/pseudonymd/rate_limit.o
$(BUILD)/tests/unit/test_pseudonymd_replay: $(BUILD)/obj/pseudonymd/replay.o
$(BUILD)/tests/unit/test_pseudonymd_settings: $(BUILD)/obj/pseudonymd/settings.o \
  $(BUILD)/obj/pseudonymd/request.o

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(TEST_SUPPORT_OBJ) $(LIBHARTSLAG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TEST_SUPPORT_OBJ) $(LIBHARTSLAG) $(PKG_LIBS) -lcriterion

# test_migrate writes its source store through the broker's store code.
$(BUILD)/obj/tests/integration/test_migrate.o: CFLAGS_ALL += -Ibroker
$(BUILD)/tests/integration/test_migrate: $(BUILD)/obj/tests/integration/test_migrate.o \
  $(TEST_SUPPORT_OBJ) $(LIBBROKER) $(LIBHARTSLAG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(LIBBROKER) $(LIBHARTSLAG) $(PKG_LIBS) -lcriterion

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBHARTSLAG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBHARTSLAG) $(PKG_LIBS)

# Criterion forks one process per test; --jobs 2 matches the machine.
# The audit tamper suite runs in full in `make test`, at 25% of its (random)
# cases in make check's plain pass and at 5% under the sanitizers
# (HARTSLAG_TAMPER_SCALE): each case verifies the whole 10,000-record log,
# and the full suite alone took three minutes of CI's thirty. Every
# test binary runs even when one fails, and the target fails if any did.
# Integration tests find the binaries through HARTSLAG_BIN.
# Then the suites of the broker's store run again on PostgreSQL
# (HARTSLAG_TEST_STORE=postgresql: each binary starts a private cluster on
# 127.0.0.1 and stops it when it ends, tests/support/pg_harness.h).
PG_SUITES := $(addprefix $(BUILD)/tests/unit/test_,broker_store audit_store) \
  $(addprefix $(BUILD)/tests/integration/test_,broker broker_auth broker_status alerts inclusion \
    delivery_truth agreements_identity daemon_delivery pseudonyms storage_faults chaos \
    audit_events broker_cheat broker_hostile broker_window offline_partner broker_cases \
    cli_audit_verify audit_e2e cli_audit_query case_conference)
# PG_RUN: the suites that run again on PostgreSQL (all of PG_SUITES unless
# told otherwise; the chaos suite there at half the plain run's size).
PG_RUN ?= $(PG_SUITES)
# Under the sanitizers only the stores' own suites and the broker's core
# run again on PostgreSQL: the code ASan watches is the same C on either
# backend except lib/db_pg.c and the SQL, which these reach, and the whole
# list took a quarter of make check's time.
PG_ASAN_SUITES := $(addprefix build/asan/tests/unit/test_,broker_store audit_store) \
  $(addprefix build/asan/tests/integration/test_,broker broker_cases)
# The suites run two at a time (scripts/run-suites.sh: each whole output
# printed when it ends), the slowest first so that the two lanes end
# together; TEST_PARALLEL=1 runs them one after the other.
TEST_PARALLEL ?= 2
SLOW_SUITES := chaos storage_faults audit_log broker_cheat audit_events daemon_recipient install \
  offline_partner daemon_diagnostics migrate
SLOW_BINS := $(foreach s,$(SLOW_SUITES),$(filter %/test_$(s),$(UNIT_BINS) $(INTEG_BINS)))
# TEST_SKIP: suites (names without test_) this run leaves out.
TEST_SKIP ?=
SKIP_BINS := $(foreach s,$(TEST_SKIP),$(filter %/test_$(s),$(UNIT_BINS) $(INTEG_BINS)))
test: all $(UNIT_BINS) $(INTEG_BINS)
	@{ for t in $(filter-out $(SKIP_BINS),$(SLOW_BINS)); do echo "plain $$t"; done; \
	  for t in $(filter $(SLOW_BINS),$(PG_RUN)); do echo "postgresql $$t"; done; \
	  for t in $(filter-out $(SLOW_BINS) $(SKIP_BINS),$(UNIT_BINS) $(INTEG_BINS)); do echo "plain $$t"; done; \
	  for t in $(filter-out $(SLOW_BINS),$(PG_RUN)); do echo "postgresql $$t"; done; } \
	| scripts/run-suites.sh $(TEST_PARALLEL) $(abspath $(BUILD)) $(CURDIR)

unit: all $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t --jobs 2 --short-filename || exit 1; done

# Left out under the sanitizers: suites whose work is the installed tree,
# the Docker files and a browser, not our C (the same binaries' code is
# reached by every other suite); they run in the plain pass.
ASAN_SKIP := install docker_refs audit_report_browser
check: deps-ok lint format-check
	HARTSLAG_TAMPER_SCALE=25 $(MAKE) test
	$(MAKE) valgrind VALGRIND_UNITS="$(patsubst %,$(BUILD)/tests/unit/test_%,$(VALGRIND_CHECK_UNITS))"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  HARTSLAG_TAMPER_SCALE=5 HARTSLAG_CHAOS_SIGNALS=3000 HARTSLAG_CHAOS_KILLS=6 \
	  $(MAKE) BUILD=build/asan SAN=1 PG_RUN="$(PG_ASAN_SUITES)" TEST_SKIP="$(ASAN_SKIP)" test
	$(MAKE) fuzz-regress
	$(MAKE) -j2 fuzz-smoke FUZZ_SMOKE_SECONDS=5
	@echo "make check: all tests passed (plain, ASan+UBSan, fuzz regressions and smoke)"

# make valgrind: the unit tests under memcheck, which sees what ASan cannot:
# a read past a buffer inside libsodium or libc (not instrumented). Criterion
# runs each test in a child: --trace-children follows it, and
# --exit-on-first-error ends it at the first error so that the test fails.
# Slow suites run a fraction of their cases; tests that assert a time budget
# are left out, and so is the tamper suite (its 10,000-record log takes
# minutes under valgrind; ASan runs it): VALGRIND_SKIP, a Criterion extglob.
VALGRIND := valgrind --quiet --error-exitcode=1 --exit-on-first-error=yes --trace-children=yes \
  --suppressions=tests/valgrind.supp
# The four exhaustive merkle tests (all sizes to 64 with mutations, random
# sizes to 1e5, the node cache's proof lengths) took two of make check's
# six valgrind minutes; the smaller merkle tests reach the same libsodium
# calls, and plain and ASan runs keep all four.
VALGRIND_SKIP := agreements_hostile/long_lists_stay_fast|tamper/*|merkle/inclusion_all_up_to_64_with_mutations|merkle/consistency_all_up_to_64_with_mutations|merkle/random_sizes_up_to_1e5_roots|merkle/node_cache_makes_proofs_logarithmic
# make check runs the suites of the modules whose bugs ASan cannot see:
# those that hand buffers to libsodium or libc and parse hostile bytes
# (each test starts a fresh valgrind, so all 27 suites take some 15
# minutes on two cores; make valgrind runs them all).
VALGRIND_CHECK_UNITS := cert checkpoint daemon_request deliver_frame envelope instruction keyfile \
  pseudonymd_request \
  merkle names partners pseudonym sigdomain wire z85 zpl audit_inclusion oprf expand_xmd \
  ristretto_msm
VALGRIND_UNITS ?= $(UNIT_BINS)
valgrind: all $(VALGRIND_UNITS)
	@fail=0; for t in $(VALGRIND_UNITS); do \
	  echo "== valgrind $$t"; \
	  HARTSLAG_TAMPER_SCALE=1 HARTSLAG_PROPERTY_SCALE=5 \
	    $(VALGRIND) $$t --jobs 2 --short-filename --filter '!($(VALGRIND_SKIP))' || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "FAILED: valgrind found errors in the unit tests"; exit 1; fi

coverage: deps-ok
	rm -rf build/cov
	HARTSLAG_TAMPER_SCALE=10 HARTSLAG_CHAOS_SIGNALS=3000 HARTSLAG_CHAOS_KILLS=6 \
	  $(MAKE) BUILD=build/cov COV=1 test
	gcovr --root . --filter 'lib/' --filter 'broker/(match|verifier|wal_checkpointer|deliver_frame)\.c' --object-directory build/cov/obj --print-summary \
	  --fail-under-line 85 build/cov/obj

# make bench: broker capacity and end-to-end latency with both baselines
# (bench/bench.mk); make bench-micro: the per-module micro benchmarks;
# make bench-scale: 1,000 partners, 1M queued, a 10M-record audit log.
bench: bench-all

demo: all
	scripts/demo.sh $(abspath $(BUILD))

# The long crash loop (issue 6): 1,000,000 signals, 100 kills of the broker
# and, in a second run, of the recipient daemon. make check runs 20,000 / 20.
# Then the broker's run on PostgreSQL (issue 16): 100 broker kills and 100
# server restarts, crashes and cut connections, over 200,000 signals.
chaos: all $(BUILD)/tests/integration/test_chaos $(BUILD)/tests/integration/test_offline_partner
	HARTSLAG_BIN=$(abspath $(BUILD)) HARTSLAG_SRC=$(CURDIR) HARTSLAG_CHAOS_SIGNALS=1000000 \
	  HARTSLAG_CHAOS_KILLS=100 $(BUILD)/tests/integration/test_chaos --jobs 1
	HARTSLAG_TEST_STORE=postgresql HARTSLAG_BIN=$(abspath $(BUILD)) HARTSLAG_SRC=$(CURDIR) \
	  HARTSLAG_CHAOS_SIGNALS=200000 HARTSLAG_CHAOS_KILLS=100 \
	  $(BUILD)/tests/integration/test_chaos --jobs 1 --filter 'chaos/broker_killed_at_random'
	HARTSLAG_BIN=$(abspath $(BUILD)) HARTSLAG_OFFLINE_SIGNALS=100000 \
	  $(BUILD)/tests/integration/test_offline_partner --jobs 1

# Banned functions (curl's habit): each has a bounded or safer alternative.
# The layering (issue 16): scripts/check-includes.sh, and its self-test
# that plants one violation per rule and requires a refusal.
lint: $(PB_H)
	@BUILD=$(BUILD) scripts/check-includes.sh
	@scripts/check-includes.sh --self-test
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets|strncpy)\s*\(' \
	  $$(git ls-files '*.c' '*.h' 2>/dev/null) || { echo "lint: banned function used"; exit 1; }

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build

include tests/fuzz/fuzz.mk
include mk/install.mk
include bench/bench.mk
include mk/faults.mk

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
