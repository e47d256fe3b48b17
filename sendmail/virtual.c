/*
 * virtual - Postfix's virtual alias domains and tables (virtual(5)):
 * mail for info@example.org goes to alice, to bob@elsewhere.example, or
 * to both, on a host whose own name is not example.org.
 *
 * virtual_alias_domains (default $virtual_alias_maps) lists the domains
 * whose every address must be in virtual_alias_maps. An element is a
 * domain, or a table (type:name) in which the domain is looked up as a
 * key with any value: with the default, a line "example.org anything" in
 * the virtual table makes example.org a virtual alias domain, as in
 * Postfix.
 *
 * virtual_expand() rewrites the recipients of a message before it is
 * queued (every writer into incoming/ calls it: smtpd, pickup, the queue
 * manager's notices, local forwarding, as Postfix's cleanup does for all
 * mail). For each recipient the keys are, first match wins:
 *   user+ext@domain, user@domain   the address (recipient_delimiter)
 *   user+ext, user                 the local part, only for a domain in
 *                                  mydestination
 *   @domain                        a catch-all
 * The value is a list of addresses (commas or spaces); one without a
 * domain gets @$myorigin. Each result is expanded again (an address that
 * lists itself stops there: "a@x  a@x, b@y" keeps a copy), up to
 * virtual_alias_recursion_limit levels and virtual_alias_expansion_limit
 * addresses per original recipient; duplicates are dropped. An expanded
 * recipient keeps its NOTIFY and gets an ORCPT naming the original
 * address (so delivery logs say orig_to= and notices Original-Recipient:).
 * Unmatched address extensions are not carried over to the results
 * (Postfix's propagate_unmatched_extensions is not supported).
 *
 * Virtual mailbox domains (Postfix's virtual mailbox domain class):
 * virtual_mailbox_domains (default $virtual_mailbox_maps) lists them, in
 * the same way; their mail goes to virtual_transport (resolve.h), and
 * smtpd takes only the addresses that virtual_mailbox_maps (keys
 * user+ext@domain, user@domain, @domain; any value) or
 * virtual_alias_maps list. Virtual aliasing comes first, as in Postfix.
 *
 * Errors: a table that cannot be read, a loop past the recursion limit,
 * or an expansion past its limit: -1 with a reason; the caller does not
 * queue the message now (the SMTP client gets 451 4.3.0, a maildrop file
 * waits for the next pickup run), since queueing it unexpanded would send
 * the mail somewhere else.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "local.h"
#include "log.h"
#include "maps.h"
#include "qfile.h"
#include "strv.h"
#include "virtual.h"
#include "xalloc.h"

#define VIRTUAL_ERR_MAX		256
#define VIRTUAL_SEP		", \t\r\n"

/* 1 when domain is in the domain list param (domains and tables), 0 when not, -1 (err). */
static int
virtual_in_domains(const char *param, const char *domain, char *err, size_t errlen)
{
	struct strv list = STRV_INIT;
	size_t i, dl = strlen(domain);
	int hit = 0;

	while (dl > 0 && domain[dl - 1] == '.')
		dl--;
	if (dl == 0)
		return 0;
	conf_list(param, &list);
	for (i = 0; i < list.n && hit == 0; i++) {
		const char *d = list.v[i];

		if (strchr(d, ':') != NULL) {
			char *key = xstrndup(domain, dl), *value = NULL;
			char why[VIRTUAL_ERR_MAX];
			int rc = maps_lookup(d, key, &value, why, sizeof(why));

			free(key);
			free(value);
			if (rc < 0) {
				snprintf(err, errlen, "%s lookup in %s: %s", param, d, why);
				hit = -1;
			} else if (rc > 0) {
				hit = 1;
			}
			continue;
		}
		if (*d == '.')
			d++;
		if (strlen(d) == dl && strncasecmp(d, domain, dl) == 0)
			hit = 1;
	}
	strv_free(&list);
	return hit;
}

int
virtual_domain(const char *domain, char *err, size_t errlen)
{
	return virtual_in_domains("virtual_alias_domains", domain, err, errlen);
}

int
virtual_mailbox_domain(const char *domain, char *err, size_t errlen)
{
	return virtual_in_domains("virtual_mailbox_domains", domain, err, errlen);
}

/* addr with its extension cut off ("user+ext@d" -> "user@d"), or NULL when it has none. */
static char *
virtual_unextended(const char *addr)
{
	const char *delim = conf_str("recipient_delimiter");
	const char *at = strrchr(addr, '@');
	size_t llen = at ? (size_t)(at - addr) : strlen(addr);
	size_t cut;

	if (*delim == '\0')
		return NULL;
	cut = strcspn(addr, delim);
	if (cut == 0 || cut >= llen)
		return NULL;
	return xasprintf("%.*s%s", (int)cut, addr, at ? at : "");
}

/* One key in the tables of param: 1 found (*value), 0 not, -1 error. */
static int
virtual_try(const char *param, const char *key, char **value, char *err, size_t errlen)
{
	char why[VIRTUAL_ERR_MAX];
	int rc = maps_lookup_list(param, key, value, why, sizeof(why));

	if (rc < 0)
		snprintf(err, errlen, "%s lookup of %s: %s", param, key, why);
	return rc;
}

int
virtual_lookup(const char *addr, char **value, char *err, size_t errlen)
{
	const char *at = strrchr(addr, '@');
	char *plain = virtual_unextended(addr);
	char *keys[5];
	size_t n = 0, i;
	int rc = 0;

	*value = NULL;
	keys[n++] = xstrdup(addr);
	if (plain)
		keys[n++] = xstrdup(plain);
	if (at != NULL && local_is_local(addr)) {
		keys[n++] = xstrndup(addr, (size_t)(at - addr));
		if (plain)
			keys[n++] = xstrndup(plain, strcspn(plain, "@"));
	}
	if (at != NULL && at[1] != '\0')
		keys[n++] = xstrdup(at);
	for (i = 0; i < n && rc == 0; i++)
		rc = virtual_try("virtual_alias_maps", keys[i], value, err, errlen);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(plain);
	return rc;
}

int
virtual_mailbox_lookup(const char *addr, char **value, char *err, size_t errlen)
{
	const char *at = strrchr(addr, '@');
	char *plain = virtual_unextended(addr);
	int rc;

	*value = NULL;
	rc = virtual_try("virtual_mailbox_maps", addr, value, err, errlen);
	if (rc == 0 && plain != NULL)
		rc = virtual_try("virtual_mailbox_maps", plain, value, err, errlen);
	if (rc == 0 && at != NULL && at[1] != '\0')
		rc = virtual_try("virtual_mailbox_maps", at, value, err, errlen);
	free(plain);
	return rc;
}

struct virtual_run {
	struct strv out;	/* the addresses that stay */
	long recursion_limit, expansion_limit;
	char *err;
	size_t errlen;
};

static void
virtual_keep(struct virtual_run *v, const char *addr)
{
	size_t i;

	for (i = 0; i < v->out.n; i++)
		if (strcasecmp(v->out.v[i], addr) == 0)
			return;
	strv_add(&v->out, addr);
}

static int
virtual_walk(struct virtual_run *v, const char *addr, long depth)
{
	char *value = NULL, *copy, *tok, *save = NULL;
	int rc;

	if (depth > v->recursion_limit) {
		snprintf(v->err, v->errlen, "virtual_alias_maps: recursion past "
		    "virtual_alias_recursion_limit (%ld) at %s: a loop?", v->recursion_limit, addr);
		return -1;
	}
	rc = virtual_lookup(addr, &value, v->err, v->errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		virtual_keep(v, addr);
		return 0;
	}
	copy = value;
	for (tok = strtok_r(copy, VIRTUAL_SEP, &save); tok; tok = strtok_r(NULL, VIRTUAL_SEP, &save)) {
		char *target = strchr(tok, '@') ? xstrdup(tok)
		    : xasprintf("%s@%s", tok, conf_str("myorigin"));

		if (strcasecmp(target, addr) == 0)
			virtual_keep(v, target);	/* "a@x  a@x, b@y": a copy stays */
		else if (virtual_walk(v, target, depth + 1) < 0)
			rc = -1;
		free(target);
		if (rc < 0)
			break;
		if ((long)v->out.n > v->expansion_limit) {
			snprintf(v->err, v->errlen, "virtual_alias_maps: %s expands to more than "
			    "virtual_alias_expansion_limit (%ld) addresses", addr, v->expansion_limit);
			rc = -1;
			break;
		}
	}
	free(value);
	return rc < 0 ? -1 : 0;
}

/* 1 when e already has addr to do. */
static int
virtual_has_rcpt(const struct qenv *e, const char *addr)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == QR_TODO && strcasecmp(e->rcpt[i].addr, addr) == 0)
			return 1;
	return 0;
}

int
virtual_expand(struct qenv *e, char *err, size_t errlen)
{
	struct qrcpt *old = e->rcpt;
	size_t nold = e->nrcpt, i, k;
	struct strv maps = STRV_INIT;
	int rc = 0;

	conf_list("virtual_alias_maps", &maps);
	i = maps.n;
	strv_free(&maps);
	if (i == 0)
		return 0;
	e->rcpt = NULL;
	e->nrcpt = 0;
	for (i = 0; i < nold && rc == 0; i++) {
		struct virtual_run v;

		if (old[i].state != QR_TODO) {
			qenv_add_rcpt(e, old[i].addr, old[i].notify, old[i].orcpt);
			e->rcpt[e->nrcpt - 1].state = old[i].state;
			continue;
		}
		memset(&v, 0, sizeof(v));
		v.recursion_limit = conf_int("virtual_alias_recursion_limit");
		v.expansion_limit = conf_int("virtual_alias_expansion_limit");
		v.err = err;
		v.errlen = errlen;
		rc = virtual_walk(&v, old[i].addr, 0);
		for (k = 0; rc == 0 && k < v.out.n; k++) {
			const char *a = v.out.v[k];
			char *orcpt = NULL;

			if (virtual_has_rcpt(e, a))
				continue;	/* two aliases of one mailbox: one copy */
			if (strcasecmp(a, old[i].addr) == 0) {
				qenv_add_rcpt(e, a, old[i].notify, old[i].orcpt);
				continue;
			}
			if (old[i].orcpt == NULL)
				orcpt = qenv_orcpt_make(old[i].addr);
			qenv_add_rcpt(e, a, old[i].notify, old[i].orcpt ? old[i].orcpt : orcpt);
			free(orcpt);
		}
		strv_free(&v.out);
	}
	if (rc < 0) {
		/* Put the envelope back as it was: the caller keeps the message as it came. */
		for (i = 0; i < e->nrcpt; i++) {
			free(e->rcpt[i].addr);
			free(e->rcpt[i].orcpt);
		}
		free(e->rcpt);
		e->rcpt = old;
		e->nrcpt = nold;
		return -1;
	}
	for (i = 0; i < nold; i++) {
		free(old[i].addr);
		free(old[i].orcpt);
	}
	free(old);
	return 0;
}
