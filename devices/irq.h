/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_IRQ_H
#define KVMLAB_IRQ_H

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

#endif
