/* fork — one process becomes two (book ch. 2). Both print their pid; the parent knows the child's pid
 * from fork()'s return value, the child finds its parent with getppid().
 * Rows: @fork  role  pid  ppid
 * Markers for kvmlab (kvl_mark): "fork" before fork(), "child" in the child, "parent" after waitpid. */
#include "kvl.h"
#include <sys/wait.h>

int main(void)
{
	kvl_row("fork", "#role\tpid\tppid");
	printf("before fork: pid %d\n", getpid());
	fflush(stdout); /* or the child would print the buffered lines again */
	kvl_mark("fork");
	pid_t pid = fork();
	if (pid < 0)
		kvl_die("fork");
	if (pid == 0) {
		kvl_mark("child");
		printf("child:  pid %d, parent %d (fork returned 0 here)\n", getpid(), getppid());
		kvl_row("fork", "child\t%d\t%d", getpid(), getppid());
		exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0) /* the child's lines come first: the shape is always the same */
		kvl_die("waitpid");
	kvl_mark("parent");
	printf("parent: pid %d, child %d (fork returned the child's pid)\n", getpid(), pid);
	kvl_row("fork", "parent\t%d\t%d", getpid(), getppid());
	return 0;
}
