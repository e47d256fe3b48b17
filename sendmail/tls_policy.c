/*
 * tls_policy - main.cf's TLS protocol and cipher settings applied to a
 * context of lib/tls.h, the same way for the server (smtpd) and the
 * client (smtp).
 *
 * API: tls_policy_apply(ctx, side, mandatory, err, errlen), side "smtpd"
 * or "smtp". As in Postfix, a session where TLS is mandatory (server:
 * smtpd_tls_security_level = encrypt or wrapper mode; client: encrypt,
 * verify, secure) uses SIDE_tls_mandatory_protocols and
 * SIDE_tls_mandatory_ciphers and excludes SIDE_tls_exclude_ciphers plus
 * SIDE_tls_mandatory_exclude_ciphers; opportunistic TLS uses
 * SIDE_tls_protocols, SIDE_tls_ciphers and SIDE_tls_exclude_ciphers. The
 * cipher grade (high, medium, low, export, null) stands for the OpenSSL
 * cipher string in tls_GRADE_cipherlist. tls_preempt_cipherlist makes a
 * server's cipher order win (Postfix's default: the client's).
 *
 * tls_policy_set(ctx, protocols, pname, grade, gname, exclude,
 * server_order, err, errlen) applies values given by the caller (the SMTP
 * client's per-destination policy, smtp_tls_policy.h); pname and gname
 * name where the protocols and the grade come from in a reason.
 *
 * Errors: -1 and a reason naming the parameter (an unknown grade, an
 * invalid protocol list, a list that leaves no protocol or no cipher).
 * The caller then does not use TLS at all rather than something weaker
 * than asked: the server offers no STARTTLS, the client defers where TLS
 * is mandatory and goes on in plain text where it is opportunistic, as
 * with a missing certificate or CA file.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "tls.h"
#include "tls_policy.h"

#define TLS_POLICY_NAME_MAX	64

static const char *const tls_policy_grades[] = { "high", "medium", "low", "export", "null" };

/* conf_str of "SIDE_tls_WHAT" or "SIDE_tls_mandatory_WHAT"; name gets the name. */
static const char *
tls_policy_param(const char *side, int mandatory, const char *what, char *name, size_t namelen)
{
	snprintf(name, namelen, "%s_tls_%s%s", side, mandatory ? "mandatory_" : "", what);
	return conf_str(name);
}

int
tls_policy_set(struct tls_ctx *ctx, const char *protocols, const char *pname, const char *grade,
    const char *gname, const char *exclude, int server_order, char *err, size_t errlen)
{
	char lname[TLS_POLICY_NAME_MAX], why[TLS_ERR_MAX];
	int min, max;
	size_t i;

	for (i = 0; i < sizeof(tls_policy_grades) / sizeof(tls_policy_grades[0]); i++)
		if (strcasecmp(grade, tls_policy_grades[i]) == 0)
			break;
	if (i == sizeof(tls_policy_grades) / sizeof(tls_policy_grades[0])) {
		snprintf(err, errlen, "invalid %s value \"%s\" (high, medium, low, export or null)",
		    gname, grade);
		return -1;
	}
	snprintf(lname, sizeof(lname), "tls_%s_cipherlist", tls_policy_grades[i]);
	if (tls_protocol_range(protocols, &min, &max, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", pname, why);
		return -1;
	}
	/* The protocols are good: what fails now is the cipher list. */
	if (tls_ctx_policy(ctx, protocols, conf_str(lname), exclude, server_order, why,
	    sizeof(why)) < 0) {
		snprintf(err, errlen, "%s = %s with %s: %s", gname, grade, lname, why);
		return -1;
	}
	return 0;
}

int
tls_policy_apply(struct tls_ctx *ctx, const char *side, int mandatory, char *err, size_t errlen)
{
	char pname[TLS_POLICY_NAME_MAX], gname[TLS_POLICY_NAME_MAX], xname[TLS_POLICY_NAME_MAX];
	const char *protocols = tls_policy_param(side, mandatory, "protocols", pname, sizeof(pname));
	const char *grade = tls_policy_param(side, mandatory, "ciphers", gname, sizeof(gname));
	const char *exclude = tls_policy_param(side, 0, "exclude_ciphers", xname, sizeof(xname));
	char excl[2 * TLS_ERR_MAX];

	if (mandatory) {
		char mname[TLS_POLICY_NAME_MAX];
		const char *more = tls_policy_param(side, 1, "exclude_ciphers", mname, sizeof(mname));

		snprintf(excl, sizeof(excl), "%s %s", exclude, more);
	} else {
		snprintf(excl, sizeof(excl), "%s", exclude);
	}
	return tls_policy_set(ctx, protocols, pname, grade, gname, excl,
	    strcmp(side, "smtpd") == 0 && conf_bool("tls_preempt_cipherlist"), err, errlen);
}
