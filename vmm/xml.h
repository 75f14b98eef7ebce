/* SPDX-License-Identifier: MIT */
#ifndef KVMLAB_XML_H
#define KVMLAB_XML_H

/*
 * libvirt domain XML <-> struct vm_config, with libxml2. The subset kvmlab
 * reads, ignores and refuses is listed in docs/xml.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vmm/config.h"

/* The largest domain XML file kvmlab reads. */
#define XML_MAX_FILE (1 << 20)

/*
 * Does the file at path hold XML rather than a kernel? True when its first
 * byte, after an optional UTF-8 byte-order mark and blanks (space, tab, CR,
 * LF), is '<'. No kernel kvmlab boots starts so: an ELF starts with 0x7F, a
 * bzImage with its boot sector. False when the file cannot be read.
 */
bool xml_is_xml_file(const char *path);

/*
 * Read a domain XML into *cfg, which this sets up first: kvmlab's defaults
 * but libvirt's where an XML leaves something out (on_reboot is "restart",
 * no console). Returns 0, or -1 with one line in err, "FILE:LINE: what is
 * wrong", *cfg then holding nothing to free.
 */
int xml_parse_file(const char *path, struct vm_config *cfg, char *err, size_t errlen);
/* The same for XML in memory; name stands for the file in messages. */
int xml_parse_buffer(const char *buf, size_t len, const char *name, struct vm_config *cfg,
		     char *err, size_t errlen);

/*
 * Write cfg as a domain XML that libvirt accepts: relative paths made
 * absolute, a random UUID when cfg has none. Returns 0, or -1 with err.
 */
int xml_write(FILE *f, const struct vm_config *cfg, char *err, size_t errlen);

#endif
