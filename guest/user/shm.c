/* shm — shared versus private memory after fork (book ch. 4). A MAP_SHARED and a MAP_PRIVATE anonymous
 * page both hold 1000; a child writes 2000 into both; the parent then sees 2000 in the shared page (the
 * same frame) and still 1000 in the private one (the child's write copied the page).
 * Rows: @shm  mapping  before  child_wrote  parent_sees */
#include "kvl.h"
#include <sys/mman.h>
#include <sys/wait.h>

int main(void)
{
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || priv == MAP_FAILED)
		kvl_die("mmap");
	*shared = *priv = 1000;
	printf("before fork: shared %d, private %d\n", *shared, *priv);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		kvl_die("fork");
	if (pid == 0) {
		*shared = *priv = 2000;
		printf("child wrote: shared %d, private %d\n", *shared, *priv);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, NULL, 0) < 0)
		kvl_die("waitpid");
	printf("parent sees: shared %d (%s), private %d (%s)\n", *shared, *shared == 2000 ? "the child's write" : "?",
	       *priv, *priv == 1000 ? "its own copy" : "?");
	kvl_row("shm", "#mapping\tbefore\tchild_wrote\tparent_sees");
	kvl_row("shm", "shared\t1000\t2000\t%d", *shared);
	kvl_row("shm", "private\t1000\t2000\t%d", *priv);
	return 0;
}
