/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/doctor.h"
#include "vmm/kvm.h"

/*
 * Each test builds a fake / (proc/cpuinfo, sys/module/..., sys/class/dmi)
 * in a temp dir and points the doctor at it; the device comes from
 * KVMLAB_KVM_DEVICE, so no test depends on this host having KVM.
 */

static char tree[64];
static char nokvm[128]; /* a device path that does not exist */
static char *out;

static void mkdirs(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	for (char *p = path + strlen(tree) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void put(const char *rel, const char *text)
{
	char path[256], dir[256];
	char *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(dir);
	}
	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	fputs(text, f);
	fclose(f);
}

/* Two CPUs, as the real file has one block per CPU. */
static void cpuinfo(const char *vendor, const char *flags)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "processor\t: 0\nvendor_id\t: %s\nmodel name\t: Test CPU\n"
		 "flags\t\t: fpu vme de pse tsc msr pae %s sse sse2\n\n"
		 "processor\t: 1\nvendor_id\t: %s\nflags\t\t: fpu vme de pse tsc msr pae %s sse sse2\n\n",
		 vendor, flags, vendor, flags);
	put("proc/cpuinfo", text);
}

static void intel_host(void)
{
	cpuinfo("GenuineIntel", "vmx");
	mkdirs("sys/module/kvm");
	mkdirs("sys/module/kvm_intel");
}

static int run(bool brief)
{
	size_t len;
	FILE *f;
	int ret;

	free(out);
	out = NULL;
	f = open_memstream(&out, &len);
	cr_assert_not_null(f);
	ret = doctor_report(f, brief);
	fclose(f);
	return ret;
}

static void has(const char *phrase)
{
	cr_assert_not_null(strstr(out, phrase), "missing \"%s\" in:\n%s", phrase, out);
}

static void lacks(const char *phrase)
{
	cr_assert_null(strstr(out, phrase), "unexpected \"%s\" in:\n%s", phrase, out);
}

static int nr_lines(void)
{
	int n = 0;

	for (const char *p = out; *p; p++)
		n += *p == '\n';
	return n;
}

/* The output's last line, newline included. */
static const char *last_line(void)
{
	size_t len = strlen(out);

	cr_assert_gt(len, 0);
	for (size_t i = len - 1; i > 0; i--)
		if (out[i - 1] == '\n')
			return out + i;
	return out;
}

static void setup(void)
{
	snprintf(tree, sizeof(tree), "/tmp/kvmlab-doctor-XXXXXX");
	cr_assert_not_null(mkdtemp(tree));
	mkdirs("sys/module");
	snprintf(nokvm, sizeof(nokvm), "%s/no-kvm", tree);
	setenv(KVM_DEVICE_ENV, nokvm, 1);
	doctor_set_root(tree);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	doctor_set_root(NULL);
	unsetenv(KVM_DEVICE_ENV);
	free(out);
	out = NULL;
}

TestSuite(doctor, .init = setup, .fini = teardown);

/* --- a. CPU flag ----------------------------------------------------------- */

Test(doctor, vmx_named)
{
	intel_host();
	cr_assert_neq(run(false), 0);
	has("  ok   CPU virtualization: Intel VT-x (vmx)\n");
	lacks("AMD-V");
}

Test(doctor, svm_named_and_kvm_amd_asked_for)
{
	cpuinfo("AuthenticAMD", "svm");
	mkdirs("sys/module/kvm");
	cr_assert_neq(run(false), 0);
	has("  ok   CPU virtualization: AMD-V (svm)\n");
	has("  FAIL kvm_amd module not loaded; fix: sudo modprobe kvm_amd\n");
	cr_assert_str_eq(last_line(), "kvmlab cannot run VMs here: kvm_amd module not loaded.\n");
}

Test(doctor, no_flag_under_a_hypervisor)
{
	cpuinfo("AuthenticAMD", "hypervisor");
	mkdirs("sys/module/kvm");
	cr_assert_neq(run(false), 0);
	has("  FAIL the hypervisor we run under does not expose virtualization");
	has("fix: enable nested virtualization for this VM");
	/* modprobe cannot help without the flag, so it is not offered */
	has("  FAIL kvm_amd module not loaded (it cannot load without svm, see above)\n");
	lacks("sudo modprobe");
	cr_assert_str_eq(last_line(),
			 "kvmlab cannot run VMs here: the hypervisor we run under does not expose "
			 "virtualization (no vmx or svm flag in /proc/cpuinfo).\n");
}

Test(doctor, no_flag_on_bare_metal)
{
	cpuinfo("GenuineIntel", "");
	cr_assert_neq(run(false), 0);
	has("  FAIL the CPU does not expose virtualization");
	has("fix: enable Intel VT-x or AMD-V (SVM) in the firmware setup");
	has("  ok   no hypervisor flag: running on bare metal\n");
	has("kvm_intel module not loaded (it cannot load without vmx, see above)");
	lacks("nested virtualization for this VM");
}

Test(doctor, unreadable_cpuinfo_is_a_warning)
{
	cr_assert_neq(run(false), 0);
	has("  warn cannot read /proc/cpuinfo");
	/* vendor unknown: both modules are offered */
	has("  FAIL kvm module not loaded; fix: sudo modprobe kvm_intel (Intel) or sudo modprobe kvm_amd (AMD)\n");
	lacks("CPU virtualization");
}

/* --- b. running as a guest ----------------------------------------------------- */

Test(doctor, guest_named_from_dmi)
{
	cpuinfo("GenuineIntel", "vmx hypervisor");
	put("sys/class/dmi/id/sys_vendor", "QEMU\n");
	put("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
	run(false);
	has("  ok   CPU virtualization: Intel VT-x (vmx)\n");
	has("  note running inside a VM (QEMU Standard PC (Q35 + ICH9, 2009)): nested KVM works but every exit is slower\n");
	lacks("bare metal");
}

Test(doctor, guest_without_dmi)
{
	cpuinfo("GenuineIntel", "vmx hypervisor");
	run(false);
	has("  note running inside a VM (no DMI vendor; microVMs such as Firecracker have none)");
	lacks("  FAIL the CPU");
}

/* --- c. d. modules and their parameters ---------------------------------- */

Test(doctor, vmx_without_modules)
{
	cpuinfo("GenuineIntel", "vmx");
	cr_assert_neq(run(false), 0);
	has("  FAIL kvm module not loaded; fix: sudo modprobe kvm_intel\n");
	has("  FAIL kvm_intel module not loaded; fix: sudo modprobe kvm_intel\n");
	cr_assert_str_eq(last_line(), "kvmlab cannot run VMs here: kvm module not loaded.\n");
}

Test(doctor, no_sys_module_is_a_warning)
{
	char path[128];

	cpuinfo("GenuineIntel", "vmx");
	snprintf(path, sizeof(path), "%s/sys/module", tree);
	cr_assert_eq(rmdir(path), 0);
	run(false);
	has("  warn cannot read /sys/module: module checks skipped\n");
	lacks("module not loaded");
}

Test(doctor, intel_params_off_cost_explained)
{
	char line[256];

	intel_host();
	put("sys/module/kvm_intel/parameters/ept", "N\n");
	put("sys/module/kvm_intel/parameters/unrestricted_guest", "N\n");
	put("sys/module/kvm_intel/parameters/nested", "N\n");
	cr_assert_neq(run(false), 0);
	has("  warn kvm_intel ept=N: no EPT means shadow paging");
	has("sudo modprobe kvm_intel ept=1");
	has("  warn kvm_intel unrestricted_guest=N: guest real mode");
	has("  note kvm_intel nested=N: guests cannot run their own KVM");
	/* parameters warn, they do not fail: the device is the first failure */
	snprintf(line, sizeof(line), "kvmlab cannot run VMs here: %s does not exist.\n", nokvm);
	cr_assert_str_eq(last_line(), line);
}

Test(doctor, intel_params_on)
{
	intel_host();
	put("sys/module/kvm_intel/parameters/ept", "Y\n");
	put("sys/module/kvm_intel/parameters/unrestricted_guest", "Y\n");
	put("sys/module/kvm_intel/parameters/nested", "Y\n");
	run(false);
	has("  ok   kvm_intel ept=Y: the CPU walks guest page tables (EPT)\n");
	has("  ok   kvm_intel unrestricted_guest=Y: guest real mode runs natively\n");
	has("  note kvm_intel nested=Y: guests may run their own KVM");
	lacks("  warn");
}

Test(doctor, amd_params)
{
	cpuinfo("AuthenticAMD", "svm");
	mkdirs("sys/module/kvm");
	put("sys/module/kvm_amd/parameters/npt", "0\n");
	put("sys/module/kvm_amd/parameters/nested", "1\n");
	run(false);
	has("  ok   kvm_amd module loaded\n");
	has("  warn kvm_amd npt=0: no NPT means shadow paging");
	has("sudo modprobe kvm_amd npt=1");
	has("  note kvm_amd nested=1: guests may run their own KVM");
	lacks("kvm_intel");
}

Test(doctor, pvm_noted)
{
	cpuinfo("AuthenticAMD", "hypervisor");
	mkdirs("sys/module/kvm");
	mkdirs("sys/module/kvm_pvm");
	run(false);
	has("  note kvm_pvm is loaded: PVM runs only PVM-aware guest kernels");
}

/* --- e. f. the device ---------------------------------------------------- */

Test(doctor, missing_device)
{
	char line[256];

	intel_host();
	cr_assert_neq(run(false), 0);
	snprintf(line, sizeof(line), "  FAIL %s does not exist; fix: unset " KVM_DEVICE_ENV, nokvm);
	has(line);
	snprintf(line, sizeof(line), "kvmlab cannot run VMs here: %s does not exist.\n", nokvm);
	cr_assert_str_eq(last_line(), line);
	lacks("KVM API");
}

/* The default node: its check depends on this host, so assert either way. */
Test(doctor, default_device_after_module_failure)
{
	struct stat st;

	cpuinfo("GenuineIntel", "vmx");
	unsetenv(KVM_DEVICE_ENV);
	cr_assert_neq(run(false), 0);
	if (stat(KVM_DEFAULT_DEVICE, &st))
		has("  FAIL " KVM_DEFAULT_DEVICE " does not exist (kvm_intel or kvm_amd creates it when it loads, see above)\n");
	else
		has("  ok   " KVM_DEFAULT_DEVICE " is a character device");
	lacks("unset " KVM_DEVICE_ENV);
}

Test(doctor, regular_file_is_not_a_device)
{
	char path[128], line[256];

	intel_host();
	put("fake-kvm", "");
	snprintf(path, sizeof(path), "%s/fake-kvm", tree);
	setenv(KVM_DEVICE_ENV, path, 1);
	cr_assert_neq(run(false), 0);
	snprintf(line, sizeof(line), "  FAIL %s is not a character device", path);
	has(line);
	lacks("opens read-write");
}

Test(doctor, dev_null_fails_the_api_check)
{
	intel_host();
	setenv(KVM_DEVICE_ENV, "/dev/null", 1);
	cr_assert_neq(run(false), 0);
	has("  ok   /dev/null is a character device (1:3, ");
	has("  ok   /dev/null opens read-write as ");
	has("  FAIL /dev/null is not a KVM device (KVM_GET_API_VERSION: ");
	lacks("KVM_CAP_");
	cr_assert_eq(strncmp(last_line(), "kvmlab cannot run VMs here: /dev/null is not a KVM device", 57), 0,
		     "verdict: %s", last_line());
}

Test(doctor, checks_come_in_order)
{
	static const char *const order[] = {
		"CPU virtualization", "bare metal", "kvm module loaded", "kvm_intel module loaded",
		"kvm_intel ept=", "/dev/null is a character device", "/dev/null opens", "not a KVM device",
		"kvmlab cannot run VMs here",
	};
	const char *prev = NULL;

	intel_host();
	put("sys/module/kvm_intel/parameters/ept", "Y\n");
	setenv(KVM_DEVICE_ENV, "/dev/null", 1);
	run(false);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *at = strstr(out, order[i]);

		cr_assert_not_null(at, "missing \"%s\" in:\n%s", order[i], out);
		cr_assert(!prev || at > prev, "\"%s\" out of order in:\n%s", order[i], out);
		prev = at;
	}
	/* every line but the verdict is a tagged check */
	for (const char *l = out; l != last_line(); l = strchr(l, '\n') + 1)
		cr_assert(!strncmp(l, "  ok   ", 7) || !strncmp(l, "  FAIL ", 7) || !strncmp(l, "  note ", 7) ||
				  !strncmp(l, "  warn ", 7),
			  "untagged line in:\n%s", out);
}

/*
 * EACCES needs an unprivileged opener: as root, build a copy of /dev/null's
 * node that only root and group gid may open, then run the doctor in a child
 * that dropped to nobody. The child's output comes back through a pipe.
 */
static void run_as_nobody(mode_t mode, gid_t gid, char *node, size_t len)
{
	char buf[4096];
	size_t got = 0;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to create the device node and drop to nobody");
	snprintf(node, len, "%s/locked-kvm", tree);
	if (mknod(node, S_IFCHR | mode, makedev(1, 3)))
		cr_skip_test("cannot mknod here");
	cr_assert_eq(chown(node, 0, gid), 0);
	cr_assert_eq(chmod(node, mode), 0);
	cr_assert_eq(chmod(tree, 0755), 0);
	setenv(KVM_DEVICE_ENV, node, 1);
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		run(false);
		if (write(fds[1], out, strlen(out)) < 0)
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(buf) - 1 && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
	free(out);
	out = strdup(buf);
}

static const char *nobody_name(char *buf, size_t len)
{
	const struct passwd *pw = getpwuid(65534);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "65534");
	return buf;
}

Test(doctor, permission_denied_names_group_and_user)
{
	const struct group *gr;
	char node[128], user[64], line[1024];

	/* any real group other than root and nobody's own */
	setgrent();
	while ((gr = getgrent()) && (gr->gr_gid == 0 || gr->gr_gid == 65534))
		;
	endgrent();
	cr_assert_not_null(gr, "no usable group in the group database");
	gr = getgrgid(gr->gr_gid);
	intel_host();
	run_as_nobody(0660, gr->gr_gid, node, sizeof(node));
	nobody_name(user, sizeof(user));
	snprintf(line, sizeof(line),
		 "  FAIL %s: permission denied for user %s; fix: sudo usermod -aG %s %s (then log in again), "
		 "or sudo setfacl -m u:%s:rw %s\n",
		 node, user, gr->gr_name, user, user, node);
	has(line);
}

Test(doctor, permission_denied_without_group_access)
{
	char node[128], user[64], line[1024];

	intel_host();
	run_as_nobody(0600, 0, node, sizeof(node));
	nobody_name(user, sizeof(user));
	snprintf(line, sizeof(line), "  FAIL %s: permission denied for user %s; fix: sudo setfacl -m u:%s:rw %s\n",
		 node, user, user, node);
	has(line);
	lacks("usermod");
}

/* --- brief mode ----------------------------------------------------------- */

Test(doctor, brief_gives_first_failure_and_pointer)
{
	cpuinfo("AuthenticAMD", "hypervisor");
	cr_assert_neq(run(true), 0);
	cr_assert_eq(nr_lines(), 2, "output:\n%s", out);
	cr_assert_eq(strncmp(out, "kvmlab: the hypervisor we run under does not expose virtualization", 66), 0,
		     "output:\n%s", out);
	has("; fix: enable nested virtualization for this VM");
	cr_assert_str_eq(last_line(), "kvmlab: Run `kvmlab doctor` for the full check.\n");
	lacks("  ok");
	lacks("FAIL");
}

Test(doctor, brief_reaches_the_device)
{
	char line[256];

	intel_host();
	cr_assert_neq(run(true), 0);
	snprintf(line, sizeof(line), "kvmlab: %s does not exist; fix: unset " KVM_DEVICE_ENV, nokvm);
	cr_assert_eq(strncmp(out, line, strlen(line)), 0, "output:\n%s", out);
	cr_assert_eq(nr_lines(), 2, "output:\n%s", out);
}
