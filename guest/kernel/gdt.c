/*
 * gdt.c - segments, the last of them. In 64-bit mode segmentation is mostly
 * off (bases 0, no limits), but the CPU still needs:
 *  - code segments, whose privilege level (DPL) *is* the CPU's ring, and whose
 *    L bit says 64-bit code;
 *  - data segments for SS (user mode's SS must be a ring-3 one);
 *  - a TSS: not for task switching any more, but it holds the stack pointers
 *    the CPU switches to on an interrupt: rsp0 (from user mode, used later by
 *    processes) and the IST stacks (a known-good stack for faults where the
 *    current one may be broken, like a double fault).
 */
#include "kernel.h"

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __attribute__((packed));

/* access byte: P=0x80, DPL<<5, S=0x10 (code/data), type; flags: G=8, D=4, L=2 */
#define SEG(access, flags) (((u64)(access) << 40) | ((u64)(flags) << 52) | 0x000F00000000FFFFul)

static struct tss tss;
static u8 ist_stack[2][8192] __attribute__((aligned(16))); /* IST1: #DF, IST2: NMI */
static u64 gdt[8] = {
	0,
	[SEG_KCODE / 8] = SEG(0x9A, 0xA),   /* ring 0 code, 64-bit (L) */
	[SEG_KDATA / 8] = SEG(0x92, 0xC),   /* ring 0 data */
	[SEG_UCODE32 / 8] = 0,              /* 32-bit user code: we have none */
	[SEG_UDATA / 8] = SEG(0xF2, 0xC),   /* ring 3 data */
	[SEG_UCODE / 8] = SEG(0xFA, 0xA),   /* ring 3 code, 64-bit */
	/* SEG_TSS: a 16-byte system descriptor, filled in below */
};

/* The stack the CPU switches to on an interrupt or exception from user mode:
 * the top of the running process's kernel stack (the scheduler sets it). */
void tss_set_rsp0(u64 rsp0) { tss.rsp[0] = rsp0; }

void gdt_init(void)
{
	u64 base = (u64)&tss, limit = sizeof(tss) - 1;
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) desc = { sizeof(gdt) - 1, (u64)gdt };

	tss.ist[0] = (u64)ist_stack[0] + sizeof(ist_stack[0]); /* IST1 */
	tss.ist[1] = (u64)ist_stack[1] + sizeof(ist_stack[1]); /* IST2 */
	tss.iomap_base = sizeof(tss); /* no I/O permission bitmap: user mode gets no ports */
	/* Type 9 = available 64-bit TSS, present. The base is split over the
	 * descriptor like in 1985, with its upper 32 bits in the second quad. */
	gdt[SEG_TSS / 8] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ul << 40) |
			   ((limit >> 16) << 48) | (((base >> 24) & 0xFF) << 56);
	gdt[SEG_TSS / 8 + 1] = base >> 32;

	__asm__ volatile("lgdt %0" : : "m"(desc));
	/* Reload CS with a far return (there is no far jump to an immediate in
	 * 64-bit mode), then the data segments, then the task register. */
	__asm__ volatile("pushq %0\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %1, %%ds\n\t"
			 "mov %1, %%es\n\t"
			 "mov %1, %%ss\n\t"
			 :
			 : "i"((u64)SEG_KCODE), "r"((u32)SEG_KDATA)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" : : "r"((u32)SEG_TSS));
}
