# client-vm/: client drivers; built by the rules in driver-vm/driver-vm.mk
# (one Kbuild directory per service: net/, blk/, ...).
