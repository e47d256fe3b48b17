/*
 * smtpd - one SMTP server session (RFC 5321 ESMTP) on a connected
 * socket or on a pair of descriptors (sendmail -bs).
 * One process serves one connection with blocking I/O and poll()
 * timeouts (smtpd_timeout). Commands are read as bounded lines
 * (line_length_limit, at least RFC 5321's 512): a longer line is read to
 * its end, answered "500 5.5.0 Line too long" and the session goes on.
 * Replies are buffered and sent when no more input is pending, so a
 * pipelining client gets them in one write (PIPELINING). Extensions:
 * SIZE (message_size_limit), 8BITMIME, ENHANCEDSTATUSCODES, DSN (RET,
 * ENVID, NOTIFY, ORCPT kept in the queue file), SMTPUTF8, CHUNKING/BDAT.
 * Relay and recipient decisions are smtpd_check's. The message is
 * written to incoming/ with queue_tx_begin/queue_tx_commit (fsynced)
 * only after the whole message arrived, with one Received: header
 * prepended (cleanup_smtp_message), and only then answered 250; a queue
 * that cannot be written is answered 452 4.3.1. The queue manager is
 * woken at once.
 * Queue space (daemon sessions, smtpd_check_queue as in Postfix): MAIL is
 * answered "452 4.3.1 Insufficient system storage" (and a warning logged)
 * when the queue file system has at most queue_minfree bytes free for
 * unprivileged users (statvfs f_bavail), or when 1.5 * message_size_limit
 * is not below the free space; a MAIL with SIZE=N is refused the same way
 * when 1.5 * N is not below the free space less queue_minfree (Postfix 2.0
 * made this SIZE comparison; Postfix 3 dropped it, which matters only with
 * message_size_limit = 0). A message that still does not fit gets 452
 * 4.3.1 after the dot, and nothing of it stays in the queue.
 * smtpd_milters (milter.h) see the connection, HELO, MAIL, RCPT, DATA,
 * unknown commands and, before the queue file is committed, the message
 * with its Received: header: their rejections are answered to the client,
 * their changes land in the queued message, a quarantine commits it into
 * hold/. Not for sendmail -bs (its mail goes through non_smtpd_milters).
 * Limits, each answered and logged: smtpd_timeout (421 4.4.2),
 * smtpd_recipient_limit (452 4.5.3), message_size_limit (552 5.3.4),
 * header_size_limit (552 5.3.4), smtpd_soft_error_limit (replies slowed
 * by smtpd_error_sleep_time), smtpd_hard_error_limit (421 4.7.0, close).
 * SIGTERM ends the session with 421 4.3.2 (nothing half-queued).
 *
 * TLS (daemon sessions, after smtpd_prepare): STARTTLS (RFC 3207) at
 * smtpd_tls_security_level may or encrypt; at encrypt every command but
 * EHLO, HELO, STARTTLS, NOOP, RSET and QUIT is answered "530 5.7.0 Must
 * issue a STARTTLS command first". smtpd_tls_wrappermode = yes (smtps)
 * starts TLS before the banner. Whatever the client pipelined after
 * STARTTLS is discarded unread (CVE-2011-0411), and the session goes back
 * to before EHLO, which then no longer offers STARTTLS. A certificate that
 * cannot be loaded: a warning naming the file, STARTTLS not offered at
 * level may; at level encrypt STARTTLS is still offered (the client must
 * know it is required) and answered "454 4.7.0 TLS not available due to
 * local problem", as Postfix does; in wrapper mode the connection is
 * closed. The handshake ends at the shorter of smtpd_starttls_timeout and
 * smtpd_timeout. smtpd_tls_loglevel >= 1 logs Postfix's "Anonymous TLS
 * connection established from ..." line; Received: carries "(using ...)"
 * under smtpd_tls_received_header and the protocol gets RFC 3848's S/A.
 *
 * AUTH (RFC 4954) through Dovecot (smtpd_sasl.h) when
 * smtpd_sasl_auth_enable = yes, offered only over TLS unless
 * smtpd_tls_auth_only = no; an authenticated client passes
 * permit_sasl_authenticated, and its log line and queue file carry
 * sasl_method and sasl_username. Replies as Postfix's: 235 2.7.0, 535
 * 5.7.8 (failure), 454 4.7.0 (auth server trouble), 501 5.7.0 ("*"
 * cancels), 503 5.5.1 (before EHLO, in a transaction, twice); malformed
 * base64 gets 501 5.5.2 (RFC 4954 4; Postfix says 535).
 */
#ifndef PETREL_SMTPD_H
#define PETREL_SMTPD_H

#define SMTPD_NAME_MAX	256

struct smtpd_client {
	char addr[SMTPD_NAME_MAX];	/* numeric address */
	char name[SMTPD_NAME_MAX];	/* verified PTR name, or "unknown" */
	char port[SMTPD_NAME_MAX / 8];	/* client port, "" when none */
};

/*
 * Fills c from the peer of a connected socket: the address (IPv4-mapped
 * IPv6 shown as IPv4) and the PTR name when the forward lookup agrees.
 * Returns 0, -1 when fd is not an inet socket.
 */
int smtpd_client_from_fd(int fd, struct smtpd_client *c);

/*
 * Runs one session: banner, commands until QUIT, EOF, timeout, the hard
 * error limit or SIGTERM. Returns the exit status for the process (0).
 * Everything a session learns (HELO name, envelope, TLS, AUTH identity,
 * milter connections, command counts) lives and dies with the call, so
 * one process may run any number of sessions one after the other, each
 * starting as in a fresh process. It installs its own SIGTERM handler
 * (the session ends with 421 4.3.2); smtpd_stopping() then returns 1.
 */
int smtpd_session(int in_fd, int out_fd, const struct smtpd_client *c);

/*
 * fn (NULL: none) is called by each smtpd_session once the client is
 * gone (last reply flushed, TLS closed, our side shut down and the
 * client's rest read), before the "disconnect from" line is logged: a
 * persistent process tells its master there that it is free again.
 */
void smtpd_set_done_fn(void (*fn)(void));

/* 1 once SIGTERM asked a session to end: the process must not serve another. */
int smtpd_stopping(void);

/*
 * For daemon sessions: reads the TLS settings and loads the certificate
 * and key, while the process still has the rights to read them (the
 * master's session child calls it after the service's -o overrides and
 * before dropping to mail_owner). A file that cannot be used is logged
 * as a warning and TLS is off. Sessions run without it (sendmail -bs)
 * offer neither STARTTLS nor AUTH.
 */
void smtpd_prepare(void);

/*
 * In the master, at start and on reload: loads main.cf's certificate
 * and key once, so that each connection's smtpd_prepare() reuses that
 * context (inherited through fork) instead of reading and parsing the
 * files again; a service whose -o overrides name other files loads its
 * own. Logs nothing: a file that cannot be used is reported by each
 * session that would use it.
 */
void smtpd_preload(void);

/*
 * How a finished message is queued. By default (fn NULL) the session
 * writes incoming/ itself, with a Received: header (the daemon's smtpd).
 * sendmail -bs sets its own: called with the envelope (sender,
 * recipients, DSN data, QF_8BITMIME/QF_SMTPUTF8) and the content as
 * received (LF line endings, no header added), it returns 0 with qid
 * filled (QID_LEN + 1 bytes), or a reply code (4xx/5xx) with the whole
 * reply line in reply.
 */
struct qenv;
typedef int (*smtpd_queue_fn)(struct qenv *env, const char *content, size_t len,
    char *qid, char *reply, size_t replylen);
void smtpd_set_queue_fn(smtpd_queue_fn fn);

#endif
