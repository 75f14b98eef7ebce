/* zombie — a child that has exited but not been waited for (book ch. 2). The child exits at once; the
 * parent does not wait, and /proc/PID/stat shows the child in state Z; after waitpid() the process is
 * gone ('-').
 * Usage: zombie [SECONDS]   (keep the zombie that long before reaping it, to look at it with ps; default 0)
 * Rows: @zombie  phase  child_pid  state */
#include "kvl.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	long keep = argc > 1 ? kvl_arg(argv[1], "zombie [SECONDS]") : 0;

	kvl_row("zombie", "#phase\tchild\tstate");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		kvl_die("fork");
	if (pid == 0)
		_exit(7);

	/* The child needs a moment to run and exit: poll its state for up to 5 s. */
	char st = '?';
	for (int i = 0; i < 500; i++) {
		st = kvl_proc_state(pid);
		if (st == 'Z')
			break;
		kvl_sleep_ms(10);
	}
	printf("child %d has exited, not yet waited for: state %c%s\n", pid, st, st == 'Z' ? " (zombie)" : "");
	kvl_row("zombie", "before-wait\t%d\t%c", pid, st);
	if (keep) {
		printf("keeping the zombie for %ld s (try: ps, cat /proc/%d/stat)\n", keep, pid);
		fflush(stdout);
		kvl_sleep_ms(keep * 1000);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		kvl_die("waitpid");
	st = kvl_proc_state(pid);
	printf("after waitpid (exit status %d): state %c%s\n", WEXITSTATUS(status), st,
	       st == '-' ? " (gone: /proc has no such process)" : "");
	kvl_row("zombie", "after-wait\t%d\t%c", pid, st);
	return 0;
}
