/*
 * smtp_tls_policy - the SMTP client's TLS policy for one next-hop
 * destination: smtp_tls_security_level and its companions in main.cf,
 * overridden per destination by smtp_tls_policy_maps, as Postfix does it
 * (postconf(5) smtp_tls_policy_maps, TLS_README "Per-site TLS policies").
 *
 * Lookup keys (smtp_tls_policy_find): the next-hop destination verbatim,
 * as the queue manager gives it: the recipient domain, or the nexthop of
 * transport_maps / relayhost with its brackets and port ("[mx.example]",
 * "[192.0.2.1]:587", "example.com:2525"). Only for a plain domain (no
 * brackets, no port) the parent domains are tried next, each with a
 * leading dot ("a.b.example" -> ".b.example" -> ".example"), so
 * ".example" covers every subdomain. For each key the maps of the list
 * are asked in order; the first answer wins.
 *
 * Values: a security level, then attributes separated by white space or
 * commas:
 *   none, may, encrypt, fingerprint, verify, secure: as Postfix.
 *   dane: Petrel has no DNSSEC: used as "may" (Postfix does the same when
 *     it cannot do DANE), with a warning.
 *   dane-only: not possible without DNSSEC: the policy is invalid.
 *   ciphers=GRADE (high, medium, low, export, null; not empty),
 *   protocols=LIST (">=TLSv1.2", "!TLSv1.1:!TLSv1", ...; ':' separates),
 *   exclude=CIPHERS (':' separates): replace main.cf's
 *     smtp_tls_[mandatory_]ciphers / _protocols / exclusion lists; each at
 *     most once.
 *   match=A:B:... at verify and secure: names the certificate must match
 *     (any one of them): "hostname" (the MX host, or the host in
 *     brackets), "nexthop" (the next-hop domain, or the host in
 *     brackets), "dot-nexthop" (any subdomain of it), a domain, or
 *     ".domain" (any subdomain of it). Default: smtp_tls_verify_cert_match
 *     (hostname) / smtp_tls_secure_cert_match (nexthop, dot-nexthop).
 *   match=FP|FP|... at fingerprint: certificate or public-key
 *     fingerprints (smtp_tls_fingerprint_digest, hex bytes, ':' between
 *     them optional). Default: smtp_tls_fingerprint_cert_match; none at
 *     all makes the policy invalid. match may appear more than once.
 *   tafile=, connection_reuse=, servername=, enable_rpk=: Postfix's, not
 *     supported by Petrel: the policy is invalid (never silently weaker).
 * At level none any attribute is ignored with a warning (Postfix).
 *
 * Effective values (filled in by smtp_tls_policy_find, Postfix's
 * policy_create): at may smtp_tls_protocols, smtp_tls_ciphers and
 * smtp_tls_exclude_ciphers; at encrypt and above the mandatory ones, the
 * exclusions being smtp_tls_exclude_ciphers plus
 * smtp_tls_mandatory_exclude_ciphers, plus eNULL at encrypt and aNULL at
 * fingerprint, verify and secure. An exclude= attribute replaces both
 * lists (not the eNULL/aNULL). smtp_tls_wrappermode raises a level below
 * encrypt to encrypt (nothing to fall back to), with a warning.
 *
 * Errors (smtp_tls_policy_find -1, *dsn and why set; the caller defers):
 *   4.3.0 "TLS policy lookup error: MAP: REASON" when a map cannot be read
 *     (Postfix says 4.7.5 "client TLS configuration problem" here; Petrel
 *     uses the table-lookup code of its other maps). Never plain text.
 *   4.7.5 "client TLS configuration problem: MAP, next-hop destination
 *     "KEY": WHAT" for an invalid value (WHAT as Postfix's warnings:
 *     invalid security level "x", invalid attribute name: "x", ...).
 *   4.3.5 for an smtp_tls_security_level Petrel lacks (as before).
 *
 * The master's smtp workers open the maps before they drop privileges
 * (smtp_tls_policy_preopen, as Postfix's smtp opens them as root), so a
 * root-only 0600 map works; a worker whose map was rebuilt since ends
 * when idle (smtp_tls_policy_maps_changed) and its successor opens the
 * new one. Elsewhere (a foreground queue run's delivery child) a map
 * only root can read is a lookup error: the mail waits.
 */
#ifndef PETREL_SMTP_TLS_POLICY_H
#define PETREL_SMTP_TLS_POLICY_H

#include <stddef.h>

#include "strv.h"

enum smtp_tls_level {
	SMTP_TLS_NONE = 0,
	SMTP_TLS_MAY,
	SMTP_TLS_ENCRYPT,
	SMTP_TLS_FINGERPRINT,
	SMTP_TLS_VERIFY,
	SMTP_TLS_SECURE,
};

struct smtp_tls_policy {
	enum smtp_tls_level level;
	char *protocols;	/* NULL: not given (parse) / main.cf's (find) */
	char *grade;		/* ciphers= */
	char *exclude;		/* exclude= */
	struct strv match;	/* names (verify, secure) or fingerprints (fingerprint) */
	char *pname, *gname;	/* where protocols and grade come from, for reasons */
	char *note;		/* " (TLS policy ... of MAP, next-hop destination "KEY")" or "" */
};

/* An empty policy, level none (also what smtp_tls_policy_free leaves). */
void smtp_tls_policy_init(struct smtp_tls_policy *p);
void smtp_tls_policy_free(struct smtp_tls_policy *p);

/*
 * A level's name (none, may, ...; dane as may with *dane set, case not
 * minded): 0, or -1 for an unknown one or dane-only (why says which).
 */
int smtp_tls_level_parse(const char *name, enum smtp_tls_level *level, int *dane,
    char *why, size_t whylen);

/*
 * Parses a table value into p (initialized; the level and the attributes
 * as given, nothing from main.cf). Warnings (attributes at level none,
 * dane used as may) go to warn, "" when none. 0, or -1 with err (the
 * reason without the map's name).
 */
int smtp_tls_policy_parse(const char *value, struct smtp_tls_policy *p, char *warn,
    size_t warnlen, char *err, size_t errlen);

/*
 * The effective policy for nexthop (the queue manager's string): main.cf,
 * overridden by smtp_tls_policy_maps. 0, or -1 with dsn ("4.3.0",
 * "4.7.5", "4.3.5") and why; p is then level none. Invalid values and
 * lookup errors are also logged (log_warn) with the map and the key.
 */
int smtp_tls_policy_find(const char *nexthop, struct smtp_tls_policy *p, char *dsn,
    size_t dsnlen, char *why, size_t whylen);

/* Opens every map of smtp_tls_policy_maps (called with privileges, before they are dropped). */
void smtp_tls_policy_preopen(void);

/*
 * 1 (and a log line) when a map this unprivileged process opened was
 * replaced on disk since, so the process should end and be started anew
 * (a localsvc idle check); 0 otherwise and always as root.
 */
int smtp_tls_policy_maps_changed(void);

#endif
