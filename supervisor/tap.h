/* SPDX-License-Identifier: BSD-2-Clause */
/* Tap back-ends of a driver VM's NICs: their MTU and bridge, set outside QEMU. */
#ifndef DDVM_TAP_H
#define DDVM_TAP_H

struct vm;

/* Set the MTU of VM's taps, join them to their bridges, bring them up. Once per
 * incarnation, when the VM is running (vm_state.c). Returns 0 or the last -errno. */
int tap__setup(struct vm *vm);

#endif /* DDVM_TAP_H */
