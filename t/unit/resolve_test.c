/*
 * resolve_test - the routing of sendmail/resolve.c that needs no table:
 * "lmtp:" values (unix:/path, unix:relative under queue_directory,
 * inet:host:port, [host]:port, host; empty, over-long and spaced ones
 * defer 4.3.5), "virtual" (Petrel has no virtual(8): defers), error:,
 * and the virtual mailbox domain class (virtual_mailbox_domains ->
 * virtual_transport; other domains keep going by SMTP).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "maps.h"
#include "log.h"
#include "resolve.h"
#include "tap.h"

#define LONG_PATH_LEN	400

static const char *
tname(enum resolve_transport t)
{
	switch (t) {
	case RESOLVE_LOCAL: return "local";
	case RESOLVE_SMTP: return "smtp";
	case RESOLVE_LMTP: return "lmtp";
	case RESOLVE_ERROR: return "error";
	case RESOLVE_DEFER: return "defer";
	}
	return "?";
}

/* value as mailbox_transport for u@host.example: the transport and nexthop (or dsn). */
static void
tr(const char *value, const char *want_t, const char *want)
{
	struct resolve_result r;

	resolve_transport("mailbox_transport", "u@host.example", value, &r);
	is_str(tname(r.transport), want_t, "%s: transport", value);
	if (r.transport == RESOLVE_LMTP || r.transport == RESOLVE_SMTP)
		is_str(r.nexthop, want, "%s: nexthop", value);
	else
		is_str(r.dsn, want, "%s: dsn", value);
}

static const char *route_sender;	/* the envelope sender route() passes */

/* resolve_rcpt(route_sender, addr): the transport and nexthop (or dsn). */
static void
route(const char *addr, const char *want_t, const char *want)
{
	struct resolve_result r;

	resolve_rcpt(route_sender, addr, &r);
	is_str(tname(r.transport), want_t, "%s: transport", addr);
	if (r.transport == RESOLVE_LMTP || r.transport == RESOLVE_SMTP)
		is_str(r.nexthop, want, "%s: nexthop", addr);
	else if (r.transport != RESOLVE_LOCAL)
		is_str(r.dsn, want, "%s: dsn", addr);
}

int
main(void)
{
	struct resolve_result r;
	char *longv;

	log_disable_sinks();
	conf_load_defaults("/nonexistent");
	conf_override("queue_directory", "/var/spool/petrel");
	conf_override("mydestination", "host.example");
	conf_override("myhostname", "host.example");

	tr("lmtp:unix:/run/dovecot/lmtp", "lmtp", "lmtp:unix:/run/dovecot/lmtp");
	tr("lmtp:unix:private/dovecot-lmtp", "lmtp",
	    "lmtp:unix:/var/spool/petrel/private/dovecot-lmtp");
	tr("lmtp:inet:127.0.0.1:24", "lmtp", "lmtp:inet:127.0.0.1:24");
	tr("lmtp:inet:mail.example", "lmtp", "lmtp:inet:mail.example");
	tr("lmtp:[127.0.0.1]:2424", "lmtp", "lmtp:inet:[127.0.0.1]:2424");
	tr("lmtp:[::1]", "lmtp", "lmtp:inet:[::1]");
	tr("lmtp:mail.example:24", "lmtp", "lmtp:inet:mail.example:24");
	tr("lmtp: unix:/s", "lmtp", "lmtp:unix:/s");
	tr("lmtp:", "defer", "4.3.5");
	tr("lmtp", "defer", "4.3.5");
	tr("lmtp:unix:", "defer", "4.3.5");
	tr("lmtp:inet:", "defer", "4.3.5");
	tr("lmtp:unix:/a b", "defer", "4.3.5");
	tr("virtual", "defer", "4.3.5");
	tr("virtual:", "defer", "4.3.5");
	tr("pipe:x", "defer", "4.3.5");
	tr("error:5.2.1 mailbox disabled", "error", "5.2.1");
	tr("error:4.2.1 try later", "defer", "4.2.1");
	tr("smtp:[192.0.2.1]:2525", "smtp", "[192.0.2.1]:2525");

	resolve_transport("mailbox_transport", "u@host.example", "virtual", &r);
	ok(strstr(r.text, "Petrel has no virtual(8) delivery agent") != NULL,
	    "\"virtual\" says why: %s", r.text);
	ok(strstr(r.text, "mailbox_transport") == r.text, "... and names the parameter");
	resolve_transport("virtual_transport", "u@x", "lmtp:", &r);
	ok(strstr(r.text, "virtual_transport: bad lmtp nexthop") == r.text,
	    "a bad lmtp nexthop is named: %s", r.text);
	longv = malloc(LONG_PATH_LEN + 16);
	if (longv == NULL)
		return 1;
	memcpy(longv, "lmtp:unix:/", 11);
	memset(longv + 11, 'x', LONG_PATH_LEN);
	longv[11 + LONG_PATH_LEN] = '\0';
	resolve_transport("mailbox_transport", "u@x", longv, &r);
	is_str(tname(r.transport), "defer", "an over-long lmtp nexthop defers");
	ok(strstr(r.text, "is longer than") != NULL, "... saying so: %.80s", r.text);
	free(longv);

	/* The virtual mailbox domain class. */
	conf_override("virtual_mailbox_domains", "example.net, example.org");
	route("alice@example.net", "defer", "4.3.5");	/* virtual_transport = virtual */
	resolve_rcpt(NULL, "alice@example.net", &r);
	ok(strstr(r.text, "virtual_transport: transport \"virtual\" for example.net") == r.text,
	    "virtual_transport left at \"virtual\": a clear error: %s", r.text);
	conf_override("virtual_transport", "lmtp:unix:private/dovecot-lmtp");
	route("alice@example.net", "lmtp", "lmtp:unix:/var/spool/petrel/private/dovecot-lmtp");
	route("bob@EXAMPLE.ORG", "lmtp", "lmtp:unix:/var/spool/petrel/private/dovecot-lmtp");
	route("carol@other.example", "smtp", "other.example");
	route("carol@sub.example.net", "smtp", "sub.example.net");
	route("root@host.example", "local", NULL);
	conf_override("virtual_transport", "lmtp:[127.0.0.1]:24");
	route("alice@example.net", "lmtp", "lmtp:inet:[127.0.0.1]:24");

	/* default_transport and the relay domain class (relay_transport). */
	conf_override("relayhost", "[smarthost.example]:587");
	route("carol@other.example", "smtp", "[smarthost.example]:587");
	conf_override("default_transport", "smtp:[gateway.example]");
	route("carol@other.example", "smtp", "[gateway.example]");
	conf_override("default_transport", "error:outside mail is not deliverable");
	route("carol@other.example", "error", "5.0.0");
	resolve_rcpt(NULL, "carol@other.example", &r);
	is_str(r.text, "outside mail is not deliverable", "default_transport = error:TEXT: the text");
	route("root@host.example", "local", NULL);
	route("alice@example.net", "lmtp", "lmtp:inet:[127.0.0.1]:24");
	conf_override("default_transport", "error");
	resolve_rcpt(NULL, "carol@other.example", &r);
	is_str(r.text, "mail for this domain is not accepted (default_transport error:)",
	    "default_transport = error: a text naming the parameter");
	conf_override("relay_domains", "backup.example");
	route("carol@backup.example", "smtp", "[smarthost.example]:587");
	route("carol@sub.backup.example", "smtp", "[smarthost.example]:587");
	conf_override("relay_transport", "smtp:[10.0.0.5]:25");
	route("carol@backup.example", "smtp", "[10.0.0.5]:25");
	conf_override("relay_transport", "nonsense:x");
	route("carol@backup.example", "defer", "4.3.5");
	conf_override("relay_transport", "relay");
	conf_override("default_transport", "smtp");
	route("carol@other.example", "smtp", "[smarthost.example]:587");

	/* sender_dependent_relayhost_maps: the sender, then @domain, then relayhost. */
	{
		char dir[] = "/tmp/resolve_test.XXXXXX", src[128], spec[160], err[256];
		static const char table[] =
			"alice@work.example   [smtp.work.example]:587\n"
			"@work.example        [mx.work.example]\n"
			"<>                   [bounces.example]\n"
			"dunno@work.example   DUNNO\n";
		size_t n;

		if (mkdtemp(dir) == NULL)
			return 1;
		snprintf(src, sizeof(src), "%s/sender_relay", dir);
		snprintf(spec, sizeof(spec), "hash:%s", src);
		fileio_replace(src, table, sizeof(table) - 1, 0644);
		is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "sender relay table built");
		conf_override("sender_dependent_relayhost_maps", spec);
		route_sender = "alice@work.example";
		route("carol@other.example", "smtp", "[smtp.work.example]:587");
		route_sender = "bob@work.example";
		route("carol@other.example", "smtp", "[mx.work.example]");
		route_sender = "";
		route("carol@other.example", "smtp", "[bounces.example]");
		route_sender = "dunno@work.example";
		route("carol@other.example", "smtp", "[smarthost.example]:587");
		route_sender = "x@elsewhere.example";
		route("carol@other.example", "smtp", "[smarthost.example]:587");
		route_sender = "alice@work.example";
		route("root@host.example", "local", NULL);
		conf_override("default_transport", "smtp:[gateway.example]");
		route("carol@other.example", "smtp", "[gateway.example]");
		conf_override("default_transport", "smtp");
		snprintf(spec, sizeof(spec), "hash:%s/missing", dir);
		conf_override("sender_dependent_relayhost_maps", spec);
		route("carol@other.example", "defer", "4.3.0");
		conf_override("sender_dependent_relayhost_maps", "");
		route_sender = NULL;
		snprintf(spec, sizeof(spec), "%s.db", src);
		unlink(spec);
		unlink(src);
		rmdir(dir);
	}

	return done_testing();
}
