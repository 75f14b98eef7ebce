/*
 * file.c - file descriptors and the system calls on files.
 *
 * A process's fd table (struct proc: ofile[NOFILE], and the FD_CLOEXEC bit
 * of each fd in `cloexec`) maps small numbers to open files. An open file
 * (struct file, fs.h) is shared, with a reference count: by dup() within a
 * process, by fork() between processes (so parent and child move one
 * offset), and it goes when the last reference does (close, exit). exec
 * keeps the fds except those marked close-on-exec. The first process starts
 * with /dev/console as fds 0, 1 and 2.
 *
 * The calls themselves are thin: copy the path in, find the inode (fs.c),
 * and call the file's operations (read, write, lseek, getdents, ioctl...),
 * which differ for files, directories, devices, pipes (pipe.c) and /proc
 * (procfs.c).
 */
#include "fs.h"

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_EACCESS 0x200
#define AT_SYMLINK_FOLLOW 0x400
#define AT_EMPTY_PATH 0x1000
#define FD_CLOEXEC 1
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define FIONBIO 0x5421
#define FIOCLEX 0x5451
#define FIONCLEX 0x5450

struct file *file_alloc(const struct fileops *ops, u32 flags)
{
	struct file *f = kmalloc(sizeof(*f));

	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->ref = 1;
	f->ops = ops;
	f->flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK);
	return f;
}

/* Drop one reference; the last one closes the file. */
void file_put(struct file *f)
{
	if (--f->ref)
		return;
	if (f->ops->close)
		f->ops->close(f);
	if (f->ip)
		fs_iput(f->ip);
	kmfree(f);
}

/* The lowest free fd >= min gets f; -EMFILE when the table is full. */
int fd_install(struct proc *p, struct file *f, int min, bool cloexec)
{
	for (int fd = min; fd < NOFILE; fd++)
		if (!p->ofile[fd]) {
			p->ofile[fd] = f;
			if (cloexec)
				p->cloexec |= 1ul << fd;
			else
				p->cloexec &= ~(1ul << fd);
			return fd;
		}
	return -EMFILE;
}

static struct file *fd_file(struct proc *p, u64 fd)
{
	return fd < NOFILE ? p->ofile[fd] : NULL;
}

/* For mm.c's mmap of a file. */
struct file *file_get(struct proc *p, u64 fd)
{
	return fd_file(p, fd);
}

static int fd_close(struct proc *p, u64 fd)
{
	struct file *f = fd_file(p, fd);

	if (!f)
		return -EBADF;
	p->ofile[fd] = NULL;
	p->cloexec &= ~(1ul << fd);
	file_put(f);
	return 0;
}

/* --- the process's life: init, fork, exec, exit --------------------------- */

static void set_cwd(struct proc *p, struct inode *ip)
{
	ip->ref++;
	if (p->cwd)
		fs_iput(p->cwd);
	p->cwd = ip;
}

/* The first process: the tree (once), cwd "/", /dev/console as 0, 1, 2. */
void file_init(struct proc *p)
{
	struct inode *ip;
	struct file *f;

	fs_init();
	set_cwd(p, fs_root);
	if (fs_walk(fs_root, "/dev/console", true, &ip) < 0 || fs_open(ip, O_RDWR, &f) < 0)
		panic("file_init: no /dev/console");
	p->ofile[0] = p->ofile[1] = p->ofile[2] = f;
	f->ref = 3;
}

void file_fork(struct proc *np, struct proc *p)
{
	for (int fd = 0; fd < NOFILE; fd++)
		if ((np->ofile[fd] = p->ofile[fd]))
			np->ofile[fd]->ref++;
	np->cloexec = p->cloexec;
	if (p->cwd)
		set_cwd(np, p->cwd);
	memcpy(np->cmdline, p->cmdline, sizeof(np->cmdline));
	np->cmdline_len = p->cmdline_len;
}

/* exec succeeded: close the close-on-exec fds; keep argv for /proc/PID/cmdline. */
void file_exec(struct proc *p, int argc, char *const argv[])
{
	u32 len = 0;

	for (int fd = 0; fd < NOFILE; fd++)
		if (p->cloexec & (1ul << fd))
			fd_close(p, (u64)fd);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (len + n > sizeof(p->cmdline))
			break;
		memcpy(p->cmdline + len, argv[i], n);
		len += (u32)n;
	}
	p->cmdline_len = len;
}

void file_exit(struct proc *p)
{
	for (int fd = 0; fd < NOFILE; fd++)
		if (p->ofile[fd])
			fd_close(p, (u64)fd);
	if (p->cwd) {
		fs_iput(p->cwd);
		p->cwd = NULL;
	}
}

/* exec's file: path (following symbolic links, from the cwd) must be a
 * regular file with an x bit (the archive's, or one written since). */
struct inode *fs_exec_lookup(struct proc *p, const char *path, int *err)
{
	struct inode *ip;
	int r;

	fs_init();
	if ((r = fs_walk(p->cwd ? p->cwd : fs_root, path, true, &ip)) < 0) {
		*err = r;
		return NULL;
	}
	if (!S_ISREG(ip->mode) || !(ip->mode & 0111) || ip->pkind) {
		*err = -EACCES;
		return NULL;
	}
	return ip; /* exec reads it through fs_kread: the archive's bytes or RAM pages */
}

/* --- helpers ----------------------------------------------------------------- */

i64 generic_lseek(struct file *f, i64 off, int whence, u64 size)
{
	i64 base = whence == 0 ? 0 : whence == 1 ? (i64)f->off : whence == 2 ? (i64)size : -1;

	if (base < 0 || base + off < 0)
		return -EINVAL;
	f->off = (u64)(base + off);
	return (i64)f->off;
}

u8 dtype(u32 mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return DT_DIR;
	case S_IFREG: return DT_REG;
	case S_IFLNK: return DT_LNK;
	case S_IFCHR: return DT_CHR;
	case S_IFIFO: return DT_FIFO;
	}
	return 0;
}

/* One struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; name }
 * at ubuf, 8-byte aligned: its length, 0 if it does not fit, or -errno. */
i64 put_dirent(struct proc *p, u64 ubuf, u64 room, u64 ino, i64 next, u8 type, const char *name)
{
	u8 rec[19 + NAME_MAX_K + 1 + 8];
	u64 nlen = strlen(name), reclen = (19 + nlen + 1 + 7) & ~7ul;
	u16 rl = (u16)reclen;

	if (reclen > room)
		return 0;
	memset(rec, 0, reclen);
	memcpy(rec, &ino, 8);
	memcpy(rec + 8, &next, 8);
	memcpy(rec + 16, &rl, 2);
	rec[18] = type;
	memcpy(rec + 19, name, nlen);
	return copyout(p->pml4, ubuf, rec, reclen) < 0 ? -EFAULT : (i64)reclen;
}

/* A user path into buf: 0, -EFAULT, -ENAMETOOLONG or -ENOENT (empty). */
static int get_path(struct proc *p, u64 upath, char *buf, bool empty_ok)
{
	long n = copyinstr(p->pml4, buf, upath, PATH_MAX_K);

	if (n < 0) {
		/* too long, or a bad address: tell them apart by the first byte */
		char c;

		return copyin(p->pml4, &c, upath, 1) < 0 ? -EFAULT : -ENAMETOOLONG;
	}
	if (!n && !empty_ok)
		return -ENOENT;
	return 0;
}

/* Where a relative path starts: the cwd (AT_FDCWD) or the directory dirfd. */
static int start_dir(struct proc *p, i64 dirfd, const char *path, struct inode **out)
{
	struct file *f;

	if (path[0] == '/' || dirfd == AT_FDCWD) {
		*out = p->cwd ? p->cwd : fs_root;
		return 0;
	}
	if (!(f = fd_file(p, (u64)dirfd)))
		return -EBADF;
	if (!f->ip || !S_ISDIR(f->ip->mode))
		return -ENOTDIR;
	*out = f->ip;
	return 0;
}

/* The inode at (dirfd, upath); AT_EMPTY_PATH with "" is dirfd's own file. */
static int lookup_at(struct proc *p, i64 dirfd, u64 upath, u64 atflags, struct inode **out,
		     struct file **fout)
{
	char path[PATH_MAX_K];
	struct inode *start;
	int r;

	*fout = NULL;
	if ((r = get_path(p, upath, path, atflags & AT_EMPTY_PATH)) < 0)
		return r;
	if (!path[0]) {
		struct file *f = dirfd == AT_FDCWD ? NULL : fd_file(p, (u64)dirfd);

		if (dirfd == AT_FDCWD) {
			*out = p->cwd;
			return 0;
		}
		if (!f)
			return -EBADF;
		*out = f->ip, *fout = f;
		return 0;
	}
	if ((r = start_dir(p, dirfd, path, &start)) < 0)
		return r;
	return fs_walk(start, path, !(atflags & AT_SYMLINK_NOFOLLOW), out);
}

/* --- read, write and friends --------------------------------------------------- */

static i64 do_rw(struct proc *p, u64 fd, u64 ubuf, u64 n, bool wr, i64 pos)
{
	struct file *f = fd_file(p, fd);
	u32 acc;
	i64 r;

	if (!f)
		return -EBADF;
	acc = f->flags & O_ACCMODE;
	if (wr ? acc == O_RDONLY : acc == O_WRONLY)
		return -EBADF;
	if (!(wr ? f->ops->write : f->ops->read))
		return -EINVAL;
	if (pos >= 0 && !f->ops->lseek)
		return -ESPIPE;
	if ((i64)n < 0)
		return -EINVAL;
	if (wr)
		r = f->ops->write(f, p, ubuf, n, pos >= 0 ? (u64)pos : f->off);
	else
		r = f->ops->read(f, p, ubuf, n, pos >= 0 ? (u64)pos : f->off);
	if (r > 0 && pos < 0 && f->ops->lseek) {
		if (wr && (f->flags & O_APPEND) && f->ip)
			f->off = f->ip->size;
		else
			f->off += (u64)r;
	}
	return r;
}

/* readv/writev: one do_rw per iovec, stopping at the first short one. */
static i64 do_rwv(struct proc *p, u64 fd, u64 iov, u64 iovcnt, bool wr, i64 pos)
{
	i64 total = 0;

	if (!fd_file(p, fd))
		return -EBADF;
	if (iovcnt > 1024)
		return -EINVAL;
	for (u64 i = 0; i < iovcnt; i++) {
		u64 v[2];
		i64 r;

		if (copyin(p->pml4, v, iov + i * 16, 16) < 0)
			return total ? total : -EFAULT;
		if (!v[1])
			continue;
		r = do_rw(p, fd, v[0], v[1], wr, pos < 0 ? -1 : pos + total);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((u64)r < v[1])
			break;
	}
	return total;
}

static i64 sys_lseek(struct proc *p, u64 fd, i64 off, u64 whence)
{
	struct file *f = fd_file(p, fd);

	if (!f)
		return -EBADF;
	if (!f->ops->lseek)
		return -ESPIPE;
	if (whence > 2)
		return -EINVAL;
	return f->ops->lseek(f, off, (int)whence);
}

static i64 sys_ioctl(struct proc *p, u64 fd, u64 req, u64 arg)
{
	struct file *f = fd_file(p, fd);
	int on;

	if (!f)
		return -EBADF;
	switch (req) {
	case FIONBIO:
		if (copyin(p->pml4, &on, arg, 4) < 0)
			return -EFAULT;
		f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~(u32)O_NONBLOCK;
		return 0;
	case FIOCLEX: p->cloexec |= 1ul << fd; return 0;
	case FIONCLEX: p->cloexec &= ~(1ul << fd); return 0;
	}
	return f->ops->ioctl ? f->ops->ioctl(f, p, req, arg) : -ENOTTY;
}

/* --- opening and closing -------------------------------------------------------- */

static i64 sys_openat(struct proc *p, i64 dirfd, u64 upath, u64 flags, u64 mode)
{
	char path[PATH_MAX_K], name[NAME_MAX_K + 1];
	struct inode *start, *ip = NULL, *dir;
	struct file *f;
	int r;

	if ((r = get_path(p, upath, path, false)) < 0)
		return r;
	if ((r = start_dir(p, dirfd, path, &start)) < 0)
		return r;
	if (flags & O_CREAT) {
		if ((r = fs_walk_parent(start, path, &dir, name)) == -EEXIST)
			r = fs_walk(start, path, true, &ip); /* "/", "..": no name to create */
		else if (!r && (ip = fs_lookup(dir, name)) && (flags & O_EXCL))
			return -EEXIST;
		else if (!r && ip && S_ISLNK(ip->mode))
			r = fs_walk(dir, name, !(flags & O_NOFOLLOW), &ip);
		if (r < 0)
			return r;
		if (!ip && !(ip = fs_create(dir, name, S_IFREG | ((u32)mode & 07777 & ~022u))))
			return dir->pkind ? -EACCES : -ENOSPC;
	} else if ((r = fs_walk(start, path, !(flags & O_NOFOLLOW), &ip)) < 0) {
		return r;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(ip->mode))
		return -ENOTDIR;
	if ((flags & O_TRUNC) && S_ISREG(ip->mode) && (flags & O_ACCMODE) != O_RDONLY &&
	    !ip->pkind && (r = fs_truncate(ip, 0)) < 0)
		return r;
	if ((r = fs_open(ip, (u32)flags, &f)) < 0)
		return r;
	if ((r = fd_install(p, f, 0, flags & O_CLOEXEC)) < 0)
		file_put(f);
	return r;
}

static i64 sys_dup3(struct proc *p, u64 oldfd, u64 newfd, u64 flags, bool dup2)
{
	struct file *f = fd_file(p, oldfd);

	if (!f || newfd >= NOFILE)
		return -EBADF;
	if (oldfd == newfd)
		return dup2 ? (i64)newfd : -EINVAL;
	if (flags & ~(u64)O_CLOEXEC)
		return -EINVAL;
	f->ref++; /* before closing newfd: it may hold the same file */
	if (p->ofile[newfd])
		fd_close(p, newfd);
	p->ofile[newfd] = f;
	if (flags & O_CLOEXEC)
		p->cloexec |= 1ul << newfd;
	else
		p->cloexec &= ~(1ul << newfd);
	return (i64)newfd;
}

static i64 sys_fcntl(struct proc *p, u64 fd, u64 cmd, u64 arg)
{
	struct file *f = fd_file(p, fd);
	int r;

	if (!f)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (arg >= NOFILE)
			return -EINVAL;
		if ((r = fd_install(p, f, (int)arg, cmd == F_DUPFD_CLOEXEC)) >= 0)
			f->ref++;
		return r;
	case F_GETFD:
		return (p->cloexec >> fd) & 1 ? FD_CLOEXEC : 0;
	case F_SETFD:
		if (arg & FD_CLOEXEC)
			p->cloexec |= 1ul << fd;
		else
			p->cloexec &= ~(1ul << fd);
		return 0;
	case F_GETFL:
		return f->flags;
	case F_SETFL: /* only these two may change */
		f->flags = (f->flags & ~(u32)(O_APPEND | O_NONBLOCK)) |
			   ((u32)arg & (O_APPEND | O_NONBLOCK));
		return 0;
	}
	return -EINVAL;
}

static i64 sys_pipe2(struct proc *p, u64 ufds, u64 flags)
{
	struct file *rf, *wf;
	int fds[2], r;

	if (flags & ~(u64)(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	if ((r = pipe_create(&rf, &wf)) < 0)
		return r;
	rf->flags |= (u32)flags & O_NONBLOCK;
	wf->flags |= (u32)flags & O_NONBLOCK;
	if ((fds[0] = fd_install(p, rf, 0, flags & O_CLOEXEC)) < 0) {
		file_put(rf), file_put(wf);
		return fds[0];
	}
	if ((fds[1] = fd_install(p, wf, 0, flags & O_CLOEXEC)) < 0) {
		fd_close(p, (u64)fds[0]);
		file_put(wf);
		return fds[1];
	}
	if (copyout(p->pml4, ufds, fds, sizeof(fds)) < 0) {
		fd_close(p, (u64)fds[0]);
		fd_close(p, (u64)fds[1]);
		return -EFAULT;
	}
	return 0;
}

/* --- stat ---------------------------------------------------------------------- */

/* Linux x86_64's struct stat, 144 bytes. */
struct kstat {
	u64 dev, ino, nlink;
	u32 mode, uid, gid, pad0;
	u64 rdev;
	i64 size, blksize, blocks;
	u64 atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
	i64 unused[3];
};

static void fill_stat(struct inode *ip, struct file *f, struct kstat *st)
{
	memset(st, 0, sizeof(*st));
	st->blksize = PAGE_SIZE;
	if (f && f->ops->stat) { /* a pipe: no inode */
		u64 size;

		f->ops->stat(f, &st->mode, &size);
		st->size = (i64)size;
		st->nlink = 1;
		st->ino = (u32)((u64)f->pipe >> 4); /* both ends: one inode, as /proc/PID/fd says */
		st->dev = 0xc;
		return;
	}
	st->dev = ip->pkind ? 0x15 : 1;
	st->ino = ip->ino;
	st->nlink = ip->nlink;
	st->mode = ip->mode;
	st->rdev = ip->rdev;
	st->size = (i64)(f && f->buf ? f->len : ip->size);
	st->blocks = (st->size + 511) / 512;
	st->atime = st->mtime = st->ctime = ip->mtime;
}

static i64 sys_fstatat(struct proc *p, i64 dirfd, u64 upath, u64 ust, u64 atflags)
{
	struct inode *ip;
	struct file *f;
	struct kstat st;
	int r;

	if ((r = lookup_at(p, dirfd, upath, atflags, &ip, &f)) < 0)
		return r;
	fill_stat(ip, f, &st);
	return copyout(p->pml4, ust, &st, sizeof(st)) < 0 ? -EFAULT : 0;
}

static i64 sys_fstat(struct proc *p, u64 fd, u64 ust)
{
	struct file *f = fd_file(p, fd);
	struct kstat st;

	if (!f)
		return -EBADF;
	fill_stat(f->ip, f, &st);
	return copyout(p->pml4, ust, &st, sizeof(st)) < 0 ? -EFAULT : 0;
}

/* statx: the same facts in struct statx's layout (256 bytes). */
static i64 sys_statx(struct proc *p, i64 dirfd, u64 upath, u64 atflags, u64 mask, u64 ubuf)
{
	struct inode *ip;
	struct file *f;
	struct kstat st;
	u8 sx[256];
	u32 v32;
	u16 v16;
	int r;

	(void)mask;
	if ((r = lookup_at(p, dirfd, upath, atflags, &ip, &f)) < 0)
		return r;
	fill_stat(ip, f, &st);
	memset(sx, 0, sizeof(sx));
	v32 = 0x7ff; /* STATX_BASIC_STATS */
	memcpy(sx, &v32, 4);
	v32 = (u32)st.blksize;
	memcpy(sx + 4, &v32, 4);
	v32 = (u32)st.nlink;
	memcpy(sx + 16, &v32, 4);
	v16 = (u16)st.mode;
	memcpy(sx + 28, &v16, 2);
	memcpy(sx + 32, &st.ino, 8);
	memcpy(sx + 40, &st.size, 8);
	memcpy(sx + 48, &st.blocks, 8);
	for (int t = 0; t < 4; t++) /* atime, btime, ctime, mtime: 16 bytes each */
		memcpy(sx + 64 + 16 * t, &st.mtime, 8);
	v32 = (u32)(st.rdev >> 8), memcpy(sx + 128, &v32, 4);
	v32 = (u32)(st.rdev & 0xff), memcpy(sx + 132, &v32, 4);
	v32 = (u32)(st.dev >> 8), memcpy(sx + 136, &v32, 4);
	v32 = (u32)(st.dev & 0xff), memcpy(sx + 140, &v32, 4);
	return copyout(p->pml4, ubuf, sx, sizeof(sx)) < 0 ? -EFAULT : 0;
}

static i64 sys_getdents64(struct proc *p, u64 fd, u64 ubuf, u64 n)
{
	struct file *f = fd_file(p, fd);

	if (!f)
		return -EBADF;
	if (!f->ops->getdents)
		return -ENOTDIR;
	return f->ops->getdents(f, p, ubuf, n);
}

/* --- directories and names -------------------------------------------------------- */

static i64 sys_getcwd(struct proc *p, u64 ubuf, u64 size)
{
	char buf[PATH_MAX_K];
	long n = fs_path(p->cwd, buf, sizeof(buf));

	if (n < 0)
		return n;
	if (size < (u64)n)
		return -ERANGE;
	return copyout(p->pml4, ubuf, buf, (u64)n) < 0 ? -EFAULT : n;
}

static i64 chdir_to(struct proc *p, struct inode *ip)
{
	if (!S_ISDIR(ip->mode))
		return -ENOTDIR;
	set_cwd(p, ip);
	return 0;
}

static i64 sys_chdir(struct proc *p, u64 upath)
{
	struct inode *ip;
	struct file *f;
	int r;

	if ((r = lookup_at(p, AT_FDCWD, upath, 0, &ip, &f)) < 0)
		return r;
	return chdir_to(p, ip);
}

static i64 sys_fchdir(struct proc *p, u64 fd)
{
	struct file *f = fd_file(p, fd);

	if (!f)
		return -EBADF;
	return f->ip ? chdir_to(p, f->ip) : -ENOTDIR;
}

/* access(path, mode): everyone is root, so only existence and x bits count. */
static i64 sys_faccessat(struct proc *p, i64 dirfd, u64 upath, u64 mode, u64 atflags)
{
	struct inode *ip;
	struct file *f;
	int r;

	if (mode & ~7ul)
		return -EINVAL;
	if ((r = lookup_at(p, dirfd, upath, atflags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &ip,
			   &f)) < 0)
		return r;
	if (!ip)
		return 0; /* a pipe, by AT_EMPTY_PATH */
	if ((mode & 1) && !(ip->mode & 0111))
		return -EACCES;
	if ((mode & 2) && ip->pkind && !S_ISDIR(ip->mode))
		return -EACCES;
	return 0;
}

static i64 sys_readlinkat(struct proc *p, i64 dirfd, u64 upath, u64 ubuf, u64 size)
{
	char buf[PATH_MAX_K];
	struct inode *ip;
	struct file *f;
	i64 n;
	int r;

	if ((i64)size <= 0)
		return -EINVAL;
	if ((r = lookup_at(p, dirfd, upath, AT_SYMLINK_NOFOLLOW, &ip, &f)) < 0)
		return r;
	if (!S_ISLNK(ip->mode))
		return -EINVAL;
	if ((n = fs_readlink(ip, buf, size < sizeof(buf) ? size : sizeof(buf))) < 0)
		return n;
	return copyout(p->pml4, ubuf, buf, (u64)n) < 0 ? -EFAULT : n;
}

/* The directory and last name of (dirfd, upath), for calls that make or remove names. */
static int parent_at(struct proc *p, i64 dirfd, u64 upath, struct inode **dir, char *name)
{
	char path[PATH_MAX_K];
	struct inode *start;
	int r;

	if ((r = get_path(p, upath, path, false)) < 0)
		return r;
	if ((r = start_dir(p, dirfd, path, &start)) < 0)
		return r;
	return fs_walk_parent(start, path, dir, name);
}

static i64 sys_mkdirat(struct proc *p, i64 dirfd, u64 upath, u64 mode)
{
	char name[NAME_MAX_K + 1];
	struct inode *dir;
	int r;

	if ((r = parent_at(p, dirfd, upath, &dir, name)) < 0)
		return r;
	if (fs_lookup(dir, name))
		return -EEXIST;
	if (dir->pkind)
		return -EACCES;
	return fs_create(dir, name, S_IFDIR | ((u32)mode & 07777 & ~022u)) ? 0 : -ENOSPC;
}

static i64 sys_unlinkat(struct proc *p, i64 dirfd, u64 upath, u64 flags)
{
	char name[NAME_MAX_K + 1];
	struct inode *dir;
	int r;

	if (flags & ~(u64)AT_REMOVEDIR)
		return -EINVAL;
	if ((r = parent_at(p, dirfd, upath, &dir, name)) < 0)
		return r == -EEXIST ? -EBUSY : r;
	return fs_unlink(dir, name, flags & AT_REMOVEDIR);
}

static i64 sys_renameat(struct proc *p, i64 odirfd, u64 uold, i64 ndirfd, u64 unew)
{
	char oname[NAME_MAX_K + 1], nname[NAME_MAX_K + 1];
	struct inode *odir, *ndir;
	int r;

	if ((r = parent_at(p, odirfd, uold, &odir, oname)) < 0 ||
	    (r = parent_at(p, ndirfd, unew, &ndir, nname)) < 0)
		return r == -EEXIST ? -EBUSY : r;
	return fs_rename(odir, oname, ndir, nname);
}

static i64 sys_symlinkat(struct proc *p, u64 utarget, i64 dirfd, u64 upath)
{
	char target[PATH_MAX_K], name[NAME_MAX_K + 1];
	struct inode *dir, *ip;
	int r;

	if ((r = get_path(p, utarget, target, false)) < 0)
		return r;
	if ((r = parent_at(p, dirfd, upath, &dir, name)) < 0)
		return r;
	if (fs_lookup(dir, name))
		return -EEXIST;
	if (!(ip = fs_create(dir, name, S_IFLNK | 0777)))
		return dir->pkind ? -EACCES : -ENOSPC;
	if (!(ip->pages = kzalloc()) || !(ip->pages[0] = kzalloc())) {
		fs_unlink(dir, name, false);
		return -ENOSPC;
	}
	memcpy(ip->pages[0], target, strlen(target));
	ip->size = strlen(target);
	return 0;
}

static i64 sys_ftruncate(struct proc *p, u64 fd, i64 len)
{
	struct file *f = fd_file(p, fd);

	if (!f)
		return -EBADF;
	if (len < 0 || !f->ip || (f->flags & O_ACCMODE) == O_RDONLY || f->ip->pkind)
		return -EINVAL;
	return fs_truncate(f->ip, (u64)len);
}

/* chmod: the permission bits (and set-id, sticky); not in /proc. */
static i64 chmod_inode(struct inode *ip, u64 mode)
{
	if (!ip || ip->pkind)
		return -EPERM;
	ip->mode = (ip->mode & S_IFMT) | ((u32)mode & 07777);
	return 0;
}

static i64 sys_fchmodat(struct proc *p, i64 dirfd, u64 upath, u64 mode)
{
	struct inode *ip;
	struct file *f;
	int r;

	if ((r = lookup_at(p, dirfd, upath, 0, &ip, &f)) < 0)
		return r;
	return chmod_inode(ip, mode);
}

static i64 sys_fchmod(struct proc *p, u64 fd, u64 mode)
{
	struct file *f = fd_file(p, fd);

	return f ? chmod_inode(f->ip, mode) : -EBADF;
}

/* chown: every file belongs to root (uid and gid 0, the only user), and
 * stays so: giving it to root (or -1, "unchanged") is all that succeeds.
 * No path (fchown): the file open as dirfd. */
static i64 sys_fchownat(struct proc *p, i64 dirfd, u64 upath, u64 uid, u64 gid, u64 atflags)
{
	struct inode *ip;
	struct file *f;
	int r;

	if (upath && (r = lookup_at(p, dirfd, upath, atflags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW),
				    &ip, &f)) < 0)
		return r;
	if (!upath && !fd_file(p, (u64)dirfd))
		return -EBADF;
	if ((u32)uid && (u32)uid != 0xffffffffu)
		return -EPERM;
	return (u32)gid && (u32)gid != 0xffffffffu ? -EPERM : 0;
}

#define UTIME_NOW ((1l << 30) - 1)
#define UTIME_OMIT ((1l << 30) - 2)

/* utimensat(dirfd, path, times[2], flags): we keep one time, the mtime
 * (times[1]); NULL times or UTIME_NOW: now (the date: CLOCK_REALTIME, misc.c).
 * A NULL path is dirfd's own file (futimens). */
static i64 sys_utimensat(struct proc *p, i64 dirfd, u64 upath, u64 utimes, u64 atflags)
{
	struct inode *ip;
	struct file *f = NULL;
	i64 ts[4] = { 0, UTIME_NOW, 0, UTIME_NOW };
	int r;

	if (utimes && copyin(p->pml4, ts, utimes, sizeof(ts)) < 0)
		return -EFAULT;
	if (!upath) {
		if (!(f = fd_file(p, (u64)dirfd)))
			return -EBADF;
		ip = f->ip;
	} else if ((r = lookup_at(p, dirfd, upath, atflags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW),
				  &ip, &f)) < 0) {
		return r;
	}
	if (!ip || ip->pkind)
		return -EPERM;
	if (ts[3] == UTIME_NOW)
		ip->mtime = (kvmclock_ns() + wall_offset_ns()) / 1000000000; /* the date */
	else if (ts[3] != UTIME_OMIT)
		ip->mtime = (u64)ts[2];
	return 0;
}

/*
 * The file system calls, by their Linux numbers: syscall.c asks here for
 * any number its own switch does not know. true if it was one of ours.
 */
enum {
	NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_stat = 4, NR_fstat = 5,
	NR_lstat = 6, NR_lseek = 8, NR_mprotect = 10, NR_ioctl = 16, NR_pread64 = 17, NR_pwrite64 = 18,
	NR_readv = 19, NR_writev = 20, NR_access = 21, NR_pipe = 22, NR_dup = 32, NR_dup2 = 33,
	NR_fcntl = 72, NR_fsync = 74, NR_fdatasync = 75, NR_ftruncate = 77, NR_getcwd = 79,
	NR_chdir = 80, NR_fchdir = 81, NR_rename = 82, NR_mkdir = 83, NR_rmdir = 84,
	NR_creat = 85, NR_unlink = 87, NR_symlink = 88, NR_readlink = 89, NR_umask = 95,
	NR_getdents64 = 217, NR_openat = 257, NR_mkdirat = 258, NR_newfstatat = 262,
	NR_unlinkat = 263, NR_renameat = 264, NR_symlinkat = 266, NR_readlinkat = 267,
	NR_faccessat = 269, NR_dup3 = 292, NR_pipe2 = 293, NR_preadv = 295, NR_pwritev = 296,
	NR_renameat2 = 316, NR_statx = 332, NR_faccessat2 = 439, NR_chmod = 90, NR_fchmod = 91,
	NR_chown = 92, NR_fchown = 93, NR_lchown = 94, NR_fchownat = 260, NR_fchmodat = 268,
	NR_utimensat = 280, NR_poll = 7, NR_select = 23, NR_pselect6 = 270, NR_ppoll = 271,
};

bool file_syscall(struct proc *p, struct trapframe *tf, i64 *ret)
{
	u64 a0 = tf->rdi, a1 = tf->rsi, a2 = tf->rdx, a3 = tf->r10, a4 = tf->r8;
	i64 r, d0 = (i64)(int)a0, d2 = (i64)(int)a2; /* dirfds are ints */

	switch (tf->rax) {
	case NR_read: r = do_rw(p, a0, a1, a2, false, -1); break;
	case NR_write: r = do_rw(p, a0, a1, a2, true, -1); break;
	case NR_pread64: r = (i64)a3 < 0 ? -EINVAL : do_rw(p, a0, a1, a2, false, (i64)a3); break;
	case NR_pwrite64: r = (i64)a3 < 0 ? -EINVAL : do_rw(p, a0, a1, a2, true, (i64)a3); break;
	case NR_readv: r = do_rwv(p, a0, a1, a2, false, -1); break;
	case NR_writev: r = do_rwv(p, a0, a1, a2, true, -1); break;
	case NR_preadv: r = (i64)a3 < 0 ? -EINVAL : do_rwv(p, a0, a1, a2, false, (i64)a3); break;
	case NR_pwritev: r = (i64)a3 < 0 ? -EINVAL : do_rwv(p, a0, a1, a2, true, (i64)a3); break;
	case NR_open: r = sys_openat(p, AT_FDCWD, a0, a1, a2); break;
	case NR_creat: r = sys_openat(p, AT_FDCWD, a0, O_CREAT | O_WRONLY | O_TRUNC, a1); break;
	case NR_openat: r = sys_openat(p, d0, a1, a2, a3); break;
	case NR_close: r = fd_close(p, a0); break;
	case NR_lseek: r = sys_lseek(p, a0, (i64)a1, a2); break;
	case NR_ioctl: r = sys_ioctl(p, a0, a1, a2); break;
	case NR_dup: r = sys_fcntl(p, a0, F_DUPFD, 0); break;
	case NR_dup2: r = sys_dup3(p, a0, a1, 0, true); break;
	case NR_dup3: r = sys_dup3(p, a0, a1, a2, false); break;
	case NR_fcntl: r = sys_fcntl(p, a0, a1, a2); break;
	case NR_pipe: r = sys_pipe2(p, a0, 0); break;
	case NR_pipe2: r = sys_pipe2(p, a0, a1); break;
	case NR_stat: r = sys_fstatat(p, AT_FDCWD, a0, a1, 0); break;
	case NR_lstat: r = sys_fstatat(p, AT_FDCWD, a0, a1, AT_SYMLINK_NOFOLLOW); break;
	case NR_fstat: r = sys_fstat(p, a0, a1); break;
	case NR_newfstatat: r = sys_fstatat(p, d0, a1, a2, a3); break;
	case NR_statx: r = sys_statx(p, d0, a1, a2, a3, a4); break;
	case NR_getdents64: r = sys_getdents64(p, a0, a1, a2); break;
	case NR_getcwd: r = sys_getcwd(p, a0, a1); break;
	case NR_chdir: r = sys_chdir(p, a0); break;
	case NR_fchdir: r = sys_fchdir(p, a0); break;
	case NR_access: r = sys_faccessat(p, AT_FDCWD, a0, a1, 0); break;
	case NR_faccessat: r = sys_faccessat(p, d0, a1, a2, 0); break;
	case NR_faccessat2: r = sys_faccessat(p, d0, a1, a2, a3); break;
	case NR_readlink: r = sys_readlinkat(p, AT_FDCWD, a0, a1, a2); break;
	case NR_readlinkat: r = sys_readlinkat(p, d0, a1, a2, a3); break;
	case NR_mkdir: r = sys_mkdirat(p, AT_FDCWD, a0, a1); break;
	case NR_mkdirat: r = sys_mkdirat(p, d0, a1, a2); break;
	case NR_unlink: r = sys_unlinkat(p, AT_FDCWD, a0, 0); break;
	case NR_rmdir: r = sys_unlinkat(p, AT_FDCWD, a0, AT_REMOVEDIR); break;
	case NR_unlinkat: r = sys_unlinkat(p, d0, a1, a2); break;
	case NR_rename: r = sys_renameat(p, AT_FDCWD, a0, AT_FDCWD, a1); break;
	case NR_renameat: r = sys_renameat(p, d0, a1, d2, a3); break;
	case NR_renameat2: r = a4 ? -EINVAL : sys_renameat(p, d0, a1, d2, a3); break;
	case NR_symlink: r = sys_symlinkat(p, a0, AT_FDCWD, a1); break;
	case NR_symlinkat: r = sys_symlinkat(p, a0, (i64)(int)a1, a2); break;
	case NR_ftruncate: r = sys_ftruncate(p, a0, (i64)a1); break;
	case NR_fsync: case NR_fdatasync: r = fd_file(p, a0) ? 0 : -EBADF; break;
	case NR_umask: r = 022; break; /* fixed: files get mode & ~022 */
	case NR_chmod: r = sys_fchmodat(p, AT_FDCWD, a0, a1); break;
	case NR_fchmod: r = sys_fchmod(p, a0, a1); break;
	case NR_fchmodat: r = sys_fchmodat(p, d0, a1, a2); break;
	case NR_chown: r = sys_fchownat(p, AT_FDCWD, a0, a1, a2, 0); break;
	case NR_lchown: r = sys_fchownat(p, AT_FDCWD, a0, a1, a2, AT_SYMLINK_NOFOLLOW); break;
	case NR_fchown: r = sys_fchownat(p, (i64)(int)a0, 0, a1, a2, 0); break;
	case NR_fchownat: r = a1 ? sys_fchownat(p, d0, a1, a2, a3, a4) : -EFAULT; break;
	case NR_utimensat: r = sys_utimensat(p, d0, a1, a2, a3); break;
	case NR_poll: r = sys_poll(p, a0, a1, (i64)(int)a2); break;
	case NR_ppoll: r = sys_ppoll(p, a0, a1, a2); break;
	case NR_select: r = sys_select(p, a0, a1, a2, a3, a4, false); break;
	case NR_pselect6: r = sys_select(p, a0, a1, a2, a3, a4, true); break;
	default:
		return false;
	}
	*ret = r;
	return true;
}
