/*
 * pbuf - a growable byte buffer; see pbuf.h.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pbuf.h"
#include "xalloc.h"

#define PBUF_MIN_CAP	64

void
pbuf_init(struct pbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
pbuf_free(struct pbuf *b)
{
	free(b->data);
	pbuf_init(b);
}

void
pbuf_reset(struct pbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
pbuf_reserve(struct pbuf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - b->len - 1)
		log_fatal("pbuf: size overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : PBUF_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
pbuf_append(struct pbuf *b, const void *p, size_t n)
{
	pbuf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
pbuf_puts(struct pbuf *b, const char *s)
{
	pbuf_append(b, s, strlen(s));
}

void
pbuf_putc(struct pbuf *b, int c)
{
	char ch = (char)c;

	pbuf_append(b, &ch, 1);
}

void
pbuf_vprintf(struct pbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		log_panic("pbuf_vprintf: bad format \"%s\"", fmt);
	pbuf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
pbuf_printf(struct pbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
pbuf_truncate(struct pbuf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *
pbuf_detach(struct pbuf *b)
{
	char *p;

	if (b->data == NULL)
		return xstrdup("");
	p = b->data;
	pbuf_init(b);
	return p;
}

const char *
pbuf_str(const struct pbuf *b)
{
	return b->data ? b->data : "";
}

int
pbuf_read_fd(struct pbuf *b, int fd, size_t limit)
{
	ssize_t n;

	pbuf_reserve(b, 65536);
	b->data[b->len] = '\0';	/* terminated even when nothing is read */
	for (;;) {
		pbuf_reserve(b, 65536);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			b->data[b->len] = '\0';
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (limit && b->len > limit) {
			errno = EFBIG;
			return -1;
		}
	}
	return 0;
}
