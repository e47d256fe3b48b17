/*
 * smtpd_sasl - AUTH through Dovecot's authentication socket; see
 * smtpd_sasl.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "instance.h"
#include "log.h"
#include "pbuf.h"
#include "smtpd_sasl.h"
#include "strv.h"
#include "xalloc.h"

#define SASL_LINE_MAX		16384	/* longest line accepted from the auth server */
#define SASL_READ_CHUNK		4096
#define SASL_MS			1000
#define SASL_PROTO_MAJOR	1
#define SASL_PROTO_MINOR	0
#define SASL_UNIX_PREFIX	"unix:"

struct smtpd_sasl {
	int fd;
	struct pbuf in;		/* bytes read, not yet taken as lines */
	struct pbuf mechs;	/* "PLAIN LOGIN" */
	unsigned id;		/* of the exchange under way */
	char *user;		/* user= of the last answer */
};

/* Our mechanisms, in the order we prefer them; Dovecot must offer them too. */
static const char *const sasl_known[] = { "PLAIN", "LOGIN", NULL };

int
smtpd_sasl_valid_base64(const char *s)
{
	size_t n = strlen(s), i, pad = 0;

	if (n % 4 != 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !(isalnum(c) || c == '+' || c == '/'))
			return 0;
	}
	return pad <= 2;
}

/* Writes all of a line; -1 on error. */
static int
sasl_send(struct smtpd_sasl *sa, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = send(sa->fd, line, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		line += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads one line (LF removed) into line within SMTPD_SASL_TIMEOUT.
 * 1, or -1 on EOF, error, time-out or an over-long line (err says which).
 */
static int
sasl_getline(struct smtpd_sasl *sa, struct pbuf *line, char *err, size_t errlen)
{
	time_t deadline = time(NULL) + SMTPD_SASL_TIMEOUT;

	for (;;) {
		char *nl = sa->in.len ? memchr(sa->in.data, '\n', sa->in.len) : NULL;
		char buf[SASL_READ_CHUNK];
		struct pollfd p;
		ssize_t n;
		int rc;

		if (nl) {
			size_t len = (size_t)(nl - sa->in.data);

			pbuf_reset(line);
			pbuf_append(line, sa->in.data, len);
			memmove(sa->in.data, nl + 1, sa->in.len - len - 1);
			pbuf_truncate(&sa->in, sa->in.len - len - 1);
			return 1;
		}
		if (sa->in.len > SASL_LINE_MAX) {
			snprintf(err, errlen, "line from the authentication server too long");
			return -1;
		}
		p.fd = sa->fd;
		p.events = POLLIN;
		p.revents = 0;
		if (time(NULL) >= deadline) {
			snprintf(err, errlen, "timeout reading from the authentication server");
			return -1;
		}
		rc = poll(&p, 1, (int)(deadline - time(NULL)) * SASL_MS);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			snprintf(err, errlen, "%s from the authentication server",
			    rc == 0 ? "timeout reading" : "cannot read");
			return -1;
		}
		n = read(sa->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "connection lost to the authentication server");
			return -1;
		}
		pbuf_append(&sa->in, buf, (size_t)n);
	}
}

struct smtpd_sasl *
smtpd_sasl_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct smtpd_sasl *sa;
	struct pbuf line = PBUF_INIT;
	char *full;
	char hello[64];
	int fd, n, version_ok = 0;

	if (strncmp(path, SASL_UNIX_PREFIX, strlen(SASL_UNIX_PREFIX)) == 0)
		path += strlen(SASL_UNIX_PREFIX);
	full = *path == '/' ? xstrdup(path) : instance_path(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(full) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "SASL: socket path too long: %s", full);
		free(full);
		return NULL;
	}
	memcpy(sun.sun_path, full, strlen(full) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "SASL: Connect to %s failed: %s", full, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(full);
		return NULL;
	}
	sa = xcalloc(1, sizeof(*sa));
	sa->fd = fd;
	n = snprintf(hello, sizeof(hello), "VERSION\t%d\t%d\nCPID\t%ld\n", SASL_PROTO_MAJOR,
	    SASL_PROTO_MINOR, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(hello) || sasl_send(sa, hello, (size_t)n) < 0) {
		snprintf(err, errlen, "SASL: cannot send the handshake to %s: %s", full, strerror(errno));
		goto fail;
	}
	for (;;) {
		struct strv f = STRV_INIT;
		char e[256];

		if (sasl_getline(sa, &line, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "SASL: handshake with %s: %s", full, e);
			goto fail;
		}
		strv_split(&f, pbuf_str(&line), "\t");
		if (f.n >= 2 && strcmp(f.v[0], "VERSION") == 0) {
			if (atoi(f.v[1]) != SASL_PROTO_MAJOR) {
				snprintf(err, errlen, "SASL: %s speaks protocol version %s, not %d",
				    full, f.v[1], SASL_PROTO_MAJOR);
				strv_free(&f);
				goto fail;
			}
			version_ok = 1;
		} else if (f.n >= 2 && strcmp(f.v[0], "MECH") == 0) {
			int i;

			for (i = 0; sasl_known[i]; i++)
				if (strcasecmp(f.v[1], sasl_known[i]) == 0) {
					if (sa->mechs.len)
						pbuf_putc(&sa->mechs, ' ');
					pbuf_puts(&sa->mechs, sasl_known[i]);
				}
		} else if (f.n >= 1 && strcmp(f.v[0], "DONE") == 0) {
			strv_free(&f);
			break;
		}
		strv_free(&f);
	}
	if (!version_ok) {
		snprintf(err, errlen, "SASL: %s sent no protocol version", full);
		goto fail;
	}
	pbuf_free(&line);
	free(full);
	return sa;

fail:
	pbuf_free(&line);
	free(full);
	smtpd_sasl_close(sa);
	return NULL;
}

void
smtpd_sasl_close(struct smtpd_sasl *sa)
{
	if (sa == NULL)
		return;
	close(sa->fd);
	pbuf_free(&sa->in);
	pbuf_free(&sa->mechs);
	free(sa->user);
	free(sa);
}

const char *
smtpd_sasl_mechs(const struct smtpd_sasl *sa)
{
	return pbuf_str(&sa->mechs);
}

int
smtpd_sasl_has_mech(const struct smtpd_sasl *sa, const char *mech)
{
	struct strv list = STRV_INIT;
	size_t i;
	int hit = 0;

	strv_split(&list, pbuf_str(&sa->mechs), " ");
	for (i = 0; i < list.n; i++)
		if (strcasecmp(list.v[i], mech) == 0)
			hit = 1;
	strv_free(&list);
	return hit;
}

const char *
smtpd_sasl_user(const struct smtpd_sasl *sa)
{
	return sa->user;
}

/* Reads answers until the one for the exchange under way. */
static enum smtpd_sasl_status
sasl_answer(struct smtpd_sasl *sa, char *out, size_t outlen)
{
	struct pbuf line = PBUF_INIT;
	enum smtpd_sasl_status st;

	for (;;) {
		struct strv f = STRV_INIT;
		char e[256];
		size_t i;
		int temp = 0;
		const char *reason = "";

		if (sasl_getline(sa, &line, e, sizeof(e)) < 0) {
			snprintf(out, outlen, "%s", e);
			pbuf_free(&line);
			return SMTPD_SASL_TEMP;
		}
		strv_split(&f, pbuf_str(&line), "\t");
		if (f.n < 2 || strtoul(f.v[1], NULL, 10) != sa->id) {
			strv_free(&f);
			continue;	/* not ours, or a line we do not know */
		}
		if (strcmp(f.v[0], "CONT") == 0) {
			snprintf(out, outlen, "%s", f.n >= 3 ? f.v[2] : "");
			strv_free(&f);
			pbuf_free(&line);
			return SMTPD_SASL_CONT;
		}
		if (strcmp(f.v[0], "OK") != 0 && strcmp(f.v[0], "FAIL") != 0) {
			strv_free(&f);
			continue;
		}
		free(sa->user);
		sa->user = NULL;
		for (i = 2; i < f.n; i++) {
			if (strncmp(f.v[i], "user=", 5) == 0) {
				free(sa->user);
				sa->user = xstrdup(f.v[i] + 5);
			} else if (strncmp(f.v[i], "reason=", 7) == 0) {
				reason = f.v[i] + 7;
			} else if (strcmp(f.v[i], "temp") == 0) {
				temp = 1;
			}
		}
		if (strcmp(f.v[0], "OK") == 0) {
			if (sa->user == NULL) {
				snprintf(out, outlen, "the authentication server named no user");
				st = SMTPD_SASL_TEMP;
			} else {
				snprintf(out, outlen, "%s", sa->user);
				st = SMTPD_SASL_OK;
			}
		} else {
			snprintf(out, outlen, "%s", reason);
			st = temp ? SMTPD_SASL_TEMP : SMTPD_SASL_FAIL;
		}
		/* Control characters never reach a reply or the log. */
		for (i = 0; out[i]; i++)
			if ((unsigned char)out[i] < ' ' || out[i] == 0x7f)
				out[i] = '?';
		if (sa->user)
			for (i = 0; sa->user[i]; i++)
				if ((unsigned char)sa->user[i] < ' ' || sa->user[i] == 0x7f)
					sa->user[i] = '?';
		strv_free(&f);
		pbuf_free(&line);
		return st;
	}
}

enum smtpd_sasl_status
smtpd_sasl_start(struct smtpd_sasl *sa, const char *mech, const char *resp,
    const char *local_addr, const char *client_addr, int secured, char *out, size_t outlen)
{
	struct pbuf req = PBUF_INIT;
	int rc;

	sa->id++;
	pbuf_printf(&req, "AUTH\t%u\t%s\tservice=smtp\tnologin", sa->id, mech);
	if (local_addr && *local_addr)
		pbuf_printf(&req, "\tlip=%s", local_addr);
	if (client_addr && *client_addr)
		pbuf_printf(&req, "\trip=%s", client_addr);
	if (secured)
		pbuf_puts(&req, "\tsecured");
	if (resp)
		pbuf_printf(&req, "\tresp=%s", resp);
	pbuf_putc(&req, '\n');
	rc = sasl_send(sa, req.data, req.len);
	pbuf_free(&req);
	if (rc < 0) {
		snprintf(out, outlen, "connection lost to the authentication server");
		return SMTPD_SASL_TEMP;
	}
	return sasl_answer(sa, out, outlen);
}

enum smtpd_sasl_status
smtpd_sasl_next(struct smtpd_sasl *sa, const char *resp, char *out, size_t outlen)
{
	struct pbuf req = PBUF_INIT;
	int rc;

	pbuf_printf(&req, "CONT\t%u\t%s\n", sa->id, resp);
	rc = sasl_send(sa, req.data, req.len);
	pbuf_free(&req);
	if (rc < 0) {
		snprintf(out, outlen, "connection lost to the authentication server");
		return SMTPD_SASL_TEMP;
	}
	return sasl_answer(sa, out, outlen);
}
