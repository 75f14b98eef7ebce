/*
 * boot.S - from the PVH entry (32-bit protected mode, paging off) to C in
 * 64-bit long mode, with the kernel running in the higher half.
 *
 * What kvmlab hands us (the PVH ABI, docs/boot.md): flat 32-bit segments,
 * paging off, interrupts off, %ebx = physical address of the hvm_start_info.
 * What kmain() wants: 64-bit mode, a stack, the kernel at 0xFFFFFFFF8xxxxxxx.
 *
 * The x86 has no instruction "go to long mode". Long mode is entered by
 * turning paging on while EFER.LME is set, and 64-bit paging needs PAE page
 * tables in place first. So the order is forced:
 *   1. page tables  2. CR4.PAE  3. CR3  4. EFER.LME  5. CR0.PG
 * after which the CPU is in "compatibility mode" (long mode, but still
 * running 32-bit code because CS is a 32-bit segment); a far jump to a code
 * segment with the L bit set is the last step into 64-bit mode.
 *
 * This file runs at its physical address (it is linked low, in .boot.*),
 * since nothing is mapped anywhere else until step 5.
 */
#include "mmu.h"

#define CR0_PG 0x80000000
#define CR0_WP 0x00010000 /* the kernel too respects read-only pages */
#define CR4_PAE 0x20
#define EFER_LME 0x100
#define EXIT_NO_LONG_MODE 3 /* = EXIT_PANIC in kernel.h */

/*
 * The PVH note: "enter this kernel in 32-bit mode at this physical address".
 * kvmlab (like QEMU and Xen) looks for it in the ELF's PT_NOTE segment.
 */
	.section .note.Xen, "a"
	.balign 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size: a 32-bit address */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .boot.text, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov	%ebx, %esi		/* keep the start info: kmain's first argument */

	/* Our own GDT first: the segments kvmlab loaded come from a table we
	 * know nothing about, and the far jump below needs a 64-bit one. */
	lgdt	boot_gdt_desc
	ljmp	$0x18, $1f		/* reload CS: our 32-bit code segment */
1:	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss

	/* Can this CPU do long mode at all? CPUID 0x80000001, EDX bit 29. */
	mov	$0x80000000, %eax
	cpuid
	cmp	$0x80000001, %eax
	jb	no_long_mode
	mov	$0x80000001, %eax
	cpuid
	test	$(1 << 29), %edx
	jz	no_long_mode

	/*
	 * 1. Early page tables. Four pages (zeroed by the ELF loader: .boot.bss):
	 *   boot_pd       512 entries of 2 MiB pages = physical 0 .. 1 GiB
	 *   boot_pdpt_lo  entry 0 -> boot_pd: virtual 0 .. 1 GiB
	 *   boot_pdpt_hi  entry 510 -> boot_pd: virtual 0xFFFFFFFF80000000 .. +1 GiB
	 *   boot_pml4     entry 0   -> boot_pdpt_lo (identity map: this code keeps
	 *                              running at the instant paging turns on)
	 *                 entry 256 -> boot_pdpt_lo (the direct map, 0xFFFF800000000000)
	 *                 entry 511 -> boot_pdpt_hi (the kernel image)
	 * One PD serves three windows onto the same first GiB. vm.c replaces all
	 * of this with the real tables as soon as C runs.
	 */
	mov	$boot_pd, %edi
	mov	$(PTE_P | PTE_W | PTE_PS), %eax	/* 2 MiB page at physical 0 */
	mov	$512, %ecx
2:	mov	%eax, (%edi)		/* low half of the entry; the high half stays 0 */
	add	$LARGE_PAGE_SIZE, %eax
	add	$8, %edi
	loop	2b
	movl	$(boot_pd + PTE_P + PTE_W), boot_pdpt_lo
	movl	$(boot_pd + PTE_P + PTE_W), boot_pdpt_hi + 510 * 8
	movl	$(boot_pdpt_lo + PTE_P + PTE_W), boot_pml4
	movl	$(boot_pdpt_lo + PTE_P + PTE_W), boot_pml4 + 256 * 8
	movl	$(boot_pdpt_hi + PTE_P + PTE_W), boot_pml4 + 511 * 8

	/* 2. PAE: 64-bit page-table entries (required by long mode). */
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4

	/* 3. CR3: the physical address of the top-level table. */
	mov	$boot_pml4, %eax
	mov	%eax, %cr3

	/* 4. EFER.LME: "when paging is turned on, turn long mode on". */
	mov	$0xC0000080, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr

	/* 5. Paging on. The CPU is now in long mode (EFER.LMA = 1), but in
	 * compatibility mode: CS is still our 32-bit segment. */
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_WP), %eax
	mov	%eax, %cr0

	/* 6. A far jump to the 64-bit code segment (L = 1) enters 64-bit mode. */
	ljmp	$0x08, $long_mode

no_long_mode:
	mov	$no_lm_msg, %esi
3:	lodsb
	test	%al, %al
	jz	4f
	mov	$0x3F8, %dx
	outb	%al, %dx
	jmp	3b
4:	mov	$EXIT_NO_LONG_MODE, %al
	mov	$0x501, %dx
	outb	%al, %dx
	mov	$0xF4, %dx
	outb	%al, %dx
5:	hlt
	jmp	5b

	.code64
long_mode:
	/* 64-bit mode, still at the low (identity-mapped) address. Data
	 * segments hardly matter in long mode (base 0, no limit), but must hold
	 * valid selectors. */
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	/* 7. Jump up into the higher half, where the kernel was linked. An
	 * absolute 64-bit address has to go through a register. */
	movabs	$boot_stack_top, %rsp
	movabs	$higher_half, %rax
	jmp	*%rax

	.section .boot.data, "aw"
	.balign 8
boot_gdt:
	.quad 0				/* 0x00: null */
	.quad 0x00AF9A000000FFFF	/* 0x08: code, 64-bit (L=1, D=0) */
	.quad 0x00CF92000000FFFF	/* 0x10: data */
	.quad 0x00CF9A000000FFFF	/* 0x18: code, 32-bit (D=1) */
boot_gdt_end:
boot_gdt_desc:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt
no_lm_msg:
	.asciz "kvmlab kernel: this CPU has no long mode (x86_64)\r\n"

	.section .boot.bss, "aw", @nobits
	.balign PAGE_SIZE
boot_pml4:	.skip PAGE_SIZE
boot_pdpt_lo:	.skip PAGE_SIZE
boot_pdpt_hi:	.skip PAGE_SIZE
boot_pd:	.skip PAGE_SIZE

/* From here on: linked in the higher half like the rest of the kernel. */
	.text
higher_half:
	mov	%esi, %edi		/* kmain(start_info physical address) */
	xor	%ebp, %ebp		/* the end of the frame-pointer chain */
	call	kmain
6:	cli
	hlt
	jmp	6b

	.bss
	.balign 16
	.globl boot_stack, boot_stack_top
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
