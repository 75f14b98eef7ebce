// SPDX-License-Identifier: MIT
/* Pick the loader that recognises the kernel file. */
#include <stdio.h>
#include <string.h>

#include "vmm/boot/boot.h"

/* The Linux boot protocol's "HdrS" signature at offset 0x202 of a bzImage. */
static int is_bzimage(const struct boot_image *img)
{
	return img->size > 0x206 && !memcmp(img->data + 0x202, "HdrS", 4);
}

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
	if (is_bzimage(kernel)) {
		snprintf(err, errlen, "%s: a Linux bzImage; this kvmlab boots PVH ELF kernels "
			 "(boot the kernel's vmlinux instead)", kernel->name);
		return -1;
	}
	snprintf(err, errlen, "%s: not a kernel kvmlab knows (expected an ELF kernel with a "
		 "PVH entry note)", kernel->name);
	return -1;
}

int boot_load(const struct guest_mem *mem, const struct boot_image *kernel,
	      const struct boot_image *initrd, const char *cmdline, struct boot_entry *out,
	      char *err, size_t errlen)
{
	if (boot_check(kernel, err, errlen) < 0)
		return -1;
	return pvh_load(mem, kernel, initrd, cmdline, out, err, errlen);
}
