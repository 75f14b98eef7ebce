/*
 * Entry of a PVH test guest. The note below tells the loader where to start
 * us; we arrive in flat 32-bit protected mode, paging off, interrupts off,
 * with %ebx holding the physical address of the hvm_start_info.
 */
	.section .note.Xen, "a"
	.balign 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size: a 32-bit address */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cld
	/* PVH gives us loaded segment registers but no GDT of ours: install one
	 * with the same selectors before anything (an interrupt) reloads CS. */
	lgdt	gdt_desc
	ljmp	$0x10, $1f
1:	mov	$0x18, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%eax, %ss
	mov	$stack_top, %esp
	push	%ebx		/* guest_main(start_info) */
	call	guest_main
	push	%eax
	call	guest_exit	/* does not return */

	.section .rodata
	.balign 8
gdt:
	.quad 0				/* null */
	.quad 0				/* unused */
	.quad 0x00CF9A000000FFFF	/* 0x10: code, 32-bit, flat */
	.quad 0x00CF92000000FFFF	/* 0x18: data, 32-bit, flat */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.balign 16
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
