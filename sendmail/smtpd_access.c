/*
 * smtpd_access - Postfix's access tables (access(5)) for the SMTP
 * server's check_client_access, check_helo_access, check_sender_access
 * and check_recipient_access; see smtpd_access.h.
 *
 * Lookup keys, in Postfix's order, first match wins:
 *   client     its verified host name and each parent domain, then its
 *              address and the networks made by cutting the address
 *              from the right (1.2.3.4, 1.2.3, 1.2, 1; for IPv6 one
 *              colon-separated group at a time)
 *   helo       the HELO/EHLO name and each parent domain
 *   sender, recipient
 *              user@domain, then the domain and each parent domain, then
 *              "user@"; the null sender is smtpd_null_access_lookup_key
 * A parent domain is looked up as "example.com" when
 * parent_domain_matches_subdomains names smtpd_access_maps (Postfix's
 * default), else as ".example.com".
 *
 * Actions (the value's first word, any case; the same for the answers of
 * policy servers): OK (also RELAY, and an all-digit value: old Sendmail
 * tables), DUNNO, REJECT [text] (access_map_reject_code, 5.7.1), DEFER
 * [text] (access_map_defer_code, 4.7.1), DEFER_IF_PERMIT /
 * DEFER_IF_REJECT [text] (the caller decides at the end), PREPEND
 * header: value, WARN / INFO text (logged), or a reply code 4NN/5NN with
 * text (an enhanced status code at the start of the text is kept, else
 * X.7.1). The reply has Postfix's shape: "554 5.7.1 <SUBJECT>: Sender
 * address rejected: Access denied". Any other value is a list of
 * restrictions or a restriction class (access(5) "restriction...":
 * "permit_mynetworks, reject", "permissive"), given back to the caller to
 * evaluate (smtpd_check.c, which answers an unknown name with a temporary
 * error). Postfix's actions Petrel does not have (HOLD, DISCARD, FILTER,
 * REDIRECT, BCC) are logged and answered "451 4.3.5 Server configuration
 * error" (fail safe), never ignored.
 *
 * Errors: a table that cannot be read gives 451 4.3.0 "Temporary lookup
 * failure" (logged with the reason).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "conf.h"
#include "log.h"
#include "maps.h"
#include "smtpd_access.h"
#include "smtp_reply.h"
#include "strv.h"
#include "xalloc.h"

#define ACCESS_ERR_MAX		256
#define ACCESS_KEYS_MAX		64	/* keys tried per lookup at most */
#define ACCESS_DSN_MAX		16

static const char *const access_kind_text[] = {
	[ACCESS_CLIENT] = "Client host rejected",
	[ACCESS_HELO] = "Helo command rejected",
	[ACCESS_SENDER] = "Sender address rejected",
	[ACCESS_RECIPIENT] = "Recipient address rejected",
	[ACCESS_DATA] = "Data command rejected",
	[ACCESS_EOD] = "End-of-data rejected",
};

const char *
smtpd_access_kind_text(enum smtpd_access_kind kind)
{
	return access_kind_text[kind];
}

/* 1 when parent domains are looked up as "example.com" (not ".example.com"). */
static int
access_parent_plain(void)
{
	struct strv list = STRV_INIT;
	size_t i;
	int hit = 0;

	conf_list("parent_domain_matches_subdomains", &list);
	for (i = 0; i < list.n; i++)
		if (strcmp(list.v[i], "smtpd_access_maps") == 0)
			hit = 1;
	strv_free(&list);
	return hit;
}

/* domain, then its parents. */
static void
access_domain_keys(struct strv *keys, const char *domain)
{
	int plain = access_parent_plain();
	const char *p;

	if (*domain == '\0')
		return;
	strv_add(keys, domain);
	for (p = strchr(domain, '.'); p != NULL && p[1] != '\0'; p = strchr(p + 1, '.')) {
		if (plain)
			strv_add(keys, p + 1);
		else
			strv_add(keys, p);
	}
}

/* The address, then the networks by cutting a byte (IPv4) or group (IPv6) at a time. */
static void
access_net_keys(struct strv *keys, const char *addr)
{
	char *a = xstrdup(addr);
	char sep = strchr(a, ':') ? ':' : '.';
	char *cut;

	strv_add(keys, a);
	while ((cut = strrchr(a, sep)) != NULL) {
		*cut = '\0';
		while (sep == ':' && cut > a && cut[-1] == ':')
			*--cut = '\0';	/* "2001:db8::" leaves no empty group */
		if (*a == '\0')
			break;
		strv_add(keys, a);
	}
	free(a);
}

static void
access_keys(struct strv *keys, enum smtpd_access_kind kind, const char *subject,
    const char *client_name)
{
	const char *at;

	switch (kind) {
	case ACCESS_CLIENT:
		if (client_name && *client_name && strcmp(client_name, "unknown") != 0)
			access_domain_keys(keys, client_name);
		access_net_keys(keys, subject);
		break;
	case ACCESS_HELO:
		access_domain_keys(keys, subject);
		break;
	case ACCESS_DATA:
	case ACCESS_EOD:
		break;
	case ACCESS_SENDER:
	case ACCESS_RECIPIENT:
		if (*subject == '\0') {
			strv_add(keys, conf_str("smtpd_null_access_lookup_key"));
			break;
		}
		strv_add(keys, subject);
		at = strrchr(subject, '@');
		if (at != NULL) {
			char *local = xstrndup(subject, (size_t)(at - subject) + 1);

			access_domain_keys(keys, at + 1);
			if (at > subject)
				strv_add(keys, local);
			free(local);
		}
		break;
	}
}

/* "4.7.1"-like code at the start of text: its length with the space after it, else 0. */
static size_t
access_dsn_len(const char *text, char cls)
{
	size_t n = 0;

	if (!smtp_reply_is_dsn(text, strlen(text), cls, &n))
		return 0;
	return text[n] == ' ' ? n + 1 : n;
}

/* Builds "CODE D.S.N <subject>: Kind rejected: text". */
static void
access_reply(int code, const char *text, enum smtpd_access_kind kind, const char *shown,
    char *reply, size_t replylen)
{
	char cls = (char)('0' + code / 100);
	char dsn[ACCESS_DSN_MAX];
	size_t dl = access_dsn_len(text, cls);

	if (dl > 0) {
		snprintf(dsn, sizeof(dsn), "%.*s", (int)(dl - (text[dl - 1] == ' ')), text);
		text += dl;
	} else {
		snprintf(dsn, sizeof(dsn), "%c.7.1", cls);
	}
	snprintf(reply, replylen, "%d %s <%s>: %s: %s", code, dsn, shown,
	    access_kind_text[kind], *text ? text : "Access denied");
}

/* 1 when s has a control byte other than TAB (a policy server's answer is not trusted). */
static int
access_has_ctl(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < ' ' && *s != '\t') || *s == '\177')
			return 1;
	return 0;
}

/* RFC 5322 2.2: a field name is printable US-ASCII other than the colon. */
static int
access_header_name_ok(const char *s)
{
	for (; *s != ':'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s > '~')
			return 0;
	return 1;
}

enum smtpd_access_verdict
smtpd_access_action(const char *value, const char *origin, enum smtpd_access_kind kind,
    const char *shown, int *code, char *reply, size_t replylen)
{
	size_t wl = strcspn(value, " \t");
	const char *rest = value + wl + strspn(value + wl, " \t");

#define ACCESS_IS(word)	(wl == sizeof(word) - 1 && strncasecmp(value, word, wl) == 0)
	if (ACCESS_IS("OK") || ACCESS_IS("RELAY")
	    || (wl > 0 && strspn(value, "0123456789") == wl && *rest == '\0'))
		return ACCESS_OK;
	if (ACCESS_IS("DUNNO"))
		return ACCESS_DUNNO;
	if (ACCESS_IS("REJECT")) {
		*code = (int)conf_int("access_map_reject_code");
		access_reply(*code, rest, kind, shown, reply, replylen);
		return ACCESS_DECIDED;
	}
	if (ACCESS_IS("DEFER")) {
		*code = (int)conf_int("access_map_defer_code");
		access_reply(*code, rest, kind, shown, reply, replylen);
		return ACCESS_DECIDED;
	}
	if (ACCESS_IS("DEFER_IF_PERMIT") || ACCESS_IS("DEFER_IF_REJECT")) {
		*code = (int)conf_int("access_map_defer_code");
		access_reply(*code, *rest ? rest : "Service unavailable", kind, shown, reply, replylen);
		return value[9] == 'P' || value[9] == 'p' ? ACCESS_DEFER_IF_PERMIT
		    : ACCESS_DEFER_IF_REJECT;
	}
	if (ACCESS_IS("PREPEND")) {
		if (*rest == '\0' || strchr(rest, ':') == NULL || rest[strcspn(rest, ": \t")] != ':') {
			log_warn("%s: PREPEND without a header (\"%s\"): ignored", origin, value);
			return ACCESS_DUNNO;
		}
		if (!access_header_name_ok(rest)) {
			log_warn("%s: PREPEND header name is not printable ASCII: ignored", origin);
			return ACCESS_DUNNO;
		}
		if (access_has_ctl(rest)) {
			/* A bare CR (or any control byte) would reach the message as it is. */
			log_warn("%s: PREPEND header with control characters: ignored", origin);
			return ACCESS_DUNNO;
		}
		if (strlen(rest) >= replylen) {
			/* Cut short it could lose its colon or end mid-character: not a header. */
			log_warn("%s: PREPEND header longer than %zu bytes: ignored", origin, replylen - 1);
			return ACCESS_DUNNO;
		}
		snprintf(reply, replylen, "%s", rest);
		return ACCESS_PREPEND;
	}
	if (ACCESS_IS("WARN") || ACCESS_IS("INFO")) {
		log_info("%s: <%s>: %s: %s", ACCESS_IS("WARN") ? "warn" : "info", shown, origin, rest);
		return ACCESS_DUNNO;
	}
	if (wl == 3 && (value[0] == '4' || value[0] == '5')
	    && isdigit((unsigned char)value[1]) && isdigit((unsigned char)value[2])) {
		*code = atoi(value);
		access_reply(*code, rest, kind, shown, reply, replylen);
		return ACCESS_DECIDED;
	}
	if (!ACCESS_IS("HOLD") && !ACCESS_IS("DISCARD") && !ACCESS_IS("FILTER")
	    && !ACCESS_IS("REDIRECT") && !ACCESS_IS("BCC") && wl > 0 && strlen(value) < replylen) {
		snprintf(reply, replylen, "%s", value);
		return ACCESS_RESTRICTIONS;
	}
#undef ACCESS_IS
	log_warn("%s: action \"%.*s\" for <%s> is not supported by Petrel: answering with "
	    "a temporary error", origin, (int)wl, value, shown);
	*code = 451;
	snprintf(reply, replylen, "451 4.3.5 Server configuration error");
	return ACCESS_DECIDED;
}

enum smtpd_access_verdict
smtpd_access_check(const char *table, enum smtpd_access_kind kind, const char *subject,
    const char *client_name, const char *shown, int *code, char *reply, size_t replylen)
{
	struct strv keys = STRV_INIT;
	char err[ACCESS_ERR_MAX];
	char *value = NULL;
	enum smtpd_access_verdict v;
	size_t i;
	int rc = 0;

	access_keys(&keys, kind, subject, client_name);
	for (i = 0; i < keys.n && i < ACCESS_KEYS_MAX; i++) {
		rc = maps_lookup(table, keys.v[i], &value, err, sizeof(err));
		if (rc != 0)
			break;
	}
	strv_free(&keys);
	if (rc < 0) {
		log_warn("%s lookup error for \"%s\": %s", table, subject, err);
		*code = 451;
		snprintf(reply, replylen, "451 4.3.0 <%s>: Temporary lookup failure", shown);
		return ACCESS_DECIDED;
	}
	if (rc == 0)
		return ACCESS_NO_MATCH;
	v = smtpd_access_action(value, table, kind, shown, code, reply, replylen);
	free(value);
	return v;
}
