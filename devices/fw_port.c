// SPDX-License-Identifier: MIT
/* The firmware port interface (devices/fw_port.h): a selector and a data port. */
#include "devices/fw_port.h"

void fw_port_init(struct fw_port *p, uint32_t boot_mode, uint64_t entry, uint64_t ebx,
		  uint32_t nr_cpus, uint64_t ram_below_4g)
{
	*p = (struct fw_port){ .item = {
		[FW_ITEM_SIGNATURE] = FW_SIGNATURE,
		[FW_ITEM_VERSION] = FW_VERSION,
		[FW_ITEM_BOOT_MODE] = boot_mode,
		[FW_ITEM_ENTRY] = entry,
		[FW_ITEM_EBX] = ebx,
		[FW_ITEM_NR_CPUS] = nr_cpus,
		[FW_ITEM_RAM_BELOW_4G] = ram_below_4g,
	} };
}

void fw_port_io(void *opaque, struct bus_access *a)
{
	struct fw_port *p = opaque;
	uint64_t v = 0;

	if (a->offset == 0) {
		/* The selector: writes choose an item, reads give the current one. */
		if (a->is_write) {
			p->selected = (uint8_t)bus_get(a);
			p->offset = 0;
		} else {
			bus_put(a, p->selected);
		}
		return;
	}
	if (a->offset != FW_PORT_DATA - FW_PORT_SEL) {
		/* 0x522-0x524 only as part of a wide data read */
		if (!a->is_write)
			bus_put(a, 0xFFFFFFFF);
		return;
	}
	if (a->is_write)
		return;
	if (p->selected < FW_NR_ITEMS && p->offset < 8)
		v = p->item[p->selected] >> (8 * p->offset);
	bus_put(a, v);
	p->offset += a->size;
	if (p->offset > 8)
		p->offset = 8;
}
