// SPDX-License-Identifier: MIT
/* The VM configuration: defaults, and the memory an XML-made one owns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"

/* One allocation owned by a configuration, in a list. */
struct config_block {
	struct config_block *next;
	char data[];
};

void config_init(struct vm_config *c)
{
	*c = (struct vm_config){
	    .name = CONFIG_DEFAULT_NAME,
	    .cmdline = "",
	    .mem_size = CONFIG_DEFAULT_MEM,
	    .nr_cpus = 1,
	    .on_poweroff = VM_ACTION_DESTROY,
	    .on_reboot = VM_ACTION_DESTROY,
	    .on_crash = VM_ACTION_DESTROY,
	    .console = CONFIG_CONSOLE_PTY,
	};
}

static void *config_alloc(struct vm_config *c, size_t size)
{
	struct config_block *b = calloc(1, sizeof(*b) + size);

	if (!b)
		return NULL;
	b->next = c->owned;
	c->owned = b;
	return b->data;
}

char *config_strndup(struct vm_config *c, const char *s, unsigned long n)
{
	char *p = config_alloc(c, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

char *config_strdup(struct vm_config *c, const char *s)
{
	return config_strndup(c, s, strlen(s));
}

struct config_disk *config_add_disk(struct vm_config *c)
{
	struct config_disk *d = realloc(c->disks, (c->nr_disks + 1) * sizeof(*d));

	if (!d)
		return NULL;
	c->disks = d;
	d = &c->disks[c->nr_disks++];
	memset(d, 0, sizeof(*d));
	return d;
}

void config_free(struct vm_config *c)
{
	struct config_block *b = c->owned, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	free(c->disks);
	config_init(c);
}

int config_check_disks(const struct vm_config *c, char *err, unsigned long errlen)
{
	if (c->nr_disks > CONFIG_MAX_DISKS) {
		snprintf(err, errlen, "%d disks: kvmlab attaches at most %d", c->nr_disks,
			 CONFIG_MAX_DISKS);
		return -1;
	}
	for (int i = 0; i < c->nr_disks; i++) {
		const struct config_disk *d = &c->disks[i];

		if (d->serial && strlen(d->serial) > CONFIG_SERIAL_MAX) {
			snprintf(err, errlen, "disk %s: serial '%s' is longer than %d characters",
				 d->path, d->serial, CONFIG_SERIAL_MAX);
			return -1;
		}
		for (int j = 0; j < i; j++)
			if (!strcmp(c->disks[j].path, d->path)) {
				snprintf(err, errlen, "disk %s is given twice", d->path);
				return -1;
			}
	}
	return 0;
}

const char *config_action_name(enum vm_action a)
{
	return a == VM_ACTION_RESTART ? "restart" : "destroy";
}
