// SPDX-License-Identifier: MIT
/* Pick the loader that recognises the kernel file. */
#include <stdio.h>
#include <string.h>

#include "vmm/boot/boot.h"

int boot_check(const struct boot_image *kernel, char *err, size_t errlen)
{
	struct elf_info info;

	if (elf_is_elf(kernel)) {
		if (elf_inspect(kernel, &info, err, errlen) < 0)
			return -1;
		if (!info.pvh_entry) {
			snprintf(err, errlen, "%s: ELF without a PVH entry note "
				 "(XEN_ELFNOTE_PHYS32_ENTRY): not a kernel kvmlab can boot",
				 kernel->name);
			return -1;
		}
		if (info.pvh_entry >= GMEM_4G || !info.entry_loaded) {
			snprintf(err, errlen, "%s: the PVH entry point 0x%llx is not inside the "
				 "loaded kernel", kernel->name, (unsigned long long)info.pvh_entry);
			return -1;
		}
		return 0;
	}
	if (bzimage_is(kernel))
		return bzimage_check(kernel, err, errlen);
	snprintf(err, errlen, "%s: not a kernel kvmlab knows (expected a Linux bzImage or an "
		 "ELF kernel with a PVH entry note)", kernel->name);
	return -1;
}

int boot_load(const struct guest_mem *mem, const struct boot_image *kernel,
	      const struct boot_image *initrd, const char *cmdline, int nr_cpus,
	      struct boot_entry *out, char *err, size_t errlen)
{
	int r;

	if (boot_check(kernel, err, errlen) < 0)
		return -1;
	if (bzimage_is(kernel))
		r = bzimage_load(mem, kernel, initrd, cmdline, out, err, errlen);
	else
		r = pvh_load(mem, kernel, initrd, cmdline, out, err, errlen);
	if (r < 0)
		return -1;
	/* Every guest learns its CPUs the same way. */
	if (mptable_write(mem, nr_cpus) < 0) {
		snprintf(err, errlen, "cannot write the MP table for %d CPUs", nr_cpus);
		return -1;
	}
	return 0;
}
