/*
 * smtpd_sasl - the SMTP server's side of AUTH (RFC 4954): a client of
 * Dovecot's authentication service (smtpd_sasl_type = dovecot), as
 * Postfix's xsasl_dovecot is. Dovecot runs the mechanisms; this module
 * only carries the base64 exchanges between the SMTP client and the
 * socket, so PLAIN and LOGIN (the ones offered) behave exactly as
 * Dovecot's own IMAP login does.
 *
 * The socket (smtpd_sasl_path) is a path relative to queue_directory
 * ("private/auth", as with Postfix) or absolute; "unix:" may precede it.
 * The wire protocol (Dovecot auth protocol 1.x, one line per message,
 * tab-separated): we send "VERSION 1 0" and "CPID pid"; the server sends
 * VERSION, MECH lines, ..., DONE. Then per attempt "AUTH id mech
 * service=smtp nologin lip= rip= [secured] [resp=b64]", answered by
 * "OK id user=..", "CONT id b64" (we send "CONT id b64" back) or
 * "FAIL id [user=..] [reason=..] [temp]".
 *
 * Errors: smtpd_sasl_open returns NULL with a reason (logged by the
 * caller); a connection lost or timed out during an exchange answers
 * SMTPD_SASL_TEMP.
 */
#ifndef PETREL_SMTPD_SASL_H
#define PETREL_SMTPD_SASL_H

#include <stddef.h>

#define SMTPD_SASL_TIMEOUT	30	/* seconds for one answer of the auth server */

enum smtpd_sasl_status {
	SMTPD_SASL_OK,		/* authenticated: out holds the user name */
	SMTPD_SASL_CONT,	/* out holds the next base64 challenge */
	SMTPD_SASL_FAIL,	/* out holds the reason ("" when none) */
	SMTPD_SASL_TEMP,	/* out holds the reason */
};

struct smtpd_sasl;

/* Connects and reads the handshake. NULL with err on failure. */
struct smtpd_sasl *smtpd_sasl_open(const char *path, char *err, size_t errlen);
void smtpd_sasl_close(struct smtpd_sasl *sa);

/* The mechanisms offered in EHLO ("PLAIN LOGIN"): Dovecot's, kept to PLAIN and LOGIN. */
const char *smtpd_sasl_mechs(const struct smtpd_sasl *sa);
/* 1 when mech (any case) is in that list. */
int smtpd_sasl_has_mech(const struct smtpd_sasl *sa, const char *mech);

/*
 * Starts an exchange: mech from the list, resp the initial response in
 * base64 (NULL when none, "" for the empty one), the addresses of both
 * ends, secured when TLS is on. The caller has checked resp is base64.
 */
enum smtpd_sasl_status smtpd_sasl_start(struct smtpd_sasl *sa, const char *mech,
    const char *resp, const char *local_addr, const char *client_addr, int secured,
    char *out, size_t outlen);
/* Sends the client's next base64 response. */
enum smtpd_sasl_status smtpd_sasl_next(struct smtpd_sasl *sa, const char *resp,
    char *out, size_t outlen);

/* The user= of the last answer (a failure's too, for the log), or NULL. */
const char *smtpd_sasl_user(const struct smtpd_sasl *sa);

/* 1 when s is valid base64 (RFC 4648 alphabet, padding only at the end, length % 4 == 0). */
int smtpd_sasl_valid_base64(const char *s);

#endif
