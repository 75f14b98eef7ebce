/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_VM_H
#define KVMLAB_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "devices/fw_port.h"
#include "devices/machine.h"
#include "devices/pci.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_pci.h"
#include "vmm/boot/boot.h"
#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/irqchip.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"
#include "vmm/stats.h"
#include "vmm/trace.h"

#define VM_MAX_VCPUS 64

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct stats_vcpu *stats;  /* --stats: this vCPU's exit tables, else NULL */
	struct trace_ring *trace;  /* --trace: this vCPU's ring (set by its thread), else NULL */
};

/*
 * Why a VM stopped: decides whether the guest boots again (the configuration's
 * on_poweroff, on_reboot, on_crash) and what kvmlab says about it.
 */
enum vm_stop_kind {
	VM_STOP_POWEROFF,     /* the guest powered off (isa-debug-exit, KVM's shutdown event) */
	VM_STOP_RESET,	      /* the guest reset the machine (i8042, KVM's reset event) */
	VM_STOP_TRIPLE_FAULT, /* a reset too, on a PC, but reported as the guest's failure */
	VM_STOP_CRASH,	      /* the guest reported a crash (KVM's crash event) */
	VM_STOP_USER,	      /* a signal or the console's quit key */
	VM_STOP_FAULT,	      /* the VM failed: entry failure, KVM internal error, ... */
};

struct vm {
	struct kvm *kvm;
	const struct vm_config *cfg;
	int fd;
	struct guest_mem mem;
	struct bus pio, mmio;
	int nr_vcpus;
	struct vcpu vcpu[VM_MAX_VCPUS];
	struct boot_entry entry;
	struct stats *stats; /* --stats, else NULL */
	struct trace *trace; /* --trace (the caller's: it spans restarts), else NULL */

	/* The end of the VM: written once, under lock, by vm_stop(). */
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int status;
	enum vm_stop_kind stop_kind;
	bool restart; /* the configuration says to boot the guest again */
	char stop_reason[1024];
	int stop_fd; /* eventfd, readable once the VM has ended */

	/* Devices, and the handle they get on the machine. */
	struct machine_ctl ctl;
	struct serial com1;
	struct rtc rtc;
	struct irqchip irqchip;
	bool irqchip_ready;
	struct pci_bus pci;
	bool pci_ready;
	/* --firmware: the ROM's host copy and the port interface (vmm/firmware.c). */
	void *fw_rom;
	size_t fw_rom_size;
	struct fw_port fw_port;
	/* Disks: virtio-blk devices (opened by the caller, they outlive a boot) on PCI. */
	struct virtio_pci disk_pci[CONFIG_MAX_DISKS];
	int nr_disks;
};

/* The VM's disks, opened before the first boot and kept across restarts. */
struct vm_disks {
	struct virtio_blk *blk; /* in PCI slot order: vda, vdb, ... */
	int nr;
};

/* Build the machine: KVM VM, memory, irqchip, devices. err gets one line. */
int vm_create(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg,
	      const struct serial_backend *console, const struct vm_disks *disks, char *err,
	      size_t errlen);
/* Load the kernel and create the vCPUs in their boot state. */
int vm_load(struct vm *vm, const struct boot_image *kernel, const struct boot_image *initrd,
	    char *err, size_t errlen);
int vm_start(struct vm *vm, char *err, size_t errlen);
/*
 * The one place that ends a VM: the first call decides status, reason, and
 * (from the configuration's on_* actions) whether the guest restarts.
 */
void vm_stop(struct vm *vm, enum vm_stop_kind kind, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Join the vCPU threads after the VM has stopped. */
void vm_join(struct vm *vm);
void vm_destroy(struct vm *vm);

/* firmware.c (--firmware): before boot_load, record the ROM for the memory
 * map; after it, map the ROM and add the port device. Return 0 or -1 + err. */
int firmware_reserve(struct vm *vm, char *err, size_t errlen);
int firmware_setup(struct vm *vm, char *err, size_t errlen);
void firmware_destroy(struct vm *vm);

/* vcpu.c */
int vcpu_create(struct vm *vm, int id, char *err, size_t errlen);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
void vcpu_kick_signal_init(void);
/* Where the vCPU is: registers in words (after its thread has stopped). */
void vcpu_describe(struct vcpu *v, FILE *f);

#endif
