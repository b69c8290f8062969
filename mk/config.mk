# Shared build configuration. Every fragment includes this through the top Makefile.

BUILD     ?= $(CURDIR)/build
CC        ?= cc
CLANG     ?= clang
V         ?= 0
WERROR    ?= 1

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Explicit warning list (kvmtool style). WERROR=0 is the escape hatch.
WARNINGS  := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wpointer-arith -Wformat=2 -Wvla -Wno-unused-parameter
ifeq ($(WERROR),1)
WARNINGS  += -Werror
endif

CSTD      := -std=c11 -D_GNU_SOURCE
CFLAGS    ?= -O2 -g
DDVM_CFLAGS := $(CSTD) $(WARNINGS) $(CFLAGS) -I$(CURDIR)/include -I$(CURDIR)/ring
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer

# The guest kernel: the release Debian's linux-image-amd64 points to. Headers come
# from Debian's linux-headers package on the host, the image from the package archive
# (unpacked under build/, never installed into the host's /boot). See images/kernel.sh.
KREL      ?= $(shell $(CURDIR)/images/kernel.sh release 2>/dev/null)
KDIR      ?= /usr/src/linux-headers-$(KREL)
