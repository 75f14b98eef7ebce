/*
 * The guest kvmlab boots when no kernel is given, built into the binary: the
 * teaching kernel (guest/kernel/) and its initramfs (scripts/initramfs.sh:
 * /bin/sh and the book's experiments), used unless --initrd names another.
 */
	.section .rodata
	.balign 16
	.globl default_guest_start, default_guest_end
default_guest_start:
	.incbin DEFAULT_GUEST
default_guest_end:

	.balign 16
	.globl default_initrd_start, default_initrd_end
default_initrd_start:
	.incbin DEFAULT_INITRD
default_initrd_end:
	.section .note.GNU-stack, "", @progbits
