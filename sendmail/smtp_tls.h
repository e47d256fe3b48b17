/*
 * smtp_tls - STARTTLS for the SMTP client (RFC 3207) by
 * smtp_tls_security_level, as Postfix does it:
 *
 *   none (and empty, the default): never STARTTLS.
 *   may: STARTTLS when the server offers it; the certificate is not
 *     checked. A refused STARTTLS goes on in plain text on the same
 *     connection; a failed handshake is "Cannot start TLS: handshake
 *     failure" and the same address is tried again at once without TLS
 *     (Postfix's smtp_connect.c does that, RETRY_AS_PLAINTEXT; Postfix
 *     before 2.8 deferred instead).
 *   encrypt: STARTTLS required, the certificate not checked. A server
 *     without it: 4.7.4 "TLS is required, but was not offered by host
 *     X"; refused: 4.7.5 "TLS is required, but host X refused to start
 *     TLS: REPLY"; a failed handshake: 4.7.5 "Cannot start TLS:
 *     handshake failure".
 *   verify, secure: as encrypt, and the chain must verify against
 *     smtp_tls_CAfile / smtp_tls_CApath and the server's name (the MX
 *     host, or the relayhost as written; an address literal is matched
 *     against the certificate's IP addresses) must match: otherwise 4.7.5
 *     "Server certificate not verified". Petrel makes no difference
 *     between verify and secure (Postfix's secure also matches the
 *     nexthop domain, which here is the same name).
 *   dane, dane-only, fingerprint: not supported; the delivery is deferred
 *     (4.3.5) with a reason that says so.
 * Each failure above (but for "may") ends the session with that server;
 * the next MX address is tried, and when none is left the recipients are
 * deferred with the reason (in mailq).
 *
 * After the handshake the session says EHLO again (its extensions are
 * learnt anew). With smtp_tls_loglevel >= 1 one line is logged in Postfix
 * 3.x's words: "Verified|Trusted|Untrusted TLS connection established to
 * host[addr]:port: TLSv1.3 with cipher NAME (256/256 bits)" (Verified:
 * chain and name checked at verify/secure; Trusted: they would verify at
 * a lower level; Untrusted: they do not; Postfix's "Anonymous" needs
 * anonymous cipher suites, which Petrel does not enable); >= 2 adds
 * lib/tls.c's handshake lines. The status= line of each recipient is
 * unchanged.
 *
 * The client context (CA file and path) is made once per process and
 * made again when those parameters change.
 *
 * API: smtp_tls_level(), smtp_tls_start().
 */
#ifndef PETREL_SMTP_TLS_H
#define PETREL_SMTP_TLS_H

#include <stddef.h>

#include "smtp_client.h"

enum smtp_tls_level {
	SMTP_TLS_NONE = 0,
	SMTP_TLS_MAY,
	SMTP_TLS_ENCRYPT,
	SMTP_TLS_VERIFY,
	SMTP_TLS_SECURE,
};

enum smtp_tls_result {
	SMTP_TLS_GO = 0,	/* go on: over TLS, or in plain text where that is allowed */
	SMTP_TLS_FAIL,		/* this server cannot be used: fail is set, close it */
	SMTP_TLS_RETRY_PLAIN,	/* handshake failed under "may": connect again without TLS */
};

/* smtp_tls_security_level as a level; -1 with why for a value Petrel lacks. */
int smtp_tls_level(enum smtp_tls_level *level, char *why, size_t whylen);

/*
 * After EHLO: STARTTLS (and EHLO again) as level asks; nothing when the
 * connection is already over TLS. name is the name the certificate must
 * match; port is for the log line.
 */
enum smtp_tls_result smtp_tls_start(struct smtp_client *c, enum smtp_tls_level level,
    const char *name, unsigned port, struct smtp_result *fail);

/*
 * smtp_tls_wrappermode: TLS from the first byte, before the greeting
 * (the "submissions" port 465 of RFC 8314). At least level encrypt, as in
 * Postfix: with nothing to fall back to, a failed handshake fails the
 * server (SMTP_TLS_FAIL, connection closed).
 */
enum smtp_tls_result smtp_tls_wrap(struct smtp_client *c, enum smtp_tls_level level,
    const char *name, unsigned port, struct smtp_result *fail);

#endif
