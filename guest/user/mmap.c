/* mmap — a file mapped into memory (book ch. 4). We write "hello" into FILE, map it MAP_SHARED, show the
 * new line of /proc/self/maps, overwrite the mapped bytes with "HELLO" (a plain memory store, no write()),
 * unmap, and read() the file back: it says "HELLO". On a system where FILE cannot be created (a read-only
 * root) the experiment is skipped with a note and exit status 0.
 * Usage: mmap [FILE]   (default /tmp/kvmlab-mmap.txt; removed at the end)
 * Rows: @mmap  step  detail */
#include "kvl.h"
#include <sys/mman.h>

static void show_mapping(const char *file)
{
	static char maps[16384];
	if (kvl_read_file("/proc/self/maps", maps, sizeof maps) <= 0)
		return;
	for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, file))
			printf("  /proc/self/maps: %s\n", line);
}

int main(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : "/tmp/kvmlab-mmap.txt";
	kvl_row("mmap", "#step\tdetail");
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		printf("cannot create %s (%s): skipping the file-mapping experiment\n", file, strerror(errno));
		kvl_row("mmap", "skipped\t%s", strerror(errno));
		return 0;
	}
	if (write(fd, "hello\n", 6) != 6)
		kvl_die("write");
	printf("file %s holds: hello\n", file);
	kvl_row("mmap", "file-before\thello");
	char *p = mmap(NULL, 6, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		kvl_die("mmap");
	printf("mapped at %p, the memory holds: %.5s\n", (void *)p, p);
	kvl_row("mmap", "memory\t%.5s", p);
	show_mapping(file);
	memcpy(p, "HELLO", 5);
	if (munmap(p, 6) < 0)
		kvl_die("munmap");
	char buf[16] = {0};
	if (lseek(fd, 0, SEEK_SET) < 0 || read(fd, buf, 5) != 5)
		kvl_die("read back");
	printf("after writing HELLO into the memory, read() of the file gives: %s\n", buf);
	kvl_row("mmap", "file-after\t%s", buf);
	close(fd);
	if (argc <= 1)
		unlink(file);
	return 0;
}
