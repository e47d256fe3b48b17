/*
 * generic - smtp_generic_maps (Postfix's generic(5)): addresses that are
 * right on this host but meaningless outside it (root@host.localdomain,
 * alice@laptop.lan) are replaced as mail leaves by SMTP, in the envelope
 * (MAIL FROM, RCPT TO) and in the address headers (From, Reply-To, To,
 * Cc, ...: header_has_addresses()), display names and comments kept. The
 * queue file and the logs keep the original addresses, as in Postfix.
 *
 * Keys and results are canonical(5)'s (canonical_lookup() in canonical.c):
 * user+ext@domain, user@domain, then user+ext, user only when domain is
 * $myorigin or in mydestination, then @domain. A value "new@other.example"
 * replaces the address; a value "@other.example" keeps the local part and
 * replaces the domain; an extension cut off to find the key is put back
 * when propagate_unmatched_extensions names "generic". Keys are looked up
 * in lower case (maps.h).
 *
 * API: generic_active(), generic_address(), generic_message().
 * Errors: a table that cannot be read: -1 with a reason; the SMTP client
 * then defers the recipients (4.3.0), never sends the unmapped address.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "canonical.h"
#include "conf.h"
#include "generic.h"
#include "header.h"
#include "strv.h"

#define GENERIC_PARAM	"smtp_generic_maps"

int
generic_active(void)
{
	struct strv maps = STRV_INIT;
	int n;

	conf_list(GENERIC_PARAM, &maps);
	n = maps.n > 0;
	strv_free(&maps);
	return n;
}

int
generic_address(const char *addr, char **out, char *err, size_t errlen)
{
	return canonical_lookup(GENERIC_PARAM, addr, "generic", out, err, errlen);
}

struct generic_ctx {
	int failed;
	char *err;
	size_t errlen;
};

static char *
generic_map_one(const char *addr, void *arg)
{
	struct generic_ctx *g = arg;
	char *out = NULL;

	if (g->failed)
		return NULL;
	if (generic_address(addr, &out, g->err, g->errlen) < 0)
		g->failed = 1;
	return out;
}

/* Every address header is rewritten. */
static int
generic_select(const struct header *h, void *arg)
{
	(void)arg;
	return header_has_addresses(h);
}

int
generic_message(const char *content, size_t len, struct pbuf *out, char *err, size_t errlen)
{
	struct generic_ctx g = { 0, err, errlen };
	size_t changed;

	changed = canonical_map_headers(content, len, generic_select, NULL, generic_map_one, &g,
	    out);
	if (g.failed)
		return -1;
	return changed > 0;
}
