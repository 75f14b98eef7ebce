/* The guest kvmlab boots when no kernel is given, built into the binary. */
	.section .rodata
	.balign 16
	.globl default_guest_start, default_guest_end
default_guest_start:
	.incbin DEFAULT_GUEST
default_guest_end:
	.section .note.GNU-stack, "", @progbits
