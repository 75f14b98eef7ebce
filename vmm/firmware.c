// SPDX-License-Identifier: MIT
/*
 * --firmware: the ROM at the top of 4 GiB and the port interface the firmware
 * reads (docs/boot.md, "Firmware boot"; the firmware itself is firmware/fw.S).
 *
 * kvmlab still loads the kernel with its own loader; what changes is how
 * vCPU 0 gets to the kernel's entry: from KVM's reset state through our
 * firmware, instead of being put there by KVM_SET_SREGS/KVM_SET_REGS.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm/vm.h"

/* The image built from firmware/fw.S, linked in from firmware/blob.S. */
extern const uint8_t firmware_start[], firmware_end[];

/* After the RAM slots (one per gmem region). */
#define FW_ROM_SLOT GMEM_MAX_REGIONS

static size_t rom_size(void)
{
	return (size_t)(firmware_end - firmware_start);
}

int firmware_reserve(struct vm *vm, char *err, size_t errlen)
{
	size_t size = rom_size();

	/* Whole pages (KVM maps no less), and all of it inside the 64 KiB real-mode
	 * segment the vCPU starts in (CS base 0xFFFF0000). */
	if (!size || size % 4096 || size > 0x10000) {
		snprintf(err, errlen, "the built-in firmware is %zu bytes: not whole pages up to "
			 "64 KiB (a kvmlab bug)", size);
		return -1;
	}
	vm->mem.rom_gpa = GMEM_4G - size;
	vm->mem.rom_size = size;
	return 0;
}

int firmware_setup(struct vm *vm, char *err, size_t errlen)
{
	size_t size = rom_size();
	struct kvm_userspace_memory_region kr;
	void *rom;

	if (ioctl(vm->kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
		snprintf(err, errlen, "--firmware: this KVM has no read-only memory slots "
			 "(KVM_CAP_READONLY_MEM)");
		return -1;
	}
	rom = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rom == MAP_FAILED) {
		snprintf(err, errlen, "--firmware: cannot map the ROM: %s", strerror(errno));
		return -1;
	}
	memcpy(rom, firmware_start, size);
	vm->fw_rom = rom;
	vm->fw_rom_size = size;
	/* Read-only on both sides: the guest's writes leave it as MMIO exits
	 * (unclaimed, so dropped), and kvmlab cannot scribble on it either. */
	if (mprotect(rom, size, PROT_READ) < 0) {
		snprintf(err, errlen, "--firmware: mprotect: %s", strerror(errno));
		return -1;
	}
	kr = (struct kvm_userspace_memory_region){
		.slot = FW_ROM_SLOT,
		.flags = KVM_MEM_READONLY,
		.guest_phys_addr = vm->mem.rom_gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)rom,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
		snprintf(err, errlen, "--firmware: KVM_SET_USER_MEMORY_REGION for the ROM: %s",
			 strerror(errno));
		return -1;
	}
	fw_port_init(&vm->fw_port, FW_MODE_PVH32, vm->entry.rip, vm->entry.rbx,
		     (uint32_t)vm->cfg->nr_cpus, vm->mem.region[0].size);
	if (vm->entry.mode == BOOT_LINUX64) {
		/* The loader built the identity map and the zero page as for direct boot. */
		fw_port_set(&vm->fw_port, FW_ITEM_BOOT_MODE, FW_MODE_LINUX64);
		fw_port_set(&vm->fw_port, FW_ITEM_RSI, vm->entry.rsi);
		fw_port_set(&vm->fw_port, FW_ITEM_CR3, BOOT_PML4_ADDR);
	}
	if (bus_register(&vm->pio, FW_PORT_SEL, FW_PORT_LEN, fw_port_io, &vm->fw_port,
			 "firmware port") < 0) {
		snprintf(err, errlen, "the firmware ports overlap another device (a kvmlab bug)");
		return -1;
	}
	return 0;
}

void firmware_destroy(struct vm *vm)
{
	if (vm->fw_rom)
		munmap(vm->fw_rom, vm->fw_rom_size);
	vm->fw_rom = NULL;
	vm->fw_rom_size = 0;
}
