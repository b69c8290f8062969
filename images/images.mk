# images/: the guest kernel (Debian's stock linux-image, unpacked under build/kernel/)
# and the busybox initramfs images of the driver VM and the client VM.
#
#   make images    kernel fetch + build/images/{driver-vm,client-vm}.cpio.gz
#
# Both steps are always run and decide for themselves: kernel.sh fetch skips when the
# release is already unpacked, build-initramfs.sh hashes its inputs (script, init,
# busybox, tools, and the ddvm modules in build/modules/ROLE/*.ko) and repacks only when
# one changed. So a module rebuilt by another fragment is picked up on the next make.
# KMOD_STAMPS (driver-vm/driver-vm.mk) orders the module builds before the images.

IMAGES_KERNEL := $(BUILD)/kernel/vmlinuz
IMAGES_INITRDS := $(BUILD)/images/driver-vm.cpio.gz $(BUILD)/images/client-vm.cpio.gz

.PHONY: images images-kernel images-force
images: $(IMAGES_INITRDS)

images-kernel:
	$(Q)BUILD=$(BUILD) images/kernel.sh fetch

$(BUILD)/images/%.cpio.gz: images-kernel $(KMOD_STAMPS) images-force
	$(Q)BUILD=$(BUILD) images/build-initramfs.sh $*

ALL_TARGETS += images
