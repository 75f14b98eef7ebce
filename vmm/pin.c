// SPDX-License-Identifier: MIT
/* --pin: parsing the CPU list and checking it against the host before any VM exists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/pin.h"

int pin_parse(const char *s, int *cpus, int max, char *err, size_t errlen)
{
	int n = 0;

	if (!*s) {
		snprintf(err, errlen, "--pin: no CPU given (e.g. --pin 0 or --pin 0,1)");
		return -1;
	}
	for (;;) {
		char *end;
		long v;

		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || end == s || *s < '0' || *s > '9' || v >= CPU_SETSIZE ||
		    (*end && *end != ',')) {
			snprintf(err, errlen, "--pin: '%s' is not a list of CPU numbers (e.g. 0,1)", s);
			return -1;
		}
		if (n == max) {
			snprintf(err, errlen, "--pin: more than %d CPUs", max);
			return -1;
		}
		cpus[n++] = (int)v;
		if (!*end)
			return n;
		s = end + 1;
	}
}

/* "0-3,6" into buf: the CPUs of set below nr. */
static void cpu_list(const cpu_set_t *set, int nr, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int c = 0; c < nr && used < len; c++) {
		int last = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (last + 1 < nr && CPU_ISSET(last + 1, set))
			last++;
		used += (size_t)snprintf(buf + used, len - used, last > c ? "%s%d-%d" : "%s%d",
					 used ? "," : "", c, last);
		c = last;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* Two vCPUs on one CPU are allowed: sharing a CPU is an experiment too. */
int pin_check(const int *cpus, int n, const cpu_set_t *allowed, int nr_conf, char *err,
	      size_t errlen)
{
	char list[256];

	for (int i = 0; i < n; i++) {
		if (cpus[i] < 0) /* a vCPU a domain XML leaves unpinned */
			continue;
		if (cpus[i] >= nr_conf) {
			if (nr_conf == 1)
				snprintf(err, errlen,
					 "--pin or <vcpupin>: CPU %d does not exist: this host has "
					 "one CPU, CPU 0",
					 cpus[i]);
			else
				snprintf(err, errlen,
					 "--pin or <vcpupin>: CPU %d does not exist: this host has "
					 "CPUs 0-%d",
					 cpus[i], nr_conf - 1);
			return -1;
		}
		if (!CPU_ISSET(cpus[i], allowed)) {
			cpu_list(allowed, nr_conf > CPU_SETSIZE ? CPU_SETSIZE : nr_conf, list,
				 sizeof(list));
			snprintf(err, errlen,
				 "--pin or <vcpupin>: CPU %d is not allowed to kvmlab (its affinity, "
				 "from taskset or a cpuset, allows CPUs %s)",
				 cpus[i], list);
			return -1;
		}
	}
	return 0;
}

int pin_check_host(const int *cpus, int n, char *err, size_t errlen)
{
	cpu_set_t allowed;
	long conf = sysconf(_SC_NPROCESSORS_CONF);

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		snprintf(err, errlen, "--pin: cannot read kvmlab's CPU affinity: %s", strerror(errno));
		return -1;
	}
	return pin_check(cpus, n, &allowed, conf > 0 ? (int)conf : 1, err, errlen);
}
