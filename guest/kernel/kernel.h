/*
 * kernel.h - what the kernel's files offer each other.
 */
#ifndef KERNEL_KERNEL_H
#define KERNEL_KERNEL_H

#include "types.h"
#include "mmu.h"

#define KERNEL_NAME "kvmlab teaching kernel"
#define KERNEL_VERSION "0.1"

/* Exit statuses of the VM (what kvmlab exits with, see kexit()). */
#define EXIT_OK 0
#define EXIT_SELFTEST_FAILED 1
#define EXIT_OOPS 2  /* an exception in the kernel */
#define EXIT_PANIC 3 /* a kernel bug caught by a check */

/* console.c */
void console_init(void);
void console_putc(char c);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void kexit(int status) __attribute__((noreturn));

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
/* The command line: cmdline_has("word") and cmdline_get("key=") -> value or NULL. */
#define CMDLINE_MAX 1024
extern char cmdline[CMDLINE_MAX];
bool cmdline_word(const char *key, const char *value);
const char *cmdline_get(const char *key);
u64 cmdline_num(const char *key, u64 dflt);

/* bootinfo (main.c): the memory map kvmlab gave us, copied out of low memory. */
#define E820_RAM 1
#define MAX_MEMMAP 64
struct memrange {
	u64 addr, size;
	u32 type;
};
extern struct memrange memmap[MAX_MEMMAP];
extern int nmemmap;
struct module {
	u64 addr, size;
};
extern struct module modules[4];
extern int nmodules;

/* pmm.c */
void pmm_early_init(void);
void pmm_init(void);
void *boot_alloc(u64 size);
void *kalloc(void);  /* one page, contents undefined; NULL when none is left */
void *kzalloc(void); /* one zeroed page */
void kfree(void *page);
void page_ref_inc(u64 pa);
u32 page_ref(u64 pa);
u64 pmm_free_pages(void);
u64 pmm_usable_bytes(void);
u64 pmm_top(void);
void *kmalloc(size_t n);
void kmfree(void *p);

/* vm.c */
extern pte_t *kernel_pml4;
extern u64 pte_nx;
void cpu_features(void);
void vm_init(void);
pte_t *vm_walk(pte_t *pml4, u64 va, bool create);
int vm_map(pte_t *pml4, u64 va, u64 pa, u64 size, u64 flags);
void vm_unmap(pte_t *pml4, u64 va, u64 size, bool free_frames);
pte_t *vm_create(void);
void vm_destroy(pte_t *pml4);
extern bool cpu_has_nx, cpu_has_smep, cpu_has_smap;

/* gdt.c */
void gdt_init(void);

/* trap.c */
struct trapframe {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rdi, rsi, rbp, rdx, rcx, rbx, rax;
	u64 vector, err;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
void trap_init(void);
void trap(struct trapframe *tf);
#define T_TIMER 32
#define T_SPURIOUS 255

/* kvmclock.c */
bool kvmclock_init(void);
u64 kvmclock_ns(void);

/* lapic.c */
extern volatile u64 ticks;
extern u64 tsc_hz, lapic_hz;
extern const char *lapic_calibrated_by;
extern u32 tick_ms;
void lapic_init(void);
void lapic_eoi(void);
void lapic_timer_start(u32 ms);

#endif
