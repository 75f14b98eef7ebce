/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_PIN_H
#define KVMLAB_PIN_H

/*
 * --pin CPU[,CPU...]: vCPU thread i runs only on the i-th CPU given
 * (sched_setaffinity through the thread's attributes, from its first
 * instruction). For lesson 5 (steal time) and for measurements that must not
 * move between CPUs.
 */
#include <sched.h>
#include <stddef.h>

/* "0,2,3" -> cpus[], at most max of them. Returns how many, or -1 (err says why). */
int pin_parse(const char *s, int *cpus, int max, char *err, size_t errlen);

/*
 * Whether each CPU exists (below nr_conf, the host's configured CPUs) and is in
 * allowed (the affinity kvmlab was started with: taskset, cgroups' cpusets).
 * Returns 0, or -1 with one line in err naming the CPU and what is possible.
 */
int pin_check(const int *cpus, int n, const cpu_set_t *allowed, int nr_conf, char *err,
	      size_t errlen);

/* pin_check() against this host and this process's affinity. */
int pin_check_host(const int *cpus, int n, char *err, size_t errlen);

#endif
