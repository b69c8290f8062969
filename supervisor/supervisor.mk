# supervisor/: the host daemon as a library (libddvmsup.a) and the `ddvm` command.

SUP_DIR      := $(BUILD)/supervisor
SUP_LIB_SRCS := supervisor/log.c supervisor/ivshmem_server.c supervisor/config.c supervisor/config_check.c supervisor/config_antispoof.c \
                supervisor/qmp.c supervisor/vm.c supervisor/vm_kill.c supervisor/channel.c supervisor/counters.c \
                supervisor/vm_state.c supervisor/cpu_wait.c supervisor/tap.c supervisor/accel.c supervisor/health.c supervisor/storage.c supervisor/image_lock.c supervisor/snapshot.c supervisor/spare.c supervisor/startup.c supervisor/inject.c supervisor/control.c supervisor/supervisor.c
SUP_LIB_OBJS := $(patsubst supervisor/%.c,$(SUP_DIR)/%.o,$(SUP_LIB_SRCS))
SUP_LIB      := $(SUP_DIR)/libddvmsup.a
SUP_LIBS     := -linih -ljansson -lsystemd
DDVM_BIN     := $(BUILD)/bin/ddvm

# Pure-logic parts also built with ASan/UBSan for the unit tests.
SUP_SAN_SRCS := supervisor/log.c supervisor/ivshmem_server.c supervisor/config.c supervisor/config_check.c supervisor/config_antispoof.c \
                supervisor/counters.c supervisor/cpu_wait.c
SUP_SAN_OBJS := $(patsubst supervisor/%.c,$(SUP_DIR)/san/%.o,$(SUP_SAN_SRCS))

SUP_UNIT     := $(patsubst %,$(BUILD)/tests/unit/supervisor_%,ivshmem config vm_argv vm_state counters cpu_wait logs \
                ivshmem_san config_san counters_san cpu_wait_san)

ALL_TARGETS  += $(DDVM_BIN)
CHECK_DEPS   += supervisor-tests

# every object also depends on the wire ABI (include/ddvm/) and the ring code
$(SUP_DIR)/%.o: supervisor/%.c supervisor/*.h $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(DDVM_CFLAGS) -c -o $@ $<

$(SUP_DIR)/san/%.o: supervisor/%.c supervisor/*.h $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC SAN  $@")
	$(Q)$(CC) $(DDVM_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(SUP_LIB): $(SUP_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(DDVM_BIN): supervisor/main.c $(SUP_LIB) $(RING_LIB) supervisor/*.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(DDVM_CFLAGS) -o $@ supervisor/main.c $(SUP_LIB) $(RING_LIB) $(SUP_LIBS)

$(BUILD)/tests/unit/supervisor_%: tests/unit/supervisor_%.c $(SUP_LIB) $(RING_LIB) supervisor/*.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(DDVM_CFLAGS) -Isupervisor -o $@ $< $(SUP_LIB) $(RING_LIB) $(SUP_LIBS) -lcmocka -lpthread

$(BUILD)/tests/unit/supervisor_%_san: tests/unit/supervisor_%.c $(SUP_SAN_OBJS) supervisor/*.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD SAN  $@")
	$(Q)$(CC) $(DDVM_CFLAGS) $(SAN_FLAGS) -Isupervisor -o $@ $< $(SUP_SAN_OBJS) $(SUP_LIBS) -lcmocka -lpthread

.PHONY: supervisor supervisor-tests
supervisor: $(DDVM_BIN)
supervisor-tests: $(SUP_UNIT)

# Keep the sanitizer objects: they are only prerequisites of pattern rules.
.SECONDARY: $(SUP_SAN_OBJS) $(SUP_LIB_OBJS)

# A host-side ivshmem peer for the VM tests (tests/vm/test_supervisor_*.sh).
SUP_PEER := $(BUILD)/tests/bin/supervisor_peer
$(SUP_PEER): tests/vm/supervisor_peer.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(DDVM_CFLAGS) -o $@ $<
supervisor-tests: $(SUP_PEER)
