/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_FW_PORT_H
#define KVMLAB_FW_PORT_H

/*
 * kvmlab's firmware port interface (docs/boot.md, "Firmware boot"): how the
 * firmware in firmware/fw.S learns from kvmlab how and where to enter the kernel.
 *
 * Two I/O ports: write an item number to the selector port (a byte or wider:
 * only the low byte counts), then read the item's value from the data port, 1,
 * 2 or 4 bytes at a time, little-endian; each read moves on by its size and
 * reads past the 8-byte value give 0. Selecting an item starts again at its
 * byte 0. Writes to the data port are ignored. Items kvmlab does not know
 * read 0.
 *
 * No lock: the firmware runs on the boot vCPU alone, before any other starts.
 * This header is included by the firmware's assembly too.
 */
#define FW_PORT_SEL 0x520
#define FW_PORT_DATA 0x521
#define FW_PORT_LEN 5 /* 0x520, and a 4-byte read at 0x521 */

#define FW_ITEM_SIGNATURE 0x00 /* "KVLB" (0x424C564B) */
#define FW_ITEM_VERSION 0x01   /* this interface's version: 1 */
#define FW_ITEM_BOOT_MODE 0x02 /* FW_MODE_* */
#define FW_ITEM_ENTRY 0x03     /* the kernel's entry point (physical) */
#define FW_ITEM_EBX 0x04       /* %ebx at entry: PVH's hvm_start_info address */
#define FW_ITEM_NR_CPUS 0x05   /* vCPUs */
#define FW_ITEM_RAM_BELOW_4G 0x06 /* bytes of guest RAM below 4 GiB (incl. the legacy hole) */
#define FW_ITEM_RSI 0x07       /* Linux64: %rsi at entry, the zero page (boot_params) */
#define FW_ITEM_CR3 0x08       /* Linux64: the identity map's PML4 kvmlab built */
#define FW_NR_ITEMS 0x09

#define FW_SIGNATURE 0x424C564B
#define FW_VERSION 1

#define FW_MODE_PVH32 1	  /* 32-bit protected mode, paging off, %ebx = start info */
#define FW_MODE_LINUX64 2 /* long mode on the PML4 at FW_ITEM_CR3, %rsi = boot_params */

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "vmm/bus.h"

struct fw_port {
	uint64_t item[FW_NR_ITEMS]; /* given at creation: the device knows nothing of the VM */
	uint8_t selected;
	unsigned offset; /* next byte of the selected item */
};

/* A device answering with these values; item[FW_ITEM_SIGNATURE] and VERSION are set here. */
void fw_port_init(struct fw_port *p, uint32_t boot_mode, uint64_t entry, uint64_t ebx,
		  uint32_t nr_cpus, uint64_t ram_below_4g);
static inline void fw_port_set(struct fw_port *p, unsigned item, uint64_t v)
{
	if (item < FW_NR_ITEMS)
		p->item[item] = v;
}
/* Bus callback for [FW_PORT_SEL, FW_PORT_SEL + FW_PORT_LEN); opaque is a struct fw_port. */
void fw_port_io(void *p, struct bus_access *a);
#endif

#endif
