/*
 * smtpd_access - access(5) tables for the SMTP server's check_*_access
 * restrictions: the lookup keys in Postfix's order and the actions; see
 * smtpd_access.c.
 */
#ifndef PETREL_SMTPD_ACCESS_H
#define PETREL_SMTPD_ACCESS_H

#include <stddef.h>

enum smtpd_access_kind {
	ACCESS_CLIENT, ACCESS_HELO, ACCESS_SENDER, ACCESS_RECIPIENT,
	ACCESS_DATA,		/* smtpd_data_restrictions: "<DATA>: Data command rejected" */
	ACCESS_EOD,		/* smtpd_end_of_data_restrictions: "<END-OF-MESSAGE>: End-of-data rejected" */
};

enum smtpd_access_verdict {
	ACCESS_NO_MATCH,	/* no key found: the restriction list goes on */
	ACCESS_DUNNO,		/* DUNNO: the same */
	ACCESS_OK,		/* OK: this restriction list permits */
	ACCESS_DECIDED,		/* *code and reply are set (4xx/5xx) */
	ACCESS_DEFER_IF_PERMIT,	/* *code and reply set: applies if the end is a permit */
	ACCESS_DEFER_IF_REJECT,	/* *code and reply set: replaces a later 5xx reject */
	ACCESS_PREPEND,		/* reply holds a header to add to the message */
	ACCESS_RESTRICTIONS,	/* reply holds restrictions (or a class name) to evaluate */
};

/*
 * Looks subject up in table ("hash:/etc/petrel/access"): a client address
 * (client_name: its verified name or "unknown"), a HELO name, or a sender
 * or recipient address ("" = the null sender). shown is what the reply
 * puts in <...>.
 */
enum smtpd_access_verdict smtpd_access_check(const char *table, enum smtpd_access_kind kind,
    const char *subject, const char *client_name, const char *shown, int *code,
    char *reply, size_t replylen);

/*
 * The meaning of an action (a table's value or a policy server's answer;
 * origin names its source for logs).
 */
enum smtpd_access_verdict smtpd_access_action(const char *value, const char *origin,
    enum smtpd_access_kind kind, const char *shown, int *code, char *reply, size_t replylen);

/* "Client host rejected", "Helo command rejected", "Sender address rejected", ... */
const char *smtpd_access_kind_text(enum smtpd_access_kind kind);

#endif
