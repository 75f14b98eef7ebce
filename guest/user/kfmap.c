/* kfmap: the teaching kernel's file mappings and exec from the RAM filesystem
 * (tests/integration/t_kernel_fmap.sh). A file in /tmp mapped MAP_SHARED is
 * the file's own memory: a store is what read() returns at once, a write()
 * is what the memory holds, two mappings and a forked child see one
 * another; MAP_PRIVATE is copy-on-write; offsets; SIGBUS past the end of
 * the file; truncate and unlink while mapped give their frames back (free
 * memory, sysinfo); /proc/self/maps names the path, offset and inode;
 * msync; the errors (EACCES, EBADF, ENODEV). Then a copy of this program
 * written into /tmp is exec'd (its pages are scattered in RAM), and a
 * written file that is not a program is -ENOEXEC. Prints "ok: ..." or
 * "FAIL: ..." per check; exits with the number of failures. With the single
 * argument "exec-child" it only says hello and exits with 42. Not one of the
 * book's experiments; runs on Linux too. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096L

static int fails;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	fflush(stdout);
	fails += !ok;
}

/* A byte of the test pattern at file offset i. */
static char pat(long i)
{
	return (char)('a' + (i * 7 + i / PG) % 26);
}

/* A new file of n pattern bytes, open O_RDWR. */
static int make_file(const char *path, long n)
{
	static char buf[PG];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	for (long off = 0; fd >= 0 && off < n; off += PG) {
		long k = n - off < PG ? n - off : PG;

		for (long i = 0; i < k; i++)
			buf[i] = pat(off + i);
		if (write(fd, buf, (size_t)k) != k)
			return -1;
	}
	return fd;
}

static long free_kib(void)
{
	struct sysinfo si;

	return sysinfo(&si) ? -1 : (long)(si.freeram * si.mem_unit / 1024);
}

/* Run fn in a child: its wait status. */
static int in_child(void (*fn)(void *), void *arg)
{
	int st = -1;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return st;
}

static void touch(void *a) { *(volatile char *)a = 'x'; }
static void peek(void *a) { (void)*(volatile char *)a; }

/* The /proc/self/maps line that contains both strings (into line), or 0. */
static int maps_line(const char *a, const char *b, char *line, size_t size)
{
	static char maps[16384];
	int fd = open("/proc/self/maps", O_RDONLY);
	long n = 0, r;

	if (fd < 0)
		return 0;
	while ((r = read(fd, maps + n, sizeof(maps) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	maps[n] = 0;
	for (char *s = strtok(maps, "\n"); s; s = strtok(NULL, "\n"))
		if (strstr(s, a) && strstr(s, b)) {
			snprintf(line, size, "%s", s);
			return 1;
		}
	return 0;
}

static void shared_tests(void)
{
	const long n = 3 * PG + 100;
	int fd = make_file("/tmp/fm-shared", n), ok = 1;
	char buf[16], *m, *m2, *off;

	check(fd >= 0, "a file of 3 pages + 100 bytes in /tmp");
	m = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(m != MAP_FAILED, "mmap MAP_SHARED read+write");
	if (m == MAP_FAILED)
		return;
	for (long i = 0; i < n; i++)
		ok &= m[i] == pat(i);
	check(ok, "the mapping holds the file's bytes, every page");
	check(m[n] == 0 && m[4 * PG - 1] == 0, "past the end in the last page: zeros");
	memcpy(m + PG + 10, "STORE", 5);
	check(pread(fd, buf, 5, PG + 10) == 5 && !memcmp(buf, "STORE", 5),
	      "a store into the memory is what read() gives at once");
	check(pwrite(fd, "WRITE", 5, 2 * PG + 3) == 5 && !memcmp(m + 2 * PG + 3, "WRITE", 5),
	      "a write() is what the memory holds at once");
	m2 = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(m2 != MAP_FAILED && m2 != m && !memcmp(m2 + PG + 10, "STORE", 5),
	      "a second shared mapping sees the first one's store");
	if (m2 != MAP_FAILED) {
		m2[7] = '#';
		check(m[7] == '#', "and the first sees the second's");
		munmap(m2, (size_t)n);
	}
	off = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 2 * PG);
	check(off != MAP_FAILED && off[0] == pat(2 * PG) && !memcmp(off + 3, "WRITE", 5),
	      "mmap at offset 2 pages: page 2 of the file");
	check(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 100) == MAP_FAILED && errno == EINVAL,
	      "an offset not page-aligned: EINVAL");
	{
		char line[256], ino[32];
		struct stat st;

		fstat(fd, &st);
		snprintf(ino, sizeof(ino), " %lu ", (unsigned long)st.st_ino);
		check(maps_line("/tmp/fm-shared", " rw-s 00000000 ", line, sizeof(line)) &&
		      strstr(line, ino), "/proc/self/maps: rw-s, offset 0, the inode, the path");
		check(maps_line("/tmp/fm-shared", " r--s 00002000 ", line, sizeof(line)),
		      "/proc/self/maps: the offset mapping says 00002000");
	}
	/* fork: the child's store into the shared mapping is the parent's file. */
	{
		int st = -1;
		pid_t pid = fork();

		if (pid == 0) {
			memcpy(m + 3 * PG, "CHILD", 5);
			_exit(0);
		}
		waitpid(pid, &st, 0);
		check(st == 0 && pread(fd, buf, 5, 3 * PG) == 5 && !memcmp(buf, "CHILD", 5),
		      "a forked child's store is in the file");
	}
	check(msync(m, (size_t)n, MS_SYNC) == 0, "msync MS_SYNC");
	check(msync(m, PG, MS_SYNC | MS_ASYNC) == -1 && errno == EINVAL, "msync SYNC|ASYNC: EINVAL");
	check(munmap(m, (size_t)n) == 0 && munmap(off, 2 * PG) == 0, "munmap");
	check(msync(m, PG, MS_SYNC) == -1 && errno == ENOMEM, "msync of what is unmapped: ENOMEM");
	check(pread(fd, buf, 5, PG + 10) == 5 && !memcmp(buf, "STORE", 5),
	      "after munmap the file keeps the store");
	close(fd);
}

static void private_tests(void)
{
	int fd = make_file("/tmp/fm-private", 2 * PG), st;
	char buf[8], *p, *s;

	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED && s != MAP_FAILED && p[5] == pat(5) && p[PG] == pat(PG),
	      "MAP_PRIVATE holds the file's bytes");
	if (p == MAP_FAILED || s == MAP_FAILED)
		return;
	p[5] = '!';
	check(pread(fd, buf, 1, 5) == 1 && buf[0] == pat(5) && s[5] == pat(5),
	      "a store into MAP_PRIVATE: copy-on-write, the file and shared mapping unchanged");
	check(p[5] == '!', "the private copy keeps the store");
	st = in_child(touch, p + PG);
	check(st == 0 && p[PG] == pat(PG) && s[PG] == pat(PG),
	      "a forked child's store into MAP_PRIVATE is its own");
	{
		char line[256];

		check(maps_line("/tmp/fm-private", " rw-p ", line, sizeof(line)),
		      "/proc/self/maps: rw-p for the private mapping");
	}
	munmap(p, 2 * PG);
	munmap(s, 2 * PG);
	close(fd);
	unlink("/tmp/fm-private");
	/* read-only opens: a private writable mapping is fine, a shared one not */
	fd = open("/tmp/fm-shared", O_RDONLY);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check(p != MAP_FAILED, "O_RDONLY: MAP_PRIVATE with PROT_WRITE is allowed");
	if (p != MAP_FAILED) {
		p[0] = 'Q';
		check(pread(fd, buf, 1, 0) == 1 && buf[0] != 'Q', "its store stays private");
		munmap(p, PG);
	}
	check(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED &&
	      errno == EACCES, "O_RDONLY: MAP_SHARED with PROT_WRITE is EACCES");
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED && mprotect(p, PG, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
	      "O_RDONLY: mprotect cannot make MAP_SHARED writable (EACCES)");
	if (p != MAP_FAILED)
		munmap(p, PG);
	close(fd);
	fd = open("/tmp/fm-shared", O_WRONLY);
	check(mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EACCES,
	      "O_WRONLY: EACCES");
	close(fd);
	check(mmap(NULL, PG, PROT_READ, MAP_SHARED, 55, 0) == MAP_FAILED && errno == EBADF,
	      "a bad fd: EBADF");
	{
		int pfd[2];

		pipe(pfd);
		check(mmap(NULL, PG, PROT_READ, MAP_SHARED, pfd[0], 0) == MAP_FAILED &&
		      errno == ENODEV, "a pipe: ENODEV");
		close(pfd[0]), close(pfd[1]);
	}
}

/* A file of the initramfs, mapped: private and shared. */
static void initramfs_tests(const char *self)
{
	int fd = open(self, O_RDONLY);
	char *p = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	char *s = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, PG);
	char buf[16];

	check(p != MAP_FAILED && !memcmp(p, "\177ELF", 4), "this program's file, MAP_PRIVATE: \\177ELF");
	check(s != MAP_FAILED && pread(fd, buf, 16, PG) == 16 && !memcmp(s, buf, 16),
	      "this program's file at offset 1 page, MAP_SHARED: what read() gives");
	if (p != MAP_FAILED)
		munmap(p, 2 * PG);
	if (s != MAP_FAILED)
		munmap(s, PG);
	close(fd);
	{
		/* exec maps the program's segments from its file (demand loading) */
		char line[256], ino[32];
		struct stat st;

		stat(self, &st);
		snprintf(ino, sizeof(ino), " %lu ", (unsigned long)st.st_ino);
		check(maps_line(self, " r-xp ", line, sizeof(line)) && strstr(line, ino),
		      "/proc/self/maps: this program's text is its file's (r-xp, its inode)");
	}
	check(open(self, O_RDWR) == -1 && errno == ETXTBSY && open(self, O_WRONLY | O_TRUNC) == -1 &&
	      errno == ETXTBSY, "this running program's file: open for writing, O_TRUNC: ETXTBSY");
}

/* /big (when the test's archive has it): 3 MiB of 'B', more than a RAM
 * file holds (2 MiB), so it stays the archive's: a read-only shared
 * mapping gets copies of its pages, a writable one SIGBUS there. */
static void big_tests(void)
{
	int fd = open("/big", O_RDWR), st;
	char *m;

	if (fd < 0)
		return;
	m = mmap(NULL, 3 << 20, PROT_READ, MAP_SHARED, fd, 0);
	check(m != MAP_FAILED && m[(5 << 20) / 2] == 'B' && m[0] == 'B',
	      "/big (3 MiB of the archive): MAP_SHARED read-only reads past 2 MiB");
	if (m != MAP_FAILED)
		munmap(m, 3 << 20);
	m = mmap(NULL, 3 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	st = m == MAP_FAILED ? -1 : in_child(peek, m + (5 << 20) / 2);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS,
	      "/big: MAP_SHARED writable past what a RAM file holds: SIGBUS");
	if (m != MAP_FAILED)
		munmap(m, 3 << 20);
	close(fd);
}

/* SIGBUS past the end; truncate and unlink while mapped give frames back. */
static void end_tests(void)
{
	const long big = 256 * PG; /* 1 MiB */
	int fd = make_file("/tmp/fm-small", 100), st;
	char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	long before, after;

	check(m != MAP_FAILED && m[99] == pat(99) && m[100] == 0, "a 100-byte file mapped 3 pages");
	st = in_child(peek, m + PG);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "reading the page past the end: SIGBUS");
	st = in_child(touch, m + 2 * PG + 5);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "writing two pages past the end: SIGBUS");
	check(ftruncate(fd, 2 * PG) == 0 && m[PG] == 0 && (m[PG + 1] = 'g') == 'g',
	      "ftruncate grows the file: that page maps now");
	munmap(m, 3 * PG);
	close(fd);
	unlink("/tmp/fm-small");

	fd = make_file("/tmp/fm-big", big);
	m = mmap(NULL, (size_t)big, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	for (long i = 0; m != MAP_FAILED && i < big; i += PG)
		m[i] = 'T';
	before = free_kib();
	check(ftruncate(fd, PG) == 0, "ftruncate 1 MiB -> 1 page while mapped");
	after = free_kib();
	printf("  truncate: free %ld KiB -> %ld KiB\n", before, after);
	check(after - before >= 1000, "truncate while mapped: the 255 pages' frames are free again");
	check(m[0] == 'T', "the page below the new end is still the file's");
	st = in_child(peek, m + 10 * PG);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "a page past the new end: SIGBUS");
	munmap(m, (size_t)big);
	close(fd);
	unlink("/tmp/fm-big");

	fd = make_file("/tmp/fm-gone", big);
	m = mmap(NULL, (size_t)big, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	for (long i = 0; m != MAP_FAILED && i < big; i += PG)
		m[i] = 'U';
	close(fd);
	before = free_kib();
	check(unlink("/tmp/fm-gone") == 0 && m[5 * PG] == 'U' && m[5 * PG + 1] == pat(5 * PG + 1),
	      "unlink while mapped: the memory is still the file's");
	{
		char line[256];

		check(maps_line("/tmp/fm-gone", "(deleted)", line, sizeof(line)),
		      "/proc/self/maps: /tmp/fm-gone (deleted)");
	}
	check(free_kib() - before < 64, "unlink while mapped frees nothing yet");
	munmap(m, (size_t)big);
	after = free_kib();
	printf("  unlink + munmap: free %ld KiB -> %ld KiB\n", before, after);
	check(after - before >= 1000, "the last munmap gives the 256 pages back");
}

/* Copy this program into /tmp and exec it from there. */
static void exec_tests(const char *self)
{
	static char buf[PG + 17]; /* an odd size: the copy's pages do not line up */
	int in = open(self, O_RDONLY), out = open("/tmp/fm-prog", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	long r, total = 0;
	int st = -1, ok = 1;
	pid_t pid;

	while (in >= 0 && out >= 0 && (r = read(in, buf, sizeof(buf))) > 0) {
		ok &= write(out, buf, (size_t)r) == r;
		total += r;
	}
	close(in);
	close(out);
	check(ok && total > 4 * PG, "this program copied into /tmp/fm-prog");
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "/tmp/fm-prog", "exec-child", NULL };

		execv(argv[0], argv);
		_exit(errno);
	}
	waitpid(pid, &st, 0);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "execve of a program written into /tmp runs it");
	out = open("/tmp/fm-text", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	write(out, "not a program\n", 14);
	close(out);
	{
		char *argv[] = { "/tmp/fm-text", NULL };

		check(execv(argv[0], argv) == -1 && errno == ENOEXEC, "execve of a text file: ENOEXEC");
	}
	unlink("/tmp/fm-prog");
	unlink("/tmp/fm-text");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "exec-child")) {
		printf("exec-child: running from %s\n", argv[0]);
		return 42;
	}
	shared_tests();
	private_tests();
	initramfs_tests(argv[0]);
	end_tests();
	big_tests();
	exec_tests(argv[0]);
	unlink("/tmp/fm-shared");
	printf("kfmap: %d failures\n", fails);
	return fails;
}
