/*
 * smtp_tls - STARTTLS for the SMTP client (RFC 3207) by the destination's
 * TLS policy (smtp_tls_policy.h: smtp_tls_security_level, or its
 * smtp_tls_policy_maps entry), as Postfix does it:
 *
 *   none: never STARTTLS.
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
 *   fingerprint: as encrypt, and the SHA-256 (smtp_tls_fingerprint_digest)
 *     fingerprint of the server's certificate or of its public key must
 *     be one of the policy's: otherwise 4.7.5 "Server certificate not
 *     verified". No CA is consulted.
 *   verify, secure: as encrypt, and the chain must verify against
 *     smtp_tls_CAfile / smtp_tls_CApath and the certificate must match one
 *     of the policy's names (match=, smtp_tls_verify_cert_match =
 *     hostname: the MX host, or the host in brackets;
 *     smtp_tls_secure_cert_match = nexthop, dot-nexthop: the next-hop
 *     domain or any subdomain of it; an address literal is matched
 *     against the certificate's IP addresses): otherwise 4.7.5 "Server
 *     certificate not verified".
 * The SNI name sent is the server's host name (none for an address).
 * Each failure above (but for "may") ends the session with that server;
 * the next MX address is tried, and when none is left the recipients are
 * deferred with the reason (in mailq). When the policy came from
 * smtp_tls_policy_maps, the reason ends with the policy's note:
 * ' (TLS policy "secure" of hash:/etc/petrel/tls_policy, next-hop
 * destination "example.com")'.
 *
 * After the handshake the session says EHLO again (its extensions are
 * learnt anew). With smtp_tls_loglevel >= 1 one line is logged in Postfix
 * 3.x's words: "Verified|Trusted|Untrusted TLS connection established to
 * host[addr]:port: TLSv1.3 with cipher NAME (256/256 bits)" (Verified:
 * chain and name checked at verify/secure, or the fingerprint matched at
 * fingerprint; Trusted: the chain verifies and the host name matches at
 * a lower level; Untrusted: they do not; Postfix's "Anonymous" needs
 * anonymous cipher suites, which Petrel does not enable); >= 2 adds
 * lib/tls.c's handshake lines. The status= line of each recipient is
 * unchanged.
 *
 * The client context (CA file and path, protocols, cipher grade and
 * exclusions) is made once per process and made again when one of them
 * changes (another destination's policy, a reloaded main.cf).
 *
 * API: smtp_tls_start(), smtp_tls_wrap().
 */
#ifndef PETREL_SMTP_TLS_H
#define PETREL_SMTP_TLS_H

#include <stddef.h>

#include "smtp_client.h"
#include "smtp_tls_policy.h"

enum smtp_tls_result {
	SMTP_TLS_GO = 0,	/* go on: over TLS, or in plain text where that is allowed */
	SMTP_TLS_FAIL,		/* this server cannot be used: fail is set, close it */
	SMTP_TLS_RETRY_PLAIN,	/* handshake failed under "may": connect again without TLS */
};

/*
 * After EHLO: STARTTLS (and EHLO again) as policy asks; nothing when the
 * connection is already over TLS. host is the server's name (SNI, the
 * match= name "hostname"), nexthop the next-hop domain or bracketed host
 * (the names "nexthop" and "dot-nexthop"); port is for the log line.
 */
enum smtp_tls_result smtp_tls_start(struct smtp_client *c, const struct smtp_tls_policy *policy,
    const char *host, const char *nexthop, unsigned port, struct smtp_result *fail);

/*
 * smtp_tls_wrappermode: TLS from the first byte, before the greeting
 * (the "submissions" port 465 of RFC 8314). At least level encrypt, as in
 * Postfix (smtp_tls_policy_find raises it): with nothing to fall back to,
 * a failed handshake fails the server (SMTP_TLS_FAIL, connection closed).
 */
enum smtp_tls_result smtp_tls_wrap(struct smtp_client *c, const struct smtp_tls_policy *policy,
    const char *host, const char *nexthop, unsigned port, struct smtp_result *fail);

#endif
