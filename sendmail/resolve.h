/*
 * resolve - where a recipient goes: the queue manager's routing.
 *
 * In order (Postfix's trivial-rewrite, cut down):
 *   1. a domain in mydestination (or none): local delivery;
 *   2. transport_maps: the recipient domain, then each parent domain as
 *      ".parent" (an entry "example.com" matches that domain only,
 *      ".example.com" its subdomains: Postfix's behaviour for
 *      transport_maps, which is not in parent_domain_matches_subdomains),
 *      then "*". An entry is "transport:nexthop":
 *        smtp:[host]:port, smtp:[host], smtp:host:port, smtp:host  SMTP to that nexthop
 *        lmtp:unix:/path, lmtp:unix:private/x (under queue_directory),
 *        lmtp:inet:host:port, lmtp:[host]:port, lmtp:host:port, lmtp:host
 *                          LMTP (RFC 2033) to that socket or host (port
 *                          lmtp_tcp_port, 24, by default; never MX)
 *        smtp: (or smtp)   SMTP to the default nexthop (step 3)
 *        local: (or local) local delivery
 *        error:text        bounce with text (5.0.0; a text that starts with
 *                          "5.x.y " or "4.x.y " gives that code, 4 defers)
 *        relay:...         as smtp:
 *      A map that cannot be read defers (4.3.0) rather than guess;
 *   3. a domain in virtual_mailbox_domains (Postfix's virtual mailbox
 *      domain class): virtual_transport, an entry as above. Its default
 *      "virtual" (Postfix's virtual(8), which Petrel lacks) defers with
 *      4.3.5 and a warning that says so. Unknown users are not checked
 *      here (as in Postfix: smtpd refuses them, the LMTP server says no);
 *   4. a domain in relay_domains (the relay domain class): relay_transport
 *      (default "relay"), any other: default_transport (default "smtp"),
 *      each an entry as above ("default_transport = error:outside mail
 *      is not deliverable" makes a local-only host, as Debian's
 *      "Local only" setup; "smtp:[host]" a nexthop that wins over
 *      relayhost, as in Postfix). "smtp" or "relay" without a nexthop:
 *   5. the sender's relay host in sender_dependent_relayhost_maps (keys:
 *      the envelope sender, then "@domain"; the null sender as
 *      empty_address_relayhost_maps_lookup_key; DUNNO: none), else
 *      relayhost when set ([host]:port: no MX lookup; host: its MX). The
 *      SASL password is still looked up by that nexthop
 *      (smtp_sender_dependent_authentication is not supported);
 *   6. otherwise the recipient domain itself (MX lookup), or the address
 *      literal of user@[192.0.2.1] as [192.0.2.1].
 *
 * API: resolve_rcpt(), resolve_transport().
 * Errors: RESOLVE_ERROR (bounce) and RESOLVE_DEFER (try later) carry a
 * dsn and a text naming the map and the entry.
 */
#ifndef PETREL_RESOLVE_H
#define PETREL_RESOLVE_H

#include <stddef.h>

#define RESOLVE_NEXTHOP_MAX	300
#define RESOLVE_TEXT_MAX	512
#define RESOLVE_LMTP_PREFIX	"lmtp:"	/* an LMTP nexthop starts with it */
#define RESOLVE_LMTP_UNIX	"unix:"
#define RESOLVE_LMTP_INET	"inet:"

enum resolve_transport {
	RESOLVE_LOCAL,
	RESOLVE_SMTP,
	RESOLVE_LMTP,		/* nexthop "lmtp:unix:/path" or "lmtp:inet:host[:port]" */
	RESOLVE_ERROR,		/* bounce now: dsn, text */
	RESOLVE_DEFER,		/* try later: dsn, text */
};

struct resolve_result {
	enum resolve_transport transport;
	char nexthop[RESOLVE_NEXTHOP_MAX + 1];	/* RESOLVE_SMTP, RESOLVE_LMTP */
	char dsn[16];
	char text[RESOLVE_TEXT_MAX];
};

/*
 * Where addr goes, for a message from sender (the envelope sender, "" for
 * <>; NULL when there is no message, as for sendmail -bv).
 */
void resolve_rcpt(const char *sender, const char *addr, struct resolve_result *r);

/* 1 when domain is listed in relay_domains (a leading '.' or a parent matches). */
int resolve_relay_domain(const char *domain);

/*
 * A "transport:nexthop" value outside transport_maps (local(8)'s
 * mailbox_transport, fallback_transport) for addr, read as an entry of
 * step 2; what names the parameter in reasons.
 */
void resolve_transport(const char *what, const char *addr, const char *value,
    struct resolve_result *r);

#endif
