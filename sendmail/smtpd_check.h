/*
 * smtpd_check - the SMTP server's access decisions: mynetworks (IPv4 and
 * IPv6 CIDR, Postfix's "[::1]/128" form), the relay decision
 * (mydestination, relay_domains) and Postfix's restriction lists
 * smtpd_client_restrictions, smtpd_helo_restrictions,
 * smtpd_sender_restrictions, smtpd_relay_restrictions and
 * smtpd_recipient_restrictions, all evaluated at RCPT time in that order
 * (smtpd_delay_reject = yes, Postfix's default and Petrel's only mode),
 * then the local recipient table (passwd plus aliases); and
 * smtpd_data_restrictions at DATA (reject_unauth_pipelining: "554 5.5.0
 * <DATA>: Data command rejected: Improper use of SMTP command
 * pipelining"), and smtpd_end_of_data_restrictions once the message is in
 * ("554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: ...").
 *
 * Supported restrictions, with Postfix's meaning and reply codes:
 *   permit, reject, defer, permit_mynetworks, permit_sasl_authenticated,
 *   reject_unauth_destination, defer_unauth_destination,
 *   reject_unlisted_recipient, reject_non_fqdn_sender,
 *   reject_non_fqdn_recipient, reject_unknown_sender_domain,
 *   reject_unknown_recipient_domain, reject_invalid_helo_hostname,
 *   reject_non_fqdn_helo_hostname, reject_unknown_client_hostname,
 *   reject_rbl_client ZONE[=FILTER] (DNS block list; FILTER like
 *   127.0.0.[2..11]), check_client_access, check_helo_access,
 *   check_sender_access, check_recipient_access TYPE:TABLE (access(5),
 *   smtpd_access.h), check_policy_service unix:PATH|inet:HOST:PORT
 *   (Postfix's policy delegation, smtpd_policy.h: postgrey, policyd-spf).
 * A name listed in smtpd_restriction_classes is a restriction too: the
 * list that main.cf gives under that name, evaluated in its place (so
 * "check_recipient_access hash:/etc/petrel/rcpt_class" with values like
 * "permissive" gives per-recipient policies, as in Postfix's
 * RESTRICTION_CLASS_README). A table's or policy server's answer that is
 * no access action is such a list or class ("permit_mynetworks, reject").
 * Classes within classes stop at 10 levels (a configuration error).
 * Table and policy answers may also be DEFER_IF_PERMIT (the recipient is
 * deferred with that reply if the lists end in a permit), DEFER_IF_REJECT
 * (it replaces a later 5xx reject) and PREPEND (a header for the message,
 * collected in info->prepend).
 * An unknown name, or one without its argument, is logged and answered
 * with a temporary error (as Postfix does), never taken for a permit.
 * A DNS block list that does not answer is logged and passed (Postfix).
 * Errors: a map that cannot be read gives a 451 4.3.0 reply.
 */
#ifndef PETREL_SMTPD_CHECK_H
#define PETREL_SMTPD_CHECK_H

#include <stddef.h>

struct strv;

#define SMTPD_CHECK_REPLY_MAX	512

/*
 * 1 when addr (a numeric IPv4 or IPv6 address) matches pattern: an
 * address or a network in CIDR form, IPv6 with or without brackets
 * ("[::1]/128", "::1", "10.0.0.0/8"). 0 otherwise, also for a malformed
 * pattern or address.
 */
int smtpd_check_net_match(const char *addr, const char *pattern);

/* 1 when addr is in mynetworks. */
int smtpd_check_mynetworks(const char *addr);

/* 1 when the domain of rcpt is in mydestination or relay_domains (or rcpt has none). */
int smtpd_check_auth_destination(const char *rcpt);

/* What the restrictions look at. */
struct smtpd_check_info {
	const char *addr;	/* the client's numeric address */
	const char *name;	/* its verified host name, or "unknown" */
	const char *helo;	/* the HELO/EHLO argument, NULL before one */
	const char *sender;	/* MAIL FROM ("" for <>), NULL before one */
	const char *rcpt;	/* the recipient being decided */
	int sasl_auth;		/* 1: the client authenticated */
	/* For policy servers (NULL/0 when unknown): */
	const char *protocol;	/* "SMTP" or "ESMTP" */
	const char *instance;	/* one value per transaction */
	size_t rcpt_count;	/* recipients accepted so far */
	const char *sasl_method, *sasl_username;
	const char *tls_protocol, *tls_cipher;
	int tls_keysize;
	/* Out: PREPEND headers asked for (NULL: not collected). */
	struct strv *prepend;
	/* At the end of the message (smtpd_check_eod): its size in bytes. */
	int eod;
	size_t size;
};

/*
 * The RCPT decision. Returns 0 to accept, or the reply code (4xx/5xx)
 * with the whole reply line (without CRLF) in reply.
 */
int smtpd_check_rcpt(const struct smtpd_check_info *ci, char *reply, size_t replylen);

/*
 * The DATA decision (smtpd_data_restrictions, with
 * reject_unauth_pipelining: pipelined = 1 when the client sent more after
 * DATA before our 354; ci->rcpt is NULL). 0 or the reply code with reply.
 */
int smtpd_check_data(const struct smtpd_check_info *ci, int pipelined, char *reply,
    size_t replylen);

/*
 * The end-of-message decision (smtpd_end_of_data_restrictions: Postfix's
 * generic restrictions and check_policy_service, which is told
 * protocol_state=END-OF-MESSAGE and the size; ci->eod = 1, ci->rcpt NULL).
 * 0 or the reply code with reply; a reject refuses the whole message.
 */
int smtpd_check_eod(const struct smtpd_check_info *ci, char *reply, size_t replylen);

/*
 * 1 when rcpt's local part is a known local recipient (passwd or alias,
 * recipient_delimiter extension removed), 0 when unknown, -1 when a map
 * could not be read. Only for local domains.
 */
int smtpd_check_local_recipient(const char *rcpt);

#endif
