# packaging/: ddvm as packages and installed files (docs/clients.md).
#
#   make deb    build/deb/ddvm-dkms_VERSION_all.deb: the client drivers as DKMS
#               sources (/usr/src/ddvm-VERSION), built by dkms on the client for its
#               kernels and loaded by udev when a ddvm channel's PCI device appears
DDVM_VERSION ?= 0.1.0
DEB_DIR      := $(BUILD)/deb
DEB_ROOT     := $(DEB_DIR)/ddvm-dkms
DEB_FILE     := $(DEB_DIR)/ddvm-dkms_$(DDVM_VERSION)_all.deb
DKMS_SRCS    := $(filter-out %.mod.c,$(wildcard include/ddvm/*.h ring/*.[ch] guest/*.[ch]) \
                $(foreach d,$(CLIENT_VM_DIRS),$(wildcard $(d)/*.[ch] $(d)/Kbuild)))

.PHONY: deb
deb: $(DEB_FILE)

$(DEB_FILE): $(DKMS_SRCS) $(wildcard packaging/dkms/* packaging/deb/*) packaging/packaging.mk
	@echo "  DEB     $@"
	$(Q)rm -rf $(DEB_ROOT) && mkdir -p $(DEB_ROOT)/DEBIAN
	$(Q)src=$(DEB_ROOT)/usr/src/ddvm-$(DDVM_VERSION) && mkdir -p $$src && \
		for f in $(DKMS_SRCS); do install -D -m 644 $$f $$src/$$f; done && \
		install -m 644 packaging/dkms/Kbuild $$src/Kbuild && \
		sed 's/@VERSION@/$(DDVM_VERSION)/g' packaging/dkms/dkms.conf >$$src/dkms.conf
	$(Q)sed 's/@VERSION@/$(DDVM_VERSION)/g' packaging/deb/control >$(DEB_ROOT)/DEBIAN/control
	$(Q)for s in postinst prerm; do \
		sed 's/@VERSION@/$(DDVM_VERSION)/g' packaging/deb/$$s >$(DEB_ROOT)/DEBIAN/$$s && \
		chmod 755 $(DEB_ROOT)/DEBIAN/$$s; done
	$(Q)dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $@ >/dev/null
CHECK_DEPS += deb

# --- make install ------------------------------------------------------------------
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]   (docs/install.md)
# Installs what `make` built; run `make` first (it needs no root, install may).
#   make uninstall, with the same variables: removes what install wrote (below)
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
LIBDIR        ?= $(PREFIX)/lib
INCLUDEDIR    ?= $(PREFIX)/include
DATADIR       ?= $(PREFIX)/share/ddvm
SYSCONFDIR    ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR       ?= $(PREFIX)/lib/systemd/system
# nbdkit finds a plugin by name (`nbdkit ddvm socket=...`) only in its own directory:
# the system's for PREFIX=/usr, else beside libddvm (give nbdkit the file's path)
_NBDKIT_SYSDIR := $(shell pkg-config --variable=plugindir nbdkit 2>/dev/null)
NBDKIT_PLUGINDIR ?= $(or $(if $(filter /usr,$(PREFIX)),$(_NBDKIT_SYSDIR)),$(LIBDIR)/nbdkit/plugins)
INSTALL_BINS  := $(BUILD)/bin/ddvm $(BUILD)/bin/ddvm-chan $(BUILD)/bin/ddvm-tapbridge \
                 $(BUILD)/bin/ddvm-blkcheck $(BUILD)/bin/ddvm-pong
INSTALL_DATA  := $(BUILD)/kernel/vmlinuz $(BUILD)/images/driver-vm.cpio.gz \
                 $(BUILD)/images/client-vm.cpio.gz
UNIT_SUBST    := -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
                 -e 's|@DATADIR@|$(DATADIR)|g'

.PHONY: install
install: $(DEB_FILE)
	@for f in $(INSTALL_BINS) $(INSTALL_DATA) $(BUILD)/lib/libddvm.a; do \
		test -e "$$f" || { echo "ddvm: $$f missing: run 'make' first"; exit 1; }; done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(UNITDIR)
	install -m 755 $(INSTALL_BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/lib/libddvm.a $(DESTDIR)$(LIBDIR)/
	if test -e $(NBDKIT_PLUGIN); then install -D -m 755 $(NBDKIT_PLUGIN) \
		$(DESTDIR)$(NBDKIT_PLUGINDIR)/nbdkit-ddvm-plugin.so; fi
	install -m 644 clients/lib/ddvm.h $(DESTDIR)$(INCLUDEDIR)/ddvm.h
	install -m 644 $(INSTALL_DATA) $(DESTDIR)$(DATADIR)/
	install -m 644 $(DEB_FILE) $(DESTDIR)$(DATADIR)/
	sed $(UNIT_SUBST) packaging/systemd/ddvm.ini >$(DESTDIR)$(DATADIR)/examples/ddvm.ini
	sed $(UNIT_SUBST) packaging/systemd/ddvm.service >$(DESTDIR)$(UNITDIR)/ddvm.service
	chmod 644 $(DESTDIR)$(DATADIR)/examples/ddvm.ini $(DESTDIR)$(UNITDIR)/ddvm.service

# Removes exactly the files install writes (the .deb by pattern: an install of another
# version wrote another name), then the directories this leaves empty, up to but not
# including PREFIX (rmdir refuses one that holds anything else; a directory set outside
# PREFIX is left as is). Keeps what is the user's: the setup, disk images, logs, caches.
# Repeatable: a second run finds nothing and succeeds.
.PHONY: uninstall
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_BINS))) \
		$(DESTDIR)$(LIBDIR)/libddvm.a $(DESTDIR)$(NBDKIT_PLUGINDIR)/nbdkit-ddvm-plugin.so \
		$(DESTDIR)$(INCLUDEDIR)/ddvm.h $(addprefix $(DESTDIR)$(DATADIR)/,$(notdir $(INSTALL_DATA))) \
		$(DESTDIR)$(DATADIR)/ddvm-dkms_*_all.deb $(DESTDIR)$(DATADIR)/examples/ddvm.ini \
		$(DESTDIR)$(UNITDIR)/ddvm.service
	@for d in $(DATADIR)/examples $(UNITDIR) $(NBDKIT_PLUGINDIR) $(BINDIR) $(INCLUDEDIR) \
			$(LIBDIR); do \
		while case "$$d" in "$(PREFIX)"/?*) true ;; *) false ;; esac; do \
			rmdir "$(DESTDIR)$$d" 2>/dev/null || true; d=$${d%/*}; done; done
	@echo "ddvm: uninstall kept what is yours: the setup $(DESTDIR)$(SYSCONFDIR)/ddvm, disk" \
		"images (/var/lib/ddvm), VM logs (/run/ddvm), caches (/var/cache/ddvm, ~/.cache/ddvm);" \
		"to remove them: rm -rf $(DESTDIR)$(SYSCONFDIR)/ddvm /var/lib/ddvm /run/ddvm" \
		"/var/cache/ddvm ~/.cache/ddvm"
