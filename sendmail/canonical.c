/*
 * canonical - Postfix's canonical(5) address mapping and address
 * masquerading, applied to every new message before it is queued, as
 * Postfix's cleanup(8) does: "root@box.lan" leaves as "admin@example.com",
 * "alice@host.dept.example.com" as "alice@example.com".
 *
 * Where: the queue's message hook (queue_set_message_hook, set with the
 * virtual alias hook in every daemon process), so every writer into
 * incoming/ or hold/ gets it: smtpd, pickup (sendmail and the submission
 * socket), bounces and forwarding. Order per address, as Postfix's
 * cleanup_addr.c: sender_canonical_maps (senders) or
 * recipient_canonical_maps (recipients), then canonical_maps, then
 * masquerade_domains; virtual alias expansion comes after all of it (the
 * envelope hook runs second).
 *
 * Classes: each table applies to the address classes its *_classes
 * parameter names (envelope_sender, envelope_recipient, header_sender,
 * header_recipient); masquerade_classes by default leaves envelope
 * recipients alone. Header addresses are those of header_has_addresses()
 * plus Bcc/Resent-Bcc; To, Cc, Bcc, Resent-To, Resent-Cc, Resent-Bcc,
 * Resent-Reply-To and Apparently-To are recipient headers, the rest
 * sender headers (Postfix's header_opts). Headers of mail from an SMTP
 * client are rewritten only when the client matches
 * local_header_rewrite_clients (permit_inet_interfaces,
 * permit_mynetworks, permit_sasl_authenticated, static:all), as Postfix
 * does without remote_header_rewrite_domain; its envelope always is.
 *
 * Lookups (canonical_lookup): user+ext@domain, user@domain, then for a
 * domain that is $myorigin or in mydestination user+ext, user, then
 * @domain (keys lowercased by maps.c). A result is looked up again until
 * it maps onto itself, at most CANONICAL_NESTING_MAX times (then a
 * warning and the last result stays). Masquerading: the first element of
 * masquerade_domains that is the domain or a parent of it decides; a
 * parent strips the domain to it, "!domain" or the domain itself keeps it.
 * masquerade_exceptions lists local parts (or tables of them) that are
 * never masqueraded. The null sender never changes.
 *
 * API: canonical.h.
 * Errors: a table that cannot be read gives -1 with a reason naming the
 * parameter and the key; canonical_message() then leaves the envelope as
 * it was and the queue refuses the commit (the SMTP client gets 451
 * 4.3.0, a maildrop file waits for the next pickup run).
 */
#include "config.h"

#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "canonical.h"
#include "conf.h"
#include "header.h"
#include "local.h"
#include "log.h"
#include "maps.h"
#include "qfile.h"
#include "smtpd_check.h"
#include "strv.h"
#include "xalloc.h"

#define CANONICAL_NESTING_MAX	10	/* Postfix's cleanup_map11 MAX_RECURSION */
#define CANONICAL_KEYS_MAX	5
#define CANONICAL_ERR_MAX	256
#define CANONICAL_VALUE_SEP	" \t\r\n,"

/* One of the three canonical tables and the parameter naming its classes. */
struct canonical_table {
	const char *maps;
	const char *classes;
};

static const struct canonical_table canonical_sender_table =
	{ "sender_canonical_maps", "sender_canonical_classes" };
static const struct canonical_table canonical_recipient_table =
	{ "recipient_canonical_maps", "recipient_canonical_classes" };
static const struct canonical_table canonical_common_table =
	{ "canonical_maps", "canonical_classes" };

static const struct {
	const char *name;
	unsigned bit;
} canonical_class_names[] = {
	{ "envelope_sender", CANONICAL_ENV_SENDER },
	{ "envelope_recipient", CANONICAL_ENV_RCPT },
	{ "header_sender", CANONICAL_HDR_SENDER },
	{ "header_recipient", CANONICAL_HDR_RCPT },
};
#define CANONICAL_NCLASS	(sizeof(canonical_class_names) / sizeof(canonical_class_names[0]))

/* Postfix's HDR_OPT_RECIP headers; every other address header is a sender header. */
static const char *const canonical_rcpt_headers[] = {
	"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc", "Resent-Reply-To",
	"Apparently-To", NULL
};

unsigned
canonical_classes(const char *param)
{
	struct strv list = STRV_INIT;
	unsigned bits = 0;
	size_t i, k;

	conf_list(param, &list);
	for (i = 0; i < list.n; i++) {
		for (k = 0; k < CANONICAL_NCLASS; k++)
			if (strcasecmp(list.v[i], canonical_class_names[k].name) == 0)
				break;
		if (k < CANONICAL_NCLASS)
			bits |= canonical_class_names[k].bit;
		else
			log_warn("%s: unknown address class \"%s\" ignored (use envelope_sender, "
			    "envelope_recipient, header_sender, header_recipient)", param, list.v[i]);
	}
	strv_free(&list);
	return bits;
}

/* 1 when the list parameter param has at least one element. */
static int
canonical_param_set(const char *param)
{
	struct strv list = STRV_INIT;
	int set;

	conf_list(param, &list);
	set = list.n > 0;
	strv_free(&list);
	return set;
}

/* 1 when the "user" key applies to domain: $myorigin or one of mydestination's. */
static int
canonical_local_domain(const char *domain)
{
	char *probe;
	int local;

	if (strcasecmp(domain, conf_str("myorigin")) == 0)
		return 1;
	probe = xasprintf("x@%s", domain);
	local = local_is_local(probe);
	free(probe);
	return local;
}

/* Where the extension of the local part (llen bytes) starts, or llen when it has none. */
static size_t
canonical_ext_start(const char *addr, size_t llen)
{
	const char *delim = conf_str("recipient_delimiter");
	size_t cut;

	if (*delim == '\0')
		return llen;
	cut = strcspn(addr, delim);
	return cut == 0 || cut >= llen ? llen : cut;
}

/* 1 when propagate_unmatched_extensions names ext_class. */
static int
canonical_propagate(const char *ext_class)
{
	struct strv list = STRV_INIT;
	int yes;

	if (ext_class == NULL)
		return 0;
	conf_list("propagate_unmatched_extensions", &list);
	yes = strv_find(&list, ext_class, 1) >= 0;
	strv_free(&list);
	return yes;
}

int
canonical_lookup(const char *param, const char *addr, const char *ext_class,
    char **out, char *err, size_t errlen)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at ? (size_t)(at - addr) : strlen(addr);
	size_t cut = canonical_ext_start(addr, llen);
	char *keys[CANONICAL_KEYS_MAX], *value = NULL, *v, *vat;
	int stripped[CANONICAL_KEYS_MAX];
	size_t n = 0, i, keep, hit = 0;
	const char *ext = addr + cut;
	int rc = 0, ext_len = 0;

	*out = NULL;
	if (*addr == '\0' || llen == 0)
		return 0;
	stripped[n] = 0;
	keys[n++] = xstrdup(addr);
	if (cut < llen) {
		stripped[n] = 1;
		keys[n++] = xasprintf("%.*s%s", (int)cut, addr, at ? at : "");
	}
	if (at == NULL || canonical_local_domain(at + 1)) {
		if (at != NULL) {
			stripped[n] = 0;
			keys[n++] = xstrndup(addr, llen);
		}
		if (cut < llen) {
			stripped[n] = 1;
			keys[n++] = xstrndup(addr, cut);
		}
	}
	if (at != NULL && at[1] != '\0') {
		stripped[n] = 0;
		keys[n++] = xstrdup(at);
	}
	for (i = 0; i < n && rc == 0; i++) {
		hit = i;
		rc = maps_lookup_list(param, keys[i], &value, err, errlen);
		if (rc < 0) {
			char why[CANONICAL_ERR_MAX];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "%s lookup of %s: %s", param, keys[i], why);
		}
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	if (rc <= 0)
		return rc;
	if (stripped[hit] && canonical_propagate(ext_class))
		ext_len = (int)(llen - cut);
	keep = stripped[hit] ? cut : llen;
	v = value + strspn(value, CANONICAL_VALUE_SEP);
	v[strcspn(v, CANONICAL_VALUE_SEP)] = '\0';
	if (*v == '\0')
		rc = 0;
	else if (*v == '@')
		*out = xasprintf("%.*s%.*s%s", (int)keep, addr, ext_len, ext, v);
	else if ((vat = strrchr(v, '@')) != NULL)
		*out = xasprintf("%.*s%.*s%s", (int)(vat - v), v, ext_len, ext, vat);
	else
		*out = xasprintf("%s%.*s@%s", v, ext_len, ext, conf_str("myorigin"));
	free(value);
	return *out != NULL;
}

int
canonical_address(const char *param, const char *addr, char **out, char *err, size_t errlen)
{
	char *cur = xstrdup(addr), *next = NULL;
	int round, changed = 0, rc = 0;

	*out = NULL;
	for (round = 0; round < CANONICAL_NESTING_MAX; round++) {
		int self;

		rc = canonical_lookup(param, cur, "canonical", &next, err, errlen);
		if (rc <= 0)
			break;
		self = strcasecmp(next, cur) == 0;
		if (strcmp(next, cur) != 0)
			changed = 1;
		free(cur);
		cur = next;
		next = NULL;
		if (self)
			break;
	}
	if (rc < 0) {
		free(cur);
		return -1;
	}
	if (round == CANONICAL_NESTING_MAX)
		log_warn("%s: unreasonable nesting for %s (more than %d rounds)", param, addr,
		    CANONICAL_NESTING_MAX);
	if (!changed) {
		free(cur);
		return 0;
	}
	*out = cur;
	return 1;
}

/* 1 when the local part of addr (llen bytes) is in masquerade_exceptions, -1 with err. */
static int
canonical_masq_excepted(const char *addr, size_t llen, char *err, size_t errlen)
{
	struct strv list = STRV_INIT;
	char *name = xstrndup(addr, llen);
	size_t i;
	int hit = 0;

	conf_list("masquerade_exceptions", &list);
	for (i = 0; i < list.n && hit == 0; i++) {
		const char *x = list.v[i];

		if (strchr(x, ':') != NULL) {
			char *value = NULL, why[CANONICAL_ERR_MAX];
			int rc = maps_lookup(x, name, &value, why, sizeof(why));

			free(value);
			if (rc < 0) {
				snprintf(err, errlen, "masquerade_exceptions lookup of %s in %s: %s",
				    name, x, why);
				hit = -1;
			} else {
				hit = rc;
			}
		} else if (strcasecmp(x, name) == 0) {
			hit = 1;
		}
	}
	strv_free(&list);
	free(name);
	return hit;
}

int
canonical_masquerade(const char *addr, char **out, char *err, size_t errlen)
{
	const char *at = strrchr(addr, '@'), *domain;
	struct strv list = STRV_INIT;
	size_t i, dlen;
	int rc;

	*out = NULL;
	if (at == NULL || at[1] == '\0')
		return 0;
	domain = at + 1;
	dlen = strlen(domain);
	conf_list("masquerade_domains", &list);
	if (list.n == 0) {
		strv_free(&list);
		return 0;
	}
	rc = canonical_masq_excepted(addr, (size_t)(at - addr), err, errlen);
	if (rc != 0) {
		strv_free(&list);
		return rc < 0 ? -1 : 0;
	}
	for (i = 0; i < list.n; i++) {
		const char *m = list.v[i];
		int strip = 1;
		size_t mlen;

		for (; *m == '!'; m++)
			strip = !strip;
		mlen = strlen(m);
		if (mlen == 0 || mlen > dlen)
			continue;
		if (mlen == dlen) {
			if (strcasecmp(m, domain) == 0)
				break;	/* the domain itself: stays */
			continue;
		}
		if (domain[dlen - mlen - 1] == '.' && strcasecmp(m, domain + dlen - mlen) == 0) {
			if (strip)
				*out = xasprintf("%.*s@%s", (int)(at - addr), addr, m);
			break;
		}
	}
	strv_free(&list);
	return *out != NULL;
}

/* Replaces *cur by next when rc says it changed; -1 when rc is an error. */
static int
canonical_step(char **cur, int rc, char *next)
{
	if (rc < 0)
		return -1;
	if (rc > 0) {
		free(*cur);
		*cur = next;
	}
	return 0;
}

int
canonical_rewrite(unsigned class, const char *addr, char **out, char *err, size_t errlen)
{
	const struct canonical_table *own =
	    class & (CANONICAL_ENV_SENDER | CANONICAL_HDR_SENDER)
	    ? &canonical_sender_table : &canonical_recipient_table;
	const struct canonical_table *tables[2];
	char *cur, *next = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (*addr == '\0')
		return 0;	/* the null sender stays */
	tables[0] = own;
	tables[1] = &canonical_common_table;
	cur = xstrdup(addr);
	for (i = 0; i < 2; i++) {
		if (!canonical_param_set(tables[i]->maps)
		    || (canonical_classes(tables[i]->classes) & class) == 0)
			continue;
		rc = canonical_address(tables[i]->maps, cur, &next, err, errlen);
		if (canonical_step(&cur, rc, next) < 0)
			goto fail;
	}
	if (canonical_param_set("masquerade_domains")
	    && (canonical_classes("masquerade_classes") & class) != 0) {
		rc = canonical_masquerade(cur, &next, err, errlen);
		if (canonical_step(&cur, rc, next) < 0)
			goto fail;
	}
	if (strcmp(cur, addr) == 0) {
		free(cur);
		return 0;
	}
	*out = cur;
	return 1;
fail:
	free(cur);
	return -1;
}

int
canonical_recipient_known(const char *addr, char *err, size_t errlen)
{
	const struct canonical_table *tables[2];
	size_t i;
	int rc = 0;

	tables[0] = &canonical_recipient_table;
	tables[1] = &canonical_common_table;
	for (i = 0; i < 2 && rc == 0; i++) {
		char *out = NULL;

		if (!canonical_param_set(tables[i]->maps)
		    || (canonical_classes(tables[i]->classes) & CANONICAL_ENV_RCPT) == 0)
			continue;
		rc = canonical_lookup(tables[i]->maps, addr, NULL, &out, err, errlen);
		free(out);
	}
	return rc;
}

size_t
canonical_map_headers(const char *content, size_t len, canonical_select_fn select,
    void *sctx, addr_map_fn fn, void *fctx, struct pbuf *out)
{
	struct headers h;
	size_t i, pos = 0, changed = 0;

	headers_init(&h);
	headers_parse(content, len, &h);
	for (i = 0; i < h.n; i++) {
		const struct header *hd = &h.v[i];
		const char *colon = memchr(hd->raw, ':', hd->raw_len);
		size_t off = (size_t)(hd->raw - content), vstart, vlen;

		if (colon == NULL || !select(hd, sctx))
			continue;
		vstart = off + (size_t)(colon - hd->raw) + 1;
		vlen = hd->raw_len - (size_t)(colon - hd->raw) - 1;
		if (vlen > 0 && content[vstart + vlen - 1] == '\n')
			vlen--;
		pbuf_append(out, content + pos, vstart - pos);
		changed += addr_map_header(content + vstart, vlen, fn, fctx, out);
		pos = vstart + vlen;
	}
	headers_free(&h);
	pbuf_append(out, content + pos, len - pos);
	return changed;
}

int
canonical_recipient_header(const struct header *h)
{
	const char *const *n;

	for (n = canonical_rcpt_headers; *n; n++)
		if (header_is(h, *n))
			return 1;
	return 0;
}

/* 1 when the numeric address addr is one of this host's interface addresses. */
static int
canonical_interface_addr(const char *addr)
{
	struct ifaddrs *ifa = NULL, *p;
	char host[NI_MAXHOST];
	int hit = 0;

	if (getifaddrs(&ifa) < 0) {
		log_warn("local_header_rewrite_clients: getifaddrs: %m");
		return 0;
	}
	for (p = ifa; p != NULL && !hit; p = p->ifa_next) {
		socklen_t sl;

		if (p->ifa_addr == NULL)
			continue;
		if (p->ifa_addr->sa_family == AF_INET)
			sl = sizeof(struct sockaddr_in);
		else if (p->ifa_addr->sa_family == AF_INET6)
			sl = sizeof(struct sockaddr_in6);
		else
			continue;
		if (getnameinfo(p->ifa_addr, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		host[strcspn(host, "%")] = '\0';	/* fe80::1%eth0 */
		hit = strcasecmp(host, addr) == 0;
	}
	freeifaddrs(ifa);
	return hit;
}

int
canonical_local_headers(const struct qenv *e)
{
	const char *origin = qenv_attr(e, "origin");
	const char *client = qenv_attr(e, "client_address");
	struct strv list = STRV_INIT;
	size_t i;
	int yes = 0;

	if (origin == NULL || strcmp(origin, "smtpd") != 0)
		return 1;
	if (client == NULL)
		client = "";
	if (strncasecmp(client, "::ffff:", strlen("::ffff:")) == 0 && strchr(client, '.'))
		client += strlen("::ffff:");
	conf_list("local_header_rewrite_clients", &list);
	for (i = 0; i < list.n && !yes; i++) {
		const char *w = list.v[i];

		if (strcasecmp(w, "permit_inet_interfaces") == 0)
			yes = *client != '\0' && canonical_interface_addr(client);
		else if (strcasecmp(w, "permit_mynetworks") == 0)
			yes = *client != '\0' && smtpd_check_mynetworks(client);
		else if (strcasecmp(w, "permit_sasl_authenticated") == 0)
			yes = qenv_attr(e, "sasl_username") != NULL;
		else if (strcasecmp(w, "static:all") == 0)
			yes = 1;
		else
			log_warn("local_header_rewrite_clients: unsupported element \"%s\" ignored", w);
	}
	strv_free(&list);
	return yes;
}

/* State of one message's header rewrite. */
struct canonical_hdr {
	unsigned class;		/* of the header being rewritten */
	int failed;
	char *err;
	size_t errlen;
};

static int
canonical_select(const struct header *h, void *arg)
{
	struct canonical_hdr *c = arg;

	if (canonical_recipient_header(h))
		c->class = CANONICAL_HDR_RCPT;
	else if (header_has_addresses(h))
		c->class = CANONICAL_HDR_SENDER;
	else
		return 0;
	return 1;
}

static char *
canonical_map_one(const char *addr, void *arg)
{
	struct canonical_hdr *c = arg;
	char *out = NULL;

	if (c->failed)
		return NULL;
	if (canonical_rewrite(c->class, addr, &out, c->err, c->errlen) < 0)
		c->failed = 1;
	return out;
}

/* 1 when one of the tables or masquerade_domains is set. */
static int
canonical_active(void)
{
	return canonical_param_set(canonical_common_table.maps)
	    || canonical_param_set(canonical_sender_table.maps)
	    || canonical_param_set(canonical_recipient_table.maps)
	    || canonical_param_set("masquerade_domains");
}

/* 1 when one of the first n recipients in v is addr, still to do. */
static int
canonical_seen(const struct qrcpt *v, size_t n, const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].state == QR_TODO && strcasecmp(v[i].addr, addr) == 0)
			return 1;
	return 0;
}

int
canonical_message(struct qenv *e, const char *content, size_t len, struct pbuf *out,
    char *err, size_t errlen)
{
	struct canonical_hdr c = { 0, 0, err, errlen };
	char *sender = NULL, **rcpt;
	size_t i, k, changed = 0;
	int rc = 0;

	if (!canonical_active())
		return 0;
	rcpt = xcalloc(e->nrcpt ? e->nrcpt : 1, sizeof(*rcpt));
	if (e->sender != NULL)
		rc = canonical_rewrite(CANONICAL_ENV_SENDER, e->sender, &sender, err, errlen);
	for (i = 0; i < e->nrcpt && rc >= 0; i++)
		if (e->rcpt[i].state == QR_TODO)
			rc = canonical_rewrite(CANONICAL_ENV_RCPT, e->rcpt[i].addr, &rcpt[i], err,
			    errlen);
	if (rc >= 0 && canonical_local_headers(e)) {
		changed = canonical_map_headers(content, len, canonical_select, &c,
		    canonical_map_one, &c, out);
		if (c.failed)
			rc = -1;
	}
	if (rc < 0) {
		free(sender);
		for (i = 0; i < e->nrcpt; i++)
			free(rcpt[i]);
		free(rcpt);
		pbuf_reset(out);
		return -1;
	}
	if (sender != NULL)
		qenv_set_sender(e, sender);
	free(sender);
	/* The recipients: rewritten ones get an ORCPT naming the address they had (orig_to=). */
	for (i = 0; i < e->nrcpt; i++) {
		struct qrcpt *r = &e->rcpt[i];

		if (rcpt[i] == NULL)
			continue;
		if (r->orcpt == NULL)
			r->orcpt = qenv_orcpt_make(r->addr);
		free(r->addr);
		r->addr = rcpt[i];
	}
	free(rcpt);
	/* Two recipients that became one address: one copy, the first. */
	for (i = 0, k = 0; i < e->nrcpt; i++) {
		struct qrcpt r = e->rcpt[i];

		if (r.state == QR_TODO && canonical_seen(e->rcpt, k, r.addr)) {
			free(r.addr);
			free(r.orcpt);
			continue;
		}
		e->rcpt[k++] = r;
	}
	e->nrcpt = k;
	if (changed == 0) {
		pbuf_reset(out);
		return 0;
	}
	return 1;
}
