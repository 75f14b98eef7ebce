/* intignore — signals (book ch. 2): what SIGINT (Ctrl-C) does by default, ignored, and with a handler;
 * and SIGSEGV killing a process that touches address 0, as its parent sees it in the wait status.
 * Usage: intignore [all|default|ignore|handler|segv|wait [SECONDS]]   (default: all)
 *   default/ignore/handler/segv run in a child, which sends SIGINT to itself (kill(getpid(), SIGINT))
 *   or dereferences NULL; the parent reports the child's wait status.
 *   wait: ignore SIGINT and sleep SECONDS (default 10): press Ctrl-C, nothing happens.
 * Rows: @signal  case  exited|signaled  code|signal-number */
#include "kvl.h"
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t caught;

static void on_int(int sig)
{
	(void)sig;
	caught++;
}

static void child_case(const char *which)
{
	if (strcmp(which, "default") == 0) {
		kill(getpid(), SIGINT); /* default action: terminate */
		_exit(0);
	} else if (strcmp(which, "ignore") == 0) {
		signal(SIGINT, SIG_IGN);
		kill(getpid(), SIGINT);
		printf("  child: SIGINT ignored, still alive\n");
		fflush(stdout);
		_exit(0);
	} else if (strcmp(which, "handler") == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_int;
		sigaction(SIGINT, &sa, NULL);
		kill(getpid(), SIGINT);
		kill(getpid(), SIGINT);
		printf("  child: the handler ran %d times, still alive\n", (int)caught);
		fflush(stdout);
		_exit(caught == 2 ? 0 : 1);
	} else { /* segv */
		volatile int *p = NULL;
		*p = 1;
		_exit(0);
	}
}

static void run_case(const char *which)
{
	printf("%s:\n", which);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		kvl_die("fork");
	if (pid == 0) {
		child_case(which);
		fflush(stdout);
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		kvl_die("waitpid");
	if (WIFSIGNALED(status)) {
		printf("  parent: child %d was killed by signal %d (%s)\n", pid, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
		kvl_row("signal", "%s\tsignaled\t%d", which, WTERMSIG(status));
	} else {
		printf("  parent: child %d exited with status %d\n", pid, WEXITSTATUS(status));
		kvl_row("signal", "%s\texited\t%d", which, WEXITSTATUS(status));
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";
	if (strcmp(mode, "wait") == 0) {
		long secs = argc > 2 ? kvl_arg(argv[2], "intignore wait [SECONDS]") : 10;
		signal(SIGINT, SIG_IGN);
		printf("SIGINT is ignored: press Ctrl-C, nothing happens; ending in %ld s\n", secs);
		fflush(stdout);
		kvl_sleep_ms(secs * 1000);
		printf("done\n");
		return 0;
	}
	kvl_row("signal", "#case\thow\tvalue");
	const char *all[] = {"default", "ignore", "handler", "segv"};
	int known = 0;
	for (int i = 0; i < 4; i++) {
		if (strcmp(mode, "all") == 0 || strcmp(mode, all[i]) == 0) {
			run_case(all[i]);
			known = 1;
		}
	}
	if (!known) {
		fprintf(stderr, "usage: intignore [all|default|ignore|handler|segv|wait [SECONDS]]\n");
		return 2;
	}
	return 0;
}
