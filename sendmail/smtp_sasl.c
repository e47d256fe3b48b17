/*
 * smtp_sasl - AUTH PLAIN and LOGIN for the SMTP client; see smtp_sasl.h.
 *
 * Credentials live only in this module's buffers and are wiped after use;
 * nothing here logs them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "conf.h"
#include "log.h"
#include "maps.h"
#include "pbuf.h"
#include "smtp_sasl.h"
#include "strv.h"
#include "xalloc.h"

#define SMTP_SASL_OK		235
#define SMTP_SASL_MORE		334
#define SMTP_CODE_CLASS(c)	((c) / 100)
#define SMTP_SASL_ERR_MAX	512
#define SMTP_SASL_MECH_PLAIN	(1u << 0)
#define SMTP_SASL_MECH_LOGIN	(1u << 1)

/* Security options that forbid the plain-text mechanisms (Cyrus SASL's meaning). */
static const char *const smtp_sasl_forbid_plain[] = {
	"noplaintext", "noactive", "nodictionary", "mutual_auth", "forward_secrecy",
};

static void smtp_sasl_fail(struct smtp_result *fail, int status, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
smtp_sasl_fail(struct smtp_result *fail, int status, const char *dsn, const char *fmt, ...)
{
	char text[SMTP_IO_WHY_MAX + 2 * SMTP_REPLY_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_result_set(fail, status, dsn, text, 0, NULL);
}

/*
 * Which of PLAIN/LOGIN the options in param allow. -1 with fail for an
 * unknown option; *forbidder gets the option that forbade them.
 */
static int
smtp_sasl_allowed(const char *param, unsigned *allowed, const char **forbidder,
    struct smtp_result *fail)
{
	struct strv opts = STRV_INIT;
	size_t i, k;
	int rc = 0;

	*allowed = SMTP_SASL_MECH_PLAIN | SMTP_SASL_MECH_LOGIN;
	*forbidder = NULL;
	conf_list(param, &opts);
	for (i = 0; i < opts.n; i++) {
		int known = strcasecmp(opts.v[i], "noanonymous") == 0;

		for (k = 0; k < sizeof(smtp_sasl_forbid_plain) / sizeof(smtp_sasl_forbid_plain[0]);
		    k++) {
			if (strcasecmp(opts.v[i], smtp_sasl_forbid_plain[k]) == 0) {
				known = 1;
				*allowed = 0;
				if (*forbidder == NULL)
					*forbidder = smtp_sasl_forbid_plain[k];
			}
		}
		if (!known) {
			smtp_sasl_fail(fail, 4, "4.3.5", "unknown SASL security option \"%s\" in %s",
			    opts.v[i], param);
			rc = -1;
			break;
		}
	}
	strv_free(&opts);
	return rc;
}

/* The mechanisms the server offers that Petrel has, after smtp_sasl_mechanism_filter. */
static unsigned
smtp_sasl_offered(const char *mechs)
{
	struct strv filter = STRV_INIT;
	unsigned got = 0;
	const char *p = mechs;

	conf_list("smtp_sasl_mechanism_filter", &filter);
	while (*p) {
		size_t n = strcspn(p, " \t");
		unsigned m = 0;
		size_t i;

		if (n == 5 && strncasecmp(p, "PLAIN", n) == 0)
			m = SMTP_SASL_MECH_PLAIN;
		else if (n == 5 && strncasecmp(p, "LOGIN", n) == 0)
			m = SMTP_SASL_MECH_LOGIN;
		if (m != 0 && filter.n > 0) {
			for (i = 0; i < filter.n; i++)
				if (strlen(filter.v[i]) == n && strncasecmp(filter.v[i], p, n) == 0)
					break;
			if (i == filter.n)
				m = 0;
		}
		got |= m;
		p += n;
		p += strspn(p, " \t");
	}
	strv_free(&filter);
	return got;
}

/* Base64 of len bytes of s, into b (replacing its content). */
static void
smtp_sasl_b64(const void *s, size_t len, struct pbuf *b)
{
	size_t need = (len + 2) / 3 * 4 + 1;

	pbuf_reset(b);
	pbuf_reserve(b, need);
	EVP_EncodeBlock((unsigned char *)b->data, s, (int)len);
	b->len = strlen(b->data);
}

/* Overwrites a pbuf's bytes (credentials) before freeing it. */
static void
smtp_sasl_wipe(struct pbuf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	pbuf_free(b);
}

/* Sends one AUTH step; 0 with rp, or -1 (fail set). The command is never logged. */
static int
smtp_sasl_step(struct smtp_client *c, const struct pbuf *cmd, struct smtp_reply *rp,
    struct smtp_result *fail)
{
	return smtp_client_command(c, pbuf_str(cmd), rp, conf_time("smtp_helo_timeout"),
	    "sending AUTH", fail);
}

int
smtp_sasl_auth(struct smtp_client *c, const char *nexthop, const char *host,
    struct smtp_result *fail)
{
	const char *param = c->tls ? "smtp_sasl_tls_security_options" : "smtp_sasl_security_options";
	const char *forbidder, *pass;
	char err[SMTP_SASL_ERR_MAX];
	char *value = NULL, *user, *colon;
	unsigned allowed, offered, mech;
	struct pbuf cmd = PBUF_INIT, raw = PBUF_INIT, enc = PBUF_INIT;
	struct smtp_reply rp;
	size_t vlen = 0;
	int found, rc = -1;

	if (!conf_bool("smtp_sasl_auth_enable") || !(c->ext & SMTP_EXT_AUTH))
		return 0;
	found = maps_lookup_list("smtp_sasl_password_maps", nexthop, &value, err, sizeof(err));
	if (found == 0)
		found = maps_lookup_list("smtp_sasl_password_maps", host, &value, err, sizeof(err));
	if (found < 0) {
		log_warn("smtp_sasl_password_maps: %s", err);
		smtp_sasl_fail(fail, 4, "4.3.0", "smtp_sasl_password_maps lookup error: %s", err);
		return -1;
	}
	if (found == 0)
		return 0;
	vlen = strlen(value);
	smtp_reply_init(&rp);
	if (smtp_sasl_allowed(param, &allowed, &forbidder, fail) < 0)
		goto out;
	offered = smtp_sasl_offered(c->auth_mechs);
	mech = offered & allowed;
	if (mech == 0) {
		if (offered != 0)
			log_warn("SASL authentication failed: no mechanism available (%s = %s forbids "
			    "PLAIN and LOGIN; set %s = noanonymous to allow them)", param, forbidder,
			    param);
		else
			log_warn("SASL authentication failed: no mechanism available (%s offers "
			    "AUTH %s; Petrel's client has PLAIN and LOGIN%s)", c->io.peer,
			    c->auth_mechs, *conf_str("smtp_sasl_mechanism_filter") == '\0' ? "" :
			    ", after smtp_sasl_mechanism_filter");
		smtp_sasl_fail(fail, 4, "4.7.0", "SASL authentication failed; cannot authenticate "
		    "to server %s: no mechanism available", c->io.peer);
		goto out;
	}
	user = value;
	colon = strchr(value, ':');
	pass = "";
	if (colon != NULL) {
		*colon = '\0';
		pass = colon + 1;
	}
	if (mech & SMTP_SASL_MECH_PLAIN) {
		/* RFC 4616: authzid NUL authcid NUL password, with the command. */
		pbuf_putc(&raw, '\0');
		pbuf_puts(&raw, user);
		pbuf_putc(&raw, '\0');
		pbuf_puts(&raw, pass);
		smtp_sasl_b64(raw.data, raw.len, &enc);
		pbuf_printf(&cmd, "AUTH PLAIN %s", pbuf_str(&enc));
		if (smtp_sasl_step(c, &cmd, &rp, fail) < 0)
			goto out;
	} else {
		/* LOGIN: the user name and the password each on its own 334 prompt. */
		const char *answers[2] = { user, pass };
		size_t i;

		pbuf_puts(&cmd, "AUTH LOGIN");
		if (smtp_sasl_step(c, &cmd, &rp, fail) < 0)
			goto out;
		for (i = 0; i < 2 && rp.code == SMTP_SASL_MORE; i++) {
			smtp_sasl_b64(answers[i], strlen(answers[i]), &enc);
			pbuf_reset(&cmd);
			pbuf_puts(&cmd, pbuf_str(&enc));
			if (smtp_sasl_step(c, &cmd, &rp, fail) < 0)
				goto out;
		}
	}
	if (rp.code == SMTP_SASL_OK) {
		rc = 0;
		goto out;
	}
	if (rp.code == SMTP_SASL_MORE) {
		/* The server wants more than LOGIN's two answers: cancel (RFC 4954 §4). */
		pbuf_reset(&cmd);
		pbuf_puts(&cmd, "*");
		if (smtp_sasl_step(c, &cmd, &rp, fail) < 0)
			goto out;
	}
	{
		/* As Postfix's smtp_sasl_glue.c: every 5xx is softened, not only 535. */
		int soft = SMTP_CODE_CLASS(rp.code) != 5 || conf_bool("smtp_sasl_auth_soft_bounce");
		char dsn[SMTP_REPLY_DSN_MAX];

		if (rp.dsn[0])
			snprintf(dsn, sizeof(dsn), "%s", rp.dsn);
		else
			snprintf(dsn, sizeof(dsn), "%d.0.0", SMTP_CODE_CLASS(rp.code) == 5 ? 5 : 4);
		dsn[0] = soft ? '4' : '5';
		smtp_sasl_fail(fail, soft ? 4 : 5, dsn, "SASL authentication failed; server %s "
		    "said: %s", c->io.peer, pbuf_str(&rp.text));
	}
out:
	smtp_reply_free(&rp);
	smtp_sasl_wipe(&cmd);
	smtp_sasl_wipe(&raw);
	smtp_sasl_wipe(&enc);
	explicit_bzero(value, vlen);
	free(value);
	return rc;
}

void
smtp_sasl_preopen(void)
{
	char err[SMTP_SASL_ERR_MAX];
	char *value = NULL;

	if (!conf_bool("smtp_sasl_auth_enable"))
		return;
	/* Any key opens every map of the list; errors show at the real lookup. */
	if (maps_lookup_list("smtp_sasl_password_maps", "[petrel-preopen]", &value, err,
	    sizeof(err)) > 0)
		free(value);
}

int
smtp_sasl_maps_changed(void)
{
	if (!conf_bool("smtp_sasl_auth_enable") || geteuid() == 0 ||
	    !maps_changed_list("smtp_sasl_password_maps"))
		return 0;
	log_info("smtp_sasl_password_maps has changed -- restarting");
	return 1;
}
