/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_IRQ_H
#define KVMLAB_IRQ_H

#include <stdbool.h>
#include <stdint.h>

/*
 * An interrupt line as a device sees it: a wire it drives high or low. The
 * VM implements it with KVM_IRQ_LINE on the in-kernel PIC/IOAPIC; unit tests
 * implement it with a recorder.
 */
struct irq_line {
	void (*set_level)(void *opaque, unsigned gsi, int level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l && l->set_level)
		l->set_level(l->opaque, l->gsi, level);
}

/*
 * What a device needs from KVM for fast interrupts and doorbells, without
 * knowing the VM: message-signalled interrupts through irqfd and GSI routing,
 * and ioeventfd doorbells. The VM implements it (vmm/irqchip.c); unit tests
 * implement it with recorders. Every function returns 0, or -1 with errno.
 */
struct msi_msg {
	uint64_t addr;
	uint32_t data;
};

struct irq_services {
	/*
	 * Route a new GSI to msg and attach irqfd to it: writing 1 to irqfd then
	 * injects the message. *gsi gets the GSI.
	 */
	int (*msi_add)(void *opaque, const struct msi_msg *msg, int irqfd, unsigned *gsi);
	/* Change the message a GSI from msi_add() delivers. */
	int (*msi_update)(void *opaque, unsigned gsi, const struct msi_msg *msg);
	/* Detach irqfd and free the GSI. */
	int (*msi_remove)(void *opaque, unsigned gsi, int irqfd);
	/* A guest write of len bytes at gpa (MMIO) signals fd, without an exit to us. */
	int (*ioeventfd)(void *opaque, uint64_t gpa, unsigned len, int fd, bool assign);
	void *opaque;
};

#endif
