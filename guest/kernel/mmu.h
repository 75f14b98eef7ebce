/*
 * mmu.h - the kernel's address-space layout and x86_64 page-table bits.
 * Included from assembly too, so only #defines outside the C guard.
 *
 *   0x0000000000000000 - 0x00007FFFFFFFFFFF  user half: the running process (exec.c, syscall.c)
 *   0xFFFF800000000000 - ...                 direct map: virtual = physical + DIRECT_BASE
 *   0xFFFFFFFF80000000 - ...                 the kernel image: virtual = physical + KERNEL_BASE
 *
 * The kernel is loaded at physical 1 MiB, so its code runs at 0xFFFFFFFF80100000
 * (the top 2 GiB, where gcc's -mcmodel=kernel can reach every symbol with a
 * sign-extended 32-bit immediate).
 */
#ifndef KERNEL_MMU_H
#define KERNEL_MMU_H

#define KERNEL_BASE 0xFFFFFFFF80000000
#define DIRECT_BASE 0xFFFF800000000000
#define KERNEL_PHYS 0x100000

#define PAGE_SIZE 4096
#define PAGE_SHIFT 12
#define LARGE_PAGE_SIZE 0x200000 /* a 2 MiB page: a PD entry with PS */

/* Bits of a page-table entry (every level has the same layout for these). */
#define PTE_P 0x001   /* present */
#define PTE_W 0x002   /* writable */
#define PTE_U 0x004   /* user may access */
#define PTE_PWT 0x008 /* write-through */
#define PTE_PCD 0x010 /* cache disabled (device memory) */
#define PTE_A 0x020   /* accessed (set by the CPU) */
#define PTE_D 0x040   /* dirty (set by the CPU) */
#define PTE_PS 0x080  /* in a PDPT/PD entry: this entry maps a 1 GiB / 2 MiB page */
#define PTE_G 0x100   /* global: kept in the TLB across CR3 loads */
#define PTE_COW 0x200 /* ours (bits 9-11 are the OS's): copy-on-write, see vm_cow_fault */
#define PTE_NX 0x8000000000000000 /* no execute (needs EFER.NXE) */

/* Segment selectors of the GDT (gdt.c). The order of the user ones is what
 * sysret expects: STAR gives a base, user CS32 = base, SS = base+8, CS64 = base+16. */
#define SEG_KCODE 0x08
#define SEG_KDATA 0x10
#define SEG_UCODE32 0x18
#define SEG_UDATA 0x20
#define SEG_UCODE 0x28
#define SEG_TSS 0x30

#ifndef __ASSEMBLER__
#include "types.h"

#define PTE_ADDR(e) ((e) & 0x000FFFFFFFFFF000ul)
#define PX(level, va) (((u64)(va) >> (12 + 9 * (level))) & 511) /* level 3 = PML4 ... 0 = PT */

#define P2V(pa) ((void *)((u64)(pa) + DIRECT_BASE))
#define V2P(va) ((u64)(va) - DIRECT_BASE)
#define KV2P(va) ((u64)(va) - KERNEL_BASE) /* for symbols of the kernel image */

#define PGROUNDUP(a) (((u64)(a) + PAGE_SIZE - 1) & ~(u64)(PAGE_SIZE - 1))
#define PGROUNDDOWN(a) ((u64)(a) & ~(u64)(PAGE_SIZE - 1))

typedef u64 pte_t;
#endif

#endif
