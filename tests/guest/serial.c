// SPDX-License-Identifier: GPL-2.0
/* COM1, polled, 115200 8N1 (QEMU ignores the rate; a real UART would not). */
#include "guest.h"

#define COM1		0x3f8
#define UART_THR	0	/* transmit holding register */
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_DLL	0	/* with LCR.DLAB set */
#define UART_DLM	1
#define LSR_THRE	0x20

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);	/* we poll */
	outb(COM1 + UART_LCR, 0x80);	/* DLAB: set the divisor */
	outb(COM1 + UART_DLL, 1);	/* 115200 / 1 */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1 + UART_FCR, 0x07);	/* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x03);	/* DTR, RTS */
}

static void put_char(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		;
	outb(COM1 + UART_THR, (u8)c);
}

void put_str(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			put_char('\r');
		put_char(*s);
	}
}

void put_dec(u64 v)
{
	char buf[21];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + do_div(&v, 10));
	} while (v);
	put_str(&buf[i]);
}

static const char hexdigits[] = "0123456789abcdef";

void put_hex8(u8 v)
{
	put_char(hexdigits[v >> 4]);
	put_char(hexdigits[v & 15]);
}

void put_hex(u64 v)
{
	int shift = 60;

	put_str("0x");
	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		put_char(hexdigits[(v >> shift) & 15]);
}

/*
 * The one way out: "qvp-guest: error <text>" on one line, then stay quiet
 * for good.  error_begin() lets a caller add numbers before error_end().
 */
void error_begin(void)
{
	put_str("qvp-guest: error ");
}

void error_end(void)
{
	put_str("\n");
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

void fatal(const char *text)
{
	error_begin();
	put_str(text);
	error_end();
}
