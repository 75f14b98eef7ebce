/* kfiles: the teaching kernel's files (tests/integration/t_kernel_files.sh):
 * reading, seeking and stat'ing a file of the initramfs, listing a directory,
 * a symbolic link, pipes between a parent and a child (data, end of file,
 * EPIPE, O_NONBLOCK), dup2 redirection into a new file in /tmp, close-on-exec
 * across execve, bad fds and pointers (EBADF, EFAULT), the writable tree
 * (mkdir, rename, unlink, chdir/getcwd), /proc/self/stat and /proc/meminfo.
 * The initramfs holds /etc/motd ("hello files\n"), /dir/{a,b,sub/} and
 * /link -> etc/motd. Prints "ok: ..." or "FAIL: ..." per check; exits with
 * the number of failures. Not one of the book's experiments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

static int fails;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	fails += !ok;
}

static void file_tests(void)
{
	char buf[64] = { 0 };
	struct stat st;
	int fd = open("/etc/motd", O_RDONLY);

	check(fd >= 3, "open /etc/motd gives the lowest free fd, 3");
	check(read(fd, buf, sizeof(buf)) == 12 && !strcmp(buf, "hello files\n"),
	      "read gives the file's 12 bytes");
	check(read(fd, buf, sizeof(buf)) == 0, "read at the end gives 0");
	check(lseek(fd, 6, SEEK_SET) == 6 && read(fd, buf, 5) == 5 && !memcmp(buf, "files", 5),
	      "lseek 6 then read gives \"files\"");
	check(lseek(fd, -2, SEEK_END) == 10, "lseek -2 from the end is 10");
	check(pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5) && lseek(fd, 0, SEEK_CUR) == 10,
	      "pread at 0 leaves the offset");
	check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 12, "fstat: regular, 12 bytes");
	check(close(fd) == 0 && close(fd) == -1 && errno == EBADF, "close twice: EBADF");
	check(open("/etc/none", O_RDONLY) == -1 && errno == ENOENT, "a missing file: ENOENT");
	check(open("/etc/motd/x", O_RDONLY) == -1 && errno == ENOTDIR, "a file as a directory: ENOTDIR");
}

static void dir_tests(void)
{
	DIR *d = opendir("/dir");
	struct dirent *e;
	int a = 0, b = 0, sub = 0, dots = 0, other = 0;

	check(d != NULL, "opendir /dir");
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, "a") && e->d_type == DT_REG)
			a++;
		else if (!strcmp(e->d_name, "b") && e->d_type == DT_REG)
			b++;
		else if (!strcmp(e->d_name, "sub") && e->d_type == DT_DIR)
			sub++;
		else if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			dots++;
		else
			other++;
	}
	if (d)
		closedir(d);
	printf("getdents64 /dir: a %d, b %d, sub %d, dots %d, other %d\n", a, b, sub, dots, other);
	check(a == 1 && b == 1 && sub == 1 && dots == 2 && !other, "getdents64 lists /dir");
}

static void link_tests(void)
{
	char buf[64] = { 0 };
	struct stat st, lst;
	int fd;

	check(lstat("/link", &lst) == 0 && S_ISLNK(lst.st_mode), "lstat /link: a symbolic link");
	check(stat("/link", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 12,
	      "stat /link follows it: 12 bytes");
	check(readlink("/link", buf, sizeof(buf)) == 8 && !memcmp(buf, "etc/motd", 8),
	      "readlink /link is etc/motd");
	fd = open("/link", O_RDONLY);
	memset(buf, 0, sizeof(buf));
	check(fd >= 0 && read(fd, buf, 5) == 5 && !memcmp(buf, "hello", 5), "open through the link");
	close(fd);
	check(open("/link", O_RDONLY | O_NOFOLLOW) == -1 && errno == ELOOP, "O_NOFOLLOW: ELOOP");
	check(stat("/dir/sub/../../link", &st) == 0 && st.st_size == 12, "\"..\" in a path");
}

static void pipe_tests(void)
{
	int p[2], status = -1;
	char buf[16] = { 0 };
	pid_t pid;

	check(pipe(p) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		write(p[1], "ping", 4);
		_exit(0);
	}
	close(p[1]);
	check(read(p[0], buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4),
	      "the child's data arrives through the pipe");
	check(read(p[0], buf, sizeof(buf)) == 0, "EOF once the child (the last writer) is gone");
	waitpid(pid, &status, 0);
	close(p[0]);

	/* More than the pipe holds: the writer sleeps until the reader reads. */
	check(pipe(p) == 0, "a pipe for 100000 bytes");
	pid = fork();
	if (pid == 0) {
		static char big[100000];

		close(p[0]);
		memset(big, 'z', sizeof(big));
		_exit(write(p[1], big, sizeof(big)) == sizeof(big) ? 0 : 1);
	}
	close(p[1]);
	{
		long total = 0, n, zs = 0;
		char chunk[1000];

		while ((n = read(p[0], chunk, sizeof(chunk))) > 0) {
			total += n;
			for (long i = 0; i < n; i++)
				zs += chunk[i] == 'z';
		}
		waitpid(pid, &status, 0);
		printf("pipe: read %ld bytes, child status %d\n", total, status);
		check(total == 100000 && zs == total && WIFEXITED(status) && !WEXITSTATUS(status),
		      "100000 bytes through a one-page pipe, in order of sleeps and wakeups");
	}
	close(p[0]);

	check(pipe(p) == 0, "a pipe without a reader");
	close(p[0]);
	if ((pid = fork()) == 0) { /* SIGPIPE's default action ends the writer */
		signal(SIGPIPE, SIG_DFL);
		write(p[1], "x", 1);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	close(p[1]);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE,
	      "writing with no reader: killed by SIGPIPE (its default action)");

	signal(SIGPIPE, SIG_IGN);
	check(pipe(p) == 0, "a second pipe");
	close(p[0]);
	check(write(p[1], "x", 1) == -1 && errno == EPIPE, "writing with no reader: EPIPE");
	close(p[1]);

	check(pipe2(p, O_NONBLOCK) == 0, "pipe2 O_NONBLOCK");
	check(read(p[0], buf, 1) == -1 && errno == EAGAIN, "empty and non-blocking: EAGAIN");
	{
		static char big[8192];
		long n = write(p[1], big, sizeof(big));

		check(n > 0 && n < (long)sizeof(big), "a full non-blocking pipe takes part of a write");
		check(write(p[1], big, 1) == -1 && errno == EAGAIN, "then EAGAIN");
	}
	close(p[0]);
	close(p[1]);
}

static void dup_tests(void)
{
	char buf[64] = { 0 };
	int saved = dup(1), fd = open("/tmp/out", O_CREAT | O_WRONLY | O_TRUNC, 0644);

	int r;

	check(fd >= 0, "create /tmp/out");
	fflush(stdout);
	r = dup2(fd, 1); /* stdout is /tmp/out until the dup2 back */
	write(1, "redirected\n", 11);
	dup2(saved, 1);
	check(r == 1, "dup2 onto stdout");
	close(saved);
	close(fd);
	fd = open("/tmp/out", O_RDONLY);
	check(fd >= 0 && read(fd, buf, sizeof(buf)) == 11 && !strcmp(buf, "redirected\n"),
	      "stdout's write went into /tmp/out");
	close(fd);
	fd = open("/tmp/out", O_WRONLY | O_APPEND);
	write(fd, "more\n", 5);
	close(fd);
	{
		struct stat st;

		check(stat("/tmp/out", &st) == 0 && st.st_size == 16, "O_APPEND appends");
	}
	fd = open("/etc/motd", O_RDONLY);
	check(fcntl(fd, F_DUPFD, 20) == 20 && fcntl(20, F_GETFD) == 0, "F_DUPFD from 20");
	check(fcntl(fd, F_DUPFD_CLOEXEC, 0) > fd, "F_DUPFD_CLOEXEC");
	check(dup3(fd, fd, 0) == -1 && errno == EINVAL, "dup3 onto itself: EINVAL");
	check(dup2(fd, fd) == fd, "dup2 onto itself");
}

static void bad_tests(void)
{
	char buf[8];
	int fd = open("/etc/motd", O_RDONLY);

	check(read(99, buf, 1) == -1 && errno == EBADF, "read(99): EBADF");
	check(read(-1, buf, 1) == -1 && errno == EBADF, "read(-1): EBADF");
	check(write(fd, "x", 1) == -1 && errno == EBADF, "write to a read-only fd: EBADF");
	check(read(fd, (void *)0x10, 4) == -1 && errno == EFAULT, "read into 0x10: EFAULT");
	check(syscall(SYS_open, (char *)0x10, O_RDONLY) == -1 && errno == EFAULT, "open(0x10): EFAULT");
	check(syscall(SYS_fstat, fd, (void *)0x10) == -1 && errno == EFAULT, "fstat into 0x10: EFAULT");
	check(syscall(SYS_pipe, (int *)0x10) == -1 && errno == EFAULT, "pipe(0x10): EFAULT");
	check(lseek(0, 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek on the console: ESPIPE");
	check(fcntl(fd, 9999) == -1 && errno == EINVAL, "an unknown fcntl: EINVAL");
	close(fd);
}

static void tree_tests(void)
{
	char cwd[64];
	struct stat st;
	int fd;

	check(mkdir("/tmp/d", 0755) == 0 && stat("/tmp/d", &st) == 0 && S_ISDIR(st.st_mode),
	      "mkdir /tmp/d");
	check(mkdir("/tmp/d", 0755) == -1 && errno == EEXIST, "mkdir again: EEXIST");
	check(chdir("/tmp/d") == 0 && getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/tmp/d"),
	      "chdir /tmp/d, getcwd");
	fd = open("f", O_CREAT | O_WRONLY, 0644);
	check(fd >= 0 && write(fd, "abc", 3) == 3, "create a file relative to the cwd");
	close(fd);
	check(rename("f", "/tmp/g") == 0 && access("/tmp/g", F_OK) == 0 && access("f", F_OK) == -1,
	      "rename it to /tmp/g");
	check(rmdir("/tmp/d") == 0, "rmdir the (empty) cwd");
	check(chdir("/") == 0 && unlink("/tmp/g") == 0 && access("/tmp/g", F_OK) == -1 && errno == ENOENT,
	      "unlink /tmp/g");
	{
		static char big[10000], back[10000];
		char z[4] = { 1, 1, 1, 1 };

		for (int i = 0; i < (int)sizeof(big); i++)
			big[i] = (char)(i * 7);
		fd = open("/tmp/big", O_CREAT | O_RDWR | O_EXCL, 0600);
		check(fd >= 0 && write(fd, big, sizeof(big)) == sizeof(big) &&
		      pread(fd, back, sizeof(back), 0) == sizeof(back) && !memcmp(big, back, sizeof(big)),
		      "10000 bytes over three pages, read back");
		check(open("/tmp/big", O_CREAT | O_EXCL | O_RDWR, 0600) == -1 && errno == EEXIST,
		      "O_EXCL on an existing file: EEXIST");
		check(lseek(fd, 20000, SEEK_SET) == 20000 && write(fd, "e", 1) == 1 &&
		      pread(fd, z, 4, 12000) == 4 && !z[0] && !z[1] && !z[2] && !z[3],
		      "a write past the end leaves zeros in the hole");
		check(ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5, "ftruncate to 5");
		check(unlink("/tmp/big") == 0 && access("/tmp/big", F_OK) == -1 &&
		      pread(fd, back, 10, 0) == 5 && !memcmp(back, big, 5),
		      "an unlinked file stays readable while open");
		close(fd);
	}
	{
		/* No pages leak: a 40000-byte file made and removed twice (the
		 * first time warms the kernel's small-object heap up). */
		static char blob[40000];
		unsigned long before = 0;

		for (int round = 0; round < 2; round++) {
			struct sysinfo si;

			sysinfo(&si);
			if (round == 1)
				before = si.freeram;
			fd = open("/tmp/blob", O_CREAT | O_WRONLY, 0600);
			write(fd, blob, sizeof(blob));
			close(fd);
			unlink("/tmp/blob");
		}
		{
			struct sysinfo si;

			sysinfo(&si);
			printf("free memory before and after a 40000-byte file: %s\n",
			       si.freeram == before ? "same" : "differs");
			check(si.freeram == before, "a removed file's pages come back");
		}
	}
	check(unlink("/dir") == -1 && errno == EISDIR, "unlink a directory: EISDIR");
	check(rmdir("/dir") == -1 && errno == ENOTEMPTY, "rmdir a full one: ENOTEMPTY");
	check(access("/kfiles", X_OK) == 0 && access("/etc/motd", X_OK) == -1, "access X_OK");
	check(chmod("/etc/motd", 0755) == 0 && stat("/etc/motd", &st) == 0 &&
	      (st.st_mode & 07777) == 0755 && S_ISREG(st.st_mode) && access("/etc/motd", X_OK) == 0,
	      "chmod 0755 makes it executable");
	fd = open("/etc/motd", O_RDONLY);
	check(fchmod(fd, 0644) == 0 && access("/etc/motd", X_OK) == -1, "fchmod 0644");
	close(fd);
	{
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1234567, 0 } };

		check(utimensat(AT_FDCWD, "/etc/motd", ts, 0) == 0 && stat("/etc/motd", &st) == 0 &&
		      st.st_mtime == 1234567, "utimensat sets the mtime");
	}
	check(chown("/etc/motd", 0, 0) == 0 && chown("/etc/motd", 1000, 1000) == -1 && errno == EPERM,
	      "chown: root's, and only root's");
}

/* 52 fields: pid (comm) state ppid ... */
static void proc_tests(void)
{
	char buf[1024] = { 0 }, want[64], link[16] = { 0 };
	int fd = open("/proc/self/stat", O_RDONLY), n = 0, fields = 0;
	long total = 0, free_ = 0, avail = 0;
	FILE *f;

	if (fd >= 0)
		n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	printf("/proc/self/stat: %s", buf);
	snprintf(want, sizeof(want), "%d (kfiles) R %d ", getpid(), getppid());
	check(n > 0 && !strncmp(buf, want, strlen(want)), "/proc/self/stat starts pid (comm) R ppid");
	for (char *s = strchr(buf, ')'); s && *s; s++)
		if (*s == ' ')
			fields++;
	check(fields == 50, "/proc/self/stat has 52 fields (50 after the comm)");
	snprintf(want, sizeof(want), "%d", getpid());
	check(readlink("/proc/self", link, sizeof(link)) > 0 && !strcmp(link, want),
	      "/proc/self is a link to our pid");
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		sscanf(buf, "MemTotal: %ld kB", &total);
		sscanf(buf, "MemFree: %ld kB", &free_);
		sscanf(buf, "MemAvailable: %ld kB", &avail);
	}
	if (f)
		fclose(f);
	printf("/proc/meminfo: MemTotal %ld kB, MemFree %ld kB\n", total, free_);
	check(total > 1024 && free_ > 0 && free_ < total && avail > 0, "/proc/meminfo parses");
	snprintf(want, sizeof(want), "/proc/%d/cmdline", getpid());
	fd = open(want, O_RDONLY);
	n = fd >= 0 ? (int)read(fd, buf, sizeof(buf)) : -1;
	close(fd);
	check(n == 8 && !memcmp(buf, "/kfiles", 8), "/proc/PID/cmdline is our argv, NUL-ended");
	check(open("/proc/meminfo", O_WRONLY) == -1 && errno == EACCES, "/proc is read-only");
	{
		/* Another process, asleep in a pipe read: S in its stat and status. */
		int pp[2], st;
		pid_t child;
		char path[64], text[512] = { 0 };

		pipe(pp);
		child = fork();
		if (child == 0) {
			read(pp[0], &st, 1);
			_exit(0);
		}
		sched_yield(); /* let it run into its read */
		snprintf(path, sizeof(path), "/proc/%d/stat", child);
		fd = open(path, O_RDONLY);
		read(fd, text, sizeof(text) - 1);
		close(fd);
		snprintf(want, sizeof(want), "%d (kfiles) S %d ", child, getpid());
		check(!strncmp(text, want, strlen(want)), "a child asleep in a pipe read: S in /proc/PID/stat");
		snprintf(path, sizeof(path), "/proc/%d/status", child);
		fd = open(path, O_RDONLY);
		memset(text, 0, sizeof(text));
		read(fd, text, sizeof(text) - 1);
		close(fd);
		snprintf(want, sizeof(want), "State:\tS (sleeping)\nTgid:\t%d\n", child);
		check(strstr(text, "Name:\tkfiles\n") && strstr(text, want) && strstr(text, "VmRSS:"),
		      "its /proc/PID/status: Name, State, VmRSS");
		write(pp[1], "x", 1);
		waitpid(child, &st, 0);
		close(pp[0]);
		close(pp[1]);
		check(access(path, F_OK) == -1 && errno == ENOENT, "once reaped, /proc/PID is gone");
	}
	fd = open("/etc/motd", O_RDONLY);
	snprintf(want, sizeof(want), "/proc/self/fd/%d", fd);
	memset(buf, 0, sizeof(buf));
	check(readlink(want, buf, sizeof(buf)) == 9 && !strcmp(buf, "/etc/motd"),
	      "/proc/self/fd/N links to the open file's path");
	close(fd);
	memset(buf, 0, sizeof(buf));
	check(readlink("/proc/self/fd/0", buf, sizeof(buf)) > 0 && !strcmp(buf, "/dev/console"),
	      "fd 0 is /dev/console");
	check(readlink("/proc/self/fd/60", buf, sizeof(buf)) == -1 && errno == ENOENT,
	      "no link for a closed fd");
	fd = open("/dev/stdout", O_WRONLY);
	check(fd >= 0 && write(fd, "through /dev/stdout\n", 20) == 20,
	      "/dev/stdout -> /proc/self/fd/1 -> /dev/console");
	close(fd);
	{
		DIR *d = opendir("/proc");
		struct dirent *e;
		int self = 0, mine = 0;

		while (d && (e = readdir(d))) {
			self += !strcmp(e->d_name, "self");
			mine += atoi(e->d_name) == getpid();
		}
		if (d)
			closedir(d);
		check(self == 1 && mine >= 1, "/proc lists self and our pid");
	}
}

static void poll_tests(void)
{
	int p[2], status;
	struct pollfd pf[3];
	struct timespec t0, t1;
	fd_set rd;
	struct timeval tv = { 0, 0 };
	pid_t pid;
	long ms;

	pipe(p);
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
	pf[2] = (struct pollfd){ .fd = 63, .events = POLLIN };
	check(poll(pf, 3, 0) == 2 && !pf[0].revents && pf[1].revents == POLLOUT &&
	      pf[2].revents == POLLNVAL, "poll: an empty pipe is not readable, is writable; fd 63 POLLNVAL");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check(poll(pf, 1, 50) == 0, "poll with a 50 ms timeout on an empty pipe: 0");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("poll timeout: %ld ms\n", ms);
	check(ms >= 50 && ms < 1000, "the timeout took 50 ms or a little more");
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 20; i++)
			sched_yield();
		write(p[1], "!", 1);
		_exit(0);
	}
	check(poll(pf, 1, -1) == 1 && pf[0].revents == POLLIN, "poll sleeps until the child writes");
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	check(select(p[0] + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &rd),
	      "select: the pipe is readable");
	waitpid(pid, &status, 0);
	close(p[1]);
	read(p[0], &status, 1);
	check(poll(pf, 1, -1) == 1 && (pf[0].revents & POLLHUP), "POLLHUP once the writers are gone");
	close(p[0]);
}

/* execve keeps fds but closes the close-on-exec ones: the new program checks. */
static void cloexec_tests(void)
{
	int keep = open("/etc/motd", O_RDONLY), drop = open("/etc/motd", O_RDONLY | O_CLOEXEC), status;
	char k[8], d[8];
	pid_t pid;

	check(fcntl(drop, F_GETFD) == FD_CLOEXEC && fcntl(keep, F_GETFD) == 0, "F_GETFD");
	snprintf(k, sizeof(k), "%d", keep);
	snprintf(d, sizeof(d), "%d", drop);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/kfiles", "kfiles", "cloexec", k, d, (char *)NULL);
		_exit(99);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "after execve: the CLOEXEC fd is closed, the other open");
	close(keep);
	close(drop);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "cloexec")) {
		int keep = atoi(argv[2]), drop = atoi(argv[3]);
		char c;
		int ok = read(keep, &c, 1) == 1 && fcntl(drop, F_GETFD) == -1 && errno == EBADF;

		printf("exec'd: fd %d %s, fd %d %s\n", keep, ok ? "open" : "?", drop, ok ? "closed" : "?");
		return ok ? 0 : 1;
	}
	file_tests();
	dir_tests();
	link_tests();
	pipe_tests();
	dup_tests();
	bad_tests();
	tree_tests();
	proc_tests();
	poll_tests();
	cloexec_tests();
	printf("kfiles: %d failures\n", fails);
	return fails;
}
