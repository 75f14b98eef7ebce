/* hello: the teaching kernel's first user program (tests/integration/t_kernel.sh).
 * Prints its name and arguments through stdio (write/writev, ioctl, brk or
 * mmap underneath) and exits with status 7, which becomes the VM's status. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("hello from %s, argc %d\n", argv[0], argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	return 7;
}
