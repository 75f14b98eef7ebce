# kvmlab — one entry point. `make run` and `make check` are the whole set-up.
CC      ?= gcc
# `make` alone builds everything (the initramfs rule further down would otherwise be the default).
.DEFAULT_GOAL := all
BUILD   := build
VERSION := 0.1.0

CFLAGS  := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I. -I$(BUILD) \
           -pthread -MMD -MP -DKVMLAB_VERSION='"$(VERSION)"'
LDFLAGS := -pthread

# libxml2 reads and writes the domain XML (vmm/xml.c); scripts/deps.sh installs it.
XML_CFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
XML_LIBS   := $(shell pkg-config --libs libxml-2.0 2>/dev/null || echo -lxml2)
CFLAGS     += $(XML_CFLAGS)

# Guest code: freestanding 32-bit C entered through PVH (paging off, flat segments).
GUEST_CFLAGS := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
                -fno-asynchronous-unwind-tables -nostdlib -O2 -Wall -Wextra -Werror -I.
GUEST_LDFLAGS := -m elf_i386 --no-warn-rwx-segments -nostdlib -static -T guest/tests/guest.ld

CORE_SRCS := $(filter-out vmm/main.c,$(wildcard vmm/*.c vmm/boot/*.c devices/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)

GUEST_LIB  := $(BUILD)/guest/tests/lib.o $(BUILD)/guest/tests/entry.o
GUEST_BINS := $(patsubst guest/tests/%.c,$(BUILD)/guest/%.elf,\
              $(filter-out guest/tests/lib.c,$(wildcard guest/tests/*.c)))

KVMLAB := $(BUILD)/kvmlab
# The firmware image (firmware/) and the object that builds it into kvmlab.
FW_BIN  := $(BUILD)/firmware/fw.bin
FW_BLOB := $(BUILD)/firmware/blob.o

# --- experiment programs (guest/user/, docs/experiments.md) ------------------------
# The book's experiments as static Linux x86_64 binaries: they run on the host Linux and, unchanged, on
# the teaching kernel. build/user/NAME from guest/user/NAME.c (+ the shared headers guest/user/*.h).
USER_CC     := musl-gcc
USER_CFLAGS := -std=c11 -D_GNU_SOURCE -static -O2 -Wall -Wextra -Werror
USER_HDRS   := $(wildcard guest/user/*.h)
USER_PROGS  := $(patsubst guest/user/%.c,$(BUILD)/user/%,$(wildcard guest/user/*.c))

# (a pattern rule: never the default goal)
$(BUILD)/user/%: guest/user/%.c $(USER_HDRS)
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) -o $@ $<

# The built-in initramfs (cpio newc, reproducible): /bin/sh (guest/user/sh.c), every program above in
# /bin, busybox and its applets when Debian's busybox-static is installed (scripts/initramfs.sh).
INITRAMFS := $(BUILD)/guest/initramfs.cpio
$(INITRAMFS): $(USER_PROGS) scripts/initramfs.sh
	@mkdir -p $(dir $@)
	scripts/initramfs.sh $@ $(USER_PROGS)

.SECONDARY:
.PHONY: all run check unit integration bench deps clean format fuzz
all: $(KVMLAB) $(GUEST_BINS) $(BUILD)/guest/kernel.elf $(BUILD)/bench/floor $(USER_PROGS) $(INITRAMFS)

# --- host program ---------------------------------------------------------
$(KVMLAB): $(BUILD)/vmm/main.o $(BUILD)/vmm/default_guest.o $(FW_BLOB) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(XML_LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The default guest is built into the binary: the teaching kernel and its initramfs.
$(BUILD)/vmm/default_guest.o: vmm/default_guest.S $(BUILD)/guest/kernel.elf $(INITRAMFS)
	@mkdir -p $(dir $@)
	$(CC) -c -DDEFAULT_GUEST='"$(BUILD)/guest/kernel.elf"' -DDEFAULT_INITRD='"$(INITRAMFS)"' $< -o $@

# --- firmware (firmware/, docs/boot.md "Firmware boot") -----------------------
# From the reset vector to the kernel's entry (PVH or bzImage): one 4 KiB ROM image,
# position-dependent without a linker (fw.S computes its addresses), built into
# kvmlab (and the unit tests, which link vmm/firmware.c) for --firmware.
$(BUILD)/firmware/fw.o: firmware/fw.S devices/fw_port.h
	@mkdir -p $(dir $@)
	$(CC) -m32 -I. -c $< -o $@

$(FW_BIN): $(BUILD)/firmware/fw.o
	objcopy -O binary -j .text $< $@
	@test "$$(stat -c %s $@)" -eq 4096 || { echo "$@: not 4096 bytes"; rm -f $@; exit 1; }

$(FW_BLOB): firmware/blob.S $(FW_BIN)
	$(CC) -c -DFIRMWARE_BIN='"$(FW_BIN)"' $< -o $@

# --- guests ----------------------------------------------------------------
$(BUILD)/guest/tests/%.o: guest/tests/%.c guest/tests/lib.h
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/tests/%.o: guest/tests/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/%.elf: $(BUILD)/guest/tests/%.o $(GUEST_LIB) guest/tests/guest.ld
	ld $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB) $<

# --- teaching kernel (guest/kernel/, docs/kernel.md) --------------------------
# x86_64, linked in the higher half (-mcmodel=kernel), loaded at 1 MiB through PVH.
# No SSE in the kernel (-mgeneral-regs-only): traps need not save vector registers.
KERNEL_CFLAGS := -m64 -ffreestanding -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
                 -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
                 -fno-tree-loop-distribute-patterns -nostdlib -O2 -g -Wall -Wextra -Werror \
                 -MMD -MP
KERNEL_LDFLAGS := -m elf_x86_64 --no-warn-rwx-segments -nostdlib -static -z max-page-size=4096 \
                  -T guest/kernel/kernel.ld
KERNEL_SRCS := $(wildcard guest/kernel/*.c guest/kernel/*.S)
KERNEL_OBJS := $(patsubst guest/kernel/%,$(BUILD)/guest/kernel/%.o,$(basename $(KERNEL_SRCS)))

$(BUILD)/guest/kernel/%.o: guest/kernel/%.c
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/guest/kernel/%.o: guest/kernel/%.S
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/guest/kernel.elf: $(KERNEL_OBJS) guest/kernel/kernel.ld
	ld $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJS)

# --- benchmark floor: a bare KVM_RUN loop ------------------------------------
$(BUILD)/bench/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# --- tests -------------------------------------------------------------------
# SRCDIR: where the unit tests find their fixture files (tests/xml/).
$(BUILD)/tests/unit/%.o: CFLAGS += -Wno-missing-field-initializers -DKVMLAB_SRCDIR='"$(CURDIR)"'
$(BUILD)/unit_tests: $(UNIT_OBJS) $(CORE_OBJS) $(FW_BLOB)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(XML_LIBS)

# --- fuzzing (clang's libFuzzer with ASan and UBSan) ---------------------------
# `make fuzz`: build tests/fuzz/ with clang into build/fuzz/, seed the corpus
# and fuzz for FUZZ_SECONDS; a crash fails the target and leaves its input
# in build/fuzz/crash-*.
FUZZ_SECONDS ?= 120
FUZZ_CC      := clang
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -I. -pthread \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS    := tests/fuzz/fuzz_virtqueue_blk.c devices/virtqueue.c devices/virtio_blk.c vmm/memory.c
FUZZ_HDRS    := tests/fuzz/fuzz_input.h devices/virtqueue.h devices/virtio.h devices/virtio_blk.h \
                vmm/memory.h

$(BUILD)/fuzz/fuzz_virtqueue_blk: $(FUZZ_SRCS) $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS)

$(BUILD)/fuzz/seeds: tests/fuzz/seeds.c tests/fuzz/fuzz_input.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -I. -o $@ $<

fuzz:
	@scripts/deps.sh fuzz
	$(MAKE) $(BUILD)/fuzz/fuzz_virtqueue_blk $(BUILD)/fuzz/seeds
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/seeds $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/fuzz_virtqueue_blk -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-use_value_profile=1 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus

deps:
	@scripts/deps.sh

unit: deps $(BUILD)/unit_tests
	$(BUILD)/unit_tests --jobs 2

integration: deps all
	tests/integration/launch.sh

# check fuzzes the guest-facing disk path for a minute too: a crash fails it.
CHECK_FUZZ_SECONDS ?= 60
check: deps
	$(MAKE) all $(BUILD)/unit_tests
	$(BUILD)/unit_tests --jobs 2
	$(MAKE) fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
	tests/integration/launch.sh

run: deps all
	scripts/run.sh $(ARGS)

bench: deps all
	bench/exit-cost.sh
	bench/trace-cost.sh
	bench/thp.sh
	bench/boot-time.sh
	bench/disk.sh

format:
	clang-format -i $(wildcard vmm/*.[ch] vmm/boot/*.[ch] devices/*.[ch] tests/unit/*.c guest/tests/*.[ch] bench/*.c)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
