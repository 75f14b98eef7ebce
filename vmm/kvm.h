/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_KVM_H
#define KVMLAB_KVM_H

#include <stddef.h>

/* The KVM device and what we need of it. */

#define KVM_DEFAULT_DEVICE "/dev/kvm"
/* Environment variable that points kvmlab at another device node (tests use
 * it to simulate a host without /dev/kvm). */
#define KVM_DEVICE_ENV "KVMLAB_KVM_DEVICE"

/* kvmlab's exit status when the host cannot run VMs (sysexits' EX_UNAVAILABLE). */
#define KVMLAB_EXIT_NO_KVM 69

struct kvm {
	int fd;
	int run_size;  /* size of each vCPU's kvm_run mapping */
	int max_vcpus; /* KVM_CAP_MAX_VCPUS */
	const char *path;
};

struct kvm_cap_req {
	int cap;
	const char *name;
	const char *why;
};

/* The capabilities kvmlab relies on, probed up front. */
extern const struct kvm_cap_req kvm_caps_needed[];
extern const int kvm_nr_caps_needed;

/* The device path: $KVMLAB_KVM_DEVICE or /dev/kvm. */
const char *kvm_device_path(void);

/*
 * Open the device, check the API version and every needed capability.
 * On failure returns -1 with a one-line reason in err ("" if errno says it
 * all, e.g. for open() failures; errno is kept in that case).
 */
int kvm_open(struct kvm *k, char *err, size_t errlen);
void kvm_close(struct kvm *k);

#endif
