#!/bin/sh
# Driver VM (diskvm) of examples/disks.ini: load the disk translation module. It binds
# to each channel, finds the channel's disk by the PCI function of its controller
# (/dev/disk/by-pci/BDF, which the image names as disks appear: SCSI, ATA and USB
# scans finish after boot, and the module waits for the disk) and serves it.
modprobe ddvm_blkback || echo "DDVM-LOAD-FAILED module=ddvm_blkback"
echo DDVM-SERVICES-UP
