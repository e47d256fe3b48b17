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
