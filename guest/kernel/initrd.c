/*
 * initrd.c - the initramfs: a cpio archive in the "newc" format, which
 * kvmlab hands us as PVH module 0 (--initrd FILE) and pmm.c never gives out.
 *
 * The archive is a list of files, each a 110-byte header of ASCII text,
 * the path name, the contents, and padding:
 *
 *   "070701"  then 13 fields of 8 hex digits: ino mode uid gid nlink mtime
 *             filesize devmajor devminor rdevmajor rdevminor namesize check
 *   name      namesize bytes, with its NUL; header + name padded to 4 bytes
 *   data      filesize bytes, padded to 4 bytes
 *
 * The last entry is named "TRAILER!!!". Paths are stored without a leading
 * "/" (cpio writes what `find` printed: "hello", "./bin/sh"...). fs.c turns
 * the entries into its tree of inodes at boot.
 */
#include "kernel.h"

#define NEWC_HDR 110

/* Field i (0 = ino ... 12 = check) of a header. -1 if not hex. */
static i64 field(const u8 *h, int i)
{
	u64 v = 0;

	for (int k = 0; k < 8; k++) {
		u8 c = h[6 + 8 * i + k];

		if (c >= '0' && c <= '9')
			v = v * 16 + (u64)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (u64)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (u64)(c - 'A' + 10);
		else
			return -1;
	}
	return (i64)v;
}

/*
 * Call fn for every entry of the archive, in order: its name (as stored:
 * "bin/sh", "./etc"...), mode, contents (in the module, which stays), size,
 * mtime and, for a device node, its number (major << 8 | minor). Stops at
 * the trailer, or at the first header that is not newc or does not fit.
 */
void initrd_foreach(initrd_fn fn)
{
	const u8 *base, *p, *end;

	if (!nmodules)
		return;
	base = P2V(modules[0].addr);
	end = base + modules[0].size;
	for (p = base; p + NEWC_HDR <= end;) {
		i64 mode = field(p, 1), mtime = field(p, 5), fsize = field(p, 6);
		i64 rmaj = field(p, 9), rmin = field(p, 10), nsize = field(p, 11);
		const char *name = (const char *)p + NEWC_HDR;
		const u8 *data;

		if (strncmp((const char *)p, "070701", 6) || mode < 0 || fsize < 0 || nsize < 1 ||
		    mtime < 0 || rmaj < 0 || rmin < 0)
			return; /* not newc, or a corrupt archive */
		data = base + (((u64)(p - base) + NEWC_HDR + (u64)nsize + 3) & ~3ul);
		if ((const u8 *)name + nsize > end || data > end || (u64)fsize > (u64)(end - data) ||
		    name[nsize - 1] != 0)
			return;
		if (!strncmp(name, "TRAILER!!!", 11))
			return;
		fn(name, (u32)mode, data, (u64)fsize, (u64)mtime,
		   (u32)((rmaj & 0xfff) << 8 | (rmin & 0xff)));
		p = base + (((u64)(data - base) + (u64)fsize + 3) & ~3ul);
	}
}
