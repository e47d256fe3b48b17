/*
 * smtpd_policy - the client of Postfix's policy delegation protocol
 * (SMTPD_POLICY_README) for check_policy_service: postgrey,
 * policyd-spf and the like answer whether a recipient may pass.
 *
 * One request per RCPT: the attributes as "name=value" lines (request,
 * protocol_state, protocol_name, helo_name, queue_id, sender, recipient,
 * recipient_count, client_address, client_name, reverse_client_name,
 * instance, sasl_method, sasl_username, sasl_sender, size,
 * encryption_protocol, encryption_cipher, encryption_keysize, ...), an
 * empty line; the server answers "action=..." and an empty line. A
 * connection is opened per request (Postfix keeps one per endpoint for
 * smtpd_policy_service_max_idle; servers must take both), within
 * smtpd_policy_service_timeout for connecting, writing and reading.
 * Values are sent as they are, but a line break in one would start a new
 * attribute: such characters are replaced by '?'.
 *
 * API: smtpd_policy_query(). Errors: -1 with a reason (the address, a
 * time-out, an answer without "action=" or longer than
 * SMTPD_POLICY_REPLY_MAX); the caller applies
 * smtpd_policy_service_default_action.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "conf.h"
#include "endpoint.h"
#include "pbuf.h"
#include "smtpd_policy.h"
#include "xalloc.h"

#define POLICY_MS		1000
#define SMTPD_POLICY_REPLY_MAX	4096	/* longest answer taken */

/* "name=value\n" with CR/LF in value replaced. */
static void
policy_attr(struct pbuf *b, const char *name, const char *value)
{
	const char *p;

	pbuf_printf(b, "%s=", name);
	for (p = value ? value : ""; *p; p++)
		pbuf_putc(b, *p == '\n' || *p == '\r' ? '?' : *p);
	pbuf_putc(b, '\n');
}

/* Reads until the empty line that ends the answer; 0, or -1 with err. */
static int
policy_read(int fd, long long deadline, struct pbuf *in, char *err, size_t errlen)
{
	char buf[512];

	for (;;) {
		const char *d = pbuf_str(in);
		ssize_t n;
		int rc;

		if (d[0] == '\n' || strstr(d, "\n\n") != NULL)
			return 0;
		if (in->len > SMTPD_POLICY_REPLY_MAX) {
			snprintf(err, errlen, "answer longer than %d bytes", SMTPD_POLICY_REPLY_MAX);
			return -1;
		}
		rc = endpoint_wait(fd, POLLIN, deadline);
		if (rc <= 0) {
			snprintf(err, errlen, "%s", rc == 0 ? "time-out while reading the answer"
			    : strerror(errno));
			return -1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s", n == 0 ? "connection closed before the answer ended"
			    : strerror(errno));
			return -1;
		}
		pbuf_append(in, buf, (size_t)n);
	}
}

int
smtpd_policy_query(const char *endpoint, const struct smtpd_policy_request *rq,
    char **action, char *err, size_t errlen)
{
	struct pbuf out = PBUF_INIT, in = PBUF_INIT;
	long long timeout = conf_time("smtpd_policy_service_timeout");
	long long deadline;
	char num[32], what[256];
	const char *line, *end;
	int fd, rc = -1;

	*action = NULL;
	if (timeout <= 0 || timeout > INT32_MAX / POLICY_MS)
		timeout = INT32_MAX / POLICY_MS;
	deadline = endpoint_now_ms() + timeout * POLICY_MS;
	fd = endpoint_connect(endpoint, conf_str("queue_directory"), (int)(timeout * POLICY_MS),
	    what, sizeof(what));
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", endpoint, what);
		return -1;
	}
	policy_attr(&out, "request", "smtpd_access_policy");
	policy_attr(&out, "protocol_state", rq->state ? rq->state : "RCPT");
	policy_attr(&out, "protocol_name", rq->protocol);
	policy_attr(&out, "helo_name", rq->helo);
	policy_attr(&out, "queue_id", "");
	policy_attr(&out, "sender", rq->sender);
	policy_attr(&out, "recipient", rq->rcpt);
	snprintf(num, sizeof(num), "%zu", rq->rcpt_count);
	policy_attr(&out, "recipient_count", num);
	policy_attr(&out, "client_address", rq->addr);
	policy_attr(&out, "client_name", rq->name);
	policy_attr(&out, "reverse_client_name", rq->name);
	policy_attr(&out, "instance", rq->instance);
	policy_attr(&out, "sasl_method", rq->sasl_method);
	policy_attr(&out, "sasl_username", rq->sasl_username);
	policy_attr(&out, "sasl_sender", "");
	snprintf(num, sizeof(num), "%zu", rq->size);
	policy_attr(&out, "size", num);
	policy_attr(&out, "ccert_subject", "");
	policy_attr(&out, "ccert_issuer", "");
	policy_attr(&out, "ccert_fingerprint", "");
	policy_attr(&out, "encryption_protocol", rq->tls_protocol);
	policy_attr(&out, "encryption_cipher", rq->tls_cipher);
	snprintf(num, sizeof(num), "%d", rq->tls_keysize);
	policy_attr(&out, "encryption_keysize", rq->tls_protocol && *rq->tls_protocol ? num : "0");
	policy_attr(&out, "etrn_domain", "");
	policy_attr(&out, "stress", "");
	pbuf_putc(&out, '\n');
	if (endpoint_write(fd, out.data, out.len, deadline, what, sizeof(what)) < 0
	    || policy_read(fd, deadline, &in, what, sizeof(what)) < 0) {
		snprintf(err, errlen, "%s: %s", endpoint, what);
		goto out;
	}
	for (line = pbuf_str(&in); *line && *line != '\n'; line = end + 1) {
		end = strchr(line, '\n');
		if (end == NULL)
			break;
		if (strncmp(line, "action=", 7) == 0) {
			*action = xstrndup(line + 7, (size_t)(end - line - 7));
			rc = 0;
			goto out;
		}
	}
	snprintf(err, errlen, "%s: an answer without action=", endpoint);
out:
	close(fd);
	pbuf_free(&out);
	pbuf_free(&in);
	return rc;
}
