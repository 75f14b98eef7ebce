/* SPDX-License-Identifier: MIT */
/*
 * vm_stop(), the one place that decides how a VM ends: its status, and from
 * the configuration's on_poweroff / on_reboot / on_crash whether the guest
 * boots again. No KVM needed: a VM with no vCPUs yet.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/vm.h"

static struct vm vm;
static struct vm_config cfg;

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	config_init(&cfg);
	vm.cfg = &cfg;
	vm.fd = -1;
	pthread_mutex_init(&vm.stop_lock, NULL);
	vm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(vm.stop_fd, 0);
}

static void teardown(void)
{
	close(vm.stop_fd);
	pthread_mutex_destroy(&vm.stop_lock);
}

TestSuite(vm_stop, .init = setup, .fini = teardown);

static bool signalled(void)
{
	uint64_t n = 0;

	return read(vm.stop_fd, &n, sizeof(n)) == sizeof(n) && n == 1;
}

Test(vm_stop, command_line_defaults_end_on_everything)
{
	static const enum vm_stop_kind kinds[] = {VM_STOP_POWEROFF,	VM_STOP_RESET,
						  VM_STOP_TRIPLE_FAULT, VM_STOP_CRASH,
						  VM_STOP_USER,		VM_STOP_FAULT};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		atomic_store(&vm.stopping, false);
		vm_stop(&vm, kinds[i], 7, "kind %zu", i);
		cr_assert_not(vm.restart, "kind %zu restarts by default", i);
		cr_assert_eq(vm.status, 7);
		cr_assert(signalled());
	}
}

Test(vm_stop, each_end_follows_its_action)
{
	static const struct {
		enum vm_stop_kind kind;
		enum vm_action *action;
	} t[] = {
	    {VM_STOP_POWEROFF, &cfg.on_poweroff},
	    {VM_STOP_RESET, &cfg.on_reboot},
	    {VM_STOP_TRIPLE_FAULT, &cfg.on_reboot}, /* a PC resets on a triple fault */
	    {VM_STOP_CRASH, &cfg.on_crash},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		config_init(&cfg);
		*t[i].action = VM_ACTION_RESTART;
		atomic_store(&vm.stopping, false);
		vm_stop(&vm, t[i].kind, 0, "restart %zu", i);
		cr_assert(vm.restart, "case %zu: its own action is restart", i);
		cr_assert(signalled());

		/* Every other action restarting, this one destroying: it ends. */
		cfg.on_poweroff = cfg.on_reboot = cfg.on_crash = VM_ACTION_RESTART;
		*t[i].action = VM_ACTION_DESTROY;
		atomic_store(&vm.stopping, false);
		vm_stop(&vm, t[i].kind, 3, "destroy %zu", i);
		cr_assert_not(vm.restart, "case %zu: followed another element's action", i);
		cr_assert_eq(vm.status, 3);
		cr_assert(signalled());
	}
}

Test(vm_stop, user_and_failures_never_restart)
{
	cfg.on_poweroff = cfg.on_reboot = cfg.on_crash = VM_ACTION_RESTART;
	vm_stop(&vm, VM_STOP_USER, 130, "signal");
	cr_assert_not(vm.restart);
	atomic_store(&vm.stopping, false);
	vm_stop(&vm, VM_STOP_FAULT, 1, "entry failed");
	cr_assert_not(vm.restart);
}

Test(vm_stop, first_call_decides)
{
	cfg.on_reboot = VM_ACTION_RESTART;
	vm_stop(&vm, VM_STOP_POWEROFF, 11, "poweroff");
	vm_stop(&vm, VM_STOP_RESET, 0, "reset");
	cr_assert_eq(vm.stop_kind, VM_STOP_POWEROFF);
	cr_assert_eq(vm.status, 11);
	cr_assert_not(vm.restart);
	cr_assert_str_eq(vm.stop_reason, "poweroff");
}
