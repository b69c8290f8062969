# tools/: small host tools (ddvm-chan: serve one channel without the supervisor).
DDVM_CHAN := $(BUILD)/bin/ddvm-chan
$(DDVM_CHAN): tools/ddvm-chan.c $(RING_LIB) $(SUP_LIB) $(RING_HDRS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(DDVM_CFLAGS) -Isupervisor -o $@ $< $(SUP_LIB) $(RING_LIB)
ALL_TARGETS += $(DDVM_CHAN)
