/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART. Output is transmitted the moment THR is written, so the
 * transmitter is always empty; input arrives through serial_receive() into a
 * 16-byte RX FIFO. Every value the guest writes is masked or bounded: the
 * guest is not trusted.
 *
 * Deliberate simplifications: the RX FIFO is 16 bytes deep even when FCR
 * disables FIFOs (a 16450-style guest reads one byte per interrupt anyway),
 * the RX trigger level is ignored (data interrupts fire on the first byte,
 * so no character-timeout interrupt is needed), and parity/framing/break
 * errors never happen.
 */
#include <string.h>

#include "devices/serial.h"

/* Register offsets */
#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0F

#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xC0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER 0xC0

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1F

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTA 0x0F
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_STATUS 0xF0

static int loopback(const struct serial *s)
{
	return s->mcr & MCR_LOOP;
}

/* Highest-priority enabled interrupt, as IIR bits 0-3. */
static uint8_t pending_iir(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr & LSR_OE))
		return IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTA))
		return IIR_MSI;
	return IIR_NONE;
}

/*
 * The line follows "any enabled interrupt pending". It is not gated on
 * MCR.OUT2 as on a PC board: simple guests never set OUT2, and Linux sets
 * it anyway. Called with the lock held so level changes stay ordered.
 */
static void update_irq(struct serial *s)
{
	int level = pending_iir(s) != IIR_NONE;

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	irq_line_set(&s->irq, level);
}

/*
 * Whether the input side, refused earlier, should now be told there is
 * room. In loopback the receiver is cut off from the line, so input waits.
 */
static int take_rx_room(struct serial *s)
{
	if (!s->rx_waiting || loopback(s) || s->rx_count >= SERIAL_FIFO_SIZE)
		return 0;
	s->rx_waiting = 0;
	return 1;
}

static int rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count >= SERIAL_FIFO_SIZE)
		return -1;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = c;
	s->rx_count++;
	return 0;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_count--;
	return c;
}

static void rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/* Modem status lines as the UART sees them: wired back from MCR in loopback,
 * a connected line otherwise. */
static uint8_t msr_status(const struct serial *s)
{
	uint8_t st = 0;

	if (!loopback(s))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (s->mcr & MCR_DTR)
		st |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		st |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		st |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		st |= MSR_DCD;
	return st;
}

/* Recompute MSR's status nibble and latch delta bits for what changed. */
static void update_msr(struct serial *s)
{
	uint8_t old = s->msr & MSR_STATUS;
	uint8_t new = msr_status(s);
	uint8_t diff = old ^ new;
	uint8_t delta = s->msr & MSR_DELTA;

	if (diff & MSR_CTS)
		delta |= MSR_DCTS;
	if (diff & MSR_DSR)
		delta |= MSR_DDSR;
	if (diff & MSR_DCD)
		delta |= MSR_DDCD;
	/* TERI latches on the trailing edge of RI only. */
	if ((old & MSR_RI) && !(new & MSR_RI))
		delta |= MSR_TERI;
	s->msr = new | delta;
}

static void write_thr(struct serial *s, uint8_t v)
{
	if (loopback(s)) {
		if (rx_push(s, v) < 0)
			s->lsr |= LSR_OE;
	} else if (s->be.write) {
		/* Under the lock, so output from several vCPUs stays in order. */
		s->be.write(s->be.opaque, &v, 1);
	}
	/* Sent at once: THR is empty again, which is a new THRE event. */
	s->thr_ipending = 1;
}

static void write_ier(struct serial *s, uint8_t v)
{
	uint8_t old = s->ier;

	s->ier = v & IER_MASK;
	/* Enabling ETBEI while THR is empty (always) raises THRE at once;
	 * Linux's startup checks for exactly this. */
	if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI))
		s->thr_ipending = 1;
}

static void write_fcr(struct serial *s, uint8_t v)
{
	/* Toggling FIFO enable resets the FIFOs, as on the chip. */
	if ((v ^ s->fcr) & FCR_ENABLE)
		rx_clear(s);
	if (v & FCR_CLEAR_RX)
		rx_clear(s);
	/* FCR_CLEAR_TX: nothing to do, the transmitter never holds data. */
	s->fcr = v & FCR_ENABLE ? v & (FCR_ENABLE | FCR_TRIGGER) : 0;
}

static void reg_write(struct serial *s, unsigned off, uint8_t v)
{
	int dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case UART_THR:
		if (dlab)
			s->dll = v;
		else
			write_thr(s, v);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = v;
		else
			write_ier(s, v);
		break;
	case UART_FCR:
		write_fcr(s, v);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & MCR_MASK;
		update_msr(s);
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		/* LSR and MSR are read-only (their factory-test writes are not modelled). */
		break;
	}
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t id = pending_iir(s);

	/* Reading IIR acknowledges THRE only when it is what IIR reports. */
	if (id == IIR_THRI)
		s->thr_ipending = 0;
	return id | (s->fcr & FCR_ENABLE ? IIR_FIFO : 0);
}

static uint8_t read_lsr(struct serial *s)
{
	uint8_t v = s->lsr | (s->rx_count ? LSR_DR : 0);

	s->lsr &= (uint8_t)~LSR_OE;
	return v;
}

static uint8_t read_msr(struct serial *s)
{
	uint8_t v = s->msr;

	s->msr &= (uint8_t)~MSR_DELTA;
	return v;
}

static uint8_t reg_read(struct serial *s, unsigned off)
{
	int dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case UART_RBR:
		return dlab ? s->dll : rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		return read_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return read_lsr(s);
	case UART_MSR:
		return read_msr(s);
	case UART_SCR:
		return s->scr;
	}
	return 0xFF;
}

void serial_init(struct serial *s, const struct irq_line *irq, const struct serial_backend *be)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	if (irq)
		s->irq = *irq;
	if (be)
		s->be = *be;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = msr_status(s);
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

void serial_io(void *opaque, struct bus_access *a)
{
	struct serial *s = opaque;
	int room;

	if (!a->data || !a->size)
		return;
	/* Registers are byte-wide: act on the first byte, ignore the rest. */
	if (a->offset > UART_SCR) {
		if (!a->is_write)
			memset(a->data, 0xFF, a->size);
		return;
	}

	pthread_mutex_lock(&s->lock);
	if (a->is_write) {
		reg_write(s, (unsigned)a->offset, a->data[0]);
	} else {
		memset(a->data, 0, a->size);
		a->data[0] = reg_read(s, (unsigned)a->offset);
	}
	room = take_rx_room(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);

	/* Unlocked: the input side may call serial_receive() from here. */
	if (room && s->be.rx_room)
		s->be.rx_room(s->be.opaque);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the receiver is disconnected from the line: hold the
	 * input back (rx_room follows when loopback ends) rather than drop it. */
	while (!loopback(s) && n < len && rx_push(s, buf[n]) == 0)
		n++;
	if (n < len)
		s->rx_waiting = 1;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
