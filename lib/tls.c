/*
 * tls - OpenSSL 3 for both ends of SMTP; see tls.h.
 *
 * Both contexts allow TLS 1.2 and newer only, no compression, no
 * renegotiation, and treat a peer that closes without close_notify as a
 * plain end of stream (SSL_OP_IGNORE_UNEXPECTED_EOF), as SMTP peers
 * often do. The server keeps no sessions to resume: no tickets and no
 * session-ID cache (an smtpd process serves one client after another,
 * and each must start as in a fresh process; the cache would also grow
 * with every client). tls_ctx_policy() narrows a context to the versions
 * and ciphers main.cf asks for; below TLS 1.2 is never reached whatever it
 * says (Postfix's default ">=TLSv1" leaves it to OpenSSL, whose Debian
 * build refuses TLS 1.0 and 1.1 at its default security level anyway).
 *
 * While a connection is wrapped, its descriptor is non-blocking; every
 * call waits in poll() for what OpenSSL asks (readable or writable)
 * until the call's deadline, so a peer that stalls a handshake, a read
 * or a write is cut off after `timeout` seconds with errno ETIMEDOUT.
 * tls_close() gives the descriptor its old flags back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pbuf.h"
#include "tls.h"
#include "xalloc.h"

#define TLS_MS			1000
#define TLS_CN_MAX		256
#define TLS_ADDR_MAX		16	/* bytes of an IPv6 address */
#define TLS_LIST_SEP		" \t\r\n,:"	/* between elements of Postfix's lists */
#define TLS_VERSION_MAX		0xffff
#define TLS_FPT_HEX_BYTE	3	/* "AB:" per digest byte */

struct tls_ctx {
	SSL_CTX *ssl;
	int loglevel;
};

struct tls_conn {
	SSL *ssl;
	int fd;
	int oflags;		/* the descriptor's flags before we wrapped it */
	int verified;
	int has_cn;
	char cn[TLS_CN_MAX];
	int loglevel;
};

/* Puts "what: first OpenSSL error" into err and empties the error queue. */
static void
tls_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[TLS_ERR_MAX];

	if (err == NULL || errlen == 0) {
		ERR_clear_error();
		return;
	}
	if (e != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		snprintf(err, errlen, "%s: %s", what, reason);
	} else {
		snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

static SSL_CTX *
tls_ctx_common(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ssl = SSL_CTX_new(method);

	if (ssl == NULL) {
		tls_err(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1) {
		tls_err(err, errlen, "cannot require TLS 1.2");
		SSL_CTX_free(ssl);
		return NULL;
	}
	SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
	    | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ssl, SSL_MODE_AUTO_RETRY);
	return ssl;
}

/* 0 when path can be opened for reading, else -1 with err saying why. */
static int
tls_readable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no %s file configured", what);
		return -1;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s file %s: %s", what, path, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * Loads one certificate chain and its key into ssl (they may share a
 * file: Postfix's chain files hold the key, then the chain, leaf first;
 * OpenSSL's PEM readers pass over the blocks of the other kind). -1 with
 * err naming the files.
 */
static int
tls_server_load(SSL_CTX *ssl, const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	char what[TLS_ERR_MAX];

	if (tls_readable("certificate", cert_file, err, errlen) < 0
	    || tls_readable("key", key_file, err, errlen) < 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ssl, cert_file) != 1) {
		snprintf(what, sizeof(what), "cannot load certificate from file %s", cert_file);
		tls_err(err, errlen, what);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ssl, key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH)
			snprintf(what, sizeof(what), "the private key in %s does not match the "
			    "certificate in %s", key_file, cert_file);
		else
			snprintf(what, sizeof(what), "cannot load private key from file %s", key_file);
		tls_err(err, errlen, what);
		return -1;
	}
	if (SSL_CTX_check_private_key(ssl) != 1) {
		snprintf(what, sizeof(what), "the private key in %s does not match the certificate in %s",
		    key_file, cert_file);
		tls_err(err, errlen, what);
		return -1;
	}
	return 0;
}

/* A server context with n (certificate, key) pairs: certs[i] and keys[i]. */
static struct tls_ctx *
tls_server_ctx_pairs(const char *const *certs, const char *const *keys, size_t n, char *err,
    size_t errlen)
{
	struct tls_ctx *ctx;
	SSL_CTX *ssl;
	size_t i;

	if (n == 0) {
		snprintf(err, errlen, "no certificate file configured");
		return NULL;
	}
	ssl = tls_ctx_common(TLS_server_method(), err, errlen);
	if (ssl == NULL)
		return NULL;
	SSL_CTX_set_options(ssl, SSL_OP_NO_TICKET);
	(void)SSL_CTX_set_num_tickets(ssl, 0);
	(void)SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	for (i = 0; i < n; i++) {
		if (tls_server_load(ssl, certs[i], keys[i], err, errlen) < 0) {
			SSL_CTX_free(ssl);
			return NULL;
		}
	}
	/* Ephemeral DH for TLS 1.2 DHE suites sized to the key, as Postfix's built-in group. */
	(void)SSL_CTX_set_dh_auto(ssl, 1);
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->ssl = ssl;
	return ctx;
}

struct tls_ctx *
tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	if (key_file == NULL || *key_file == '\0')
		key_file = cert_file;
	return tls_server_ctx_pairs(&cert_file, &key_file, 1, err, errlen);
}

struct tls_ctx *
tls_server_ctx_chains(const char *const *files, size_t n, char *err, size_t errlen)
{
	return tls_server_ctx_pairs(files, files, n, err, errlen);
}

int
tls_server_dh_file(struct tls_ctx *ctx, const char *path, char *err, size_t errlen)
{
	char what[TLS_ERR_MAX];
	EVP_PKEY *dh = NULL;
	BIO *bio;

	if (tls_readable("DH parameter", path, err, errlen) < 0)
		return -1;
	bio = BIO_new_file(path, "r");
	if (bio != NULL) {
		dh = PEM_read_bio_Parameters(bio, NULL);
		BIO_free(bio);
	}
	if (dh == NULL || EVP_PKEY_is_a(dh, "DH") != 1) {
		snprintf(what, sizeof(what), "cannot load DH parameters from file %s", path);
		tls_err(err, errlen, what);
		EVP_PKEY_free(dh);
		return -1;
	}
	/* On success the context owns dh; the automatic choice would win over it. */
	(void)SSL_CTX_set_dh_auto(ctx->ssl, 0);
	if (SSL_CTX_set0_tmp_dh_pkey(ctx->ssl, dh) != 1) {
		snprintf(what, sizeof(what), "cannot use the DH parameters in %s", path);
		tls_err(err, errlen, what);
		EVP_PKEY_free(dh);
		(void)SSL_CTX_set_dh_auto(ctx->ssl, 1);
		return -1;
	}
	return 0;
}

struct tls_ctx *
tls_client_ctx(const char *ca_file, const char *ca_path, char *err, size_t errlen)
{
	struct tls_ctx *ctx;
	SSL_CTX *ssl = tls_ctx_common(TLS_client_method(), err, errlen);

	if (ssl == NULL)
		return NULL;
	if (ca_file && *ca_file == '\0')
		ca_file = NULL;
	if (ca_path && *ca_path == '\0')
		ca_path = NULL;
	if ((ca_file || ca_path) && SSL_CTX_load_verify_locations(ssl, ca_file, ca_path) != 1) {
		char what[TLS_ERR_MAX];

		snprintf(what, sizeof(what), "cannot load CA certificates from %s",
		    ca_file ? ca_file : ca_path);
		tls_err(err, errlen, what);
		SSL_CTX_free(ssl);
		return NULL;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->ssl = ssl;
	return ctx;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

void
tls_ctx_loglevel(struct tls_ctx *ctx, int level)
{
	ctx->loglevel = level;
}

/* Protocol names of Postfix's lists, oldest first. */
static const struct {
	const char *name;
	int version;
} tls_protocols[] = {
	{ "SSLv2", 0x0002 },
	{ "SSLv3", SSL3_VERSION },
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
};
#define TLS_NPROTOCOLS	(sizeof(tls_protocols) / sizeof(tls_protocols[0]))

/* The protocol number of a name or hex number (len bytes at s), or -1. */
static int
tls_protocol_number(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < TLS_NPROTOCOLS; i++)
		if (strlen(tls_protocols[i].name) == len
		    && strncasecmp(s, tls_protocols[i].name, len) == 0)
			return tls_protocols[i].version;
	if (len > 2 && len <= 6 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		int v = 0;

		for (i = 2; i < len; i++) {
			int c = s[i], d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return -1;
			v = v * 16 + d;
		}
		return v <= TLS_VERSION_MAX ? v : -1;
	}
	return -1;
}

int
tls_protocol_range(const char *spec, int *min, int *max, char *err, size_t errlen)
{
	int lo = 0, hi = TLS_VERSION_MAX, only = 0;
	int named[2] = { 0, 0 }, excluded[2] = { 0, 0 };	/* TLS 1.2, TLS 1.3 */
	const char *p = spec ? spec : "";
	int i, v;

	for (;;) {
		size_t len;
		const char *name;
		char op = 0;

		p += strspn(p, TLS_LIST_SEP);
		if (*p == '\0')
			break;
		len = strcspn(p, TLS_LIST_SEP);
		name = p;
		if (len >= 2 && (strncmp(p, ">=", 2) == 0 || strncmp(p, "<=", 2) == 0)) {
			op = p[0];
			name += 2;
		} else if (*p == '!') {
			op = '!';
			name++;
		}
		v = tls_protocol_number(name, len - (size_t)(name - p));
		if (v < 0) {
			snprintf(err, errlen, "invalid TLS protocol \"%.*s\" in \"%s\"", (int)len, p,
			    spec);
			return -1;
		}
		if (op == '>')
			lo = v > lo ? v : lo;
		else if (op == '<')
			hi = v < hi ? v : hi;
		else if (op == '!' && (v == TLS1_2_VERSION || v == TLS1_3_VERSION))
			excluded[v == TLS1_3_VERSION] = 1;
		else if (op == 0) {
			only = 1;
			if (v == TLS1_2_VERSION || v == TLS1_3_VERSION)
				named[v == TLS1_3_VERSION] = 1;
		}
		p += len;
	}
	*min = *max = 0;
	for (i = 0; i < 2; i++) {
		v = i == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
		if (excluded[i] || (only && !named[i]) || v < lo || v > hi)
			continue;
		if (*min == 0)
			*min = v;
		*max = v;
	}
	if (*min == 0) {
		snprintf(err, errlen, "no TLS protocol version left by \"%s\" (Petrel speaks "
		    "TLSv1.2 and TLSv1.3)", spec);
		return -1;
	}
	return 0;
}

int
tls_ctx_policy(struct tls_ctx *ctx, const char *protocols, const char *ciphers,
    const char *exclude, int server_order, char *err, size_t errlen)
{
	struct pbuf list = PBUF_INIT;
	const char *p = exclude ? exclude : "";
	char what[TLS_ERR_MAX];
	int min, max, rc = -1;

	if (tls_protocol_range(protocols, &min, &max, err, errlen) < 0)
		return -1;
	if (SSL_CTX_set_min_proto_version(ctx->ssl, min) != 1
	    || SSL_CTX_set_max_proto_version(ctx->ssl, max) != 1) {
		tls_err(err, errlen, "cannot set the TLS protocol versions");
		return -1;
	}
	pbuf_puts(&list, ciphers ? ciphers : "");
	for (;;) {
		size_t len;

		p += strspn(p, TLS_LIST_SEP);
		if (*p == '\0')
			break;
		len = strcspn(p, TLS_LIST_SEP);
		pbuf_printf(&list, ":!%.*s", (int)len, p);
		p += len;
	}
	/* Only TLS 1.3 left: its suites are not chosen by this list. */
	if (min < TLS1_3_VERSION && SSL_CTX_set_cipher_list(ctx->ssl, pbuf_str(&list)) != 1) {
		snprintf(what, sizeof(what), "no cipher left by the cipher list \"%s\"",
		    pbuf_str(&list));
		tls_err(err, errlen, what);
		goto out;
	}
	if (server_order)
		SSL_CTX_set_options(ctx->ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
	else
		SSL_CTX_clear_options(ctx->ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
	rc = 0;
out:
	pbuf_free(&list);
	return rc;
}

/* Milliseconds since an arbitrary start (monotonic). */
static long long
tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * TLS_MS + ts.tv_nsec / (TLS_MS * TLS_MS);
}

/*
 * Waits until fd is ready for what OpenSSL wants (code: SSL_ERROR_WANT_*)
 * or the deadline passes. 0 when ready; -1 with errno ETIMEDOUT, EINTR
 * (a signal came: the caller decides) or the poll error.
 */
static int
tls_wait(int fd, int code, long long deadline)
{
	struct pollfd p;
	long long left = deadline - tls_now_ms();
	int rc;

	if (left <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	p.fd = fd;
	p.events = code == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	p.revents = 0;
	rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
	if (rc == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return rc < 0 ? -1 : 0;
}

static long long
tls_deadline(int timeout)
{
	return tls_now_ms() + (long long)(timeout > 0 ? timeout : 1) * TLS_MS;
}

/* 1 when name is an IPv4 or IPv6 literal (no SNI for those, RFC 6066 3). */
static int
tls_is_ip(const char *name)
{
	unsigned char buf[TLS_ADDR_MAX];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* Runs the handshake of a prepared SSL; returns the connection or NULL. */
static struct tls_conn *
tls_handshake(struct tls_ctx *ctx, SSL *ssl, int fd, int server, int timeout,
    char *err, size_t errlen)
{
	long long deadline = tls_deadline(timeout);
	struct tls_conn *c;
	int oflags = fcntl(fd, F_GETFL);
	const char *what = server ? "TLS handshake (server)" : "TLS handshake (client)";

	if (oflags < 0 || fcntl(fd, F_SETFL, oflags | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: fcntl: %s", what, strerror(errno));
		SSL_free(ssl);
		return NULL;
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		tls_err(err, errlen, what);
		goto fail;
	}
	ERR_clear_error();
	for (;;) {
		int rc = server ? SSL_accept(ssl) : SSL_connect(ssl);
		int code;

		if (rc == 1)
			break;
		code = SSL_get_error(ssl, rc);
		if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
			if (tls_wait(fd, code, deadline) < 0) {
				if (errno == EINTR)
					continue;
				snprintf(err, errlen, "%s: %s", what,
				    errno == ETIMEDOUT ? "timed out" : strerror(errno));
				ERR_clear_error();
				goto fail_errno;
			}
			continue;
		}
		if (code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			snprintf(err, errlen, "%s: %s", what,
			    errno ? strerror(errno) : "lost connection");
			ERR_clear_error();
			goto fail;
		}
		if (code == SSL_ERROR_ZERO_RETURN) {
			snprintf(err, errlen, "%s: lost connection", what);
			ERR_clear_error();
			goto fail;
		}
		tls_err(err, errlen, what);
		goto fail;
	}
	c = xcalloc(1, sizeof(*c));
	c->ssl = ssl;
	c->fd = fd;
	c->oflags = oflags;
	c->loglevel = ctx->loglevel;
	{
		X509 *peer = SSL_get1_peer_certificate(ssl);

		if (peer) {
			c->verified = SSL_get_verify_result(ssl) == X509_V_OK;
			if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
			    c->cn, sizeof(c->cn)) > 0)
				c->has_cn = 1;
			X509_free(peer);
		}
	}
	if (c->loglevel >= 2)
		log_info("%s: %s with cipher %s", what, tls_version(c), tls_cipher(c));
	return c;

fail:
	errno = EPROTO;
fail_errno:
	{
		int saved = errno;

		if (ctx->loglevel >= 2)
			log_info("%s", err);
		SSL_free(ssl);
		(void)fcntl(fd, F_SETFL, oflags);
		errno = saved;
	}
	return NULL;
}

struct tls_conn *
tls_accept(struct tls_ctx *ctx, int fd, int timeout, char *err, size_t errlen)
{
	SSL *ssl = SSL_new(ctx->ssl);

	if (ssl == NULL) {
		tls_err(err, errlen, "SSL_new");
		return NULL;
	}
	return tls_handshake(ctx, ssl, fd, 1, timeout, err, errlen);
}

/* The client handshake; check_name: peer_name also goes into the chain check. */
static struct tls_conn *
tls_connect_common(struct tls_ctx *ctx, int fd, const char *peer_name, int check_name,
    int verify, int timeout, char *err, size_t errlen)
{
	SSL *ssl = SSL_new(ctx->ssl);

	if (ssl == NULL) {
		tls_err(err, errlen, "SSL_new");
		return NULL;
	}
	if (peer_name && *peer_name && !tls_is_ip(peer_name))
		(void)SSL_set_tlsext_host_name(ssl, peer_name);
	if (peer_name && *peer_name && check_name) {
		/*
		 * The name check counts towards tls_peer_verified() in any case;
		 * an address literal is matched against the IP address entries.
		 */
		if (tls_is_ip(peer_name) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    peer_name) != 1 : SSL_set1_host(ssl, peer_name) != 1) {
			tls_err(err, errlen, "cannot set the peer name to check");
			SSL_free(ssl);
			return NULL;
		}
	}
	SSL_set_verify(ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return tls_handshake(ctx, ssl, fd, 0, timeout, err, errlen);
}

struct tls_conn *
tls_connect(struct tls_ctx *ctx, int fd, const char *peer_name, int verify, int timeout,
    char *err, size_t errlen)
{
	return tls_connect_common(ctx, fd, peer_name, 1, verify, timeout, err, errlen);
}

struct tls_conn *
tls_connect_sni(struct tls_ctx *ctx, int fd, const char *sni, int timeout, char *err,
    size_t errlen)
{
	return tls_connect_common(ctx, fd, sni, 0, 0, timeout, err, errlen);
}

int
tls_peer_match(const struct tls_conn *c, const char *name)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);

	if (peer == NULL || name == NULL || *name == '\0')
		return 0;
	if (tls_is_ip(name))
		return X509_check_ip_asc(peer, name, 0) == 1;
	/* A leading dot matches any subdomain (OpenSSL's rule, Postfix's ".domain"). */
	return X509_check_host(peer, name, strlen(name), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	    NULL) == 1;
}

int
tls_peer_fingerprint(const struct tls_conn *c, const char *digest, int pubkey, char *out,
    size_t outlen)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	const EVP_MD *md = EVP_get_digestbyname(digest);
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	int ok;

	if (peer == NULL || md == NULL)
		return -1;
	if (pubkey) {
		/* The whole DER SubjectPublicKeyInfo, as Postfix (not X509_pubkey_digest's key bits). */
		unsigned char *der = NULL;
		int dlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer), &der);

		ok = dlen > 0 && EVP_Digest(der, (size_t)dlen, buf, &len, md, NULL) == 1;
		OPENSSL_free(der);
	} else {
		ok = X509_digest(peer, md, buf, &len) == 1;
	}
	if (!ok || (size_t)len * TLS_FPT_HEX_BYTE > outlen) {
		ERR_clear_error();
		return -1;
	}
	for (i = 0; i < len; i++)
		snprintf(out + i * TLS_FPT_HEX_BYTE, outlen - i * TLS_FPT_HEX_BYTE, "%02X%s",
		    buf[i], i + 1 < len ? ":" : "");
	return 0;
}

ssize_t
tls_read(struct tls_conn *c, void *buf, size_t len, int timeout)
{
	long long deadline = tls_deadline(timeout);

	ERR_clear_error();
	for (;;) {
		size_t got = 0;
		int code;

		if (SSL_read_ex(c->ssl, buf, len, &got) == 1)
			return (ssize_t)got;
		code = SSL_get_error(c->ssl, 0);
		if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
			if (tls_wait(c->fd, code, deadline) < 0)
				return -1;
			continue;
		}
		if (code == SSL_ERROR_ZERO_RETURN) {
			ERR_clear_error();
			return 0;
		}
		if (code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) {
			ERR_clear_error();
			return 0;
		}
		if (c->loglevel >= 2) {
			char e[TLS_ERR_MAX];

			tls_err(e, sizeof(e), "TLS read");
			log_info("%s", e);
		}
		ERR_clear_error();
		if (code != SSL_ERROR_SYSCALL || errno == 0)
			errno = EPROTO;
		return -1;
	}
}

int
tls_pending(struct tls_conn *c)
{
	return SSL_has_pending(c->ssl) ? 1 : 0;
}

int
tls_write(struct tls_conn *c, const void *buf, size_t len, int timeout)
{
	long long deadline = tls_deadline(timeout);
	const char *p = buf;

	ERR_clear_error();
	while (len > 0) {
		size_t done = 0;
		int code;

		if (SSL_write_ex(c->ssl, p, len, &done) == 1) {
			p += done;
			len -= done;
			continue;
		}
		code = SSL_get_error(c->ssl, 0);
		if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
			if (tls_wait(c->fd, code, deadline) < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			continue;
		}
		ERR_clear_error();
		if (code != SSL_ERROR_SYSCALL || errno == 0)
			errno = EPIPE;
		return -1;
	}
	return 0;
}

void
tls_close(struct tls_conn *c)
{
	if (c == NULL)
		return;
	/* One try: a peer that does not read does not keep us. */
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	SSL_free(c->ssl);
	(void)fcntl(c->fd, F_SETFL, c->oflags);
	free(c);
}

const char *
tls_version(const struct tls_conn *c)
{
	return SSL_get_version(c->ssl);
}

const char *
tls_cipher(const struct tls_conn *c)
{
	return SSL_get_cipher_name(c->ssl);
}

int
tls_cipher_bits(const struct tls_conn *c)
{
	return SSL_get_cipher_bits(c->ssl, NULL);
}

int
tls_cipher_alg_bits(const struct tls_conn *c)
{
	int alg = 0;

	(void)SSL_get_cipher_bits(c->ssl, &alg);
	return alg;
}

int
tls_peer_verified(const struct tls_conn *c)
{
	return c->verified;
}

const char *
tls_peer_cn(const struct tls_conn *c)
{
	return c->has_cn ? c->cn : NULL;
}
