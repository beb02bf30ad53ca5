# bench/bench.mk — the load generator of issue 8 (bench/README.md).
# Included by the top-level Makefile; reuses its variables.
#
#   make bench-all     parts 1 and 2 with both baselines, one table (< 3 min)
#   make bench-scale   part 3: 1,000 partners, 1,000,000 queued, 10,000,000 audit records
#   make bench-micro   the older micro benchmarks (build/bench/bench_*)

LOAD_SRC := $(wildcard bench/load/*.c) bench/baseline_forwarder.c bench/baseline_mosquitto.c
LOAD_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LOAD_SRC))
LOAD_BIN := $(BUILD)/bench/hartslag-load
LOAD_SUPPORT_OBJ := $(BUILD)/obj/tests/support/broker_harness.o $(BUILD)/obj/tests/support/pg_harness.o \
  $(BUILD)/obj/tests/support/daemon_harness.o $(BUILD)/obj/tests/support/testutil.o

$(BUILD)/obj/bench/%.o: CFLAGS_ALL += -Ibench -Ibroker
$(BUILD)/obj/bench/load/%.o: CFLAGS_ALL += -Ibench -Ibench/load -Ibroker

$(LOAD_BIN): $(LOAD_OBJ) $(LOAD_SUPPORT_OBJ) $(LIBBROKER) $(LIBHARTSLAG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(LOAD_OBJ) $(LOAD_SUPPORT_OBJ) $(LIBBROKER) $(LIBHARTSLAG) $(PKG_LIBS) \
	  -lmosquitto -lpthread

.PHONY: bench-all bench-scale bench-micro bench-load
bench-load: all $(LOAD_BIN)

bench-all: bench-load
	HARTSLAG_BIN=$(abspath $(BUILD)) $(LOAD_BIN) all

bench-scale: bench-load
	HARTSLAG_BIN=$(abspath $(BUILD)) $(LOAD_BIN) scale

bench-micro: all $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
