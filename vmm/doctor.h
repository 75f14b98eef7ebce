/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_DOCTOR_H
#define KVMLAB_DOCTOR_H

#include <stdbool.h>
#include <stdio.h>

/*
 * `kvmlab doctor`: check, one line each, whether this host can run kvmlab
 * VMs, and give the exact fix for what is missing. Returns 0 iff it can.
 *
 * brief: print only the first failure with its fix and a pointer to the
 * full check (for `kvmlab run` when KVM is unusable); prints nothing when
 * every check passes.
 */
int doctor_report(FILE *out, bool brief);

/*
 * Read /proc and /sys under root instead of / ("" or NULL: the real ones),
 * so tests can point the doctor at a crafted tree. The device node still
 * comes from kvm_device_path().
 */
void doctor_set_root(const char *root);

#endif
