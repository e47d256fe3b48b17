/*
 * tls - OpenSSL for both ends of SMTP: the server (smtpd: STARTTLS and
 * wrapper mode) and the client (relay by MX: STARTTLS). TLS 1.2 and newer
 * only.
 *
 * A context (struct tls_ctx) is made once per process from configuration;
 * a connection (struct tls_conn) wraps a connected socket after the plain
 * text part of the dialogue. All I/O is blocking with a time-out in
 * seconds (poll), so the SMTP code keeps its line-at-a-time structure.
 *
 * Errors: functions return NULL or -1 and put a one-line reason (OpenSSL's
 * error queue, drained) in err; nothing here exits or logs by itself,
 * except tls_conn_* which log at the verbosity set by tls_ctx_loglevel.
 */
#ifndef PETREL_TLS_H
#define PETREL_TLS_H

#include <stddef.h>
#include <sys/types.h>

#define TLS_ERR_MAX	256

struct tls_ctx;
struct tls_conn;

/*
 * Server context from a certificate chain file and a key file (both PEM;
 * key_file may equal cert_file). NULL with err naming the file when either
 * is missing, unreadable or does not match: the caller then does not
 * offer STARTTLS and logs a warning.
 */
struct tls_ctx *tls_server_ctx(const char *cert_file, const char *key_file,
    char *err, size_t errlen);

/*
 * Server context from Postfix's chain files (smtpd_tls_chain_files): each
 * file holds a private key and its certificate chain, leaf first (one
 * file per key algorithm, e.g. RSA and ECDSA). NULL with err as above.
 */
struct tls_ctx *tls_server_ctx_chains(const char *const *files, size_t n,
    char *err, size_t errlen);

/*
 * Replaces the server's ephemeral DH group (by default one sized to the
 * certificate's key) with the PEM "DH PARAMETERS" of path
 * (smtpd_tls_dh1024_param_file). -1 with err naming the file when it
 * cannot be read or holds no DH parameters; the context is then as before.
 */
int tls_server_dh_file(struct tls_ctx *ctx, const char *path, char *err, size_t errlen);

/*
 * Client context. CAfile/CApath may be NULL or "" (then only opportunistic
 * use is possible). Verification is chosen per connection (tls_connect's
 * verify: 0 = none, for security levels may and encrypt; 1 = the chain
 * must verify and the name must match, for verify and secure).
 */
struct tls_ctx *tls_client_ctx(const char *ca_file, const char *ca_path,
    char *err, size_t errlen);

void tls_ctx_free(struct tls_ctx *ctx);
void tls_ctx_loglevel(struct tls_ctx *ctx, int level);

/*
 * Postfix's protocol list syntax (smtpd_tls_protocols and friends):
 * elements separated by spaces, commas or colons, each ">=V" (lowest
 * version), "<=V" (highest), "!V" (not V) or "V" (only the versions so
 * named), V one of SSLv2 SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 or a hex
 * protocol number (0x0303); case does not matter; empty = all. Petrel
 * never goes below TLS 1.2, so what is left is a range within
 * [TLS1_2_VERSION, TLS1_3_VERSION]: 0 with *min and *max set, -1 with err
 * naming the bad element, or saying that no version is left.
 */
int tls_protocol_range(const char *spec, int *min, int *max, char *err, size_t errlen);

/*
 * Applies a protocol list (as above), an OpenSSL cipher string for TLS
 * 1.2 (a grade's list, tls_medium_cipherlist for instance) less the
 * ciphers named in exclude (separated by spaces, commas or colons:
 * "aNULL, RC4" appends ":!aNULL:!RC4"), and, on a server context, whether
 * its own cipher order wins (tls_preempt_cipherlist). TLS 1.3 suites are
 * OpenSSL's defaults, as in Postfix. -1 with err when the protocol list is
 * invalid or the cipher string selects no cipher: the caller must then not
 * use the context.
 */
int tls_ctx_policy(struct tls_ctx *ctx, const char *protocols, const char *ciphers,
    const char *exclude, int server_order, char *err, size_t errlen);

/*
 * Handshakes on fd as server / as client (SNI and name check with
 * peer_name; an IPv4/IPv6 literal gets no SNI and is matched against the
 * certificate's IP addresses). With verify = 0 the chain and the name are
 * still checked, and tls_peer_verified() tells the outcome.
 */
struct tls_conn *tls_accept(struct tls_ctx *ctx, int fd, int timeout,
    char *err, size_t errlen);
struct tls_conn *tls_connect(struct tls_ctx *ctx, int fd, const char *peer_name,
    int verify, int timeout, char *err, size_t errlen);

/*
 * As tls_connect with verify = 0, but sni is sent as the server name only
 * (no SNI for an address literal); tls_peer_verified() then tells whether
 * the chain alone verified, and tls_peer_match() checks names.
 */
struct tls_conn *tls_connect_sni(struct tls_ctx *ctx, int fd, const char *sni, int timeout,
    char *err, size_t errlen);

/*
 * 1 when the peer certificate matches name: a DNS name (subjectAltName,
 * else the CN; "*.example.com" wildcards; a name with a leading dot,
 * ".example.com", matches any subdomain of example.com) or an IPv4/IPv6
 * literal (its IP address entries); else 0.
 */
int tls_peer_match(const struct tls_conn *c, const char *name);

/*
 * The peer certificate's fingerprint (pubkey 0: of the whole DER
 * certificate; 1: of its DER SubjectPublicKeyInfo) by OpenSSL's digest
 * name ("sha256", "sha1", "md5") as upper-case hex bytes joined by ':'
 * ("3D:95:..."): 0, or -1 (no certificate, unknown digest, out too short:
 * it needs 3 bytes per digest byte, EVP_MAX_MD_SIZE * 3 is always enough).
 */
#define TLS_FPT_MAX	(64 * 3)
int tls_peer_fingerprint(const struct tls_conn *c, const char *digest, int pubkey, char *out,
    size_t outlen);

/*
 * Reads up to len bytes: > 0, 0 at a clean or unclean end of the peer's
 * stream, -1 on error or time-out (errno ETIMEDOUT for a time-out, EINTR
 * when a signal interrupted the wait: call again to go on waiting).
 */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t len, int timeout);
/* 1 when tls_read would return without touching the socket (buffered data). */
int tls_pending(struct tls_conn *c);
/* Writes all of buf. 0, or -1 (errno ETIMEDOUT on time-out). */
int tls_write(struct tls_conn *c, const void *buf, size_t len, int timeout);
/* Sends close_notify (best effort) and frees c; the fd stays open. */
void tls_close(struct tls_conn *c);

/*
 * "TLSv1.3", "TLS_AES_256_GCM_SHA384", secret bits and the cipher's
 * algorithm bits: for logs and Received: ("(256/256 bits)").
 */
const char *tls_version(const struct tls_conn *c);
const char *tls_cipher(const struct tls_conn *c);
int tls_cipher_bits(const struct tls_conn *c);
int tls_cipher_alg_bits(const struct tls_conn *c);
/* 1 when the peer's chain verified (client side with verify), else 0. */
int tls_peer_verified(const struct tls_conn *c);
/* The peer certificate's subject CN, or NULL. */
const char *tls_peer_cn(const struct tls_conn *c);

#endif
