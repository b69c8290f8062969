# driver-vm/: translation modules, one Kbuild directory per service (net/, blk/, ...).
# Built against Debian's headers for the guest kernel (KDIR, see mk/config.mk) and
# collected into build/modules/driver-vm/ for the driver-VM image.
DRIVER_VM_DIRS := $(patsubst %/Kbuild,%,$(wildcard driver-vm/*/Kbuild))
CLIENT_VM_DIRS := $(patsubst %/Kbuild,%,$(wildcard client-vm/*/Kbuild))
KMOD_SRCS := $(wildcard ring/*.[ch] include/ddvm/*.h guest/*.[ch])

KBUILD_FLAGS := KCFLAGS="-Werror" DDVM_ROOT=$(CURDIR)
ifeq ($(V),1)
KBUILD_FLAGS += V=1
endif

define kmod_rules
$(BUILD)/modules/$(1).stamp: $(wildcard $(1)/*.[ch] $(1)/Kbuild) $(KMOD_SRCS)
	@test -d "$(KDIR)" || { echo "ddvm: kernel headers $(KDIR) missing: run 'make deps' (installs linux-headers-amd64)"; exit 1; }
	@echo "  KMOD    $(1)"
	$(Q)$$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR)/$(1) $(KBUILD_FLAGS) modules $(if $(filter 1,$(V)),,>/dev/null)
	@mkdir -p $(BUILD)/modules/$(firstword $(subst /, ,$(1)))
	$(Q)cp $(CURDIR)/$(1)/*.ko $(BUILD)/modules/$(firstword $(subst /, ,$(1)))/
	@touch $$@
endef
$(foreach d,$(DRIVER_VM_DIRS) $(CLIENT_VM_DIRS),$(eval $(call kmod_rules,$(d))))

KMOD_STAMPS := $(patsubst %,$(BUILD)/modules/%.stamp,$(DRIVER_VM_DIRS) $(CLIENT_VM_DIRS))

.PHONY: modules
modules: $(KMOD_STAMPS)
ALL_TARGETS := modules $(ALL_TARGETS)

clean-modules:
	$(Q)for d in $(DRIVER_VM_DIRS) $(CLIENT_VM_DIRS); do \
		$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR)/$$d clean >/dev/null; done
