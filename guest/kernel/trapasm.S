/*
 * trapasm.S - the first instructions of every interrupt and exception.
 *
 * The CPU pushes SS, RSP, RFLAGS, CS, RIP (and, for some exceptions, an
 * error code) and jumps to the IDT's handler. Each vector's stub makes the
 * stack look the same for all of them: an error code (0 when the CPU pushed
 * none), the vector number; then alltraps saves the general registers, and
 * the result is a struct trapframe (kernel.h) that C can read and change.
 */
#include "trapframe.inc"
	.text

/* Exceptions with an error code: 8 (#DF), 10-14, 17 (#AC), 21 (#CP), 29, 30. */
.macro VEC num
	.balign 16
vector\num:
	.if (\num == 8) || (\num >= 10 && \num <= 14) || (\num == 17) || (\num == 21) || (\num == 29) || (\num == 30)
	.else
	pushq	$0
	.endif
	pushq	$\num
	jmp	alltraps
.endm

	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,255,36
	VEC \n
	.endr

alltraps:
	PUSH_REGS
	mov	%rsp, %rdi		/* trap(struct trapframe *) */
	cld
	call	trap
	mov	%rsp, %rdi		/* back to user mode: a pending signal first (signal.c) */
	call	signal_deliver
/* Back to where the trap came from. A new process starts here too: its
 * kernel stack holds a trapframe that "returns" to user mode (proc.c). */
	.globl trapret
trapret:
	mov	%rsp, %rdi		/* trap_return(tf): CPU-time accounting (sched.c) */
	call	trap_return
	POP_REGS
	add	$16, %rsp		/* the vector number and error code */
	iretq

/* The stubs' addresses, for trap_init: vectors 0-31, then 32, 255, 36 (COM1). */
	.section .rodata
	.balign 8
	.globl trap_vectors
trap_vectors:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,255,36
	.quad vector\n
	.endr

	.section .note.GNU-stack, "", @progbits
