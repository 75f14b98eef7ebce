/* A few helpers for tiny freestanding test guests (32-bit, PVH-booted). */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdarg.h>
#include <stdint.h>

/* Version 1 of the PVH start info (see vmm/boot/pvh.c for the host side). */
struct start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct start_module {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define START_INFO_MAGIC 0x336ec578U

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Ports of the machine kvmlab builds. */
#define COM1 0x3F8
#define DEBUG_EXIT 0xF4
#define I8042_CMD 0x64
#define POST 0x80

void uart_init(void);
void uart_putc(char c);
int uart_getc(void);
void print(const char *fmt, ...);
void vprint(const char *fmt, va_list ap);
/* Reads up to CR/LF; keeps size - 1 bytes, returns how many came. */
uint32_t read_line(char *buf, int size);

void guest_exit(uint32_t code) __attribute__((noreturn));
void guest_reset(void) __attribute__((noreturn));

/* Command-line words: "flag" or "key=value". */
void cmdline_set(const char *cmdline);
int cmdline_has(const char *word);
const char *cmdline_get(const char *key); /* value up to the next space */
uint32_t parse_uint(const char *s);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

#endif
