# clients/: non-Linux clients of ddvm channels.
#   build/lib/libddvm.a            the host library (clients/lib/ddvm.h), ring code included
#   build/lib/libddvm-san.a        the same with ASan+UBSan, for the unit tests
#   build/bin/ddvm-*               examples (clients/examples/) and ddvm-tapbridge
#   build/lib/nbdkit-ddvm-plugin.so  the nbdkit plugin (when nbdkit-plugin-dev is installed)
#   build/newos/ddvm-newos.elf     the bare-metal client (multiboot, booted by qemu -kernel)

LIBDDVM_SRCS := clients/lib/chan.c clients/lib/net.c clients/lib/blk.c
LIBDDVM_HDRS := clients/lib/ddvm.h clients/lib/internal.h $(RING_HDRS)
LIBDDVM      := $(BUILD)/lib/libddvm.a
LIBDDVM_SAN  := $(BUILD)/lib/libddvm-san.a
LIBDDVM_CFLAGS := $(DDVM_CFLAGS) -Iclients/lib -Iclients/common

LIBDDVM_OBJS     := $(patsubst clients/%.c,$(BUILD)/obj/clients/%.o,$(LIBDDVM_SRCS))
LIBDDVM_SAN_OBJS := $(patsubst clients/%.c,$(BUILD)/obj-san/clients/%.o,$(LIBDDVM_SRCS))

$(BUILD)/obj/clients/%.o: clients/%.c $(LIBDDVM_HDRS) $(wildcard clients/common/*.h)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(LIBDDVM_CFLAGS) -fPIC -c $< -o $@
$(BUILD)/obj-san/clients/%.o: clients/%.c $(LIBDDVM_HDRS) $(wildcard clients/common/*.h)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC SAN  $@")
	$(Q)$(CC) $(LIBDDVM_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# The archives carry the ring code too, so a user links just -lddvm.
$(LIBDDVM): $(LIBDDVM_OBJS) $(patsubst ring/%.c,$(BUILD)/obj/ring/%.o,$(RING_SRCS))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIBDDVM_SAN): $(LIBDDVM_SAN_OBJS) $(patsubst ring/%.c,$(BUILD)/obj-san/ring/%.o,$(RING_SRCS))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# --- examples and tools on top of the library -------------------------------------------
PONG_OBJ := $(BUILD)/obj/clients/common/pong.o
CLIENT_BINS := $(BUILD)/bin/ddvm-pong $(BUILD)/bin/ddvm-blkcheck $(BUILD)/bin/ddvm-tapbridge

$(BUILD)/bin/ddvm-pong: clients/examples/pong.c $(PONG_OBJ) $(LIBDDVM)
$(BUILD)/bin/ddvm-blkcheck: clients/examples/blkcheck.c $(LIBDDVM)
$(BUILD)/bin/ddvm-tapbridge: clients/tapbridge/tapbridge.c $(LIBDDVM)
$(CLIENT_BINS): $(LIBDDVM_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LIBDDVM_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LIBDDVM)

# --- nbdkit plugin (optional: needs nbdkit-plugin-dev) ----------------------------------
NBDKIT_PLUGIN := $(BUILD)/lib/nbdkit-ddvm-plugin.so
ifneq ($(wildcard /usr/include/nbdkit-plugin.h),)
$(NBDKIT_PLUGIN): clients/nbdkit/ddvm-plugin.c $(LIBDDVM) $(LIBDDVM_HDRS) clients/common/args.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LIBDDVM_CFLAGS) -fPIC -shared -o $@ $< $(LIBDDVM)
CLIENT_BINS += $(NBDKIT_PLUGIN)
endif

# --- unit tests -----------------------------------------------------------------------
LIBDDVM_UNIT := $(BUILD)/tests/unit/libddvm_san $(BUILD)/tests/unit/libddvm_pong_san
$(BUILD)/tests/unit/libddvm_san: tests/unit/test_libddvm.c $(LIBDDVM_SAN) $(SUP_SAN_OBJS) \
		$(LIBDDVM_HDRS) supervisor/ivshmem_server.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD SAN  $@")
	$(Q)$(CC) $(LIBDDVM_CFLAGS) $(SAN_FLAGS) -Isupervisor -o $@ $< $(LIBDDVM_SAN) \
		$(SUP_SAN_OBJS) $(SUP_LIBS) -lcmocka -lpthread
$(BUILD)/tests/unit/libddvm_pong_san: tests/unit/test_libddvm_pong.c clients/common/pong.c \
		clients/common/pong.h clients/common/args.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD SAN  $@")
	$(Q)$(CC) $(LIBDDVM_CFLAGS) $(SAN_FLAGS) -o $@ $< clients/common/pong.c -lcmocka

-include clients/newos/newos.mk

.PHONY: libddvm clients clients-tests
libddvm: $(LIBDDVM) $(LIBDDVM_SAN)
clients: libddvm $(CLIENT_BINS)
clients-tests: $(LIBDDVM_UNIT) $(BUILD)/tests/bin/spoof_frames

# A hostile host client of a net channel: hand-made frames (tests/vm/test_net_antispoof.sh)
$(BUILD)/tests/bin/spoof_frames: tests/vm/spoof_frames.c $(LIBDDVM) $(LIBDDVM_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LIBDDVM_CFLAGS) -o $@ $< $(LIBDDVM)
ALL_TARGETS += clients
CHECK_DEPS  += clients-tests
.SECONDARY: $(LIBDDVM_OBJS) $(LIBDDVM_SAN_OBJS)
