// SPDX-License-Identifier: MIT
/* A VM: memory, in-kernel irqchip and PIT, devices on the buses, vCPUs. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/legacy.h"
#include "vmm/vm.h"

/* Three pages for the TSS and one for the identity map, in the 32-bit hole
 * and marked reserved in the e820 map (e820.c). */
#define VM_TSS_ADDR 0xFFFBD000ULL
#define VM_IDENTITY_MAP_ADDR 0xFFFBC000ULL

static void irq_set_level(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	if (ioctl(vm->fd, KVM_IRQ_LINE, &l) < 0)
		vm_stop(vm, VM_STOP_FAULT, 1, "KVM_IRQ_LINE %u failed: %s", gsi, strerror(errno));
}

static void machine_stop_cb(void *opaque, enum machine_end how, int status, const char *reason)
{
	vm_stop(opaque, how == MACHINE_RESET ? VM_STOP_RESET : VM_STOP_POWEROFF, status, "%s",
		reason);
}

static int kvm_setup(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { 0 };
	uint64_t idmap = VM_IDENTITY_MAP_ADDR;
	const char *what;

	vm->fd = ioctl(vm->kvm->fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		what = "KVM_CREATE_VM";
		goto fail;
	}
	what = "KVM_SET_TSS_ADDR";
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_ADDR) < 0)
		goto fail;
	what = "KVM_SET_IDENTITY_MAP_ADDR";
	if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		goto fail;
	what = "KVM_CREATE_IRQCHIP";
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	what = "KVM_CREATE_PIT2";
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s failed: %s", what, strerror(errno));
	return -1;
}

static int memory_setup(struct vm *vm, char *err, size_t errlen)
{
	if (gmem_init(&vm->mem, vm->cfg->mem_size, !vm->cfg->no_thp) < 0) {
		snprintf(err, errlen, "cannot map %llu MiB of guest RAM: %s",
			 (unsigned long long)(vm->cfg->mem_size >> 20), strerror(errno));
		return -1;
	}
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct gmem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region kr = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION failed: %s",
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* PCI bus 0 with a virtio-blk function per disk, in slot order. */
static int pci_setup(struct vm *vm, const struct vm_disks *disks, char *err, size_t errlen)
{
	if (irqchip_init(&vm->irqchip, vm->fd) < 0) {
		snprintf(err, errlen, "GSI routing table: %s", strerror(errno));
		return -1;
	}
	vm->irqchip_ready = true;
	if (pci_init(&vm->pci, &vm->pio, &vm->mmio, &vm->ctl, irq_set_level, vm) < 0) {
		snprintf(err, errlen, "PCI ports or window overlap (a kvmlab bug)");
		return -1;
	}
	vm->pci_ready = true;
	for (int i = 0; disks && i < disks->nr; i++) {
		struct virtio_blk *b = &disks->blk[i];

		virtio_blk_attach(b, &vm->disk_pci[i].t);
		if (virtio_pci_init(&vm->disk_pci[i], &b->vdev, &vm->pci, &vm->mem,
				    &vm->irqchip.services,
				    !vm->cfg->no_ioeventfd && !vm->cfg->disks[i].no_ioeventfd, err,
				    errlen) < 0)
			return -1;
		vm->nr_disks++;
	}
	return 0;
}

static int devices_setup(struct vm *vm, const struct serial_backend *console)
{
	struct irq_line com1_irq = { irq_set_level, vm, SERIAL_COM1_IRQ };
	int r = 0;

	vm->ctl = (struct machine_ctl){ machine_stop_cb, vm };
	serial_init(&vm->com1, &com1_irq, console);
	r |= bus_register(&vm->pio, SERIAL_COM1_BASE, 8, serial_io, &vm->com1, "COM1");
	r |= bus_register(&vm->pio, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, debug_exit_io, &vm->ctl,
			  "isa-debug-exit");
	r |= bus_register(&vm->pio, KVMLAB_EXIT_PORT, 1, kvmlab_exit_io, &vm->ctl, "kvmlab-exit");
	r |= bus_register(&vm->pio, I8042_CMD_PORT, 1, i8042_io, &vm->ctl, "i8042");
	r |= bus_register(&vm->pio, POST_PORT, 1, post_io, NULL, "POST");
	/* Guest markers for --trace (docs/tracing.md): accepted and dropped without it. */
	r |= bus_register(&vm->pio, TRACE_MARKER_PORT, 1, trace_marker_io, NULL, "trace-marker");
	rtc_init(&vm->rtc, NULL);
	r |= bus_register(&vm->pio, RTC_PORT, RTC_LEN, rtc_io, &vm->rtc, "RTC");
	return r;
}

int vm_create(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg,
	      const struct serial_backend *console, const struct vm_disks *disks, char *err,
	      size_t errlen)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm = kvm;
	vm->cfg = cfg;
	vm->fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	bus_init(&vm->pio, "port");
	bus_init(&vm->mmio, "MMIO");
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_VCPUS || cfg->nr_cpus > kvm->max_vcpus) {
		snprintf(err, errlen, "%d vCPUs asked; this host allows 1 to %d", cfg->nr_cpus,
			 kvm->max_vcpus < VM_MAX_VCPUS ? kvm->max_vcpus : VM_MAX_VCPUS);
		return -1;
	}
	if (cfg->stats && !(vm->stats = stats_create(cfg->nr_cpus))) {
		snprintf(err, errlen, "--stats: out of memory");
		return -1;
	}
	if (kvm_setup(vm, err, errlen) < 0 || memory_setup(vm, err, errlen) < 0)
		return -1;
	if (devices_setup(vm, console) < 0) {
		snprintf(err, errlen, "device port ranges overlap (a kvmlab bug)");
		return -1;
	}
	return pci_setup(vm, disks, err, errlen);
}

int vm_load(struct vm *vm, const struct boot_image *kernel, const struct boot_image *initrd,
	    char *err, size_t errlen)
{
	if (vm->cfg->firmware && firmware_reserve(vm, err, errlen) < 0)
		return -1;
	if (boot_load(&vm->mem, kernel, initrd, vm->cfg->cmdline, vm->cfg->nr_cpus, &vm->entry,
		      err, errlen) < 0)
		return -1;
	if (vm->cfg->firmware && firmware_setup(vm, err, errlen) < 0)
		return -1;
	for (int i = 0; i < vm->cfg->nr_cpus; i++) {
		if (vcpu_create(vm, i, err, errlen) < 0)
			return -1;
		vm->nr_vcpus++;
	}
	return 0;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	vcpu_kick_signal_init();
	if (vm->stats) {
		int fds[VM_MAX_VCPUS];

		for (int i = 0; i < vm->nr_vcpus; i++)
			fds[i] = vm->vcpu[i].fd;
		stats_start(vm->stats, vm->kvm->fd, vm->fd, fds);
	}
	for (int i = 0; i < vm->nr_vcpus; i++) {
		int r = vcpu_start(&vm->vcpu[i]);

		if (r) {
			snprintf(err, errlen, "cannot start vCPU thread %d: %s", i, strerror(r));
			vm_stop(vm, VM_STOP_FAULT, 1, "vCPU thread start failed");
			return -1;
		}
	}
	return 0;
}

/* What the configuration says to do when the VM stops so. */
static enum vm_action stop_action(const struct vm_config *c, enum vm_stop_kind kind)
{
	switch (kind) {
	case VM_STOP_POWEROFF:
		return c->on_poweroff;
	case VM_STOP_RESET:
	case VM_STOP_TRIPLE_FAULT:
		return c->on_reboot;
	case VM_STOP_CRASH:
		return c->on_crash;
	case VM_STOP_USER:
	case VM_STOP_FAULT:
		break;
	}
	return VM_ACTION_DESTROY;
}

void vm_stop(struct vm *vm, enum vm_stop_kind kind, int status, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	vm->status = status;
	vm->stop_kind = kind;
	vm->restart = stop_action(vm->cfg, kind) == VM_ACTION_RESTART;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	atomic_store(&vm->stopping, true);
	pthread_mutex_unlock(&vm->stop_lock);

	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpu[i]);
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		perror("kvmlab: eventfd");
}

void vm_join(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu[i].started)
			pthread_join(vm->vcpu[i].thread, NULL);
}

void vm_destroy(struct vm *vm)
{
	/* Device threads first: they use guest memory and the VM's irqfds. */
	for (int i = 0; i < vm->nr_disks; i++)
		virtio_pci_destroy(&vm->disk_pci[i]);
	if (vm->pci_ready)
		pci_destroy(&vm->pci);
	if (vm->irqchip_ready)
		irqchip_destroy(&vm->irqchip);
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	serial_destroy(&vm->com1);
	rtc_destroy(&vm->rtc);
	if (vm->fd >= 0)
		close(vm->fd);
	firmware_destroy(vm);
	gmem_free(&vm->mem);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	stats_destroy(vm->stats);
	vm->stats = NULL;
	pthread_mutex_destroy(&vm->stop_lock);
}
