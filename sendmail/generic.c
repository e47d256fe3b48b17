/*
 * generic - smtp_generic_maps (Postfix's generic(5)): addresses that are
 * right on this host but meaningless outside it (root@host.localdomain,
 * alice@laptop.lan) are replaced as mail leaves by SMTP, in the envelope
 * (MAIL FROM, RCPT TO) and in the address headers (From, Reply-To, To,
 * Cc, ...: header_has_addresses()), display names and comments kept. The
 * queue file and the logs keep the original addresses, as in Postfix.
 *
 * Keys, first match wins:
 *   user@domain
 *   user           only when domain is $myorigin or in mydestination
 *   @domain
 * A value "new@other.example" replaces the address; a value "@other.example"
 * keeps the local part and replaces the domain. Keys are looked up in
 * lower case (maps.h).
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
#include "conf.h"
#include "generic.h"
#include "header.h"
#include "local.h"
#include "maps.h"
#include "strv.h"
#include "xalloc.h"

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

/* 1 when domain is $myorigin or one of mydestination's. */
static int
generic_local_domain(const char *domain)
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

int
generic_address(const char *addr, char **out, char *err, size_t errlen)
{
	const char *at = strrchr(addr, '@');
	char *keys[3], *value = NULL;
	size_t n = 0, i;
	int rc = 0;

	*out = NULL;
	if (*addr == '\0')
		return 0;	/* the null sender stays */
	keys[n++] = xstrdup(addr);
	if (at != NULL && at > addr && generic_local_domain(at + 1))
		keys[n++] = xstrndup(addr, (size_t)(at - addr));
	if (at != NULL && at[1] != '\0')
		keys[n++] = xstrdup(at);
	for (i = 0; i < n && rc == 0; i++)
		rc = maps_lookup_list(GENERIC_PARAM, keys[i], &value, err, errlen);
	for (i = 0; i < n; i++)
		free(keys[i]);
	if (rc <= 0)
		return rc;
	value[strcspn(value, " \t,")] = '\0';
	if (value[0] == '@' && value[1] != '\0')
		*out = xasprintf("%.*s%s", (int)(at ? at - addr : (long)strlen(addr)), addr, value);
	else if (value[0] != '\0')
		*out = xstrdup(value);
	free(value);
	return *out != NULL;
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

int
generic_message(const char *content, size_t len, struct pbuf *out, char *err, size_t errlen)
{
	struct headers h;
	struct generic_ctx g = { 0, err, errlen };
	size_t i, pos = 0, changed = 0;

	headers_init(&h);
	headers_parse(content, len, &h);
	for (i = 0; i < h.n && !g.failed; i++) {
		const struct header *hd = &h.v[i];
		const char *colon = memchr(hd->raw, ':', hd->raw_len);
		size_t off = (size_t)(hd->raw - content), vstart, vlen;

		if (colon == NULL || !header_has_addresses(hd))
			continue;
		vstart = off + (size_t)(colon - hd->raw) + 1;
		vlen = hd->raw_len - (size_t)(colon - hd->raw) - 1;
		if (vlen > 0 && content[vstart + vlen - 1] == '\n')
			vlen--;
		pbuf_append(out, content + pos, vstart - pos);
		changed += addr_map_header(content + vstart, vlen, generic_map_one, &g, out);
		pos = vstart + vlen;
	}
	headers_free(&h);
	if (g.failed)
		return -1;
	pbuf_append(out, content + pos, len - pos);
	return changed > 0;
}
