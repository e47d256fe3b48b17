/*
 * pbuf - a growable byte buffer that always keeps a NUL after its data.
 *
 * All dynamic strings in Petrel go through this type (Postfix's VSTRING):
 * code never does raw char[] arithmetic. Data may contain NUL bytes; len
 * counts them. Growth is checked for overflow and dies on out-of-memory.
 */
#ifndef PETREL_PBUF_H
#define PETREL_PBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct pbuf {
	char *data;	/* always NUL-terminated; NULL only before first use */
	size_t len;
	size_t cap;
};

#define PBUF_INIT { NULL, 0, 0 }

void pbuf_init(struct pbuf *b);
void pbuf_free(struct pbuf *b);
void pbuf_reset(struct pbuf *b);		/* len = 0, keeps memory */
void pbuf_reserve(struct pbuf *b, size_t extra);
void pbuf_append(struct pbuf *b, const void *p, size_t n);
void pbuf_puts(struct pbuf *b, const char *s);
void pbuf_putc(struct pbuf *b, int c);
void pbuf_printf(struct pbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pbuf_vprintf(struct pbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void pbuf_truncate(struct pbuf *b, size_t len);
/* Returns the data (caller frees) and leaves b empty. */
char *pbuf_detach(struct pbuf *b);
/* A pointer to the string, "" for a never-used buffer. */
const char *pbuf_str(const struct pbuf *b);

/*
 * Reads fd to EOF, appending. Stops with -1/errno EFBIG once more than
 * limit bytes are held (limit 0 = none); -1 with errno on a read error.
 */
int pbuf_read_fd(struct pbuf *b, int fd, size_t limit);

#endif
