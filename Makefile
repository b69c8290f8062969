# ddvm — device drivers reused through virtual machines.
#
#   make            build user space, kernel modules and guest images
#   make check      install what the tests need, build, run every test
#   make demo       install, build, boot a driver VM and a client, show I/O through it
#   make format     clang-format the tree        make lint  format, shellcheck, doc refs
#   make fuzz       longer fuzzing runs          make bench-ring   ring microbenchmark
#   make V=1        verbose                      make WERROR=0     warnings not fatal
#   make deb        the client drivers as a Debian DKMS package (docs/clients.md)
#   make install    PREFIX=/usr/local DESTDIR=: binaries, images, systemd unit (docs/install.md)
#   make uninstall  the same PREFIX/DESTDIR: remove what install wrote; keeps your setup
#
# Each directory owns a fragment (*.mk) that adds to these lists.

.DEFAULT_GOAL := all
include mk/config.mk

ALL_TARGETS   :=
CHECK_DEPS    :=
CLEAN_FILES   :=

include ring/ring.mk
-include supervisor/supervisor.mk
-include driver-vm/driver-vm.mk
-include client-vm/client-vm.mk
-include tools/tools.mk
-include clients/clients.mk
-include images/images.mk
-include tests/tests.mk
-include bench/bench.mk
-include tests/campaign/campaign.mk
-include packaging/packaging.mk

.PHONY: all deps check demo clean format format-check lint help
all: $(ALL_TARGETS)

deps:
	$(Q)scripts/deps.sh

# The README's test command. deps first so a fresh machine needs nothing else.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory $(CHECK_DEPS)
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# The tree's C style is .clang-format's; make check runs both lint tests (tests/lint/).
format:
	$(Q)git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	$(Q)tests/run.sh lint/test_format

lint:
	$(Q)tests/run.sh lint/

clean:
	rm -rf $(BUILD) $(CLEAN_FILES)

help:
	@sed -n '2,13p' Makefile | sed 's/^# \{0,1\}//'
