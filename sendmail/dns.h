/*
 * dns - MX, A and AAAA lookups for relay by MX (RFC 5321 §5), through the
 * system resolver library (res_ninit/res_nquery on a private resolver
 * state), honouring dns_nameservers when it is set (otherwise
 * /etc/resolv.conf).
 *
 * dns_mx_hosts() turns a destination domain into the ordered list of
 * hosts to try:
 *   - MX records sorted by preference, equal preferences shuffled;
 *   - when one of the MX hosts is this host ($myhostname, or one of
 *     inet_interfaces/the local addresses), only the more preferred ones
 *     are kept; none left is DNS_LOOP ("mail for D loops back to myself");
 *   - a null MX (RFC 7505: one MX of preference 0 and exchange ".") is
 *     DNS_NULLMX (bounce 5.1.10);
 *   - no MX records: the domain itself as the only host (implicit MX);
 *   - NXDOMAIN: DNS_NOTFOUND (bounce 5.1.2);
 *   - SERVFAIL, time-out, no server reachable: DNS_TEMPFAIL (defer 4.4.3).
 * dns_host_addrs() gives a host's addresses, A and/or AAAA as
 * inet_protocols says (Postfix's smtp_address_preference = any picks the
 * family at random; Petrel keeps IPv4 first unless
 * smtp_address_preference = ipv6), at most DNS_ADDR_MAX, in the order of
 * the answer; a literal address as itself; a malformed name is
 * DNS_NOTFOUND. A server that answers with a CNAME alone is followed (at
 * most 8 hops).
 *
 * Errors: each function returns a dns_status; on anything but DNS_OK, why
 * holds a one-line reason naming the name and the DNS answer, suitable for
 * a bounce or defer text ("Host or domain name not found. Name service
 * error for name=D type=MX: Host not found").
 */
#ifndef PETREL_DNS_H
#define PETREL_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#define DNS_NAME_MAX	256	/* a host name with its NUL */
#define DNS_WHY_MAX	512
#define DNS_MX_MAX	32	/* MX hosts kept (the most preferred) */
#define DNS_ADDR_MAX	16	/* addresses kept per host */

enum dns_status {
	DNS_OK = 0,
	DNS_NOTFOUND,		/* NXDOMAIN or no address: permanent */
	DNS_NULLMX,		/* RFC 7505: the domain takes no mail */
	DNS_LOOP,		/* this host is the best MX */
	DNS_TEMPFAIL,		/* try again later */
};

struct dns_mx {
	unsigned pref;
	char host[DNS_NAME_MAX];
};

struct dns_mx_list {
	struct dns_mx *v;
	size_t n;
};

struct dns_addr {
	struct sockaddr_storage sa;	/* port left 0: the caller sets it */
	socklen_t salen;
	char text[64];			/* numeric form, for logs */
};

struct dns_addr_list {
	struct dns_addr *v;
	size_t n;
};

/* The hosts to try for domain, best first. list is emptied first. */
enum dns_status dns_mx_hosts(const char *domain, struct dns_mx_list *list,
    char *why, size_t whylen);

/* The addresses of host (a name, or an IPv4/IPv6 literal without brackets). */
enum dns_status dns_host_addrs(const char *host, struct dns_addr_list *list,
    char *why, size_t whylen);

/*
 * The A records of name as they are (no CNAME chase beyond what the
 * server gives, no inet_protocols): for DNS block lists. DNS_NOTFOUND
 * when there is none.
 */
enum dns_status dns_a_records(const char *name, struct dns_addr_list *list,
    char *why, size_t whylen);

void dns_mx_list_free(struct dns_mx_list *list);
void dns_addr_list_free(struct dns_addr_list *list);

/* The enhanced status code for a failure: "5.1.2", "5.1.10", "5.4.6", "4.4.3". */
const char *dns_status_dsn(enum dns_status st);
/* "OK", "NOTFOUND", "NULLMX", "LOOP", "TEMPFAIL" (logs, test drivers). */
const char *dns_status_name(enum dns_status st);

/*
 * The parsers under dns_mx_hosts/dns_host_addrs, exported for the fuzz
 * target (t/fuzz/fuzz_dns.c) and tests. msg is a whole DNS answer of len
 * bytes for the question name (used in reasons only).
 *
 * dns_parse_mx_answer: DNS_OK with the MX hosts sorted by preference,
 * equal preferences shuffled, duplicates and malformed host names dropped,
 * at most DNS_MX_MAX kept; DNS_OK with list->n == 0 when the answer holds
 * no MX record (the caller then uses the implicit MX); DNS_NULLMX;
 * DNS_NOTFOUND for NXDOMAIN; DNS_TEMPFAIL for any other rcode or a
 * malformed message. No self-MX pruning here.
 *
 * dns_parse_addr_answer: appends the A (type 1) or AAAA (type 28) records
 * to list (up to DNS_ADDR_MAX in all); DNS_OK even when none was found
 * (the caller decides), DNS_NOTFOUND for NXDOMAIN, DNS_TEMPFAIL otherwise.
 */
enum dns_status dns_parse_mx_answer(const unsigned char *msg, size_t len,
    const char *name, struct dns_mx_list *list, char *why, size_t whylen);
enum dns_status dns_parse_addr_answer(const unsigned char *msg, size_t len,
    const char *name, int type, struct dns_addr_list *list, char *why, size_t whylen);

/*
 * 1 when name is a syntactically valid host name (letters, digits, '-',
 * '_', labels of 1-63 octets, shorter than DNS_NAME_MAX, one trailing dot
 * allowed), 0 otherwise.
 */
int dns_name_valid(const char *name);

#endif
