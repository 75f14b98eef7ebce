/*
 * tty.c - the console as a terminal: what reading, writing and ioctl() on
 * fds 0, 1 and 2 do.
 *
 * Output goes to the UART byte by byte (console.c), with the "\n" -> "\r\n"
 * a terminal's OPOST/ONLCR does. Input: not yet (a read is end of file).
 */
#include "kernel.h"

#define EFAULT 14
#define ENOTTY 25

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

i64 tty_read(struct proc *p, u64 ubuf, u64 n)
{
	(void)p, (void)ubuf, (void)n;
	return 0;
}

/* The console is a terminal of 24 rows by 80 columns. */
i64 tty_ioctl(struct proc *p, u64 req, u64 arg)
{
	if (req == 0x5413) { /* TIOCGWINSZ: struct winsize { rows, cols, xpixel, ypixel } */
		u16 ws[4] = { 24, 80, 0, 0 };

		return copyout(p->pml4, arg, ws, sizeof(ws)) < 0 ? -EFAULT : 0;
	}
	if (req == 0x5401) { /* TCGETS: the kernel's struct termios (36 bytes) */
		u8 t[36] = { 0 };
		u32 iflag = 0x500 /* ICRNL IXON */, oflag = 0x5 /* OPOST ONLCR */,
		    cflag = 0xbf /* B38400 CS8 CREAD */, lflag = 0x8a3b /* ISIG ICANON ECHO... */;

		memcpy(t, &iflag, 4);
		memcpy(t + 4, &oflag, 4);
		memcpy(t + 8, &cflag, 4);
		memcpy(t + 12, &lflag, 4);
		return copyout(p->pml4, arg, t, sizeof(t)) < 0 ? -EFAULT : 0;
	}
	return -ENOTTY;
}
