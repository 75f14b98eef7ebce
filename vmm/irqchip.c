// SPDX-License-Identifier: MIT
/* GSI routing, irqfds and ioeventfds for the devices: KVM's side of devices/irq.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/irqchip.h"

#define MAX_ENTRIES (16 + IRQCHIP_IOAPIC_PINS + IRQCHIP_MAX_MSI)

static void add_chip(struct irqchip *c, unsigned gsi, unsigned chip, unsigned pin)
{
	struct kvm_irq_routing_entry *e = &c->table->entries[c->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* The same wiring KVM_CREATE_IRQCHIP sets up, which our MP table describes. */
static void default_routes(struct irqchip *c)
{
	for (unsigned gsi = 0; gsi < IRQCHIP_IOAPIC_PINS; gsi++) {
		if (gsi < 8)
			add_chip(c, gsi, KVM_IRQCHIP_PIC_MASTER, gsi);
		else if (gsi < 16)
			add_chip(c, gsi, KVM_IRQCHIP_PIC_SLAVE, gsi - 8);
		add_chip(c, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	}
}

static int commit(struct irqchip *c)
{
	c->table->nr = c->nr;
	c->table->flags = 0;
	return ioctl(c->vm_fd, KVM_SET_GSI_ROUTING, c->table) < 0 ? -1 : 0;
}

static struct kvm_irq_routing_entry *find_msi(struct irqchip *c, unsigned gsi)
{
	for (unsigned i = 0; i < c->nr; i++)
		if (c->table->entries[i].gsi == gsi &&
		    c->table->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &c->table->entries[i];
	return NULL;
}

static void set_msg(struct kvm_irq_routing_entry *e, const struct msi_msg *m)
{
	e->u.msi.address_lo = (uint32_t)m->addr;
	e->u.msi.address_hi = (uint32_t)(m->addr >> 32);
	e->u.msi.data = m->data;
}

static int msi_add(void *opaque, const struct msi_msg *msg, int irqfd, unsigned *gsi)
{
	struct irqchip *c = opaque;
	struct kvm_irq_routing_entry *e;
	struct kvm_irqfd fd = { .fd = (uint32_t)irqfd };
	int slot = -1, r = -1;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < IRQCHIP_MAX_MSI && slot < 0; i++)
		if (!c->msi_used[i])
			slot = i;
	if (slot < 0) {
		errno = ENOSPC;
		goto out;
	}
	e = &c->table->entries[c->nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = IRQCHIP_IOAPIC_PINS + (unsigned)slot;
	e->type = KVM_IRQ_ROUTING_MSI;
	set_msg(e, msg);
	fd.gsi = e->gsi;
	if (commit(c) < 0 || ioctl(c->vm_fd, KVM_IRQFD, &fd) < 0) {
		c->nr--;
		commit(c);
		goto out;
	}
	c->msi_used[slot] = 1;
	*gsi = fd.gsi;
	r = 0;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int msi_update(void *opaque, unsigned gsi, const struct msi_msg *msg)
{
	struct irqchip *c = opaque;
	struct kvm_irq_routing_entry *e;
	int r = -1;

	pthread_mutex_lock(&c->lock);
	e = find_msi(c, gsi);
	if (!e) {
		errno = ENOENT;
		goto out;
	}
	set_msg(e, msg);
	r = commit(c);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int msi_remove(void *opaque, unsigned gsi, int irqfd)
{
	struct irqchip *c = opaque;
	struct kvm_irqfd fd = { .fd = (uint32_t)irqfd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };
	struct kvm_irq_routing_entry *e;
	int r;

	pthread_mutex_lock(&c->lock);
	r = ioctl(c->vm_fd, KVM_IRQFD, &fd) < 0 ? -1 : 0;
	e = find_msi(c, gsi);
	if (e) {
		*e = c->table->entries[--c->nr];
		c->msi_used[gsi - IRQCHIP_IOAPIC_PINS] = 0;
		if (commit(c) < 0)
			r = -1;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int ioeventfd(void *opaque, uint64_t gpa, unsigned len, int fd, bool assign)
{
	struct irqchip *c = opaque;
	struct kvm_ioeventfd io = {
		.addr = gpa,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return ioctl(c->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -1 : 0;
}

int irqchip_init(struct irqchip *c, int vm_fd)
{
	memset(c, 0, sizeof(*c));
	c->vm_fd = vm_fd;
	c->table = calloc(1, sizeof(*c->table) + MAX_ENTRIES * sizeof(c->table->entries[0]));
	if (!c->table)
		return -1;
	pthread_mutex_init(&c->lock, NULL);
	default_routes(c);
	c->services = (struct irq_services){ msi_add, msi_update, msi_remove, ioeventfd, c };
	return 0;
}

void irqchip_destroy(struct irqchip *c)
{
	if (!c->table)
		return;
	free(c->table);
	c->table = NULL;
	pthread_mutex_destroy(&c->lock);
}
