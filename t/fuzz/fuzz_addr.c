/*
 * fuzz_addr - libFuzzer target for sendmail/addr.c.
 *
 * Feeds the input to addr_parse_list() and addr_qualify_header() and
 * checks what must always hold (abort() otherwise, so the fuzzer reports
 * it): every address is at most ADDR_MAX_LEN bytes and holds no NUL;
 * parsing an address again gives the same single address; the qualified
 * text parses into as many elements as the original, all with a domain,
 * and qualify_header reports as many changes as there were bare names.
 * Also sendmail/canonical.c's address work that needs no table:
 * canonical_masquerade() (masquerade_domains "!sub.example.com,
 * example.com") keeps the local part and ends in "@example.com" when it
 * changes anything; canonical_lookup() with no tables finds nothing;
 * canonical_map_headers() over the input as a message offers no more
 * addresses than it replaces.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Ilib -Isendmail
 *   t/fuzz/fuzz_addr.c sendmail/addr.c lib/pbuf.c lib/strv.c lib/xalloc.c lib/log.c
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "canonical.h"
#include "conf.h"
#include "header.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define FUZZ_DOMAIN	"example.com"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when addr has an '@' outside quotes. */
static int
has_domain(const char *addr)
{
	int inq = 0;

	for (; *addr; addr++) {
		if (inq && *addr == '\\' && addr[1]) {
			addr++;
			continue;
		}
		if (*addr == '"')
			inq = !inq;
		else if (*addr == '@' && !inq)
			return 1;
	}
	return 0;
}

#define FUZZ_MAPPED	"mapped@fuzz.example"

static char *
fuzz_same(const char *addr, void *ctx)
{
	(*(size_t *)ctx)++;
	return xstrdup(addr);
}

static char *
fuzz_mapped(const char *addr, void *ctx)
{
	(void)addr;
	(*(size_t *)ctx)++;
	return xstrdup(FUZZ_MAPPED);
}

/* Every address header. */
static int
fuzz_any_header(const struct header *h, void *ctx)
{
	(void)ctx;
	return header_has_addresses(h) || canonical_recipient_header(h);
}

/* canonical.c's table-free address work on one C string. */
static void
fuzz_canonical(const char *addr)
{
	char err[256], *out = NULL;
	const char *at = strrchr(addr, '@');
	size_t dl = strlen("@" FUZZ_DOMAIN), ol;

	if (canonical_masquerade(addr, &out, err, sizeof(err)) > 0) {
		ol = strlen(out);
		if (at == NULL || ol < dl || strcmp(out + ol - dl, "@" FUZZ_DOMAIN) != 0
		    || strncmp(out, addr, (size_t)(at - addr) + 1) != 0)
			abort();
		free(out);
	} else if (out != NULL) {
		abort();
	}
	if (canonical_lookup("canonical_maps", addr, "canonical", &out, err, sizeof(err)) != 0
	    || out != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	const char *text = (const char *)data;
	struct strv v = STRV_INIT, v2 = STRV_INIT, one = STRV_INIT;
	struct pbuf q = PBUF_INIT;
	size_t bad = 0, bad2 = 0, bad1, n, n2, i, bare = 0, changed;
	char *s;

	if (!inited) {
		log_disable_sinks();
		conf_load_defaults("/nonexistent");
		conf_override("masquerade_domains", "!sub." FUZZ_DOMAIN ", " FUZZ_DOMAIN);
		conf_override("recipient_delimiter", "+-");
		inited = 1;
	}
	n = addr_parse_list(text, size, &v, &bad);
	if (n != v.n)
		abort();
	for (i = 0; i < v.n; i++) {
		size_t len = strlen(v.v[i]);

		if (len == 0 || len > ADDR_MAX_LEN)
			abort();
		if (!has_domain(v.v[i]))
			bare++;
		/* The SMTP form is a fixed point of the parser. */
		strv_free(&one);
		if (addr_parse_list(v.v[i], len, &one, &bad1) != 1 || bad1 != 0 ||
		    strcmp(one.v[0], v.v[i]) != 0)
			abort();
		s = addr_qualify(v.v[i], FUZZ_DOMAIN);
		if (!has_domain(s))
			abort();
		free(s);
		s = addr_unquote_local(v.v[i]);
		free(s);
		fuzz_canonical(v.v[i]);
	}

	changed = addr_qualify_header(text, size, FUZZ_DOMAIN, &q);
	if (changed != bare || q.len != size + changed * (sizeof(FUZZ_DOMAIN)))
		abort();
	n2 = addr_parse_list(q.data, q.len, &v2, &bad2);
	if (n2 + bad2 != n + bad)
		abort();
	for (i = 0; i < v2.n; i++)
		if (!has_domain(v2.v[i]))
			abort();

	/*
	 * addr_map_header offers each address once (a replacement by its own
	 * SMTP form counts as a change: CFWS inside an address is not kept);
	 * replacing each by FUZZ_MAPPED leaves a list with as many addresses,
	 * every one of them FUZZ_MAPPED.
	 */
	{
		struct pbuf m = PBUF_INIT;
		struct strv v3 = STRV_INIT;
		size_t seen = 0, bad3 = 0;

		if (addr_map_header(text, size, fuzz_same, &seen, &m) != n || seen != n)
			abort();
		pbuf_reset(&m);
		seen = 0;
		if (addr_map_header(text, size, fuzz_mapped, &seen, &m) != n)
			abort();
		if (addr_parse_list(pbuf_str(&m), m.len, &v3, &bad3) != n)
			abort();
		for (i = 0; i < v3.n; i++)
			if (strcmp(v3.v[i], FUZZ_MAPPED) != 0)
				abort();
		strv_free(&v3);
		pbuf_free(&m);
	}

	/* The input as a whole message: its address headers all mapped. */
	{
		struct pbuf m = PBUF_INIT;
		size_t seen = 0, got;

		got = canonical_map_headers(text, size, fuzz_any_header, NULL, fuzz_mapped, &seen,
		    &m);
		if (got != seen)
			abort();
		pbuf_free(&m);
	}

	/* The single-address helpers take C strings. */
	s = xstrndup(text, size);
	fuzz_canonical(s);
	free(addr_strip_brackets(s));
	free(addr_unquote_local(s));
	free(addr_qualify(s, FUZZ_DOMAIN));
	free(s);
	strv_free(&v);
	strv_free(&v2);
	strv_free(&one);
	pbuf_free(&q);
	return 0;
}
