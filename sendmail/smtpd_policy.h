/*
 * smtpd_policy - Postfix's policy delegation protocol, the client side of
 * check_policy_service; see smtpd_policy.c.
 */
#ifndef PETREL_SMTPD_POLICY_H
#define PETREL_SMTPD_POLICY_H

#include <stddef.h>

/* What a request tells the policy server (NULL = empty). */
struct smtpd_policy_request {
	const char *state;		/* "RCPT", "DATA", "END-OF-MESSAGE" */
	const char *protocol;		/* "SMTP", "ESMTP" */
	const char *helo;
	const char *sender;		/* "" for <> */
	const char *rcpt;
	size_t rcpt_count;		/* recipients accepted so far */
	size_t size;			/* the message's size at END-OF-MESSAGE, else 0 */
	const char *addr, *name;	/* the client */
	const char *instance;		/* the same for every RCPT of one transaction */
	const char *sasl_method, *sasl_username;
	const char *tls_protocol, *tls_cipher;
	int tls_keysize;
};

/*
 * Asks the server at endpoint (unix:PATH, relative to queue_directory, or
 * inet:HOST:PORT): 0 with *action (malloc'd: the text after "action="),
 * or -1 with err naming the endpoint and what went wrong.
 */
int smtpd_policy_query(const char *endpoint, const struct smtpd_policy_request *rq,
    char **action, char *err, size_t errlen);

#endif
