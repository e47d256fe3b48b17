/*
 * smtp_tls_policy - the SMTP client's TLS policy per next-hop destination
 * (main.cf and smtp_tls_policy_maps); see smtp_tls_policy.h.
 *
 * The maps are only read through maps_lookup (maps.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "maps.h"
#include "pbuf.h"
#include "smtp_tls_policy.h"
#include "xalloc.h"

#define SMTP_TLS_POLICY_SEP	"\t\n\r ,"	/* between a value's words (Postfix) */
#define SMTP_TLS_NAME_SEP	":"		/* between match= names */
#define SMTP_TLS_FPT_SEP	"|"		/* between match= fingerprints */
#define SMTP_TLS_LIST_SEP	" \t\r\n,:"	/* main.cf's *_cert_match lists */
#define SMTP_TLS_FPT_LIST_SEP	" \t\r\n,"	/* smtp_tls_fingerprint_cert_match */
#define SMTP_TLS_WHERE_MAX	1024
#define SMTP_TLS_ERR_MAX	512

static const struct {
	const char *name;
	enum smtp_tls_level level;
	int dane;
} smtp_tls_levels[] = {
	{ "", SMTP_TLS_NONE, 0 },
	{ "none", SMTP_TLS_NONE, 0 },
	{ "may", SMTP_TLS_MAY, 0 },
	{ "encrypt", SMTP_TLS_ENCRYPT, 0 },
	{ "dane", SMTP_TLS_MAY, 1 },
	{ "fingerprint", SMTP_TLS_FINGERPRINT, 0 },
	{ "verify", SMTP_TLS_VERIFY, 0 },
	{ "secure", SMTP_TLS_SECURE, 0 },
};

/* Attributes of Postfix's that Petrel does not do. */
static const char *const smtp_tls_unsupported[] = {
	"tafile", "connection_reuse", "servername", "enable_rpk",
};

static const char *
smtp_tls_level_name(enum smtp_tls_level level)
{
	size_t i;

	for (i = 1; i < sizeof(smtp_tls_levels) / sizeof(smtp_tls_levels[0]); i++)
		if (smtp_tls_levels[i].level == level && !smtp_tls_levels[i].dane)
			return smtp_tls_levels[i].name;
	return "none";
}

void
smtp_tls_policy_init(struct smtp_tls_policy *p)
{
	memset(p, 0, sizeof(*p));
	strv_init(&p->match);
}

void
smtp_tls_policy_free(struct smtp_tls_policy *p)
{
	free(p->protocols);
	free(p->grade);
	free(p->exclude);
	free(p->pname);
	free(p->gname);
	free(p->note);
	strv_free(&p->match);
	smtp_tls_policy_init(p);
}

int
smtp_tls_level_parse(const char *name, enum smtp_tls_level *level, int *dane, char *why,
    size_t whylen)
{
	size_t i;

	*dane = 0;
	for (i = 0; i < sizeof(smtp_tls_levels) / sizeof(smtp_tls_levels[0]); i++) {
		if (strcasecmp(name, smtp_tls_levels[i].name) == 0) {
			*level = smtp_tls_levels[i].level;
			*dane = smtp_tls_levels[i].dane;
			return 0;
		}
	}
	if (strcasecmp(name, "dane-only") == 0)
		snprintf(why, whylen, "security level \"%s\" is not supported by Petrel "
		    "(no DNSSEC, so no DANE)", name);
	else
		snprintf(why, whylen, "invalid security level \"%s\"", name);
	return -1;
}

/* 1 when fp is hex bytes, optionally with ':' between them ("3D:95:..." or "3d95..."). */
static int
smtp_tls_fpt_valid(const char *fp)
{
	size_t digits = 0;

	for (; *fp; fp++) {
		if (*fp == ':')
			continue;
		if (!isxdigit((unsigned char)*fp))
			return 0;
		digits++;
	}
	return digits > 0 && digits % 2 == 0;
}

/* Adds the elements of list (split on seps) to p->match; -1 with err for a bad fingerprint. */
static int
smtp_tls_add_match(struct smtp_tls_policy *p, const char *list, const char *seps, char *err,
    size_t errlen)
{
	struct strv v = STRV_INIT;
	size_t i;
	int rc = 0;

	strv_split(&v, list, seps);
	for (i = 0; i < v.n; i++) {
		if (p->level == SMTP_TLS_FINGERPRINT && !smtp_tls_fpt_valid(v.v[i])) {
			snprintf(err, errlen, "malformed fingerprint \"%s\"", v.v[i]);
			rc = -1;
			break;
		}
		strv_add(&p->match, v.v[i]);
	}
	strv_free(&v);
	return rc;
}

/* One name=value attribute into p. 0, or -1 with err. */
static int
smtp_tls_attribute(struct smtp_tls_policy *p, const char *tok, char *err, size_t errlen)
{
	const char *eq = strchr(tok, '=');
	const char *val;
	char name[SMTP_TLS_ERR_MAX / 4];
	char **slot = NULL;
	size_t nl, i;

	if (eq == NULL) {
		snprintf(err, errlen, "malformed attribute/value pair \"%s\": "
		    "missing '=' after attribute name", tok);
		return -1;
	}
	nl = (size_t)(eq - tok);
	if (nl == 0) {
		snprintf(err, errlen, "malformed attribute/value pair \"%s\": "
		    "missing attribute name", tok);
		return -1;
	}
	if (nl >= sizeof(name))
		nl = sizeof(name) - 1;
	memcpy(name, tok, nl);
	name[nl] = '\0';
	val = eq + 1;
	if (strcasecmp(name, "ciphers") == 0)
		slot = &p->grade;
	else if (strcasecmp(name, "protocols") == 0)
		slot = &p->protocols;
	else if (strcasecmp(name, "exclude") == 0)
		slot = &p->exclude;
	if (slot != NULL) {
		if (slot == &p->grade && *val == '\0') {
			snprintf(err, errlen, "attribute \"%s\" has empty value", name);
			return -1;
		}
		if (*slot != NULL) {
			snprintf(err, errlen, "attribute \"%s\" is specified multiple times", name);
			return -1;
		}
		*slot = xstrdup(val);
		return 0;
	}
	if (strcasecmp(name, "match") == 0) {
		if (*val == '\0') {
			snprintf(err, errlen, "attribute \"%s\" has empty value", name);
			return -1;
		}
		if (p->level != SMTP_TLS_FINGERPRINT && p->level != SMTP_TLS_VERIFY
		    && p->level != SMTP_TLS_SECURE) {
			snprintf(err, errlen, "attribute \"%s\" invalid at security level \"%s\"",
			    name, smtp_tls_level_name(p->level));
			return -1;
		}
		return smtp_tls_add_match(p, val, p->level == SMTP_TLS_FINGERPRINT ?
		    SMTP_TLS_FPT_SEP : SMTP_TLS_NAME_SEP, err, errlen);
	}
	for (i = 0; i < sizeof(smtp_tls_unsupported) / sizeof(smtp_tls_unsupported[0]); i++) {
		if (strcasecmp(name, smtp_tls_unsupported[i]) == 0) {
			snprintf(err, errlen, "attribute \"%s\" is not supported by Petrel", name);
			return -1;
		}
	}
	snprintf(err, errlen, "invalid attribute name: \"%s\"", name);
	return -1;
}

int
smtp_tls_policy_parse(const char *value, struct smtp_tls_policy *p, char *warn,
    size_t warnlen, char *err, size_t errlen)
{
	struct strv tok = STRV_INIT;
	struct pbuf w = PBUF_INIT;
	size_t i;
	int dane, rc = -1;

	smtp_tls_policy_init(p);
	warn[0] = '\0';
	strv_split(&tok, value, SMTP_TLS_POLICY_SEP);
	if (tok.n == 0) {
		snprintf(err, errlen, "invalid empty policy");
		goto out;
	}
	if (smtp_tls_level_parse(tok.v[0], &p->level, &dane, err, errlen) < 0)
		goto out;
	if (dane)
		pbuf_printf(&w, "security level \"%s\" used as \"may\" (Petrel has no DNSSEC)",
		    tok.v[0]);
	for (i = 1; i < tok.n; i++) {
		if (p->level == SMTP_TLS_NONE) {
			pbuf_printf(&w, "%signoring attribute \"%s\" with TLS disabled",
			    w.len ? "; " : "", tok.v[i]);
			continue;
		}
		if (smtp_tls_attribute(p, tok.v[i], err, errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		smtp_tls_policy_free(p);
	snprintf(warn, warnlen, "%s", pbuf_str(&w));
	pbuf_free(&w);
	strv_free(&tok);
	return rc;
}

/* Looks key up in each map of smtp_tls_policy_maps: 1 with *value and *map, 0, -1. */
static int
smtp_tls_policy_lookup(const char *key, char **value, char **map, char *err, size_t errlen)
{
	struct strv list = STRV_INIT;
	size_t i;
	int rc = 0;

	*value = NULL;
	conf_list("smtp_tls_policy_maps", &list);
	for (i = 0; i < list.n && rc == 0; i++) {
		rc = maps_lookup(list.v[i], key, value, err, errlen);
		if (rc != 0)
			*map = xstrdup(list.v[i]);
	}
	strv_free(&list);
	return rc;
}

/* 1 when nexthop is a plain domain (no brackets, no port): its parents are tried too. */
static int
smtp_tls_plain_domain(const char *nexthop)
{
	return *nexthop != '\0' && strpbrk(nexthop, "[]:") == NULL;
}

/* main.cf's values where the policy gave none (Postfix's policy_create). */
static void
smtp_tls_policy_defaults(struct smtp_tls_policy *p)
{
	int mand = p->level >= SMTP_TLS_ENCRYPT;
	const char *also = p->level == SMTP_TLS_ENCRYPT ? "eNULL" :
	    p->level >= SMTP_TLS_FINGERPRINT ? "aNULL" : "";
	const char *pn = mand ? "smtp_tls_mandatory_protocols" : "smtp_tls_protocols";
	const char *gn = mand ? "smtp_tls_mandatory_ciphers" : "smtp_tls_ciphers";
	char *x;

	if (p->level == SMTP_TLS_NONE)
		return;
	if (p->protocols == NULL) {
		p->protocols = xstrdup(conf_str(pn));
		p->pname = xstrdup(pn);
	}
	if (p->grade == NULL) {
		p->grade = xstrdup(conf_str(gn));
		p->gname = xstrdup(gn);
	}
	if (p->exclude == NULL)
		p->exclude = xasprintf("%s %s", conf_str("smtp_tls_exclude_ciphers"),
		    mand ? conf_str("smtp_tls_mandatory_exclude_ciphers") : "");
	x = xasprintf("%s %s", p->exclude, also);
	free(p->exclude);
	p->exclude = x;
}

/* An invalid policy: why, the log, level none. */
static int
smtp_tls_policy_bad(struct smtp_tls_policy *p, const char *where, const char *what,
    char *dsn, size_t dsnlen, char *why, size_t whylen)
{
	snprintf(dsn, dsnlen, "4.7.5");
	snprintf(why, whylen, "client TLS configuration problem: %s: %s", where, what);
	log_warn("%s: %s", where, what);
	smtp_tls_policy_free(p);
	return -1;
}

int
smtp_tls_policy_find(const char *nexthop, struct smtp_tls_policy *p, char *dsn,
    size_t dsnlen, char *why, size_t whylen)
{
	char err[SMTP_TLS_ERR_MAX], warn[SMTP_TLS_ERR_MAX], where[SMTP_TLS_WHERE_MAX];
	char *value = NULL, *map = NULL;
	const char *key = nexthop;
	int dane, rc = 0;

	smtp_tls_policy_init(p);
	where[0] = '\0';
	/* The destination's policy: the key, then (a plain domain) ".parent" keys. */
	while (key != NULL) {
		rc = smtp_tls_policy_lookup(key, &value, &map, err, sizeof(err));
		if (rc != 0)
			break;
		key = smtp_tls_plain_domain(nexthop) ? strchr(key + 1, '.') : NULL;
	}
	if (rc < 0) {
		snprintf(dsn, dsnlen, "4.3.0");
		snprintf(why, whylen, "TLS policy lookup error: %s", err);
		log_warn("smtp_tls_policy_maps, next-hop destination \"%s\": %s", nexthop, err);
		free(map);
		return -1;
	}
	if (rc > 0) {
		snprintf(where, sizeof(where), "%s, next-hop destination \"%s\"", map, key);
		free(map);
		rc = smtp_tls_policy_parse(value, p, warn, sizeof(warn), err, sizeof(err));
		free(value);
		if (rc < 0)
			return smtp_tls_policy_bad(p, where, err, dsn, dsnlen, why, whylen);
		if (warn[0])
			log_warn("%s: %s", where, warn);
		p->note = xasprintf(" (TLS policy \"%s\" of %s)", smtp_tls_level_name(p->level),
		    where);
		if (p->protocols != NULL)
			p->pname = xasprintf("protocols=%s of %s", p->protocols, where);
		if (p->grade != NULL)
			p->gname = xasprintf("ciphers= of %s", where);
	} else {
		const char *lv = conf_str("smtp_tls_security_level");

		/*
		 * Postfix 2.2's booleans count while the level is empty: enforce
		 * means verify (encrypt when smtp_tls_enforce_peername = no).
		 */
		if (*lv == '\0' && conf_bool("smtp_enforce_tls"))
			lv = conf_bool("smtp_tls_enforce_peername") ? "verify" : "encrypt";
		else if (*lv == '\0' && conf_bool("smtp_use_tls"))
			lv = "may";
		if (smtp_tls_level_parse(lv, &p->level, &dane, err, sizeof(err)) < 0) {
			snprintf(dsn, dsnlen, "4.3.5");
			snprintf(why, whylen, "smtp_tls_security_level = %s: %s (none, may, encrypt, "
			    "fingerprint, verify, secure)", lv, err);
			log_warn("%s", why);
			smtp_tls_policy_free(p);
			return -1;
		}
		if (dane) {
			static int warned;

			if (!warned)
				log_warn("smtp_tls_security_level = %s used as \"may\" "
				    "(Petrel has no DNSSEC)", lv);
			warned = 1;
		}
		p->note = xstrdup("");
		snprintf(where, sizeof(where), "smtp_tls_security_level = %s", lv);
	}
	if (conf_bool("smtp_tls_wrappermode") && p->level < SMTP_TLS_ENCRYPT) {
		static int warned;

		/* No plain text to fall back to: TLS is mandatory here (Postfix). */
		if (!warned)
			log_warn("smtp_tls_wrappermode requires smtp_tls_security_level = encrypt "
			    "(or stronger): using encrypt");
		warned = 1;
		p->level = SMTP_TLS_ENCRYPT;
	}
	if (p->match.n == 0 && p->level == SMTP_TLS_FINGERPRINT) {
		if (smtp_tls_add_match(p, conf_str("smtp_tls_fingerprint_cert_match"),
		    SMTP_TLS_FPT_LIST_SEP, err, sizeof(err)) < 0)
			return smtp_tls_policy_bad(p, "smtp_tls_fingerprint_cert_match", err, dsn,
			    dsnlen, why, whylen);
		if (p->match.n == 0)
			return smtp_tls_policy_bad(p, where, "configured at fingerprint security "
			    "level, but with no fingerprints to match", dsn, dsnlen, why, whylen);
	}
	if (p->match.n == 0 && p->level >= SMTP_TLS_VERIFY)
		smtp_tls_add_match(p, conf_str(p->level == SMTP_TLS_VERIFY ?
		    "smtp_tls_verify_cert_match" : "smtp_tls_secure_cert_match"), SMTP_TLS_LIST_SEP,
		    err, sizeof(err));
	smtp_tls_policy_defaults(p);
	return 0;
}

void
smtp_tls_policy_preopen(void)
{
	char err[SMTP_TLS_ERR_MAX];
	char *value = NULL;

	/* Any key opens every map of the list; errors show at the real lookup. */
	if (maps_lookup_list("smtp_tls_policy_maps", "[petrel-preopen]", &value, err,
	    sizeof(err)) > 0)
		free(value);
}

int
smtp_tls_policy_maps_changed(void)
{
	if (geteuid() == 0 || !maps_changed_list("smtp_tls_policy_maps"))
		return 0;
	log_info("smtp_tls_policy_maps has changed -- restarting");
	return 1;
}
