// SPDX-License-Identifier: MIT
/* kvmlab: command line (and domain XML) -> configuration -> VM -> one exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/doctor.h"
#include "vmm/pin.h"
#include "vmm/report.h"
#include "vmm/vm.h"
#include "vmm/xml.h"

/* vmm/default_guest.S: the teaching kernel and its initramfs, booted when no kernel is named. */
extern const uint8_t default_guest_start[], default_guest_end[];
extern const uint8_t default_initrd_start[], default_initrd_end[];

#define EXIT_VM_FAILED 1

/* Map a whole file read-only; a user's file, so every failure gets words. */
static int map_file(const char *path, const char *what, struct boot_image *img)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "kvmlab: cannot open %s '%s': %s\n", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "kvmlab: %s '%s' is not a regular file\n", what, path);
		goto fail;
	}
	if (st.st_size == 0) {
		fprintf(stderr, "kvmlab: %s '%s' is empty\n", what, path);
		goto fail;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "kvmlab: cannot read %s '%s': %s\n", what, path, strerror(errno));
		goto fail;
	}
	close(fd);
	*img = (struct boot_image){ p, st.st_size, path };
	return 0;
fail:
	close(fd);
	return -1;
}

static void unmap_file(struct boot_image *img)
{
	if (img->data && img->data != default_guest_start && img->data != default_initrd_start)
		munmap((void *)img->data, img->size);
}

/*
 * SIGINT and friends arrive through a signalfd read by the console loop, and
 * SIGUSR1 too: it asks for a --stats report (and is ignored without --stats).
 */
static int signals_setup(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* The on_* element that made the guest restart. */
static const char *restart_cause(enum vm_stop_kind kind)
{
	switch (kind) {
	case VM_STOP_POWEROFF: return "on_poweroff";
	case VM_STOP_CRASH: return "on_crash";
	default: return "on_reboot";
	}
}

static void report_end(struct vm *vm)
{
	bool failed = vm->stop_kind == VM_STOP_FAULT || vm->stop_kind == VM_STOP_TRIPLE_FAULT ||
		      vm->stop_kind == VM_STOP_CRASH;

	if (vm->restart) {
		/* A failure is said even when the guest boots again; the rest with --debug. */
		if (failed || vm->cfg->debug)
			fprintf(stderr, "kvmlab: %s\nkvmlab: restarting the guest (%s is "
					"restart)\n",
				vm->stop_reason, restart_cause(vm->stop_kind));
		return;
	}
	if (failed)
		fprintf(stderr, "kvmlab: VM failed: %s\n", vm->stop_reason);
	else if (vm->stop_kind == VM_STOP_USER || vm->cfg->debug)
		fprintf(stderr, "kvmlab: %s (exit status %d)\n", vm->stop_reason, vm->status);
	/* Stopped from outside while --debug: show where each vCPU was. */
	if (vm->stop_kind == VM_STOP_USER && vm->cfg->debug)
		for (int i = 0; i < vm->nr_vcpus; i++)
			vcpu_describe(&vm->vcpu[i], stderr);
}

/*
 * One boot of the guest, from a fresh machine to its end. Returns the exit
 * status; *restart says whether the configuration wants another boot.
 */
static int boot_once(struct vm *vm, struct kvm *kvm, const struct vm_config *cfg,
		     const struct boot_image *kernel, const struct boot_image *initrd,
		     const struct vm_disks *disks, struct console *con, int sig_fd, FILE *stats_out,
		     struct trace *trace, bool *restart)
{
	struct serial_backend be = console_backend(con);
	enum console_end end;
	char err[512];
	int signo = 0, status = EXIT_VM_FAILED;

	*restart = false;
	if (vm_create(vm, kvm, cfg, &be, disks, err, sizeof(err)) < 0 ||
	    vm_load(vm, kernel, initrd, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmlab: %s\n", err);
		goto out;
	}
	console_raw(con);
	vm->trace = trace; /* each vCPU thread takes its ring when it starts */
	if (vm_start(vm, err, sizeof(err)) < 0)
		fprintf(stderr, "kvmlab: %s\n", err);
	while ((end = console_loop(con, &vm->com1, vm->stop_fd, sig_fd, &signo)) == CONSOLE_REPORT)
		if (vm->stats)
			stats_report(stats_out, vm->stats, false);
	switch (end) {
	case CONSOLE_REPORT:
		break;
	case CONSOLE_QUIT:
		vm_stop(vm, VM_STOP_USER, 0, "quit from the console (Ctrl-A x)");
		break;
	case CONSOLE_SIGNAL:
		vm_stop(vm, VM_STOP_USER, 128 + signo, "stopped by signal %s", strsignal(signo));
		break;
	case CONSOLE_VM_ENDED:
		break;
	}
	vm_join(vm);
	if (!vm->restart)
		console_restore(con);
	if (vm->stats)
		stats_report(stats_out, vm->stats, true);
	report_end(vm);
	status = vm->status;
	*restart = vm->restart;
out:
	vm_destroy(vm);
	return status;
}

/* Boot the guest, and again for as long as the configuration says to restart it. */
static int run_vm(struct kvm *kvm, const struct vm_config *cfg, const struct boot_image *kernel,
		  const struct boot_image *initrd, const struct vm_disks *disks)
{
	struct console con;
	struct vm *vm = calloc(1, sizeof(*vm));
	FILE *stats_out = stderr;
	struct trace *trace = NULL;
	char err[512];
	int sig_fd, status = EXIT_VM_FAILED;
	bool restart = true;

	if (cfg->stats_file) {
		stats_out = fopen(cfg->stats_file, "we");
		if (!stats_out) {
			fprintf(stderr, "kvmlab: --stats: cannot write '%s': %s\n", cfg->stats_file,
				strerror(errno));
			free(vm);
			return EXIT_VM_FAILED;
		}
	}
	sig_fd = signals_setup();
	if (!vm || sig_fd < 0 || console_init(&con) < 0) {
		fprintf(stderr, "kvmlab: out of resources: %s\n", strerror(errno));
		goto out;
	}
	/* After signals_setup(): the writer thread must not take main's signals. */
	if (cfg->trace_file &&
	    !(trace = trace_open(cfg->trace_file, cfg->nr_cpus, 0, cfg->name, err, sizeof(err)))) {
		fprintf(stderr, "kvmlab: %s\n", err);
		console_destroy(&con);
		goto out;
	}
	while (restart)
		status = boot_once(vm, kvm, cfg, kernel, initrd, disks, &con, sig_fd, stats_out,
				   trace, &restart);
	console_restore(&con);
	console_destroy(&con);
	/* The vCPU threads are joined: the file is ended, valid JSON, however the VM ended. */
	if (trace_close(trace) < 0 && !status)
		status = EXIT_VM_FAILED;
out:
	free(vm);
	if (sig_fd >= 0)
		close(sig_fd);
	if (stats_out != stderr)
		fclose(stats_out);
	return status;
}

static int by_target(const void *a, const void *b)
{
	return strcmp(((const struct config_disk *)a)->target, ((const struct config_disk *)b)->target);
}

/*
 * Open and lock the disks once, before the first boot: they stay open across
 * restarts, so no other process can take an image in between. PCI slots go by
 * target name, so vda is the first virtio disk a Linux guest finds.
 */
static int open_disks(const struct vm_config *cfg, struct vm_disks *disks)
{
	struct config_disk sorted[CONFIG_MAX_DISKS];
	char err[512];

	disks->nr = 0;
	if (!cfg->nr_disks)
		return 0;
	disks->blk = calloc((size_t)cfg->nr_disks, sizeof(*disks->blk));
	if (!disks->blk) {
		fprintf(stderr, "kvmlab: out of memory\n");
		return -1;
	}
	memcpy(sorted, cfg->disks, (size_t)cfg->nr_disks * sizeof(sorted[0]));
	qsort(sorted, (size_t)cfg->nr_disks, sizeof(sorted[0]), by_target);
	for (int i = 0; i < cfg->nr_disks; i++) {
		const struct config_disk *d = &sorted[i];

		if (virtio_blk_open(&disks->blk[i], d->path, d->readonly, d->serial, err,
				    sizeof(err)) < 0) {
			fprintf(stderr, "kvmlab: %s\n", err);
			return -1;
		}
		disks->nr++;
	}
	return 0;
}

static void close_disks(struct vm_disks *disks)
{
	for (int i = 0; i < disks->nr; i++)
		virtio_blk_close(&disks->blk[i]);
	free(disks->blk);
	disks->blk = NULL;
	disks->nr = 0;
}

static int cmd_run(const struct vm_config *cfg)
{
	struct boot_image kernel = { default_guest_start,
				     (size_t)(default_guest_end - default_guest_start),
				     "the built-in guest" };
	/* The built-in kernel comes with its initramfs, unless --initrd names another. */
	struct boot_image initrd = { default_initrd_start,
				     (size_t)(default_initrd_end - default_initrd_start),
				     "the built-in initramfs" };
	bool with_initrd = cfg->initrd || !cfg->kernel;
	struct kvm kvm = { .fd = -1 };
	struct vm_disks disks = { 0 };
	char err[256];
	int status = EXIT_VM_FAILED;

	if (cfg->kernel && map_file(cfg->kernel, "kernel", &kernel) < 0)
		return EXIT_VM_FAILED;
	if (boot_check(&kernel, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmlab: %s\n", err);
		goto out;
	}
	if (cfg->initrd && map_file(cfg->initrd, "initrd", &initrd) < 0)
		goto out;
	if (open_disks(cfg, &disks) < 0)
		goto out;
	if (kvm_open(&kvm, err, sizeof(err)) < 0) {
		if (err[0])
			fprintf(stderr, "kvmlab: %s\n", err);
		doctor_report(stderr, true);
		status = KVMLAB_EXIT_NO_KVM;
		goto out;
	}
	status = run_vm(&kvm, cfg, &kernel, with_initrd ? &initrd : NULL, &disks);
	kvm_close(&kvm);
out:
	close_disks(&disks);
	unmap_file(&kernel);
	unmap_file(&initrd);
	return status;
}

static int cmd_run_cli(const struct cli *cli)
{
	struct vm_config cfg;
	char err[1024];
	int status = CLI_EXIT_USAGE;

	if (cli_config(cli, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmlab: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	/* --pin: CPUs that do not exist or are not ours are refused before any VM exists. */
	if (!cli->print_xml && pin_check_host(cfg.pin, cfg.nr_pin, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmlab: %s\n", err);
		goto out;
	}
	if (cli->print_xml) {
		status = 0;
		if (xml_write(stdout, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "kvmlab: %s\n", err);
			status = CLI_EXIT_USAGE;
		}
		goto out;
	}
	status = cmd_run(&cfg);
out:
	config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	struct cli cli;
	char err[256];

	if (cli_parse(argc, argv, &cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmlab: %s\nTry 'kvmlab --help'.\n", err);
		return CLI_EXIT_USAGE;
	}
	switch (cli.cmd) {
	case CLI_HELP:
		cli_usage(stdout);
		return 0;
	case CLI_VERSION:
		printf("kvmlab %s\n", KVMLAB_VERSION);
		return 0;
	case CLI_DOCTOR:
		return doctor_report(stdout, false) ? KVMLAB_EXIT_NO_KVM : 0;
	case CLI_RUN:
		return cmd_run_cli(&cli);
	case CLI_REPORT:
		return report_main(cli.report_in, cli.report_out);
	}
	return CLI_EXIT_USAGE;
}
