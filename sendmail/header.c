/*
 * header - the primary header block of a message.
 *
 * API (header.h): headers_parse() splits the header block of an LF-form
 * message into header fields (pointers into the message, no copy) and
 * finds where the body starts; header_is()/headers_find() look fields up
 * by name (case-insensitively); header_value() gives a field's unfolded
 * value.
 *
 * What is a header line: a name of printable ASCII (33..126) other than
 * ':', then optional spaces or tabs, then ':' (Postfix's is_header()
 * also accepts the white space before the colon, which RFC 5322 calls
 * obsolete). name_len counts the name only, without that white space. A
 * line starting with a space or tab continues the field before it. The
 * block ends at the first empty line (a line holding only a CR counts as
 * empty too, for content that kept its CRLF), which belongs to neither
 * part, or at the first line that is neither a header nor a continuation
 * (also a line starting with white space when no field precedes it): the
 * body starts at that line and has_blank is 0.
 *
 * Errors: none; anything that is not a header ends the block. A final
 * header without LF just has no LF in raw/raw_len.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"
#include "pbuf.h"
#include "xalloc.h"

#define HEADERS_MIN_CAP		16
#define HDR_NAME_FIRST		33	/* '!' */
#define HDR_NAME_LAST		126	/* '~' */

void
headers_init(struct headers *h)
{
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
	h->body_off = 0;
	h->has_blank = 0;
}

void
headers_free(struct headers *h)
{
	free(h->v);
	headers_init(h);
}

/* Length of the header name at line[0..len), or 0 when the line is no header. */
static size_t
header_name_len(const char *line, size_t len)
{
	size_t i, name_len;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < HDR_NAME_FIRST || c > HDR_NAME_LAST || c == ':')
			break;
	}
	name_len = i;
	if (name_len == 0)
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':' ? name_len : 0;
}

static void
headers_add(struct headers *h, const char *raw, size_t raw_len, size_t name_len)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : HEADERS_MIN_CAP;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	h->v[h->n].raw = raw;
	h->v[h->n].raw_len = raw_len;
	h->v[h->n].name_len = name_len;
	h->n++;
}

void
headers_parse(const char *msg, size_t len, struct headers *h)
{
	size_t pos = 0;

	h->n = 0;
	h->has_blank = 0;
	while (pos < len) {
		const char *line = msg + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;
		size_t full = nl ? line_len + 1 : line_len;	/* with the LF */
		size_t name_len;

		if (line_len == 0 || (line_len == 1 && line[0] == '\r')) {
			h->has_blank = 1;
			h->body_off = pos + full;
			return;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (h->n == 0)
				break;
			h->v[h->n - 1].raw_len += full;
		} else if ((name_len = header_name_len(line, line_len)) > 0) {
			headers_add(h, line, full, name_len);
		} else
			break;
		pos += full;
	}
	h->body_off = pos;
}

int
header_is(const struct header *h, const char *name)
{
	size_t n = strlen(name);

	return h->name_len == n && strncasecmp(h->raw, name, n) == 0;
}

long
headers_find(const struct headers *h, const char *name, size_t from)
{
	size_t i;

	for (i = from; i < h->n; i++)
		if (header_is(&h->v[i], name))
			return (long)i;
	return -1;
}

/* The value (reset into out): after the colon, unfolded, leading white space trimmed. */
void
header_value(const struct header *h, struct pbuf *out)
{
	const char *colon = memchr(h->raw, ':', h->raw_len);
	size_t i;

	pbuf_reset(out);
	pbuf_reserve(out, h->raw_len);
	if (colon == NULL)
		return;
	i = (size_t)(colon - h->raw) + 1;
	while (i < h->raw_len && (h->raw[i] == ' ' || h->raw[i] == '\t' ||
	    h->raw[i] == '\r' || h->raw[i] == '\n'))
		i++;
	for (; i < h->raw_len; i++)
		if (h->raw[i] != '\r' && h->raw[i] != '\n')
			pbuf_putc(out, h->raw[i]);
}

/* Postfix's address headers (HDR_OPT_SENDER and HDR_OPT_RECIP). */
static const char *const header_addr_names[] = {
	"From", "Sender", "Reply-To", "To", "Cc",
	"Resent-From", "Resent-Sender", "Resent-Reply-To", "Resent-To", "Resent-Cc",
	"Return-Receipt-To", "Errors-To", "Disposition-Notification-To",
	"Mail-Followup-To", "Mail-Reply-To", "Apparently-To",
	NULL
};

int
header_has_addresses(const struct header *h)
{
	const char *const *n;

	for (n = header_addr_names; *n; n++)
		if (header_is(h, *n))
			return 1;
	return 0;
}
