/*
 * smtp_client - one SMTP session on an open connection (RFC 5321): the
 * greeting, EHLO (HELO when EHLO is refused), one mail transaction for a
 * set of recipients of one message, QUIT.
 *
 * The transaction: SIZE checked before anything is sent (a message larger
 * than the server's SIZE fails with 5.3.4); an envelope that needs
 * SMTPUTF8 (a non-ASCII address) fails with 5.6.7 when the server lacks
 * it; MAIL FROM with SIZE=, BODY=8BITMIME (only when the message is
 * declared 8BITMIME and the server offers it; otherwise the caller has
 * converted 8bit MIME parts, see below), SMTPUTF8, and with DSN offered RET= and
 * ENVID=; RCPT TO with NOTIFY= and ORCPT= when the server offers DSN.
 * With PIPELINING, MAIL and every RCPT go out in one write and the
 * replies are read after it; without, one command at a time. DATA only
 * when a recipient was accepted; the content is sent with CRLF line ends
 * and dot-stuffing, then "." decides for every accepted recipient.
 * Time-outs: smtp_helo_timeout (greeting, EHLO/HELO), smtp_mail_timeout,
 * smtp_rcpt_timeout, smtp_data_init_timeout, smtp_data_xfer_timeout (each
 * wait for progress while sending the content), smtp_data_done_timeout,
 * smtp_quit_timeout.
 *
 * 8-bit MIME content for a server without 8BITMIME is converted by the
 * caller (smtp_deliver.c, mime_qp.h) before it comes here. STARTTLS is
 * smtp_tls.h's, AUTH smtp_sasl.h's; both run between smtp_client_hello()
 * and the transaction.
 *
 * LMTP (c->lmtp, RFC 2033): LHLO instead of EHLO (no HELO fall-back),
 * and after the final dot one reply per recipient that RCPT accepted, in
 * their order, each settling its own recipient (some delivered, some
 * deferred, some bounced); a line lost midway defers the rest (4.4.2).
 * Every time-out and the greeting name then come from the lmtp_*
 * parameters (lmtp_lhlo_timeout, lmtp_lhlo_name, lmtp_mail_timeout, ...).
 *
 * Results: per recipient a status 0/4/5, an enhanced status code and a
 * text; remote = 1 when the text is the server's own reply. A time-out or
 * a lost connection in the middle defers what is not settled (4.4.2), a
 * malformed reply too, with a reason naming the server.
 */
#ifndef PETREL_SMTP_CLIENT_H
#define PETREL_SMTP_CLIENT_H

#include <stddef.h>

#include "qfile.h"
#include "smtp_io.h"

#define SMTP_EXT_PIPELINING	(1u << 0)
#define SMTP_EXT_SIZE		(1u << 1)
#define SMTP_EXT_8BITMIME	(1u << 2)
#define SMTP_EXT_DSN		(1u << 3)
#define SMTP_EXT_SMTPUTF8	(1u << 4)
#define SMTP_EXT_STARTTLS	(1u << 5)
#define SMTP_EXT_AUTH		(1u << 6)

#define SMTP_RESULT_NONE	(-1)

#define SMTP_AUTH_MECHS_MAX	512

struct smtp_client {
	struct smtp_io io;
	unsigned ext;			/* SMTP_EXT_* offered by the server */
	unsigned long long size_max;	/* SIZE announced, 0 = no limit given */
	char auth_mechs[SMTP_AUTH_MECHS_MAX];	/* the AUTH keyword's mechanisms, "" */
	int tls;			/* the session runs over TLS (smtp_tls.h) */
	int broken;			/* the last transaction lost the line or got 421 */
	int lmtp;			/* speak LMTP (RFC 2033), with the lmtp_* parameters */
};

struct smtp_result {
	int status;			/* SMTP_RESULT_NONE, 0, 4, 5 */
	char dsn[SMTP_REPLY_DSN_MAX];
	char *text;			/* malloc'd */
	int remote;			/* text is the server's reply */
	const char *cmd;		/* the command it answered ("RCPT TO"), or NULL */
};

void smtp_result_set(struct smtp_result *r, int status, const char *dsn, const char *text,
    int remote, const char *cmd);
void smtp_result_free(struct smtp_result *r);

/*
 * The time-out parameter "smtp_NAME" (c->lmtp: "lmtp_NAME"; helo_timeout
 * is lmtp_lhlo_timeout), in seconds.
 */
long long smtp_client_time(const struct smtp_client *c, const char *name);

/*
 * Reads the greeting, says EHLO (or HELO; LMTP: LHLO). 0 when the server is ready for
 * mail; -1 when not, with fail filled (4 or 5, the reason).
 */
int smtp_client_hello(struct smtp_client *c, struct smtp_result *fail);

/*
 * EHLO again (after STARTTLS, RFC 3207 §4.2: the server's extensions are
 * learnt anew). 0, or -1 with fail filled.
 */
int smtp_client_ehlo(struct smtp_client *c, struct smtp_result *fail);

/*
 * Sends cmd (CRLF added) and reads its reply into rp within timeout; stage
 * ("sending AUTH") names it in a reason. 0, or -1 with fail set (4.4.2).
 */
int smtp_client_command(struct smtp_client *c, const char *cmd, struct smtp_reply *rp,
    long long timeout, const char *stage, struct smtp_result *fail);

/* A result from a reply: status by its class, its enhanced code or "c.0.0". */
void smtp_result_reply(struct smtp_result *r, const struct smtp_reply *rp, const char *cmd);

/*
 * One mail transaction for env's recipients idx[0..n); res[i] for idx[i].
 * Sets c->broken when the session cannot carry another one (an I/O
 * failure or time-out, a 421 reply).
 */
void smtp_client_transaction(struct smtp_client *c, const struct qenv *env,
    const char *content, size_t len, const size_t *idx, size_t n, struct smtp_result *res);

/*
 * RSET on a session kept from an earlier transaction (smtp_rset_timeout):
 * 0 when the server answered 2xx and the session can carry another
 * transaction, -1 when not (the caller closes it).
 */
int smtp_client_rset(struct smtp_client *c);

/* QUIT (its answer is not needed), then closes the connection. */
void smtp_client_quit(struct smtp_client *c);

#endif
