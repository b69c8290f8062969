/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * newos boot: a multiboot (v1) header and a 32-bit entry that builds an identity map of
 * the first 4 GiB with 2 MiB pages, turns on PAE + long mode + SSE, and jumps to the
 * 64-bit kmain(mbi). QEMU's -kernel loads multiboot ELF32 images only, so the 64-bit
 * link is turned into ELF32 with objcopy (newos.mk); this file's 32-bit part runs at
 * the physical addresses it was linked for (1 MiB, see newos.ld).
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.align 4096
	.globl pml4, pdpt0, pd_low
pml4:	.skip 4096
pdpt0:	.skip 4096
pd_low:	.skip 4 * 4096 /* 4 page directories: 0 - 4 GiB */
	.align 16
stack:	.skip 32768
stack_top:

	.section .rodata
	.align 8
gdt:	.quad 0
	.quad 0x00af9a000000ffff /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff /* 0x10: data */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .text
	.code32
	.globl _start
_start:
	cli
	movl $stack_top, %esp
	movl %ebx, %edi /* multiboot info: first argument of kmain */

	/* PML4[0] -> PDPT0; PDPT0[0..3] -> the four page directories */
	movl $pdpt0, %eax
	orl $3, %eax
	movl %eax, pml4
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $pd_low, %eax
	orl $3, %eax
	movl %eax, pdpt0(,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b
	/* 2048 x 2 MiB pages (present, writable, PS); entry i maps i * 2 MiB */
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, pd_low(,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax /* high half of the physical address: 0 below 4 GiB */
	movl %eax, pd_low+4(,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	movl %cr4, %eax
	orl $(1 << 5) | (1 << 9) | (1 << 10), %eax /* PAE, OSFXSR, OSXMMEXCPT */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx /* EFER */
	rdmsr
	orl $(1 << 8), %eax /* LME */
	wrmsr
	movl %cr0, %eax
	andl $~(1 << 2), %eax /* EM off: SSE for the compiler's memcpy */
	orl $(1 << 31) | (1 << 1), %eax /* PG, MP */
	movl %eax, %cr0
	lgdt gdt_ptr
	ljmp $0x08, $long_mode

	.code64
long_mode:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $stack_top, %rsp
	call kmain
3:	cli
	hlt
	jmp 3b
	.section .note.GNU-stack, "", @progbits
