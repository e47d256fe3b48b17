/*
 * tls_test - lib/tls.c: both ends against each other over a socketpair,
 * with a throwaway self-signed certificate made by the test itself (an
 * EC P-256 key, CN and DNS name tls-test.example). The client runs in a
 * child process and reports what it saw through a pipe, one line each.
 * Also: missing and mismatched key files, TLS 1.1 refused, TLS 1.2
 * accepted, peer verification against the certificate as CA, a stalled
 * handshake and an idle read cut off by the time-out; tls_connect_sni with
 * tls_peer_match and tls_peer_fingerprint.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "tls.h"

#define CERT_DAYS	1
#define TEST_TIMEOUT	10
#define REPORT_MAX	4096
#define SERIAL		1

static char dir[] = "/tmp/tls_test.XXXXXX";
static char cert_path[256], key_path[256], other_key_path[256];

static EVP_PKEY *
make_key(const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	FILE *f = fopen(path, "w");

	if (key == NULL || f == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		fprintf(stderr, "cannot make key %s\n", path);
		exit(1);
	}
	fclose(f);
	return key;
}

static void
make_cert(EVP_PKEY *key, const char *path)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	FILE *f;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), SERIAL);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * CERT_DAYS);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"tls-test.example", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:tls-test.example, IP:127.0.0.1");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(x, key, EVP_sha256()) == 0 || (f = fopen(path, "w")) == NULL
	    || PEM_write_X509(f, x) != 1) {
		fprintf(stderr, "cannot make certificate %s\n", path);
		exit(1);
	}
	fclose(f);
	X509_free(x);
}

/* The client side, in a child: runs fn on its end, writes a report to out. */
struct child {
	pid_t pid;
	int fd;		/* the server's end of the socketpair */
	int report;	/* read end of the report pipe */
};

static struct child
spawn(void (*fn)(int fd, FILE *out))
{
	struct child c;
	int sv[2], p[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(p) < 0)
		exit(1);
	c.pid = fork();
	if (c.pid == 0) {
		FILE *out = fdopen(p[1], "w");

		close(sv[0]);
		close(p[0]);
		fn(sv[1], out);
		fclose(out);
		_exit(0);
	}
	close(sv[1]);
	close(p[1]);
	c.fd = sv[0];
	c.report = p[0];
	return c;
}

/* Waits for the child and returns its report (static buffer). */
static const char *
finish(struct child *c)
{
	static char buf[REPORT_MAX];
	size_t len = 0;
	ssize_t n;

	close(c->fd);
	while (len < sizeof(buf) - 1 && (n = read(c->report, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(c->report);
	waitpid(c->pid, NULL, 0);
	return buf;
}

/* A client of ours: no verification; sends a line, reads the answer. */
static void
client_plain(int fd, FILE *out)
{
	char err[TLS_ERR_MAX], buf[128];
	struct tls_ctx *ctx = tls_client_ctx(NULL, NULL, err, sizeof(err));
	struct tls_conn *c = ctx ? tls_connect(ctx, fd, "tls-test.example", 0, TEST_TIMEOUT,
	    err, sizeof(err)) : NULL;
	ssize_t n;

	if (c == NULL) {
		fprintf(out, "connect failed: %s\n", err);
		return;
	}
	fprintf(out, "version=%s cn=%s verified=%d\n", tls_version(c),
	    tls_peer_cn(c) ? tls_peer_cn(c) : "-", tls_peer_verified(c));
	if (tls_write(c, "hello server\r\n", 14, TEST_TIMEOUT) < 0)
		fprintf(out, "write failed\n");
	n = tls_read(c, buf, sizeof(buf) - 1, TEST_TIMEOUT);
	buf[n > 0 ? n : 0] = '\0';
	fprintf(out, "got=%s", buf);
	tls_close(c);
	tls_ctx_free(ctx);
}

/* Verifies the server against the certificate as CA, with a right or wrong name. */
static void
client_verify(int fd, FILE *out, const char *name)
{
	char err[TLS_ERR_MAX];
	struct tls_ctx *ctx = tls_client_ctx(cert_path, NULL, err, sizeof(err));
	struct tls_conn *c = ctx ? tls_connect(ctx, fd, name, 1, TEST_TIMEOUT, err, sizeof(err)) : NULL;

	if (c == NULL) {
		fprintf(out, "connect failed: %s\n", err);
	} else {
		fprintf(out, "verified=%d\n", tls_peer_verified(c));
		tls_close(c);
	}
	tls_ctx_free(ctx);
}

/*
 * tls_connect_sni: the chain alone decides tls_peer_verified(); names and
 * fingerprints are asked afterwards.
 */
static void
client_match(int fd, FILE *out)
{
	static const char *const names[] = { "tls-test.example", ".example", ".test.example",
	    "other.example", "127.0.0.1", "127.0.0.2" };
	char err[TLS_ERR_MAX], fp[TLS_FPT_MAX];
	struct tls_ctx *ctx = tls_client_ctx(cert_path, NULL, err, sizeof(err));
	struct tls_conn *c = ctx ? tls_connect_sni(ctx, fd, "other.example", TEST_TIMEOUT, err,
	    sizeof(err)) : NULL;
	size_t i;

	if (c == NULL) {
		fprintf(out, "connect failed: %s\n", err);
		tls_ctx_free(ctx);
		return;
	}
	fprintf(out, "verified=%d", tls_peer_verified(c));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fprintf(out, " %s=%d", names[i], tls_peer_match(c, names[i]));
	fprintf(out, "\n");
	if (tls_peer_fingerprint(c, "sha256", 0, fp, sizeof(fp)) == 0)
		fprintf(out, "cert=%s\n", fp);
	if (tls_peer_fingerprint(c, "sha256", 1, fp, sizeof(fp)) == 0)
		fprintf(out, "pkey=%s\n", fp);
	fprintf(out, "bogus=%d short=%d\n", tls_peer_fingerprint(c, "nosuchdigest", 0, fp,
	    sizeof(fp)), tls_peer_fingerprint(c, "sha256", 0, fp, 10));
	tls_close(c);
	tls_ctx_free(ctx);
}

/* "AB:CD:..." of a digest, as tls_peer_fingerprint gives it. */
static void
hex_colons(const unsigned char *d, unsigned len, char *out, size_t outlen)
{
	unsigned i;

	out[0] = '\0';
	for (i = 0; i < len && (i + 1) * 3 < outlen; i++)
		snprintf(out + i * 3, outlen - i * 3, "%02X%s", d[i], i + 1 < len ? ":" : "");
}

static void
client_verify_good(int fd, FILE *out)
{
	client_verify(fd, out, "tls-test.example");
}

static void
client_verify_bad(int fd, FILE *out)
{
	client_verify(fd, out, "other.example");
}

/* An address literal is matched against the certificate's IP addresses. */
static void
client_verify_ip_good(int fd, FILE *out)
{
	client_verify(fd, out, "127.0.0.1");
}

static void
client_verify_ip_bad(int fd, FILE *out)
{
	client_verify(fd, out, "127.0.0.2");
}

/* verify = 0 with a wrong name: the handshake goes on, not verified (smtp_tls.c). */
static void
client_noverify_badname(int fd, FILE *out)
{
	char err[TLS_ERR_MAX];
	struct tls_ctx *ctx = tls_client_ctx(cert_path, NULL, err, sizeof(err));
	struct tls_conn *c = ctx ? tls_connect(ctx, fd, "other.example", 0, TEST_TIMEOUT, err,
	    sizeof(err)) : NULL;

	if (c == NULL) {
		fprintf(out, "connect failed: %s\n", err);
	} else {
		fprintf(out, "verified=%d\n", tls_peer_verified(c));
		tls_close(c);
	}
	tls_ctx_free(ctx);
}

/* A raw OpenSSL client limited to one protocol version. */
static void
client_version(int fd, FILE *out, int version)
{
	SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	/* OpenSSL 3 allows TLS 1.1 only at security level 0. */
	SSL_CTX_set_security_level(sc, 0);
	SSL_CTX_set_cipher_list(sc, "DEFAULT:@SECLEVEL=0");
	SSL_CTX_set_min_proto_version(sc, version);
	SSL_CTX_set_max_proto_version(sc, version);
	ssl = SSL_new(sc);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1)
		fprintf(out, "handshake ok %s\n", SSL_get_version(ssl));
	else
		fprintf(out, "handshake failed\n");
	SSL_free(ssl);
	SSL_CTX_free(sc);
}

static void
client_tls11(int fd, FILE *out)
{
	client_version(fd, out, TLS1_1_VERSION);
}

static void
client_tls12(int fd, FILE *out)
{
	client_version(fd, out, TLS1_2_VERSION);
}

/* Connects, then says nothing: the server's handshake must time out. */
static void
client_silent(int fd, FILE *out)
{
	char c;

	/* Until the server hangs up. */
	(void)read(fd, &c, 1);
}

/* Handshakes, then neither sends nor closes until the server hangs up. */
static void
client_idle(int fd, FILE *out)
{
	char err[TLS_ERR_MAX], buf[16];
	struct tls_ctx *ctx = tls_client_ctx(NULL, NULL, err, sizeof(err));
	struct tls_conn *c = tls_connect(ctx, fd, NULL, 0, TEST_TIMEOUT, err, sizeof(err));

	if (c) {
		fprintf(out, "read=%zd\n", tls_read(c, buf, sizeof(buf), TEST_TIMEOUT));
		tls_close(c);
	}
	tls_ctx_free(ctx);
}

/* Two lines in one record: the second waits in OpenSSL (tls_pending). */
static void
client_two_lines(int fd, FILE *out)
{
	char err[TLS_ERR_MAX];
	struct tls_ctx *ctx = tls_client_ctx(NULL, NULL, err, sizeof(err));
	struct tls_conn *c = tls_connect(ctx, fd, NULL, 0, TEST_TIMEOUT, err, sizeof(err));

	if (c) {
		(void)tls_write(c, "ONE\r\nTWO\r\n", 10, TEST_TIMEOUT);
		tls_close(c);
	}
	tls_ctx_free(ctx);
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* tls_protocol_range over Postfix's list forms; "min-max" or "error". */
static const char *
range(const char *spec)
{
	static char out[64];
	char err[TLS_ERR_MAX];
	int min, max;

	if (tls_protocol_range(spec, &min, &max, err, sizeof(err)) < 0)
		return "error";
	snprintf(out, sizeof(out), "%#x-%#x", (unsigned)min, (unsigned)max);
	return out;
}

static void
protocol_lists(void)
{
	char err[TLS_ERR_MAX];
	int min, max;

	is_str(range(""), "0x303-0x304", "empty list: TLS 1.2 and 1.3");
	is_str(range(">=TLSv1"), "0x303-0x304", "Postfix's default >=TLSv1: never below TLS 1.2");
	is_str(range("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"), "0x303-0x304", "the exclusion form");
	is_str(range("!SSLv2:!SSLv3"), "0x303-0x304", "colons separate too");
	is_str(range(">=TLSv1.3"), "0x304-0x304", ">=TLSv1.3");
	is_str(range("<=TLSv1.2"), "0x303-0x303", "<=TLSv1.2");
	is_str(range(">=TLSv1.2 <=TLSv1.3"), "0x303-0x304", "both bounds");
	is_str(range("!TLSv1.3"), "0x303-0x303", "!TLSv1.3");
	is_str(range("TLSv1.2"), "0x303-0x303", "inclusion: only the versions named");
	is_str(range("TLSv1 TLSv1.3"), "0x304-0x304", "inclusion of an old and a new version");
	is_str(range(">=tlsv1.3"), "0x304-0x304", "names in any case");
	is_str(range(">=0x0304"), "0x304-0x304", "a hex protocol number");
	is_str(range("TLSv1 TLSv1.1"), "error", "only versions below 1.2: nothing left");
	is_str(range("<=TLSv1.1"), "error", "<=TLSv1.1: nothing left");
	is_str(range(">=TLSv1.3 <=TLSv1.2"), "error", "an empty range");
	is_str(range("!TLSv1.2 !TLSv1.3"), "error", "both excluded");
	is_str(range(">=TLSv1.4"), "error", "an unknown version");
	is_str(range("!SSLv4"), "error", "an unknown version excluded");
	is_str(range(">="), "error", "a bound without a version");
	is_str(range("0x"), "error", "0x alone");
	is_str(range("0x10000"), "error", "a number too large");
	is_str(range("0x03g3"), "error", "not hex");
	ok(tls_protocol_range("!SSLv2, >=TLSv9", &min, &max, err, sizeof(err)) < 0
	    && strstr(err, "\">=TLSv9\"") != NULL, "the error names the element (%s)", err);
	ok(tls_protocol_range("TLSv1", &min, &max, err, sizeof(err)) < 0
	    && strstr(err, "no TLS protocol version left") != NULL, "... or says nothing is left (%s)", err);
}

static void
cipher_policy(struct tls_ctx *srv)
{
	char err[TLS_ERR_MAX];

	ok(tls_ctx_policy(srv, ">=TLSv1", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH", "", 0, err,
	    sizeof(err)) == 0, "Postfix's medium grade, nothing excluded: accepted");
	ok(tls_ctx_policy(srv, "<=TLSv1.2", "aNULL:-aNULL:HIGH:@STRENGTH", "AES, CHACHA20, CAMELLIA, ARIA",
	    0, err, sizeof(err)) < 0 && strstr(err, "no cipher left") != NULL,
	    "every TLS 1.2 cipher excluded: refused (%s)", err);
	ok(tls_ctx_policy(srv, ">=TLSv1.3", "aNULL:-aNULL:HIGH:@STRENGTH", "AES, CHACHA20, CAMELLIA, ARIA",
	    0, err, sizeof(err)) == 0, "... but fine with TLS 1.3 only (its suites are OpenSSL's)");
	ok(tls_ctx_policy(srv, "SSLv3", "HIGH", "", 0, err, sizeof(err)) < 0,
	    "SSLv3 only: refused (%s)", err);
	/* Back to the defaults for the exchanges below. */
	ok(tls_ctx_policy(srv, "", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH", "", 1, err,
	    sizeof(err)) == 0, "defaults again");
}

int
main(void)
{
	char err[TLS_ERR_MAX], buf[128];
	struct tls_ctx *srv;
	struct tls_conn *c;
	struct child ch;
	struct timespec t0;
	const char *rep;
	EVP_PKEY *key, *other;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	snprintf(other_key_path, sizeof(other_key_path), "%s/other.pem", dir);
	key = make_key(key_path);
	other = make_key(other_key_path);
	make_cert(key, cert_path);

	/* --- contexts that cannot be made --- */
	srv = tls_server_ctx("/nonexistent/cert.pem", NULL, err, sizeof(err));
	ok(srv == NULL && strstr(err, "/nonexistent/cert.pem") && strstr(err, "No such file"),
	    "missing certificate: NULL, the error names the file (%s)", err);
	srv = tls_server_ctx(cert_path, other_key_path, err, sizeof(err));
	ok(srv == NULL && strstr(err, "does not match") && strstr(err, other_key_path),
	    "mismatched key: NULL, the error says so (%s)", err);
	srv = tls_server_ctx(key_path, key_path, err, sizeof(err));
	ok(srv == NULL && strstr(err, "cannot load certificate"),
	    "a key file given as certificate: refused (%s)", err);
	ok(tls_client_ctx("/nonexistent/ca.pem", NULL, err, sizeof(err)) == NULL
	    && strstr(err, "/nonexistent/ca.pem"), "client: missing CA file refused (%s)", err);

	srv = tls_server_ctx(cert_path, key_path, err, sizeof(err));
	ok(srv != NULL, "server context from the certificate and key (%s)", srv ? "" : err);
	if (srv == NULL)
		return done_testing();
	protocol_lists();
	cipher_policy(srv);

	/* --- a whole exchange --- */
	ch = spawn(client_plain);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	ok(c != NULL, "server handshake (%s)", c ? "" : err);
	if (c) {
		is_str(tls_version(c), "TLSv1.3", "TLS 1.3 negotiated");
		is_str(tls_cipher(c), "TLS_AES_256_GCM_SHA384", "cipher name");
		is_int(tls_cipher_bits(c), 256, "secret bits");
		is_int(tls_cipher_alg_bits(c), 256, "algorithm bits");
		ok(tls_peer_cn(c) == NULL, "no client certificate: no peer CN");
		n = tls_read(c, buf, sizeof(buf) - 1, TEST_TIMEOUT);
		buf[n > 0 ? n : 0] = '\0';
		is_str(buf, "hello server\r\n", "server reads what the client wrote");
		is_int(tls_write(c, "250 hello client\r\n", 18, TEST_TIMEOUT), 0, "server writes");
		n = tls_read(c, buf, sizeof(buf), TEST_TIMEOUT);
		is_int((int)n, 0, "end of stream after the client's close");
		tls_close(c);
	}
	rep = finish(&ch);
	ok(strstr(rep, "version=TLSv1.3 cn=tls-test.example verified=0\n") != NULL,
	    "client: TLS 1.3, the server's CN, not verified without a CA");
	ok(strstr(rep, "got=250 hello client\r\n") != NULL, "client reads the server's line");

	/* --- pipelined data stays buffered in OpenSSL --- */
	ch = spawn(client_two_lines);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	if (c) {
		n = tls_read(c, buf, 5, TEST_TIMEOUT);
		ok(n == 5 && memcmp(buf, "ONE\r\n", 5) == 0, "first line of a record");
		is_int(tls_pending(c), 1, "the rest is pending");
		n = tls_read(c, buf, sizeof(buf), TEST_TIMEOUT);
		ok(n == 5 && memcmp(buf, "TWO\r\n", 5) == 0, "second line without waiting");
		is_int(tls_pending(c), 0, "nothing pending after it");
		tls_close(c);
	} else {
		ok(0, "handshake for the pipelining case (%s)", err);
	}
	finish(&ch);

	/* --- verification --- */
	ch = spawn(client_verify_good);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	tls_close(c);
	rep = finish(&ch);
	is_str(rep, "verified=1\n", "client with the CA and the right name: verified");
	ch = spawn(client_verify_bad);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	ok(c == NULL, "server: handshake fails when the client rejects the name");
	tls_close(c);
	rep = finish(&ch);
	ok(strstr(rep, "connect failed: TLS handshake (client)") && strstr(rep, "certificate verify failed"),
	    "client with a wrong name: certificate verify failed (%s)", rep);

	/* --- names and fingerprints after tls_connect_sni --- */
	ch = spawn(client_match);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	tls_close(c);
	rep = finish(&ch);
	{
		unsigned char d[EVP_MAX_MD_SIZE], *der = NULL;
		unsigned dl = 0;
		char want[REPORT_MAX], cfp[TLS_FPT_MAX], kfp[TLS_FPT_MAX];
		FILE *f = fopen(cert_path, "r");
		X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
		int dn = x ? i2d_PUBKEY(X509_get0_pubkey(x), &der) : -1;

		if (f)
			fclose(f);
		X509_digest(x, EVP_sha256(), d, &dl);
		hex_colons(d, dl, cfp, sizeof(cfp));
		EVP_Digest(der, dn > 0 ? (size_t)dn : 0, d, &dl, EVP_sha256(), NULL);
		hex_colons(d, dl, kfp, sizeof(kfp));
		OPENSSL_free(der);
		X509_free(x);
		snprintf(want, sizeof(want), "verified=1 tls-test.example=1 .example=1 "
		    ".test.example=0 other.example=0 127.0.0.1=1 127.0.0.2=0\ncert=%s\npkey=%s\n"
		    "bogus=-1 short=-1\n", cfp, kfp);
		is_str(rep, want, "tls_connect_sni with another SNI name: the chain verified; "
		    "names, .domain and IP matched; certificate and public-key fingerprints");
	}

	ch = spawn(client_verify_ip_good);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	tls_close(c);
	rep = finish(&ch);
	is_str(rep, "verified=1\n", "client with the CA and the right IP address: verified");
	ch = spawn(client_verify_ip_bad);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	tls_close(c);
	rep = finish(&ch);
	ok(strstr(rep, "certificate verify failed") != NULL,
	    "client with a wrong IP address: certificate verify failed (%s)", rep);
	ch = spawn(client_noverify_badname);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	tls_close(c);
	rep = finish(&ch);
	is_str(rep, "verified=0\n", "no verification asked, wrong name: connected, not verified");

	/* --- protocol versions --- */
	ch = spawn(client_tls11);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	ok(c == NULL && strstr(err, "unsupported protocol"), "TLS 1.1 refused (%s)", err);
	tls_close(c);
	is_str(finish(&ch), "handshake failed\n", "TLS 1.1 client fails");
	ch = spawn(client_tls12);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	ok(c != NULL && strcmp(tls_version(c), "TLSv1.2") == 0, "TLS 1.2 accepted");
	tls_close(c);
	is_str(finish(&ch), "handshake ok TLSv1.2\n", "TLS 1.2 client succeeds");

	/* --- time-outs --- */
	ch = spawn(client_silent);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	c = tls_accept(srv, ch.fd, 1, err, sizeof(err));
	ok(c == NULL && errno == ETIMEDOUT && strstr(err, "timed out"),
	    "a silent client: handshake times out (%s)", err);
	ok(elapsed(&t0) >= 0.9 && elapsed(&t0) < 5, "after about a second");
	finish(&ch);

	ch = spawn(client_idle);
	c = tls_accept(srv, ch.fd, TEST_TIMEOUT, err, sizeof(err));
	if (c) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		errno = 0;
		n = tls_read(c, buf, sizeof(buf), 1);
		ok(n == -1 && errno == ETIMEDOUT, "idle client: read times out");
		ok(elapsed(&t0) >= 0.9 && elapsed(&t0) < 5, "after about a second");
		tls_close(c);
	} else {
		ok(0, "handshake for the idle case (%s)", err);
	}
	rep = finish(&ch);
	is_str(rep, "read=0\n", "client sees the end of stream after the server's close");

	tls_ctx_free(srv);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	unlink(cert_path);
	unlink(key_path);
	unlink(other_key_path);
	rmdir(dir);
	return done_testing();
}
