/*
 * pipe.c - pipes: a one-page ring buffer between a write end and a read end.
 *
 * `nread` and `nwrite` count the bytes that ever went through, so the
 * buffer holds nwrite - nread bytes, starting at nread % PIPE_SIZE. A reader
 * of an empty pipe sleeps until a writer writes (or the last writer closes:
 * then read returns 0, end of file); a writer of a full pipe sleeps until a
 * reader reads. Writes of up to PIPE_BUF bytes go in at once or not at all
 * (they never mix with another writer's). Writing with no reader left is
 * -EPIPE and SIGPIPE. O_NONBLOCK: -EAGAIN instead of sleeping.
 */
#include "fs.h"

#define PIPE_SIZE PAGE_SIZE
#define PIPE_BUF 4096 /* POSIX: writes this small are atomic */

struct pipe {
	u8 *buf;
	u64 nread, nwrite;
	int readers, writers; /* open files of each end */
};

static i64 pipe_read(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	struct pipe *pi = f->pipe;
	u64 done = 0;

	(void)off;
	while (pi->nread == pi->nwrite) {
		if (!pi->writers || !n)
			return 0; /* end of file */
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		if (sleep_intr(&pi->nread) < 0)
			return -EINTR;
	}
	while (done < n && pi->nread < pi->nwrite) {
		u64 at = pi->nread % PIPE_SIZE, k = PIPE_SIZE - at;

		if (k > pi->nwrite - pi->nread)
			k = pi->nwrite - pi->nread;
		if (k > n - done)
			k = n - done;
		if (copyout(p->pml4, ubuf + done, pi->buf + at, k) < 0) {
			if (!done)
				return -EFAULT;
			break;
		}
		pi->nread += k, done += k;
	}
	wakeup(&pi->nwrite); /* room for writers */
	wakeup(&poll_chan);
	return (i64)done;
}

static i64 pipe_write(struct file *f, struct proc *p, u64 ubuf, u64 n, u64 off)
{
	struct pipe *pi = f->pipe;
	u64 done = 0;

	(void)off;
	while (done < n) {
		u64 room = PIPE_SIZE - (pi->nwrite - pi->nread), at, k;

		if (!pi->readers) { /* nobody will ever read it: SIGPIPE, as on Linux */
			if (done)
				return (i64)done;
			signal_send(p, SIGPIPE, SI_USER, p->pid, 0);
			return -EPIPE;
		}
		/* small writes wait for room for all of it: they stay in one piece */
		if (!room || (n <= PIPE_BUF && room < n - done)) {
			if (f->flags & O_NONBLOCK)
				return done ? (i64)done : -EAGAIN;
			wakeup(&pi->nread);
			if (sleep_intr(&pi->nwrite) < 0)
				return done ? (i64)done : -EINTR;
			continue;
		}
		at = pi->nwrite % PIPE_SIZE;
		k = PIPE_SIZE - at;
		if (k > room)
			k = room;
		if (k > n - done)
			k = n - done;
		if (copyin(p->pml4, pi->buf + at, ubuf + done, k) < 0) {
			if (!done)
				return -EFAULT;
			break;
		}
		pi->nwrite += k, done += k;
	}
	wakeup(&pi->nread); /* data for readers */
	wakeup(&poll_chan);
	return (i64)done;
}

static void pipe_close(struct file *f)
{
	struct pipe *pi = f->pipe;

	if ((f->flags & O_ACCMODE) == O_RDONLY)
		pi->readers--;
	else
		pi->writers--;
	wakeup(&pi->nread); /* a reader sees end of file; a writer, EPIPE */
	wakeup(&pi->nwrite);
	wakeup(&poll_chan);
	if (!pi->readers && !pi->writers) {
		kfree(pi->buf);
		kmfree(pi);
	}
}

static void pipe_stat(struct file *f, u32 *mode, u64 *size)
{
	*mode = S_IFIFO | 0600;
	*size = f->pipe->nwrite - f->pipe->nread;
}

static i64 pipe_ioctl(struct file *f, struct proc *p, u64 req, u64 arg)
{
	if (req == 0x541B) { /* FIONREAD: bytes waiting */
		int n = (int)(f->pipe->nwrite - f->pipe->nread);

		return copyout(p->pml4, arg, &n, 4) < 0 ? -EFAULT : 0;
	}
	return -ENOTTY;
}

/* What poll sees: data (or the writers gone) for the read end, room (or
 * the readers gone) for the write end. */
static u32 pipe_poll(struct file *f)
{
	struct pipe *pi = f->pipe;

	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return (pi->nwrite != pi->nread ? POLLIN : 0) | (pi->writers ? 0 : POLLHUP);
	if (!pi->readers)
		return POLLOUT | POLLERR;
	return pi->nwrite - pi->nread < PIPE_SIZE ? POLLOUT : 0;
}

static const struct fileops pipe_fops = {
	.read = pipe_read, .write = pipe_write, .stat = pipe_stat,
	.ioctl = pipe_ioctl, .close = pipe_close, .poll = pipe_poll,
};

/* A new pipe: its read end and its write end, as two open files. */
int pipe_create(struct file **rf, struct file **wf)
{
	struct pipe *pi = kmalloc(sizeof(*pi));

	if (!pi)
		return -ENOMEM;
	memset(pi, 0, sizeof(*pi));
	if (!(pi->buf = kalloc())) {
		kmfree(pi);
		return -ENOMEM;
	}
	*rf = file_alloc(&pipe_fops, O_RDONLY);
	*wf = file_alloc(&pipe_fops, O_WRONLY);
	if (!*rf || !*wf) {
		kmfree(*rf), kmfree(*wf), kfree(pi->buf), kmfree(pi);
		return -ENOMEM;
	}
	(*rf)->pipe = (*wf)->pipe = pi;
	pi->readers = pi->writers = 1;
	return 0;
}
