/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_SERIAL_H
#define KVMLAB_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"
#include "vmm/bus.h"

/* A 16550A UART. Registers at base..base+7 on the port-I/O bus. */

#define SERIAL_COM1_BASE 0x3F8
#define SERIAL_COM1_IRQ 4
#define SERIAL_FIFO_SIZE 16

/* Where the UART's output goes and how it tells its input side there is room. */
struct serial_backend {
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	/* Called (without the UART lock held) when the RX FIFO gains room after
	 * having been full; the input side may then call serial_receive() again. */
	void (*rx_room)(void *opaque);
	void *opaque;
};

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct serial_backend be;
	/* registers */
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	int thr_ipending; /* THRE interrupt pending (cleared by IIR read/THR write) */
	int irq_level;	  /* level last driven on the line */
	int rx_waiting;	  /* serial_receive refused input; owe one rx_room call */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

void serial_init(struct serial *s, const struct irq_line *irq, const struct serial_backend *be);
void serial_destroy(struct serial *s);

/* The bus callback; register it with opaque = s over 8 ports. */
void serial_io(void *opaque, struct bus_access *a);

/* Feed input bytes into the RX FIFO; returns how many were taken (the rest
 * must be offered again after rx_room). Raises the RX interrupt if enabled. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

#endif
