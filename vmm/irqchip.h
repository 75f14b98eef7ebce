/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_IRQCHIP_H
#define KVMLAB_IRQCHIP_H

#include <linux/kvm.h>
#include <pthread.h>

#include "devices/irq.h"

/*
 * KVM's GSI routing table, kept whole in user space because
 * KVM_SET_GSI_ROUTING replaces it whole: the default wiring of the in-kernel
 * PIC and IOAPIC (GSI 0-15 to both, 16-23 to the IOAPIC) plus one MSI route
 * per device vector, each fed by an irqfd. It gives devices their
 * irq_services (devices/irq.h).
 */

#define IRQCHIP_IOAPIC_PINS 24
#define IRQCHIP_MAX_MSI 256

struct irqchip {
	int vm_fd;
	pthread_mutex_t lock;
	unsigned nr;				    /* entries in table */
	struct kvm_irq_routing *table;		    /* header + entries */
	unsigned char msi_used[IRQCHIP_MAX_MSI];    /* GSI IRQCHIP_IOAPIC_PINS + i taken */
	struct irq_services services;
};

/* Start from KVM's default routing. Returns 0, or -1 with errno. */
int irqchip_init(struct irqchip *c, int vm_fd);
void irqchip_destroy(struct irqchip *c);

#endif
