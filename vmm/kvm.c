// SPDX-License-Identifier: MIT
/* /dev/kvm: open it, check the API version and the capabilities we need. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/kvm.h"

const struct kvm_cap_req kvm_caps_needed[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM from our own mappings" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel PIC, IOAPIC and LAPIC" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel PIT timer" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", "interrupt routing to the IOAPIC" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "device doorbells without a user-space exit" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "device interrupts from I/O threads" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs without races" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "real/protected mode on Intel without unrestricted guest" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR", "paging-off guests on Intel without unrestricted guest" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "KVM_GET_SUPPORTED_CPUID" },
	{ KVM_CAP_NR_VCPUS, "KVM_CAP_NR_VCPUS", "vCPU limits" },
};
const int kvm_nr_caps_needed = sizeof(kvm_caps_needed) / sizeof(kvm_caps_needed[0]);

const char *kvm_device_path(void)
{
	const char *p = getenv(KVM_DEVICE_ENV);

	return p && *p ? p : KVM_DEFAULT_DEVICE;
}

int kvm_open(struct kvm *k, char *err, size_t errlen)
{
	int v;

	err[0] = '\0';
	k->path = kvm_device_path();
	k->fd = open(k->path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0)
		return -1;
	v = ioctl(k->fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(err, errlen, "%s is not a KVM device with API version %d (got %d)",
			 k->path, KVM_API_VERSION, v);
		goto fail;
	}
	for (int i = 0; i < kvm_nr_caps_needed; i++) {
		if (ioctl(k->fd, KVM_CHECK_EXTENSION, kvm_caps_needed[i].cap) > 0)
			continue;
		snprintf(err, errlen, "this KVM lacks %s (%s)", kvm_caps_needed[i].name,
			 kvm_caps_needed[i].why);
		goto fail;
	}
	k->run_size = ioctl(k->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed");
		goto fail;
	}
	k->max_vcpus = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return 0;
fail:
	close(k->fd);
	k->fd = -1;
	errno = ENODEV;
	return -1;
}

void kvm_close(struct kvm *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}
