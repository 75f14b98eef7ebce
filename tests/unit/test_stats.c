/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/stats.h"

static char *name_of(uint64_t key)
{
	static char buf[64];

	stats_key_name(key, buf, sizeof(buf));
	return buf;
}

/* --- keys -------------------------------------------------------------------- */

Test(stats, keys_from_kvm_run)
{
	struct kvm_run run;

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_IO;
	run.io.direction = KVM_EXIT_IO_OUT;
	run.io.port = 0x80;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "port:0x80/POUT");
	run.io.direction = KVM_EXIT_IO_IN;
	run.io.port = 0x3fd;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "port:0x3fd/PIN");

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = 0xd0000000;
	run.mmio.is_write = 1;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "gpa:0xd0000000/W");
	run.mmio.is_write = 0;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "gpa:0xd0000000/R");
	/* The widest physical address x86 has (52 bits) survives the packing. */
	run.mmio.phys_addr = 0xfffffffffffffULL;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "gpa:0xfffffffffffff/R");

	run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "SYSTEM_EVENT");
	run.exit_reason = KVM_EXIT_SHUTDOWN;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "SHUTDOWN");
	run.exit_reason = 999;
	cr_assert_str_eq(name_of(stats_exit_key(&run)), "EXIT_999");
	cr_assert_str_eq(name_of(STATS_KEY_OTHER), "other (table full)");
}

Test(stats, keys_differ_by_kind_and_direction)
{
	uint64_t k[] = {
		stats_key(STATS_K_PIO, false, 0x80), stats_key(STATS_K_PIO, true, 0x80),
		stats_key(STATS_K_MMIO, false, 0x80), stats_key(STATS_K_MMIO, true, 0x80),
		stats_key(STATS_K_EXIT, false, 0x80), stats_key(STATS_K_PIO, false, 0),
	};

	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		cr_assert_neq(k[i], 0, "key 0 is the empty slot");
		cr_assert_neq(k[i], STATS_KEY_OTHER);
		for (unsigned j = 0; j < i; j++)
			cr_assert_neq(k[i], k[j]);
	}
}

/* --- the table ---------------------------------------------------------------- */

static struct stats_table *new_table(void)
{
	struct stats_table *t = malloc(sizeof(*t));

	cr_assert_not_null(t);
	stats_table_init(t);
	return t;
}

static const struct stats_row *find(const struct stats_row *rows, int n, uint64_t key)
{
	for (int i = 0; i < n; i++)
		if (rows[i].key == key)
			return &rows[i];
	return NULL;
}

Test(stats, min_max_total)
{
	struct stats_table *t = new_table();
	struct stats_row rows[STATS_MAX_ROWS];
	uint64_t a = stats_key(STATS_K_PIO, true, 0x80), b = stats_key(STATS_K_MMIO, false, 0x1000);
	const struct stats_row *r;
	int n;

	cr_assert_eq(stats_snapshot(t, rows), 0, "a new table is empty");
	stats_record(t, a, 500);
	stats_record(t, a, 100);
	stats_record(t, a, 900);
	stats_record(t, b, 0);
	n = stats_snapshot(t, rows);
	cr_assert_eq(n, 2);
	r = find(rows, n, a);
	cr_assert_not_null(r);
	cr_assert_eq(r->samples, 3);
	cr_assert_eq(r->total_ns, 1500);
	cr_assert_eq(r->min_ns, 100);
	cr_assert_eq(r->max_ns, 900);
	r = find(rows, n, b);
	cr_assert_not_null(r);
	cr_assert_eq(r->samples, 1);
	cr_assert_eq(r->min_ns, 0, "a zero time is a minimum too");
	cr_assert_eq(r->max_ns, 0);
	free(t);
}

Test(stats, full_table_counts_the_rest_as_other)
{
	struct stats_table *t = new_table();
	struct stats_row rows[STATS_MAX_ROWS];
	uint64_t samples = 0;
	const struct stats_row *o;
	int n;

	/* Page-aligned addresses: the keys an MMIO-heavy guest makes. */
	for (int i = 0; i < STATS_MAX_KEYS; i++) {
		stats_record(t, stats_key(STATS_K_MMIO, true, 0xc0000000ULL + i * 4096ULL), 10);
		samples++;
	}
	cr_assert_eq(stats_snapshot(t, rows), STATS_MAX_KEYS, "no other bucket yet");
	/* New keys: into "other"; known keys: still their own rows. */
	for (int i = 0; i < 100; i++) {
		stats_record(t, stats_key(STATS_K_PIO, false, 0x1000 + i), 7 + i);
		samples++;
	}
	stats_record(t, stats_key(STATS_K_MMIO, true, 0xc0000000ULL), 10);
	samples++;
	n = stats_snapshot(t, rows);
	cr_assert_eq(n, STATS_MAX_KEYS + 1);
	o = &rows[n - 1];
	cr_assert_eq(o->key, STATS_KEY_OTHER, "the other bucket comes last");
	cr_assert_eq(o->samples, 100);
	cr_assert_eq(o->min_ns, 7);
	cr_assert_eq(o->max_ns, 106);
	cr_assert_eq(find(rows, n, stats_key(STATS_K_MMIO, true, 0xc0000000ULL))->samples, 2);
	/* Nothing dropped. */
	for (int i = 0; i < n; i++)
		samples -= rows[i].samples;
	cr_assert_eq(samples, 0);
	free(t);
}

Test(stats, merge_and_sort)
{
	struct stats_row a[] = {
		{ 1 << 4 | STATS_K_PIO, 10, 100, 5, 20 },
		{ 2 << 4 | STATS_K_PIO, 1, 50, 50, 50 },
	};
	struct stats_row b[] = {
		{ 1 << 4 | STATS_K_PIO, 5, 10, 1, 3 },
		{ 3 << 4 | STATS_K_PIO, 20, 20, 1, 1 },
	};
	struct stats_row sum[4];
	int n = stats_merge(sum, 0, 4, a, 2);

	n = stats_merge(sum, n, 4, b, 2);
	cr_assert_eq(n, 3);
	stats_sort(sum, n);
	cr_assert_eq(sum[0].key, (3 << 4 | STATS_K_PIO));
	cr_assert_eq(sum[1].key, (1 << 4 | STATS_K_PIO));
	cr_assert_eq(sum[1].samples, 15);
	cr_assert_eq(sum[1].total_ns, 110);
	cr_assert_eq(sum[1].min_ns, 1);
	cr_assert_eq(sum[1].max_ns, 20);
	cr_assert_eq(sum[2].samples, 1);
	/* No room for a new key: it is counted as "other", not lost. */
	struct stats_row one[] = { { 9 << 4 | STATS_K_PIO, 4, 4, 1, 1 } };
	n = stats_merge(sum, 3, 3, one, 1);
	cr_assert_eq(n, 3);
	cr_assert_eq(sum[0].samples + sum[1].samples + sum[2].samples, 20 + 15 + 1 + 4);
}

/* --- formatting --------------------------------------------------------------------- */

static char *printed(struct stats_row *rows, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	stats_print_rows(f, "vCPU 0:", rows, n);
	fclose(f);
	return buf;
}

Test(stats, table_format)
{
	struct stats_row rows[] = {
		{ stats_key(STATS_K_MMIO, false, 0xd0000000), 1, 3000, 3000, 3000 },
		{ stats_key(STATS_K_PIO, true, 0x80), 3, 1000, 200, 500 },
	};
	char *out = printed(rows, 2), *line;

	cr_assert(strstr(out, "vCPU 0:\n") == out, "%s", out);
	line = strstr(out, "VM-EXIT/key");
	cr_assert_not_null(line);
	cr_assert_not_null(strstr(line, "Samples%"));
	cr_assert_not_null(strstr(line, "Time%"));
	cr_assert_not_null(strstr(line, "Min Time"));
	cr_assert_not_null(strstr(line, "Max Time"));
	cr_assert_not_null(strstr(line, "Avg time"));
	/* Most samples first: 3 of 4 = 75 %, 1000 of 4000 ns = 25 %, avg 333 ns. */
	line = strstr(out, "port:0x80/POUT");
	cr_assert_not_null(line);
	cr_assert(line < strstr(out, "gpa:0xd0000000/R"), "%s", out);
	cr_assert_not_null(strstr(line, "  3    75.00%   25.00%       0.20us       0.50us       0.33us\n"),
			   "%s", out);
	line = strstr(out, "gpa:0xd0000000/R");
	cr_assert_not_null(strstr(line, "  1    25.00%   75.00%       3.00us       3.00us       3.00us\n"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "Total samples: 4, total time: 4.00us\n"), "%s", out);
	free(out);
}

Test(stats, empty_table_format)
{
	char *out = printed(NULL, 0);

	cr_assert_not_null(strstr(out, "Total samples: 0, total time: 0.00us\n"), "%s", out);
	free(out);
}

/* --- KVM's binary statistics, from a file laid out as KVM lays out the fd ------------- */

#define NAME_SIZE 48

struct fake_desc {
	struct kvm_stats_desc d;
	char name[NAME_SIZE];
};

static int fake_stats_fd(const uint64_t *vals)
{
	char path[] = "/tmp/kvmlab-test-stats-XXXXXX";
	int fd = mkstemp(path);
	struct kvm_stats_header h = {
		.name_size = NAME_SIZE, .num_desc = 3, .id_offset = sizeof(h),
		.desc_offset = sizeof(h) + 64, .data_offset = sizeof(h) + 64 + 3 * sizeof(struct fake_desc),
	};
	struct fake_desc d[3];

	cr_assert_geq(fd, 0);
	unlink(path);
	memset(d, 0, sizeof(d));
	d[0].d = (struct kvm_stats_desc){ .flags = KVM_STATS_TYPE_CUMULATIVE, .size = 1, .offset = 0 };
	strcpy(d[0].name, "io_exits");
	d[1].d = (struct kvm_stats_desc){ .flags = KVM_STATS_TYPE_INSTANT, .size = 1, .offset = 8 };
	strcpy(d[1].name, "blocking");
	d[2].d = (struct kvm_stats_desc){ .flags = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS,
					  .exponent = -9, .size = 1, .offset = 16 };
	strcpy(d[2].name, "halt_wait_ns");
	cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	cr_assert_eq(pwrite(fd, "kvm-1234", 8, h.id_offset), 8);
	cr_assert_eq(pwrite(fd, d, sizeof(d), h.desc_offset), (ssize_t)sizeof(d));
	cr_assert_eq(pwrite(fd, vals, 3 * 8, h.data_offset), 24);
	return fd;
}

Test(stats, kvm_stats_fd)
{
	uint64_t v0[3] = { 5, 1, 1000 }, v1[3] = { 1005, 0, 3000 }, now[3];
	int fd = fake_stats_fd(v0);
	struct kstats k;
	char err[160];

	cr_assert_eq(kstats_open_fd(&k, fd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(k.nr, 3);
	cr_assert_str_eq(k.desc[0].name, "io_exits");
	cr_assert_str_eq(k.desc[2].name, "halt_wait_ns");
	cr_assert_eq(k.desc[2].exponent, -9);
	cr_assert(kstats_is_counter(&k.desc[0]));
	cr_assert(!kstats_is_counter(&k.desc[1]), "an instant value is no counter");
	cr_assert(kstats_is_counter(&k.desc[2]));
	cr_assert_eq(k.start[0], 5);
	cr_assert_eq(k.start[2], 1000);
	cr_assert_eq(pwrite(fd, v1, sizeof(v1), sizeof(struct kvm_stats_header) + 64 +
						    3 * sizeof(struct fake_desc)),
		     (ssize_t)sizeof(v1));
	cr_assert_eq(kstats_read(&k, now), 0);
	cr_assert_eq(now[0] - k.start[0], 1000);
	cr_assert_eq(now[2] - k.start[2], 2000);
	kstats_close(&k);
	cr_assert_eq(k.fd, -1);
}

Test(stats, kvm_stats_bad_header)
{
	char path[] = "/tmp/kvmlab-test-stats-XXXXXX";
	int fd = mkstemp(path);
	struct kvm_stats_header h = { .name_size = 0, .num_desc = 3 };
	struct kstats k;
	char err[160];

	unlink(path);
	cr_assert_eq(kstats_open_fd(&k, fd, err, sizeof(err)), -1, "an empty file");
	cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	cr_assert_eq(kstats_open_fd(&k, fd, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "header"), "%s", err);
	h.name_size = 48;
	h.desc_offset = 4096; /* descriptors past the end */
	cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	cr_assert_eq(kstats_open_fd(&k, fd, err, sizeof(err)), -1);
	close(fd);
}

Test(stats, counter_meanings)
{
	cr_assert_not_null(strstr(kstats_meaning("io_exits"), "included"));
	cr_assert_not_null(kstats_meaning("exits"));
	cr_assert_not_null(kstats_meaning("pf_fixed"));
	cr_assert_null(kstats_meaning("no_such_counter"));
}

/* --- the whole report ----------------------------------------------------------------- */

Test(stats, report_without_kvm_stats)
{
	struct stats *s = stats_create(2);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_not_null(s);
	/* No KVM here: stats_start finds no KVM_CAP_BINARY_STATS_FD and says so. */
	stats_start(s, -1, -1, (int[]){ -1, -1 });
	stats_record(&s->vcpu[0].table, stats_key(STATS_K_PIO, true, 0x80), 1000);
	stats_record(&s->vcpu[0].table, stats_key(STATS_K_PIO, true, 0x80), 3000);
	f = open_memstream(&buf, &len);
	stats_report(f, s, false);
	fclose(f);
	cr_assert_not_null(strstr(buf, "snapshot of the running VM"), "%s", buf);
	cr_assert_not_null(strstr(buf, "vCPU 0:\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "vCPU 1: no exits\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "All vCPUs:\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "Total samples: 2, total time: 4.00us\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "KVM's counters: this host's KVM has no binary statistics"),
			   "%s", buf);
	free(buf);
	stats_destroy(s);
}

/* --- the markers as moments (kvmlab's RSS, KVM's counters) ------------------------------- */

#define MARK_DATA_OFFSET (sizeof(struct kvm_stats_header) + 64 + 3 * sizeof(struct fake_desc))

/* A vCPU statistics file with the three counters a marker notes, in another order than theirs. */
static int fake_counters_fd(const uint64_t *vals)
{
	static const char *const names[3] = { "exits", "pf_fixed", "pf_taken" };
	char path[] = "/tmp/kvmlab-test-stats-XXXXXX";
	int fd = mkstemp(path);
	struct kvm_stats_header h = {
		.name_size = NAME_SIZE, .num_desc = 3, .id_offset = sizeof(h),
		.desc_offset = sizeof(h) + 64, .data_offset = MARK_DATA_OFFSET,
	};
	struct fake_desc d[3];

	cr_assert_geq(fd, 0);
	unlink(path);
	memset(d, 0, sizeof(d));
	for (int i = 0; i < 3; i++) {
		d[i].d = (struct kvm_stats_desc){ .flags = KVM_STATS_TYPE_CUMULATIVE, .size = 1,
						  .offset = (uint32_t)(8 * i) };
		strcpy(d[i].name, names[i]);
	}
	cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	cr_assert_eq(pwrite(fd, d, sizeof(d), h.desc_offset), (ssize_t)sizeof(d));
	cr_assert_eq(pwrite(fd, vals, 3 * 8, h.data_offset), 24);
	return fd;
}

Test(stats, markers_note_rss_and_kvm_counters)
{
	uint64_t v0[3] = { 100, 10, 20 }, v1[3] = { 350, 60, 75 }; /* exits, pf_fixed, pf_taken */
	struct stats *s = stats_create(1);
	struct stats_vcpu *sv;
	char err[160], *buf = NULL;
	size_t len = 0, big = 16 << 20;
	char *mem;
	int fd;
	FILE *f;

	cr_assert_not_null(s);
	stats_start(s, -1, -1, (int[]){ -1 });
	sv = &s->vcpu[0];
	fd = fake_counters_fd(v0);
	cr_assert_eq(kstats_open_fd(&sv->kvm, fd, err, sizeof(err)), 0, "%s", err);

	stats_phase_begin(sv, "mmap", stats_rss_kib());
	/* Between the markers: KVM counts, and this process touches 16 MiB. */
	cr_assert_eq(pwrite(fd, v1, sizeof(v1), MARK_DATA_OFFSET), (ssize_t)sizeof(v1));
	mem = malloc(big);
	cr_assert_not_null(mem);
	memset(mem, 1, big);
	stats_phase_begin(sv, "touch", stats_rss_kib());

	cr_assert_eq(sv->nr_marks, 2);
	cr_assert_str_eq(sv->mark[0].label, "mmap");
	cr_assert_str_eq(sv->mark[1].label, "touch");
	cr_assert_str_eq(stats_mark_counters[0], "pf_taken");
	for (int j = 0; j < STATS_MARK_COUNTERS; j++)
		cr_assert_eq(sv->mark[0].kvm[j], 0, "counter %d: %lld", j, sv->mark[0].kvm[j]);
	cr_assert_eq(sv->mark[1].kvm[0], 55);  /* pf_taken */
	cr_assert_eq(sv->mark[1].kvm[1], 50);  /* pf_fixed */
	cr_assert_eq(sv->mark[1].kvm[2], 250); /* exits */
	cr_assert_gt(sv->mark[0].rss_kib, 0);
	cr_assert_geq(sv->mark[1].rss_kib - sv->mark[0].rss_kib, 15 * 1024, "%lld -> %lld KiB",
		      sv->mark[0].rss_kib, sv->mark[1].rss_kib);
	cr_assert_leq(sv->mark[0].t_ns, sv->mark[1].t_ns);
	/* The phases go on as before: "touch" is the current one. */
	cr_assert_eq(sv->nr_phases, 3);
	cr_assert_str_eq(sv->cur->label, "touch");

	/* Beyond STATS_MAX_MARKS the markers are counted, not kept. */
	for (int i = 2; i < STATS_MAX_MARKS + 5; i++)
		stats_phase_begin(sv, "touch", stats_rss_kib());
	cr_assert_eq(sv->nr_marks, STATS_MAX_MARKS);
	cr_assert_eq(sv->marks_lost, 5);

	f = open_memstream(&buf, &len);
	stats_report(f, s, true);
	fclose(f);
	cr_assert_not_null(strstr(buf, "At the guest's markers: kvmlab's resident memory"), "%s", buf);
	cr_assert_not_null(strstr(buf, "kvmlab_rss_kib   pf_taken   pf_fixed      exits\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "  mmap  "), "%s", buf);
	cr_assert_not_null(strstr(buf, "         55         50        250\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "... 5 more markers not kept (at most 64)"), "%s", buf);
	cr_assert_not_null(strstr(buf, "(the VM has ended)"), "%s", buf);
	free(buf);
	free(mem);
	stats_destroy(s);
}

Test(stats, no_markers_no_moments)
{
	struct stats *s = stats_create(1);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	stats_start(s, -1, -1, (int[]){ -1 });
	stats_record_vcpu(&s->vcpu[0], stats_key(STATS_K_PIO, true, 0x80), 1000);
	f = open_memstream(&buf, &len);
	stats_report(f, s, true);
	fclose(f);
	cr_assert_null(strstr(buf, "At the guest's markers"), "%s", buf);
	cr_assert_null(s->vcpu[0].mark, "a vCPU that never marks costs nothing");
	free(buf);
	stats_destroy(s);
}

/* --- the option ------------------------------------------------------------------------ */

#include "vmm/cli.h"

static int parse_words(struct cli *cli, char *err, size_t errlen, int argc, const char **words)
{
	static char *argv[16];

	for (int i = 0; i < argc; i++)
		argv[i] = (char *)words[i];
	argv[argc] = NULL;
	return cli_parse(argc, argv, cli, err, errlen);
}

Test(stats, option)
{
	struct cli cli;
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(parse_words(&cli, err, sizeof(err), 3, (const char *[]){ "kvmlab", "run", "k.elf" }), 0);
	cr_assert_not(cli.cfg.stats, "off by default");
	cr_assert_eq(parse_words(&cli, err, sizeof(err), 4,
				 (const char *[]){ "kvmlab", "run", "--stats", "k.elf" }), 0, "%s", err);
	cr_assert(cli.cfg.stats);
	cr_assert_null(cli.cfg.stats_file, "stderr");
	cr_assert_str_eq(cli.cfg.kernel, "k.elf", "--stats takes no separate value");
	cr_assert_eq(parse_words(&cli, err, sizeof(err), 4,
				 (const char *[]){ "kvmlab", "run", "--stats=out.txt", "k.elf" }), 0, "%s",
		     err);
	cr_assert(cli.cfg.stats);
	cr_assert_str_eq(cli.cfg.stats_file, "out.txt");
	cr_assert_eq(cli_config(&cli, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert(cfg.stats);
	cr_assert_str_eq(cfg.stats_file, "out.txt");
	config_free(&cfg);
	cr_assert_eq(parse_words(&cli, err, sizeof(err), 3,
				 (const char *[]){ "kvmlab", "run", "--stats=" }), -1);
	cr_assert_not_null(strstr(err, "--stats"), "%s", err);
}

Test(stats, option_in_help)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cli_usage(f);
	fclose(f);
	cr_assert_not_null(strstr(buf, "--stats[=FILE]"));
	cr_assert_not_null(strstr(buf, "SIGUSR1"));
	free(buf);
}
