# bench/: microbenchmarks (not part of `make check`; see docs/channel.md for numbers).
#   make bench-ring                  the ring between two processes vs pipe, unix socket
#   make bench-ring BENCH_ARGS="-t 1 -r 5"   1 s runs, median of 5 (default 0.5 s, 3)

BENCH_DIR  := $(BUILD)/bench
RING_BENCH := $(BENCH_DIR)/ring_bench
BENCH_ARGS ?=

$(RING_BENCH): bench/ring_bench.c $(RING_LIB) $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(DDVM_CFLAGS) -o $@ bench/ring_bench.c $(RING_LIB)

.PHONY: bench-ring
bench-ring: $(RING_BENCH)
	$(Q)$(RING_BENCH) $(BENCH_ARGS)

ALL_TARGETS += $(RING_BENCH)
