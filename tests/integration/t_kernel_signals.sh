#!/bin/bash
# The teaching kernel's signals, process groups and terminal (docs/kernel.md): handlers and
# rt_sigreturn, kill, SIGCHLD, blocked signals, faults as signals, EINTR and SA_RESTART
# (guest/user/ksignal.c checks each from user mode), the book's intignore experiment, and console
# input: bytes on kvmlab's stdin go through the IOAPIC's COM1 interrupt into the tty line
# discipline, line by line, and ^C (0x03) is SIGINT for the foreground process group.
. "$(dirname "$0")/lib.sh"
KERNEL=$GUESTS/kernel.elf
USER=$REPO/build/user

mkdir -p "$TMPDIR/root"
cp "$USER/ksignal" "$USER/intignore" "$TMPDIR/root/"
(cd "$TMPDIR/root" && find . | cpio -o -H newc --quiet) >"$TMPDIR/init.cpio"

# Everything ksignal checks without a terminal.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/ksignal all"
expect_no_out "FAIL"
expect_out "ok: a handler ran for raise(SIGUSR1) and the program continued"
expect_out "ok: handlers interrupted a computing child, sigreturn gave every register back"
expect_out "ok: a blocked SIGUSR1 stays pending"
expect_out "ok: unblocked, it is delivered once"
expect_out "ok: SIGSEGV caught by a handler, si_addr 0x10"
expect_out "ok: SIGFPE (division by zero) caught by a handler"
expect_out "ok: int3: SIGTRAP caught by a handler"
expect_out "ok: ud2: SIGILL caught by a handler"
expect_out "ok: SIGSTOP stopped the child: SIGCHLD with CLD_STOPPED"
expect_out "ok: waitpid(WUNTRACED): stopped by SIGSTOP (status 0x137f)"
expect_out "ok: the stop is reported once"
expect_out "ok: SIGCONT continued it: SIGCHLD with CLD_CONTINUED (code 6, status 18)"
expect_out "ok: waitpid(WCONTINUED): continued (status 0xffff)"
expect_out "ok: the continuing is reported once, and the stop no more"
expect_out "ok: waitpid(0): a child in another group is not the caller's group's (ECHILD)"
expect_out "ok: waitpid(-pgid): the group's child, still running"
expect_out "ok: waitpid(-pgid) reaped it"
expect_out "ok: SA_ONSTACK: the handler ran on the alternate stack"
expect_out "ok: a handler moved rip past ud2; rt_sigreturn refused IOPL 3 and ring 0"
expect_out "ok: rt_sigreturn on a bad stack: SIGSEGV"
expect_out "(ksignal): bad signal frame at 0x10: killed"
expect_out "ok: uncaught SIGSEGV: wait status 11"
expect_out "ok: SIGCHLD arrived"
expect_out "ok: an uncaught SIGTERM gives wait status 15"
expect_out "ok: SIGCHLD ignored: the child is reaped at once (ECHILD)"
expect_out "ok: kill(INT_MIN): ESRCH"
expect_out "ok: tgkill of no such thread: ESRCH"
expect_out "ok: a signal interrupts a sleeping wait4: EINTR"
expect_out "ok: SA_RESTART: wait4 went on after the handler and returned the child"
expect_out "ok: the group got it (status 15)"
expect_out "ok: setsid: a new session and group, led by the child"
expect_out "ok: execve: the handled signal is back to default"
expect_out "ksignal: all passed"
# The uncaught fault keeps its kernel line; the caught ones print none.
expect_out "(ksignal): #PF page fault (vector 14) at rip 0x"
[ "$(grep -c '#PF page fault' "$OUT")" -eq 1 ] || fail "a caught SIGSEGV printed a kill line"
expect_no_out "oops"
expect_status 0

# The book's experiment: SIGINT's default kills (2), ignored and handled it does not.
kv run --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "init=/intignore"
expect_status 0
expect_out "@signal	default	signaled	2"
expect_out "@signal	ignore	exited	0"
expect_out "child: SIGINT ignored, still alive"
expect_out "@signal	handler	exited	0"
expect_out "child: the handler ran 2 times, still alive"
expect_out "@signal	segv	signaled	11"

# Console input, interactively, typed after each prompt (lib.sh's console_start, wait_for, type_).
run_typed() { console_start --initrd "$TMPDIR/init.cpio" "$KERNEL" --cmdline "$1"; }

run_typed "init=/ksignal tty"
wait_for "tty: line 1"
type_ 'hello there\r'     # Enter sends CR: ICRNL makes it NL
wait_for "tty: edit"
type_ 'abX\177c\n'        # DEL erases the X
wait_for "tty: kill"
type_ 'junk\025ok\n'      # ^U kills "junk"
wait_for "tty: ctrl-c interrupts read"
type_ '\003'
wait_for "tty: ctrl-c restarts read"
type_ '\003again\n'
wait_for "tty: ctrl-z orphaned"
type_ '\032still\n'
wait_for "tty: ctrl-c ignored"
type_ '\003after\n'
wait_for "tty: raw"
type_ 'xyz'
wait_for "tty: eof"
type_ '\004'
console_end
expect_out "got [hello there] (12 bytes)"
expect_out "edited [abc]"
expect_out "killed [ok]"
expect_out "ok: ^C: SIGINT, read returned EINTR"
expect_out "ok: SA_RESTART: the handler ran, read went on: [again]"
expect_out "ok: ^C ignored, read on: [after]"
expect_out "ok: ^Z does not stop init's (orphaned) group: [still]"
expect_out "ok: tcgetpgrp 1 is our group"
expect_out "ok: raw mode, VMIN 3: [xyz] (3 bytes) without a newline"
expect_out "ok: TCSETS stored the flags back"
expect_out "ok: ^D on an empty line: end of file"
expect_out "tty: done"
expect_no_out "FAIL"
expect_status 0

# ^C kills an ordinary foreground program: here init itself, so the VM ends with 130 = 128 + 2.
run_typed "init=/ksignal sigint"
wait_for "tty: waiting for ^C"
type_ '\003'
console_end
expect_out "kernel: init (ksignal) exited with status 130"
expect_status 130

# ^\ (0x1c) is SIGQUIT: 128 + 3 (no core file here).
run_typed "init=/ksignal sigint"
wait_for "tty: waiting for ^C"
type_ '\034'
console_end
expect_out "kernel: init (ksignal) exited with status 131"
expect_status 131

# As under a shell: the child has its own group and the terminal; ^C kills it, the parent lives.
run_typed "init=/ksignal fg"
wait_for "tty: child reads"
type_ '\003'
console_end
expect_out "ok: ^C killed the foreground child: wait status 2 (a shell says 130)"
expect_out "ok: the terminal is ours again"
expect_status 0

# Job control: ^Z stops the foreground job (the parent's wait4 with WUNTRACED sees it), SIGCONT
# lets it read on.
run_typed "init=/ksignal job"
wait_for "tty: job reads"
type_ '\032'
wait_for "tty: job continued"
type_ 'resumed\n'
console_end
expect_out "ok: ^Z stopped the job: WIFSTOPPED, signal 20"
expect_out "ok: the shell takes the terminal back"
expect_out "job got [resumed]"
expect_out "ok: continued, the job read on and ended"
expect_out "ok: a background read: SIGTTIN stopped it (21)"
expect_out "ok: a background read ignoring SIGTTIN: EIO"
expect_status 0

# intignore's wait mode ignores SIGINT: ^C while it waits does nothing.
run_typed "init=/intignore wait 2"
wait_for "SIGINT is ignored"
type_ '\003'
console_end
expect_out "done"
expect_status 0
exit 0
