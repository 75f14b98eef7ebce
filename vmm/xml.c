// SPDX-License-Identifier: MIT
/*
 * libvirt's domain XML, the part of it that describes what kvmlab builds.
 *
 * Reading walks the tree against one table of rules per element: a child is
 * parsed, accepted and ignored (it changes nothing kvmlab does), or refused
 * with its line -- never dropped silently. docs/xml.md says the same in
 * words: keep the two in step.
 *
 * Writing goes through libxml2's writer, which escapes what it writes.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "vmm/xml.h"

#define KIB 1024ULL

/* --- reading: context, messages, text and attributes ----------------------- */

struct xp {
	const char *file;
	struct vm_config *cfg;
	char *err;
	size_t errlen;
	bool oom;
	bool has_name, has_memory, has_os, has_os_type;
	xmlNode *current_mem; /* <currentMemory>, checked against <memory> at the end */
	uint64_t current_mem_size;
	xmlNode *serial, *console; /* the first of each */
	struct config_disk *disk;  /* the <disk> being read */
};

/* What a child element may be: parsed, accepted and ignored, or refused. */
struct rule {
	const char *name;
	int (*parse)(struct xp *p, xmlNode *n); /* NULL: accepted and ignored */
	const char *refused;			/* non-NULL: refused, and why */
	bool once;				/* may appear at most once */
};

static const struct rule no_children[] = {{NULL}};

__attribute__((format(printf, 3, 4))) static int xp_fail(struct xp *p, xmlNode *n, const char *fmt,
							 ...)
{
	char msg[768];
	va_list ap;

	if (p->oom) {
		snprintf(p->err, p->errlen, "%s: out of memory", p->file);
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%ld: %s", p->file, xmlGetLineNo(n), msg);
	return -1;
}

/* The element's name as written: "interface", or "qemu:commandline". */
static const char *ename(xmlNode *n, char *buf, size_t len)
{
	if (n->ns && n->ns->prefix)
		snprintf(buf, len, "%s:%s", (const char *)n->ns->prefix, (const char *)n->name);
	else
		snprintf(buf, len, "%s", (const char *)n->name);
	return buf;
}

/* A copy owned by the configuration; NULL (and p->oom) if out of memory. */
static const char *own(struct xp *p, const xmlChar *s)
{
	char *c = config_strdup(p->cfg, s ? (const char *)s : "");

	if (!c)
		p->oom = true;
	return c;
}

/* An attribute's value, or NULL if absent. */
static const char *attr(struct xp *p, xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
	const char *s;

	if (!v)
		return NULL;
	s = own(p, v);
	xmlFree(v);
	return s;
}

static bool attr_is(struct xp *p, xmlNode *n, const char *name, const char *value)
{
	const char *v = attr(p, n, name);

	return v && !strcmp(v, value);
}

/* An element that holds text only: its text, blanks around it cut if trim. */
static int text(struct xp *p, xmlNode *n, bool trim, const char **out)
{
	xmlChar *t;
	const char *s;
	size_t len;

	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return xp_fail(p, c, "<%s> may hold text only, not <%s>",
				       (const char *)n->name, (const char *)c->name);
	t = xmlNodeGetContent(n);
	s = own(p, t);
	xmlFree(t);
	if (!s)
		return xp_fail(p, n, "out of memory");
	if (trim) {
		while (isspace((unsigned char)*s))
			s++;
		len = strlen(s);
		while (len && isspace((unsigned char)s[len - 1]))
			((char *)s)[--len] = '\0';
	}
	*out = s;
	return 0;
}

static const struct rule *find_rule(const struct rule *rules, xmlNode *n)
{
	if (n->ns)
		return NULL;
	for (const struct rule *r = rules; r->name; r++)
		if (!strcmp(r->name, (const char *)n->name))
			return r;
	return NULL;
}

static int refuse(struct xp *p, xmlNode *n, const struct rule *r)
{
	char name[128];

	if (r && r->refused)
		return xp_fail(p, n, "<%s> is not supported: %s", ename(n, name, sizeof(name)),
			       r->refused);
	return xp_fail(p, n, "<%s> is not supported by kvmlab (docs/xml.md lists what is)",
		       ename(n, name, sizeof(name)));
}

/* Apply rules to every child element of parent. */
static int walk(struct xp *p, xmlNode *parent, const struct rule *rules)
{
	long seen[32] = {0}; /* line where each rule's element was first seen */

	for (xmlNode *n = parent->children; n; n = n->next) {
		const struct rule *r;
		size_t i;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		r = find_rule(rules, n);
		if (!r || r->refused)
			return refuse(p, n, r);
		i = (size_t)(r - rules);
		if (r->once && i < 32 && seen[i])
			return xp_fail(p, n, "<%s> given twice (first at line %ld)", r->name,
				       seen[i]);
		if (i < 32)
			seen[i] = xmlGetLineNo(n);
		if (r->parse && r->parse(p, n) < 0)
			return -1;
	}
	return 0;
}

/* --- sizes ------------------------------------------------------------------ */

/*
 * libvirt's units, case ignored: b, byte, bytes; k, m, g, t, p, e alone or
 * followed by iB are powers of 1024, followed by B powers of 1000. No unit:
 * dflt.
 */
static int unit_scale(const char *u, uint64_t dflt, uint64_t *scale)
{
	static const char prefixes[] = "kmgtpe";
	const char *at;
	uint64_t base, s = 1;

	if (!u || !*u) {
		*scale = dflt;
		return 0;
	}
	if (!strcasecmp(u, "b") || !strcasecmp(u, "byte") || !strcasecmp(u, "bytes")) {
		*scale = 1;
		return 0;
	}
	at = strchr(prefixes, tolower((unsigned char)u[0]));
	if (!at)
		return -1;
	if (!u[1] || !strcasecmp(u + 1, "iB"))
		base = 1024;
	else if (!strcasecmp(u + 1, "B"))
		base = 1000;
	else
		return -1;
	for (const char *q = prefixes; q <= at; q++)
		s *= base;
	*scale = s;
	return 0;
}

/* <memory unit='...'>N</memory> -> bytes, rounded up to whole KiB (as libvirt keeps it). */
static int parse_size(struct xp *p, xmlNode *n, uint64_t *bytes)
{
	const char *name = (const char *)n->name, *unit = attr(p, n, "unit"), *s;
	unsigned long long v;
	uint64_t scale;
	char *end;

	if (text(p, n, true, &s) < 0)
		return -1;
	if (unit_scale(unit, KIB, &scale) < 0)
		return xp_fail(p, n,
			       "<%s unit='%s'>: unknown unit (b, bytes, KiB, MiB, GiB, TiB, "
			       "PiB, EiB; K, M, G, ... alike; KB, MB, GB, ... for powers of 1000)",
			       name, unit);
	if (!*s)
		return xp_fail(p, n, "<%s> is empty: it needs a size", name);
	if (*s == '-')
		return xp_fail(p, n, "<%s> '%s' is negative", name, s);
	if (!isdigit((unsigned char)*s))
		return xp_fail(p, n, "<%s> '%s' is not a whole number", name, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return xp_fail(p, n, "<%s> '%s' is not a whole number", name, s);
	if (errno == ERANGE || v > UINT64_MAX / scale || v * scale > UINT64_MAX - 4095)
		return xp_fail(p, n, "<%s> '%s'%s%s is too large", name, s, unit ? " " : "",
			       unit ? unit : "");
	*bytes = (v * scale + KIB - 1) / KIB * KIB;
	return 0;
}

static int parse_memory(struct xp *p, xmlNode *n)
{
	uint64_t b;

	if (parse_size(p, n, &b) < 0)
		return -1;
	if (b == 0)
		return xp_fail(p, n, "<memory> is zero: a guest needs at least 2 MiB");
	if (b < CONFIG_MIN_MEM)
		return xp_fail(p, n,
			       "<memory> of %llu KiB is too little: a guest needs at least 2 MiB",
			       (unsigned long long)(b / KIB));
	p->cfg->mem_size = config_page_round(b);
	p->has_memory = true;
	return 0;
}

static int parse_current_memory(struct xp *p, xmlNode *n)
{
	uint64_t b;

	if (parse_size(p, n, &b) < 0)
		return -1;
	p->current_mem = n;
	p->current_mem_size = config_page_round(b);
	return 0;
}

/* --- name, uuid, vcpu, on_* ---------------------------------------------------- */

static int parse_name(struct xp *p, xmlNode *n)
{
	const char *s;

	if (text(p, n, false, &s) < 0)
		return -1;
	if (!*s)
		return xp_fail(p, n, "<name> is empty");
	if (strpbrk(s, "/\n"))
		return xp_fail(p, n, "<name> may not hold '/' or a line break");
	p->cfg->name = s;
	p->has_name = true;
	return 0;
}

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* 32 hex digits, dashes allowed between pairs (as libvirt reads them). */
static int uuid_parse(const char *s, uint8_t out[16])
{
	int n = 0;

	while (n < 16) {
		if (*s == '-' && n > 0) {
			s++;
			continue;
		}
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -1;
		out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
		s += 2;
	}
	return *s ? -1 : 0;
}

static int parse_uuid(struct xp *p, xmlNode *n)
{
	const char *s;

	if (text(p, n, true, &s) < 0)
		return -1;
	if (uuid_parse(s, p->cfg->uuid) < 0)
		return xp_fail(p, n,
			       "<uuid> '%s' is not a UUID (32 hex digits, as in "
			       "4dea22b3-1d52-d8f3-2516-782e98ab3fa0)",
			       s);
	p->cfg->has_uuid = true;
	return 0;
}

static int parse_count(const char *s, long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int parse_vcpu(struct xp *p, xmlNode *n)
{
	const char *s, *cur = attr(p, n, "current");
	long v, c;

	if (text(p, n, true, &s) < 0)
		return -1;
	if (parse_count(s, &v) < 0 || v < 1 || v > CONFIG_MAX_CPUS)
		return xp_fail(p, n, "<vcpu> '%s' is not a number of vCPUs from 1 to %d", s,
			       CONFIG_MAX_CPUS);
	if (cur && (parse_count(cur, &c) < 0 || c != v))
		return xp_fail(p, n,
			       "<vcpu current='%s'> is not supported: kvmlab starts all %ld "
			       "vCPUs (it has no vCPU hotplug)",
			       cur, v);
	p->cfg->nr_cpus = (int)v;
	return 0;
}

static int parse_action(struct xp *p, xmlNode *n)
{
	static const char *const unsupported[] = {"preserve", "rename-restart", "coredump-destroy",
						  "coredump-restart"};
	const char *name = (const char *)n->name, *s;
	enum vm_action *a = &p->cfg->on_crash;

	if (!strcmp(name, "on_poweroff"))
		a = &p->cfg->on_poweroff;
	else if (!strcmp(name, "on_reboot"))
		a = &p->cfg->on_reboot;
	if (text(p, n, true, &s) < 0)
		return -1;
	if (!strcmp(s, "destroy")) {
		*a = VM_ACTION_DESTROY;
		return 0;
	}
	if (!strcmp(s, "restart")) {
		*a = VM_ACTION_RESTART;
		return 0;
	}
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (!strcmp(s, unsupported[i]))
			return xp_fail(p, n,
				       "<%s>%s</%s> is not supported: kvmlab can destroy or "
				       "restart",
				       name, s, name);
	return xp_fail(p, n, "<%s>: unknown action '%s' (destroy or restart)", name, s);
}

/* --- os ---------------------------------------------------------------------- */

static int parse_os_type(struct xp *p, xmlNode *n)
{
	const char *arch = attr(p, n, "arch"), *s;

	if (arch && strcmp(arch, "x86_64"))
		return xp_fail(p, n, "<type arch='%s'> is not supported: kvmlab runs x86_64 guests",
			       arch);
	if (text(p, n, true, &s) < 0)
		return -1;
	if (strcmp(s, "hvm"))
		return xp_fail(p, n,
			       "<type>%s</type> is not supported: kvmlab runs hardware-"
			       "virtualized guests (hvm)",
			       s);
	p->has_os_type = true;
	return 0;
}

/* <kernel>, <initrd>: a path, taken as it is (relative: to kvmlab's directory). */
static int parse_os_file(struct xp *p, xmlNode *n)
{
	const char *s;

	if (text(p, n, false, &s) < 0)
		return -1;
	if (!*s)
		return xp_fail(p, n, "<%s> is empty: it needs a file", (const char *)n->name);
	if (!strcmp((const char *)n->name, "kernel"))
		p->cfg->kernel = s;
	else
		p->cfg->initrd = s;
	return 0;
}

static int parse_cmdline(struct xp *p, xmlNode *n)
{
	return text(p, n, false, &p->cfg->cmdline);
}

static int parse_boot(struct xp *p, xmlNode *n)
{
	const char *dev = attr(p, n, "dev");

	if (dev && !strcmp(dev, "hd"))
		return 0;
	return xp_fail(p, n,
		       "<boot dev='%s'> is not supported: kvmlab has no firmware to boot "
		       "from a device; it boots <kernel>, or its built-in guest",
		       dev ? dev : "");
}

#define NO_FIRMWARE                                                                                \
	"kvmlab has no firmware yet: boot a kernel with <kernel> (or name none for the built-in "  \
	"guest)"

static int parse_os(struct xp *p, xmlNode *n)
{
	static const struct rule rules[] = {
	    {"type", parse_os_type, NULL, true},
	    {"kernel", parse_os_file, NULL, true},
	    {"initrd", parse_os_file, NULL, true},
	    {"cmdline", parse_cmdline, NULL, true},
	    {"boot", parse_boot, NULL, false},
	    {"loader", NULL, NO_FIRMWARE, false},
	    {"nvram", NULL, NO_FIRMWARE, false},
	    {"firmware", NULL, NO_FIRMWARE, false},
	    {"bios", NULL, NO_FIRMWARE, false},
	    {"bootmenu", NULL, NO_FIRMWARE, false},
	    {"smbios", NULL, "kvmlab gives the guest no SMBIOS tables", false},
	    {"acpi", NULL, "kvmlab gives the guest no ACPI tables", false},
	    {NULL},
	};
	const char *fw = attr(p, n, "firmware");

	if (fw)
		return xp_fail(p, n, "<os firmware='%s'> is not supported: " NO_FIRMWARE, fw);
	if (walk(p, n, rules) < 0)
		return -1;
	if (!p->has_os_type)
		return xp_fail(p, n,
			       "<os> has no <type>: kvmlab runs <type arch='x86_64'>hvm</type>");
	p->has_os = true;
	return 0;
}

static int parse_cpu(struct xp *p, xmlNode *n)
{
	const char *mode = attr(p, n, "mode");

	if (!mode || (strcmp(mode, "host-passthrough") && strcmp(mode, "host-model") &&
		      strcmp(mode, "maximum")))
		return xp_fail(p, n,
			       "<cpu mode='%s'> is not supported: kvmlab's vCPUs are the host's "
			       "as KVM offers them: use <cpu mode='host-passthrough'/>",
			       mode ? mode : "custom");
	return walk(p, n, no_children);
}

/* --- devices: disks ------------------------------------------------------------ */

static int parse_disk_source(struct xp *p, xmlNode *n)
{
	const char *file = attr(p, n, "file");

	if (!file || !*file)
		return xp_fail(p, n, "<source> of a <disk type='file'> needs file='...'");
	p->disk->path = file;
	return 0;
}

static bool is_virtio_name(const char *dev)
{
	if (strncmp(dev, "vd", 2) || !dev[2])
		return false;
	for (dev += 2; *dev; dev++)
		if (*dev < 'a' || *dev > 'z')
			return false;
	return true;
}

static int parse_disk_target(struct xp *p, xmlNode *n)
{
	const char *dev = attr(p, n, "dev"), *bus = attr(p, n, "bus");

	if (bus && strcmp(bus, "virtio"))
		return xp_fail(p, n,
			       "<target bus='%s'> is not supported: kvmlab's disks are virtio "
			       "disks (bus='virtio')",
			       bus);
	if (!dev)
		return xp_fail(p, n, "<target> needs dev='vda' (or vdb, ...)");
	if (!is_virtio_name(dev))
		return xp_fail(p, n,
			       "<target dev='%s'> is not supported: kvmlab's disks are virtio "
			       "disks, named vda, vdb, ...",
			       dev);
	p->disk->target = dev;
	return 0;
}

static int parse_disk_driver(struct xp *p, xmlNode *n)
{
	const char *type = attr(p, n, "type"), *ioeventfd = attr(p, n, "ioeventfd");

	if (type && strcmp(type, "raw"))
		return xp_fail(p, n,
			       "<driver type='%s'> is not supported: kvmlab's disks are raw "
			       "images (type='raw')",
			       type);
	if (ioeventfd && strcmp(ioeventfd, "on") && strcmp(ioeventfd, "off"))
		return xp_fail(p, n, "<driver ioeventfd='%s'>: 'on' or 'off'", ioeventfd);
	p->disk->no_ioeventfd = ioeventfd && !strcmp(ioeventfd, "off");
	return walk(p, n, no_children);
}

static int parse_disk_readonly(struct xp *p, xmlNode *n)
{
	p->disk->readonly = true;
	return walk(p, n, no_children);
}

static int parse_disk_serial(struct xp *p, xmlNode *n)
{
	return text(p, n, false, &p->disk->serial);
}

/* libvirt writes <backingStore/> for "no backing store": nothing else. */
static int parse_backing_store(struct xp *p, xmlNode *n)
{
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return xp_fail(p, n,
				       "<backingStore> is not supported: kvmlab's disks are "
				       "single raw images");
	return 0;
}

static int parse_disk(struct xp *p, xmlNode *n)
{
	static const struct rule rules[] = {
	    {"source", parse_disk_source, NULL, true},
	    {"target", parse_disk_target, NULL, true},
	    {"driver", parse_disk_driver, NULL, true},
	    {"readonly", parse_disk_readonly, NULL, true},
	    {"serial", parse_disk_serial, NULL, true},
	    {"backingStore", parse_backing_store, NULL, true},
	    {"address", NULL, NULL, true},
	    {"alias", NULL, NULL, true},
	    {"boot", NULL, NULL, true},
	    {NULL},
	};
	const char *type = attr(p, n, "type"), *device = attr(p, n, "device");
	struct config_disk *d;

	if (type && strcmp(type, "file"))
		return xp_fail(p, n,
			       "<disk type='%s'> is not supported: kvmlab's disks are image "
			       "files (type='file')",
			       type);
	if (device && strcmp(device, "disk"))
		return xp_fail(p, n,
			       "<disk device='%s'> is not supported: kvmlab's disks are "
			       "virtio disks (device='disk')",
			       device);
	d = config_add_disk(p->cfg);
	if (!d) {
		p->oom = true;
		return xp_fail(p, n, "out of memory");
	}
	p->disk = d;
	if (walk(p, n, rules) < 0)
		return -1;
	if (!d->path)
		return xp_fail(p, n, "<disk> has no <source file='...'/>");
	if (!d->target)
		return xp_fail(p, n, "<disk> has no <target dev='vdX' bus='virtio'/>");
	for (struct config_disk *o = p->cfg->disks; o < d; o++)
		if (!strcmp(o->target, d->target))
			return xp_fail(p, n, "a second <disk> with target '%s'", d->target);
	return 0;
}

/* --- <cputune>: <vcpupin vcpu='N' cpuset='C'/>, one host CPU a vCPU -------- */

static int parse_vcpupin(struct xp *p, xmlNode *n)
{
	const char *vcpu = attr(p, n, "vcpu"), *cpuset = attr(p, n, "cpuset");
	long v, c;

	if (!vcpu || parse_count(vcpu, &v) < 0 || v >= CONFIG_MAX_CPUS)
		return xp_fail(p, n, "<vcpupin> needs vcpu='N', a vCPU number below %d",
			       CONFIG_MAX_CPUS);
	if (!cpuset || parse_count(cpuset, &c) < 0 || c >= CPU_SETSIZE)
		return xp_fail(p, n,
			       "<vcpupin cpuset='%s'> is not supported: kvmlab pins a vCPU to one "
			       "host CPU (cpuset='2', say)",
			       cpuset ? cpuset : "");
	if (v < p->cfg->nr_pin && p->cfg->pin[v] >= 0)
		return xp_fail(p, n, "a second <vcpupin> for vCPU %ld", v);
	for (int i = p->cfg->nr_pin; i < v; i++)
		p->cfg->pin[i] = -1; /* the vCPUs between stay unpinned */
	if (v >= p->cfg->nr_pin)
		p->cfg->nr_pin = (int)v + 1;
	p->cfg->pin[v] = (int)c;
	return walk(p, n, no_children);
}

static int parse_cputune(struct xp *p, xmlNode *n)
{
	static const struct rule rules[] = {
	    {"vcpupin", parse_vcpupin, NULL, false},
	    {"emulatorpin", NULL, "kvmlab has no emulator threads to pin (its vCPU threads are "
				  "all there is)", false},
	    {NULL},
	};

	return walk(p, n, rules);
}

/* --- devices: the console ----------------------------------------------------- */

static int parse_serial_model(struct xp *p, xmlNode *n)
{
	if (attr_is(p, n, "name", "isa-serial"))
		return 0;
	return xp_fail(p, n,
		       "<model name='%s'> is not supported: kvmlab's serial port is a "
		       "16550A on the ISA ports (isa-serial)",
		       attr(p, n, "name") ? attr(p, n, "name") : "");
}

static int parse_chardev_target(struct xp *p, xmlNode *n)
{
	static const struct rule rules[] = {
	    {"model", parse_serial_model, NULL, true},
	    {NULL},
	};
	bool console = !strcmp((const char *)n->parent->name, "console");
	const char *port = attr(p, n, "port"), *type = attr(p, n, "type");
	const char *want = console ? "serial" : "isa-serial";

	if (port && strcmp(port, "0"))
		return xp_fail(p, n,
			       "<target port='%s'> is not supported: kvmlab has one serial "
			       "port, COM1 (port 0)",
			       port);
	if (type && strcmp(type, want))
		return xp_fail(p, n,
			       "<target type='%s'> is not supported: kvmlab's console is its "
			       "serial port, COM1 (type='%s')",
			       type, want);
	return walk(p, n, rules);
}

/* <serial> and <console>: both describe COM1, on kvmlab's standard I/O. */
static int parse_chardev(struct xp *p, xmlNode *n)
{
	static const struct rule rules[] = {
	    {"target", parse_chardev_target, NULL, true},
	    {"source", NULL, NULL, true},
	    {"alias", NULL, NULL, true},
	    {"address", NULL, NULL, true},
	    {NULL},
	};
	const char *name = (const char *)n->name, *type = attr(p, n, "type");
	bool console = !strcmp(name, "console");
	xmlNode **first = console ? &p->console : &p->serial,
		*other = console ? p->serial : p->console;
	enum config_console kind;

	if (*first)
		return xp_fail(p, n,
			       "a second <%s> (the first is at line %ld): kvmlab has one "
			       "serial port, COM1",
			       name, xmlGetLineNo(*first));
	if (!type)
		return xp_fail(p, n, "<%s> needs type='pty' (or 'stdio')", name);
	if (!strcmp(type, "pty"))
		kind = CONFIG_CONSOLE_PTY;
	else if (!strcmp(type, "stdio"))
		kind = CONFIG_CONSOLE_STDIO;
	else
		return xp_fail(p, n,
			       "<%s type='%s'> is not supported: kvmlab's console is its own "
			       "standard input and output (type='pty' or 'stdio')",
			       name, type);
	if (other && kind != p->cfg->console)
		return xp_fail(p, n, "<%s type='%s'> disagrees with the <%s> at line %ld", name,
			       type, (const char *)other->name, xmlGetLineNo(other));
	*first = n;
	p->cfg->console = kind;
	return walk(p, n, rules);
}

/* --- devices: what kvmlab's machine has not, when said to be absent ------------- */

static int parse_memballoon(struct xp *p, xmlNode *n)
{
	if (attr_is(p, n, "model", "none"))
		return 0;
	return xp_fail(p, n,
		       "<memballoon model='%s'> is not supported: kvmlab has no balloon "
		       "device (use <memballoon model='none'/>)",
		       attr(p, n, "model") ? attr(p, n, "model") : "");
}

static int parse_controller(struct xp *p, xmlNode *n)
{
	const char *type = attr(p, n, "type"), *model = attr(p, n, "model");

	if (type && model && !strcmp(type, "usb") && !strcmp(model, "none"))
		return 0;
	/* libvirt names the root PCI bus of every x86 machine. */
	if (type && model && !strcmp(type, "pci") &&
	    (!strcmp(model, "pci-root") || !strcmp(model, "pcie-root")))
		return 0;
	return xp_fail(p, n,
		       "<controller type='%s' model='%s'> is not supported: kvmlab has no such "
		       "controller (it takes <controller type='usb' model='none'/> and the "
		       "PCI root)",
		       type ? type : "", model ? model : "");
}

/* The PS/2 mouse and keyboard libvirt lists for every x86 machine. */
static int parse_input(struct xp *p, xmlNode *n)
{
	const char *type = attr(p, n, "type"), *bus = attr(p, n, "bus");

	if (type && (!strcmp(type, "mouse") || !strcmp(type, "keyboard")) &&
	    (!bus || !strcmp(bus, "ps2")))
		return 0;
	return xp_fail(p, n,
		       "<input type='%s' bus='%s'> is not supported: kvmlab has no input "
		       "devices but its console",
		       type ? type : "", bus ? bus : "");
}

static int parse_audio(struct xp *p, xmlNode *n)
{
	if (attr_is(p, n, "type", "none"))
		return 0;
	return xp_fail(p, n,
		       "<audio> is not supported: kvmlab has no sound (use <audio "
		       "type='none'/> or none)");
}

#define NO_DISPLAY "kvmlab has no display: the guest's console is its serial port"

static int parse_devices(struct xp *p, xmlNode *n)
{
	static const struct rule rules[] = {
	    {"emulator", NULL, NULL, true},
	    {"disk", parse_disk, NULL, false},
	    {"serial", parse_chardev, NULL, false},
	    {"console", parse_chardev, NULL, false},
	    {"memballoon", parse_memballoon, NULL, true},
	    {"controller", parse_controller, NULL, false},
	    {"input", parse_input, NULL, false},
	    {"audio", parse_audio, NULL, false},
	    {"interface", NULL, "kvmlab has no network devices", false},
	    {"graphics", NULL, NO_DISPLAY, false},
	    {"video", NULL, NO_DISPLAY, false},
	    {"sound", NULL, "kvmlab has no sound devices", false},
	    {"hostdev", NULL, "kvmlab cannot pass host devices through", false},
	    {"filesystem", NULL, "kvmlab cannot share host directories", false},
	    {"channel", NULL, "kvmlab has no channels (virtio-serial)", false},
	    {"parallel", NULL, "kvmlab has no parallel port", false},
	    {"watchdog", NULL, "kvmlab has no watchdog device", false},
	    {"panic", NULL, "kvmlab has no panic device", false},
	    {"rng", NULL, "kvmlab has no random number device", false},
	    {"tpm", NULL, "kvmlab has no TPM", false},
	    {NULL},
	};

	return walk(p, n, rules);
}

/* --- the domain -------------------------------------------------------------- */

static int parse_root(struct xp *p, xmlNode *root)
{
	static const struct rule rules[] = {
	    {"name", parse_name, NULL, true},
	    {"uuid", parse_uuid, NULL, true},
	    {"title", NULL, NULL, true},
	    {"description", NULL, NULL, true},
	    {"metadata", NULL, NULL, true},
	    {"memory", parse_memory, NULL, true},
	    {"currentMemory", parse_current_memory, NULL, true},
	    {"vcpu", parse_vcpu, NULL, true},
	    {"os", parse_os, NULL, true},
	    {"features", NULL, NULL, true},
	    {"cpu", parse_cpu, NULL, true},
	    {"cputune", parse_cputune, NULL, true},
	    {"clock", NULL, NULL, true},
	    {"on_poweroff", parse_action, NULL, true},
	    {"on_reboot", parse_action, NULL, true},
	    {"on_crash", parse_action, NULL, true},
	    {"on_lockfailure", NULL, NULL, true},
	    {"pm", NULL, NULL, true},
	    {"resource", NULL, NULL, true},
	    {"seclabel", NULL, NULL, false},
	    {"devices", parse_devices, NULL, true},
	    {"maxMemory", NULL, "kvmlab has no memory hotplug", false},
	    {"memoryBacking", NULL, "kvmlab backs guest RAM with plain anonymous memory", false},
	    {"vcpus", NULL, "kvmlab has no vCPU hotplug", false},
	    {"bootloader", NULL, "kvmlab boots <os><kernel> itself", false},
	    {NULL},
	};
	char name[128];
	const char *type;

	if (root->ns || strcmp((const char *)root->name, "domain"))
		return xp_fail(p, root,
			       "the root element is <%s>, not <domain>: not a libvirt domain",
			       ename(root, name, sizeof(name)));
	type = attr(p, root, "type");
	if (!type)
		return xp_fail(p, root, "<domain> needs type='kvm'");
	if (strcmp(type, "kvm"))
		return xp_fail(p, root,
			       "<domain type='%s'> is not supported: kvmlab runs guests on "
			       "KVM (type='kvm')",
			       type);
	if (walk(p, root, rules) < 0)
		return -1;
	if (!p->has_name)
		return xp_fail(p, root, "<domain> has no <name>");
	if (!p->has_memory)
		return xp_fail(p, root, "<domain> has no <memory>");
	if (!p->has_os)
		return xp_fail(p, root,
			       "<domain> has no <os>: kvmlab runs <os><type "
			       "arch='x86_64'>hvm</type></os>");
	if (p->current_mem && p->current_mem_size != p->cfg->mem_size)
		return xp_fail(
		    p, p->current_mem,
		    "<currentMemory> of %llu KiB differs from <memory> (%llu KiB): kvmlab "
		    "has no balloon to give a guest less than its memory",
		    (unsigned long long)(p->current_mem_size / KIB),
		    (unsigned long long)(p->cfg->mem_size / KIB));
	return 0;
}

/* The first error libxml2 finds: later ones are often its consequences. */
struct first_error {
	int line;
	char msg[256];
};

static void keep_first_error(void *data, xmlErrorPtr e)
{
	struct first_error *f = data;
	size_t len;

	if (f->msg[0] || !e || e->level < XML_ERR_ERROR || !e->message)
		return;
	f->line = e->line;
	snprintf(f->msg, sizeof(f->msg), "%s", e->message);
	len = strlen(f->msg);
	while (len && isspace((unsigned char)f->msg[len - 1]))
		f->msg[--len] = '\0';
}

static xmlDocPtr read_xml(const char *buf, size_t len, const char *name, char *err, size_t errlen)
{
	/* No network, no entity substitution, no DTD loading. */
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
	struct first_error first = {0, ""};
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	xmlDocPtr doc = NULL;

	if (!ctxt) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	xmlSetStructuredErrorFunc(&first, keep_first_error);
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, name, NULL, opts);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc || !ctxt->wellFormed) {
		snprintf(err, errlen, "%s:%d: not well-formed XML: %s", name, first.line,
			 first.msg[0] ? first.msg : "cannot parse");
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* The line where needle first is in buf (1 if it is not). */
static long line_of(const char *buf, size_t len, const char *needle)
{
	const char *at = memmem(buf, len, needle, strlen(needle));
	long line = 1;

	for (const char *c = buf; at && c < at; c++)
		line += *c == '\n';
	return line;
}

/* What an XML leaves out means what libvirt says, where that differs from kvmlab's CLI. */
static void xml_defaults(struct vm_config *c)
{
	config_init(c);
	c->name = NULL;
	c->on_reboot = VM_ACTION_RESTART;
	c->console = CONFIG_CONSOLE_NONE;
}

int xml_parse_buffer(const char *buf, size_t len, const char *name, struct vm_config *cfg,
		     char *err, size_t errlen)
{
	struct xp p = {.file = name, .cfg = cfg, .err = err, .errlen = errlen};
	xmlDocPtr doc;
	int r = -1;

	xml_defaults(cfg);
	if (len > XML_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d KiB: not a domain XML", name,
			 XML_MAX_FILE >> 10);
		return -1;
	}
	doc = read_xml(buf, len, name, err, errlen);
	if (!doc)
		return -1;
	if (doc->intSubset || doc->extSubset) {
		snprintf(err, errlen, "%s:%ld: a <!DOCTYPE> is not allowed in a domain XML", name,
			 line_of(buf, len, "<!DOCTYPE"));
		goto out;
	}
	r = parse_root(&p, xmlDocGetRootElement(doc));
	if (r == 0 && p.oom)
		r = xp_fail(&p, xmlDocGetRootElement(doc), "out of memory");
out:
	xmlFreeDoc(doc);
	if (r < 0)
		config_free(cfg);
	return r;
}

/* The whole file, at most XML_MAX_FILE + 1 bytes of it. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open domain XML '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(XML_MAX_FILE + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (n < XML_MAX_FILE + 1 && (r = read(fd, buf + n, XML_MAX_FILE + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read domain XML '%s': %s", path,
				 strerror(errno));
			free(buf);
			buf = NULL;
			goto out;
		}
		n += (size_t)r;
	}
	*len = n;
out:
	close(fd);
	return buf;
}

int xml_parse_file(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int r;

	config_init(cfg);
	buf = read_file(path, &len, err, errlen);
	if (!buf)
		return -1;
	r = xml_parse_buffer(buf, len, path, cfg, err, errlen);
	free(buf);
	return r;
}

bool xml_is_xml_file(const char *path)
{
	unsigned char buf[512];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	size_t i = 0;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
		i = 3;
	while (n > 0 && i < (size_t)n &&
	       (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return n > 0 && i < (size_t)n && buf[i] == '<';
}

/* --- writing ------------------------------------------------------------------ */

struct xw {
	xmlTextWriterPtr w;
	bool bad;
};

static void start(struct xw *x, const char *name)
{
	x->bad |= xmlTextWriterStartElement(x->w, BAD_CAST name) < 0;
}

static void end(struct xw *x)
{
	x->bad |= xmlTextWriterEndElement(x->w) < 0;
}

static void att(struct xw *x, const char *name, const char *value)
{
	x->bad |= xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value) < 0;
}

/* <name>text</name>, text escaped by libxml2. */
static void element(struct xw *x, const char *name, const char *text)
{
	x->bad |= xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST text) < 0;
}

static void size_element(struct xw *x, const char *name, uint64_t bytes)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)((bytes + KIB - 1) / KIB));
	start(x, name);
	att(x, "unit", "KiB");
	x->bad |= xmlTextWriterWriteString(x->w, BAD_CAST v) < 0;
	end(x);
}

/* Can XML carry s? UTF-8 without control characters but tab, LF and CR. */
static bool xml_safe(const char *s)
{
	if (!s)
		return true;
	if (!xmlCheckUTF8((const unsigned char *)s))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

/* libvirt wants absolute paths: a relative one is taken from where kvmlab runs. */
static const char *abs_path(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return path;
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	while (!strncmp(path, "./", 2))
		path += 2;
	if ((size_t)snprintf(buf, len, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) >= len)
		return NULL;
	return buf;
}

static void write_path(struct xw *x, const char *element_name, const char *attr_name,
		       const char *path)
{
	char buf[PATH_MAX * 2];
	const char *a = abs_path(path, buf, sizeof(buf));

	if (!a) {
		x->bad = true;
		return;
	}
	if (attr_name) {
		start(x, element_name);
		att(x, attr_name, a);
		end(x);
	} else {
		element(x, element_name, a);
	}
}

static void write_os(struct xw *x, const struct vm_config *c)
{
	start(x, "os");
	start(x, "type");
	att(x, "arch", "x86_64");
	x->bad |= xmlTextWriterWriteString(x->w, BAD_CAST "hvm") < 0;
	end(x);
	if (c->kernel)
		write_path(x, "kernel", NULL, c->kernel);
	if (c->initrd)
		write_path(x, "initrd", NULL, c->initrd);
	if (c->cmdline && *c->cmdline)
		element(x, "cmdline", c->cmdline);
	end(x);
}

static void write_disk(struct xw *x, const struct config_disk *d, bool no_ioeventfd)
{
	start(x, "disk");
	att(x, "type", "file");
	att(x, "device", "disk");
	if (no_ioeventfd || d->no_ioeventfd) { /* (libvirt's own order: driver, source, target) */
		start(x, "driver");
		att(x, "name", "qemu");
		att(x, "type", "raw");
		att(x, "ioeventfd", "off");
		end(x);
	}
	write_path(x, "source", "file", d->path);
	start(x, "target");
	att(x, "dev", d->target);
	att(x, "bus", "virtio");
	end(x);
	if (d->readonly) {
		start(x, "readonly");
		end(x);
	}
	if (d->serial)
		element(x, "serial", d->serial);
	end(x);
}

static void write_console(struct xw *x, enum config_console kind)
{
	const char *type = kind == CONFIG_CONSOLE_STDIO ? "stdio" : "pty";

	if (kind == CONFIG_CONSOLE_NONE)
		return;
	start(x, "serial");
	att(x, "type", type);
	start(x, "target");
	att(x, "port", "0");
	end(x);
	end(x);
	start(x, "console");
	att(x, "type", type);
	start(x, "target");
	att(x, "type", "serial");
	att(x, "port", "0");
	end(x);
	end(x);
}

static void write_cputune(struct xw *x, const struct vm_config *c)
{
	char n[16];
	bool any = false;

	for (int i = 0; i < c->nr_pin; i++)
		any |= c->pin[i] >= 0;
	if (!any)
		return;
	start(x, "cputune");
	for (int i = 0; i < c->nr_pin; i++) {
		if (c->pin[i] < 0)
			continue;
		start(x, "vcpupin");
		snprintf(n, sizeof(n), "%d", i);
		att(x, "vcpu", n);
		snprintf(n, sizeof(n), "%d", c->pin[i]);
		att(x, "cpuset", n);
		end(x);
	}
	end(x);
}

static void write_domain(struct xw *x, const struct vm_config *c, const char *uuid)
{
	char n[16];

	start(x, "domain");
	att(x, "type", "kvm");
	element(x, "name", c->name ? c->name : CONFIG_DEFAULT_NAME);
	element(x, "uuid", uuid);
	size_element(x, "memory", c->mem_size);
	size_element(x, "currentMemory", c->mem_size);
	snprintf(n, sizeof(n), "%d", c->nr_cpus);
	element(x, "vcpu", n);
	write_cputune(x, c);
	write_os(x, c);
	/* kvmlab's vCPUs show what KVM supports of the host's CPU. */
	start(x, "cpu");
	att(x, "mode", "host-passthrough");
	end(x);
	element(x, "on_poweroff", config_action_name(c->on_poweroff));
	element(x, "on_reboot", config_action_name(c->on_reboot));
	element(x, "on_crash", config_action_name(c->on_crash));
	start(x, "devices");
	for (int i = 0; i < c->nr_disks; i++)
		write_disk(x, &c->disks[i], c->no_ioeventfd);
	/* Said outright, so that a libvirt host does not add them. */
	start(x, "controller");
	att(x, "type", "usb");
	att(x, "model", "none");
	end(x);
	write_console(x, c->console);
	start(x, "memballoon");
	att(x, "model", "none");
	end(x);
	end(x);
	end(x);
}

static void uuid_format(const uint8_t u[16], char out[37])
{
	char *o = out;

	for (int i = 0; i < 16; i++) {
		o += sprintf(o, "%02x", u[i]);
		if (i == 3 || i == 5 || i == 7 || i == 9)
			*o++ = '-';
	}
	*o = '\0';
}

/* A random (version 4) UUID. */
static int uuid_generate(uint8_t u[16])
{
	if (getrandom(u, 16, 0) != 16)
		return -1;
	u[6] = (u[6] & 0x0F) | 0x40;
	u[8] = (u[8] & 0x3F) | 0x80;
	return 0;
}

static const char *unsafe_string(const struct vm_config *c)
{
	if (!xml_safe(c->name))
		return "the name";
	if (!xml_safe(c->kernel) || !xml_safe(c->initrd))
		return "a file name";
	if (!xml_safe(c->cmdline))
		return "the kernel command line";
	for (int i = 0; i < c->nr_disks; i++)
		if (!xml_safe(c->disks[i].path) || !xml_safe(c->disks[i].target) ||
		    !xml_safe(c->disks[i].serial))
			return "a disk";
	return NULL;
}

int xml_write(FILE *f, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct xw x = {0};
	xmlBufferPtr buf = NULL;
	const char *what = unsafe_string(cfg);
	uint8_t u[16];
	char uuid[37];
	int r = -1;

	if (what) {
		snprintf(err, errlen,
			 "cannot write XML: %s holds a control character or is not UTF-8", what);
		return -1;
	}
	if (cfg->has_uuid)
		memcpy(u, cfg->uuid, 16);
	else if (uuid_generate(u) < 0) {
		snprintf(err, errlen, "cannot make a UUID: %s", strerror(errno));
		return -1;
	}
	uuid_format(u, uuid);
	buf = xmlBufferCreate();
	x.w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	if (!x.w) {
		snprintf(err, errlen, "cannot write XML: out of memory");
		goto out;
	}
	x.bad |= xmlTextWriterSetIndent(x.w, 1) < 0;
	x.bad |= xmlTextWriterSetIndentString(x.w, BAD_CAST "  ") < 0;
	x.bad |= xmlTextWriterSetQuoteChar(x.w, '\'') < 0;
	write_domain(&x, cfg, uuid);
	x.bad |= xmlTextWriterFlush(x.w) < 0;
	if (x.bad) {
		snprintf(err, errlen, "cannot write XML (a path too long, or out of memory)");
		goto out;
	}
	if (fwrite(xmlBufferContent(buf), 1, (size_t)xmlBufferLength(buf), f) !=
		(size_t)xmlBufferLength(buf) ||
	    fflush(f) != 0) {
		snprintf(err, errlen, "cannot write XML: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (x.w)
		xmlFreeTextWriter(x.w);
	if (buf)
		xmlBufferFree(buf);
	return r;
}
