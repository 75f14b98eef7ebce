// SPDX-License-Identifier: MIT
/* `kvmlab doctor`: can this host run VMs, and if not, what exactly to do. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/kvm.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vmm/doctor.h"
#include "vmm/kvm.h"

static char doctor_root[PATH_MAX];

enum cpu_vendor { CPU_UNKNOWN, CPU_INTEL, CPU_AMD };

struct cpu {
	bool readable;
	int read_errno;
	bool vmx, svm, hypervisor;
	enum cpu_vendor vendor;
};

struct doctor {
	FILE *out;
	bool brief;
	struct cpu cpu;
	char user[64];
	int fails;
	char reason[512]; /* the first failure: the verdict and brief mode cite it */
	char fix[512];
};

void doctor_set_root(const char *root)
{
	snprintf(doctor_root, sizeof(doctor_root), "%s", root ? root : "");
}

/* --- output ------------------------------------------------------------ */

static void say(struct doctor *d, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct doctor *d, const char *tag, const char *fmt, ...)
{
	va_list ap;

	if (d->brief)
		return;
	fprintf(d->out, "  %-4s ", tag);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
}

/* A failed check; fix may be NULL when there is nothing to type. */
static void fail(struct doctor *d, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct doctor *d, const char *fix, const char *fmt, ...)
{
	char reason[sizeof(d->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!fix)
		fix = "";
	if (d->fails++ == 0) {
		snprintf(d->reason, sizeof(d->reason), "%s", reason);
		snprintf(d->fix, sizeof(d->fix), "%s", fix);
	}
	if (*fix)
		say(d, "FAIL", "%s; fix: %s", reason, fix);
	else
		say(d, "FAIL", "%s", reason);
}

/* --- files under the root ---------------------------------------------- */

static FILE *open_rel(const char *rel)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s%s", doctor_root, rel);
	return fopen(path, "re");
}

static bool dir_exists(const char *rel)
{
	char path[PATH_MAX + 128];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", doctor_root, rel);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* First line of a small file, newline stripped. */
static int read_line(const char *rel, char *buf, size_t len)
{
	FILE *f = open_rel(rel);
	int ret = -1;

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f))
		goto out;
	buf[strcspn(buf, "\n")] = '\0';
	ret = 0;
out:
	fclose(f);
	return ret;
}

/* --- a. b. the CPU --------------------------------------------------- */

static void parse_flags(struct cpu *c, char *list)
{
	char *save, *tok;

	for (tok = strtok_r(list, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (!strcmp(tok, "vmx"))
			c->vmx = true;
		else if (!strcmp(tok, "svm"))
			c->svm = true;
		else if (!strcmp(tok, "hypervisor"))
			c->hypervisor = true;
	}
}

static enum cpu_vendor parse_vendor(const char *v)
{
	if (strstr(v, "GenuineIntel"))
		return CPU_INTEL;
	/* Hygon's Dhyana is a Zen derivative and uses kvm_amd. */
	if (strstr(v, "AuthenticAMD") || strstr(v, "HygonGenuine"))
		return CPU_AMD;
	return CPU_UNKNOWN;
}

static void read_cpuinfo(struct cpu *c)
{
	FILE *f = open_rel("/proc/cpuinfo");
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		c->read_errno = errno;
		return;
	}
	c->readable = true;
	while (getline(&line, &cap, f) > 0) {
		char *val = strchr(line, ':');

		if (!val)
			continue;
		*val++ = '\0';
		if (!strncmp(line, "vendor_id", 9)) {
			c->vendor = parse_vendor(val);
		} else if (!strncmp(line, "flags", 5)) {
			parse_flags(c, val);
			break; /* the first CPU speaks for all of them */
		}
	}
	free(line);
	fclose(f);
	/* The flag decides the module even on vendors we do not name (Zhaoxin: vmx). */
	if (c->vmx)
		c->vendor = CPU_INTEL;
	else if (c->svm)
		c->vendor = CPU_AMD;
}

static void check_cpu(struct doctor *d)
{
	const struct cpu *c = &d->cpu;

	if (!c->readable) {
		say(d, "warn", "cannot read /proc/cpuinfo (%s): CPU checks skipped",
		    strerror(c->read_errno));
		return;
	}
	if (c->vmx) {
		say(d, "ok", "CPU virtualization: Intel VT-x (vmx)");
		return;
	}
	if (c->svm) {
		say(d, "ok", "CPU virtualization: AMD-V (svm)");
		return;
	}
	if (c->hypervisor)
		fail(d,
		     "enable nested virtualization for this VM (on a cloud: a provider setting or a VM type that offers it)",
		     "the hypervisor we run under does not expose virtualization (no vmx or svm flag in /proc/cpuinfo)");
	else
		fail(d, "enable Intel VT-x or AMD-V (SVM) in the firmware setup",
		     "the CPU does not expose virtualization, or the firmware disables it (no vmx or svm flag in /proc/cpuinfo)");
}

static void check_guest(struct doctor *d)
{
	char vendor[128] = "", product[128] = "", what[300];

	if (!d->cpu.readable)
		return;
	if (!d->cpu.hypervisor) {
		say(d, "ok", "no hypervisor flag: running on bare metal");
		return;
	}
	read_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	read_line("/sys/class/dmi/id/product_name", product, sizeof(product));
	if (*vendor || *product)
		snprintf(what, sizeof(what), "%s%s%s", vendor, *vendor && *product ? " " : "", product);
	else
		snprintf(what, sizeof(what), "no DMI vendor; microVMs such as Firecracker have none");
	say(d, "note", "running inside a VM (%s): nested KVM works but every exit is slower", what);
}

/* --- c. d. kernel modules ------------------------------------------------- */

static const char *vendor_module(enum cpu_vendor v)
{
	switch (v) {
	case CPU_INTEL:
		return "kvm_intel";
	case CPU_AMD:
		return "kvm_amd";
	default:
		return NULL;
	}
}

struct param_check {
	const char *mod, *name;
	const char *on_tag, *on_msg;
	const char *off_tag, *off_msg;
};

static const struct param_check param_checks[] = {
	{ "kvm_intel", "ept", "ok", "the CPU walks guest page tables (EPT)", "warn",
	  "no EPT means shadow paging: every guest page-table change exits, slow; "
	  "fix: sudo modprobe -r kvm_intel && sudo modprobe kvm_intel ept=1" },
	{ "kvm_intel", "unrestricted_guest", "ok", "guest real mode runs natively", "warn",
	  "guest real mode and paging-off code are emulated instruction by instruction, slow; "
	  "fix: sudo modprobe -r kvm_intel && sudo modprobe kvm_intel ept=1 unrestricted_guest=1" },
	{ "kvm_intel", "nested", "note", "guests may run their own KVM (kvmlab does not need it)",
	  "note", "guests cannot run their own KVM (kvmlab does not need it)" },
	{ "kvm_amd", "npt", "ok", "the CPU walks guest page tables (NPT)", "warn",
	  "no NPT means shadow paging: every guest page-table change exits, slow; "
	  "fix: sudo modprobe -r kvm_amd && sudo modprobe kvm_amd npt=1" },
	{ "kvm_amd", "nested", "note", "guests may run their own KVM (kvmlab does not need it)",
	  "note", "guests cannot run their own KVM (kvmlab does not need it)" },
};

static void check_params(struct doctor *d, const char *mod)
{
	for (size_t i = 0; i < sizeof(param_checks) / sizeof(param_checks[0]); i++) {
		const struct param_check *p = &param_checks[i];
		char rel[128], val[32];
		bool on;

		if (strcmp(p->mod, mod))
			continue;
		snprintf(rel, sizeof(rel), "/sys/module/%s/parameters/%s", mod, p->name);
		if (read_line(rel, val, sizeof(val)) || !*val)
			continue;
		/* bools read Y/N, kvm_amd's nested is an int */
		on = val[0] == 'Y' || val[0] == 'y' || (val[0] >= '1' && val[0] <= '9');
		say(d, on ? p->on_tag : p->off_tag, "%s %s=%s: %s", mod, p->name, val,
		    on ? p->on_msg : p->off_msg);
	}
}

static bool module_loaded(const char *mod)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "/sys/module/%s", mod);
	return dir_exists(rel);
}

static void check_modules(struct doctor *d)
{
	const char *want = vendor_module(d->cpu.vendor);
	const char *flag = d->cpu.vendor == CPU_INTEL ? "vmx" : d->cpu.vendor == CPU_AMD ? "svm" : "vmx or svm";
	const char *mod = want;
	char why[64] = "", fix[128] = "";

	if (!dir_exists("/sys/module")) {
		say(d, "warn", "cannot read /sys/module: module checks skipped");
		return;
	}
	/* Without the CPU flag modprobe only fails: point back at the real cause. */
	if (d->cpu.readable && !d->cpu.vmx && !d->cpu.svm)
		snprintf(why, sizeof(why), " (it cannot load without %s, see above)", flag);
	else if (want)
		snprintf(fix, sizeof(fix), "sudo modprobe %s", want);
	else
		snprintf(fix, sizeof(fix), "sudo modprobe kvm_intel (Intel) or sudo modprobe kvm_amd (AMD)");

	if (module_loaded("kvm"))
		say(d, "ok", "kvm module loaded");
	else
		fail(d, fix, "kvm module not loaded%s", why);

	if (!mod && module_loaded("kvm_intel"))
		mod = "kvm_intel";
	if (!mod && module_loaded("kvm_amd"))
		mod = "kvm_amd";
	if (mod && module_loaded(mod)) {
		say(d, "ok", "%s module loaded", mod);
		check_params(d, mod);
	} else {
		fail(d, fix, "%s module not loaded%s", want ? want : "kvm_intel or kvm_amd", why);
	}
	/* PVM provides /dev/kvm without VT-x/AMD-V, but only for PVM-aware guest kernels. */
	if (module_loaded("kvm_pvm"))
		say(d, "note", "kvm_pvm is loaded: PVM runs only PVM-aware guest kernels, not kvmlab's guests");
}

/* --- e. the device node ----------------------------------------------------- */

static bool device_overridden(void)
{
	const char *env = getenv(KVM_DEVICE_ENV);

	return env && *env;
}

static void missing_device(struct doctor *d, const char *path)
{
	char fix[384];

	if (device_overridden()) {
		snprintf(fix, sizeof(fix), "unset %s (it points kvmlab at %s) or point it at the KVM device",
			 KVM_DEVICE_ENV, path);
		fail(d, fix, "%s does not exist", path);
		return;
	}
	/* The failures above already say what to do. */
	if (d->fails) {
		fail(d, NULL, "%s does not exist (kvm_intel or kvm_amd creates it when it loads, see above)",
		     path);
		return;
	}
	snprintf(fix, sizeof(fix),
		 "in a container, pass it in (docker run --device %s); otherwise create it: "
		 "sudo mknod %s c 10 232 && sudo chgrp kvm %s && sudo chmod 660 %s",
		 path, path, path, path);
	fail(d, fix, "%s does not exist", path);
}

/* Is the user listed in group gid but this session started before that? */
static bool group_needs_relogin(const struct group *gr, const char *user)
{
	gid_t groups[256];
	int n;

	if (!gr || !gr->gr_mem)
		return false;
	for (char **m = gr->gr_mem; *m; m++) {
		if (strcmp(*m, user))
			continue;
		n = getgroups(256, groups);
		for (int i = 0; i < n; i++)
			if (groups[i] == gr->gr_gid)
				return false;
		return getegid() != gr->gr_gid;
	}
	return false;
}

static void open_failed(struct doctor *d, const char *path, const struct stat *st, int err)
{
	const struct group *gr = getgrgid(st->st_gid);
	bool group_rw = (st->st_mode & 060) == 060 && st->st_gid != 0 && gr;
	char fix[384];

	switch (err) {
	case EACCES:
		if (group_rw && group_needs_relogin(gr, d->user))
			snprintf(fix, sizeof(fix),
				 "%s is in group %s but this session predates it: log in again (or run `newgrp %s`)",
				 d->user, gr->gr_name, gr->gr_name);
		else if (group_rw)
			snprintf(fix, sizeof(fix),
				 "sudo usermod -aG %s %s (then log in again), or sudo setfacl -m u:%s:rw %s",
				 gr->gr_name, d->user, d->user, path);
		else
			snprintf(fix, sizeof(fix), "sudo setfacl -m u:%s:rw %s", d->user, path);
		fail(d, fix, "%s: permission denied for user %s", path, d->user);
		return;
	case EPERM:
		snprintf(fix, sizeof(fix), "in a container, pass the device in (docker run --device %s)", path);
		fail(d, fix, "%s: not permitted (a device cgroup or security policy refuses it)", path);
		return;
	case ENXIO:
	case ENODEV:
		fail(d, "load the kvm module for this CPU (kvm_intel or kvm_amd)", "%s has no driver behind it", path);
		return;
	default:
		fail(d, NULL, "cannot open %s read-write: %s", path, strerror(err));
	}
}

/* Returns the open device, or -1 after reporting why not. */
static int check_device(struct doctor *d, const char *path)
{
	const struct group *gr;
	struct stat st;
	char gname[32];
	int fd;

	if (stat(path, &st)) {
		if (errno == ENOENT)
			missing_device(d, path);
		else
			fail(d, NULL, "cannot stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISCHR(st.st_mode)) {
		fail(d, device_overridden() ? "point " KVM_DEVICE_ENV " at the KVM device, or unset it" : NULL,
		     "%s is not a character device", path);
		return -1;
	}
	gr = getgrgid(st.st_gid);
	if (gr)
		snprintf(gname, sizeof(gname), "%s", gr->gr_name);
	else
		snprintf(gname, sizeof(gname), "%u", (unsigned)st.st_gid);
	say(d, "ok", "%s is a character device (%u:%u, group %s, mode %04o)", path, major(st.st_rdev),
	    minor(st.st_rdev), gname, (unsigned)(st.st_mode & 07777));

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		open_failed(d, path, &st, errno);
		return -1;
	}
	say(d, "ok", "%s opens read-write as %s", path, d->user);
	return fd;
}

/* --- f. the KVM API ---------------------------------------------------------- */

static void check_api(struct doctor *d, int fd, const char *path)
{
	int v, max;

	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v < 0) {
		fail(d, device_overridden() ? "point " KVM_DEVICE_ENV " at the KVM device, or unset it" : NULL,
		     "%s is not a KVM device (KVM_GET_API_VERSION: %s)", path, strerror(errno));
		return;
	}
	if (v != KVM_API_VERSION) {
		fail(d, NULL, "%s speaks KVM API version %d, kvmlab needs %d", path, v, KVM_API_VERSION);
		return;
	}
	say(d, "ok", "KVM API version %d", v);
	for (int i = 0; i < kvm_nr_caps_needed; i++) {
		const struct kvm_cap_req *c = &kvm_caps_needed[i];

		if (ioctl(fd, KVM_CHECK_EXTENSION, c->cap) > 0)
			say(d, "ok", "%s: %s", c->name, c->why);
		else
			fail(d, "a newer host kernel", "this KVM lacks %s (%s)", c->name, c->why);
	}
	max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0)
		say(d, "note", "up to %d vCPUs per VM (KVM_CAP_MAX_VCPUS)", max);
}

/* --- the report ------------------------------------------------------------- */

static void verdict(struct doctor *d)
{
	if (d->brief) {
		if (!d->fails)
			return;
		if (*d->fix)
			fprintf(d->out, "kvmlab: %s; fix: %s\n", d->reason, d->fix);
		else
			fprintf(d->out, "kvmlab: %s.\n", d->reason);
		fprintf(d->out, "kvmlab: Run `kvmlab doctor` for the full check.\n");
		return;
	}
	if (d->fails)
		fprintf(d->out, "kvmlab cannot run VMs here: %s.\n", d->reason);
	else
		fprintf(d->out, "kvmlab can run VMs on this host.\n");
}

int doctor_report(FILE *out, bool brief)
{
	struct doctor d = { .out = out, .brief = brief };
	const char *path = kvm_device_path();
	const struct passwd *pw = getpwuid(geteuid());
	int fd;

	if (pw)
		snprintf(d.user, sizeof(d.user), "%s", pw->pw_name);
	else
		snprintf(d.user, sizeof(d.user), "%u", (unsigned)geteuid());
	read_cpuinfo(&d.cpu);

	check_cpu(&d);
	check_guest(&d);
	check_modules(&d);
	fd = check_device(&d, path);
	if (fd >= 0) {
		check_api(&d, fd, path);
		close(fd);
	}
	verdict(&d);
	fflush(out);
	return d.fails ? -1 : 0;
}
