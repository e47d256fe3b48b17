/*
 * smtp_deliver - the "smtp" delivery agent: takes one request of the
 * delivery service (localsvc.h: a message, a nexthop, recipient indexes)
 * and delivers those recipients by SMTP in one transaction.
 *
 * The nexthop: "[host]:port" or "[host]" is that host alone, no MX lookup
 * (an IP address in the brackets needs no DNS at all); "host:port" or
 * "host" looks up host's MX records (dns_mx_hosts: preference order,
 * null MX, implicit MX). Port 25 unless given. Each address of each MX
 * host (at most SMTP_DELIVER_ADDRS_MAX addresses in all) is tried in turn
 * while the connection is refused or times out, or the server's greeting,
 * EHLO or HELO is not 2xx; the first server that gets as far as MAIL
 * decides every recipient (smtp_client.h). When none does, every
 * recipient gets the last failure (connect refused: 4.4.1; a 5xx
 * greeting from the last host: bounced).
 *
 * Each recipient is logged in Postfix's shape: "ID: to=<a@b>,
 * relay=mx.example[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.5/0.6,
 * dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)" (relay=none when
 * no server answered; delays a = until this agent got the request, b =
 * 0, c = DNS + connect + greeting + EHLO, d = the transaction), and
 * answered with mta "name[address]" when the text is the server's reply;
 * a recipient the server took is answered LOCALSVC_RELAYED when the
 * server offered DSN (it sends any success notice from then on, RFC 3461
 * §6.2.2), plain delivered otherwise (the queue manager's success notice
 * then says Action: relayed).
 *
 * To a server that does not offer 8BITMIME, MIME parts declared 8bit are
 * sent as quoted-printable (mime_qp.h; other 8-bit content as it is),
 * unless disable_mime_output_conversion = yes.
 *
 * DNS failures: DNS_TEMPFAIL defers (4.4.3), the others bounce with
 * dns_status_dsn() (5.1.2 NXDOMAIN, 5.1.10 null MX, 5.4.6 loop).
 *
 * Connection reuse (Postfix's connection cache, kept inside the process):
 * after a transaction the session stays open, unless it broke (lost
 * line, time-out, 421) or smtp_connection_cache_time_limit is 0. The next
 * request of this process for the same nexthop (compared without case)
 * reuses it after an RSET answered 2xx (smtp_rset_timeout), when it was
 * idle at most smtp_connection_cache_time_limit and is at most
 * smtp_connection_reuse_time_limit old; otherwise it is ended with QUIT
 * and a new one is made. The queue manager sends a process the requests
 * for the nexthop it last served (qmgr.c). A reused session's lines say
 * "conn_use=N" after relay= (N = its Nth transaction), as Postfix logs
 * them. smtp_deliver_idle() (the localsvc idle hook) ends an idle session
 * past its time, and every session when the line to the queue manager
 * closes.
 *
 * LMTP (RFC 2033): a nexthop "lmtp:unix:/path" or "lmtp:inet:host[:port]"
 * (resolve.h makes them; the port defaults to lmtp_tcp_port, 24) is
 * delivered by the same code speaking LMTP (smtp_client.h): a UNIX-domain
 * socket, or each address of host (A/AAAA, never MX) in turn; no TLS, no
 * AUTH, no smtp_generic_maps; the lmtp_* time-outs and connection cache
 * limits. Logged relay=$myhostname[/path] for a socket (Postfix's form),
 * relay=host[addr]:port over TCP. A recipient the LMTP server took is
 * answered delivered (never LOCALSVC_RELAYED: it is in the mailbox).
 *
 * API: smtp_deliver_agent() (a localsvc_agent), smtp_deliver_idle(),
 * smtp_deliver_maps_changed(),
 * smtp_nexthop_parse().
 */
#ifndef PETREL_SMTP_DELIVER_H
#define PETREL_SMTP_DELIVER_H

#include <stddef.h>

#include "dns.h"
#include "localsvc.h"
#include "smtp_client.h"

#define SMTP_DELIVER_PORT	25
#define SMTP_DELIVER_ADDRS_MAX	10	/* addresses tried per delivery, all MX hosts together */

struct smtp_nexthop {
	char host[DNS_NAME_MAX];	/* without brackets */
	unsigned port;
	int no_mx;			/* given in brackets */
};

/* Parses a nexthop (above). 0, or -1 with why. */
int smtp_nexthop_parse(const char *s, struct smtp_nexthop *nh, char *why, size_t whylen);

void smtp_deliver_agent(struct localsvc_job *job);

/*
 * One delivery outside the queue manager's requests (local(8)'s
 * mailbox_transport and fallback_transport: an "lmtp:" nexthop): env's
 * recipients idx[0..n) get res[0..n) (smtp_client.h; res[i].text
 * malloc'd, freed by the caller with smtp_result_free), and mta the
 * "name[address]" of the server that answered (or ""). Nothing is
 * logged or answered, no session is kept. id names the message in
 * warnings.
 */
void smtp_deliver_direct(const char *id, const char *nexthop, struct qenv *env,
    const char *content, size_t len, const size_t *idx, size_t n, struct smtp_result *res,
    char *mta, size_t mtalen);

/*
 * The idle hook (localsvc_set_idle): final = 0 while waiting for a
 * request (ends a cached session idle too long), 1 when the connection
 * of requests ended (ends any cached session).
 */
void smtp_deliver_idle(int final);

/*
 * The idle check of an unprivileged smtp worker (localsvc_set_idle_check):
 * 1 when smtp_sasl_password_maps or smtp_tls_policy_maps was rebuilt since
 * it opened them with privileges, so it must end and be started anew.
 */
int smtp_deliver_maps_changed(void);

#endif
