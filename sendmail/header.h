/*
 * header - the primary header block of a message.
 *
 * The block ends at the first empty line, or at the first line that is
 * neither a header field ("Name:" with a printable name of no white space)
 * nor a continuation (a line starting with space or tab): such a line
 * starts the body with no blank separator (spec/sendmail-cli.md §6.6).
 * A leading mbox "From " line is not a header; the front end removes it.
 * Content uses LF line endings.
 */
#ifndef PETREL_HEADER_H
#define PETREL_HEADER_H

#include <stddef.h>

#include "pbuf.h"

struct header {
	const char *raw;	/* "Name: value\n\tcontinued\n", pointing into the message */
	size_t raw_len;		/* including the final LF (if the message had one) */
	size_t name_len;	/* bytes of the name, before the colon */
};

struct headers {
	struct header *v;
	size_t n;
	size_t cap;
	size_t body_off;	/* offset of the body: after the blank line if there is one */
	int has_blank;		/* 1 when a blank line separated headers from body */
};

void headers_init(struct headers *h);
void headers_free(struct headers *h);
/* Splits the header block of msg. Never fails: junk just ends the block. */
void headers_parse(const char *msg, size_t len, struct headers *h);
/* 1 when header h has this name (case-insensitive). */
int header_is(const struct header *h, const char *name);
/* Index of the first header with this name at or after from, or -1. */
long headers_find(const struct headers *h, const char *name, size_t from);
/*
 * 1 when h is one of the headers that hold addresses Postfix rewrites
 * (From, Sender, Reply-To, To, Cc, their Resent- forms, Errors-To, ...).
 */
int header_has_addresses(const struct header *h);
/* The value with continuation lines unfolded (CR/LF removed), leading white space trimmed. */
void header_value(const struct header *h, struct pbuf *out);

#endif
