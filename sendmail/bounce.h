/*
 * bounce - delivery status notifications per RFC 3464: a
 * multipart/report; report-type=delivery-status message with a readable
 * first part, a message/delivery-status part (Reporting-MTA, Arrival-Date,
 * per recipient Final-Recipient, Original-Recipient, Action, Status,
 * Remote-MTA, Diagnostic-Code) and the returned message (headers only with RET=HDRS),
 * sent from MAILER-DAEMON with the null envelope sender. A bounce of a
 * bounce is never sent back: it is logged, and sent once to postmaster
 * only when notify_classes contains 2bounce.
 *
 * This module only builds the notice (headers + MIME body, LF line
 * endings); the queue manager (qmgr.c) decides when one is due and queues
 * it. Reads myhostname, mail_name and bounce_size_limit from the
 * configuration.
 */
#ifndef PETREL_BOUNCE_H
#define PETREL_BOUNCE_H

#include <stddef.h>
#include <time.h>

#include "pbuf.h"
#include "qfile.h"

enum bounce_kind { BOUNCE_FAILED, BOUNCE_DELAYED, BOUNCE_DELIVERED };

struct bounce_rcpt {
	const char *addr;		/* final recipient */
	const char *orcpt;		/* ORCPT or NULL */
	const char *dsn;		/* "5.1.1" */
	const char *diagnostic;		/* "smtp; 550 ..." or "x-unix; ..."; NULL: no Diagnostic-Code */
	/*
	 * Addition: the text for the readable part. NULL: the diagnostic
	 * without its "type; " prefix, or the status.
	 */
	const char *reason;
	/* Addition: the remote server's host name (Remote-MTA: dns; NAME), or NULL. */
	const char *remote_mta;
	/* Addition: the Action, when not the kind's ("relayed"), or NULL. */
	const char *action;
};

/*
 * Builds the notice for env (the original message) into out (a whole
 * message with headers). Returns 0.
 */
int bounce_build(enum bounce_kind kind, const struct qenv *env, const char *queue_id,
    const char *content, size_t len, const struct bounce_rcpt *rcpts, size_t n,
    struct pbuf *out);

/*
 * Addition: the same with every choice spelt out (bounce_build is this
 * with all fields zero except kind).
 */
struct bounce_opts {
	enum bounce_kind kind;
	const char *to;			/* To: (NULL = env->sender) */
	int postmaster_copy;		/* "Postmaster Copy: ..." subject, headers only */
	const char *notice_id;		/* the notice's own queue ID for Message-Id (NULL: queue_id) */
	time_t now;			/* Date: and the boundary (0 = the clock) */
	time_t retry_until;		/* BOUNCE_DELAYED: Will-Retry-Until (0 = omitted) */
};

int bounce_build_opts(const struct bounce_opts *o, const struct qenv *env,
    const char *queue_id, const char *content, size_t len,
    const struct bounce_rcpt *rcpts, size_t n, struct pbuf *out);

/* The notice's Message-Id value without <>: "YYYYMMDDhhmmss.ID@$myhostname" (UTC). */
void bounce_message_id(time_t now, const char *notice_id, struct pbuf *out);

/* Subjects, as Postfix words them (mail filters and users know them). */
#define BOUNCE_SUBJECT_FAILED		"Undelivered Mail Returned to Sender"
#define BOUNCE_SUBJECT_DELAYED		"Delayed Mail (still being retried)"
#define BOUNCE_SUBJECT_DELIVERED	"Successful Mail Delivery Report"
#define BOUNCE_SUBJECT_PM_FAILED	"Postmaster Copy: Undelivered Mail"
#define BOUNCE_SUBJECT_PM_DELAYED	"Postmaster Warning: Delayed Mail"

#endif
