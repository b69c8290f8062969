# ring/: the channel core, compiled for every side.
#   build/lib/libddvmring.a          hosted user space (supervisor, libddvm, tools)
#   build/lib/libddvmring-san.a      the same with ASan+UBSan, for the test suite
#   build/lib/libddvmring-tsan.a     the same with TSan, for the two-thread stress test
#   build/freestanding/*.o           -ffreestanding -nostdlib: proves a new OS can link it
# The kernel modules compile the same ring.c/region.c/follow.c through their Kbuild files.

RING_SRCS := ring/ring.c ring/region.c ring/follow.c
RING_HDRS := ring/ring.h ring/region.h ring/follow.h ring/ddvm_sys.h $(wildcard include/ddvm/*.h)

RING_LIB      := $(BUILD)/lib/libddvmring.a
RING_LIB_SAN  := $(BUILD)/lib/libddvmring-san.a
RING_LIB_TSAN := $(BUILD)/lib/libddvmring-tsan.a
RING_FREESTANDING := $(patsubst ring/%.c,$(BUILD)/freestanding/%.o,$(RING_SRCS))

# GCC warns (-Wtsan) that TSan does not model atomic_thread_fence. ddvm_mb() only
# orders an event-index store before an index load (both atomics TSan does see); no
# data is published by the fence alone, and the fence still runs on the real CPU.
RING_TSAN_CFLAGS := $(TSAN_FLAGS) $(shell $(CC) -Werror -Wno-tsan -fsanitize=thread \
	-E -x c /dev/null >/dev/null 2>&1 && echo -Wno-tsan)

$(BUILD)/obj/ring/%.o: ring/%.c $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(DDVM_CFLAGS) -fPIC -c $< -o $@
$(BUILD)/obj-san/ring/%.o: ring/%.c $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(DDVM_CFLAGS) $(SAN_FLAGS) -c $< -o $@
$(BUILD)/obj-tsan/ring/%.o: ring/%.c $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(DDVM_CFLAGS) $(RING_TSAN_CFLAGS) -c $< -o $@

# Freestanding: no libc headers beyond the compiler's own, no builtins assumed.
$(BUILD)/freestanding/%.o: ring/%.c $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 $(WARNINGS) -O2 -ffreestanding -nostdlib -fno-builtin -nostdinc \
		-isystem $(shell $(CC) -print-file-name=include) \
		-I$(CURDIR)/include -I$(CURDIR)/ring -c $< -o $@

$(RING_LIB): $(patsubst ring/%.c,$(BUILD)/obj/ring/%.o,$(RING_SRCS))
	@mkdir -p $(dir $@)
	$(Q)$(AR) rcs $@ $^
$(RING_LIB_SAN): $(patsubst ring/%.c,$(BUILD)/obj-san/ring/%.o,$(RING_SRCS))
	@mkdir -p $(dir $@)
	$(Q)$(AR) rcs $@ $^
$(RING_LIB_TSAN): $(patsubst ring/%.c,$(BUILD)/obj-tsan/ring/%.o,$(RING_SRCS))
	@mkdir -p $(dir $@)
	$(Q)$(AR) rcs $@ $^

.PHONY: ring
ring: $(RING_LIB) $(RING_LIB_SAN) $(RING_LIB_TSAN) $(RING_FREESTANDING)
ALL_TARGETS += ring
