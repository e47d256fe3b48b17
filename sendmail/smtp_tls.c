/*
 * smtp_tls - STARTTLS for the SMTP client; see smtp_tls.h.
 *
 * The TLS layer replaces the plain byte layer of smtp_io (io->ops,
 * io->ctx = the struct tls_conn); smtp_io_close() ends it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "smtp_tls.h"
#include "tls.h"
#include "tls_policy.h"
#include "xalloc.h"

#define SMTP_TLS_READY		220	/* "220 Ready to start TLS" */
#define SMTP_CODE_CLASS(c)	((c) / 100)

static const struct {
	const char *name;
	enum smtp_tls_level level;
} smtp_tls_levels[] = {
	{ "", SMTP_TLS_NONE },
	{ "none", SMTP_TLS_NONE },
	{ "may", SMTP_TLS_MAY },
	{ "encrypt", SMTP_TLS_ENCRYPT },
	{ "verify", SMTP_TLS_VERIFY },
	{ "secure", SMTP_TLS_SECURE },
};

int
smtp_tls_level(enum smtp_tls_level *level, char *why, size_t whylen)
{
	const char *v = conf_str("smtp_tls_security_level");
	size_t i;

	for (i = 0; i < sizeof(smtp_tls_levels) / sizeof(smtp_tls_levels[0]); i++) {
		if (strcasecmp(v, smtp_tls_levels[i].name) == 0) {
			*level = smtp_tls_levels[i].level;
			return 0;
		}
	}
	snprintf(why, whylen, "smtp_tls_security_level = %s is not supported by Petrel "
	    "(none, may, encrypt, verify, secure)", v);
	return -1;
}

/* The byte layer over TLS (smtp_io_ops). */
static ssize_t
smtp_tls_read(struct smtp_io *io, void *buf, size_t len)
{
	ssize_t n = tls_read(io->ctx, buf, len, (int)io->timeout);

	if (n < 0 && errno == ETIMEDOUT)
		errno = EAGAIN;	/* smtp_io_reply sees the deadline passed and says so */
	return n;
}

static ssize_t
smtp_tls_write(struct smtp_io *io, const void *buf, size_t len)
{
	if (tls_write(io->ctx, buf, len, (int)io->timeout) < 0)
		return -1;
	return (ssize_t)len;
}

static void
smtp_tls_close(struct smtp_io *io)
{
	if (io->ctx != NULL)
		tls_close(io->ctx);
	io->ctx = NULL;
}

static const struct smtp_io_ops smtp_tls_ops = { smtp_tls_read, smtp_tls_write, smtp_tls_close };

/*
 * The process's client context, made again when the CA parameters or the
 * kind of TLS (mandatory or opportunistic: other protocols and ciphers)
 * change.
 */
static struct tls_ctx *smtp_tls_ctx;
static char *smtp_tls_ctx_file, *smtp_tls_ctx_path;
static int smtp_tls_ctx_mandatory;

static struct tls_ctx *
smtp_tls_context(int mandatory, char *err, size_t errlen)
{
	const char *file = conf_str("smtp_tls_CAfile"), *path = conf_str("smtp_tls_CApath");

	if (smtp_tls_ctx != NULL && strcmp(file, smtp_tls_ctx_file) == 0 &&
	    strcmp(path, smtp_tls_ctx_path) == 0 && mandatory == smtp_tls_ctx_mandatory)
		return smtp_tls_ctx;
	tls_ctx_free(smtp_tls_ctx);
	free(smtp_tls_ctx_file);
	free(smtp_tls_ctx_path);
	smtp_tls_ctx_file = smtp_tls_ctx_path = NULL;
	smtp_tls_ctx = tls_client_ctx(file, path, err, errlen);
	if (smtp_tls_ctx != NULL && tls_policy_apply(smtp_tls_ctx, "smtp", mandatory, err,
	    errlen) < 0) {
		tls_ctx_free(smtp_tls_ctx);
		smtp_tls_ctx = NULL;
	}
	if (smtp_tls_ctx == NULL)
		return NULL;
	smtp_tls_ctx_file = xstrdup(file);
	smtp_tls_ctx_path = xstrdup(path);
	smtp_tls_ctx_mandatory = mandatory;
	return smtp_tls_ctx;
}

static void smtp_tls_fail(struct smtp_result *fail, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Defers with dsn and the reason. */
static void
smtp_tls_fail(struct smtp_result *fail, const char *dsn, const char *fmt, ...)
{
	char text[SMTP_IO_WHY_MAX + SMTP_IO_NAME_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_result_set(fail, 4, dsn, text, 0, NULL);
}

/*
 * The context for level, or NULL when it cannot be made (logged): *rc is
 * then SMTP_TLS_GO under "may" (plain text) and SMTP_TLS_FAIL otherwise.
 * Asked before STARTTLS is sent, since after its 220 there is no way back.
 */
static struct tls_ctx *
smtp_tls_ready(enum smtp_tls_level level, struct smtp_result *fail, enum smtp_tls_result *rc)
{
	char err[2 * TLS_ERR_MAX];
	struct tls_ctx *ctx = smtp_tls_context(level >= SMTP_TLS_ENCRYPT, err, sizeof(err));

	if (ctx != NULL) {
		tls_ctx_loglevel(ctx, atoi(conf_str("smtp_tls_loglevel")));
		return ctx;
	}
	log_warn("TLS client initialization failed: %s", err);
	if (level == SMTP_TLS_MAY) {
		*rc = SMTP_TLS_GO;
	} else {
		smtp_tls_fail(fail, "4.7.5", "TLS client initialization failed: %s", err);
		*rc = SMTP_TLS_FAIL;
	}
	return NULL;
}

/*
 * The handshake on c's connection, and the checks after it: the TLS
 * line in the log, the certificate at levels verify and secure. A failed
 * handshake leaves the connection unusable: it is closed (no QUIT).
 */
static enum smtp_tls_result
smtp_tls_handshake(struct smtp_client *c, struct tls_ctx *ctx, enum smtp_tls_level level,
    const char *name, unsigned port, struct smtp_result *fail)
{
	char err[TLS_ERR_MAX];
	struct tls_conn *conn;
	const char *trust;

	conn = tls_connect(ctx, c->io.fd, name, 0, (int)conf_time("smtp_starttls_timeout"), err,
	    sizeof(err));
	if (conn == NULL) {
		log_info("SSL_connect error to %s:%u: %s", c->io.peer, port, err);
		smtp_tls_fail(fail, "4.7.5", "Cannot start TLS: handshake failure");
		smtp_io_close(&c->io);
		return level == SMTP_TLS_MAY ? SMTP_TLS_RETRY_PLAIN : SMTP_TLS_FAIL;
	}
	c->io.ops = &smtp_tls_ops;
	c->io.ctx = conn;
	c->tls = 1;
	if (!tls_peer_verified(conn))
		trust = "Untrusted";
	else
		trust = level >= SMTP_TLS_VERIFY ? "Verified" : "Trusted";
	if (atoi(conf_str("smtp_tls_loglevel")) >= 1)
		log_info("%s TLS connection established to %s:%u: %s with cipher %s (%d/%d bits)",
		    trust, c->io.peer, port, tls_version(conn), tls_cipher(conn),
		    tls_cipher_bits(conn), tls_cipher_alg_bits(conn));
	if (level >= SMTP_TLS_VERIFY && !tls_peer_verified(conn)) {
		smtp_tls_fail(fail, "4.7.5", "Server certificate not verified");
		return SMTP_TLS_FAIL;
	}
	return SMTP_TLS_GO;
}

enum smtp_tls_result
smtp_tls_wrap(struct smtp_client *c, enum smtp_tls_level level, const char *name,
    unsigned port, struct smtp_result *fail)
{
	enum smtp_tls_result rc = SMTP_TLS_FAIL;
	struct tls_ctx *ctx;

	static int warned;

	/* No plain text to fall back to: TLS is mandatory here (Postfix). */
	if (level < SMTP_TLS_ENCRYPT) {
		if (!warned)
			log_warn("smtp_tls_wrappermode requires smtp_tls_security_level = encrypt "
			    "(or stronger): using encrypt");
		warned = 1;
		level = SMTP_TLS_ENCRYPT;
	}
	ctx = smtp_tls_ready(level, fail, &rc);
	return ctx == NULL ? rc : smtp_tls_handshake(c, ctx, level, name, port, fail);
}

enum smtp_tls_result
smtp_tls_start(struct smtp_client *c, enum smtp_tls_level level, const char *name,
    unsigned port, struct smtp_result *fail)
{
	struct smtp_reply rp;
	struct tls_ctx *ctx;
	enum smtp_tls_result rc = SMTP_TLS_FAIL;

	if (level == SMTP_TLS_NONE || c->tls)
		return SMTP_TLS_GO;
	if (!(c->ext & SMTP_EXT_STARTTLS)) {
		if (level == SMTP_TLS_MAY)
			return SMTP_TLS_GO;
		smtp_tls_fail(fail, "4.7.4", "TLS is required, but was not offered by host %s",
		    c->io.peer);
		return SMTP_TLS_FAIL;
	}
	ctx = smtp_tls_ready(level, fail, &rc);
	if (ctx == NULL)
		return rc;
	smtp_reply_init(&rp);
	if (smtp_client_command(c, "STARTTLS", &rp, conf_time("smtp_starttls_timeout"),
	    "sending STARTTLS", fail) < 0)
		goto out;
	if (rp.code != SMTP_TLS_READY) {
		if (level == SMTP_TLS_MAY && SMTP_CODE_CLASS(rp.code) != 2) {
			/* Refused: go on in plain text on this connection. */
			rc = SMTP_TLS_GO;
			goto out;
		}
		smtp_tls_fail(fail, "4.7.5", "TLS is required, but host %s refused to start TLS: %s",
		    c->io.peer, pbuf_str(&rp.text));
		goto out;
	}
	if (c->io.in.len > 0) {
		/* RFC 3207 §4.2: bytes after the 220 are not to be trusted. */
		smtp_tls_fail(fail, "4.7.5", "Cannot start TLS: host %s sent data after its "
		    "STARTTLS reply", c->io.peer);
		goto out;
	}
	rc = smtp_tls_handshake(c, ctx, level, name, port, fail);
	if (rc == SMTP_TLS_GO && smtp_client_ehlo(c, fail) < 0)
		rc = SMTP_TLS_FAIL;
out:
	smtp_reply_free(&rp);
	return rc;
}
