/* sh — kvmlab's shell: the teaching kernel's /bin/sh (its default init), and an ordinary static Linux
 * program too (it runs unchanged on the host: tests/integration/t_shell_host.sh).
 *
 * Reads command lines from stdin (the kernel's tty does the line editing), from `-c CMD` or from a
 * script file, and runs them: words with '...' "..." and \ quoting, $VAR ${VAR} $? $$ $! $# $0-$9 and
 * ~ expansion, NAME=value assignments, ; && || | (pipelines of any length), < > >> N> N< N>&M (2>&1),
 * & (background jobs, reported when they finish). Builtins: cd pwd exit export unset wait jobs echo
 * true false : help. No globbing, no if/while/for, no functions: enough to run the experiments.
 *
 * Job control: an interactive shell ignores SIGINT and SIGQUIT itself, puts every job in its own
 * process group and gives the terminal to the one in the foreground (tcsetpgrp; a kernel without it
 * answers ENOTTY or ENOSYS and we carry on), so Ctrl-C stops the running experiment, not the shell.
 *
 * Usage: sh [-i] [-c CMD [ARG0 ARGS...] | FILE [ARGS...]]
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------------
 * The book's experiments: the one table `help` prints (keep it in step with guest/user/ and
 * docs/experiments.md).
 */
static const struct experiment {
	const char *name, *args, *what, *chapter;
} experiments[] = {
	{ "fork", "", "one process becomes two: fork() returns twice", "2" },
	{ "fork-exec", "[PROG ARGS]", "fork, then the child becomes another program (execve)", "2" },
	{ "zombie", "[SECONDS]", "an exited child is a zombie (Z) until its parent waits", "2" },
	{ "orphan", "", "a child whose parent exits gets pid 1 as its parent", "2" },
	{ "intignore", "[CASE]", "SIGINT: default, ignored, handled; SIGSEGV's wait status", "2" },
	{ "sched", "N [MS]", "N CPU-bound processes on one CPU take turns (time slices)", "3" },
	{ "sched-nice", "[MS]", "nice 5 against nice 0: about a quarter of the CPU", "3" },
	{ "demand-paging", "[MIB [STEP]]", "mmap gives no memory until a page is touched (RSS, minflt)", "4" },
	{ "cow", "[MIB]", "after fork, pages are shared until a write copies them", "4" },
	{ "shm", "", "MAP_SHARED stays shared after fork, MAP_PRIVATE is copied", "4" },
	{ "mmap", "[FILE]", "a file mapped into memory: a store changes the file", "4" },
	{ "cache", "[MAX_KIB]", "access time against buffer size: the cache levels' stairs", "8" },
};

#define NEXPERIMENTS (sizeof(experiments) / sizeof(experiments[0]))

/* --------------------------------------------------------------------------------------------------- */

#define MAXLINE 8192
#define MAXWORDS 256 /* words (and redirections) in one command */
#define MAXPIPE 32   /* commands in one pipeline */
#define MAXANDOR 64  /* pipelines in one && || chain */
#define MAXJOBS 16

static bool interactive; /* prompts, banner, job reports, ignores SIGINT */
static bool jobctl;      /* interactive on a terminal: process groups and tcsetpgrp */
static pid_t shell_pgid;
static int laststatus;
static pid_t lastbg;
static char **posv; /* $0 $1 ... */
static int posc;
static jmp_buf on_error; /* back to the top level: a line too long, out of memory */

static int write_all(int fd, const char *buf, size_t n);

/* Formatted output to fd, at most 1 KiB; 0, or -1 if the write failed. */
static int vfdprint(int fd, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	return n > 0 ? write_all(fd, buf, (size_t)n) : 0;
}

/* Messages to stderr. */
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfdprint(2, fmt, ap);
	va_end(ap);
}

/* Formatted output to stdout (builtins); 0, or -1 if the write failed. */
static int out(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfdprint(1, fmt, ap);
	va_end(ap);
	return r;
}

/* Write all of buf to fd (a pipe may take it in pieces). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* --- memory for one command line: a bump allocator emptied before the next line ------------------- */

static char arena[1 << 17];
static size_t arena_top;

static void *alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(arena) - arena_top) {
		say("sh: command too long\n");
		longjmp(on_error, 1);
	}
	p = arena + arena_top;
	arena_top += n;
	return p;
}

static char *copy(const char *s, size_t n)
{
	char *d = alloc(n + 1);

	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* --- variables: NAME=value, some exported to children's environments ------------------------------ */

struct var {
	char *name, *value;
	bool exported;
};
static struct var *vars;
static int nvars, capvars;

static bool is_name(const char *s, size_t n)
{
	if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static struct var *var_find(const char *name, size_t n)
{
	for (int i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == n && !strncmp(vars[i].name, name, n))
			return &vars[i];
	return NULL;
}

static const char *var_get(const char *name)
{
	struct var *v = var_find(name, strlen(name));

	return v ? v->value : NULL;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		say("sh: out of memory\n");
		exit(2);
	}
	return d;
}

static void var_set(const char *name, size_t n, const char *value, bool export)
{
	struct var *v = var_find(name, n);

	if (!v) {
		if (nvars == capvars) {
			capvars = capvars ? capvars * 2 : 32;
			vars = realloc(vars, (size_t)capvars * sizeof(*vars));
			if (!vars) {
				say("sh: out of memory\n");
				exit(2);
			}
		}
		v = &vars[nvars++];
		v->name = strndup(name, n);
		v->value = NULL;
		v->exported = false;
		if (!v->name) {
			say("sh: out of memory\n");
			exit(2);
		}
	}
	if (value) {
		free(v->value);
		v->value = xstrdup(value);
	}
	v->exported |= export;
}

static void var_unset(const char *name)
{
	struct var *v = var_find(name, strlen(name));

	if (!v)
		return;
	free(v->name);
	free(v->value);
	*v = vars[--nvars];
}

/* The environment a child gets: the exported variables that have a value. */
static char **make_env(void)
{
	char **env = alloc((size_t)(nvars + 1) * sizeof(char *));
	int n = 0;

	for (int i = 0; i < nvars; i++) {
		size_t ln = strlen(vars[i].name), lv;

		if (!vars[i].exported || !vars[i].value)
			continue;
		lv = strlen(vars[i].value);
		env[n] = alloc(ln + lv + 2);
		memcpy(env[n], vars[i].name, ln);
		env[n][ln] = '=';
		memcpy(env[n] + ln + 1, vars[i].value, lv + 1);
		n++;
	}
	env[n] = NULL;
	return env;
}

/* --- the lexer: tokens from the text of a command line -------------------------------------------- */

enum tok { T_WORD, T_SEP, T_AMP, T_AND, T_OR, T_PIPE, T_LESS, T_GREAT, T_DGREAT, T_GREATAND,
	   T_LESSAND, T_END };

struct lexer {
	const char *p;
	enum tok tok;    /* the current token */
	const char *w;   /* T_WORD: its raw text (quotes still in it), wlen bytes */
	size_t wlen;
	int iofd;        /* a redirection's N in N>, or -1 */
	const char *at;  /* where the current token starts (for messages and job names) */
	bool incomplete; /* the text ended inside quotes or after | && || */
};

static bool is_op(char c)
{
	return c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '\n';
}

/* Scan a word's end: quotes hold blanks and operators; a backslash takes the next byte. */
static const char *scan_word(struct lexer *lx, const char *s)
{
	while (*s && *s != ' ' && *s != '\t' && !is_op(*s)) {
		char q = *s;

		if (q == '\\') {
			if (!s[1]) {
				lx->incomplete = true;
				return s + 1;
			}
			s += 2;
		} else if (q == '\'' || q == '"') {
			for (s++; *s && *s != q; s++)
				if (q == '"' && *s == '\\' && s[1])
					s++;
			if (!*s) {
				lx->incomplete = true;
				return s;
			}
			s++;
		} else {
			s++;
		}
	}
	return s;
}

static void next(struct lexer *lx)
{
	const char *s = lx->p;

	lx->iofd = -1;
	while (*s == ' ' || *s == '\t' || (*s == '\\' && s[1] == '\n'))
		s += *s == '\\' ? 2 : 1;
	if (*s == '#')
		while (*s && *s != '\n')
			s++;
	lx->at = s;
	if (!*s) {
		lx->tok = T_END;
		lx->p = s;
		return;
	}
	/* N> N< N>& N<&: a number right before the operator names the fd. */
	if (*s >= '0' && *s <= '9') {
		const char *d = s;
		int n = 0;

		while (*d >= '0' && *d <= '9' && n < 1000)
			n = n * 10 + (*d++ - '0');
		if (*d == '<' || *d == '>') {
			lx->iofd = n;
			s = d;
		}
	}
	switch (*s) {
	case '\n': case ';': lx->tok = T_SEP; s++; break;
	case '&': lx->tok = s[1] == '&' ? T_AND : T_AMP; s += s[1] == '&' ? 2 : 1; break;
	case '|': lx->tok = s[1] == '|' ? T_OR : T_PIPE; s += s[1] == '|' ? 2 : 1; break;
	case '<':
		lx->tok = s[1] == '&' ? T_LESSAND : T_LESS;
		s += s[1] == '&' ? 2 : 1;
		break;
	case '>':
		if (s[1] == '>') {
			lx->tok = T_DGREAT;
			s += 2;
		} else if (s[1] == '&') {
			lx->tok = T_GREATAND;
			s += 2;
		} else {
			lx->tok = T_GREAT;
			s++;
		}
		break;
	default:
		lx->tok = T_WORD;
		lx->w = s;
		s = scan_word(lx, s);
		lx->wlen = (size_t)(s - lx->w);
	}
	lx->p = s;
}

/* --- the parser: list of and-or chains of pipelines of simple commands ----------------------------- */

static bool probing; /* parsing only to see whether the command goes on on the next line: no messages */

static void perr(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (probing)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("%s", buf);
}

struct redir {
	enum tok op;
	int fd;
	char *word; /* raw, expanded when applied */
	struct redir *next;
};

struct cmd {
	char **words; /* raw words, assignments first */
	int nwords;
	struct redir *redir;
};

struct pipeline {
	struct cmd *cmds;
	int n;
};

struct andor {
	struct pipeline *pl;
	enum tok *ops; /* ops[i] joins pl[i] and pl[i+1]: T_AND or T_OR */
	int n;
	bool bg;
	char *text; /* for job reports */
	struct andor *next;
};

static int syntax_error(struct lexer *lx)
{
	if (lx->incomplete || lx->tok == T_END)
		return -1;
	if (lx->tok == T_SEP && *lx->at == '\n')
		perr("sh: syntax error near a newline\n");
	else
		perr("sh: syntax error near '%.*s'\n", (int)(lx->p - lx->at), lx->at);
	return -1;
}

static int parse_cmd(struct lexer *lx, struct cmd *c)
{
	char *words[MAXWORDS];
	struct redir *first = NULL, **tail = &first;
	int n = 0, nr = 0;

	for (;; next(lx)) {
		if (lx->tok == T_WORD) {
			if (n + nr >= MAXWORDS) {
				perr("sh: too many words\n");
				return -1;
			}
			words[n++] = copy(lx->w, lx->wlen);
		} else if (lx->tok >= T_LESS && lx->tok <= T_LESSAND) {
			struct redir *r = alloc(sizeof(*r));

			r->op = lx->tok;
			r->fd = lx->iofd >= 0 ? lx->iofd :
				(lx->tok == T_LESS || lx->tok == T_LESSAND) ? 0 : 1;
			next(lx);
			if (lx->tok != T_WORD) {
				if (lx->tok == T_END && !lx->incomplete)
					perr("sh: syntax error: a redirection without a file\n");
				return lx->tok == T_END ? -1 : syntax_error(lx);
			}
			r->word = copy(lx->w, lx->wlen);
			r->next = NULL;
			*tail = r;
			tail = &r->next;
			nr++;
		} else {
			break;
		}
	}
	if (n == 0 && nr == 0)
		return syntax_error(lx);
	c->words = alloc((size_t)(n + 1) * sizeof(char *));
	memcpy(c->words, words, (size_t)n * sizeof(char *));
	c->words[n] = NULL;
	c->nwords = n;
	c->redir = first;
	return 0;
}

static int parse_pipeline(struct lexer *lx, struct pipeline *pl)
{
	struct cmd cmds[MAXPIPE];
	int n = 0;

	for (;;) {
		if (n == MAXPIPE) {
			perr("sh: pipeline too long\n");
			return -1;
		}
		if (parse_cmd(lx, &cmds[n++]) < 0)
			return -1;
		if (lx->tok != T_PIPE)
			break;
		next(lx);
		while (lx->tok == T_SEP && *lx->at == '\n') /* a | at a line's end: continues */
			next(lx);
		if (lx->tok == T_END)
			lx->incomplete = true;
	}
	pl->cmds = alloc((size_t)n * sizeof(struct cmd));
	memcpy(pl->cmds, cmds, (size_t)n * sizeof(struct cmd));
	pl->n = n;
	return 0;
}

static int parse_andor(struct lexer *lx, struct andor *a)
{
	struct pipeline pl[MAXANDOR];
	enum tok ops[MAXANDOR];
	const char *start = lx->at;
	int n = 0;

	for (;;) {
		if (n == MAXANDOR) {
			perr("sh: too many && and ||\n");
			return -1;
		}
		if (parse_pipeline(lx, &pl[n++]) < 0)
			return -1;
		if (lx->tok != T_AND && lx->tok != T_OR)
			break;
		ops[n - 1] = lx->tok;
		next(lx);
		while (lx->tok == T_SEP && *lx->at == '\n')
			next(lx);
		if (lx->tok == T_END)
			lx->incomplete = true;
	}
	a->pl = alloc((size_t)n * sizeof(struct pipeline));
	memcpy(a->pl, pl, (size_t)n * sizeof(struct pipeline));
	a->ops = alloc((size_t)n * sizeof(enum tok));
	memcpy(a->ops, ops, (size_t)(n - 1) * sizeof(enum tok));
	a->n = n;
	a->text = copy(start, (size_t)(lx->at - start));
	for (size_t k = strlen(a->text); k > 0 && (a->text[k - 1] == ' ' || a->text[k - 1] == '\t');)
		a->text[--k] = 0;
	a->bg = lx->tok == T_AMP;
	a->next = NULL;
	return 0;
}

/* The whole text: and-or chains separated by ; & or newlines. NULL with *err set on an error,
 * or with *incomplete when more lines would finish it. */
static struct andor *parse(const char *text, bool *incomplete, bool *err)
{
	struct lexer lx = { .p = text };
	struct andor *first = NULL, **tail = &first;

	*incomplete = *err = false;
	next(&lx);
	for (;;) {
		struct andor *a;

		while (lx.tok == T_SEP)
			next(&lx);
		if (lx.tok == T_END)
			break;
		a = alloc(sizeof(*a));
		if (parse_andor(&lx, a) < 0) {
			*incomplete = lx.incomplete;
			*err = !lx.incomplete;
			return NULL;
		}
		*tail = a;
		tail = &a->next;
		if (lx.tok != T_SEP && lx.tok != T_AMP && lx.tok != T_END) {
			syntax_error(&lx);
			*err = true;
			return NULL;
		}
		if (lx.tok != T_END)
			next(&lx);
	}
	*incomplete = lx.incomplete;
	return lx.incomplete ? NULL : first;
}

/* --- expansion: quotes removed, $ and ~ replaced, unquoted results split into fields --------------- */

struct fields {
	char *v[MAXWORDS + 1];
	int n;
	char buf[MAXLINE];
	size_t len;
	bool quoted; /* the field being built had quotes: "" is a field */
};

static void put(struct fields *f, char c)
{
	if (f->len + 1 >= sizeof(f->buf)) {
		say("sh: word too long\n");
		longjmp(on_error, 1);
	}
	f->buf[f->len++] = c;
}

static void end_field(struct fields *f)
{
	if (f->len == 0 && !f->quoted)
		return;
	if (f->n >= MAXWORDS) {
		say("sh: too many words\n");
		longjmp(on_error, 1);
	}
	f->v[f->n++] = copy(f->buf, f->len);
	f->len = 0;
	f->quoted = false;
}

/* A value from $: split at blanks when unquoted. */
static void put_value(struct fields *f, const char *v, bool split)
{
	for (; v && *v; v++) {
		if (split && (*v == ' ' || *v == '\t' || *v == '\n'))
			end_field(f);
		else
			put(f, *v);
	}
}

/* $... at s (s[0] == '$'): appends its value, returns the bytes taken. */
static size_t dollar(struct fields *f, const char *s, bool split)
{
	char num[24];
	size_t n = 1;

	if (s[1] == '?' || s[1] == '$' || s[1] == '!' || s[1] == '#') {
		long v = s[1] == '?' ? laststatus : s[1] == '$' ? getpid() : s[1] == '!' ? lastbg :
			posc - 1;

		snprintf(num, sizeof(num), "%ld", v);
		put_value(f, s[1] == '!' && !lastbg ? "" : num, false);
		return 2;
	}
	if (s[1] >= '0' && s[1] <= '9') {
		int i = s[1] - '0';

		put_value(f, i < posc ? posv[i] : "", split);
		return 2;
	}
	if (s[1] == '{') {
		const char *e = strchr(s + 2, '}');

		if (e && is_name(s + 2, (size_t)(e - s - 2))) {
			struct var *v = var_find(s + 2, (size_t)(e - s - 2));

			put_value(f, v ? v->value : "", split);
			return (size_t)(e - s) + 1;
		}
	}
	while (is_name(s + 1, n))
		n++;
	if (n == 1) { /* a lone $ is itself */
		put(f, '$');
		return 1;
	}
	struct var *v = var_find(s + 1, n - 1);

	put_value(f, v ? v->value : "", split);
	return n;
}

static void expand_into(struct fields *f, const char *s, bool split)
{
	bool dq = false;

	if (s[0] == '~' && (s[1] == '/' || !s[1])) {
		const char *home = var_get("HOME");

		put_value(f, home ? home : "/", false);
		s++;
	}
	while (*s) {
		if (*s == '\'' && !dq) {
			f->quoted = true;
			for (s++; *s && *s != '\''; s++)
				put(f, *s);
			if (*s)
				s++;
		} else if (*s == '"') {
			f->quoted = true;
			dq = !dq;
			s++;
		} else if (*s == '\\' && s[1]) {
			if (s[1] == '\n') {
				s += 2;
				continue;
			}
			if (dq && !strchr("$`\"\\", s[1]))
				put(f, '\\');
			put(f, s[1]);
			s += 2;
		} else if (*s == '$') {
			s += dollar(f, s, split && !dq);
		} else {
			put(f, *s++);
		}
	}
}

/* One word to one string (assignments, redirection targets): no splitting. */
static char *expand_one(const char *word)
{
	struct fields f = { .n = 0 };

	expand_into(&f, word, false);
	f.quoted = true;
	end_field(&f);
	return f.v[0];
}

/* --- a command, expanded ---------------------------------------------------------------------------- */

struct xcmd {
	char **argv; /* NULL-terminated */
	int argc;
	char **assign; /* NAME=value, expanded */
	int nassign;
	struct redir *redir;
};

static bool is_assignment(const char *w)
{
	const char *eq = strchr(w, '=');

	return eq && is_name(w, (size_t)(eq - w));
}

static void expand_cmd(const struct cmd *c, struct xcmd *x)
{
	struct fields f = { .n = 0 };
	int i = 0;

	x->assign = alloc((size_t)(c->nwords + 1) * sizeof(char *));
	x->nassign = 0;
	for (; i < c->nwords && is_assignment(c->words[i]); i++) {
		const char *eq = strchr(c->words[i], '=');
		char *v = expand_one(eq + 1);
		size_t ln = (size_t)(eq - c->words[i]);
		char *a = alloc(ln + strlen(v) + 2);

		memcpy(a, c->words[i], ln + 1);
		strcpy(a + ln + 1, v);
		x->assign[x->nassign++] = a;
	}
	for (; i < c->nwords; i++) {
		expand_into(&f, c->words[i], true);
		end_field(&f);
	}
	x->argv = alloc((size_t)(f.n + 1) * sizeof(char *));
	memcpy(x->argv, f.v, (size_t)f.n * sizeof(char *));
	x->argv[f.n] = NULL;
	x->argc = f.n;
	x->redir = c->redir;
}

/* Apply the redirections in order; -1 (and a message) if one fails. */
static int apply_redirs(const struct redir *r)
{
	for (; r; r = r->next) {
		char *w = expand_one(r->word);
		int fd = -1, flags;

		switch (r->op) {
		case T_GREATAND:
		case T_LESSAND:
			if (!strcmp(w, "-")) {
				close(r->fd);
				continue;
			}
			fd = atoi(w);
			if (!*w || strspn(w, "0123456789") != strlen(w) || dup2(fd, r->fd) < 0) {
				say("sh: %s: bad file descriptor\n", w);
				return -1;
			}
			continue;
		case T_LESS: flags = O_RDONLY; break;
		case T_DGREAT: flags = O_WRONLY | O_CREAT | O_APPEND; break;
		default: flags = O_WRONLY | O_CREAT | O_TRUNC; break;
		}
		fd = open(w, flags, 0666);
		if (fd < 0) {
			say("sh: cannot open %s: %s\n", w, strerror(errno));
			return -1;
		}
		if (fd != r->fd) {
			if (dup2(fd, r->fd) < 0) {
				say("sh: %s: %s\n", w, strerror(errno));
				close(fd);
				return -1;
			}
			close(fd);
		}
	}
	return 0;
}

/* --- jobs ------------------------------------------------------------------------------------------- */

struct job {
	bool used, done, reported;
	int id;
	pid_t pgid, pids[MAXPIPE];
	int npids, alive;
	int status; /* the wait status of its last process */
	char name[80];
};
static struct job jobs[MAXJOBS];

/* A wait status as $? sees it: the exit code, or 128 + the signal. */
static int decode(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static struct job *job_of(pid_t pid)
{
	for (int i = 0; i < MAXJOBS; i++)
		for (int k = 0; jobs[i].used && k < jobs[i].npids; k++)
			if (jobs[i].pids[k] == pid)
				return &jobs[i];
	return NULL;
}

/* A child ended that was not in the foreground pipeline. */
static void job_reaped(pid_t pid, int st)
{
	struct job *j = job_of(pid);

	if (!j)
		return;
	if (pid == j->pids[j->npids - 1])
		j->status = st;
	for (int k = 0; k < j->npids; k++)
		if (j->pids[k] == pid)
			j->pids[k] = -pid; /* remembered, no longer alive */
	if (--j->alive == 0)
		j->done = true;
}

static void reap_nohang(void)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		job_reaped(pid, st);
}

static void job_free(struct job *j)
{
	j->used = false;
}

/* Say which background jobs have finished ("[1]+ Done  sleep 1"), as other shells do. */
static void report_jobs(void)
{
	reap_nohang();
	for (int i = 0; i < MAXJOBS; i++) {
		struct job *j = &jobs[i];
		int s = j->status;

		if (!j->used || !j->done || j->reported)
			continue;
		if (WIFSIGNALED(s))
			say("[%d]+ %s\t%s\n", j->id, strsignal(WTERMSIG(s)), j->name);
		else if (decode(s))
			say("[%d]+ Exit %d\t%s\n", j->id, decode(s), j->name);
		else
			say("[%d]+ Done\t%s\n", j->id, j->name);
		j->reported = true;
		job_free(j);
	}
}

/* A free slot; when all are taken, one of a finished job nobody waited for. */
static struct job *job_slot(void)
{
	for (int i = 0; i < MAXJOBS; i++)
		if (!jobs[i].used)
			return &jobs[i];
	reap_nohang();
	for (int i = 0; i < MAXJOBS; i++)
		if (jobs[i].done)
			return &jobs[i];
	return NULL;
}

static struct job *job_new(const char *name)
{
	struct job *j = job_slot();
	int id = 1;

	if (!j)
		return NULL;
	j->used = false;
	for (int i = 0; i < MAXJOBS; i++)
		if (jobs[i].used && jobs[i].id >= id)
			id = jobs[i].id + 1;
	memset(j, 0, sizeof(*j));
	j->used = true;
	j->id = id;
	snprintf(j->name, sizeof(j->name), "%s", name);
	return j;
}

/* Wait for a job to finish (other children reaped meanwhile are noted). */
static int job_wait(struct job *j)
{
	while (!j->done) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break; /* ECHILD: nothing left to wait for */
		job_reaped(pid, st);
	}
	return decode(j->status);
}

/* --- running commands -------------------------------------------------------------------------------- */

static void give_terminal(pid_t pgid)
{
	if (!jobctl)
		return;
	tcsetpgrp(0, pgid); /* ENOTTY/ENOSYS on a kernel without it: no matter */
}

/* In a new child: its process group, the terminal if in the foreground, default signals. */
static void child_setup(pid_t pgid, bool bg)
{
	if (jobctl) {
		setpgid(0, pgid);
		if (!bg)
			give_terminal(pgid ? pgid : getpid());
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTSTP, SIG_DFL);
	signal(SIGTTIN, SIG_DFL);
	signal(SIGTTOU, SIG_DFL);
	if (bg && !jobctl) { /* POSIX: a background job without job control ignores ^C and reads nothing */
		int fd = open("/dev/null", O_RDONLY);

		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		if (fd > 0) {
			dup2(fd, 0);
			close(fd);
		}
	}
}

typedef int builtin_fn(int argc, char **argv);
static builtin_fn *find_builtin(const char *name);

/* Run an external program (in a child): PATH search, exit 127 if not found, 126 if not runnable. */
static void exec_external(struct xcmd *x)
{
	const char *path = var_get("PATH");
	char **env, full[4096];
	int err = ENOENT;

	for (int i = 0; i < x->nassign; i++) {
		const char *eq = strchr(x->assign[i], '=');

		var_set(x->assign[i], (size_t)(eq - x->assign[i]), eq + 1, true);
	}
	env = make_env();
	if (strchr(x->argv[0], '/')) {
		execve(x->argv[0], x->argv, env);
		say("sh: %s: %s\n", x->argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	for (const char *p = path ? path : "/bin"; ; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (snprintf(full, sizeof(full), "%.*s%s%s", (int)n, p, n ? "/" : "", x->argv[0]) <
		    (int)sizeof(full)) {
			execve(full, x->argv, env);
			if (errno != ENOENT && errno != ENOTDIR)
				err = errno;
		}
		if (!e)
			break;
		p = e;
	}
	if (err == ENOENT)
		say("sh: %s: not found\n", x->argv[0]);
	else
		say("sh: %s: %s\n", x->argv[0], strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* What a child of a pipeline does: redirections, then the builtin or the program. */
static void run_in_child(struct xcmd *x)
{
	builtin_fn *b;

	if (apply_redirs(x->redir) < 0)
		_exit(1);
	if (x->argc == 0)
		_exit(0);
	if ((b = find_builtin(x->argv[0])))
		_exit(b(x->argc, x->argv));
	exec_external(x);
}

/* A builtin (or a command of assignments/redirections only) in the shell itself: the redirections
 * are undone afterwards. */
static int run_here(struct xcmd *x, builtin_fn *b)
{
	int saved[MAXWORDS], fds[MAXWORDS], n = 0, r = 1;

	for (const struct redir *rd = x->redir; rd && n < MAXWORDS; rd = rd->next) {
		fds[n] = rd->fd;
		saved[n++] = dup(rd->fd); /* -1: it was not open; closed afterwards */
	}
	if (x->argc == 0)
		for (int i = 0; i < x->nassign; i++) {
			const char *eq = strchr(x->assign[i], '=');

			var_set(x->assign[i], (size_t)(eq - x->assign[i]), eq + 1, false);
		}
	if (apply_redirs(x->redir) == 0)
		r = b ? b(x->argc, x->argv) : 0;
	while (n-- > 0) {
		if (saved[n] >= 0) {
			dup2(saved[n], fds[n]);
			close(saved[n]);
		} else {
			close(fds[n]);
		}
	}
	return r;
}

static void tell_signal(int st)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) == SIGPIPE)
		return;
	if (WTERMSIG(st) == SIGINT)
		say("\n");
	else
		say("%s\n", strsignal(WTERMSIG(st)));
}

/* Run a pipeline: each command in its own child, stdout to the next one's stdin. In the
 * foreground the result is the last command's status; in the background, it becomes a job. */
static int run_pipeline(const struct pipeline *pl, bool bg, const char *name)
{
	struct xcmd x[MAXPIPE];
	pid_t pids[MAXPIPE], pgid = 0;
	int in = -1, started = 0, st = 0, last_st = 0;
	builtin_fn *b = NULL;

	for (int i = 0; i < pl->n; i++)
		expand_cmd(&pl->cmds[i], &x[i]);
	if (pl->n == 1 && !bg && (x[0].argc == 0 || (b = find_builtin(x[0].argv[0]))))
		return run_here(&x[0], b);
	for (int i = 0; i < pl->n; i++) {
		int pfd[2] = { -1, -1 };
		pid_t pid;

		if (i < pl->n - 1 && pipe(pfd) < 0) {
			say("sh: pipe: %s\n", strerror(errno));
			last_st = 1 << 8;
			break;
		}
		pid = fork();
		if (pid < 0) {
			say("sh: fork: %s\n", strerror(errno));
			close(pfd[0]);
			close(pfd[1]);
			last_st = 1 << 8;
			break;
		}
		if (pid == 0) {
			child_setup(pgid, bg);
			if (in >= 0) {
				dup2(in, 0);
				close(in);
			}
			if (pfd[1] >= 0) {
				dup2(pfd[1], 1);
				close(pfd[1]);
				close(pfd[0]);
			}
			run_in_child(&x[i]);
		}
		if (!pgid)
			pgid = pid;
		if (jobctl)
			setpgid(pid, pgid); /* as the child does: whoever runs first */
		if (in >= 0)
			close(in);
		if (pfd[1] >= 0)
			close(pfd[1]);
		in = pfd[0];
		pids[started++] = pid;
	}
	if (in >= 0)
		close(in);
	if (bg && started) {
		struct job *j = job_new(name);

		lastbg = pids[started - 1];
		if (!j) {
			say("sh: too many jobs: not tracking this one\n");
			return 0;
		}
		j->pgid = pgid;
		memcpy(j->pids, pids, (size_t)started * sizeof(pid_t));
		j->npids = j->alive = started;
		if (interactive)
			say("[%d] %d\n", j->id, (int)lastbg);
		return 0;
	}
	/* The foreground: wait for every process of the pipeline; others that end are jobs. */
	give_terminal(pgid);
	for (int left = started; left > 0;) {
		pid_t pid = waitpid(-1, &st, 0);
		int k;

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		for (k = 0; k < started && pids[k] != pid; k++)
			;
		if (k == started) {
			job_reaped(pid, st);
			continue;
		}
		left--;
		if (k == started - 1 && started == pl->n)
			last_st = st;
	}
	give_terminal(shell_pgid);
	tell_signal(last_st);
	return decode(last_st);
}

static int run_andor(const struct andor *a, bool bg)
{
	int st = laststatus = run_pipeline(&a->pl[0], bg, a->text);

	for (int i = 1; i < a->n; i++)
		if ((a->ops[i - 1] == T_AND) == (st == 0))
			st = laststatus = run_pipeline(&a->pl[i], bg, a->text);
	return st;
}

/* cmd1 && cmd2 &: a child shell runs the chain; it is the job. */
static void run_bg_chain(const struct andor *a)
{
	pid_t pid = fork();
	struct job *j;

	if (pid < 0) {
		say("sh: fork: %s\n", strerror(errno));
		laststatus = 1;
		return;
	}
	if (pid == 0) {
		child_setup(0, true);
		interactive = jobctl = false;
		for (int i = 0; i < MAXJOBS; i++)
			jobs[i].used = false;
		_exit(run_andor(a, false));
	}
	if (jobctl)
		setpgid(pid, pid);
	lastbg = pid;
	laststatus = 0;
	if (!(j = job_new(a->text))) {
		say("sh: too many jobs: not tracking this one\n");
		return;
	}
	j->pgid = pid;
	j->pids[0] = pid;
	j->npids = j->alive = 1;
	if (interactive)
		say("[%d] %d\n", j->id, (int)pid);
}

static void run_list(const struct andor *a)
{
	for (; a; a = a->next) {
		if (a->bg && a->n > 1)
			run_bg_chain(a);
		else
			laststatus = run_andor(a, a->bg);
	}
}

/* Parse and run one piece of text (a line, or all of -c's string). */
static void run_text(const char *text)
{
	bool incomplete, err;
	struct andor *list;

	if (setjmp(on_error)) {
		laststatus = 2;
		return;
	}
	list = parse(text, &incomplete, &err);
	if (incomplete) {
		say("sh: syntax error: unexpected end of input\n");
		err = true;
	}
	if (err) {
		laststatus = 2;
		return;
	}
	run_list(list);
}

/* --- builtins ---------------------------------------------------------------------------------------- */

static int b_echo(int argc, char **argv)
{
	char *buf;
	size_t n = 0, cap = 1;
	bool nl = true;
	int i = 1;

	if (argc > 1 && !strcmp(argv[1], "-n")) {
		nl = false;
		i++;
	}
	for (int k = i; k < argc; k++)
		cap += strlen(argv[k]) + 1;
	buf = alloc(cap);
	for (int k = i; k < argc; k++) {
		size_t l = strlen(argv[k]);

		if (k > i)
			buf[n++] = ' ';
		memcpy(buf + n, argv[k], l);
		n += l;
	}
	if (nl)
		buf[n++] = '\n';
	if (write_all(1, buf, n) < 0) {
		say("sh: echo: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int b_true(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 0;
}

static int b_false(int argc, char **argv)
{
	(void)argc, (void)argv;
	return 1;
}

static int b_exit(int argc, char **argv)
{
	exit(argc > 1 ? atoi(argv[1]) & 0xFF : laststatus);
}

static const char *cwd(char *buf, size_t n)
{
	const char *pwd = var_get("PWD");

	if (getcwd(buf, n))
		return buf;
	return pwd ? pwd : "/"; /* a kernel without getcwd: what cd last said */
}

static int b_cd(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : var_get("HOME");
	char old[4096], now[8200], buf[4096];

	if (!dir)
		dir = "/";
	if (!strcmp(dir, "-") && !(dir = var_get("OLDPWD"))) {
		say("sh: cd: OLDPWD not set\n");
		return 1;
	}
	snprintf(old, sizeof(old), "%s", cwd(buf, sizeof(buf)));
	if (chdir(dir) < 0) {
		say("sh: cd: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "-"))
		out("%s\n", dir);
	if (!getcwd(now, sizeof(now))) { /* keep $PWD right by hand */
		if (dir[0] == '/')
			snprintf(now, sizeof(now), "%s", dir);
		else
			snprintf(now, sizeof(now), "%s%s%s", old, strcmp(old, "/") ? "/" : "", dir);
	}
	var_set("OLDPWD", 6, old, true);
	var_set("PWD", 3, now, true);
	return 0;
}

static int b_pwd(int argc, char **argv)
{
	char buf[4096];
	const char *d = cwd(buf, sizeof(buf));

	(void)argc, (void)argv;
	return out("%s\n", d) < 0;
}

static int b_export(int argc, char **argv)
{
	if (argc == 1) {
		for (int i = 0; i < nvars; i++)
			if (vars[i].exported && vars[i].value)
				out("export %s=\"%s\"\n", vars[i].name, vars[i].value);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t n = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

		if (!is_name(argv[i], n)) {
			say("sh: export: '%s': not a valid name\n", argv[i]);
			return 1;
		}
		var_set(argv[i], n, eq ? eq + 1 : NULL, true);
	}
	return 0;
}

static int b_unset(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		var_unset(argv[i]);
	return 0;
}

/* wait [PID | %N ...]: without arguments, for every job (status 0); else for those, the last's status. */
static int b_wait(int argc, char **argv)
{
	int r = 0;

	if (argc == 1) {
		for (int i = 0; i < MAXJOBS; i++)
			if (jobs[i].used) {
				job_wait(&jobs[i]);
				job_free(&jobs[i]); /* waited for: no report */
			}
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		struct job *j = NULL;

		if (argv[i][0] == '%') {
			for (int k = 0; k < MAXJOBS; k++)
				if (jobs[k].used && jobs[k].id == atoi(argv[i] + 1))
					j = &jobs[k];
		} else {
			j = job_of((pid_t)atoi(argv[i]));
			if (!j)
				j = job_of(-(pid_t)atoi(argv[i]));
		}
		if (!j) {
			say("sh: wait: %s: no such job\n", argv[i]);
			r = 127;
			continue;
		}
		r = job_wait(j);
		j->reported = true;
		job_free(j);
	}
	return r;
}

static int b_jobs(int argc, char **argv)
{
	(void)argc, (void)argv;
	reap_nohang();
	for (int i = 0; i < MAXJOBS; i++)
		if (jobs[i].used && !jobs[i].reported)
			out("[%d] %s\t%s\n", jobs[i].id, jobs[i].done ? "Done" : "Running", jobs[i].name);
	return 0;
}

static int b_help(int argc, char **argv)
{
	(void)argc, (void)argv;
	out("The book's experiments (\"試して理解 Linuxのしくみ\"), in /bin:\n");
	for (size_t i = 0; i < NEXPERIMENTS; i++) {
		const struct experiment *e = &experiments[i];
		char path[64], cmd[40];

		snprintf(path, sizeof(path), "/bin/%s", e->name);
		if (access(path, X_OK) < 0 && errno == ENOENT)
			continue; /* not in this initramfs (a kernel without access() lists them all) */
		snprintf(cmd, sizeof(cmd), "%s %s", e->name, e->args);
		out("  %-20s ch.%s  %s\n", cmd, e->chapter, e->what);
	}
	out("Each prints lines for people and @TABLE rows for graphs (docs/experiments.md).\n"
	    "Also: ps free cat ... (busybox, where the kernel can run it), and the builtins\n"
	    "cd pwd echo export unset wait jobs exit help. Ctrl-C stops the running program.\n");
	return 0;
}

static const struct builtin {
	const char *name;
	builtin_fn *fn;
} builtins[] = {
	{ "cd", b_cd },       { "pwd", b_pwd },   { "exit", b_exit }, { "export", b_export },
	{ "unset", b_unset }, { "wait", b_wait }, { "jobs", b_jobs }, { "echo", b_echo },
	{ "true", b_true },   { ":", b_true },    { "false", b_false }, { "help", b_help },
};

static builtin_fn *find_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(builtins[i].name, name))
			return builtins[i].fn;
	return NULL;
}

/* --- input ------------------------------------------------------------------------------------------- */

/* One line from fd, a byte at a time (so that what follows stays for the commands we run). Returns
 * its length without the newline, or -1 at the end of the input with nothing read. */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	bool too_long = false;

	for (;;) {
		char c;
		ssize_t k = read(fd, &c, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (n == 0)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
		else
			too_long = true;
	}
	buf[n] = 0;
	if (too_long)
		say("sh: line too long: cut at %zu bytes\n", cap - 1);
	return (int)n;
}

static void prompt(const char *p)
{
	char buf[4096], line[4200];
	const char *ps1 = var_get("PS1");
	int n;

	if (!interactive)
		return;
	if (p)
		n = snprintf(line, sizeof(line), "%s", p);
	else if (ps1)
		n = snprintf(line, sizeof(line), "%s", ps1);
	else if (getcwd(buf, sizeof(buf)))
		n = snprintf(line, sizeof(line), "kvmlab:%s$ ", buf);
	else
		n = snprintf(line, sizeof(line), "kvmlab$ ");
	write_all(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void banner(void)
{
	struct utsname u;
	bool ours = uname(&u) == 0 && !strcmp(u.sysname, "kvmlab");

	say("\nkvmlab shell%s%s. Type 'help' for the book's experiments (fork, sched 3,\n"
	    "demand-paging, cow, ...), then run them by name.\n",
	    ours ? " on the teaching kernel " : "", ours ? u.release : "");
	if (getpid() == 1)
		say("'exit' ends the VM (kvmlab exits with its status); Ctrl-A x quits kvmlab.\n\n");
	else
		say("'exit' leaves the shell.\n\n");
}

/* Read, parse, run, until the end of the input. */
static int interpret(int fd)
{
	static char text[MAXLINE * 2];

	for (;;) {
		bool incomplete, err;
		size_t len;

		if (interactive)
			report_jobs();
		else
			reap_nohang();
		prompt(NULL);
		arena_top = 0;
		if (read_line(fd, text, MAXLINE) < 0)
			break;
		/* A quote or a | && || left open: the command goes on on the next line. */
		for (;;) {
			if (setjmp(on_error)) {
				incomplete = probing = false;
				break;
			}
			arena_top = 0;
			probing = true;
			parse(text, &incomplete, &err);
			probing = false;
			len = strlen(text);
			if (!incomplete || len + 2 >= sizeof(text))
				break;
			prompt("> ");
			text[len] = '\n';
			if (read_line(fd, text + len + 1, sizeof(text) - len - 1) < 0) {
				text[len] = 0;
				break;
			}
		}
		arena_top = 0;
		run_text(text);
	}
	if (interactive)
		say("exit\n");
	return laststatus;
}

int main(int argc, char **argv)
{
	extern char **environ;
	const char *cmd = NULL;
	int i = 1, fd = 0;

	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');

		if (eq && is_name(*e, (size_t)(eq - *e)))
			var_set(*e, (size_t)(eq - *e), eq + 1, true);
	}
	if (!var_get("PATH"))
		var_set("PATH", 4, "/bin", true);
	if (!var_get("HOME"))
		var_set("HOME", 4, "/", true);
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-i")) {
			interactive = true;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			cmd = argv[++i];
			i++;
			break;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			say("usage: sh [-i] [-c CMD [ARG0 ARGS...] | FILE [ARGS...]]\n");
			return 2;
		}
	}
	/* $0 $1 ...: -c CMD ARG0 ARGS, FILE ARGS, or just sh. */
	posv = i < argc ? argv + i : argv;
	posc = i < argc ? argc - i : 1;
	if (!cmd && i < argc && (fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0) {
		say("sh: %s: %s\n", argv[i], strerror(errno));
		return 127;
	}
	if (!cmd && fd == 0 && isatty(0))
		interactive = true;
	if (cmd)
		interactive = false;
	jobctl = interactive && isatty(0);
	shell_pgid = getpgrp();
	if (interactive) {
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
	}
	if (jobctl) {
		signal(SIGTSTP, SIG_IGN);
		signal(SIGTTIN, SIG_IGN);
		signal(SIGTTOU, SIG_IGN); /* tcsetpgrp from a group that is not in the foreground */
		if (getpid() != getsid(0) && setpgid(0, 0) == 0)
			shell_pgid = getpid();
		give_terminal(shell_pgid);
	}
	if (interactive)
		banner();
	if (cmd) {
		run_text(cmd);
		return laststatus;
	}
	return interpret(fd);
}
