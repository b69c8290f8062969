# tests/: what `make check` builds before tests/run.sh runs it.
#
#   build/tests/unit/<name>   cmocka binaries; tests/run.sh runs every one of them
#   tests/*/test_*.sh         script tests; tests/run.sh finds them itself
#
# Adding a unit test (any fragment may do this, before or after this file):
#   - the common case, one file tests/unit/<name>.c built with ASan+UBSan against
#     libddvmring-san.a and cmocka:
#         $(eval $(call ddvm_unit_test,<name>))
#     optional per-test variables, set before the call:
#         <name>_SRCS    more sources        <name>_LIBS    more libraries
#         <name>_CFLAGS  more flags          <name>_DEPS    more prerequisites
#   - anything else: write your own rule and add the binary with
#         UNIT_TESTS += $(BUILD)/tests/unit/<name>
# `make unit-tests` builds every entry of UNIT_TESTS (it expands the list last, so
# fragments included after this one count too); `make check` depends on it.

UNIT_DIR := $(BUILD)/tests/unit
UNIT_TESTS +=

define ddvm_unit_test
UNIT_TESTS += $(UNIT_DIR)/$(1)
$(UNIT_DIR)/$(1): tests/unit/$(1).c $$($(1)_SRCS) $$($(1)_DEPS) $$(RING_LIB_SAN) $$(RING_HDRS)
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  LD SAN  $$@")
	$$(Q)$$(CC) $$(DDVM_CFLAGS) $$(SAN_FLAGS) $$($(1)_CFLAGS) -o $$@ \
		tests/unit/$(1).c $$($(1)_SRCS) $$($(1)_LIBS) $$(RING_LIB_SAN) -lcmocka -lpthread
endef

.SECONDEXPANSION:
.PHONY: unit-tests
unit-tests: $$(UNIT_TESTS)
CHECK_DEPS += unit-tests

# --- the channel: ring and region ----------------------------------------------------

$(eval $(call ddvm_unit_test,test_ring))
$(eval $(call ddvm_unit_test,test_region))
$(eval $(call ddvm_unit_test,test_follow))

# The channel under load: two processes (ASan+UBSan) and two threads (TSan).
test_ring_stress_SRCS   := tests/stress/ring_stress.c
test_ring_stress_DEPS   := tests/stress/ring_stress.h
test_ring_stress_CFLAGS := -Itests/stress
$(eval $(call ddvm_unit_test,test_ring_stress))

UNIT_TESTS += $(UNIT_DIR)/test_ring_stress_tsan
$(UNIT_DIR)/test_ring_stress_tsan: tests/unit/test_ring_stress.c tests/stress/ring_stress.c \
		tests/stress/ring_stress.h $(RING_LIB_TSAN) $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD TSAN $@")
	$(Q)$(CC) $(DDVM_CFLAGS) $(RING_TSAN_CFLAGS) -DDDVM_STRESS_TSAN -Itests/stress -o $@ \
		tests/unit/test_ring_stress.c tests/stress/ring_stress.c $(RING_LIB_TSAN) \
		-lcmocka -lpthread

# --- the channel's fuzzer (clang's libFuzzer) ---------------------------------------
# The ring code is compiled into the harness with clang (coverage + sanitizers); the
# gcc-built libddvmring-san.a would mix two ASan runtimes.
#   make fuzz                    FUZZ_TIME seconds (default 600) on build/fuzz/corpus
#   tests/fuzz/test_fuzz_channel.sh   the bounded run inside make check
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_TIME   ?= 600
FUZZ_CHANNEL := $(FUZZ_DIR)/fuzz_channel
FUZZ_FLAGS  := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
HAVE_LIBFUZZER := $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
	| $(CLANG) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null && echo 1)

$(FUZZ_CHANNEL): tests/fuzz/fuzz_channel.c $(RING_SRCS) $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)$(CLANG) $(DDVM_CFLAGS) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_channel.c $(RING_SRCS)

.PHONY: fuzz fuzz-build
fuzz-build: $(if $(HAVE_LIBFUZZER),$(FUZZ_CHANNEL))
CHECK_DEPS += fuzz-build

fuzz: $(FUZZ_CHANNEL)
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	$(FUZZ_CHANNEL) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -timeout=10 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/ $(FUZZ_DIR)/corpus tests/fuzz/corpus

# --- the wire ABI for the Python peers ------------------------------------------------
# build/py/ddvm_abi.py: include/ddvm/*.h as Python constants, printed by a C program
# compiled against the headers (tests/vm/ddvm_abi_gen.c). What it prints is extracted
# from the headers themselves: every pinned field (DDVM_ASSERT_OFFSET), every struct
# with a pinned size, every object-like DDVM_ macro and enum constant. The Python peers
# find it through tests/vm/ivshmem_peer.py (BUILD/py); tests/unit/test_abi_py.sh checks
# it against the headers' text.
ABI_PY_DIR := $(BUILD)/py
ABI_PY     := $(ABI_PY_DIR)/ddvm_abi.py
ABI_HDRS   := $(sort $(wildcard include/ddvm/*.h))

$(ABI_PY_DIR)/ddvm_abi_names.h: $(ABI_HDRS) tests/tests.mk
	@mkdir -p $(dir $@)
	$(Q)for h in $(ABI_HDRS); do echo "#include \"ddvm/$${h##*/}\""; done >$(ABI_PY_DIR)/ddvm_abi_includes.h
	$(Q)sed -n -e 's/^DDVM_ASSERT_OFFSET(\(.*\));.*/F(\1)/p' \
		-e 's/^_Static_assert(sizeof(\(struct [a-z0-9_]*\)).*/S(\1)/p' \
		-e 's/^#define \(DDVM_[A-Z0-9_]*\)[[:space:]][[:space:]]*[^[:space:]].*/C(\1)/p' \
		-e 's/^[[:space:]][[:space:]]*\(DDVM_[A-Z0-9_]*\) = .*/C(\1)/p' $(ABI_HDRS) >$@.tmp
	$(Q)mv $@.tmp $@

$(ABI_PY_DIR)/ddvm_abi_gen: tests/vm/ddvm_abi_gen.c $(ABI_PY_DIR)/ddvm_abi_names.h $(ABI_HDRS)
	$(if $(Q),@echo "  GEN     $(ABI_PY)")
	$(Q)$(CC) $(DDVM_CFLAGS) -I$(ABI_PY_DIR) -o $@ $<

$(ABI_PY): $(ABI_PY_DIR)/ddvm_abi_gen
	$(Q)$< >$@.tmp && mv $@.tmp $@

.PHONY: abi-py
abi-py: $(ABI_PY)
ALL_TARGETS += abi-py
CHECK_DEPS  += abi-py

# The C peers share one handshake (clients/common/ivshmem_peer.h).
$(UNIT_DIR)/supervisor_ivshmem $(UNIT_DIR)/supervisor_ivshmem_san $(SUP_PEER): \
	clients/common/ivshmem_peer.h
