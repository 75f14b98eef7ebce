/* SPDX-License-Identifier: MIT */
/*
 * kvmlab's firmware: from the reset vector to the kernel's entry, in 32-bit
 * protected mode for a PVH kernel or in long mode for a Linux bzImage
 * (docs/boot.md, "Firmware boot").
 *
 * kvmlab maps this image, FW_ROM_SIZE bytes, read-only at the top of the
 * 4 GiB address space. A vCPU comes out of reset in real mode with CS
 * selector 0xF000 but CS *base* 0xFFFF0000 and IP 0xFFF0: its first fetch is
 * from 0xFFFFFFF0, the last 16 bytes of this image. Real mode code may run
 * anywhere in that 64 KiB segment as long as CS is not reloaded (a far jump
 * would make the base 0xF000 << 4 = 0xF0000, i.e. low memory, where nothing
 * of ours is), so the real-mode part below uses near jumps only, reaches its
 * data through %cs, and leaves real mode with a far jump straight into
 * 32-bit protected mode, whose flat CS reaches the ROM at its 32-bit address.
 *
 * The image is position-dependent but needs no linker: every address is a
 * difference of labels plus a constant, computed by the assembler.
 */
#include "devices/fw_port.h"

#define FW_ROM_SIZE 0x1000
#define ROM_BASE (0x100000000 - FW_ROM_SIZE) /* where kvmlab maps us */
#define RESET_CS_BASE 0xFFFF0000	     /* CS base at reset */
/* A label as an offset in the reset CS segment, and as a physical address. */
#define OFF16(l) ((l) - rom_start + (ROM_BASE - RESET_CS_BASE))
#define PHYS(l) ((l) - rom_start + ROM_BASE)

#define CODE_SEL 0x10 /* the selectors direct boot uses (Linux's __BOOT_CS/DS) */
#define DATA_SEL 0x18
#define COM1 0x3F8
#define DEBUG_EXIT 0xF4

	.section .text
rom_start:

/*
 * The GDT: flat 4 GiB code and data, base 0. Their "accessed" bits are set
 * already, because the CPU would otherwise write them when a selector is
 * loaded, and this is ROM: the write would leave the guest as an MMIO exit.
 */
	.balign 8
gdt:
	.quad 0
	.quad 0
	.quad 0x00CF9B000000FFFF /* 0x10: code, execute/read, accessed, 32-bit, 4 KiB granular */
	.quad 0x00CF93000000FFFF /* 0x18: data, read/write, accessed, 32-bit, 4 KiB granular */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long PHYS(gdt)

/* For long mode: the same, but 0x10 is a 64-bit code segment (L = 1, D = 0),
 * as Linux's 64-bit boot protocol wants __BOOT_CS. */
	.balign 8
gdt64:
	.quad 0
	.quad 0
	.quad 0x00AF9B000000FFFF /* 0x10: code, execute/read, accessed, 64-bit */
	.quad 0x00CF93000000FFFF /* 0x18: data, read/write, accessed */
gdt64_end:
gdt64_desc:
	.word gdt64_end - gdt64 - 1
	.long PHYS(gdt64)

msg_signature:
	.asciz "kvmlab firmware: no kvmlab port interface at 0x520\n"
msg_mode:
	.asciz "kvmlab firmware: kvmlab asks for a boot mode this firmware does not know\n"

/* --- real mode ------------------------------------------------------------ */
	.code16
start16:
	cli
	cld
	/* The GDT's 32-bit base, read through CS: DS's base is 0 at reset, so DS
	 * reaches only the first MiB. The operand size prefix (lgdtl) loads all
	 * 32 bits of the base. */
	lgdtl %cs:OFF16(gdt_desc)
	/* PE | ET, and caching on: reset left CD and NW set. Paging stays off. */
	movl $0x11, %eax
	movl %eax, %cr0
	/* A far jump with a 32-bit offset: loads CS from the GDT, and its base 0
	 * with EIP = the ROM address puts us in the 32-bit code below. */
	ljmpl $CODE_SEL, $PHYS(start32)

/* --- 32-bit protected mode ---------------------------------------------------- */
	.code32

/* %eax = item's low 32 bits, through the port interface; clobbers %edx. */
.macro fw_read item
	movw $FW_PORT_SEL, %dx
	movb $\item, %al
	outb %al, %dx
	movw $FW_PORT_DATA, %dx
	inl %dx, %eax
.endm

/* The flat data segment into every data segment register (same bytes in 32- and 64-bit code). */
.macro load_data_segments
	movl $DATA_SEL, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	movl %eax, %ss
.endm

start32:
	load_data_segments

	fw_read FW_ITEM_SIGNATURE
	movl $PHYS(msg_signature), %esi
	cmpl $FW_SIGNATURE, %eax
	jne fail
	fw_read FW_ITEM_BOOT_MODE
	cmpl $FW_MODE_LINUX64, %eax
	je linux64
	movl $PHYS(msg_mode), %esi
	cmpl $FW_MODE_PVH32, %eax
	jne fail

	/* PVH: %ebx = hvm_start_info, the rest of the state is what we are in. */
	fw_read FW_ITEM_EBX
	movl %eax, %ebx
	fw_read FW_ITEM_ENTRY
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	xorl %esp, %esp
	jmp *%eax

/*
 * Linux's 64-bit boot protocol: long mode, on the identity map of the first
 * 4 GiB kvmlab's loader built (it covers this ROM too), CS = 0x10, DS = 0x18,
 * %rsi = the zero page.
 */
linux64:
	fw_read FW_ITEM_CR3
	movl %eax, %cr3
	movl $0x20, %eax /* CR4.PAE: long mode's page tables are PAE's, widened */
	movl %eax, %cr4
	movl $0xC0000080, %ecx /* EFER */
	xorl %edx, %edx
	movl $0x100, %eax /* LME: long mode once paging is on */
	wrmsr
	/* PG | NE | ET | PE: paging on makes long mode active (EFER.LMA), but
	 * CS is still 32-bit: compatibility mode, until CS is reloaded. */
	movl $0x80000031, %eax
	movl %eax, %cr0
	lgdtl PHYS(gdt64_desc)
	ljmpl $CODE_SEL, $PHYS(start64)

	.code64
start64:
	load_data_segments
	fw_read FW_ITEM_RSI
	movl %eax, %esi /* a 32-bit move clears the upper half */
	fw_read FW_ITEM_ENTRY
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %edi, %edi
	xorl %ebp, %ebp
	xorl %esp, %esp
	jmp *%rax
	.code32

/* Print the message at %esi on COM1 and end the VM: status (0x7F << 1) | 1 = 255. */
fail:
	movw $COM1, %dx
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, %dx
	jmp 1b
2:	movw $DEBUG_EXIT, %dx
	movb $0x7F, %al
	outb %al, %dx
3:	hlt
	jmp 3b

/* --- the reset vector: 0xFFFFFFF0, 16 bytes before the end ------------------------ */
	.code16
	.org FW_ROM_SIZE - 16, 0xFF
reset:
	jmp start16
	.org FW_ROM_SIZE, 0xFF

	.section .note.GNU-stack, "", @progbits
