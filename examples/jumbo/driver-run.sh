#!/bin/sh
# Driver VM (netvm) of examples/jumbo.ini: load the NIC translation module. The
# supervisor put ddvm_netback.nic_mtu=9000 on this VM's kernel command line (from the
# device's `mtu =`), which modprobe passes on: the module sets the e1000's MTU when it
# attaches, and announces it to the client.
modprobe ddvm_netback || echo "DDVM-LOAD-FAILED module=ddvm_netback"
echo DDVM-SERVICES-UP
