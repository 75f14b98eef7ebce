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
	mov	$stack_top, %esp
	push	%ebx		/* guest_main(start_info) */
	call	guest_main
	push	%eax
	call	guest_exit	/* does not return */

	.section .bss
	.balign 16
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
