/*
 * smtp_sasl - AUTH for the SMTP client (RFC 4954), for relaying through a
 * provider's smarthost, with Postfix's parameters and meaning:
 *
 * smtp_sasl_auth_enable = yes turns it on. The password comes from
 * smtp_sasl_password_maps (e.g. hash:/etc/petrel/sasl_passwd, built by
 * `petrel map`): the key is first the nexthop as written in relayhost or
 * the transport table ("[mail.example]:587"), then the server's host name
 * ("mail.example"); the value is "user:password" (split at the first
 * colon). No entry, or a server that offers no AUTH: the session goes on
 * without AUTH, as in Postfix.
 *
 * Mechanisms: PLAIN (preferred) and LOGIN, both plain-text ones. Outside
 * TLS smtp_sasl_security_options decides, inside TLS
 * smtp_sasl_tls_security_options (default: the same). Each option keeps
 * its Cyrus SASL meaning: noplaintext, noactive, nodictionary,
 * mutual_auth and forward_secrecy each forbid PLAIN and LOGIN;
 * noanonymous forbids only ANONYMOUS. So Postfix's default "noplaintext,
 * noanonymous" refuses PLAIN and LOGIN even inside TLS (the classic
 * first-day trap): the delivery is deferred (4.7.0) with "SASL
 * authentication failed; cannot authenticate to server X: no mechanism
 * available" and a warning names the option to change. A non-empty
 * smtp_sasl_mechanism_filter keeps only the mechanisms it lists.
 *
 * The server's refusal: "SASL authentication failed; server X said: 535
 * 5.7.8 ..." is deferred (4.7.8) while smtp_sasl_auth_soft_bounce = yes
 * (Postfix's default; Postfix documents it for 535, and its code softens
 * every 5xx AUTH reply, as Petrel does); with "no" a 5xx bounces when no
 * other server takes the mail. The next MX address is tried in either
 * case. An unreadable map defers (4.3.0); an unknown security option
 * defers (4.3.5) naming it.
 *
 * The password maps are opened once before the worker drops its
 * privileges (smtp_sasl_preopen(), as Postfix's smtp opens them as root),
 * so a root-owned 0600 sasl_passwd.db works. A map rebuilt later is
 * noticed by the idle worker within a second (smtp_sasl_maps_changed(),
 * its localsvc idle check): it logs "smtp_sasl_password_maps has changed
 * -- restarting" and ends, and the next one opens the new map as root
 * (Postfix's processes do the same). A delivery that meets the new file
 * before that defers (4.3.0, the open error) and is tried again later.
 *
 * API: smtp_sasl_auth(), smtp_sasl_preopen(), smtp_sasl_maps_changed().
 */
#ifndef PETREL_SMTP_SASL_H
#define PETREL_SMTP_SASL_H

#include "smtp_client.h"

/*
 * After EHLO (and STARTTLS): AUTH when enabled, offered and a password is
 * known for nexthop or host. 0: go on with the transaction; -1: this
 * server cannot be used, fail is set.
 */
int smtp_sasl_auth(struct smtp_client *c, const char *nexthop, const char *host,
    struct smtp_result *fail);

/* Opens smtp_sasl_password_maps while still root (when AUTH is enabled). */
void smtp_sasl_preopen(void);

/* 1 when an unprivileged worker should restart for a rebuilt password map. */
int smtp_sasl_maps_changed(void);

#endif
