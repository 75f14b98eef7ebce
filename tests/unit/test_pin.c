/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/pin.h"

static char err[256];

Test(pin, parse)
{
	int cpus[4];

	cr_assert_eq(pin_parse("0", cpus, 4, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(cpus[0], 0);
	cr_assert_eq(pin_parse("3,1,1", cpus, 4, err, sizeof(err)), 3, "%s", err);
	cr_assert(cpus[0] == 3 && cpus[1] == 1 && cpus[2] == 1);
	const char *bad[] = { "", ",", "1,", ",1", "a", "-1", "1-3", "1 2", "+1", "99999999999", "1024" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cr_assert_eq(pin_parse(bad[i], cpus, 4, err, sizeof(err)), -1, "'%s' accepted", bad[i]);
		cr_assert_not_null(strstr(err, "--pin"), "%s", err);
	}
	cr_assert_eq(pin_parse("0,1,2,3,4", cpus, 4, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "more than 4"), "%s", err);
}

Test(pin, check)
{
	cpu_set_t allowed;
	int ok[] = { 0, 2 }, missing[] = { 0, 4 }, denied[] = { 1 };
	int unpinned[] = { -1, 2, -1 }; /* a domain XML's vCPUs without <vcpupin> */

	CPU_ZERO(&allowed);
	CPU_SET(0, &allowed);
	CPU_SET(2, &allowed);
	CPU_SET(3, &allowed);
	cr_assert_eq(pin_check(ok, 2, &allowed, 4, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pin_check(missing, 2, &allowed, 4, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--pin or <vcpupin>: CPU 4 does not exist: this host has CPUs 0-3");
	cr_assert_eq(pin_check(denied, 1, &allowed, 4, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "CPU 1 is not allowed to kvmlab"), "%s", err);
	cr_assert_not_null(strstr(err, "allows CPUs 0,2-3"), "%s", err);
	cr_assert_eq(pin_check(unpinned, 3, &allowed, 4, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(pin_check(missing + 1, 1, &allowed, 1, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--pin or <vcpupin>: CPU 4 does not exist: this host has one CPU, CPU 0");
}
