/* orphan — a child whose parent exits first is re-parented (book ch. 2): to pid 1 (init), or to the
 * nearest "child subreaper" if something (systemd --user, a container's init) declared itself one.
 * Three processes: we fork a parent, which forks the child and exits at once; the child watches
 * getppid() change (the parent exits once the child has seen it: a pipe). We wait for the child's end through a pipe (it is not our child, so no waitpid).
 * Rows: @orphan  phase  pid  ppid */
#include "kvl.h"
#include <sys/wait.h>

int main(void)
{
	int fds[2];
	if (pipe(fds) < 0)
		kvl_die("pipe");
	kvl_row("orphan", "#phase\tpid\tppid");
	fflush(stdout);
	pid_t parent = fork();
	if (parent < 0)
		kvl_die("fork");
	if (parent == 0) {
		close(fds[0]);
		int seen[2];
		if (pipe(seen) < 0)
			kvl_die("pipe");
		pid_t child = fork();
		if (child < 0)
			kvl_die("fork");
		if (child == 0) {
			pid_t first = getppid(), now = first;
			printf("child %d: my parent is %d\n", getpid(), first);
			kvl_row("orphan", "before\t%d\t%d", getpid(), first);
			fflush(stdout);
			close(seen[1]); /* "I have seen you": the parent may exit now */
			for (int i = 0; i < 500 && now == first; i++) { /* up to 5 s */
				kvl_sleep_ms(10);
				now = getppid();
			}
			printf("child %d: my parent %d has exited; my parent is now %d%s\n", getpid(), first, now,
			       now == 1 ? " (init)" : now == first ? " (unchanged?)" : " (a subreaper)");
			kvl_row("orphan", "after\t%d\t%d", getpid(), now);
			fflush(stdout);
			_exit(0); /* closes the pipe's write end: our grandparent's read() returns 0 */
		}
		close(seen[1]);
		char c;
		while (read(seen[0], &c, 1) < 0 && errno == EINTR) {
		}
		printf("parent %d: forked child %d, exiting now\n", getpid(), child);
		kvl_row("orphan", "parent-exits\t%d\t%d", getpid(), getppid());
		fflush(stdout);
		_exit(0);
	}
	close(fds[1]);
	int status;
	waitpid(parent, &status, 0);
	char c;
	while (read(fds[0], &c, 1) > 0 || errno == EINTR) {
	}
	return 0;
}
