/*
 * mime_qp - 8bit MIME parts converted to quoted-printable; see mime_qp.h.
 *
 * One pass over the message, no copy of it in between: mime_qp_part()
 * looks at a part's header block (Content-Type, its boundary, and
 * Content-Transfer-Encoding), then walks a multipart body
 * (mime_qp_multipart: the bytes between the delimiter lines are parts),
 * walks a message/rfc822 body as a message, encodes an 8bit body, or
 * copies the part as it is. Everything goes into a scratch buffer that
 * becomes the output only when some part was converted.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "mime_qp.h"
#include "pbuf.h"

#define MIME_QP_CTE		"Content-Transfer-Encoding"
#define MIME_QP_CTE_QP		MIME_QP_CTE ": quoted-printable\n"
#define MIME_QP_TOKEN_MAX	80	/* content types and encodings we care for are short */
#define MIME_QP_BOUNDARY_MAX	70	/* RFC 2046 §5.1.1 */

static const char mime_qp_hex[] = "0123456789ABCDEF";

/* The end of the line at p (the LF, or end), and where the next one starts. */
static size_t
mime_qp_line(const char *s, size_t len, size_t pos, size_t *next)
{
	const char *nl = memchr(s + pos, '\n', len - pos);
	size_t end = nl ? (size_t)(nl - s) : len;

	*next = nl ? end + 1 : len;
	return end;
}

void
mime_qp_encode(const char *body, size_t len, struct pbuf *out)
{
	size_t pos = 0;

	pbuf_reserve(out, len + len / 2 + 8);
	while (pos < len) {
		size_t next, end = mime_qp_line(body, len, pos, &next), i, col = 0;
		int ended = end < len;

		/* CRLF is a line end; the CR is not data. */
		if (ended && end > pos && body[end - 1] == '\r')
			end--;
		for (i = pos; i < end; i++) {
			unsigned char c = (unsigned char)body[i];
			int last = i + 1 == end;
			int enc = c == '=' || c > '~' || (c < ' ' && c != '\t')
			    || ((c == ' ' || c == '\t') && last);
			size_t piece = enc ? 3 : 1;

			/* Room for the piece, and for a soft break "=" unless it ends the line. */
			if (col + piece > (last ? MIME_QP_LINE_MAX : MIME_QP_LINE_MAX - 1)) {
				pbuf_puts(out, "=\n");
				col = 0;
			}
			if (enc) {
				pbuf_putc(out, '=');
				pbuf_putc(out, mime_qp_hex[c >> 4]);
				pbuf_putc(out, mime_qp_hex[c & 0xf]);
			} else {
				pbuf_putc(out, c);
			}
			col += piece;
		}
		if (ended)
			pbuf_putc(out, '\n');
		pos = next;
	}
}

static int
mime_qp_has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] & 0x80)
			return 1;
	return 0;
}

/* 1 when the line s[0..len) (no LF) is empty: "" or "\r". */
static int
mime_qp_blank(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '\r');
}

/*
 * The first token of a header value (comments and white space skipped),
 * lower-cased into tok; stops at ';'. Content types keep their "/".
 */
static void
mime_qp_token(const char *v, size_t len, char *tok, size_t toksize)
{
	size_t i = 0, n = 0;
	int depth = 0;

	for (; i < len; i++) {
		char c = v[i];

		if (depth > 0) {
			if (c == ')')
				depth--;
			else if (c == '(')
				depth++;
			continue;
		}
		if (c == '(') {
			depth++;
			continue;
		}
		if (c == ';')
			break;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (n > 0)
				break;
			continue;
		}
		if (n + 1 < toksize)
			tok[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	tok[n] = '\0';
}

/* The boundary parameter of a Content-Type value, into b; 0 when none. */
static int
mime_qp_boundary(const char *v, size_t len, char *b, size_t bsize)
{
	static const char key[] = "boundary=";
	size_t klen = sizeof(key) - 1, i, n = 0;

	for (i = 0; i + klen <= len; i++) {
		if (strncasecmp(v + i, key, klen) != 0)
			continue;
		/* The parameter name starts after ';' or white space. */
		if (i > 0 && v[i - 1] != ';' && v[i - 1] != ' ' && v[i - 1] != '\t'
		    && v[i - 1] != '\n')
			continue;
		i += klen;
		if (i < len && v[i] == '"') {
			for (i++; i < len && v[i] != '"' && v[i] != '\r' && v[i] != '\n'; i++)
				if (n + 1 < bsize)
					b[n++] = v[i];
		} else {
			for (; i < len && v[i] != ';' && v[i] != ' ' && v[i] != '\t'
			    && v[i] != '\r' && v[i] != '\n'; i++)
				if (n + 1 < bsize)
					b[n++] = v[i];
		}
		b[n] = '\0';
		return n > 0 && n <= MIME_QP_BOUNDARY_MAX;
	}
	return 0;
}

/*
 * 1 when line[0..len) (no LF) is a delimiter line of boundary; *close
 * says whether it is the closing one ("--boundary--").
 */
static int
mime_qp_is_delim(const char *line, size_t len, const char *boundary, int *close)
{
	size_t bl = strlen(boundary), i;

	if (len < bl + 2 || line[0] != '-' || line[1] != '-'
	    || memcmp(line + 2, boundary, bl) != 0)
		return 0;
	i = bl + 2;
	*close = len >= i + 2 && line[i] == '-' && line[i + 1] == '-';
	if (*close)
		i += 2;
	/* Only transport padding may follow (RFC 2046 §5.1.1). */
	for (; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	return 1;
}

static int mime_qp_part(const char *p, size_t len, int depth, struct pbuf *out);

/* A multipart body: preamble, parts, epilogue. 1 when a part was converted. */
static int
mime_qp_multipart(const char *body, size_t len, const char *boundary, int depth,
    struct pbuf *out)
{
	size_t pos = 0, copied = 0, part = 0;
	int in_part = 0, closed = 0, conv = 0;

	while (pos < len && !closed) {
		size_t next, end = mime_qp_line(body, len, pos, &next);
		int close;

		if (mime_qp_is_delim(body + pos, end - pos, boundary, &close)) {
			if (in_part) {
				/* The line end before a delimiter belongs to the delimiter. */
				size_t cend = pos;

				if (cend > part && body[cend - 1] == '\n') {
					cend--;
					if (cend > part && body[cend - 1] == '\r')
						cend--;
				}
				conv |= mime_qp_part(body + part, cend - part, depth, out);
				copied = cend;
			}
			pbuf_append(out, body + copied, next - copied);
			copied = next;
			part = next;
			in_part = !close;
			closed = close;
		}
		pos = next;
	}
	if (in_part && part < len) {
		/* No closing delimiter: the last part runs to the end. */
		conv |= mime_qp_part(body + part, len - part, depth, out);
		copied = len;
	}
	pbuf_append(out, body + copied, len - copied);
	return conv;
}

/* One part (or the message): headers, blank line, body. 1 when converted. */
static int
mime_qp_part(const char *p, size_t len, int depth, struct pbuf *out)
{
	char type[MIME_QP_TOKEN_MAX] = "", cte[MIME_QP_TOKEN_MAX] = "";
	char boundary[MIME_QP_BOUNDARY_MAX + 2] = "";
	size_t pos = 0, hdr_end = len, body = len, cte_start = 0, cte_end = 0;
	int has_boundary = 0;

	/* The header fields, each with its continuation lines, up to the blank line. */
	while (pos < len) {
		size_t next, end = mime_qp_line(p, len, pos, &next), fend = next, colon;
		const char *c;

		if (mime_qp_blank(p + pos, end - pos)) {
			hdr_end = pos;
			body = next;
			break;
		}
		while (fend < len && (p[fend] == ' ' || p[fend] == '\t'))
			(void)mime_qp_line(p, len, fend, &fend);
		c = memchr(p + pos, ':', end - pos);
		if (c != NULL) {
			colon = (size_t)(c - p);
			if (colon - pos == sizeof("Content-Type") - 1
			    && strncasecmp(p + pos, "Content-Type", colon - pos) == 0) {
				mime_qp_token(p + colon + 1, fend - colon - 1, type, sizeof(type));
				has_boundary = mime_qp_boundary(p + colon + 1, fend - colon - 1,
				    boundary, sizeof(boundary));
			} else if (colon - pos == sizeof(MIME_QP_CTE) - 1
			    && strncasecmp(p + pos, MIME_QP_CTE, colon - pos) == 0) {
				mime_qp_token(p + colon + 1, fend - colon - 1, cte, sizeof(cte));
				cte_start = pos;
				cte_end = fend;
			}
		}
		pos = fend;
	}
	if (body > len || hdr_end == len || depth >= MIME_QP_DEPTH_MAX) {
		pbuf_append(out, p, len);
		return 0;
	}
	if (strncmp(type, "multipart/", sizeof("multipart/") - 1) == 0 && has_boundary) {
		pbuf_append(out, p, body);
		return mime_qp_multipart(p + body, len - body, boundary, depth + 1, out);
	}
	if (strcmp(type, "message/rfc822") == 0) {
		pbuf_append(out, p, body);
		return mime_qp_part(p + body, len - body, depth + 1, out);
	}
	if (strcmp(cte, "8bit") != 0 || !mime_qp_has_8bit(p + body, len - body)) {
		pbuf_append(out, p, len);
		return 0;
	}
	pbuf_append(out, p, cte_start);
	pbuf_puts(out, MIME_QP_CTE_QP);
	pbuf_append(out, p + cte_end, body - cte_end);
	mime_qp_encode(p + body, len - body, out);
	return 1;
}

int
mime_qp_convert(const char *content, size_t len, struct pbuf *out)
{
	struct pbuf tmp = PBUF_INIT;

	if (!mime_qp_has_8bit(content, len) || !mime_qp_part(content, len, 0, &tmp)) {
		pbuf_free(&tmp);
		return 0;
	}
	pbuf_free(out);
	*out = tmp;
	return 1;
}
