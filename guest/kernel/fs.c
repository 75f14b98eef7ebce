/*
 * fs.c - the filesystem: a tree of inodes in memory, built at boot from the
 * initramfs (a cpio newc archive, read by initrd.c), and writable
 * like a RAM disk (tmpfs).
 *
 * Every cpio entry becomes an inode under its directory: directories,
 * regular files, symbolic links (the link's target is the entry's data) and
 * device nodes. A file's contents stay where they are, in the module kvmlab
 * loaded (rodata), until someone writes to it: then they are copied into
 * pages of RAM (pages[], one page of page pointers, so 2 MiB at most).
 * Directories /dev (console, tty, null, zero, kvmlab-marker), /tmp and /proc are made if
 * the archive lacks them; /proc's contents come from procfs.c.
 *
 * Path lookup (fs_walk) goes one name at a time from the root ("/...") or a
 * start directory (the process's cwd, or an openat dirfd), with "." and "..",
 * and follows symbolic links: always in the middle of a path, at its end
 * only when asked (stat follows, lstat does not), at most 8 deep (ELOOP).
 */
#include "fs.h"
#include "x86.h"

#define MAX_FILE_PAGES (PAGE_SIZE / sizeof(u8 *))

struct inode *fs_root;
static u32 next_ino = 1;

static char *kstrdup(const char *s, size_t n)
{
	char *d = kmalloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static bool name_is(const char *a, const char *b, size_t n)
{
	return strlen(a) == n && !strncmp(a, b, n);
}

/* A new inode `name` (n bytes) in dir, at the end of its entries. */
static struct inode *inode_new(struct inode *dir, const char *name, size_t n, u32 mode)
{
	struct inode *ip = kmalloc(sizeof(*ip)), **pp;

	if (!ip)
		return NULL;
	memset(ip, 0, sizeof(*ip));
	if (!(ip->name = kstrdup(name, n))) {
		kmfree(ip);
		return NULL;
	}
	ip->ino = next_ino++;
	ip->mode = mode;
	ip->nlink = S_ISDIR(mode) ? 2 : 1;
	ip->mtime = dir ? dir->mtime : 0;
	ip->parent = dir ? dir : ip;
	if (dir) {
		for (pp = &dir->child; *pp; pp = &(*pp)->next)
			;
		*pp = ip;
		if (S_ISDIR(mode))
			dir->nlink++;
	}
	return ip;
}

static struct inode *lookup_n(struct inode *dir, const char *name, size_t n)
{
	for (struct inode *c = dir->child; c; c = c->next)
		if (name_is(c->name, name, n))
			return c;
	return NULL;
}

/* An entry of dir, by name; /proc's entries are procfs.c's. */
struct inode *fs_lookup(struct inode *dir, const char *name)
{
	if (procfs_dir(dir))
		return procfs_lookup(dir, name);
	return lookup_n(dir, name, strlen(name));
}

/* --- building the tree from the cpio archive ------------------------------ */

/* The directory holding `path`'s last name, made as needed (like mkdir -p). */
static struct inode *make_dirs(const char **path)
{
	struct inode *dir = fs_root;
	const char *s = *path;

	for (;;) {
		const char *e = s;
		struct inode *ip;

		while (*e && *e != '/')
			e++;
		if (!*e) {
			*path = s;
			return dir;
		}
		if (e > s && !name_is(".", s, (size_t)(e - s))) {
			if (!(ip = lookup_n(dir, s, (size_t)(e - s))))
				ip = inode_new(dir, s, (size_t)(e - s), S_IFDIR | 0755);
			if (!ip || !S_ISDIR(ip->mode))
				return NULL;
			dir = ip;
		}
		s = e + 1;
	}
}

/* One archive entry into the tree (initrd_foreach calls it). */
static void add_entry(const char *name, u32 mode, const u8 *data, u64 size, u64 mtime, u32 rdev)
{
	struct inode *dir, *ip;

	if (mtime > fs_root->mtime)
		fs_root->mtime = mtime; /* what the directories we add get */

	while (*name == '/' || (name[0] == '.' && name[1] == '/'))
		name += name[0] == '/' ? 1 : 2;
	if (!*name || !strncmp(name, ".", 2))
		return; /* the root itself */
	if (!(dir = make_dirs(&name)) || !*name)
		return;
	if ((ip = lookup_n(dir, name, strlen(name)))) {
		if (!S_ISDIR(ip->mode) || !S_ISDIR(mode))
			return; /* the first one wins */
	} else if (!(ip = inode_new(dir, name, strlen(name), mode))) {
		return;
	}
	ip->mode = mode;
	ip->mtime = mtime;
	if (S_ISREG(mode) || S_ISLNK(mode))
		ip->rodata = data, ip->size = size;
	if (S_ISCHR(mode))
		ip->rdev = rdev;
}

static struct inode *ensure(struct inode *dir, const char *name, u32 mode, u32 rdev)
{
	struct inode *ip = lookup_n(dir, name, strlen(name));

	if (!ip && (ip = inode_new(dir, name, strlen(name), mode)))
		ip->rdev = rdev;
	return ip;
}

/* A symbolic link to a constant target, unless the archive has that name. */
static void link_to(struct inode *dir, const char *name, const char *target)
{
	struct inode *ip;

	if (!lookup_n(dir, name, strlen(name)) && (ip = ensure(dir, name, S_IFLNK | 0777, 0)))
		ip->rodata = (const u8 *)target, ip->size = strlen(target);
}

/* At boot (the first process's file_init): the tree. */
void fs_init(void)
{
	struct inode *dev, *proc;

	if (fs_root)
		return;
	fs_root = inode_new(NULL, "", 0, S_IFDIR | 0755);
	if (!fs_root)
		panic("fs_init: out of memory");
	initrd_foreach(add_entry);
	if ((dev = ensure(fs_root, "dev", S_IFDIR | 0755, 0))) {
		ensure(dev, "console", S_IFCHR | 0600, DEV_CONSOLE);
		ensure(dev, "tty", S_IFCHR | 0666, DEV_TTY);
		ensure(dev, "null", S_IFCHR | 0666, DEV_NULL);
		ensure(dev, "zero", S_IFCHR | 0666, DEV_ZERO);
		ensure(dev, "kvmlab-marker", S_IFCHR | 0666, DEV_MARKER);
		link_to(dev, "stdin", "/proc/self/fd/0");
		link_to(dev, "stdout", "/proc/self/fd/1");
		link_to(dev, "stderr", "/proc/self/fd/2");
	}
	ensure(fs_root, "tmp", S_IFDIR | 01777, 0);
	if ((proc = ensure(fs_root, "proc", S_IFDIR | 0555, 0)))
		proc->pkind = PROC_ROOT; /* its entries: procfs.c */
}

/* --- path lookup ------------------------------------------------------------ */

/* The next name of *path into name: its length, 0 at the end, -1 if too long. */
static int next_name(const char **path, char *name)
{
	const char *s = *path, *e;

	while (*s == '/')
		s++;
	for (e = s; *e && *e != '/'; e++)
		;
	if (e - s > NAME_MAX_K)
		return -1;
	memcpy(name, s, (size_t)(e - s));
	name[e - s] = 0;
	*path = e;
	return (int)(e - s);
}

static bool at_end(const char *path)
{
	while (*path == '/')
		path++;
	return !*path;
}

static int walk(struct inode *ip, const char *path, bool follow, int depth, struct inode **out)
{
	char name[NAME_MAX_K + 1];
	int n;

	if (!*path)
		return -ENOENT;
	if (*path == '/')
		ip = fs_root;
	while ((n = next_name(&path, name)) != 0) {
		struct inode *next;

		if (n < 0)
			return -ENAMETOOLONG;
		if (!S_ISDIR(ip->mode))
			return -ENOTDIR;
		if (!strncmp(name, ".", 2))
			continue;
		if (!strncmp(name, "..", 3)) {
			ip = ip->parent;
			continue;
		}
		if (!(next = fs_lookup(ip, name)))
			return -ENOENT;
		if (S_ISLNK(next->mode) && (follow || !at_end(path))) {
			char target[PATH_MAX_K];
			i64 len;
			int r;

			if (depth >= 8)
				return -ELOOP;
			if ((len = fs_readlink(next, target, sizeof(target) - 1)) < 0)
				return (int)len;
			target[len] = 0;
			if ((r = walk(ip, target, true, depth + 1, &next)) < 0)
				return r;
		}
		ip = next;
	}
	*out = ip;
	return 0;
}

/* The inode at path, from start for a relative path. 0 or -errno. */
int fs_walk(struct inode *start, const char *path, bool follow, struct inode **out)
{
	return walk(start, path, follow, 0, out);
}

/* The directory holding path's last name, and that name ("a/b/" -> a, "b").
 * The name may not exist yet. "/" and "x/.." have no last name: -EEXIST. */
int fs_walk_parent(struct inode *start, const char *path, struct inode **dir, char *name)
{
	char buf[PATH_MAX_K];
	size_t len = strlen(path), i;
	int r;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (!len || len >= sizeof(buf))
		return len ? -ENAMETOOLONG : -ENOENT;
	for (i = len; i > 0 && path[i - 1] != '/'; i--)
		;
	if (len - i > NAME_MAX_K)
		return -ENAMETOOLONG;
	memcpy(name, path + i, len - i);
	name[len - i] = 0;
	if (!name[0] || !strncmp(name, ".", 2) || !strncmp(name, "..", 3))
		return -EEXIST;
	memcpy(buf, path, i);
	buf[i] = 0;
	if (i == 0) {
		*dir = start;
		r = 0;
	} else {
		r = walk(start, buf, true, 0, dir);
	}
	if (!r && !S_ISDIR((*dir)->mode))
		r = -ENOTDIR;
	return r;
}

/* ip's path from the root into buf (NUL-ended): its length with the NUL, or
 * -ENAMETOOLONG. What getcwd and /proc/PID/fd's links say. */
long fs_path(struct inode *ip, char *buf, u64 size)
{
	u64 pos = size - 1;

	if (!size)
		return -ENAMETOOLONG;
	buf[pos] = 0;
	for (; ip && ip != fs_root && ip->parent != ip; ip = ip->parent) {
		u64 n = strlen(ip->name);

		if (pos < n + 1)
			return -ENAMETOOLONG;
		pos -= n;
		memcpy(buf + pos, ip->name, n);
		buf[--pos] = '/';
	}
	if (pos == size - 1) {
		if (!pos)
			return -ENAMETOOLONG;
		buf[--pos] = '/';
	}
	for (u64 i = 0; i < size - pos; i++) /* to the front */
		buf[i] = buf[pos + i];
	return (long)(size - pos);
}

/* --- contents ---------------------------------------------------------------- */

i64 fs_readlink(struct inode *ip, char *buf, u64 size)
{
	u64 n = ip->size < size ? ip->size : size;

	if (ip->pkind)
		return procfs_readlink(ip, buf, size);
	if (!S_ISLNK(ip->mode))
		return -EINVAL;
	if (ip->pages) {
		memcpy(buf, ip->pages[0], n);
	} else {
		memcpy(buf, ip->rodata, n);
	}
	return (i64)n;
}

/* The byte at off lives in page off / 4096 of pages[] (written files). */
static u8 *page_at(struct inode *ip, u64 off) { return ip->pages[off / PAGE_SIZE] + off % PAGE_SIZE; }

/* A hole (pages[i] NULL: written past it, or a copy that ran out of
 * memory) reads as zeros. */
static const u8 zero_page[PAGE_SIZE];

static const u8 *bytes_at(struct inode *ip, u64 off)
{
	u8 *pg = ip->pages[off / PAGE_SIZE];

	return pg ? pg + off % PAGE_SIZE : zero_page + off % PAGE_SIZE;
}

i64 fs_read(struct inode *ip, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	u64 done = 0;

	if (off >= ip->size)
		return 0;
	if (n > ip->size - off)
		n = ip->size - off;
	if (!ip->pages)
		return copyout(p->pml4, ubuf, ip->rodata + off, n) < 0 ? -EFAULT : (i64)n;
	while (done < n) {
		u64 k = PAGE_SIZE - (off + done) % PAGE_SIZE;

		if (k > n - done)
			k = n - done;
		if (copyout(p->pml4, ubuf + done, bytes_at(ip, off + done), k) < 0)
			return done ? (i64)done : -EFAULT;
		done += k;
	}
	return (i64)done;
}

/* Bytes [off, off + n) of ip into the kernel's dst (exec, a private mmap
 * page): how many there were before the end of the file. */
u64 fs_kread(struct inode *ip, void *dst, u64 n, u64 off)
{
	u64 done = 0;

	if (off >= ip->size)
		return 0;
	if (n > ip->size - off)
		n = ip->size - off;
	if (!ip->pages) {
		memcpy(dst, ip->rodata + off, n);
		return n;
	}
	while (done < n) {
		u64 k = PAGE_SIZE - (off + done) % PAGE_SIZE;

		if (k > n - done)
			k = n - done;
		memcpy((u8 *)dst + done, bytes_at(ip, off + done), k);
		done += k;
	}
	return n;
}

/* The first write: the contents move from the archive into pages of RAM. */
static int to_ram(struct inode *ip)
{
	u64 np = (ip->size + PAGE_SIZE - 1) / PAGE_SIZE;

	if (ip->pages)
		return 0;
	if (np > MAX_FILE_PAGES)
		return -EFBIG;
	if (!(ip->pages = kzalloc()))
		return -ENOSPC;
	for (u64 i = 0; i < np; i++) {
		u64 k = ip->size - i * PAGE_SIZE < PAGE_SIZE ? ip->size - i * PAGE_SIZE : PAGE_SIZE;

		if (!(ip->pages[i] = kzalloc()))
			return -ENOSPC; /* the pages so far stay: size still covers them */
		memcpy(ip->pages[i], ip->rodata + i * PAGE_SIZE, k);
	}
	ip->rodata = NULL;
	return 0;
}

/* New size: pages past it go, pages up to it come (zeroed). */
int fs_truncate(struct inode *ip, u64 size)
{
	u64 np = (size + PAGE_SIZE - 1) / PAGE_SIZE;
	int r;

	if (!S_ISREG(ip->mode))
		return S_ISDIR(ip->mode) ? -EISDIR : -EINVAL;
	if (ip->nexec)
		return -ETXTBSY; /* a running program's file */
	if (np > MAX_FILE_PAGES)
		return -EFBIG;
	if ((r = to_ram(ip)) < 0)
		return r;
	for (u64 i = np; i < MAX_FILE_PAGES && ip->pages[i]; i++) {
		kfree(ip->pages[i]);
		ip->pages[i] = NULL;
	}
	if (size < ip->size && size % PAGE_SIZE)
		memset(page_at(ip, size), 0, PAGE_SIZE - size % PAGE_SIZE);
	for (u64 i = 0; i < np; i++)
		if (!ip->pages[i] && !(ip->pages[i] = kzalloc()))
			return -ENOSPC;
	ip->size = size;
	mm_file_truncated(ip); /* mappings lose their pages past the end */
	return 0;
}

/* The frame of page idx of a regular file, for mmap (mm.c maps it): the
 * file moves into RAM first if it is still the archive's, a hole becomes a
 * zeroed page. 0 and *pa, -EFBIG past what RAM files hold (2 MiB), or
 * -ENOSPC when memory is out. */
int fs_page(struct inode *ip, u64 idx, u64 *pa)
{
	int r;

	if (idx >= MAX_FILE_PAGES)
		return -EFBIG;
	if ((r = to_ram(ip)) < 0)
		return r;
	if (!ip->pages[idx] && !(ip->pages[idx] = kzalloc()))
		return -ENOSPC;
	*pa = V2P(ip->pages[idx]);
	return 0;
}

i64 fs_write(struct inode *ip, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	u64 done = 0;
	int r;

	if (!n)
		return 0;
	if ((r = to_ram(ip)) < 0)
		return r;
	if (off > MAX_FILE_PAGES * PAGE_SIZE)
		return -EFBIG;
	if (n > MAX_FILE_PAGES * PAGE_SIZE - off)
		n = MAX_FILE_PAGES * PAGE_SIZE - off;
	if (!n)
		return -EFBIG;
	while (done < n) {
		u64 at = off + done, k = PAGE_SIZE - at % PAGE_SIZE;
		u8 **pg = &ip->pages[at / PAGE_SIZE];

		if (k > n - done)
			k = n - done;
		if (!*pg && !(*pg = kzalloc()))
			break;
		if (copyin(p->pml4, *pg + at % PAGE_SIZE, ubuf + done, k) < 0) {
			if (!done)
				return -EFAULT;
			break;
		}
		done += k;
		if (at + k > ip->size)
			ip->size = at + k;
	}
	if (!done)
		return -ENOSPC;
	ip->mtime = (kvmclock_ns() + wall_offset_ns()) / 1000000000;
	return (i64)done;
}

/* --- changing the tree ------------------------------------------------------- */

/* Not /proc, and not a directory removed while someone was still in it. */
static bool writable_dir(struct inode *dir)
{
	return !dir->pkind && S_ISDIR(dir->mode) && dir->nlink;
}

struct inode *fs_create(struct inode *dir, const char *name, u32 mode)
{
	struct inode *ip;

	if (!writable_dir(dir))
		return NULL;
	if ((ip = inode_new(dir, name, strlen(name), mode)))
		ip->mtime = dir->mtime = (kvmclock_ns() + wall_offset_ns()) / 1000000000;
	return ip;
}

static void detach(struct inode *ip)
{
	struct inode **pp;

	for (pp = &ip->parent->child; *pp && *pp != ip; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = ip->next;
	if (S_ISDIR(ip->mode))
		ip->parent->nlink--;
	ip->next = NULL;
}

static void inode_free(struct inode *ip)
{
	if (ip->pages) {
		for (u64 i = 0; i < MAX_FILE_PAGES; i++)
			if (ip->pages[i])
				kfree(ip->pages[i]);
		kfree(ip->pages);
	}
	kmfree(ip->name);
	kmfree(ip);
}

/* An inode no longer named anywhere goes with its last reference. */
void fs_iput(struct inode *ip)
{
	if (ip->ref)
		ip->ref--;
	if (!ip->ref && !ip->nlink && !ip->pkind)
		inode_free(ip);
}

int fs_unlink(struct inode *dir, const char *name, bool rmdir)
{
	struct inode *ip;

	if (!writable_dir(dir))
		return -EACCES;
	if (!(ip = lookup_n(dir, name, strlen(name))))
		return -ENOENT;
	if (rmdir && !S_ISDIR(ip->mode))
		return -ENOTDIR;
	if (!rmdir && S_ISDIR(ip->mode))
		return -EISDIR;
	if (rmdir && (ip->child || ip->pkind))
		return ip->pkind ? -EBUSY : -ENOTEMPTY;
	detach(ip);
	ip->nlink = 0;
	dir->mtime = (kvmclock_ns() + wall_offset_ns()) / 1000000000;
	ip->ref++; /* fs_iput frees it now unless it is open */
	fs_iput(ip);
	return 0;
}

int fs_rename(struct inode *odir, const char *oname, struct inode *ndir, const char *nname)
{
	struct inode *ip, *old;
	char *nm;

	if (!writable_dir(odir) || !writable_dir(ndir))
		return -EACCES;
	if (!(ip = lookup_n(odir, oname, strlen(oname))))
		return -ENOENT;
	for (struct inode *d = ndir; d != fs_root; d = d->parent)
		if (d == ip)
			return -EINVAL; /* a directory into itself */
	if ((old = lookup_n(ndir, nname, strlen(nname)))) {
		int r;

		if (old == ip)
			return 0;
		if (S_ISDIR(old->mode) && !S_ISDIR(ip->mode))
			return -EISDIR;
		if (!S_ISDIR(old->mode) && S_ISDIR(ip->mode))
			return -ENOTDIR;
		if ((r = fs_unlink(ndir, nname, S_ISDIR(old->mode))) < 0)
			return r;
	}
	if (!(nm = kstrdup(nname, strlen(nname))))
		return -ENOMEM;
	detach(ip);
	kmfree(ip->name);
	ip->name = nm;
	ip->parent = ndir;
	{
		struct inode **pp;

		for (pp = &ndir->child; *pp; pp = &(*pp)->next)
			;
		*pp = ip;
	}
	if (S_ISDIR(ip->mode))
		ndir->nlink++;
	return 0;
}

/* --- open files of the tree: regular files, directories, devices ------------- */

static i64 reg_read(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	return fs_read(f->ip, p, ubuf, n, off);
}

static i64 reg_write(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	return fs_write(f->ip, p, ubuf, n, (f->flags & O_APPEND) ? f->ip->size : off);
}

static i64 reg_lseek(struct file *f, i64 off, int whence)
{
	return generic_lseek(f, off, whence, f->ip->size);
}

static const struct fileops reg_fops = {
	.read = reg_read, .write = reg_write, .lseek = reg_lseek,
};

/* getdents64 of a directory: ".", "..", then its entries; the offset counts
 * entries, so an entry removed meanwhile shifts the rest by one at most. */
static i64 dir_getdents(struct file *f, struct proc *p, u64 ubuf, u64 n)
{
	struct inode *dir = f->ip, *c = dir->child;
	u64 done = 0, idx;

	for (idx = 2; c && idx < f->off; idx++)
		c = c->next;
	for (;;) {
		struct inode *ip = f->off == 0 ? dir : f->off == 1 ? dir->parent : c;
		const char *name = f->off == 0 ? "." : f->off == 1 ? ".." : ip ? ip->name : NULL;
		i64 r;

		if (!ip)
			break;
		r = put_dirent(p, ubuf + done, n - done, ip->ino, (i64)f->off + 1, dtype(ip->mode), name);
		if (r <= 0) {
			if (done)
				break;
			return r < 0 ? r : -EINVAL; /* not even one entry fits */
		}
		done += (u64)r;
		if (f->off++ >= 2)
			c = c->next;
	}
	return (i64)done;
}

static i64 dir_lseek(struct file *f, i64 off, int whence)
{
	if (whence != 0 || off < 0)
		return -EINVAL;
	f->off = (u64)off;
	return off;
}

static i64 dir_read(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	(void)f, (void)p, (void)ubuf, (void)n, (void)off;
	return -EISDIR;
}

static const struct fileops dir_fops = {
	.read = dir_read, .lseek = dir_lseek, .getdents = dir_getdents,
};

static i64 null_read(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	(void)f, (void)p, (void)ubuf, (void)n, (void)off;
	return 0;
}

static i64 null_write(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	(void)f, (void)p, (void)ubuf, (void)off;
	return (i64)n;
}

static i64 zero_read(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	static const u8 zeros[256];
	u64 done = 0;

	(void)f, (void)off;
	while (done < n) {
		u64 k = n - done < sizeof(zeros) ? n - done : sizeof(zeros);

		if (copyout(p->pml4, ubuf + done, zeros, k) < 0)
			return done ? (i64)done : -EFAULT;
		done += k;
	}
	return (i64)done;
}

static i64 dev_lseek(struct file *f, i64 off, int whence)
{
	(void)f, (void)off, (void)whence;
	return 0;
}

static const struct fileops null_fops = { .read = null_read, .write = null_write, .lseek = dev_lseek };
static const struct fileops zero_fops = { .read = zero_read, .write = null_write, .lseek = dev_lseek };

/*
 * /dev/kvmlab-marker: each line written is one label for kvmlab's marker
 * port 0x510 (docs/tracing.md): its bytes one outb each, then a 0. kvmlab
 * puts the label in its --trace and splits --stats by it; each byte is one
 * exit, so a label is cut at 31 bytes as kvmlab would, and one write sends
 * at most 4 KiB. Any VMM without the port just drops the bytes.
 */
#define MARKER_PORT 0x510
#define MARKER_LABEL_MAX 31

static i64 marker_write(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	u8 buf[64];
	u64 done = 0, len = 0;

	(void)f, (void)off;
	if (n > 4096)
		n = 4096;
	while (done < n) {
		u64 k = n - done < sizeof(buf) ? n - done : sizeof(buf);

		if (copyin(p->pml4, buf, ubuf + done, k) < 0)
			break;
		for (u64 i = 0; i < k; i++) {
			u8 c = buf[i];

			if (c == 0 || c == '\n') {
				if (len)
					outb(MARKER_PORT, 0);
				len = 0;
			} else if (c != '\r' && len < MARKER_LABEL_MAX) {
				outb(MARKER_PORT, c);
				len++;
			}
		}
		done += k;
	}
	if (len)
		outb(MARKER_PORT, 0);
	return done || !n ? (i64)done : -EFAULT;
}

static const struct fileops marker_fops = { .read = null_read, .write = marker_write, .lseek = dev_lseek };

/* The console: tty.c's terminal, behind the same three calls as ever. */
static i64 tty_fread(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	(void)f, (void)off;
	return tty_read(p, ubuf, n);
}

static i64 tty_fwrite(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	(void)f, (void)off;
	return tty_write(p, ubuf, n);
}

static i64 tty_fioctl(struct file *f, struct proc *p, u64 req, u64 arg)
{
	(void)f;
	return tty_ioctl(p, req, arg);
}

const struct fileops tty_fops = { .read = tty_fread, .write = tty_fwrite, .ioctl = tty_fioctl };

/* An open file for ip (permissions: everyone is root here). */
int fs_open(struct inode *ip, u32 flags, struct file **out)
{
	const struct fileops *ops;
	struct file *f;
	bool wr = (flags & O_ACCMODE) != O_RDONLY;

	if (ip->pkind && !S_ISDIR(ip->mode))
		return procfs_open(ip, flags, out);
	if (S_ISDIR(ip->mode)) {
		if (wr)
			return -EISDIR;
		ops = ip->pkind ? &procdir_fops : &dir_fops;
	} else if (S_ISREG(ip->mode)) {
		if (wr && ip->nexec)
			return -ETXTBSY; /* a running program's file: its pages are mapped */
		ops = &reg_fops;
	} else if (S_ISCHR(ip->mode)) {
		ops = ip->rdev == DEV_NULL ? &null_fops : ip->rdev == DEV_ZERO ? &zero_fops :
		      ip->rdev == DEV_TTY || ip->rdev == DEV_CONSOLE ? &tty_fops : NULL;
		if (ip->rdev == DEV_MARKER)
			ops = &marker_fops;
		if (!ops)
			return -19; /* -ENXIO-like: ENODEV, a device we do not have */
	} else {
		return -ELOOP; /* a symbolic link itself (O_NOFOLLOW) */
	}
	if (!(f = file_alloc(ops, flags)))
		return -ENOMEM;
	f->ip = ip;
	ip->ref++;
	*out = f;
	return 0;
}
