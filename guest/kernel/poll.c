/*
 * poll.c - poll, ppoll, select, pselect6: wait until one of several fds is
 * ready to read or write.
 *
 * Each file says what it is ready for now (its `poll` operation: files,
 * directories and devices are always ready, pipes when they have data or
 * room). If none of the fds is ready, the caller waits: with no timeout it
 * sleeps on poll_chan, which every pipe event wakes (then it looks again);
 * with a timeout it gives the CPU away (yield) until something is ready or
 * the time is up, as there is no timed sleep to wait on yet. The terminal
 * counts as always ready (a read then waits in tty_read). The signal masks
 * of ppoll and pselect6 are not applied (signals: not here yet).
 */
#include "fs.h"

int poll_chan;

struct pollfd_k {
	int fd;
	short events, revents;
};

static u32 file_poll(struct file *f)
{
	return f->ops->poll ? f->ops->poll(f) : POLLIN | POLLOUT;
}

static u64 now_ns(void)
{
	u64 ns = kvmclock_ns();

	return ns ? ns : ticks * tick_ms * 1000000;
}

/* Wait for the next chance to look again: 0, or -EINTR. */
static int poll_wait(bool timed)
{
	if (!timed)
		return sleep_intr(&poll_chan);
	yield();
	return 0;
}

/* timeout_ns < 0: wait as long as it takes; 0: just look. */
static i64 do_poll(struct proc *p, u64 ufds, u64 nfds, i64 timeout_ns)
{
	struct pollfd_k pf[NOFILE];
	u64 deadline = timeout_ns > 0 ? now_ns() + (u64)timeout_ns : 0;

	if (nfds > NOFILE)
		return -EINVAL;
	if (copyin(p->pml4, pf, ufds, nfds * sizeof(pf[0])) < 0)
		return -EFAULT;
	for (;;) {
		int n = 0;

		for (u64 i = 0; i < nfds; i++) {
			struct file *f = pf[i].fd >= 0 && pf[i].fd < NOFILE ? p->ofile[pf[i].fd] : NULL;

			pf[i].revents = 0;
			if (pf[i].fd < 0)
				continue;
			if (!f)
				pf[i].revents = POLLNVAL;
			else
				pf[i].revents = (short)(file_poll(f) &
							((u16)pf[i].events | POLLERR | POLLHUP));
			n += pf[i].revents != 0;
		}
		if (n || !timeout_ns || (deadline && now_ns() >= deadline)) {
			if (copyout(p->pml4, ufds, pf, nfds * sizeof(pf[0])) < 0)
				return -EFAULT;
			return n;
		}
		if (poll_wait(deadline != 0) < 0)
			return -EINTR;
	}
}

/* select's three sets of up to NOFILE fds (one u64 each here). */
static i64 do_select(struct proc *p, u64 nfds, u64 ur, u64 uw, u64 ue, i64 timeout_ns)
{
	u64 in[3] = { 0 }, out[3], uset[3] = { ur, uw, ue }, words, deadline;

	if (nfds > 1024)
		return -EINVAL;
	words = (nfds + 63) / 64;
	for (int s = 0; s < 3; s++) {
		u64 extra[15];

		if (!uset[s] || !words)
			continue;
		if (copyin(p->pml4, &in[s], uset[s], 8) < 0 ||
		    (words > 1 && copyin(p->pml4, extra, uset[s] + 8, (words - 1) * 8) < 0))
			return -EFAULT;
		for (u64 w = 0; w + 1 < words; w++)
			if (extra[w])
				return -EBADF; /* an fd >= NOFILE: never open */
		if (nfds < 64)
			in[s] &= (1ul << nfds) - 1;
	}
	for (int fd = 0; fd < NOFILE; fd++)
		if (((in[0] | in[1] | in[2]) >> fd & 1) && !p->ofile[fd])
			return -EBADF;
	deadline = timeout_ns > 0 ? now_ns() + (u64)timeout_ns : 0;
	for (;;) {
		int n = 0;

		out[0] = out[1] = out[2] = 0; /* no exceptional conditions here */
		for (int fd = 0; fd < NOFILE; fd++) {
			u32 ev;

			if (!((in[0] | in[1]) >> fd & 1))
				continue;
			ev = file_poll(p->ofile[fd]);
			if ((in[0] >> fd & 1) && (ev & (POLLIN | POLLHUP | POLLERR)))
				out[0] |= 1ul << fd, n++;
			if ((in[1] >> fd & 1) && (ev & (POLLOUT | POLLERR)))
				out[1] |= 1ul << fd, n++;
		}
		if (n || !timeout_ns || (deadline && now_ns() >= deadline)) {
			for (int s = 0; s < 3; s++)
				if (uset[s] && words && copyout(p->pml4, uset[s], &out[s], 8) < 0)
					return -EFAULT;
			return n;
		}
		if (poll_wait(deadline != 0) < 0)
			return -EINTR;
	}
}

/* A struct timespec (or timeval: usec) at u as nanoseconds; -1 for NULL. */
static int get_timeout(struct proc *p, u64 u, u64 unit, i64 *ns)
{
	i64 t[2];

	if (!u) {
		*ns = -1;
		return 0;
	}
	if (copyin(p->pml4, t, u, sizeof(t)) < 0)
		return -EFAULT;
	if (t[0] < 0 || t[1] < 0 || (u64)t[1] >= 1000000000 / unit)
		return -EINVAL;
	*ns = t[0] * 1000000000 + t[1] * (i64)unit;
	return 0;
}

i64 sys_poll(struct proc *p, u64 ufds, u64 nfds, i64 timeout_ms)
{
	return do_poll(p, ufds, nfds, timeout_ms < 0 ? -1 : timeout_ms * 1000000);
}

i64 sys_ppoll(struct proc *p, u64 ufds, u64 nfds, u64 uts)
{
	i64 ns;
	int r = get_timeout(p, uts, 1, &ns);

	return r < 0 ? r : do_poll(p, ufds, nfds, ns);
}

i64 sys_select(struct proc *p, u64 nfds, u64 ur, u64 uw, u64 ue, u64 utv, bool timespec)
{
	i64 ns;
	int r = get_timeout(p, utv, timespec ? 1 : 1000, &ns);

	return r < 0 ? r : do_select(p, nfds, ur, uw, ue, ns);
}
