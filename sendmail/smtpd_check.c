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

#include "aliases.h"
#include "conf.h"
#include "local.h"
#include "log.h"
#include "smtpd_check.h"
#include "strv.h"
#include "xalloc.h"

#define CHECK_ADDR_MAX	16	/* bytes of an IPv6 address */
#define CHECK_BITS_V4	32
#define CHECK_BITS_V6	128
#define CHECK_TEXT_MAX	128	/* longest textual address accepted */

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

/* 1 when domain is listed in relay_domains (a leading '.' or a parent matches). */
static int
check_relay_domain(const char *domain)
{
	struct strv list = STRV_INIT;
	size_t i, dl = strlen(domain);
	int hit = 0;

	conf_list("relay_domains", &list);
	for (i = 0; i < list.n && !hit; i++) {
		const char *d = list.v[i];
		size_t l;

		if (*d == '.')
			d++;
		l = strlen(d);
		if (l == 0)
			continue;
		if (strcasecmp(domain, d) == 0)
			hit = 1;
		else if (dl > l && domain[dl - l - 1] == '.' && strcasecmp(domain + dl - l, d) == 0)
			hit = 1;
	}
	strv_free(&list);
	return hit;
}

int
smtpd_check_auth_destination(const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');

	if (at == NULL || local_is_local(rcpt))
		return 1;
	return check_relay_domain(at + 1);
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

/* Runs one restriction list; fills reply/code on a reject. */
static enum check_verdict
check_list(const char *param, const char *addr, int sasl_auth, const char *rcpt,
    int *code, char *reply, size_t replylen)
{
	struct strv list = STRV_INIT;
	enum check_verdict v = CHECK_DUNNO;
	size_t i;

	conf_list(param, &list);
	for (i = 0; i < list.n && v == CHECK_DUNNO; i++) {
		const char *r = list.v[i];

		if (strcmp(r, "permit_mynetworks") == 0) {
			if (smtpd_check_mynetworks(addr))
				v = CHECK_PERMIT;
		} else if (strcmp(r, "permit_sasl_authenticated") == 0) {
			if (sasl_auth)
				v = CHECK_PERMIT;
		} else if (strcmp(r, "reject_unauth_destination") == 0
		    || strcmp(r, "defer_unauth_destination") == 0) {
			if (!smtpd_check_auth_destination(rcpt)) {
				int defer = r[0] == 'd';

				*code = defer ? 454 : 554;
				snprintf(reply, replylen, "%d %s <%s>: Relay access denied",
				    *code, defer ? "4.7.1" : "5.7.1", rcpt);
				v = CHECK_REJECT;
			}
		} else if (strcmp(r, "reject_unlisted_recipient") == 0) {
			if (local_is_local(rcpt)) {
				int rc = smtpd_check_local_recipient(rcpt);

				if (rc == 0) {
					*code = 550;
					snprintf(reply, replylen, "550 5.1.1 <%s>: Recipient address "
					    "rejected: User unknown in local recipient table", rcpt);
					v = CHECK_REJECT;
				} else if (rc < 0) {
					*code = 451;
					snprintf(reply, replylen, "451 4.3.0 <%s>: Temporary lookup failure", rcpt);
					v = CHECK_REJECT;
				}
			}
		} else if (strcmp(r, "permit") == 0) {
			v = CHECK_PERMIT;
		} else if (strcmp(r, "reject") == 0) {
			*code = 554;
			snprintf(reply, replylen, "554 5.7.1 <%s>: Recipient address rejected: Access denied", rcpt);
			v = CHECK_REJECT;
		} else if (strcmp(r, "defer") == 0) {
			*code = 450;
			snprintf(reply, replylen, "450 4.7.1 <%s>: Recipient address rejected: Access denied", rcpt);
			v = CHECK_REJECT;
		} else {
			log_warn("%s: unknown restriction \"%s\": answering with a temporary error", param, r);
			*code = 451;
			snprintf(reply, replylen, "451 4.3.5 Server configuration error");
			v = CHECK_REJECT;
		}
	}
	strv_free(&list);
	return v;
}

int
smtpd_check_rcpt(const char *addr, int sasl_auth, const char *rcpt,
    char *reply, size_t replylen)
{
	int code = 0;

	if (check_list("smtpd_relay_restrictions", addr, sasl_auth, rcpt, &code,
	    reply, replylen) == CHECK_REJECT)
		return code;
	if (check_list("smtpd_recipient_restrictions", addr, sasl_auth, rcpt, &code,
	    reply, replylen) == CHECK_REJECT)
		return code;
	/* Postfix's built-in check of local_recipient_maps. */
	if (local_is_local(rcpt) && conf_str("local_recipient_maps")[0] != '\0') {
		int rc = smtpd_check_local_recipient(rcpt);

		if (rc == 0) {
			snprintf(reply, replylen, "550 5.1.1 <%s>: Recipient address rejected: "
			    "User unknown in local recipient table", rcpt);
			return 550;
		}
		if (rc < 0) {
			snprintf(reply, replylen, "451 4.3.0 <%s>: Temporary lookup failure", rcpt);
			return 451;
		}
	}
	return 0;
}
