/*
 * cleanup - the one place where a locally submitted message is fixed up
 * before it enters the queue proper (DESIGN.md, "Header fix-up").
 *
 * Input: the raw envelope and content of a submission (maildrop file or
 * submission socket), content already in LF form. Output: the content to
 * queue and the final envelope recipients. In order:
 *   - -t: recipients from To/Cc/Bcc, or only Resent-To/Cc/Bcc when any
 *     Resent- recipient header exists, added to the command-line ones;
 *   - Bcc: and Resent-Bcc: removed;
 *   - Received: prepended, "by HOST (Petrel, from userid UID)\n\tid QID; DATE";
 *   - Date:, Message-Id: <YYYYMMDDhhmmss.QID@HOST>, From: sender (Full
 *     Name) added when missing; To: undisclosed-recipients:; when no To,
 *     Cc, Resent-To or Resent-Cc remains (a Bcc-only message gets it);
 *   - unqualified addresses in From, Sender, Reply-To, To, Cc, Resent-*
 *     completed with @myorigin (append_at_myorigin), envelope too;
 *   - recipients de-duplicated (case-insensitively).
 * Errors map to the sysexits codes of spec/sendmail-cli.md §9.
 */
#ifndef PETREL_CLEANUP_H
#define PETREL_CLEANUP_H

#include <stddef.h>
#include <sys/time.h>

#include "pbuf.h"
#include "strv.h"

struct cleanup_params {
	const char *myhostname;
	const char *myorigin;
	const char *mail_name;		/* "Petrel" */
	int append_at_myorigin;
	size_t message_size_limit;	/* 0 = none */
	size_t header_size_limit;
	int hopcount_limit;
};

struct cleanup_input {
	const char *content;		/* LF line endings */
	size_t len;
	int extract_recipients;		/* -t */
	const struct strv *rcpts;	/* command-line recipients (unqualified allowed) */
	const char *sender;		/* NULL: login@myorigin; "" = <> */
	const char *login;		/* the submitting user's login name */
	long uid;
	const char *fullname;		/* -F / $NAME / GECOS, or NULL */
	const char *queue_id;
	struct timeval arrival;
};

struct cleanup_output {
	struct pbuf content;		/* the message to queue */
	struct strv rcpts;		/* final, qualified, de-duplicated */
	char *sender;			/* final envelope sender ("" = <>) */
	int status;			/* 0, or an EX_* code */
	char *error;			/* message when status != 0 */
};

void cleanup_output_init(struct cleanup_output *o);
void cleanup_output_free(struct cleanup_output *o);
/* Returns o->status. */
int cleanup_message(const struct cleanup_params *p, const struct cleanup_input *in,
    struct cleanup_output *o);

/* RFC 5322 date for t in the local time zone: "Sat, 28 Nov 2026 07:40:01 +0000 (UTC)". */
void cleanup_rfc5322_date(time_t t, struct pbuf *out);

/*
 * Mail from remote SMTP clients keeps its headers (DESIGN.md): only a
 * Received: header is prepended, in Postfix's shape:
 *   Received: from HELO (NAME [ADDR])
 *   \tby MYHOSTNAME (MAIL_NAME) with PROTO id QID
 *   \tfor <RCPT>; DATE
 * ("for" only when rcpt is non-NULL, i.e. one recipient). With tls,
 * "\t(using TLS...)" and "\t(No client certificate requested)" follow
 * the first line, and with auth_sender "\t(Authenticated sender: NAME)",
 * as Postfix writes them. Appends the
 * header and then the content (LF line endings) to out.
 */
struct cleanup_smtp_info {
	const char *helo;		/* as the client said it; NULL when none */
	const char *client_name;	/* PTR name or "unknown" */
	const char *client_addr;	/* numeric */
	const char *myhostname;
	const char *mail_name;
	const char *protocol;		/* "ESMTP", "SMTP", "UTF8SMTP" */
	const char *queue_id;
	const char *rcpt;		/* NULL unless exactly one recipient */
	time_t arrival;
	const char *tls;		/* "TLSv1.3 with cipher X (256/256 bits)" or NULL */
	const char *auth_sender;	/* SASL login name to show, or NULL */
	const struct strv *prepend;	/* headers put above Received: (PREPEND), or NULL */
};

void cleanup_smtp_message(const struct cleanup_smtp_info *info, const char *content,
    size_t len, struct pbuf *out);

#endif
