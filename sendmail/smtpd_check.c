/*
 * smtpd_check - access decisions of the SMTP server; see smtpd_check.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "aliases.h"
#include "canonical.h"
#include "conf.h"
#include "dns.h"
#include "local.h"
#include "log.h"
#include "maps.h"
#include "resolve.h"
#include "smtpd_access.h"
#include "smtpd_check.h"
#include "smtpd_policy.h"
#include "strv.h"
#include "virtual.h"
#include "xalloc.h"

#define CHECK_ADDR_MAX	16	/* bytes of an IPv6 address */
#define CHECK_BITS_V4	32
#define CHECK_BITS_V6	128
#define CHECK_TEXT_MAX	128	/* longest textual address accepted */
#define CHECK_NEST_MAX	10	/* classes and table results within each other */

/* Parses "a.b.c.d", "::1", "[::1]" into bytes; returns the family or -1. */
static int
check_parse_addr(const char *text, size_t len, unsigned char *out)
{
	char buf[CHECK_TEXT_MAX];

	if (len > 1 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, buf, out) == 1)
		return AF_INET6;
	return -1;
}

int
smtpd_check_net_match(const char *addr, const char *pattern)
{
	unsigned char a[CHECK_ADDR_MAX], p[CHECK_ADDR_MAX];
	const char *slash = strchr(pattern, '/');
	size_t plen = slash ? (size_t)(slash - pattern) : strlen(pattern);
	int af_a, af_p, maxbits, bits, i;

	af_a = check_parse_addr(addr, strlen(addr), a);
	af_p = check_parse_addr(pattern, plen, p);
	if (af_a < 0 || af_p < 0)
		return 0;
	/* An IPv4-mapped IPv6 client matches IPv4 patterns. */
	if (af_a == AF_INET6 && af_p == AF_INET && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		memmove(a, a + 12, 4);
		af_a = AF_INET;
	}
	if (af_a != af_p)
		return 0;
	maxbits = af_a == AF_INET ? CHECK_BITS_V4 : CHECK_BITS_V6;
	bits = maxbits;
	if (slash) {
		char *end;
		long v = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || v < 0 || v > maxbits)
			return 0;
		bits = (int)v;
	}
	for (i = 0; bits > 0; i++, bits -= 8) {
		unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;

		if ((a[i] & mask) != (p[i] & mask))
			return 0;
	}
	return 1;
}

int
smtpd_check_mynetworks(const char *addr)
{
	struct strv nets = STRV_INIT;
	size_t i;
	int hit = 0;

	conf_list("mynetworks", &nets);
	for (i = 0; i < nets.n && !hit; i++)
		hit = smtpd_check_net_match(addr, nets.v[i]);
	strv_free(&nets);
	return hit;
}

int
smtpd_check_auth_destination(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	char err[SMTPD_CHECK_REPLY_MAX];

	if (at == NULL || local_is_local(rcpt))
		return 1;
	/* A table error counts as ours here: the recipient check then answers 451. */
	return resolve_relay_domain(at + 1) || virtual_domain(at + 1, err, sizeof(err)) != 0
	    || virtual_mailbox_domain(at + 1, err, sizeof(err)) != 0;
}

int
smtpd_check_local_recipient(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	const char *delim = conf_str("recipient_delimiter");
	size_t len = at ? (size_t)(at - rcpt) : strlen(rcpt);
	char *lp = xstrndup(rcpt, len);
	char *value = NULL;
	char err[256];
	uid_t owner;
	size_t i;
	int rc, pass;

	for (i = 0; lp[i]; i++)
		lp[i] = (char)tolower((unsigned char)lp[i]);
	/* Postmaster always exists (RFC 5321 4.5.1). */
	if (strcmp(lp, "postmaster") == 0) {
		free(lp);
		return 1;
	}
	for (pass = 0; pass < 2; pass++) {
		if (getpwnam(lp) != NULL) {
			free(lp);
			return 1;
		}
		rc = aliases_lookup(lp, &value, &owner, err, sizeof(err));
		free(value);
		value = NULL;
		if (rc != 0) {
			if (rc < 0)
				log_warn("local recipient lookup of %s: %s", lp, err);
			free(lp);
			return rc;
		}
		/* Second pass: without the address extension. */
		if (pass == 0 && *delim) {
			size_t cut = strcspn(lp, delim);

			if (lp[cut] == '\0' || cut == 0)
				break;
			lp[cut] = '\0';
		} else {
			break;
		}
	}
	free(lp);
	return 0;
}

enum check_verdict { CHECK_DUNNO, CHECK_PERMIT, CHECK_REJECT };

/* One evaluation: the facts of the session and where the reply goes. */
struct check_run {
	const struct smtpd_check_info *ci;
	const char *param;	/* the restriction list being evaluated */
	enum smtpd_access_kind kind;	/* whose list it is: the subject of "reject" */
	int *code;
	char *reply;
	size_t replylen;
	char client[SMTPD_CHECK_REPLY_MAX / 2];	/* "name[addr]" for replies */
	int pipelined;		/* at DATA: the client sent more before our 354 */
	int dip_code, dir_code;	/* DEFER_IF_PERMIT / DEFER_IF_REJECT pending */
	char dip[SMTPD_CHECK_REPLY_MAX], dir[SMTPD_CHECK_REPLY_MAX];
	int depth;		/* restriction classes and table results being evaluated */
};

static enum check_verdict check_eval(struct check_run *r, const struct strv *list);
static enum check_verdict check_config_error(struct check_run *r, const char *what,
    const char *name);

/*
 * Restrictions named by a table's answer or a restriction class, within
 * the list being evaluated: what they decide is what it decides. Nested
 * deeper than CHECK_NEST_MAX (a class that names itself) is a
 * configuration error.
 */
static enum check_verdict
check_nested(struct check_run *r, const char *restrictions, const char *what)
{
	struct strv list = STRV_INIT;
	enum check_verdict v;

	if (r->depth >= CHECK_NEST_MAX)
		return check_config_error(r, "restrictions nested too deep in", what);
	maps_list_split(restrictions, &list);
	r->depth++;
	v = check_eval(r, &list);
	r->depth--;
	strv_free(&list);
	return v;
}

/* What an access table or policy server said, for the restriction list. */
static enum check_verdict
check_verdict_of(struct check_run *r, enum smtpd_access_verdict v)
{
	switch (v) {
	case ACCESS_OK:
		return CHECK_PERMIT;
	case ACCESS_DECIDED:
		return CHECK_REJECT;
	case ACCESS_DEFER_IF_PERMIT:
		if (r->dip_code == 0) {
			r->dip_code = *r->code;
			snprintf(r->dip, sizeof(r->dip), "%s", r->reply);
		}
		*r->code = 0;
		return CHECK_DUNNO;
	case ACCESS_DEFER_IF_REJECT:
		if (r->dir_code == 0) {
			r->dir_code = *r->code;
			snprintf(r->dir, sizeof(r->dir), "%s", r->reply);
		}
		*r->code = 0;
		return CHECK_DUNNO;
	case ACCESS_PREPEND:
		if (r->ci->prepend != NULL)
			strv_add(r->ci->prepend, r->reply);
		return CHECK_DUNNO;
	case ACCESS_RESTRICTIONS: {
		/* r->reply is where the nested restrictions answer: take the text out first. */
		char *text = xstrdup(r->reply);
		enum check_verdict nv;

		r->reply[0] = '\0';
		nv = check_nested(r, text, text);
		free(text);
		return nv;
	}
	default:
		return CHECK_DUNNO;
	}
}

static enum check_verdict
check_reject(struct check_run *r, int code, const char *dsn, const char *subject,
    enum smtpd_access_kind kind, const char *text)
{
	*r->code = code;
	snprintf(r->reply, r->replylen, "%d %s <%s>: %s: %s", code, dsn, subject,
	    smtpd_access_kind_text(kind), text);
	return CHECK_REJECT;
}

/* The domain of an address ("" when it has none). */
static const char *
check_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/* 1 when name is a syntactically valid host name or an address literal. */
static int
check_valid_hostname(const char *name)
{
	unsigned char a[CHECK_ADDR_MAX];
	size_t len = strlen(name);

	if (len > 2 && name[0] == '[' && name[len - 1] == ']')
		return check_parse_addr(name, len, a) >= 0;
	if (check_parse_addr(name, len, a) >= 0)
		return 1;	/* Postfix takes a bare address too */
	return dns_name_valid(name);
}

/* 1 when a name has a dot and is valid (Postfix's "fully-qualified"). */
static int
check_fqdn(const char *name)
{
	size_t len = strlen(name);

	if (len > 2 && name[0] == '[' && name[len - 1] == ']')
		return 1;
	return strchr(name, '.') != NULL && name[len - 1] != '.' && check_valid_hostname(name);
}

/*
 * reject_unknown_sender_domain / _recipient_domain: the domain must have
 * an MX, or an A/AAAA record (Postfix). A null MX is a permanent reject
 * (RFC 7505 section 4.2: 550 5.7.27 for a sender); other failures answer
 * with unknown_address_reject_code (450 by default: DNS may be wrong for
 * a while).
 */
static enum check_verdict
check_unknown_domain(struct check_run *r, const char *addr, enum smtpd_access_kind kind)
{
	const char *domain = check_domain(addr);
	struct dns_mx_list mx = { NULL, 0 };
	struct dns_addr_list al = { NULL, 0 };
	char why[DNS_WHY_MAX];
	enum dns_status st;
	int code = (int)conf_int("unknown_address_reject_code");
	const char *sub = kind == ACCESS_SENDER ? "4.1.8" : "4.1.2";
	char dsn[16];

	if (*domain == '\0' || (domain[0] == '[' && domain[strlen(domain) - 1] == ']'))
		return CHECK_DUNNO;
	st = dns_mx_hosts(domain, &mx, why, sizeof(why));
	if (st == DNS_OK && mx.n == 1 && strcasecmp(mx.v[0].host, domain) == 0)
		st = dns_host_addrs(domain, &al, why, sizeof(why));	/* implicit MX */
	dns_mx_list_free(&mx);
	dns_addr_list_free(&al);
	if (st == DNS_OK || st == DNS_LOOP)
		return CHECK_DUNNO;
	if (st == DNS_NULLMX)
		return check_reject(r, 550, kind == ACCESS_SENDER ? "5.7.27" : "5.1.10", addr, kind,
		    "Domain has null MX");
	if (st == DNS_TEMPFAIL)
		code = 450;
	snprintf(dsn, sizeof(dsn), "%d%s", code / 100, sub + 1);
	return check_reject(r, code, dsn, addr, kind, "Domain not found");
}

/* The DNSBL name of an address under zone: d.c.b.a.zone, or IPv6 nibbles. */
static int
check_rbl_name(const char *addr, const char *zone, char *out, size_t outlen)
{
	unsigned char a[CHECK_ADDR_MAX];
	int af = check_parse_addr(addr, strlen(addr), a);
	size_t n = 0;
	int i, w;

	if (af == AF_INET) {
		w = snprintf(out, outlen, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
		return w > 0 && (size_t)w < outlen ? 0 : -1;
	}
	if (af != AF_INET6)
		return -1;
	for (i = CHECK_BITS_V6 / 8 - 1; i >= 0; i--) {
		w = snprintf(out + n, outlen - n, "%x.%x.", a[i] & 0xf, a[i] >> 4);
		if (w < 0 || (size_t)w >= outlen - n)
			return -1;
		n += (size_t)w;
	}
	w = snprintf(out + n, outlen - n, "%s", zone);
	return w > 0 && (size_t)w < outlen - n ? 0 : -1;
}

/*
 * One octet pattern of a DNSBL reply filter: "2", "[2..11]" or "[2;4;8]"
 * (Postfix's forms). 1 when v matches.
 */
static int
check_octet_match(const char *pat, size_t len, unsigned v)
{
	char buf[64], *p, *save = NULL;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, pat, len);
	buf[len] = '\0';
	if (buf[0] != '[')
		return strspn(buf, "0123456789") == len && (unsigned)atoi(buf) == v;
	if (buf[len - 1] != ']')
		return 0;
	buf[len - 1] = '\0';
	for (p = strtok_r(buf + 1, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
		char *dots = strstr(p, "..");

		if (dots) {
			*dots = '\0';
			if (v >= (unsigned)atoi(p) && v <= (unsigned)atoi(dots + 2))
				return 1;
		} else if ((unsigned)atoi(p) == v) {
			return 1;
		}
	}
	return 0;
}

/* 1 when a reply address (IPv4) matches "a.b.c.d" with octet patterns. */
static int
check_rbl_filter(const struct dns_addr *da, const char *filter)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&da->sa;
	const unsigned char *b = (const unsigned char *)&sin->sin_addr;
	const char *p = filter;
	int i;

	if (da->sa.ss_family != AF_INET)
		return 0;
	for (i = 0; i < 4; i++) {
		size_t len = strcspn(p, ".");

		/* a '.' inside [2..11] is not a separator */
		if (*p == '[')
			len = strcspn(p, "]") + 1;
		if (!check_octet_match(p, len, b[i]))
			return 0;
		p += len;
		if (i < 3) {
			if (*p != '.')
				return 0;
			p++;
		}
	}
	return *p == '\0';
}

/* reject_rbl_client zone[=filter]: the client's address listed in a DNS block list. */
static enum check_verdict
check_rbl(struct check_run *r, const char *arg)
{
	struct dns_addr_list al = { NULL, 0 };
	char zone[DNS_NAME_MAX], name[DNS_NAME_MAX + 80], why[DNS_WHY_MAX];
	const char *eq = strchr(arg, '=');
	enum dns_status st;
	size_t i;
	int hit = 0;

	snprintf(zone, sizeof(zone), "%.*s", (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg);
	if (check_rbl_name(r->ci->addr, zone, name, sizeof(name)) < 0)
		return CHECK_DUNNO;
	st = dns_a_records(name, &al, why, sizeof(why));
	if (st == DNS_TEMPFAIL)
		log_warn("%s: DNS block list lookup: %s", r->param, why);
	for (i = 0; st == DNS_OK && i < al.n && !hit; i++)
		hit = eq ? check_rbl_filter(&al.v[i], eq + 1) : 1;
	dns_addr_list_free(&al);
	if (!hit)
		return CHECK_DUNNO;
	*r->code = (int)conf_int("maps_rbl_reject_code");
	snprintf(r->reply, r->replylen, "%d %d.7.1 Service unavailable; Client host [%s] blocked "
	    "using %s", *r->code, *r->code / 100, r->ci->addr, zone);
	return CHECK_REJECT;
}

static enum check_verdict
check_access(struct check_run *r, const char *table, enum smtpd_access_kind kind)
{
	const struct smtpd_check_info *ci = r->ci;
	const char *subject, *shown;

	switch (kind) {
	case ACCESS_CLIENT:
		subject = ci->addr;
		shown = r->client;
		break;
	case ACCESS_HELO:
		if (ci->helo == NULL)
			return CHECK_DUNNO;
		subject = shown = ci->helo;
		break;
	case ACCESS_SENDER:
		if (ci->sender == NULL)
			return CHECK_DUNNO;
		subject = shown = ci->sender;
		break;
	case ACCESS_RECIPIENT:
	default:
		if (ci->rcpt == NULL)
			return CHECK_DUNNO;
		subject = shown = ci->rcpt;
		break;
	}
	return check_verdict_of(r, smtpd_access_check(table, kind, subject, ci->name, shown,
	    r->code, r->reply, r->replylen));
}

/*
 * check_policy_service ENDPOINT: the answer is an access action about the
 * recipient. A server that cannot be asked gives
 * smtpd_policy_service_default_action (Postfix: 451 4.3.5), logged.
 */
static enum check_verdict
check_policy(struct check_run *r, const char *endpoint)
{
	const struct smtpd_check_info *ci = r->ci;
	struct smtpd_policy_request rq;
	char err[SMTPD_CHECK_REPLY_MAX];
	char *action = NULL;
	enum check_verdict v;
	long tries = conf_int("smtpd_policy_service_try_limit");
	long i;
	int rc = -1;

	memset(&rq, 0, sizeof(rq));
	rq.state = ci->eod ? "END-OF-MESSAGE" : ci->rcpt ? "RCPT" : "DATA";
	rq.size = ci->size;
	rq.protocol = ci->protocol ? ci->protocol : "SMTP";
	rq.helo = ci->helo;
	rq.sender = ci->sender;
	rq.rcpt = ci->rcpt;
	rq.rcpt_count = ci->rcpt_count;
	rq.addr = ci->addr;
	rq.name = ci->name;
	rq.instance = ci->instance;
	rq.sasl_method = ci->sasl_method;
	rq.sasl_username = ci->sasl_username;
	rq.tls_protocol = ci->tls_protocol;
	rq.tls_cipher = ci->tls_cipher;
	rq.tls_keysize = ci->tls_keysize;
	for (i = 0; i < (tries > 0 ? tries : 1) && rc < 0; i++)
		rc = smtpd_policy_query(endpoint, &rq, &action, err, sizeof(err));
	if (rc < 0) {
		log_warn("problem talking to server %s", err);
		action = xstrdup(conf_str("smtpd_policy_service_default_action"));
	}
	v = check_verdict_of(r, smtpd_access_action(action, endpoint,
	    ci->rcpt ? ACCESS_RECIPIENT : ci->eod ? ACCESS_EOD : ACCESS_DATA,
	    ci->rcpt ? ci->rcpt : ci->eod ? "END-OF-MESSAGE" : "DATA", r->code, r->reply,
	    r->replylen));
	free(action);
	return v;
}

/* The restrictions that take a table: their kind, or -1. */
static int
check_access_kind(const char *name)
{
	static const struct {
		const char *name;
		enum smtpd_access_kind kind;
	} t[] = {
		{ "check_client_access", ACCESS_CLIENT },
		{ "check_helo_access", ACCESS_HELO },
		{ "check_sender_access", ACCESS_SENDER },
		{ "check_recipient_access", ACCESS_RECIPIENT },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(name, t[i].name) == 0)
			return (int)t[i].kind;
	return -1;
}

static enum check_verdict
check_config_error(struct check_run *r, const char *what, const char *name)
{
	log_warn("%s: %s \"%s\": answering with a temporary error", r->param, what, name);
	*r->code = 451;
	snprintf(r->reply, r->replylen, "451 4.3.5 Server configuration error");
	return CHECK_REJECT;
}

/* 1 when name is listed in smtpd_restriction_classes. */
static int
check_is_class(const char *name)
{
	struct strv classes = STRV_INIT;
	int found;

	conf_list("smtpd_restriction_classes", &classes);
	found = strv_find(&classes, name, 0) >= 0;
	strv_free(&classes);
	return found;
}

/* Evaluates one restriction; *used is set to the number of list words it took. */
static enum check_verdict
check_one(struct check_run *r, const struct strv *list, size_t i, size_t *used)
{
	const struct smtpd_check_info *ci = r->ci;
	const char *n = list->v[i];
	const char *rcpt = ci->rcpt;
	int kind;

	*used = 1;
	if ((kind = check_access_kind(n)) >= 0 || strcmp(n, "reject_rbl_client") == 0
	    || strcmp(n, "check_policy_service") == 0) {
		if (i + 1 >= list->n)
			return check_config_error(r, "missing argument of", n);
		*used = 2;
		if (kind >= 0)
			return check_access(r, list->v[i + 1], (enum smtpd_access_kind)kind);
		if (n[0] == 'c')
			return check_policy(r, list->v[i + 1]);
		return check_rbl(r, list->v[i + 1]);
	}
	if (strcmp(n, "permit_mynetworks") == 0)
		return smtpd_check_mynetworks(ci->addr) ? CHECK_PERMIT : CHECK_DUNNO;
	if (strcmp(n, "permit_sasl_authenticated") == 0)
		return ci->sasl_auth ? CHECK_PERMIT : CHECK_DUNNO;
	if (strcmp(n, "reject_unauth_pipelining") == 0) {
		if (!r->pipelined)
			return CHECK_DUNNO;
		*r->code = 554;
		snprintf(r->reply, r->replylen, "554 5.5.0 <DATA>: %s: Improper use of SMTP command "
		    "pipelining", smtpd_access_kind_text(ACCESS_DATA));
		return CHECK_REJECT;
	}
	if (strcmp(n, "reject_unauth_destination") == 0 || strcmp(n, "defer_unauth_destination") == 0) {
		int defer = n[0] == 'd';

		if (rcpt == NULL || smtpd_check_auth_destination(rcpt))
			return CHECK_DUNNO;
		*r->code = defer ? 454 : 554;
		snprintf(r->reply, r->replylen, "%d %s <%s>: Relay access denied", *r->code,
		    defer ? "4.7.1" : "5.7.1", rcpt);
		return CHECK_REJECT;
	}
	if (strcmp(n, "reject_unlisted_recipient") == 0) {
		int rc;

		if (rcpt == NULL || !local_is_local(rcpt))
			return CHECK_DUNNO;
		rc = smtpd_check_local_recipient(rcpt);
		if (rc == 0) {
			int code = (int)conf_int("unknown_local_recipient_reject_code");
			char dsn[16];

			snprintf(dsn, sizeof(dsn), "%d.1.1", code / 100);
			return check_reject(r, code, dsn, rcpt, ACCESS_RECIPIENT,
			    "User unknown in local recipient table");
		}
		if (rc < 0) {
			*r->code = 451;
			snprintf(r->reply, r->replylen, "451 4.3.0 <%s>: Temporary lookup failure", rcpt);
			return CHECK_REJECT;
		}
		return CHECK_DUNNO;
	}
	if (strcmp(n, "reject_non_fqdn_sender") == 0 || strcmp(n, "reject_non_fqdn_recipient") == 0) {
		int sender = n[16] == 's';
		const char *a = sender ? ci->sender : rcpt;
		int code = (int)conf_int("non_fqdn_reject_code");
		char dsn[16];

		if (a == NULL || *a == '\0' || check_fqdn(check_domain(a)))
			return CHECK_DUNNO;
		snprintf(dsn, sizeof(dsn), "%d.5.2", code / 100);
		return check_reject(r, code, dsn, a, sender ? ACCESS_SENDER : ACCESS_RECIPIENT,
		    "need fully-qualified address");
	}
	if (strcmp(n, "reject_unknown_sender_domain") == 0)
		return ci->sender && *ci->sender ? check_unknown_domain(r, ci->sender, ACCESS_SENDER)
		    : CHECK_DUNNO;
	if (strcmp(n, "reject_unknown_recipient_domain") == 0)
		return rcpt == NULL || local_is_local(rcpt) ? CHECK_DUNNO
		    : check_unknown_domain(r, rcpt, ACCESS_RECIPIENT);
	if (strcmp(n, "reject_invalid_helo_hostname") == 0
	    || strcmp(n, "reject_non_fqdn_helo_hostname") == 0) {
		int invalid = n[7] == 'i';
		int code = (int)conf_int(invalid ? "invalid_hostname_reject_code"
		    : "non_fqdn_reject_code");
		char dsn[16];

		if (ci->helo == NULL || (invalid ? check_valid_hostname(ci->helo)
		    : check_fqdn(ci->helo)))
			return CHECK_DUNNO;
		snprintf(dsn, sizeof(dsn), "%d.5.2", code / 100);
		return check_reject(r, code, dsn, ci->helo, ACCESS_HELO,
		    invalid ? "Invalid name" : "need fully-qualified hostname");
	}
	if (strcmp(n, "reject_unknown_client_hostname") == 0) {
		if (strcmp(ci->name, "unknown") != 0)
			return CHECK_DUNNO;
		*r->code = (int)conf_int("unknown_client_reject_code");
		snprintf(r->reply, r->replylen, "%d %d.7.25 Client host rejected: cannot find your "
		    "hostname, [%s]", *r->code, *r->code / 100, ci->addr);
		return CHECK_REJECT;
	}
	if (check_is_class(n))
		return check_nested(r, conf_str(n), n);
	if (strcmp(n, "permit") == 0)
		return CHECK_PERMIT;
	if (strcmp(n, "dunno") == 0)
		return CHECK_DUNNO;
	if (strcmp(n, "reject") == 0 || strcmp(n, "defer") == 0) {
		int defer = n[0] == 'd';
		const char *subject = r->kind == ACCESS_CLIENT ? r->client
		    : r->kind == ACCESS_HELO ? (ci->helo ? ci->helo : "")
		    : r->kind == ACCESS_SENDER ? (ci->sender ? ci->sender : "")
		    : r->kind == ACCESS_EOD ? "END-OF-MESSAGE"
		    : r->kind == ACCESS_DATA || rcpt == NULL ? "DATA" : rcpt;

		return check_reject(r, defer ? 450 : 554, defer ? "4.7.1" : "5.7.1", subject,
		    r->kind, "Access denied");
	}
	return check_config_error(r, "unknown restriction", n);
}

/* Evaluates restrictions in order until one decides. */
static enum check_verdict
check_eval(struct check_run *r, const struct strv *list)
{
	enum check_verdict v = CHECK_DUNNO;
	size_t i, used;

	for (i = 0; i < list->n && v == CHECK_DUNNO; i += used)
		v = check_one(r, list, i, &used);
	return v;
}

/* Runs one restriction list; fills reply/code on a reject. */
static enum check_verdict
check_list(struct check_run *r, const char *param, enum smtpd_access_kind kind)
{
	struct strv list = STRV_INIT;
	enum check_verdict v;

	r->param = param;
	r->kind = kind;
	maps_list(param, &list);	/* keeps "inline:{ a=b, c=d }" in one piece */
	v = check_eval(r, &list);
	strv_free(&list);
	return v;
}

/*
 * The lists in Postfix's order, all at RCPT time (smtpd_delay_reject =
 * yes, Postfix's default; Petrel has no other mode): a permit ends only
 * its own list, a reject in any list rejects the recipient.
 */
static const struct {
	const char *param;
	enum smtpd_access_kind kind;
} check_lists[] = {
	{ "smtpd_client_restrictions", ACCESS_CLIENT },
	{ "smtpd_helo_restrictions", ACCESS_HELO },
	{ "smtpd_sender_restrictions", ACCESS_SENDER },
	{ "smtpd_relay_restrictions", ACCESS_RECIPIENT },
	{ "smtpd_recipient_restrictions", ACCESS_RECIPIENT },
};

static void
check_run_init(struct check_run *r, const struct smtpd_check_info *ci, int *code, char *reply,
    size_t replylen)
{
	memset(r, 0, sizeof(*r));
	r->ci = ci;
	r->code = code;
	r->reply = reply;
	r->replylen = replylen;
	snprintf(r->client, sizeof(r->client), "%s[%s]", ci->name ? ci->name : "unknown", ci->addr);
}

/* One list for the whole message (DATA, end of data): its reply code or 0. */
static int
check_message_list(struct check_run *r, const char *param, enum smtpd_access_kind kind,
    char *reply, size_t replylen)
{
	int code;

	if (check_list(r, param, kind) == CHECK_REJECT) {
		code = *r->code;
		if (r->dir_code != 0 && code >= 500) {
			snprintf(reply, replylen, "%s", r->dir);
			return r->dir_code;
		}
		return code;
	}
	if (r->dip_code != 0) {
		snprintf(reply, replylen, "%s", r->dip);
		return r->dip_code;
	}
	return 0;
}

int
smtpd_check_eod(const struct smtpd_check_info *ci, char *reply, size_t replylen)
{
	struct check_run r;
	int code = 0;

	check_run_init(&r, ci, &code, reply, replylen);
	return check_message_list(&r, "smtpd_end_of_data_restrictions", ACCESS_EOD, reply, replylen);
}

int
smtpd_check_data(const struct smtpd_check_info *ci, int pipelined, char *reply,
    size_t replylen)
{
	struct check_run r;
	int code = 0;

	check_run_init(&r, ci, &code, reply, replylen);
	r.pipelined = pipelined;
	return check_message_list(&r, "smtpd_data_restrictions", ACCESS_DATA, reply, replylen);
}

int
smtpd_check_rcpt(const struct smtpd_check_info *ci, char *reply, size_t replylen)
{
	struct check_run r;
	const char *rcpt = ci->rcpt;
	size_t i;
	int code = 0;

	check_run_init(&r, ci, &code, reply, replylen);
	for (i = 0; i < sizeof(check_lists) / sizeof(check_lists[0]); i++) {
		if (check_list(&r, check_lists[i].param, check_lists[i].kind) != CHECK_REJECT)
			continue;
		if (r.dir_code != 0 && code >= 500) {
			snprintf(reply, replylen, "%s", r.dir);
			return r.dir_code;
		}
		return code;
	}
	if (r.dip_code != 0) {
		snprintf(reply, replylen, "%s", r.dip);
		return r.dip_code;
	}
	/* Postfix's built-in check of virtual alias domains: every address is listed. */
	{
		const char *at = strrchr(rcpt, '@');
		char err[SMTPD_CHECK_REPLY_MAX], *value = NULL;
		int vd = at && !local_is_local(rcpt) ? virtual_domain(at + 1, err, sizeof(err)) : 0;
		int rc = vd > 0 ? virtual_lookup(rcpt, &value, err, sizeof(err)) : 1;

		free(value);
		if (vd < 0 || rc < 0) {
			log_warn("%s", err);
			snprintf(reply, replylen, "451 4.3.0 <%s>: Temporary lookup failure", rcpt);
			return 451;
		}
		if (rc == 0) {
			snprintf(reply, replylen, "550 5.1.1 <%s>: Recipient address rejected: "
			    "User unknown in virtual alias table", rcpt);
			return 550;
		}
	}
	/*
	 * And of virtual mailbox domains: the address is in
	 * virtual_mailbox_maps, or virtual_alias_maps sends it on.
	 */
	{
		const char *at = strrchr(rcpt, '@');
		char err[SMTPD_CHECK_REPLY_MAX], *value = NULL;
		int vd = at && !local_is_local(rcpt) && virtual_domain(at + 1, err, sizeof(err)) == 0
		    ? virtual_mailbox_domain(at + 1, err, sizeof(err)) : 0;
		int rc = vd > 0 ? virtual_mailbox_lookup(rcpt, &value, err, sizeof(err)) : 1;

		free(value);
		value = NULL;
		if (vd > 0 && rc == 0)
			rc = virtual_lookup(rcpt, &value, err, sizeof(err));
		free(value);
		if (vd < 0 || rc < 0) {
			log_warn("%s", err);
			snprintf(reply, replylen, "451 4.3.0 <%s>: Temporary lookup failure", rcpt);
			return 451;
		}
		if (rc == 0) {
			snprintf(reply, replylen, "550 5.1.1 <%s>: Recipient address rejected: "
			    "User unknown in virtual mailbox table", rcpt);
			return 550;
		}
	}
	/*
	 * Postfix's built-in check of local_recipient_maps; an address that
	 * recipient_canonical_maps or canonical_maps rewrites passes it.
	 */
	if (local_is_local(rcpt) && conf_str("local_recipient_maps")[0] != '\0') {
		char why[SMTPD_CHECK_REPLY_MAX];
		int rc = canonical_recipient_known(rcpt, why, sizeof(why));

		if (rc < 0)
			log_warn("%s", why);
		if (rc == 0)
			rc = smtpd_check_local_recipient(rcpt);

		if (rc == 0) {
			/* 450 while a new table is being tested: the sender tries again. */
			int ucode = (int)conf_int("unknown_local_recipient_reject_code");

			snprintf(reply, replylen, "%d %d.1.1 <%s>: Recipient address rejected: "
			    "User unknown in local recipient table", ucode, ucode / 100, rcpt);
			return ucode;
		}
		if (rc < 0) {
			snprintf(reply, replylen, "451 4.3.0 <%s>: Temporary lookup failure", rcpt);
			return 451;
		}
	}
	return 0;
}
