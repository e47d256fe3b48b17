/*
 * resolve - recipient routing; see resolve.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "local.h"
#include "log.h"
#include "maps.h"
#include "resolve.h"
#include "strv.h"
#include "virtual.h"
#include "xalloc.h"

#define RESOLVE_WILDCARD	"*"
#define RESOLVE_PREFIX_ROOM	40	/* room for "transport_maps lookup failed: " */
#define RESOLVE_DSN_MIN		5	/* "5.0.0" */
#define RESOLVE_SHOW_MAX	64	/* bytes of a bad entry quoted in a reason */

/* The recipient domain, lower case, without trailing dots; malloc'd, or NULL. */
static char *
resolve_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	char *d;
	size_t n, i;

	if (at == NULL || at[1] == '\0')
		return NULL;
	d = xstrdup(at + 1);
	n = strlen(d);
	while (n > 0 && d[n - 1] == '.')
		d[--n] = '\0';
	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

int
resolve_relay_domain(const char *domain)
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

static void resolve_default_nexthop(const char *domain, const char *relay, const char *nh,
    struct resolve_result *r);
static void resolve_set(struct resolve_result *r, enum resolve_transport t, const char *dsn,
    const char *text);

/*
 * The envelope sender of the message being routed (resolve_rcpt's), for
 * sender_dependent_relayhost_maps; NULL outside resolve_rcpt().
 */
static const char *resolve_sender;

/*
 * sender_dependent_relayhost_maps: the sender, then "@domain" (the null
 * sender as empty_address_relayhost_maps_lookup_key). 1 with *relay
 * (malloc'd), 0 when none (or DUNNO), -1 with r deferred (4.3.0) when a
 * table cannot be read.
 */
static int
resolve_sender_relay(char **relay, struct resolve_result *r)
{
	const char *param = "sender_dependent_relayhost_maps";
	char err[RESOLVE_TEXT_MAX - 2 * RESOLVE_PREFIX_ROOM], text[RESOLVE_TEXT_MAX];
	const char *key, *at;
	int rc;

	*relay = NULL;
	if (resolve_sender == NULL || conf_str(param)[0] == '\0')
		return 0;
	key = *resolve_sender ? resolve_sender : conf_str("empty_address_relayhost_maps_lookup_key");
	rc = maps_lookup_list(param, key, relay, err, sizeof(err));
	at = strrchr(resolve_sender, '@');
	if (rc == 0 && at != NULL)
		rc = maps_lookup_list(param, at, relay, err, sizeof(err));
	if (rc < 0) {
		log_warn("%s lookup of %s: %s", param, key, err);
		snprintf(text, sizeof(text), "%s lookup failed: %s", param, err);
		resolve_set(r, RESOLVE_DEFER, "4.3.0", text);
		return -1;
	}
	if (rc > 0 && strcasecmp(*relay, "DUNNO") == 0) {
		free(*relay);
		*relay = NULL;
		return 0;
	}
	return rc;
}

/*
 * The default SMTP nexthop: the sender's relay host
 * (sender_dependent_relayhost_maps), relayhost, or the domain (an address
 * literal kept in brackets).
 */
static void
resolve_default_smtp(const char *domain, struct resolve_result *r)
{
	char *sender_relay = NULL;
	int src = resolve_sender_relay(&sender_relay, r);
	const char *relay = src > 0 ? sender_relay : conf_str("relayhost");
	const char *nh = *relay ? relay : domain;

	if (src < 0)
		return;
	resolve_default_nexthop(domain, relay, nh, r);
	free(sender_relay);
}

/* The default SMTP nexthop nh (relay: the relay host it came from, or ""). */
static void
resolve_default_nexthop(const char *domain, const char *relay, const char *nh,
    struct resolve_result *r)
{

	if (strlen(nh) > RESOLVE_NEXTHOP_MAX || strpbrk(nh, " \t") != NULL) {
		/* Never cut a name: a cut one could be somebody else's. */
		r->transport = *relay ? RESOLVE_DEFER : RESOLVE_ERROR;
		snprintf(r->dsn, sizeof(r->dsn), "%s", *relay ? "4.3.5" : "5.1.2");
		snprintf(r->text, sizeof(r->text), "%s is not a valid host or domain name "
		    "(longer than %d bytes, or with spaces)", *relay ? "relayhost" : "the recipient domain",
		    RESOLVE_NEXTHOP_MAX);
		return;
	}
	r->transport = RESOLVE_SMTP;
	snprintf(r->nexthop, sizeof(r->nexthop), "%s", nh);
}

static void
resolve_set(struct resolve_result *r, enum resolve_transport t, const char *dsn,
    const char *text)
{
	r->transport = t;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	snprintf(r->text, sizeof(r->text), "%s", text);
}

/* An error: entry's text, with its own "5.x.y " code when it starts with one. */
static void
resolve_error(const char *what, const char *text, struct resolve_result *r)
{
	size_t n = strspn(text, "0123456789.");
	char dflt[RESOLVE_TEXT_MAX];

	if (*text == '\0') {
		snprintf(dflt, sizeof(dflt), "mail for this domain is not accepted (%s error:)", what);
		text = dflt;
	}
	if (n >= RESOLVE_DSN_MIN && n < sizeof(r->dsn) && (text[0] == '4' || text[0] == '5')
	    && text[1] == '.' && text[n] == ' ') {
		memcpy(r->dsn, text, n);
		r->dsn[n] = '\0';
		r->transport = text[0] == '4' ? RESOLVE_DEFER : RESOLVE_ERROR;
		snprintf(r->text, sizeof(r->text), "%s", text + n + 1);
		return;
	}
	resolve_set(r, RESOLVE_ERROR, "5.0.0", text);
}

/*
 * The LMTP nexthop of an "lmtp:" entry as the request carries it:
 * "lmtp:unix:/path" (a relative path is under queue_directory) or
 * "lmtp:inet:host[:port]" (also for a nexthop given without "inet:").
 * 0, or -1 with r deferred (4.3.5, naming what).
 */
static int
resolve_lmtp(const char *what, const char *domain, const char *nh, struct resolve_result *r)
{
	char text[RESOLVE_TEXT_MAX];
	int n;

	if (*nh == '\0' || strpbrk(nh, " \t") != NULL
	    || strcmp(nh, RESOLVE_LMTP_UNIX) == 0 || strcmp(nh, RESOLVE_LMTP_INET) == 0) {
		snprintf(text, sizeof(text), "%s: bad lmtp nexthop \"%.64s\" for %s (want "
		    "unix:/path, inet:host:port or host:port)", what, nh, domain);
		resolve_set(r, RESOLVE_DEFER, "4.3.5", text);
		return -1;
	}
	if (strncmp(nh, RESOLVE_LMTP_UNIX, strlen(RESOLVE_LMTP_UNIX)) == 0) {
		const char *path = nh + strlen(RESOLVE_LMTP_UNIX);

		if (*path == '/')
			n = snprintf(r->nexthop, sizeof(r->nexthop), RESOLVE_LMTP_PREFIX "%s%s",
			    RESOLVE_LMTP_UNIX, path);
		else
			n = snprintf(r->nexthop, sizeof(r->nexthop), RESOLVE_LMTP_PREFIX "%s%s/%s",
			    RESOLVE_LMTP_UNIX, conf_str("queue_directory"), path);
	} else if (strncmp(nh, RESOLVE_LMTP_INET, strlen(RESOLVE_LMTP_INET)) == 0) {
		n = snprintf(r->nexthop, sizeof(r->nexthop), RESOLVE_LMTP_PREFIX "%s", nh);
	} else {
		n = snprintf(r->nexthop, sizeof(r->nexthop), RESOLVE_LMTP_PREFIX "%s%s",
		    RESOLVE_LMTP_INET, nh);
	}
	if (n < 0 || (size_t)n >= sizeof(r->nexthop)) {
		snprintf(text, sizeof(text), "%s: lmtp nexthop \"%.64s\" for %s is longer than "
		    "%d bytes", what, nh, domain, RESOLVE_NEXTHOP_MAX);
		resolve_set(r, RESOLVE_DEFER, "4.3.5", text);
		return -1;
	}
	r->transport = RESOLVE_LMTP;
	return 0;
}

/* Applies a "transport:nexthop" value (of the parameter or table what) for domain. */
static void
resolve_entry(const char *what, const char *domain, const char *value, struct resolve_result *r)
{
	const char *colon = strchr(value, ':');
	const char *nh = colon ? colon + 1 : value + strlen(value);
	size_t tl = colon ? (size_t)(colon - value) : strlen(value);
	char text[RESOLVE_TEXT_MAX];

	while (*nh == ' ' || *nh == '\t')
		nh++;
	if ((tl == 4 && strncmp(value, "smtp", tl) == 0)
	    || (tl == 5 && strncmp(value, "relay", tl) == 0)) {
		if (*nh == '\0') {
			resolve_default_smtp(domain, r);
		} else if (strlen(nh) > RESOLVE_NEXTHOP_MAX || strpbrk(nh, " \t") != NULL) {
			snprintf(text, sizeof(text), "%s: bad nexthop \"%.64s\" for %s", what,
			    nh, domain);
			resolve_set(r, RESOLVE_DEFER, "4.3.5", text);
		} else {
			r->transport = RESOLVE_SMTP;
			snprintf(r->nexthop, sizeof(r->nexthop), "%s", nh);
		}
	} else if (tl == 4 && strncmp(value, "lmtp", tl) == 0) {
		(void)resolve_lmtp(what, domain, nh, r);
	} else if (tl == 5 && strncmp(value, "local", tl) == 0) {
		r->transport = RESOLVE_LOCAL;
	} else if (tl == 5 && strncmp(value, "error", tl) == 0) {
		resolve_error(what, nh, r);
	} else if (tl == 7 && strncmp(value, "virtual", tl) == 0) {
		/* Postfix's virtual(8) delivery agent: Petrel has none. */
		snprintf(text, sizeof(text), "%s: transport \"virtual\" for %s: Petrel has no "
		    "virtual(8) delivery agent; set virtual_transport = lmtp:unix:/path (or "
		    "lmtp:host:port) to deliver virtual mailbox domains", what, domain);
		log_warn("%s", text);
		resolve_set(r, RESOLVE_DEFER, "4.3.5", text);
	} else {
		snprintf(text, sizeof(text), "%s: unsupported transport \"%.*s\" "
		    "for %s", what, (int)(tl > RESOLVE_SHOW_MAX ? RESOLVE_SHOW_MAX : tl), value,
		    domain);
		resolve_set(r, RESOLVE_DEFER, "4.3.5", text);
	}
}

void
resolve_transport(const char *what, const char *addr, const char *value, struct resolve_result *r)
{
	memset(r, 0, sizeof(*r));
	resolve_entry(what, addr, value, r);
}

/*
 * transport_maps: the domain, each parent as ".parent", then "*". 1 when
 * an entry (or a broken map) decided r, 0 when none matched.
 */
static int
resolve_transport_maps(const char *domain, struct resolve_result *r)
{
	struct strv maps = STRV_INIT;
	char *value = NULL, err[RESOLVE_TEXT_MAX - RESOLVE_PREFIX_ROOM];
	const char *p;
	size_t nmaps;
	int rc;

	conf_list("transport_maps", &maps);
	nmaps = maps.n;
	strv_free(&maps);
	if (nmaps == 0)
		return 0;
	rc = maps_lookup_list("transport_maps", domain, &value, err, sizeof(err));
	for (p = strchr(domain, '.'); rc == 0 && p != NULL && p[1] != '\0'; p = strchr(p + 1, '.'))
		rc = maps_lookup_list("transport_maps", p, &value, err, sizeof(err));
	if (rc == 0)
		rc = maps_lookup_list("transport_maps", RESOLVE_WILDCARD, &value, err, sizeof(err));
	if (rc < 0) {
		char text[RESOLVE_TEXT_MAX];

		log_warn("transport_maps lookup of %s: %s", domain, err);
		snprintf(text, sizeof(text), "transport_maps lookup failed: %s", err);
		resolve_set(r, RESOLVE_DEFER, "4.3.0", text);
		return 1;
	}
	if (rc == 0)
		return 0;
	resolve_entry("transport_maps", domain, value, r);
	free(value);
	return 1;
}

static void resolve_rcpt_domain(const char *addr, struct resolve_result *r);

void
resolve_rcpt(const char *sender, const char *addr, struct resolve_result *r)
{
	resolve_sender = sender;
	resolve_rcpt_domain(addr, r);
	resolve_sender = NULL;
}

static void
resolve_rcpt_domain(const char *addr, struct resolve_result *r)
{
	char *domain;

	memset(r, 0, sizeof(*r));
	if (local_is_local(addr)) {
		r->transport = RESOLVE_LOCAL;
		return;
	}
	domain = resolve_domain(addr);
	if (domain == NULL) {
		r->transport = RESOLVE_LOCAL;
		return;
	}
	/*
	 * An address of a virtual alias domain that virtual aliasing left as
	 * it was has no mailbox (Postfix's error transport says the same).
	 */
	switch (virtual_domain(domain, r->text, sizeof(r->text))) {
	case 1:
		r->transport = RESOLVE_ERROR;
		snprintf(r->dsn, sizeof(r->dsn), "5.1.1");
		snprintf(r->text, sizeof(r->text), "User unknown in virtual alias table");
		free(domain);
		return;
	case -1:
		r->transport = RESOLVE_DEFER;
		snprintf(r->dsn, sizeof(r->dsn), "4.3.0");
		free(domain);
		return;
	default:
		break;
	}
	if (resolve_transport_maps(domain, r)) {
		free(domain);
		return;
	}
	/* The virtual mailbox domain class: virtual_transport. */
	switch (virtual_mailbox_domain(domain, r->text, sizeof(r->text))) {
	case 1:
		resolve_entry("virtual_transport", domain, conf_str("virtual_transport"), r);
		free(domain);
		return;
	case -1:
		log_warn("%s", r->text);
		r->transport = RESOLVE_DEFER;
		snprintf(r->dsn, sizeof(r->dsn), "4.3.0");
		free(domain);
		return;
	default:
		break;
	}
	/*
	 * The relay domain class (relay_domains: relay_transport) and the
	 * default class (default_transport); "smtp" and "relay" without a
	 * nexthop go to relayhost or the domain's MX.
	 */
	if (resolve_relay_domain(domain))
		resolve_entry("relay_transport", domain, conf_str("relay_transport"), r);
	else
		resolve_entry("default_transport", domain, conf_str("default_transport"), r);
	free(domain);
}
