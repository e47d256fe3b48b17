/*
 * inet - the inet services of master.cf and their listening sockets.
 * master.cf has Postfix's format: logical lines (a line starting with
 * white space continues the previous one, '#' lines are comments) of
 *   service type private unpriv chroot wakeup maxproc command [args]
 * Only type "inet" lines are kept; other types (Postfix's internal
 * services) are accepted and ignored. The service is a port ("smtp",
 * "submission", "smtps", a number, any /etc/services name) optionally
 * prefixed by "host:" or "[ipv6]:"; without a host, inet_interfaces
 * (all, loopback-only, or a list of addresses) applies; inet_protocols
 * (ipv4, ipv6, all) filters the address families. maxproc "-" means
 * default_process_limit, 0 no limit. "-o name=value" (or "-oname=value")
 * arguments are kept as per-service overrides.
 * Errors: a malformed line or an unknown port name is an error naming
 * the file and line; a failed bind names the address and the reason.
 * Of the "unix" lines only the service name and maxproc are kept
 * (inet_unix_maxproc: the process limit of the smtp delivery service).
 */
#ifndef PETREL_INET_H
#define PETREL_INET_H

#include <stddef.h>

#include "strv.h"

#define INET_MASTER_CF	"master.cf"

struct inet_service {
	char *name;		/* the service field as written */
	char *host;		/* NULL: inet_interfaces applies */
	char *port;		/* numeric, as a string */
	char *command;		/* "smtpd" */
	struct strv overrides;	/* "name=value", in order */
	long maxproc;		/* 0 = no limit */
	int *fds;		/* listening sockets (after inet_listen) */
	size_t nfds;
	long nchildren;		/* sessions running (the master counts) */
	long long busy_logged;	/* monotonic ms of the last "all processes busy" warning */
	long busy_refused;	/* clients refused at maxproc since that warning */
};

/* A "unix" line of master.cf: only what Petrel uses of it. */
struct inet_unix_service {
	char *name;		/* "smtp", "local", ... */
	long maxproc;		/* 0 = no limit */
};

struct inet_services {
	struct inet_service *v;
	size_t n;
	struct inet_unix_service *uv;
	size_t nu;
};

/*
 * Parses "host:port", "[v6]:port" or "port" into malloc'd host (NULL
 * when none) and numeric port. -1 with err on an unknown port name.
 */
int inet_parse_service(const char *spec, char **host, char **port, char *err, size_t errlen);

/*
 * Reads the inet services of path (a missing file gives none). Returns 0
 * or -1 with err ("FILE, line N: ...").
 */
int inet_load(const char *path, struct inet_services *out, char *err, size_t errlen);

/*
 * Opens the listening sockets of every service (non-blocking,
 * close-on-exec, SO_REUSEADDR, IPV6_V6ONLY). Returns 0, or -1 with err
 * (the sockets opened so far stay in place for inet_close).
 */
int inet_listen(struct inet_services *s, char *err, size_t errlen);

/*
 * The maxproc of the "unix" service name ("-": default_process_limit,
 * 0: no limit), or -1 when master.cf has no such line.
 */
long inet_unix_maxproc(const struct inet_services *s, const char *name);

void inet_close(struct inet_services *s);
void inet_free(struct inet_services *s);

/*
 * Which address families inet_protocols allows (INET_FAMILY_V4 and/or
 * INET_FAMILY_V6; none named: both). warn: log names it does not know
 * (once, where listeners are set up; not on every DNS lookup).
 */
#define INET_FAMILY_V4	1
#define INET_FAMILY_V6	2
int inet_protocol_families(int warn);

#endif
