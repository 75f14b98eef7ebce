/*
 * tty.c - the console as a terminal: what reading, writing and ioctl() on
 * fds 0, 1 and 2 do, and the line discipline between the UART and read().
 *
 * Output goes to the UART byte by byte (console.c), with the "\n" -> "\r\n"
 * a terminal's OPOST/ONLCR does.
 *
 * Input arrives one byte at a time from the UART's interrupt (console_intr ->
 * tty_input) and waits in a ring buffer. How it becomes what read() returns
 * is the line discipline, set by the termios flags (TCGETS/TCSETS):
 *   - canonical mode (ICANON, the default): the user edits a line (erase with
 *     DEL or backspace, ^U kills the line) and read() sees it only once it is
 *     complete: a newline, or ^D (end of file when the line is empty);
 *   - raw mode (ICANON off): every byte at once; read() waits for VMIN bytes
 *     (VMIN 0: returns what is there, maybe nothing);
 *   - ECHO: typed bytes are shown (control characters as ^X with ECHOCTL);
 *   - ICRNL: the Enter key's CR becomes NL;
 *   - ISIG: ^C sends SIGINT, ^\ SIGQUIT and ^Z SIGTSTP to the foreground
 *     process group (TIOCSPGRP sets it; init's group at boot), and throws the
 *     line away.
 *
 * Indexes into the ring only grow (u32, wrapping is harmless): r is where
 * read() takes the next byte, w the end of what read() may take (complete
 * lines, or everything in raw mode), e the end of the line being edited.
 */
#include "kernel.h"

#define EPERM 1
#define EFAULT 14
#define EINVAL 22
#define ENOTTY 25

/* termios bits (Linux's asm-generic values) */
#define IGNCR 0x80
#define ICRNL 0x100
#define INLCR 0x40
#define ISIG 0x1
#define ICANON 0x2
#define ECHO 0x8
#define ECHOE 0x10
#define ECHOK 0x20
#define ECHONL 0x40
#define NOFLSH 0x80
#define ECHOCTL 0x200
#define VINTR 0
#define VQUIT 1
#define VERASE 2
#define VKILL 3
#define VEOF 4
#define VTIME 5
#define VMIN 6
#define VSUSP 10
#define VEOL 11

#define TCGETS 0x5401
#define TCSETS 0x5402
#define TCSETSW 0x5403
#define TCSETSF 0x5404
#define TCSBRK 0x5409
#define TCXONC 0x540A
#define TCFLSH 0x540B
#define TIOCSCTTY 0x540E
#define TIOCGPGRP 0x540F
#define TIOCSPGRP 0x5410
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONREAD 0x541B
#define TIOCNOTTY 0x5422
#define TIOCGSID 0x5429

#define TTY_BUF 1024
#define EOF_MARK 0x100 /* ^D in the ring: ends a read, is not data */

struct termios_k {
	u32 iflag, oflag, cflag, lflag;
	u8 line;
	u8 cc[19];
};
_Static_assert(sizeof(struct termios_k) == 36, "Linux's struct termios is 36 bytes");

static struct {
	u16 buf[TTY_BUF];
	u32 r, w, e;
	struct termios_k t;
	u16 ws[4]; /* struct winsize: rows, columns, x and y pixels */
} tty = {
	.t = {
		.iflag = ICRNL | 0x400 /* IXON */,
		.oflag = 0x5 /* OPOST ONLCR */,
		.cflag = 0xbf /* B38400 CS8 CREAD */,
		.lflag = 0x8a3b /* ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN */,
		.cc = { 3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17,
			0x16, 0 },
	},
	.ws = { 24, 80, 0, 0 },
};

int tty_fg_pgrp = 1; /* the foreground process group: init's at boot */
int tty_sid = 1;     /* the session whose controlling terminal this is */

static void echo(u8 c)
{
	if (!(tty.t.lflag & ECHO)) {
		if (c == '\n' && (tty.t.lflag & (ECHONL | ICANON)) == (ECHONL | ICANON))
			console_putc('\n');
		return;
	}
	if (c < 32 && c != '\n' && c != '\t' && (tty.t.lflag & ECHOCTL)) {
		console_putc('^');
		console_putc((char)(c + '@'));
		return;
	}
	console_putc((char)c);
}

static void rubout(void)
{
	if ((tty.t.lflag & (ECHO | ECHOE)) == (ECHO | ECHOE)) {
		console_putc('\b');
		console_putc(' ');
		console_putc('\b');
	}
}

static void put(u16 c)
{
	tty.buf[tty.e++ % TTY_BUF] = c;
}

/* One received byte (from the UART interrupt). */
void tty_input(u8 c)
{
	const u8 *cc = tty.t.cc;
	u32 lflag = tty.t.lflag;

	if (c == '\r' && (tty.t.iflag & IGNCR))
		return;
	if (c == '\r' && (tty.t.iflag & ICRNL))
		c = '\n';
	else if (c == '\n' && (tty.t.iflag & INLCR))
		c = '\r';
	if ((lflag & ISIG) && c && (c == cc[VINTR] || c == cc[VQUIT] || c == cc[VSUSP])) {
		if (!(lflag & NOFLSH))
			tty.e = tty.w = tty.r; /* the typed-ahead input goes */
		echo(c);
		signal_pgrp(tty_fg_pgrp, c == cc[VINTR] ? SIGINT : c == cc[VQUIT] ? SIGQUIT : SIGTSTP);
		wakeup(&tty);
		return;
	}
	if (!(lflag & ICANON)) {
		if (tty.e - tty.r >= TTY_BUF)
			return; /* full: the byte is lost */
		put(c);
		tty.w = tty.e;
		echo(c);
		wakeup(&tty);
		return;
	}
	if (c && (c == cc[VERASE] || c == '\b')) {
		if (tty.e != tty.w) {
			tty.e--;
			rubout();
		}
		return;
	}
	if (c && c == cc[VKILL]) {
		for (; tty.e != tty.w; tty.e--)
			rubout();
		if ((lflag & (ECHO | ECHOK)) == (ECHO | ECHOK) && !(lflag & ECHOE))
			console_putc('\n');
		return;
	}
	if (tty.e - tty.r >= TTY_BUF - 1 && c != '\n')
		return; /* full: keep room for the newline that ends the line */
	if (tty.e - tty.r >= TTY_BUF)
		return;
	if (c && c == cc[VEOF]) {
		put(EOF_MARK);
	} else {
		put(c);
		echo(c);
	}
	if (c == '\n' || (c && (c == cc[VEOF] || c == cc[VEOL]))) {
		tty.w = tty.e; /* a complete line: read() may have it */
		wakeup(&tty);
	}
}

/* Bytes read() could take now (FIONREAD), end-of-file marks left out. */
static u32 available(void)
{
	u32 n = 0;

	for (u32 i = tty.r; i != tty.w; i++)
		n += tty.buf[i % TTY_BUF] != EOF_MARK;
	return n;
}

/*
 * read(): canonical mode waits for a complete line and returns at most one
 * (up to n bytes of it; the rest stays for the next read); ^D on an empty
 * line returns 0, end of file. Raw mode waits for VMIN bytes (or n if
 * fewer). A signal ends the wait: -EINTR (or the call is restarted).
 */
i64 tty_read(struct proc *p, u64 ubuf, u64 n)
{
	u8 chunk[256];
	u64 done = 0, k = 0;
	bool canon = tty.t.lflag & ICANON;
	u64 need = canon ? 1 : tty.t.cc[VMIN] < n ? tty.t.cc[VMIN] : n;

	i64 bg = signal_tty_read_check(p);

	if (bg < 0)
		return bg; /* a background job: stopped by SIGTTIN, or -EIO */
	if (!n)
		return 0;
	while (canon ? tty.r == tty.w : tty.w - tty.r < need)
		if (sleep_intr(&tty) < 0)
			return -EINTR;
	while (done + k < n && tty.r != tty.w) {
		u16 c = tty.buf[tty.r % TTY_BUF];

		tty.r++;
		if (c == EOF_MARK)
			break; /* the end of this read: 0 if it is all there was */
		chunk[k++] = (u8)c;
		if (k == sizeof(chunk) || (canon && c == '\n')) {
			if (copyout(p->pml4, ubuf + done, chunk, k) < 0)
				return done ? (i64)done : -EFAULT;
			done += k, k = 0;
		}
		if (canon && c == '\n')
			break;
	}
	if (k && copyout(p->pml4, ubuf + done, chunk, k) < 0)
		return done ? (i64)done : -EFAULT;
	return (i64)(done + k);
}

i64 tty_write(struct proc *p, u64 ubuf, u64 n)
{
	char chunk[256];
	u64 done = 0;

	while (done < n) {
		u64 k = n - done > sizeof(chunk) ? sizeof(chunk) : n - done;

		if (copyin(p->pml4, chunk, ubuf + done, k) < 0)
			return done ? (i64)done : -EFAULT;
		for (u64 i = 0; i < k; i++)
			console_putc(chunk[i]);
		done += k;
	}
	return (i64)done;
}

/* A process group of the terminal's session (TIOCSPGRP's check). */
static bool pgrp_in_session(int pgrp)
{
	for (int k = 0; k < NPROC; k++) {
		struct proc *q = proc_at(k);

		if (q->state != UNUSED && q->state != ZOMBIE && q->pgid == pgrp && q->sid == tty_sid)
			return true;
	}
	return false;
}

static i64 put_int(struct proc *p, u64 arg, int v)
{
	return copyout(p->pml4, arg, &v, 4) < 0 ? -EFAULT : 0;
}

i64 tty_ioctl(struct proc *p, u64 req, u64 arg)
{
	struct termios_k t;
	u16 ws[4];
	int v;

	switch (req) {
	case TCGETS:
		return copyout(p->pml4, arg, &tty.t, sizeof(tty.t)) < 0 ? -EFAULT : 0;
	case TCSETS: case TCSETSW: case TCSETSF: /* output is never queued: W = no wait */
		if (copyin(p->pml4, &t, arg, sizeof(t)) < 0)
			return -EFAULT;
		if (req == TCSETSF)
			tty.e = tty.w = tty.r;
		if ((tty.t.lflag & ICANON) && !(t.lflag & ICANON))
			tty.w = tty.e; /* to raw: the line being edited can be read now */
		tty.t = t;
		wakeup(&tty); /* a reader may now have enough (a new VMIN) */
		return 0;
	case TCFLSH:
		if (arg > 2)
			return -EINVAL;
		if (arg != 1) /* TCIFLUSH or TCIOFLUSH */
			tty.e = tty.w = tty.r;
		return 0;
	case TCSBRK: case TCXONC:
		return 0;
	case TIOCGWINSZ:
		return copyout(p->pml4, arg, tty.ws, sizeof(tty.ws)) < 0 ? -EFAULT : 0;
	case TIOCSWINSZ:
		if (copyin(p->pml4, ws, arg, sizeof(ws)) < 0)
			return -EFAULT;
		if (ws[0] != tty.ws[0] || ws[1] != tty.ws[1])
			signal_pgrp(tty_fg_pgrp, 28); /* SIGWINCH: the size changed */
		memcpy(tty.ws, ws, sizeof(ws));
		return 0;
	case TIOCGPGRP:
		return put_int(p, arg, tty_fg_pgrp);
	case TIOCGSID:
		return put_int(p, arg, tty_sid);
	case TIOCSPGRP:
		if (copyin(p->pml4, &v, arg, 4) < 0)
			return -EFAULT;
		if (p->sid != tty_sid)
			return -ENOTTY; /* not our controlling terminal */
		if (v < 0)
			return -EINVAL;
		if (!pgrp_in_session(v))
			return -EPERM;
		tty_fg_pgrp = v;
		return 0;
	case TIOCSCTTY: /* a session leader takes the terminal (we are all root) */
		if (p->sid != p->pid)
			return -EPERM;
		tty_sid = p->sid;
		tty_fg_pgrp = p->pgid;
		return 0;
	case TIOCNOTTY:
		return 0;
	case FIONREAD:
		return put_int(p, arg, (int)((tty.t.lflag & ICANON) ? available() : tty.w - tty.r));
	}
	return -ENOTTY;
}
