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
#include "resolve.h"
#include "strv.h"
#include "xalloc.h"

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

/* The default SMTP nexthop: relayhost, or the domain (an address literal kept in brackets). */
static void
resolve_default_smtp(const char *domain, struct resolve_result *r)
{
	const char *relay = conf_str("relayhost");

	r->transport = RESOLVE_SMTP;
	snprintf(r->nexthop, sizeof(r->nexthop), "%s", *relay ? relay : domain);
}

#ifdef HAVE_MAPS
#include "maps.h"

static void
resolve_set(struct resolve_result *r, enum resolve_transport t, const char *dsn,
    const char *text)
{
	r->transport = t;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	snprintf(r->text, sizeof(r->text), "%s", text);
}


/*
 * transport_maps: 1 when an entry decided r, 0 when none matched.
 */
static int
resolve_transport_maps(const char *domain, struct resolve_result *r)
{
	struct strv maps = STRV_INIT;
	const char *key;
	char *value = NULL, err[RESOLVE_TEXT_MAX];
	size_t i;
	int found = 0;

	conf_list("transport_maps", &maps);
	for (i = 0; i < maps.n && !found; i++) {
		const char *p;
		char *dotted = NULL;

		/* The domain, then ".parent" for each parent, then "*". */
		for (key = domain, p = domain; key != NULL && !found;) {
			int rc = maps_lookup(maps.v[i], key, &value, err, sizeof(err));

			if (rc < 0) {
				char text[RESOLVE_TEXT_MAX];

				snprintf(text, sizeof(text), "transport_maps %s: %s", maps.v[i], err);
				resolve_set(r, RESOLVE_DEFER, "4.3.0", text);
				free(dotted);
				strv_free(&maps);
				return 1;
			}
			if (rc > 0) {
				found = 1;
				break;
			}
			free(dotted);
			dotted = NULL;
			p = strchr(p + (*p == '.'), '.');
			if (p != NULL && p[1] != '\0') {
				dotted = xstrdup(p);
				key = dotted;
			} else if (strcmp(key, "*") != 0) {
				key = "*";
				p = "";
			} else {
				key = NULL;
			}
		}
		free(dotted);
	}
	strv_free(&maps);
	if (!found)
		return 0;
	{
		char *colon = strchr(value, ':');
		char *tr = value, *nh = colon ? colon + 1 : value + strlen(value);
		size_t tl = colon ? (size_t)(colon - value) : strlen(value);

		while (*nh == ' ' || *nh == '\t')
			nh++;
		if (tl == 4 && strncmp(tr, "smtp", 4) == 0) {
			if (*nh == '\0')
				resolve_default_smtp(domain, r);
			else if (strlen(nh) > RESOLVE_NEXTHOP_MAX || strpbrk(nh, " \t") != NULL)
				resolve_set(r, RESOLVE_DEFER, "4.3.5", "transport_maps: bad nexthop");
			else {
				r->transport = RESOLVE_SMTP;
				snprintf(r->nexthop, sizeof(r->nexthop), "%s", nh);
			}
		} else if (tl == 5 && strncmp(tr, "local", 5) == 0) {
			r->transport = RESOLVE_LOCAL;
		} else if (tl == 5 && strncmp(tr, "error", 5) == 0) {
			resolve_set(r, RESOLVE_ERROR, "5.0.0", *nh ? nh : "mail for this domain "
			    "is not accepted (transport_maps error:)");
		} else {
			char text[RESOLVE_TEXT_MAX];

			snprintf(text, sizeof(text), "transport_maps: unknown transport \"%.*s\" "
			    "for %s", (int)(tl > 64 ? 64 : tl), tr, domain);
			resolve_set(r, RESOLVE_DEFER, "4.3.5", text);
		}
	}
	free(value);
	return 1;
}
#endif

void
resolve_rcpt(const char *addr, struct resolve_result *r)
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
#ifdef HAVE_MAPS
	if (resolve_transport_maps(domain, r)) {
		free(domain);
		return;
	}
#endif
	resolve_default_smtp(domain, r);
	free(domain);
}
