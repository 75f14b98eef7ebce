/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_CONSOLE_H
#define KVMLAB_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "devices/serial.h"

/*
 * The host side of the guest's serial console: stdout for output, stdin
 * (a terminal, a pipe or /dev/null) for input, the terminal in raw mode while
 * the VM runs, Ctrl-A x to quit. The main thread runs console_loop().
 */
struct console {
	int in_fd, out_fd;
	bool tty;	/* stdin is a terminal: raw mode and escape keys */
	bool raw;	/* raw mode is on; saved holds what to restore */
	struct termios saved;
	bool escape;	/* the previous key was Ctrl-A */
	bool in_eof;
	int room_fd;	/* eventfd: the UART has room for input again */
	uint8_t buf[256];
	size_t off, len; /* input read but not yet taken by the UART */
};

/* CONSOLE_REPORT: SIGUSR1 came, asking for a --stats report; call console_loop() again after. */
enum console_end { CONSOLE_VM_ENDED, CONSOLE_QUIT, CONSOLE_SIGNAL, CONSOLE_REPORT };

int console_init(struct console *c);
/* The UART backend that writes to this console. */
struct serial_backend console_backend(struct console *c);
/* Put the terminal in raw mode (if it is one). */
void console_raw(struct console *c);
/* Restore the terminal; safe to call more than once. */
void console_restore(struct console *c);
/*
 * Feed input to the UART until stop_fd becomes readable, the user types the
 * quit key, or a signal arrives on sig_fd (*signo set).
 */
enum console_end console_loop(struct console *c, struct serial *uart, int stop_fd, int sig_fd,
			      int *signo);
void console_destroy(struct console *c);

#endif
