/*
 * smtp_tls_policy_test - unit tests of sendmail/smtp_tls_policy.c: the
 * value parser of smtp_tls_policy_maps (levels, attributes, the errors
 * Postfix gives for bad ones) and smtp_tls_policy_find against a real
 * hash: map built by maps_build (exact key, [host]:port, parent domains,
 * main.cf's defaults, a missing map).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "maps.h"
#include "smtp_tls_policy.h"
#include "tap.h"

#define ERR_MAX	512

static char warn[ERR_MAX], err[ERR_MAX], res[4 * ERR_MAX];

/* Parses v; the level, or -1 with err. */
static int
parse(const char *v, struct smtp_tls_policy *p)
{
	err[0] = '\0';
	if (smtp_tls_policy_parse(v, p, warn, sizeof(warn), err, sizeof(err)) < 0)
		return -1;
	return (int)p->level;
}

/* parse() must fail with the reason want. */
static void
bad(const char *v, const char *want)
{
	struct smtp_tls_policy p;

	is_int(parse(v, &p), -1, "\"%s\": invalid", v);
	is_str(err, want, "\"%s\": the reason", v);
	is_int(p.level, SMTP_TLS_NONE, "\"%s\": level none left", v);
	smtp_tls_policy_free(&p);
}

static void
test_parse(void)
{
	struct smtp_tls_policy p;

	is_int(parse("none", &p), SMTP_TLS_NONE, "none");
	smtp_tls_policy_free(&p);
	is_int(parse("MAY", &p), SMTP_TLS_MAY, "MAY: case does not matter");
	is_str(warn, "", "may: no warning");
	smtp_tls_policy_free(&p);
	is_int(parse("encrypt protocols=>=TLSv1.2, ciphers=high exclude=3DES:RC4", &p),
	    SMTP_TLS_ENCRYPT, "encrypt with attributes, commas and spaces");
	is_str(p.protocols, ">=TLSv1.2", "protocols=");
	is_str(p.grade, "high", "ciphers=");
	is_str(p.exclude, "3DES:RC4", "exclude=");
	is_int(p.match.n, 0, "encrypt: no match");
	smtp_tls_policy_free(&p);
	is_int(parse("secure match=.example.com:nexthop match=hostname", &p), SMTP_TLS_SECURE,
	    "secure, match twice");
	is_int(p.match.n, 3, "match: three names");
	is_str(p.match.n == 3 ? p.match.v[0] : NULL, ".example.com", "match: first");
	is_str(p.match.n == 3 ? p.match.v[2] : NULL, "hostname", "match: the second attribute's");
	smtp_tls_policy_free(&p);
	is_int(parse("verify match=mx.example.com", &p), SMTP_TLS_VERIFY, "verify");
	smtp_tls_policy_free(&p);
	is_int(parse("fingerprint match=3D:95:34:0B|aabbccdd", &p), SMTP_TLS_FINGERPRINT,
	    "fingerprint, two with |");
	is_int(p.match.n, 2, "fingerprint: two");
	is_str(p.match.n == 2 ? p.match.v[1] : NULL, "aabbccdd", "fingerprint: without colons");
	smtp_tls_policy_free(&p);
	is_int(parse("dane", &p), SMTP_TLS_MAY, "dane: used as may");
	is_str(warn, "security level \"dane\" used as \"may\" (Petrel has no DNSSEC)",
	    "dane: the warning");
	smtp_tls_policy_free(&p);
	is_int(parse("none ciphers=high", &p), SMTP_TLS_NONE, "none with an attribute");
	is_str(warn, "ignoring attribute \"ciphers=high\" with TLS disabled",
	    "none: the attribute ignored with a warning");
	smtp_tls_policy_free(&p);
	is_int(parse("encrypt protocols=", &p), SMTP_TLS_ENCRYPT, "empty protocols= is all");
	is_str(p.protocols, "", "empty protocols= kept");
	smtp_tls_policy_free(&p);

	bad("", "invalid empty policy");
	bad(" ,\t", "invalid empty policy");
	bad("mandatory", "invalid security level \"mandatory\"");
	bad("dane-only", "security level \"dane-only\" is not supported by Petrel "
	    "(no DNSSEC, so no DANE)");
	bad("encrypt foo=bar", "invalid attribute name: \"foo\"");
	bad("encrypt ciphers", "malformed attribute/value pair \"ciphers\": "
	    "missing '=' after attribute name");
	bad("encrypt =high", "malformed attribute/value pair \"=high\": missing attribute name");
	bad("encrypt ciphers=", "attribute \"ciphers\" has empty value");
	bad("encrypt ciphers=high ciphers=low", "attribute \"ciphers\" is specified multiple times");
	bad("may protocols=TLSv1.2 protocols=TLSv1.3",
	    "attribute \"protocols\" is specified multiple times");
	bad("may exclude=RC4 exclude=MD5", "attribute \"exclude\" is specified multiple times");
	bad("encrypt match=example.com", "attribute \"match\" invalid at security level \"encrypt\"");
	bad("may match=example.com", "attribute \"match\" invalid at security level \"may\"");
	bad("verify match=", "attribute \"match\" has empty value");
	bad("fingerprint match=3D:9X", "malformed fingerprint \"3D:9X\"");
	bad("fingerprint match=ABC", "malformed fingerprint \"ABC\"");
	bad("verify tafile=/etc/ta.pem", "attribute \"tafile\" is not supported by Petrel");
	bad("encrypt connection_reuse=yes",
	    "attribute \"connection_reuse\" is not supported by Petrel");
}

/* find(nexthop): the level, or -1 with err = "DSN why". */
static int
find(const char *nexthop, struct smtp_tls_policy *p)
{
	char dsn[16], why[ERR_MAX * 2];

	res[0] = '\0';
	if (smtp_tls_policy_find(nexthop, p, dsn, sizeof(dsn), why, sizeof(why)) < 0) {
		snprintf(res, sizeof(res), "%s %s", dsn, why);
		return -1;
	}
	return (int)p->level;
}

static void
test_find(const char *dir)
{
	struct smtp_tls_policy p;
	char path[ERR_MAX], spec[ERR_MAX + 8], want[ERR_MAX * 2];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%.400s/tls_policy", dir);
	snprintf(spec, sizeof(spec), "hash:%s", path);
	f = fopen(path, "w");
	if (f == NULL) {
		ok(0, "write %s", path);
		return;
	}
	fputs("bank.example secure\n"
	    ".corp.example encrypt ciphers=high\n"
	    "[10.0.0.1]:587 verify match=relay.example\n"
	    "bad.example mandatory\n"
	    "fp.example fingerprint\n"
	    "plain.example none\n", f);
	fclose(f);
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "the policy map is built");
	conf_override("smtp_tls_policy_maps", spec);
	conf_override("smtp_tls_security_level", "may");

	is_int(find("other.example", &p), SMTP_TLS_MAY, "no entry: main.cf's may");
	is_str(p.note, "", "main.cf: no note");
	is_str(p.protocols, ">=TLSv1", "may: smtp_tls_protocols");
	is_str(p.grade, "medium", "may: smtp_tls_ciphers");
	is_str(p.pname, "smtp_tls_protocols", "may: the protocols' origin");
	smtp_tls_policy_free(&p);

	is_int(find("bank.example", &p), SMTP_TLS_SECURE, "exact key: secure");
	is_int(p.match.n, 2, "secure: smtp_tls_secure_cert_match's two names");
	is_str(p.match.n == 2 ? p.match.v[1] : NULL, "dot-nexthop", "secure: dot-nexthop");
	is_str(p.exclude, "  aNULL", "secure: aNULL excluded");
	snprintf(want, sizeof(want), " (TLS policy \"secure\" of %s, next-hop destination "
	    "\"bank.example\")", spec);
	is_str(p.note, want, "secure: the note names the map and the key");
	smtp_tls_policy_free(&p);

	is_int(find("a.b.corp.example", &p), SMTP_TLS_ENCRYPT, "sub-subdomain: .corp.example");
	is_str(p.grade, "high", "parent entry's ciphers=");
	is_str(p.exclude, "  eNULL", "encrypt: eNULL excluded");
	snprintf(want, sizeof(want), " (TLS policy \"encrypt\" of %s, next-hop destination "
	    "\".corp.example\")", spec);
	is_str(p.note, want, "parent: the note names the key that matched");
	smtp_tls_policy_free(&p);
	is_int(find("corp.example", &p), SMTP_TLS_MAY, ".corp.example does not cover corp.example");
	smtp_tls_policy_free(&p);

	is_int(find("[10.0.0.1]:587", &p), SMTP_TLS_VERIFY, "[host]:port key");
	is_int(p.match.n, 1, "verify: match= replaces the default");
	smtp_tls_policy_free(&p);
	is_int(find("[10.0.0.1]", &p), SMTP_TLS_MAY, "[host] without the port: not that key");
	smtp_tls_policy_free(&p);
	is_int(find("[bank.example]", &p), SMTP_TLS_MAY, "[domain]: no domain lookup");
	smtp_tls_policy_free(&p);

	is_int(find("plain.example", &p), SMTP_TLS_NONE, "none overrides main.cf's may");
	smtp_tls_policy_free(&p);

	is_int(find("bad.example", &p), -1, "invalid value: an error");
	snprintf(want, sizeof(want), "4.7.5 client TLS configuration problem: %s, next-hop "
	    "destination \"bad.example\": invalid security level \"mandatory\"", spec);
	is_str(res, want, "invalid value: 4.7.5, the map, the key, the reason");

	is_int(find("fp.example", &p), -1, "fingerprint without fingerprints: an error");
	snprintf(want, sizeof(want), "4.7.5 client TLS configuration problem: %s, next-hop "
	    "destination \"fp.example\": configured at fingerprint security level, but with "
	    "no fingerprints to match", spec);
	is_str(res, want, "fingerprint without fingerprints: the reason");
	conf_override("smtp_tls_fingerprint_cert_match", "AA:BB, ccdd");
	is_int(find("fp.example", &p), SMTP_TLS_FINGERPRINT,
	    "smtp_tls_fingerprint_cert_match supplies them");
	is_int(p.match.n, 2, "two fingerprints from main.cf");
	smtp_tls_policy_free(&p);

	conf_override("smtp_tls_wrappermode", "yes");
	is_int(find("plain.example", &p), SMTP_TLS_ENCRYPT, "wrapper mode raises none to encrypt");
	is_str(p.protocols, ">=TLSv1", "wrapper mode: the mandatory protocols");
	is_str(p.pname, "smtp_tls_mandatory_protocols", "wrapper mode: their origin");
	smtp_tls_policy_free(&p);
	conf_override("smtp_tls_wrappermode", "no");

	/* Postfix 2.2's smtp_use_tls / smtp_enforce_tls, while the level is empty. */
	conf_override("smtp_tls_security_level", "");
	is_int(find("other.example", &p), SMTP_TLS_NONE, "no level, no booleans: none");
	smtp_tls_policy_free(&p);
	conf_override("smtp_use_tls", "yes");
	is_int(find("other.example", &p), SMTP_TLS_MAY, "smtp_use_tls = yes: may");
	smtp_tls_policy_free(&p);
	conf_override("smtp_enforce_tls", "yes");
	is_int(find("other.example", &p), SMTP_TLS_VERIFY, "smtp_enforce_tls = yes: verify");
	smtp_tls_policy_free(&p);
	conf_override("smtp_tls_enforce_peername", "no");
	is_int(find("other.example", &p), SMTP_TLS_ENCRYPT,
	    "... with smtp_tls_enforce_peername = no: encrypt");
	smtp_tls_policy_free(&p);
	conf_override("smtp_tls_security_level", "may");
	is_int(find("other.example", &p), SMTP_TLS_MAY, "a level set wins over the booleans");
	smtp_tls_policy_free(&p);
	conf_override("smtp_use_tls", "no");
	conf_override("smtp_enforce_tls", "no");
	conf_override("smtp_tls_enforce_peername", "yes");

	conf_override("smtp_tls_security_level", "bogus");
	is_int(find("other.example", &p), -1, "bad smtp_tls_security_level: an error");
	is_str(res, "4.3.5 smtp_tls_security_level = bogus: invalid security level \"bogus\" "
	    "(none, may, encrypt, fingerprint, verify, secure)", "bad main.cf level: 4.3.5");
	conf_override("smtp_tls_security_level", "may");

	snprintf(spec, sizeof(spec), "hash:%.400s/nosuch", dir);
	conf_override("smtp_tls_policy_maps", spec);
	is_int(find("other.example", &p), -1, "a missing map: an error, not may");
	snprintf(want, sizeof(want), "4.3.0 TLS policy lookup error: open database %s/nosuch.db: "
	    "No such file or directory", dir);
	is_str(res, want, "a missing map: 4.3.0 and the reason");
	is_int(p.level, SMTP_TLS_NONE, "a missing map: level none left");
	conf_override("smtp_tls_policy_maps", "");
	maps_close_all();
}

int
main(void)
{
	char dir[] = "/tmp/smtp_tls_policy_test.XXXXXX";
	char cmd[ERR_MAX];

	conf_load_defaults("/nonexistent");
	test_parse();
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_find(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove the temporary directory");
	return done_testing();
}
