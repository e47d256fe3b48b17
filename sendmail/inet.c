/*
 * inet - master.cf inet services and their listeners; see inet.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "inet.h"
#include "log.h"
#include "pbuf.h"
#include "xalloc.h"

#define INET_FILE_MAX		(1024 * 1024)
/*
 * The master accepts every connection itself (and answers 421 when the
 * service is full), so a burst waits in the kernel's queue instead of being
 * dropped and retried by the client seconds later; Linux caps the value at
 * net.core.somaxconn.
 */
#define INET_BACKLOG		1024
#define INET_FIELDS		8	/* service .. command */
#define INET_PORT_MAX		65535

static const struct {
	const char *name;
	const char *port;
} inet_ports[] = {
	{ "smtp", "25" },
	{ "submission", "587" },
	{ "smtps", "465" },
	{ "submissions", "465" },
	{ NULL, NULL },
};

static int
inet_port_number(const char *name, char **port)
{
	struct servent *se;
	char *end;
	long v;
	int i;

	for (i = 0; inet_ports[i].name; i++)
		if (strcmp(name, inet_ports[i].name) == 0) {
			*port = xstrdup(inet_ports[i].port);
			return 0;
		}
	v = strtol(name, &end, 10);
	if (*name && *end == '\0') {
		if (v <= 0 || v > INET_PORT_MAX)
			return -1;
		*port = xasprintf("%ld", v);
		return 0;
	}
	se = getservbyname(name, "tcp");
	if (se == NULL)
		return -1;
	*port = xasprintf("%d", ntohs((unsigned short)se->s_port));
	return 0;
}

int
inet_parse_service(const char *spec, char **host, char **port, char *err, size_t errlen)
{
	const char *colon, *portname;

	*host = NULL;
	*port = NULL;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "bad service \"%s\": expected [address]:port", spec);
			return -1;
		}
		*host = xstrndup(spec + 1, (size_t)(close - spec - 1));
		portname = close + 2;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		*host = xstrndup(spec, (size_t)(colon - spec));
		portname = colon + 1;
	} else {
		portname = spec;
	}
	if (*host && **host == '\0') {
		free(*host);
		*host = NULL;
	}
	if (inet_port_number(portname, port) < 0) {
		snprintf(err, errlen, "bad service \"%s\": unknown port \"%s\"", spec, portname);
		free(*host);
		*host = NULL;
		return -1;
	}
	return 0;
}

/* The maxproc field: "-" is default_process_limit. -1 with err when malformed. */
static int
inet_maxproc(const char *field, long *maxproc, char *err, size_t errlen)
{
	char *end;

	if (strcmp(field, "-") == 0) {
		*maxproc = (long)conf_int("default_process_limit");
		return 0;
	}
	errno = 0;
	*maxproc = strtol(field, &end, 10);
	if (errno || end == field || *end != '\0' || *maxproc < 0) {
		snprintf(err, errlen, "bad maxproc \"%s\"", field);
		return -1;
	}
	return 0;
}

/* Handles one logical line; returns -1 with err on a malformed one. */
static int
inet_line(char *line, struct inet_services *out, char *err, size_t errlen)
{
	struct strv f = STRV_INIT;
	struct inet_service svc;
	size_t i;
	int rc = -1;

	strv_split(&f, line, " \t\r\n");
	if (f.n == 0) {
		strv_free(&f);
		return 0;
	}
	if (f.n < INET_FIELDS) {
		snprintf(err, errlen, "expected %d fields or more, found %zu", INET_FIELDS, f.n);
		goto out;
	}
	if (strcmp(f.v[1], "unix") == 0) {
		long maxproc;

		if (inet_maxproc(f.v[6], &maxproc, err, errlen) < 0)
			goto out;
		out->uv = xreallocarray(out->uv, out->nu + 1, sizeof(*out->uv));
		out->uv[out->nu].name = xstrdup(f.v[0]);
		out->uv[out->nu++].maxproc = maxproc;
		rc = 0;
		goto out;
	}
	if (strcmp(f.v[1], "inet") != 0) {
		rc = 0;
		goto out;
	}
	memset(&svc, 0, sizeof(svc));
	strv_init(&svc.overrides);
	if (inet_maxproc(f.v[6], &svc.maxproc, err, errlen) < 0)
		goto out;
	if (inet_parse_service(f.v[0], &svc.host, &svc.port, err, errlen) < 0)
		goto out;
	svc.name = xstrdup(f.v[0]);
	svc.command = xstrdup(f.v[7]);
	for (i = INET_FIELDS; i < f.n; i++) {
		const char *o = NULL;

		if (strcmp(f.v[i], "-o") == 0 && i + 1 < f.n)
			o = f.v[++i];
		else if (strncmp(f.v[i], "-o", 2) == 0 && f.v[i][2])
			o = f.v[i] + 2;
		if (o && strchr(o, '=') != NULL)
			strv_add(&svc.overrides, o);
		else if (o)
			log_warn("master.cf: service %s: ignoring -o %s (no '=')", svc.name, o);
	}
	out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
	out->v[out->n++] = svc;
	rc = 0;
out:
	strv_free(&f);
	return rc;
}

int
inet_load(const char *path, struct inet_services *out, char *err, size_t errlen)
{
	struct pbuf logical = PBUF_INIT;
	char *data = NULL, *p, *nl;
	size_t len;
	int lineno = 0, start = 0, rc = 0;
	char lerr[256];

	out->v = NULL;
	out->n = 0;
	out->uv = NULL;
	out->nu = 0;
	if (fileio_read_file(path, &data, &len, INET_FILE_MAX) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (p = data; rc == 0 && p < data + len; p = nl + 1) {
		const char *q;

		nl = memchr(p, '\n', (size_t)(data + len - p));
		if (nl == NULL)
			nl = data + len;
		*nl = '\0';
		lineno++;
		for (q = p; *q == ' ' || *q == '\t'; q++)
			;
		if (*q == '#' || *q == '\0')
			continue;
		if ((*p == ' ' || *p == '\t') && logical.len > 0) {
			pbuf_putc(&logical, ' ');
			pbuf_puts(&logical, q);
			continue;
		}
		if (logical.len > 0 && inet_line(logical.data, out, lerr, sizeof(lerr)) < 0) {
			snprintf(err, errlen, "%s, line %d: %s", path, start, lerr);
			rc = -1;
		}
		pbuf_reset(&logical);
		pbuf_puts(&logical, p);
		start = lineno;
	}
	if (rc == 0 && logical.len > 0 && inet_line(logical.data, out, lerr, sizeof(lerr)) < 0) {
		snprintf(err, errlen, "%s, line %d: %s", path, start, lerr);
		rc = -1;
	}
	pbuf_free(&logical);
	free(data);
	if (rc < 0)
		inet_free(out);
	return rc;
}

int
inet_protocol_families(int warn)
{
	struct strv list = STRV_INIT;
	size_t i;
	int fam = 0;

	conf_list("inet_protocols", &list);
	for (i = 0; i < list.n; i++) {
		if (strcasecmp(list.v[i], "all") == 0)
			fam |= INET_FAMILY_V4 | INET_FAMILY_V6;
		else if (strcasecmp(list.v[i], "ipv4") == 0)
			fam |= INET_FAMILY_V4;
		else if (strcasecmp(list.v[i], "ipv6") == 0)
			fam |= INET_FAMILY_V6;
		else if (warn)
			log_warn("inet_protocols: unknown protocol \"%s\" ignored", list.v[i]);
	}
	strv_free(&list);
	return fam ? fam : INET_FAMILY_V4 | INET_FAMILY_V6;
}

static int
inet_bind_one(struct inet_service *svc, const struct addrinfo *ai, char *err, size_t errlen)
{
	char host[NI_MAXHOST] = "?";
	int fd, on = 1;

	getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0, NI_NUMERICHOST);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EAFNOSUPPORT) {
			log_warn("service %s: %s: address family not supported, skipped", svc->name, host);
			return 0;
		}
		snprintf(err, errlen, "service %s: socket: %s", svc->name, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, INET_BACKLOG) < 0) {
		snprintf(err, errlen, "service %s: cannot listen on [%s]:%s: %s", svc->name,
		    host, svc->port, strerror(errno));
		close(fd);
		return -1;
	}
	svc->fds = xreallocarray(svc->fds, svc->nfds + 1, sizeof(*svc->fds));
	svc->fds[svc->nfds++] = fd;
	return 0;
}

/* Binds every address getaddrinfo gives for host (NULL: wildcard) that inet_protocols allows. */
static int
inet_bind_host(struct inet_service *svc, const char *host, int fam, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, svc->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "service %s: host %s: %s", svc->name, host ? host : "*",
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET && !(fam & INET_FAMILY_V4))
		    || (ai->ai_family == AF_INET6 && !(fam & INET_FAMILY_V6))
		    || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
			continue;
		if (inet_bind_one(svc, ai, err, errlen) < 0) {
			freeaddrinfo(res);
			return -1;
		}
	}
	freeaddrinfo(res);
	return 0;
}

int
inet_listen(struct inet_services *s, char *err, size_t errlen)
{
	int fam = inet_protocol_families(1);
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		struct inet_service *svc = &s->v[i];
		struct strv ifs = STRV_INIT;
		int rc = 0;

		if (svc->host) {
			rc = inet_bind_host(svc, svc->host, fam, err, errlen);
		} else {
			conf_list("inet_interfaces", &ifs);
			if (ifs.n == 0 || strcasecmp(ifs.v[0], "all") == 0) {
				if (fam & INET_FAMILY_V4)
					rc = inet_bind_host(svc, "0.0.0.0", INET_FAMILY_V4, err, errlen);
				if (rc == 0 && (fam & INET_FAMILY_V6))
					rc = inet_bind_host(svc, "::", INET_FAMILY_V6, err, errlen);
			} else {
				for (j = 0; j < ifs.n && rc == 0; j++) {
					const char *h = ifs.v[j];

					if (strcasecmp(h, "loopback-only") == 0 || strcasecmp(h, "localhost") == 0) {
						if (fam & INET_FAMILY_V4)
							rc = inet_bind_host(svc, "127.0.0.1", INET_FAMILY_V4, err, errlen);
						if (rc == 0 && (fam & INET_FAMILY_V6))
							rc = inet_bind_host(svc, "::1", INET_FAMILY_V6, err, errlen);
					} else {
						char *bare = NULL;
						size_t hl = strlen(h);

						if (hl > 1 && h[0] == '[' && h[hl - 1] == ']')
							h = bare = xstrndup(h + 1, hl - 2);
						rc = inet_bind_host(svc, h, fam, err, errlen);
						free(bare);
					}
				}
			}
			strv_free(&ifs);
		}
		if (rc < 0)
			return -1;
		if (svc->nfds == 0) {
			snprintf(err, errlen, "service %s: no address to listen on "
			    "(inet_interfaces, inet_protocols)", svc->name);
			return -1;
		}
	}
	return 0;
}

void
inet_close(struct inet_services *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->v[i].nfds; j++)
			close(s->v[i].fds[j]);
		free(s->v[i].fds);
		s->v[i].fds = NULL;
		s->v[i].nfds = 0;
	}
}

void
inet_free(struct inet_services *s)
{
	size_t i;

	inet_close(s);
	for (i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].host);
		free(s->v[i].port);
		free(s->v[i].command);
		strv_free(&s->v[i].overrides);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
	for (i = 0; i < s->nu; i++)
		free(s->uv[i].name);
	free(s->uv);
	s->uv = NULL;
	s->nu = 0;
}

long
inet_unix_maxproc(const struct inet_services *s, const char *name)
{
	size_t i;

	/* The last line for a service wins, as in Postfix. */
	for (i = s->nu; i > 0; i--)
		if (strcmp(s->uv[i - 1].name, name) == 0)
			return s->uv[i - 1].maxproc;
	return -1;
}
