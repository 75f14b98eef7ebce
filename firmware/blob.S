/* The firmware image (build/firmware/fw.bin), built into kvmlab for --firmware. */
	.section .rodata
	.balign 4096
	.globl firmware_start, firmware_end
firmware_start:
	.incbin FIRMWARE_BIN
firmware_end:
	.section .note.GNU-stack, "", @progbits
