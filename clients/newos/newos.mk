# clients/newos: the bare-metal client (see clients/newos/main.c, docs/porting.md).
# 64-bit C with a 32-bit multiboot entry (boot.S); QEMU's -kernel wants ELF32, so the
# final image is objcopy'd to elf32-i386. Links the freestanding ring objects that
# ring/ring.mk builds (build/freestanding/ring.o, region.o) — the same ring code as
# every other side. Needs nothing beyond gcc and binutils (no multilib: no 32-bit C).
NEWOS_DIR    := $(BUILD)/newos
NEWOS_ELF    := $(NEWOS_DIR)/ddvm-newos.elf
NEWOS_CFLAGS := -std=c11 $(WARNINGS) -O2 -ffreestanding -nostdlib -fno-builtin -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -fno-asynchronous-unwind-tables -mcmodel=small \
	-I$(CURDIR)/include -I$(CURDIR)/ring -I$(CURDIR)/clients/common -I$(CURDIR)/clients/newos
NEWOS_OBJS   := $(NEWOS_DIR)/boot.o $(NEWOS_DIR)/main.o $(NEWOS_DIR)/console.o \
	$(NEWOS_DIR)/pci.o $(NEWOS_DIR)/pong.o

$(NEWOS_DIR)/%.o: clients/newos/%.c clients/newos/newos.h $(RING_HDRS) clients/common/pong.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC NEW  $@")
	$(Q)$(CC) $(NEWOS_CFLAGS) -c $< -o $@
$(NEWOS_DIR)/pong.o: clients/common/pong.c clients/common/pong.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(NEWOS_CFLAGS) -c $< -o $@
$(NEWOS_DIR)/boot.o: clients/newos/boot.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c $< -o $@
$(NEWOS_ELF): $(NEWOS_OBJS) $(RING_FREESTANDING) clients/newos/newos.ld
	$(if $(Q),@echo "  LD NEW  $@")
	$(Q)$(LD) -nostdlib -z max-page-size=0x1000 --no-warn-rwx-segments -T clients/newos/newos.ld -o $@.64 \
		$(NEWOS_OBJS) $(RING_FREESTANDING)
	$(Q)objcopy -O elf32-i386 $@.64 $@

.PHONY: newos
newos: $(NEWOS_ELF)
ALL_TARGETS += newos
