/*
 * dns - MX, A and AAAA lookups for relay by MX; see dns.h for the API.
 *
 * Every lookup opens a private resolver state (res_ninit: the options of
 * /etc/resolv.conf, or RES_OPTIONS, apply: timeout, attempts, rotate...),
 * replaces its name servers by dns_nameservers when that is set, asks with
 * res_nquery (never res_nsearch: no search list, the name is taken as
 * fully qualified) and closes the state again, so a changed resolv.conf
 * or main.cf takes effect at the next lookup.
 *
 * dns_nameservers (a Petrel parameter; Postfix has none): up to MAXNS (3)
 * entries, each "a.b.c.d", "a.b.c.d:port", "v6addr", "[v6addr]" or
 * "[v6addr]:port"; more entries are ignored with a warning, a malformed
 * one makes every lookup defer (4.4.3) with a reason naming it, so mail
 * never goes to name servers nobody configured.
 *
 * Answers are parsed with ns_initparse/ns_parserr on a buffer of
 * DNS_ANSWER_MAX (the largest DNS message); names are expanded with
 * dn_expand, which must consume exactly the record's data, and must then
 * pass dns_name_valid. A malformed message defers; a malformed MX host is
 * dropped with a warning (the other hosts are still tried).
 *
 * Self-MX pruning (dns_mx_hosts): an MX host is this host when its name
 * is $myhostname, or when one of its addresses is a local one: the
 * addresses of inet_interfaces (all: every interface address from
 * getifaddrs; loopback-only: 127.0.0.1 and ::1; otherwise the listed
 * addresses). Only the hosts more preferred than the best such host are
 * kept; none left is DNS_LOOP. The address check asks the DNS for each
 * MX host (at most DNS_MX_MAX); after a lookup that defers it stops
 * asking, so a dead name server costs one time-out, not one per host.
 *
 * Reasons follow Postfix's wording: "Host or domain name not found. Name
 * service error for name=D type=MX: Host not found[, try again]",
 * "Domain D does not accept mail (nullMX)", "mail for D loops back to
 * myself". Names are printed with control and non-ASCII octets replaced
 * by '?' and cut at DNS_NAME_SHOW octets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "dns.h"
#include "inet.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define DNS_ANSWER_MAX	65536	/* the largest DNS message (NS_MAXMSG) */
#define DNS_LABEL_MAX	63
#define DNS_NAME_SHOW	80	/* octets of a name quoted in a reason */
#define DNS_PORT	53
#define DNS_MX_PARSE_MAX 1024	/* MX records looked at in one answer */
#define DNS_LOCAL_MAX	64	/* local addresses compared for self-MX */
#define DNS_CNAME_MAX	8	/* CNAME hops followed when a server does not */


/* The name shown in reasons: printable ASCII only, bounded. */
static void
dns_show(const char *name, char *out, size_t outlen)
{
	size_t i, j = 0;

	for (i = 0; name[i] != '\0' && j + 1 < outlen; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i >= DNS_NAME_SHOW) {
			if (j + 3 < outlen) {
				memcpy(out + j, "...", 3);
				j += 3;
			}
			break;
		}
		out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[j] = '\0';
}

static void
dns_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
dns_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static const char *
dns_type_name(int type)
{
	switch (type) {
	case ns_t_mx:
		return "MX";
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	default:
		return "?";
	}
}

/* The Postfix-style reason for a resolver failure. */
static void
dns_why_lookup(char *why, size_t whylen, const char *name, int type, const char *text)
{
	char shown[DNS_NAME_SHOW + 4];

	dns_show(name, shown, sizeof(shown));
	dns_why(why, whylen, "Host or domain name not found. "
	    "Name service error for name=%s type=%s: %s", shown, dns_type_name(type), text);
}

const char *
dns_status_dsn(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "2.0.0";
	case DNS_NOTFOUND:
		return "5.1.2";
	case DNS_NULLMX:
		return "5.1.10";
	case DNS_LOOP:
		return "5.4.6";
	case DNS_TEMPFAIL:
	default:
		return "4.4.3";
	}
}

const char *
dns_status_name(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "OK";
	case DNS_NOTFOUND:
		return "NOTFOUND";
	case DNS_NULLMX:
		return "NULLMX";
	case DNS_LOOP:
		return "LOOP";
	case DNS_TEMPFAIL:
	default:
		return "TEMPFAIL";
	}
}

int
dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0, i;
	unsigned char c, prev = '.';

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= DNS_NAME_MAX - 1)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0 || prev == '-')
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '_' || c == '-') {
			if (c > 0x7f || (c == '-' && label == 0))
				return 0;
			if (++label > DNS_LABEL_MAX)
				return 0;
		} else {
			return 0;
		}
		prev = c;
	}
	return prev != '-';
}

/* Copies name without one trailing dot into out (DNS_NAME_MAX). */
static void
dns_strip_dot(const char *name, char *out)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= DNS_NAME_MAX)
		len = DNS_NAME_MAX - 1;
	memcpy(out, name, len);
	out[len] = '\0';
}

void
dns_mx_list_free(struct dns_mx_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

void
dns_addr_list_free(struct dns_addr_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

/* Checks the header: DNS_OK for NOERROR, else the status and reason. */
static enum dns_status
dns_parse_header(const unsigned char *msg, size_t len, const char *name, int type,
    ns_msg *h, char *why, size_t whylen)
{
	int rcode;

	if (len > DNS_ANSWER_MAX || ns_initparse(msg, (int)len, h) < 0) {
		dns_why_lookup(why, whylen, name, type, "malformed DNS answer, try again");
		return DNS_TEMPFAIL;
	}
	rcode = (int)ns_msg_getflag(*h, ns_f_rcode);
	if (rcode == ns_r_nxdomain) {
		dns_why_lookup(why, whylen, name, type, "Host not found");
		return DNS_NOTFOUND;
	}
	if (rcode != ns_r_noerror) {
		dns_why_lookup(why, whylen, name, type, "Host not found, try again");
		return DNS_TEMPFAIL;
	}
	return DNS_OK;
}

/* Shuffles v, then sorts it by preference (stable): equal ones end up in random order. */
static void
dns_mx_order(struct dns_mx *v, size_t n)
{
	struct dns_mx tmp;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = arc4random_uniform((uint32_t)i);
		tmp = v[i - 1];
		v[i - 1] = v[j];
		v[j] = tmp;
	}
	for (i = 1; i < n; i++) {
		tmp = v[i];
		for (j = i; j > 0 && v[j - 1].pref > tmp.pref; j--)
			v[j] = v[j - 1];
		v[j] = tmp;
	}
}

enum dns_status
dns_parse_mx_answer(const unsigned char *msg, size_t len, const char *name,
    struct dns_mx_list *list, char *why, size_t whylen)
{
	ns_msg h;
	ns_rr rr;
	enum dns_status st;
	char host[NS_MAXDNAME], shown[DNS_NAME_SHOW + 4];
	size_t count, i, j, n = 0, nullmx = 0, bad = 0;
	const unsigned char *rd;
	struct dns_mx *v = NULL;
	int got;

	dns_mx_list_free(list);
	if ((st = dns_parse_header(msg, len, name, ns_t_mx, &h, why, whylen)) != DNS_OK)
		return st;
	count = ns_msg_count(h, ns_s_an);
	if (count > DNS_MX_PARSE_MAX)
		count = DNS_MX_PARSE_MAX;
	if (count > 0)
		v = xcalloc(count, sizeof(*v));
	for (i = 0; i < count; i++) {
		if (ns_parserr(&h, ns_s_an, (int)i, &rr) < 0) {
			dns_why_lookup(why, whylen, name, ns_t_mx, "malformed DNS answer, try again");
			free(v);
			return DNS_TEMPFAIL;
		}
		if (ns_rr_class(rr) != ns_c_in || ns_rr_type(rr) != ns_t_mx)
			continue;	/* the CNAME chain the server followed */
		rd = ns_rr_rdata(rr);
		if (ns_rr_rdlen(rr) < NS_INT16SZ + 1
		    || (got = dn_expand(msg, msg + len, rd + NS_INT16SZ, host, sizeof(host))) < 0
		    || (size_t)got != (size_t)ns_rr_rdlen(rr) - NS_INT16SZ) {
			dns_why_lookup(why, whylen, name, ns_t_mx, "malformed MX record, try again");
			free(v);
			return DNS_TEMPFAIL;
		}
		if (host[0] == '\0' || strcmp(host, ".") == 0) {
			nullmx++;
			continue;
		}
		if (!dns_name_valid(host)) {
			dns_show(host, shown, sizeof(shown));
			log_warn("malformed MX host name \"%s\" in the answer for %s ignored", shown,
			    name);
			bad++;
			continue;
		}
		v[n].pref = ns_get16(rd);
		dns_strip_dot(host, v[n].host);
		for (j = 0; j < n; j++)
			if (strcasecmp(v[j].host, v[n].host) == 0)
				break;
		if (j < n) {		/* listed twice: keep the better preference */
			if (v[n].pref < v[j].pref)
				v[j].pref = v[n].pref;
			continue;
		}
		n++;
	}
	if (n == 0 && nullmx > 0) {
		free(v);
		dns_show(name, shown, sizeof(shown));
		dns_why(why, whylen, "Domain %s does not accept mail (nullMX)", shown);
		return DNS_NULLMX;
	}
	if (nullmx > 0)
		log_warn("null MX of %s listed with other MX hosts: ignored (RFC 7505)", name);
	if (n == 0 && bad > 0) {
		free(v);
		dns_why_lookup(why, whylen, name, ns_t_mx, "no valid MX host name, try again");
		return DNS_TEMPFAIL;
	}
	dns_mx_order(v, n);
	if (n > DNS_MX_MAX) {
		log_warn("%s lists %zu MX hosts: only the %d most preferred are used", name, n,
		    DNS_MX_MAX);
		n = DNS_MX_MAX;
	}
	if (n == 0) {
		free(v);
		v = NULL;
	}
	list->v = v;
	list->n = n;
	return DNS_OK;
}

static void
dns_addr_add(struct dns_addr_list *list, int family, const void *addr)
{
	struct dns_addr *a;

	list->v = xreallocarray(list->v, list->n + 1, sizeof(*list->v));
	a = &list->v[list->n++];
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		a->salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		a->salen = sizeof(*sin6);
	}
	if (inet_ntop(family, addr, a->text, sizeof(a->text)) == NULL)
		a->text[0] = '\0';
}

enum dns_status
dns_parse_addr_answer(const unsigned char *msg, size_t len, const char *name, int type,
    struct dns_addr_list *list, char *why, size_t whylen)
{
	ns_msg h;
	ns_rr rr;
	enum dns_status st;
	size_t count, i, j;
	size_t want = type == ns_t_a ? NS_INADDRSZ : NS_IN6ADDRSZ;
	int family = type == ns_t_a ? AF_INET : AF_INET6;

	if (type != ns_t_a && type != ns_t_aaaa) {
		dns_why_lookup(why, whylen, name, type, "unsupported record type");
		return DNS_TEMPFAIL;
	}
	if ((st = dns_parse_header(msg, len, name, type, &h, why, whylen)) != DNS_OK)
		return st;
	count = ns_msg_count(h, ns_s_an);
	for (i = 0; i < count && list->n < DNS_ADDR_MAX; i++) {
		if (ns_parserr(&h, ns_s_an, (int)i, &rr) < 0) {
			dns_why_lookup(why, whylen, name, type, "malformed DNS answer, try again");
			return DNS_TEMPFAIL;
		}
		if (ns_rr_class(rr) != ns_c_in || (int)ns_rr_type(rr) != type)
			continue;
		if (ns_rr_rdlen(rr) != want) {
			dns_why_lookup(why, whylen, name, type, "malformed address record, try again");
			return DNS_TEMPFAIL;
		}
		for (j = 0; j < list->n; j++) {
			const struct sockaddr *sa = (const struct sockaddr *)&list->v[j].sa;

			if (sa->sa_family == family && memcmp(family == AF_INET
			    ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
			    : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr,
			    ns_rr_rdata(rr), want) == 0)
				break;
		}
		if (j == list->n)
			dns_addr_add(list, family, ns_rr_rdata(rr));
	}
	return DNS_OK;
}

/*
 * The target of the last valid CNAME record of an answer, for a server
 * that answered with the alias only (unbound's local data does): 1 and
 * out (DNS_NAME_MAX), or 0.
 */
static int
dns_cname_target(const unsigned char *msg, size_t len, char *out)
{
	ns_msg h;
	ns_rr rr;
	char target[NS_MAXDNAME];
	size_t count, i;
	int found = 0;

	if (ns_initparse(msg, (int)len, &h) < 0)
		return 0;
	count = ns_msg_count(h, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&h, ns_s_an, (int)i, &rr) < 0)
			return 0;
		if (ns_rr_class(rr) != ns_c_in || ns_rr_type(rr) != ns_t_cname)
			continue;
		if (dn_expand(msg, msg + len, ns_rr_rdata(rr), target, sizeof(target)) < 0
		    || !dns_name_valid(target))
			continue;
		dns_strip_dot(target, out);
		found = 1;
	}
	return found;
}

/* --- the resolver -------------------------------------------------------- */

/* Parses one dns_nameservers entry into ss; -1 when malformed. */
static int
dns_parse_server(const char *spec, struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	size_t len;
	long p = DNS_PORT;
	char *stop;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		if ((end = strchr(spec, ']')) == NULL)
			return -1;
		len = (size_t)(end - spec - 1);
		if (len == 0 || len >= sizeof(addr))
			return -1;
		memcpy(addr, spec + 1, len);
		addr[len] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((end = strchr(spec, ':')) != NULL && strchr(end + 1, ':') == NULL) {
		len = (size_t)(end - spec);	/* a.b.c.d:port */
		if (len == 0 || len >= sizeof(addr))
			return -1;
		memcpy(addr, spec, len);
		addr[len] = '\0';
		port = end + 1;
	} else {
		if (strlen(spec) >= sizeof(addr))
			return -1;
		memcpy(addr, spec, strlen(spec) + 1);
	}
	if (port != NULL) {
		errno = 0;
		p = strtol(port, &stop, 10);
		if (*port == '\0' || *stop != '\0' || errno != 0 || p < 1 || p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)p);
		return 0;
	}
	return -1;
}

/* Puts the servers of dns_nameservers into res; -1 with why on a bad entry. */
static int
dns_set_servers(struct __res_state *res, char *why, size_t whylen)
{
	struct strv list = STRV_INIT;
	struct sockaddr_storage ss[MAXNS];
	size_t i, n;
	static int warned;
	char shown[DNS_NAME_SHOW + 4];

	conf_list("dns_nameservers", &list);
	if (list.n == 0) {
		strv_free(&list);
		return 0;
	}
	n = list.n > MAXNS ? MAXNS : list.n;
	if (list.n > MAXNS && !warned) {
		log_warn("dns_nameservers: only the first %d of %zu servers are used", MAXNS, list.n);
		warned = 1;
	}
	for (i = 0; i < n; i++) {
		if (dns_parse_server(list.v[i], &ss[i]) < 0) {
			dns_show(list.v[i], shown, sizeof(shown));
			dns_why(why, whylen, "dns_nameservers: malformed name server address "
			    "\"%s\" (expected a.b.c.d[:port] or [ipv6][:port])", shown);
			strv_free(&list);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		if (ss[i].ss_family == AF_INET) {
			memcpy(&res->nsaddr_list[i], &ss[i], sizeof(struct sockaddr_in));
		} else {
			/* glibc keeps IPv6 servers out of line, freed by res_nclose. */
			memset(&res->nsaddr_list[i], 0, sizeof(res->nsaddr_list[i]));
			if (res->_u._ext.nsaddrs[i] == NULL)
				res->_u._ext.nsaddrs[i] = xmalloc(sizeof(struct sockaddr_in6));
			memcpy(res->_u._ext.nsaddrs[i], &ss[i], sizeof(struct sockaddr_in6));
		}
	}
	res->nscount = (int)n;
	strv_free(&list);
	return 0;
}

/*
 * One query: the answer in *ans (malloc'd) of *anslen bytes. DNS_OK,
 * DNS_NOTFOUND with *nodata = 1 when the name exists without records of
 * the type, DNS_NOTFOUND (NXDOMAIN), DNS_TEMPFAIL.
 */
static enum dns_status
dns_query(const char *name, int type, unsigned char **ans, size_t *anslen, int *nodata,
    char *why, size_t whylen)
{
	struct __res_state res;
	unsigned char *buf;
	int n, herr;

	*ans = NULL;
	*anslen = 0;
	*nodata = 0;
	memset(&res, 0, sizeof(res));
	if (res_ninit(&res) < 0) {
		dns_why_lookup(why, whylen, name, type, "cannot initialize the resolver, try again");
		res_nclose(&res);
		return DNS_TEMPFAIL;
	}
	res.options &= ~(unsigned long)(RES_DEFNAMES | RES_DNSRCH);
	if (dns_set_servers(&res, why, whylen) < 0) {
		res_nclose(&res);
		return DNS_TEMPFAIL;
	}
	buf = xmalloc(DNS_ANSWER_MAX);
	n = res_nquery(&res, name, ns_c_in, type, buf, DNS_ANSWER_MAX);
	herr = res.res_h_errno;
	res_nclose(&res);
	if (n < 0) {
		free(buf);
		switch (herr) {
		case HOST_NOT_FOUND:
			dns_why_lookup(why, whylen, name, type, "Host not found");
			return DNS_NOTFOUND;
		case NO_DATA:
			dns_why_lookup(why, whylen, name, type,
			    "Host found but no data record of requested type");
			*nodata = 1;
			return DNS_NOTFOUND;
		case NO_RECOVERY:
			dns_why_lookup(why, whylen, name, type,
			    "Non-recoverable error, try again");
			return DNS_TEMPFAIL;
		default:
			dns_why_lookup(why, whylen, name, type, "Host not found, try again");
			return DNS_TEMPFAIL;
		}
	}
	if ((size_t)n > DNS_ANSWER_MAX) {
		free(buf);
		dns_why_lookup(why, whylen, name, type, "DNS answer too long, try again");
		return DNS_TEMPFAIL;
	}
	*ans = buf;
	*anslen = (size_t)n;
	return DNS_OK;
}

enum dns_status
dns_host_addrs(const char *host, struct dns_addr_list *list, char *why, size_t whylen)
{
	unsigned char raw[sizeof(struct in6_addr)];
	unsigned char *ans;
	size_t anslen, k;
	int fam = inet_protocol_families(0), types[2], ntypes = 0, nodata, tempfail = 0, hop;
	enum dns_status st, last = DNS_NOTFOUND;
	char name[DNS_NAME_MAX], qname[DNS_NAME_MAX], shown[DNS_NAME_SHOW + 4];
	size_t before;
	char lastwhy[DNS_WHY_MAX] = "", tempwhy[DNS_WHY_MAX] = "";

	dns_addr_list_free(list);
	if (inet_pton(AF_INET, host, raw) == 1) {
		if (!(fam & INET_FAMILY_V4))
			goto proto;
		dns_addr_add(list, AF_INET, raw);
		return DNS_OK;
	}
	if (inet_pton(AF_INET6, host, raw) == 1) {
		if (!(fam & INET_FAMILY_V6))
			goto proto;
		dns_addr_add(list, AF_INET6, raw);
		return DNS_OK;
	}
	if (!dns_name_valid(host)) {
		dns_show(host, shown, sizeof(shown));
		dns_why(why, whylen, "Host or domain name not found. "
		    "Name service error for name=%s type=A: malformed host name", shown);
		return DNS_NOTFOUND;
	}
	dns_strip_dot(host, name);
	if (strcmp(conf_str("smtp_address_preference"), "ipv6") == 0) {
		if (fam & INET_FAMILY_V6)
			types[ntypes++] = ns_t_aaaa;
		if (fam & INET_FAMILY_V4)
			types[ntypes++] = ns_t_a;
	} else {
		if (fam & INET_FAMILY_V4)
			types[ntypes++] = ns_t_a;
		if (fam & INET_FAMILY_V6)
			types[ntypes++] = ns_t_aaaa;
	}
	for (k = 0; k < (size_t)ntypes; k++) {
		memcpy(qname, name, sizeof(qname));
		for (hop = 0;; hop++) {
			st = dns_query(qname, types[k], &ans, &anslen, &nodata, lastwhy,
			    sizeof(lastwhy));
			if (st != DNS_OK)
				break;
			before = list->n;
			st = dns_parse_addr_answer(ans, anslen, qname, types[k], list, lastwhy,
			    sizeof(lastwhy));
			if (st == DNS_OK && list->n == before && hop < DNS_CNAME_MAX
			    && dns_cname_target(ans, anslen, qname)) {
				free(ans);
				continue;
			}
			free(ans);
			break;
		}
		last = st;
		if (st == DNS_TEMPFAIL) {
			tempfail = 1;
			memcpy(tempwhy, lastwhy, sizeof(tempwhy));
		} else if (st == DNS_NOTFOUND && !nodata) {
			break;	/* NXDOMAIN: the other type cannot exist either */
		}
	}
	if (list->n > 0)
		return DNS_OK;
	if (tempfail) {
		dns_why(why, whylen, "%s", tempwhy);
		return DNS_TEMPFAIL;
	}
	if (last == DNS_OK)	/* an answer without a usable record */
		dns_why_lookup(why, whylen, name, types[ntypes - 1],
		    "Host found but no data record of requested type");
	else
		dns_why(why, whylen, "%s", lastwhy);
	return DNS_NOTFOUND;
proto:
	dns_why(why, whylen, "address %s not allowed by inet_protocols", host);
	return DNS_NOTFOUND;
}

enum dns_status
dns_a_records(const char *name, struct dns_addr_list *list, char *why, size_t whylen)
{
	unsigned char *ans;
	size_t anslen;
	int nodata;
	enum dns_status st;

	dns_addr_list_free(list);
	if (!dns_name_valid(name)) {
		dns_why(why, whylen, "malformed name for an A lookup");
		return DNS_NOTFOUND;
	}
	st = dns_query(name, ns_t_a, &ans, &anslen, &nodata, why, whylen);
	if (st != DNS_OK)
		return st;
	st = dns_parse_addr_answer(ans, anslen, name, ns_t_a, list, why, whylen);
	free(ans);
	if (st == DNS_OK && list->n == 0) {
		dns_why_lookup(why, whylen, name, ns_t_a, "Host found but no data record of requested type");
		return DNS_NOTFOUND;
	}
	return st;
}

/* --- self-MX ------------------------------------------------------------- */

struct dns_local {
	struct sockaddr_storage v[DNS_LOCAL_MAX];
	size_t n;
};

static void
dns_local_add(struct dns_local *l, const struct sockaddr *sa)
{
	if (l->n >= DNS_LOCAL_MAX)
		return;
	if (sa->sa_family == AF_INET)
		memcpy(&l->v[l->n++], sa, sizeof(struct sockaddr_in));
	else if (sa->sa_family == AF_INET6)
		memcpy(&l->v[l->n++], sa, sizeof(struct sockaddr_in6));
}

/* The addresses of inet_interfaces. */
static void
dns_local_addrs(struct dns_local *l)
{
	struct strv list = STRV_INIT;
	struct dns_addr_list addrs = { NULL, 0 };
	struct ifaddrs *ifa = NULL, *p;
	char why[DNS_WHY_MAX], host[DNS_NAME_MAX];
	size_t i, j, len;

	l->n = 0;
	conf_list("inet_interfaces", &list);
	for (i = 0; i < list.n; i++) {
		const char *w = list.v[i];

		if (strcasecmp(w, "all") == 0) {
			if (ifa == NULL && getifaddrs(&ifa) < 0) {
				log_warn("getifaddrs: %m");
				ifa = NULL;
				continue;
			}
			for (p = ifa; p != NULL; p = p->ifa_next)
				if (p->ifa_addr != NULL)
					dns_local_add(l, p->ifa_addr);
			continue;
		}
		if (strcasecmp(w, "loopback-only") == 0) {
			w = "127.0.0.1";
			if (dns_host_addrs("::1", &addrs, why, sizeof(why)) == DNS_OK)
				for (j = 0; j < addrs.n; j++)
					dns_local_add(l, (struct sockaddr *)&addrs.v[j].sa);
		}
		len = strlen(w);
		if (w[0] == '[' && len > 2 && w[len - 1] == ']' && len - 2 < sizeof(host)) {
			memcpy(host, w + 1, len - 2);
			host[len - 2] = '\0';
			w = host;
		}
		if (dns_host_addrs(w, &addrs, why, sizeof(why)) == DNS_OK)
			for (j = 0; j < addrs.n; j++)
				dns_local_add(l, (struct sockaddr *)&addrs.v[j].sa);
	}
	if (ifa != NULL)
		freeifaddrs(ifa);
	dns_addr_list_free(&addrs);
	strv_free(&list);
}

static int
dns_local_has(const struct dns_local *l, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct sockaddr *m = (const struct sockaddr *)&l->v[i];

		if (m->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET && memcmp(&((const struct sockaddr_in *)m)->sin_addr,
		    &((const struct sockaddr_in *)sa)->sin_addr, sizeof(struct in_addr)) == 0)
			return 1;
		if (sa->sa_family == AF_INET6 && memcmp(&((const struct sockaddr_in6 *)m)->sin6_addr,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, sizeof(struct in6_addr)) == 0)
			return 1;
	}
	return 0;
}

/*
 * Index of the best MX host that is this host, or list->n when none. The
 * list is sorted, so the first match is the most preferred one.
 */
static size_t
dns_find_self(const struct dns_mx_list *list)
{
	char me[DNS_NAME_MAX];
	struct dns_local local;
	struct dns_addr_list addrs = { NULL, 0 };
	char why[DNS_WHY_MAX];
	size_t i, j, found = list->n;
	int asking = 1;
	enum dns_status st;

	dns_strip_dot(conf_str("myhostname"), me);
	for (i = 0; i < list->n; i++)
		if (me[0] != '\0' && strcasecmp(list->v[i].host, me) == 0)
			return i;
	dns_local_addrs(&local);
	for (i = 0; i < list->n && asking && local.n > 0; i++) {
		st = dns_host_addrs(list->v[i].host, &addrs, why, sizeof(why));
		if (st == DNS_TEMPFAIL) {
			asking = 0;	/* one time-out is enough */
			break;
		}
		for (j = 0; j < addrs.n; j++)
			if (dns_local_has(&local, (struct sockaddr *)&addrs.v[j].sa)) {
				found = i;
				break;
			}
		if (found < list->n)
			break;
	}
	dns_addr_list_free(&addrs);
	return found;
}

enum dns_status
dns_mx_hosts(const char *domain, struct dns_mx_list *list, char *why, size_t whylen)
{
	unsigned char raw[sizeof(struct in6_addr)];
	unsigned char *ans;
	size_t anslen, self, keep;
	enum dns_status st;
	char name[DNS_NAME_MAX], qname[DNS_NAME_MAX], shown[DNS_NAME_SHOW + 4];
	int nodata, hop;

	dns_mx_list_free(list);
	if (inet_pton(AF_INET, domain, raw) == 1 || inet_pton(AF_INET6, domain, raw) == 1) {
		list->v = xcalloc(1, sizeof(*list->v));
		list->n = 1;
		dns_strip_dot(domain, list->v[0].host);
		return DNS_OK;
	}
	if (!dns_name_valid(domain)) {
		dns_show(domain, shown, sizeof(shown));
		dns_why(why, whylen, "Host or domain name not found. "
		    "Name service error for name=%s type=MX: malformed domain name", shown);
		return DNS_NOTFOUND;
	}
	dns_strip_dot(domain, name);
	memcpy(qname, name, sizeof(qname));
	for (hop = 0;; hop++) {
		st = dns_query(qname, ns_t_mx, &ans, &anslen, &nodata, why, whylen);
		if (st != DNS_OK)
			break;
		st = dns_parse_mx_answer(ans, anslen, qname, list, why, whylen);
		if (st == DNS_OK && list->n == 0 && hop < DNS_CNAME_MAX
		    && dns_cname_target(ans, anslen, qname)) {
			free(ans);
			continue;
		}
		free(ans);
		break;
	}
	if (st == DNS_NOTFOUND && nodata)
		st = DNS_OK;	/* no MX record: the implicit MX */
	if (st != DNS_OK)
		return st;
	if (list->n == 0) {
		list->v = xcalloc(1, sizeof(*list->v));
		list->n = 1;
		memcpy(list->v[0].host, name, sizeof(name));
	}
	self = dns_find_self(list);
	if (self < list->n) {
		for (keep = 0; keep < list->n && list->v[keep].pref < list->v[self].pref; keep++)
			;
		if (keep == 0) {
			dns_mx_list_free(list);
			dns_show(name, shown, sizeof(shown));
			dns_why(why, whylen, "mail for %s loops back to myself", shown);
			return DNS_LOOP;
		}
		list->n = keep;
	}
	return DNS_OK;
}
