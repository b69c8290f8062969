# bench/: benchmarks (not part of `make check`; docs/bench.md has the numbers).
#   make bench                       every part below, then build/bench/results.json and
#                                    docs/bench.md + docs/bench/*.png (about 25 min, TCG)
#   make bench-net | bench-blk | bench-scale | bench-recovery   one part (+ the report)
#   make bench-ring                  the ring between two processes vs pipe, unix socket
#   make bench-ring BENCH_ARGS="-t 1 -r 5"   1 s runs, median of 5 (default 0.5 s, 3)
# Knobs: BENCH_ROUNDS (5), BENCH_SECS (3: iperf3/fio seconds per run), BENCH_IDLE_SECS
# (60: idle window per driver VM count), BENCH_TRIALS (8: kill -9 recovery trials).

BENCH_DIR  := $(BUILD)/bench
RING_BENCH := $(BENCH_DIR)/ring_bench
TCP_RR     := $(BENCH_DIR)/tcp_rr
BENCH_ARGS ?=
BENCH_ROUNDS ?= 5
BENCH_SECS ?= 3
BENCH_IDLE_SECS ?= 60
BENCH_TRIALS ?= 8
BENCH_ENV  := ROUNDS=$(BENCH_ROUNDS) BENCH_SECS=$(BENCH_SECS) BENCH_IDLE_SECS=$(BENCH_IDLE_SECS) \
              BENCH_TRIALS=$(BENCH_TRIALS) BENCH_OUT=$(BENCH_DIR)

$(RING_BENCH): bench/ring_bench.c $(RING_LIB) $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(DDVM_CFLAGS) -o $@ bench/ring_bench.c $(RING_LIB)

# static: handed to the guests through fw_cfg (their image has no libc of this version)
$(TCP_RR): bench/tcp_rr.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(DDVM_CFLAGS) -static -o $@ bench/tcp_rr.c

.PHONY: bench bench-ring bench-net bench-blk bench-scale bench-recovery bench-report
bench-ring: $(RING_BENCH)
	$(Q)$(RING_BENCH) $(BENCH_ARGS)

bench: all $(TCP_RR)
	$(Q)$(BENCH_ENV) bench/run.sh net blk scale recovery

bench-net bench-blk bench-scale bench-recovery: all $(TCP_RR)
	$(Q)$(BENCH_ENV) bench/run.sh $(@:bench-%=%)

bench-report:
	$(Q)python3 bench/report.py $(BENCH_DIR) docs

ALL_TARGETS += $(RING_BENCH) $(TCP_RR)
