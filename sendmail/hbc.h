/*
 * hbc - Postfix's built-in content inspection (header_checks(5)):
 * header_checks, mime_header_checks, nested_header_checks and body_checks
 * on a message about to be queued. smtpd (after its Received: header is
 * added) and pickup (after cleanup_message) call it, before the milters,
 * where Postfix's cleanup applies them. Both see the message as it will
 * be queued: smtpd's Received: header included (as in Postfix), and on
 * the sendmail path the headers cleanup_message added (Message-Id, Date,
 * From, To:) too, which Postfix's cleanup does not inspect (a
 * difference only for tables that match those headers).
 *
 * Decisions for local submissions (pickup.c, pickup_hbc): a REJECT of a
 * message the sendmail command hands over while the daemon runs makes
 * the command exit 65 (EX_DATAERR) with the text on stderr and nothing
 * queued; Postfix accepts and bounces instead, because its postdrop is
 * asynchronous, but here the submitter is waiting for the answer. A
 * maildrop file (written while the daemon was down) has nobody waiting:
 * its REJECT becomes a bounce to the sender, as in Postfix. A table
 * error gives EX_TEMPFAIL (75) to the command, or leaves the maildrop
 * file for the next pass. HOLD uses hold/ and the "quarantine" attribute,
 * as a milter's quarantine does (`petrel queue release` lets it go).
 *
 * API:
 *   hbc_enabled() - 1 when any of the four parameters names a table.
 *   hbc_apply(ctx, content, len, out, result) - runs the checks; out gets
 *     the message with IGNORE/PREPEND/REPLACE applied (LF line endings,
 *     as content), result the verdict. hbc_result_free() frees it.
 *
 * What is matched (each table list is searched in order; the first
 * table that has an answer gives it):
 *   - header_checks: each logical header of the primary block, its
 *     continuation lines joined with their "\n" kept (no final newline),
 *     cut to header_size_limit; one pattern sees the whole header;
 *   - mime_header_checks: each header of a MIME part of a multipart
 *     message (the boundaries come from Content-Type; nesting bounded by
 *     mime_nesting_limit);
 *   - nested_header_checks: each header of an attached message/rfc822;
 *   - body_checks: each body line (boundary lines included, MIME headers
 *     not), without its newline, until body_checks_size_limit octets of
 *     body have been looked at (Postfix counts per MIME part; Petrel
 *     counts the whole body: a long first part cannot hide the rest of a
 *     small message, and a huge message still costs bounded work).
 *
 * Actions (the first word of the table's answer, any case; the rest is
 * the text):
 *   REJECT [text]   the message is refused: HBC_REJECT, result->reply is
 *                   "550 5.7.1 text" (default text "Message content
 *                   rejected"; text that starts with a 4.x.x or 5.x.x
 *                   code keeps it, and 4.x.x gives 450); inspection stops.
 *   DISCARD [text]  accepted and dropped: HBC_DISCARD; inspection stops.
 *   HOLD [text]     result->hold is set (the caller queues into hold/,
 *                   doc/queue-format.md); inspection goes on.
 *   WARN [text], INFO [text]  logged; the line stays.
 *   IGNORE          the header (or body line) is deleted.
 *   PREPEND text    text goes in a line before it; for a header the text
 *                   must be a header ("Name: value"), else it is logged
 *                   and ignored.
 *   REPLACE text    text replaces it (same rule).
 *   DUNNO, OK       nothing (OK in a header table, as in Postfix, is DUNNO).
 *   FILTER, REDIRECT, BCC, DELAY, STRIP and unknown words are logged as
 *   warnings and ignored, as Postfix does with what it does not know.
 * Every action except DUNNO/OK logs a line in Postfix's form:
 *   "QID: reject: header Subject: buy now from host[addr]; from=<s>
 *    to=<r> proto=ESMTP helo=<h>: 5.7.1 text" (ctx->where is the part
 *   from "from host..." on).
 *
 * Errors: a table that cannot be read or has a syntax error gives
 * HBC_DEFER with result->error (logged); the caller answers 451 4.3.0 /
 * EX_TEMPFAIL, the message stays with its sender.
 */
#ifndef PETREL_HBC_H
#define PETREL_HBC_H

#include <stddef.h>

#include "pbuf.h"

enum hbc_verdict {
	HBC_PASS,		/* queue out (maybe into hold/) */
	HBC_REJECT,
	HBC_DISCARD,
	HBC_DEFER		/* a table failed */
};

struct hbc_ctx {
	const char *qid;
	const char *where;	/* "from host[addr]; from=<s> to=<r> proto=ESMTP helo=<h>" */
};

struct hbc_result {
	enum hbc_verdict verdict;
	char *reply;		/* HBC_REJECT: "550 5.7.1 text" */
	char *text;		/* HBC_REJECT / HBC_DISCARD: the text alone */
	char *hold;		/* non-NULL: HOLD's text ("" when none) */
	char *error;		/* HBC_DEFER */
};

int hbc_enabled(void);
void hbc_apply(const struct hbc_ctx *ctx, const char *content, size_t len, struct pbuf *out,
    struct hbc_result *result);
void hbc_result_free(struct hbc_result *result);

#endif
