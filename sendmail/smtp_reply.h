/*
 * smtp_reply - the parser of SMTP server replies (RFC 5321 §4.2), for the
 * SMTP client. Pure: no I/O, so it is fuzzed (t/fuzz/fuzz_smtp_reply.c).
 *
 * A reply is one or more lines "CODE-text" ending with one "CODE text"
 * (or a bare "CODE"), each ending in CRLF (a bare LF is taken too). CODE
 * is three digits, the first 2-5, the second 0-5; every line of a reply
 * must carry the same code. A line is at most SMTP_REPLY_LINE_MAX bytes
 * with its CRLF (RFC 5321 §4.5.3.1.5), a reply at most
 * SMTP_REPLY_LINES_MAX lines.
 *
 * API: smtp_reply_parse() looks at the bytes received so far and says
 * whether they hold a whole reply (then fills r and how many bytes it
 * used), need more, or are not a reply at all (then why says what is
 * wrong: "reply line longer than 512 bytes", "malformed reply line",
 * "reply codes differ between lines", "reply of more than 100 lines",
 * "NUL byte in reply"). smtp_reply_init/free manage r.
 */
#ifndef PETREL_SMTP_REPLY_H
#define PETREL_SMTP_REPLY_H

#include <stddef.h>

#include "pbuf.h"
#include "strv.h"

#define SMTP_REPLY_LINE_MAX	512
#define SMTP_REPLY_LINES_MAX	100
#define SMTP_REPLY_DSN_MAX	16

struct smtp_reply {
	int code;			/* 200-599 */
	char dsn[SMTP_REPLY_DSN_MAX];	/* enhanced status code of the first line, or "" */
	struct pbuf text;		/* "550 5.1.1 text of line 1 text of line 2" */
	struct strv lines;		/* each line's text after "CODE-" / "CODE " */
};

enum smtp_reply_status {
	SMTP_REPLY_BAD = -1,
	SMTP_REPLY_MORE = 0,
	SMTP_REPLY_DONE = 1,
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);

/*
 * Parses the reply at the start of buf (len bytes). DONE: r holds it and
 * *used the bytes it took (CRLFs included); MORE: no whole reply yet; BAD:
 * why (whylen bytes) says what is wrong. r is reset first.
 */
enum smtp_reply_status smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *r,
    size_t *used, char *why, size_t whylen);

/* 1 when s starts with an enhanced status code "c.ddd.ddd" of class cls ('2', '4', '5'). */
int smtp_reply_is_dsn(const char *s, size_t len, char cls, size_t *dsnlen);

#endif
