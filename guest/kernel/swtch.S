/*
 * swtch.S - the two places where the kernel changes stacks on purpose.
 *
 * swtch(u64 *save, u64 next): the context switch. Save the registers the C
 * calling convention says a callee must preserve (rbx, rbp, r12-r15) on the
 * current kernel stack, store that stack pointer in *save, load `next` (a
 * stack saved the same way), pop its registers and return: into whatever
 * called swtch on that stack, long ago. The caller-saved registers need no
 * saving: the compiler already assumes swtch clobbers them.
 *
 * syscall_entry: where the `syscall` instruction lands (MSR LSTAR). The CPU
 * has put the user's rip in rcx and rflags in r11, loaded the kernel's CS
 * and SS from MSR STAR and cleared IF (MSR FMASK) - but it has NOT switched
 * stacks: rsp is still the user's. We save it and switch to the process's
 * kernel stack (syscall_rsp0; one CPU, interrupts off, so a global is safe:
 * with several CPUs this would be a per-CPU variable reached through swapgs),
 * then build the same struct trapframe an interrupt gives, so syscall() and
 * trap() see user registers the same way.
 */
#include "trapframe.inc"
	.text
	.globl swtch
swtch:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, (%rdi)
	mov	%rsi, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret

	.globl syscall_entry
syscall_entry:
	mov	%rsp, syscall_user_rsp(%rip)
	mov	syscall_rsp0(%rip), %rsp
	pushq	$0x23			/* ss: SEG_UDATA | 3 */
	pushq	syscall_user_rsp(%rip)	/* rsp */
	push	%r11			/* rflags */
	pushq	$0x2b			/* cs: SEG_UCODE | 3 */
	push	%rcx			/* rip */
	push	%rax			/* "error code": the number, to restart it (signal.c) */
	pushq	$256			/* "vector": T_SYSCALL */
	PUSH_REGS
	mov	%rsp, %rdi		/* syscall(struct trapframe *) */
	cld
	call	syscall
	mov	%rsp, %rdi		/* a pending signal: act on it now (signal.c) */
	call	signal_deliver
	cmpq	$256, 120(%rsp)		/* rt_sigreturn: every register back, by iretq */
	jne	trapret
	/* Return with sysret: rip from rcx, rflags from r11 (so IF comes back
	 * on), CS and SS from STAR + 16 and + 8 with RPL 3. The trapframe may
	 * have been changed (execve: a new rip and rsp), so take them from it. */
	POP_REGS
	mov	16(%rsp), %rcx		/* rip (after vector, err) */
	mov	32(%rsp), %r11		/* rflags */
	mov	40(%rsp), %rsp		/* the user's stack: from here no kernel stack */
	sysretq

	.bss
	.balign 8
syscall_user_rsp:
	.quad	0

	.section .note.GNU-stack, "", @progbits
