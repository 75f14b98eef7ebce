// SPDX-License-Identifier: MIT
/* The guest's serial console on this terminal (or pipe). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/console.h"

#define CTRL_A 0x01
#define CTRL_D 0x04

int console_init(struct console *c)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	c->tty = isatty(c->in_fd);
	c->room_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return c->room_fd < 0 ? -1 : 0;
}

static void out_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;

	while (len) {
		ssize_t n = write(c->out_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* stdout gone (EPIPE): the guest keeps running */
		buf += n;
		len -= n;
	}
}

static void rx_room(void *opaque)
{
	struct console *c = opaque;
	uint64_t one = 1;

	if (write(c->room_fd, &one, sizeof(one)) < 0)
		return; /* counter saturated: a wake-up is pending anyway */
}

struct serial_backend console_backend(struct console *c)
{
	return (struct serial_backend){ out_write, rx_room, c };
}

void console_raw(struct console *c)
{
	struct termios t;

	if (!c->tty || c->raw || tcgetattr(c->in_fd, &c->saved) < 0)
		return;
	t = c->saved;
	/* Keys go to the guest as typed (Ctrl-C included); output processing stays
	 * on so a guest's bare "\n" still starts a new line. */
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	/* TCSANOW: keys typed before the VM started still reach it. */
	if (tcsetattr(c->in_fd, TCSANOW, &t) == 0)
		c->raw = true;
}

void console_restore(struct console *c)
{
	if (!c->raw)
		return;
	tcsetattr(c->in_fd, TCSAFLUSH, &c->saved);
	c->raw = false;
}

/* Apply the escape keys in place; returns false if the user asked to quit. */
static bool filter_escapes(struct console *c)
{
	size_t out = 0;

	for (size_t i = 0; i < c->len; i++) {
		uint8_t ch = c->buf[i];

		if (c->escape) {
			c->escape = false;
			if (ch == 'x' || ch == 'X')
				return false;
			if (ch == 'h' || ch == 'H' || ch == '?') {
				fputs("\r\nkvmlab: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A\r\n", stderr);
				continue;
			}
			if (ch != CTRL_A)
				c->buf[out++] = CTRL_A;
		} else if (ch == CTRL_A) {
			c->escape = true;
			continue;
		}
		c->buf[out++] = ch;
	}
	c->len = out;
	return true;
}

/* Read more input; returns false if the user asked to quit. */
static bool read_input(struct console *c)
{
	ssize_t n = read(c->in_fd, c->buf, sizeof(c->buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0) {
		c->in_eof = true; /* the guest runs on without more input */
		if (n == 0 && !c->tty) {
			/* A file or pipe has ended: say so to the guest as a user at a
			 * terminal would, with one ^D (a shell in canonical mode sees end
			 * of input), so `kvmlab run < script` does not wait forever. */
			c->buf[0] = CTRL_D;
			c->off = 0;
			c->len = 1;
		}
		return true;
	}
	c->off = 0;
	c->len = n;
	return !c->tty || filter_escapes(c);
}

static void offer_input(struct console *c, struct serial *uart)
{
	uint64_t drained;

	if (read(c->room_fd, &drained, sizeof(drained)) < 0 && errno != EAGAIN)
		return;
	if (c->off < c->len)
		c->off += serial_receive(uart, c->buf + c->off, c->len - c->off);
}

enum console_end console_loop(struct console *c, struct serial *uart, int stop_fd, int sig_fd,
			      int *signo)
{
	for (;;) {
		bool want_input = !c->in_eof && c->off == c->len;
		struct pollfd p[4] = {
			{ stop_fd, POLLIN, 0 },
			{ sig_fd, POLLIN, 0 },
			{ c->room_fd, POLLIN, 0 },
			{ want_input ? c->in_fd : -1, POLLIN, 0 },
		};

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return CONSOLE_VM_ENDED;
		}
		if (p[0].revents)
			return CONSOLE_VM_ENDED;
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				*signo = si.ssi_signo;
				return si.ssi_signo == SIGUSR1 ? CONSOLE_REPORT : CONSOLE_SIGNAL;
			}
		}
		if (p[3].revents) {
			if (!read_input(c))
				return CONSOLE_QUIT;
			offer_input(c, uart);
		}
		if (p[2].revents)
			offer_input(c, uart);
	}
}

void console_destroy(struct console *c)
{
	console_restore(c);
	if (c->room_fd >= 0)
		close(c->room_fd);
}
