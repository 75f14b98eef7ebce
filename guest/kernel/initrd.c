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
 * "/" (cpio writes what `find` printed: "hello", "./bin/sh"...), so we
 * compare without the leading "/" and "./".
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

static const char *skip_root(const char *p)
{
	for (;;) {
		if (p[0] == '/')
			p++;
		else if (p[0] == '.' && p[1] == '/')
			p += 2;
		else
			return p;
	}
}

/* The contents of the regular file at `path`, or NULL. */
const u8 *initrd_find(const char *path, u64 *size)
{
	const u8 *base, *p, *end;
	size_t plen;

	if (!nmodules)
		return NULL;
	base = P2V(modules[0].addr);
	end = base + modules[0].size;
	path = skip_root(path);
	plen = strlen(path);
	for (p = base; p + NEWC_HDR <= end;) {
		i64 mode = field(p, 1), fsize = field(p, 6), nsize = field(p, 11);
		const char *name = (const char *)p + NEWC_HDR;
		const u8 *data;

		if (strncmp((const char *)p, "070701", 6) || mode < 0 || fsize < 0 || nsize < 1)
			return NULL; /* not newc, or a corrupt archive */
		data = base + (((p - base) + NEWC_HDR + (u64)nsize + 3) & ~3ul);
		if ((const u8 *)name + nsize > end || data + fsize > end)
			return NULL;
		if (name[nsize - 1] != 0)
			return NULL;
		if (!strncmp(name, "TRAILER!!!", 11))
			return NULL;
		{
			const char *n = skip_root(name);

			if ((mode & 0170000) == 0100000 && strlen(n) == plen && !strncmp(n, path, plen)) {
				*size = (u64)fsize;
				return data;
			}
		}
		p = base + (((data - base) + (u64)fsize + 3) & ~3ul);
	}
	return NULL;
}
