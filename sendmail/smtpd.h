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
 */
int smtpd_session(int in_fd, int out_fd, const struct smtpd_client *c);

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
