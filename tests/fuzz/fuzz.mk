# libFuzzer targets for the parsers of hostile input (issue 6, Fuzzing).
# Included from the top-level Makefile; see tests/fuzz/README.md.
#
#   make fuzz-build     every target into build/fuzz/
#   make fuzz-regress   replay every seed and every kept crash input (fast)
#   make fuzz-smoke     each target FUZZ_SMOKE_SECONDS over seeds + regressions
#   make fuzz           each target FUZZ_SECONDS with a working corpus under
#                       build/fuzz/corpus/; new crash inputs are copied to
#                       tests/fuzz/regressions/<target>/
#
# The targets are built with clang straight from the lib sources (not from
# the gcc-built libhartslag.a) so that the library itself carries the
# coverage and sanitizer instrumentation.

FUZZ_CC ?= clang
FUZZ_OUT := build/fuzz
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_FLAGS ?=
# Limits for every run: a crash, a leak, an input slower than FUZZ_TIMEOUT
# seconds or a run above FUZZ_RSS_MB fails it.
FUZZ_TIMEOUT ?= 5
FUZZ_RSS_MB ?= 2048

FUZZ_PKGS := libsodium libprotobuf-c yaml-0.1 libczmq libzmq sqlite3 libpq
FUZZ_PKG_CFLAGS := $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
FUZZ_PKG_LIBS := $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# clang warns about things gcc does not (e.g. -Wstring-concatenation): a
# lib/ file that builds with gcc may stop the fuzz build. FUZZ_LIB_WERROR=
# (empty) keeps such warnings in the lib objects as warnings.
FUZZ_LIB_WERROR ?= -Werror
FUZZ_CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I$(GEN) -Ilib $(FUZZ_PKG_CFLAGS)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_BINS := $(addprefix $(FUZZ_OUT)/,$(FUZZ_NAMES))
# The library, instrumented for coverage but without libFuzzer's main().
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(LIB_SRC)) $(FUZZ_OUT)/obj/gen/hartslag.pb-c.o
FUZZ_LIB := $(FUZZ_OUT)/libhartslag-fuzz.a

# Same limits everywhere; leaks count as failures.
FUZZ_RUN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
FUZZ_LIMITS = -rss_limit_mb=$(FUZZ_RSS_MB) -timeout=$(FUZZ_TIMEOUT)
.PHONY: fuzz-build fuzz-smoke fuzz-regress fuzz

fuzz-build: $(FUZZ_BINS)

$(FUZZ_OUT)/obj/gen/hartslag.pb-c.o: $(PB_C)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WERROR) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c $< -o $@

$(FUZZ_OUT)/obj/lib/%.o: lib/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WERROR) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP \
	  -c $< -o $@

# Targets over the daemon or the CLI link those objects too, built the same
# way (instrumented) from clients/: FUZZ_OBJS_<target> lists them.
FUZZ_DAEMON_OBJ := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(filter-out clients/daemon/main.c,$(wildcard clients/daemon/*.c)))
# The Deliver frame is the broker's (broker/deliver_frame, issue 16).
FUZZ_FRAME_OBJ := $(FUZZ_OUT)/obj/broker/deliver_frame.o
FUZZ_OBJS_fuzz_frame := $(FUZZ_FRAME_OBJ)
FUZZ_OBJS_fuzz_daemon_frame := $(FUZZ_DAEMON_OBJ) $(FUZZ_FRAME_OBJ)
FUZZ_OBJS_fuzz_control := $(FUZZ_DAEMON_OBJ) $(FUZZ_FRAME_OBJ)
FUZZ_OBJS_fuzz_json := $(FUZZ_OUT)/obj/clients/daemon/strbuf.o
FUZZ_OBJS_fuzz_audit_db := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,clients/cli/audit_read.c \
  clients/cli/cmd_audit_query.c clients/cli/cmd_audit_report.c clients/cli/cmd_audit_subject.c \
  clients/cli/cmd_audit_verify.c clients/cli/audit_witness.c clients/cli/audit_exchanges.c \
  clients/cli/pseudonym_lookup.c clients/cli/audit_subject_cases.c clients/cli/audit_case_stats.c \
  clients/cli/audit_stats_table.c \
  $(CLI_DAEMON_STORE))

# The pseudonym service's request parser (issue 17).
FUZZ_OBJS_fuzz_pseudonym_request := $(FUZZ_OUT)/obj/pseudonymd/request.o

$(FUZZ_OUT)/obj/pseudonymd/%.o: pseudonymd/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WERROR) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP \
	  -c $< -o $@

$(FUZZ_OUT)/obj/broker/%.o: broker/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WERROR) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP \
	  -c $< -o $@

$(FUZZ_OUT)/obj/clients/%.o: clients/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WERROR) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP \
	  -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

.SECONDEXPANSION:
$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) $(PB_H) $$(FUZZ_OBJS_fuzz_%) \
    $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ibroker -Werror -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
	  $(FUZZ_OBJS_fuzz_$*) $(FUZZ_LIB) $(FUZZ_PKG_LIBS)

-include $(shell find $(FUZZ_OUT)/obj -name '*.d' 2>/dev/null)

# Every seed and every kept crash input, each run once: deterministic, a
# second or two in all. Every target runs; fails if any input fails.
fuzz-regress: fuzz-build
	@fail=0; for t in $(FUZZ_NAMES); do \
	  files=$$(find tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t -type f \
	    ! -name 'README*' 2>/dev/null | sort); \
	  n=$$(printf '%s\n' $$files | grep -c . || true); \
	  if [ "$$n" -eq 0 ]; then echo "fuzz-regress: $$t: no inputs"; continue; fi; \
	  mkdir -p $(FUZZ_OUT)/artifacts/regress/$$t; \
	  if $(FUZZ_RUN_ENV) $(FUZZ_OUT)/$$t $(FUZZ_LIMITS) \
	      -artifact_prefix=$(FUZZ_OUT)/artifacts/regress/$$t/ $$files \
	      >$(FUZZ_OUT)/$$t.regress.log 2>&1; then \
	    echo "fuzz-regress: $$t: $$n inputs ok"; \
	  else \
	    fail=1; grep -E '^(Running: |SUMMARY|.*invariant failed)' $(FUZZ_OUT)/$$t.regress.log | tail -n 3; \
	    echo "fuzz-regress: $$t FAILED (log: $(FUZZ_OUT)/$$t.regress.log)"; \
	  fi; \
	done; \
	if [ $$fail -ne 0 ]; then echo "fuzz-regress: a kept input fails"; exit 1; fi

# A short bounded run of each target, starting from its seeds and kept
# crash inputs; new inputs go to a scratch corpus that is thrown away. One
# rule per target, so that `make -j2 fuzz-smoke` (as make check runs it)
# keeps both cores fuzzing.
fuzz-smoke: $(addprefix fuzz-smoke-,$(FUZZ_NAMES))

fuzz-smoke-%: fuzz-build
	@rm -rf $(FUZZ_OUT)/smoke/$*
	@mkdir -p $(FUZZ_OUT)/smoke/$* $(FUZZ_OUT)/artifacts/smoke/$* \
	  tests/fuzz/corpus/$* tests/fuzz/regressions/$*
	@dict=; [ -f tests/fuzz/$*.dict ] && dict=-dict=tests/fuzz/$*.dict; \
	if $(FUZZ_RUN_ENV) $(FUZZ_OUT)/$* $(FUZZ_LIMITS) $$dict \
	    -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_OUT)/artifacts/smoke/$*/ \
	    $(FUZZ_OUT)/smoke/$* tests/fuzz/corpus/$* tests/fuzz/regressions/$* \
	    >$(FUZZ_OUT)/$*.smoke.log 2>&1; then \
	  echo "fuzz-smoke: $*: $$(grep -E '^#[0-9]+' $(FUZZ_OUT)/$*.smoke.log | tail -n 1)"; \
	else \
	  tail -n 60 $(FUZZ_OUT)/$*.smoke.log; \
	  echo "fuzz-smoke: $* FAILED; the input is in $(FUZZ_OUT)/artifacts/smoke/$*/"; \
	  exit 1; \
	fi

# The long run. Every target runs even when one crashes; the crash inputs
# are copied to tests/fuzz/regressions/<target>/ (commit them, with a line
# in that README), and the target fails at the end if any target did.
fuzz: fuzz-build
	@fail=0; for t in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_OUT)/corpus/$$t $(FUZZ_OUT)/artifacts/fuzz/$$t \
	    tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  echo "== $$t ($(FUZZ_SECONDS) s, log $(FUZZ_OUT)/$$t.fuzz.log)"; \
	  if $(FUZZ_RUN_ENV) $(FUZZ_OUT)/$$t $(FUZZ_LIMITS) $$dict $(FUZZ_FLAGS) \
	      -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      -artifact_prefix=$(FUZZ_OUT)/artifacts/fuzz/$$t/ \
	      $(FUZZ_OUT)/corpus/$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t \
	      >$(FUZZ_OUT)/$$t.fuzz.log 2>&1; then \
	    grep -E '^#[0-9]+' $(FUZZ_OUT)/$$t.fuzz.log | tail -n 1; \
	  else \
	    fail=1; grep -E '^(==[0-9]+==ERROR|SUMMARY|#[0-9]+)' $(FUZZ_OUT)/$$t.fuzz.log | tail -n 3; \
	    for a in $(FUZZ_OUT)/artifacts/fuzz/$$t/*; do \
	      [ -f "$$a" ] || continue; \
	      cp -n "$$a" tests/fuzz/regressions/$$t/ && echo "kept $$a -> tests/fuzz/regressions/$$t/"; \
	    done; \
	  fi; \
	done; \
	if [ $$fail -ne 0 ]; then echo "fuzz: a target failed; see the logs above"; exit 1; fi
