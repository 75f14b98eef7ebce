/* fork-exec — start another program (book ch. 2): fork, then the child replaces itself with execve().
 * Usage: fork-exec [PROGRAM [ARGS...]]   (default: /bin/echo "hello from the exec'd program")
 * Rows: @fork-exec  role  pid  detail   (the exec'd program's own output is not a row) */
#include "kvl.h"
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	char *def[] = {"/bin/echo", "hello from the exec'd program", NULL};
	char **prog = argc > 1 ? argv + 1 : def;

	kvl_row("fork-exec", "#role\tpid\tdetail");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		kvl_die("fork");
	if (pid == 0) {
		printf("child:  pid %d, about to execve %s\n", getpid(), prog[0]);
		kvl_row("fork-exec", "child\t%d\texecve %s", getpid(), prog[0]);
		fflush(stdout);
		execve(prog[0], prog, environ);
		fprintf(stderr, "execve %s: %s\n", prog[0], strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		kvl_die("waitpid");
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("parent: pid %d, child %d ended with status %d\n", getpid(), pid, code);
	kvl_row("fork-exec", "parent\t%d\texit %d", getpid(), code);
	return code == 0 ? 0 : 1;
}
