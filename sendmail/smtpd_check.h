/*
 * smtpd_check - the SMTP server's access decisions: mynetworks (IPv4 and
 * IPv6 CIDR, Postfix's "[::1]/128" form), the relay decision
 * (mydestination, relay_domains) and the restriction lists
 * smtpd_relay_restrictions and smtpd_recipient_restrictions, then the
 * local recipient table (passwd plus aliases).
 * Supported restrictions: permit_mynetworks, permit_sasl_authenticated,
 * reject_unauth_destination, defer_unauth_destination,
 * reject_unlisted_recipient, permit, reject, defer; an unknown name is
 * logged and answered with a temporary error (as Postfix does), never
 * taken for a permit.
 * Errors: a map that cannot be read gives a 451 4.3.0 reply.
 */
#ifndef PETREL_SMTPD_CHECK_H
#define PETREL_SMTPD_CHECK_H

#include <stddef.h>

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

/*
 * The RCPT decision for rcpt from a client at addr (sasl_auth: the client
 * authenticated). Returns 0 to accept, or the reply code (4xx/5xx) with
 * the whole reply line (without CRLF) in reply.
 */
int smtpd_check_rcpt(const char *addr, int sasl_auth, const char *rcpt,
    char *reply, size_t replylen);

/*
 * 1 when rcpt's local part is a known local recipient (passwd or alias,
 * recipient_delimiter extension removed), 0 when unknown, -1 when a map
 * could not be read. Only for local domains.
 */
int smtpd_check_local_recipient(const char *rcpt);

#endif
