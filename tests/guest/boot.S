/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multiboot v1 entry.  QEMU's -kernel loads this 32-bit ELF and jumps to
 * _start in flat protected mode, paging off, with EAX = 0x2badb002 and
 * EBX = the multiboot information.  The loader's GDT may be anywhere, so
 * load our own before touching a segment register.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0		/* ELF load, no memory map wanted */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	cld
	movl	%eax, %esi		/* for guest_main(), past bss clear */
	lgdt	gdt_desc
	ljmp	$0x08, $1f
1:	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %fs
	movl	%eax, %gs
	movl	%eax, %ss
	movl	$__bss_start, %edi	/* clear bss before using its stack */
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	movl	$stack_top, %esp
	pushl	%ebx
	pushl	%esi
	call	guest_main
2:	cli
	hlt
	jmp	2b

	.section .rodata
	.balign 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: code, base 0, 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff	/* 0x10: data, base 0, 4 GiB */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.bss
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
