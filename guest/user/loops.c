/* loops: the loops of docs/lessons/1-what-leaves-the-guest.md.
 *   loops cpu N     N iterations of arithmetic, no system call
 *   loops getpid N  N getpid() system calls
 *   loops print N   N bytes ('.') written to stdout in one write()
 * Prints nothing else, so that --stats shows only what the loop costs. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long n = atol(argv[2]);
	if (!strcmp(argv[1], "cpu")) {
		volatile unsigned long x = 1;
		for (long i = 0; i < n; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	} else if (!strcmp(argv[1], "getpid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
	} else if (!strcmp(argv[1], "print")) {
		char *buf = malloc(n);
		if (!buf)
			return 3;
		memset(buf, '.', n);
		write(1, buf, n);
	} else
		return 2;
	return 0;
}
