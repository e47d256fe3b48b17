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
 *        smtp: (or smtp)   SMTP to the default nexthop (step 3)
 *        local: (or local) local delivery
 *        error:text        bounce with text (5.0.0; a text that starts with
 *                          "5.x.y " or "4.x.y " gives that code, 4 defers)
 *        relay:...         as smtp:
 *      A map that cannot be read defers (4.3.0) rather than guess;
 *   3. relayhost when set ([host]:port: no MX lookup; host: its MX);
 *   4. otherwise the recipient domain itself (MX lookup), or the address
 *      literal of user@[192.0.2.1] as [192.0.2.1].
 *
 * API: resolve_rcpt().
 * Errors: RESOLVE_ERROR (bounce) and RESOLVE_DEFER (try later) carry a
 * dsn and a text naming the map and the entry.
 */
#ifndef PETREL_RESOLVE_H
#define PETREL_RESOLVE_H

#include <stddef.h>

#define RESOLVE_NEXTHOP_MAX	300
#define RESOLVE_TEXT_MAX	512

enum resolve_transport {
	RESOLVE_LOCAL,
	RESOLVE_SMTP,
	RESOLVE_ERROR,		/* bounce now: dsn, text */
	RESOLVE_DEFER,		/* try later: dsn, text */
};

struct resolve_result {
	enum resolve_transport transport;
	char nexthop[RESOLVE_NEXTHOP_MAX + 1];	/* RESOLVE_SMTP */
	char dsn[16];
	char text[RESOLVE_TEXT_MAX];
};

void resolve_rcpt(const char *addr, struct resolve_result *r);

#endif
