/*
 * fs.h - what the file code (file.c, fs.c, pipe.c, procfs.c) shares: inodes,
 * open files and their operations, Linux's errno values and mode bits.
 *
 * A process holds open files by number (its fd table, struct proc's ofile[]).
 * An open file (struct file) is an offset, the open flags and a table of
 * operations; fork and dup share it (a reference count). Most files are an
 * inode of the in-memory tree fs.c builds from the initramfs; a pipe has no
 * inode; a /proc file is a buffer of text made when it was opened.
 */
#ifndef KERNEL_FS_H
#define KERNEL_FS_H

#include "kernel.h"

#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EXDEV 18
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define ENOTTY 25
#define ETXTBSY 26
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define EROFS 30
#define EPIPE 32
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOTEMPTY 39
#define ELOOP 40

/* st_mode: the type bits and the permission bits */
#define S_IFMT 0170000
#define S_IFIFO 0010000
#define S_IFCHR 0020000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFLNK 0120000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
#define S_ISCHR(m) (((m) & S_IFMT) == S_IFCHR)

/* open() flags (octal, as Linux x86_64 has them) */
#define O_ACCMODE 03
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define O_PATH 010000000

#define PATH_MAX_K 256 /* the longest path we copy in (Linux: 4096) */
#define NAME_MAX_K 255

/* Devices, by their Linux numbers (major << 8 | minor). */
#define DEV_NULL 0x103
#define DEV_ZERO 0x105
#define DEV_TTY 0x500
#define DEV_CONSOLE 0x501
#define DEV_MARKER 0xaf0 /* 10:240, a misc minor Linux leaves for local use: kvmlab's marker port */

struct inode {
	u32 ino, mode, nlink;
	u32 ref;             /* open files and cwds that hold it */
	u64 size, mtime;     /* bytes; seconds since 1970 */
	const u8 *rodata;    /* the contents while still the initramfs's (never written) */
	u8 **pages;          /* the contents in RAM once written: one page of page pointers */
	char *name;          /* in its directory (kmalloc) */
	struct inode *parent, *child, *next; /* the tree: a directory's entries, in order */
	u32 rdev;            /* a device: DEV_* */
	u8 pkind;            /* /proc: what it is (procfs.c), 0 elsewhere */
	int ppid;            /* /proc/PID/...: that pid */
	int pfd;             /* /proc/PID/fd/N: that fd */
	u32 nexec;           /* program segments (mm.c's VMAs) that map it: no writing (ETXTBSY) */
};

struct file;
struct proc;
struct fileops {
	/* read/write at `off` (ignored by pipes and devices); bytes or -errno */
	i64 (*read)(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off);
	i64 (*write)(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off);
	i64 (*lseek)(struct file *f, i64 off, int whence); /* NULL: -ESPIPE */
	void (*stat)(struct file *f, u32 *mode, u64 *size); /* NULL: the inode's */
	i64 (*getdents)(struct file *f, struct proc *p, u64 ubuf, u64 n); /* NULL: -ENOTDIR */
	i64 (*ioctl)(struct file *f, struct proc *p, u64 req, u64 arg); /* NULL: -ENOTTY */
	void (*close)(struct file *f); /* the last reference went */
	u32 (*poll)(struct file *f); /* POLLIN | POLLOUT | POLLHUP | POLLERR now; NULL: IN | OUT */
};
#define POLLIN 0x1
#define POLLOUT 0x4
#define POLLERR 0x8
#define POLLHUP 0x10
#define POLLNVAL 0x20
extern int poll_chan; /* poll and select sleep here; pipes wake it */

struct pipe;
struct file {
	u32 ref;
	u32 flags;           /* O_ACCMODE | O_APPEND | O_NONBLOCK */
	u64 off;
	const struct fileops *ops;
	struct inode *ip;    /* NULL for a pipe */
	struct pipe *pipe;
	char *buf;           /* /proc: the text made at open (one page) */
	u64 len;
};

/* file.c */
struct file *file_alloc(const struct fileops *ops, u32 flags);
void file_put(struct file *f);
int fd_install(struct proc *p, struct file *f, int min, bool cloexec);
i64 generic_lseek(struct file *f, i64 off, int whence, u64 size);
i64 put_dirent(struct proc *p, u64 ubuf, u64 room, u64 ino, i64 next, u8 type,
	       const char *name);
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_REG 8
#define DT_LNK 10
u8 dtype(u32 mode);

/* fs.c */
extern struct inode *fs_root;
void fs_init(void);
int fs_walk(struct inode *start, const char *path, bool follow, struct inode **out);
int fs_walk_parent(struct inode *start, const char *path, struct inode **dir, char *name);
struct inode *fs_lookup(struct inode *dir, const char *name);
i64 fs_readlink(struct inode *ip, char *buf, u64 size);
long fs_path(struct inode *ip, char *buf, u64 size);
struct inode *fs_create(struct inode *dir, const char *name, u32 mode);
int fs_unlink(struct inode *dir, const char *name, bool rmdir);
int fs_rename(struct inode *odir, const char *oname, struct inode *ndir, const char *nname);
int fs_truncate(struct inode *ip, u64 size);
i64 fs_read(struct inode *ip, struct proc *p, u64 ubuf, u64 n, u64 off);
i64 fs_write(struct inode *ip, struct proc *p, u64 ubuf, u64 n, u64 off);
void fs_iput(struct inode *ip); /* drop a reference: an unlinked inode goes */
int fs_open(struct inode *ip, u32 flags, struct file **out);
u64 fs_kread(struct inode *ip, void *dst, u64 n, u64 off); /* into kernel memory */
int fs_page(struct inode *ip, u64 idx, u64 *pa); /* mmap: the frame of page idx */
struct file *file_get(struct proc *p, u64 fd); /* file.c: fd's open file, or NULL */
void mm_file_truncated(struct inode *ip); /* mm.c: mappings drop pages past the new end */
extern const struct fileops tty_fops;

/* pipe.c */
int pipe_create(struct file **rf, struct file **wf);

/* poll.c */
i64 sys_poll(struct proc *p, u64 ufds, u64 nfds, i64 timeout_ms);
i64 sys_ppoll(struct proc *p, u64 ufds, u64 nfds, u64 uts);
i64 sys_select(struct proc *p, u64 nfds, u64 ur, u64 uw, u64 ue, u64 utv, bool timespec);

/* procfs.c */
#define PROC_ROOT 1
#define PROC_SELF 2
bool procfs_dir(struct inode *dir);
struct inode *procfs_lookup(struct inode *dir, const char *name);
i64 procfs_readlink(struct inode *ip, char *buf, u64 size);
int procfs_open(struct inode *ip, u32 flags, struct file **out);
extern const struct fileops procdir_fops;
int ksnprintf(char *buf, long size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
