/*
 * smtp_reply - the SMTP reply parser; see smtp_reply.h.
 *
 * Stateless: each call looks at the buffer from its start, so a caller
 * appends what it reads and calls again. Cost is bounded by the limits
 * (SMTP_REPLY_LINES_MAX lines of SMTP_REPLY_LINE_MAX bytes).
 *
 * Errors: SMTP_REPLY_BAD with a reason in why; never reads past len.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"

#define SMTP_CODE_LEN		3
#define SMTP_DSN_PART_MAX	3	/* digits in the 2nd and 3rd part of x.y.z */

void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->dsn[0] = '\0';
	pbuf_init(&r->text);
	strv_init(&r->lines);
}

void
smtp_reply_free(struct smtp_reply *r)
{
	pbuf_free(&r->text);
	strv_free(&r->lines);
	r->code = 0;
	r->dsn[0] = '\0';
}

static void
smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->dsn[0] = '\0';
	pbuf_reset(&r->text);
	strv_free(&r->lines);
}

/* Digits at s (at most max); their count. */
static size_t
smtp_reply_digits(const char *s, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len && n < max && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

int
smtp_reply_is_dsn(const char *s, size_t len, char cls, size_t *dsnlen)
{
	size_t p = 0, d;

	if (len < 1 || s[0] != cls)
		return 0;
	p = 1;
	if (p >= len || s[p++] != '.')
		return 0;
	d = smtp_reply_digits(s + p, len - p, SMTP_DSN_PART_MAX);
	if (d == 0)
		return 0;
	p += d;
	if (p >= len || s[p++] != '.')
		return 0;
	d = smtp_reply_digits(s + p, len - p, SMTP_DSN_PART_MAX);
	if (d == 0)
		return 0;
	p += d;
	if (p < len && s[p] != ' ')
		return 0;
	if (dsnlen)
		*dsnlen = p;
	return 1;
}

static enum smtp_reply_status
smtp_reply_bad(char *why, size_t whylen, const char *text)
{
	if (whylen > 0)
		snprintf(why, whylen, "%s", text);
	return SMTP_REPLY_BAD;
}

enum smtp_reply_status
smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *r, size_t *used,
    char *why, size_t whylen)
{
	size_t off = 0, nlines = 0;

	smtp_reply_reset(r);
	for (;;) {
		const char *line = buf + off;
		const char *nl = off < len ? memchr(line, '\n', len - off) : NULL;
		size_t ll, tl;
		const char *text;
		int code, last;

		if (nl == NULL) {
			if (len - off >= SMTP_REPLY_LINE_MAX) {
				char w[64];

				snprintf(w, sizeof(w), "reply line longer than %d bytes",
				    SMTP_REPLY_LINE_MAX);
				return smtp_reply_bad(why, whylen, w);
			}
			return SMTP_REPLY_MORE;
		}
		ll = (size_t)(nl - line);
		if (ll + 1 > SMTP_REPLY_LINE_MAX) {
			char w[64];

			snprintf(w, sizeof(w), "reply line longer than %d bytes", SMTP_REPLY_LINE_MAX);
			return smtp_reply_bad(why, whylen, w);
		}
		if (memchr(line, '\0', ll) != NULL)
			return smtp_reply_bad(why, whylen, "NUL byte in reply");
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (++nlines > SMTP_REPLY_LINES_MAX) {
			char w[64];

			snprintf(w, sizeof(w), "reply of more than %d lines", SMTP_REPLY_LINES_MAX);
			return smtp_reply_bad(why, whylen, w);
		}
		if (ll < SMTP_CODE_LEN || line[0] < '2' || line[0] > '5' || line[1] < '0'
		    || line[1] > '5' || line[2] < '0' || line[2] > '9'
		    || (ll > SMTP_CODE_LEN && line[3] != ' ' && line[3] != '-'))
			return smtp_reply_bad(why, whylen, "malformed reply line (no reply code)");
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (r->code != 0 && code != r->code)
			return smtp_reply_bad(why, whylen, "reply codes differ between lines");
		r->code = code;
		last = ll == SMTP_CODE_LEN || line[3] == ' ';
		text = ll > SMTP_CODE_LEN ? line + SMTP_CODE_LEN + 1 : line + ll;
		tl = ll > SMTP_CODE_LEN ? ll - SMTP_CODE_LEN - 1 : 0;
		strv_addn(&r->lines, text, tl);
		if (nlines == 1) {
			size_t dl;

			pbuf_append(&r->text, line, SMTP_CODE_LEN);
			if (smtp_reply_is_dsn(text, tl, line[0], &dl) && dl < sizeof(r->dsn)) {
				memcpy(r->dsn, text, dl);
				r->dsn[dl] = '\0';
			}
		}
		if (tl > 0) {
			pbuf_putc(&r->text, ' ');
			pbuf_append(&r->text, text, tl);
		}
		off = (size_t)(nl - buf) + 1;
		if (last) {
			*used = off;
			return SMTP_REPLY_DONE;
		}
	}
}
