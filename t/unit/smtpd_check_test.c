/*
 * smtpd_check_test - mynetworks matching (IPv4, IPv6, CIDR, brackets),
 * the relay decision and restriction lists of sendmail/smtpd_check.c
 * (access tables built by maps_build with every action; HELO, sender and
 * client checks that need no DNS),
 * and the master.cf parser of sendmail/inet.c (service names, host:port,
 * [v6]:port, maxproc, -o overrides, continuation lines).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "inet.h"
#include "log.h"
#include "maps.h"
#include "smtpd_access.h"
#include "smtpd_check.h"
#include "strv.h"
#include "xalloc.h"
#include "tap.h"

#define ERRLEN	512

static void
net(const char *addr, const char *pat, int want)
{
	is_int(smtpd_check_net_match(addr, pat), want, "%s ~ %s", addr, pat);
}

static void
service(const char *spec, const char *host, const char *port)
{
	char err[ERRLEN] = "", *h = NULL, *p = NULL;
	int rc = inet_parse_service(spec, &h, &p, err, sizeof(err));

	is_int(rc, port ? 0 : -1, "parse %s", spec);
	is_str(h, host, "%s: host", spec);
	is_str(p, port, "%s: port", spec);
	free(h);
	free(p);
}

/* The RCPT decision for a client at addr (no HELO, sender a@example.org). */
static int
rcpt(const char *addr, int sasl_auth, const char *to, char *reply, size_t replylen)
{
	struct smtpd_check_info ci = { addr, "unknown", NULL, "a@example.org", to, sasl_auth,
		NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, 0, 0 };

	return smtpd_check_rcpt(&ci, reply, replylen);
}

/* decide: the RCPT decision with every field given; the reply or "OK". */
static const char *
decide(const char *addr, const char *name, const char *helo, const char *sender, const char *to)
{
	static char reply[SMTPD_CHECK_REPLY_MAX];
	struct smtpd_check_info ci = { addr, name, helo, sender, to, 0,
		NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, 0, 0 };

	if (smtpd_check_rcpt(&ci, reply, sizeof(reply)) == 0)
		return "OK";
	return reply;
}

static const char access_map[] =
	"192.0.2            REJECT go away\n"
	"198.51.100.7       OK\n"
	"2001:db8:1         REJECT v6 net\n"
	"bad.example        DEFER 4.7.2 try later\n"
	"spam@example.org   550 5.7.1 no spam\n"
	"plain@example.org  550 no dsn given\n"
	"friend@            DUNNO\n"
	"dunno@example.net  DUNNO\n"
	"example.net        OK\n"
	"<>                 REJECT no bounces here\n"
	"helo.bad           554 bad helo\n"
	"weird.example      HOLD\n"
	"old.example        1\n"
	"dip.example        DEFER_IF_PERMIT 4.2.0 greylisted\n"
	"dir.example        DEFER_IF_REJECT later\n"
	"prep.example       PREPEND X-Test: yes\n"
	"badprep.example    PREPEND no header here\n"
	"ctlprep.example    PREPEND X-Bad: a\rb\n"
	"warn.example       WARN looks odd\n"
	"strict.example     reject_unknown_client_hostname\n"
	"nets.example       permit_mynetworks, reject\n"
	"loose.example      permissive\n"
	"tight.example      restrictive\n"
	"loop.example       loopy\n"
	"nonsense.example   frobnicate_everything\n";

/* Access tables and the other restrictions that need no DNS. */
static void
restrictions(const char *dir)
{
	char err[ERRLEN], *src = xasprintf("%s/access", dir), *spec = xasprintf("hash:%s", src);
	char *acl;
	size_t n = 0;

	fileio_replace(src, access_map, sizeof(access_map) - 1, 0644);
	is_int(maps_build(spec, 1, &n, err, sizeof(err)), 0, "access map built (%s)", err);
	conf_override("smtpd_relay_restrictions", "permit");

	acl = xasprintf("check_client_access %s", spec);
	conf_override("smtpd_client_restrictions", acl);
	free(acl);
	is_str(decide("192.0.2.9", "unknown", NULL, "x@y.example", "a@elsewhere.example"),
	    "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: go away",
	    "client: a network prefix (192.0.2) matches, REJECT text");
	is_str(decide("198.51.100.7", "unknown", NULL, "x@y.example", "a@elsewhere.example"), "OK",
	    "client: OK");
	is_str(decide("203.0.113.5", "mx.bad.example", NULL, "x@y.example", "a@elsewhere.example"),
	    "450 4.7.2 <mx.bad.example[203.0.113.5]>: Client host rejected: try later",
	    "client: a parent domain of the verified name, DEFER with its own status code");
	is_str(decide("2001:db8:1:2::5", "unknown", NULL, "x@y.example", "a@elsewhere.example"),
	    "554 5.7.1 <unknown[2001:db8:1:2::5]>: Client host rejected: v6 net",
	    "client: an IPv6 network prefix");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@elsewhere.example"), "OK",
	    "client: no match, the lists go on");

	acl = xasprintf("check_sender_access %s, permit", spec);
	conf_override("smtpd_client_restrictions", "");
	conf_override("smtpd_sender_restrictions", acl);
	free(acl);
	is_str(decide("203.0.113.5", "unknown", NULL, "spam@example.org", "a@elsewhere.example"),
	    "550 5.7.1 <spam@example.org>: Sender address rejected: no spam", "sender: user@domain");
	is_str(decide("203.0.113.5", "unknown", NULL, "plain@example.org", "a@elsewhere.example"),
	    "550 5.7.1 <plain@example.org>: Sender address rejected: no dsn given",
	    "sender: a reply code without a status code gets X.7.1");
	is_str(decide("203.0.113.5", "unknown", NULL, "", "a@elsewhere.example"),
	    "554 5.7.1 <>: Sender address rejected: no bounces here",
	    "sender: the null sender is looked up as <>");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@deep.sub.bad.example", "a@elsewhere.example"),
	    "450 4.7.2 <x@deep.sub.bad.example>: Sender address rejected: try later",
	    "sender: a parent domain matches (parent_domain_matches_subdomains)");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@old.example", "a@elsewhere.example"), "OK",
	    "sender: an all-digit value is OK");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@weird.example", "a@elsewhere.example"),
	    "451 4.3.5 Server configuration error", "sender: an action Petrel lacks: temporary error");
	/* A table's answer may be restrictions or a class (smtpd_restriction_classes). */
	conf_override("smtpd_restriction_classes", "permissive, restrictive, loopy");
	conf_override("permissive", "permit");
	conf_override("restrictive", "permit_mynetworks, reject");
	conf_override("loopy", "loopy");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@strict.example", "a@elsewhere.example"),
	    "450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.5]",
	    "sender: the answer is a restriction, evaluated");
	is_str(decide("203.0.113.5", "mx.example", NULL, "x@strict.example", "a@elsewhere.example"),
	    "OK", "... which passes a client with a name (the list's permit follows)");
	is_str(decide("127.0.0.1", "unknown", NULL, "x@nets.example", "a@elsewhere.example"), "OK",
	    "sender: the answer \"permit_mynetworks, reject\" permits mynetworks");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@nets.example", "a@elsewhere.example"),
	    "554 5.7.1 <x@nets.example>: Sender address rejected: Access denied",
	    "... and rejects the rest as the sender list would");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@loose.example", "a@elsewhere.example"), "OK",
	    "sender: a class that permits");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@loop.example", "a@elsewhere.example"),
	    "451 4.3.5 Server configuration error", "a class that names itself: a configuration error");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@nonsense.example", "a@elsewhere.example"),
	    "451 4.3.5 Server configuration error", "an answer that is no restriction: temporary error");
	conf_override("smtpd_sender_restrictions", "restrictive");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@elsewhere.example"),
	    "554 5.7.1 <x@y.example>: Sender address rejected: Access denied",
	    "a class in a restriction list: its reject");
	is_str(decide("127.0.0.1", "unknown", NULL, "x@y.example", "a@elsewhere.example"), "OK",
	    "... and its permit");
	acl = xasprintf("check_sender_access %s, permit", spec);
	conf_override("smtpd_sender_restrictions", acl);
	free(acl);
	conf_override("smtpd_restriction_classes", "");
	conf_override("parent_domain_matches_subdomains", "relay_domains");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@deep.sub.bad.example", "a@elsewhere.example"),
	    "OK", "sender: without smtpd_access_maps there, bad.example no longer matches subdomains");
	conf_override("parent_domain_matches_subdomains", "smtpd_access_maps");

	acl = xasprintf("check_recipient_access %s, reject", spec);
	conf_override("smtpd_sender_restrictions", "");
	conf_override("smtpd_recipient_restrictions", acl);
	free(acl);
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "dunno@example.net"),
	    "554 5.7.1 <dunno@example.net>: Recipient address rejected: Access denied",
	    "recipient: DUNNO for the address stops the table before its domain's OK");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "friend@example.net"), "OK",
	    "recipient: the domain (example.net OK) comes before user@ (friend@ DUNNO)");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "bob@example.net"), "OK",
	    "recipient: the domain's OK");

	acl = xasprintf("check_helo_access %s, reject_invalid_helo_hostname, "
	    "reject_non_fqdn_helo_hostname", spec);
	conf_override("smtpd_recipient_restrictions", "");
	conf_override("smtpd_helo_restrictions", acl);
	free(acl);
	is_str(decide("203.0.113.5", "unknown", "mail.helo.bad", "x@y.example", "a@b.example"),
	    "554 5.7.1 <mail.helo.bad>: Helo command rejected: bad helo", "helo: a parent domain");
	is_str(decide("203.0.113.5", "unknown", "bad_name!", "x@y.example", "a@b.example"),
	    "501 5.5.2 <bad_name!>: Helo command rejected: Invalid name", "reject_invalid_helo_hostname");
	is_str(decide("203.0.113.5", "unknown", "[203.0.113.5]", "x@y.example", "a@b.example"), "OK",
	    "an address literal is a valid HELO");
	is_str(decide("203.0.113.5", "unknown", "localhost", "x@y.example", "a@b.example"),
	    "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
	    "reject_non_fqdn_helo_hostname");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@b.example"), "OK",
	    "no HELO yet: the HELO checks pass");

	/* DEFER_IF_PERMIT, DEFER_IF_REJECT, PREPEND, WARN (also policy answers). */
	acl = xasprintf("check_sender_access %s", spec);
	conf_override("smtpd_helo_restrictions", "");
	conf_override("smtpd_sender_restrictions", acl);
	free(acl);
	is_str(decide("203.0.113.5", "unknown", NULL, "x@dip.example", "a@b.example"),
	    "450 4.2.0 <x@dip.example>: Sender address rejected: greylisted",
	    "DEFER_IF_PERMIT: the lists end in a permit, so the recipient is deferred");
	conf_override("smtpd_recipient_restrictions", "reject");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@dip.example", "a@b.example"),
	    "554 5.7.1 <a@b.example>: Recipient address rejected: Access denied",
	    "DEFER_IF_PERMIT: a later reject stays a reject");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@dir.example", "a@b.example"),
	    "450 4.7.1 <x@dir.example>: Sender address rejected: later",
	    "DEFER_IF_REJECT: a later 5xx reject becomes this deferral");
	conf_override("smtpd_recipient_restrictions", "");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@dir.example", "a@b.example"), "OK",
	    "DEFER_IF_REJECT: nothing when the lists permit");
	{
		struct strv pre = STRV_INIT;
		struct smtpd_check_info ci = { "203.0.113.5", "unknown", NULL, "x@prep.example",
			"a@b.example", 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, &pre, 0, 0 };
		char reply[SMTPD_CHECK_REPLY_MAX];

		is_int(smtpd_check_rcpt(&ci, reply, sizeof(reply)), 0, "PREPEND: accepted");
		is_int((long)pre.n, 1, "PREPEND: one header collected");
		if (pre.n == 1)
			is_str(pre.v[0], "X-Test: yes", "PREPEND: the header");
		ci.sender = "x@badprep.example";
		is_int(smtpd_check_rcpt(&ci, reply, sizeof(reply)), 0, "PREPEND without a header: ignored");
		is_int((long)pre.n, 1, "... nothing collected");
		ci.sender = "x@ctlprep.example";
		is_int(smtpd_check_rcpt(&ci, reply, sizeof(reply)), 0,
		    "PREPEND with a bare CR in the header: ignored");
		is_int((long)pre.n, 1, "... nothing collected");
		strv_free(&pre);
	}
	{
		/* A policy server's PREPEND that would not fit, or with an 8-bit name. */
		char big[600], small[64];
		int code = 0;

		memset(big, 'C', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "PREPEND X-Long", 14);
		big[300] = ':';
		is_int(smtpd_access_action(big, "test", ACCESS_SENDER, "x@y", &code, small, sizeof(small)),
		    ACCESS_DUNNO, "PREPEND longer than the buffer: ignored, not cut short");
		is_int(smtpd_access_action("PREPEND X-\230ame: v", "test", ACCESS_SENDER, "x@y", &code,
		    small, sizeof(small)), ACCESS_DUNNO, "PREPEND with an 8-bit header name: ignored");
		is_int(smtpd_access_action("PREPEND X-Fits: v", "test", ACCESS_SENDER, "x@y", &code,
		    small, sizeof(small)), ACCESS_PREPEND, "PREPEND that fits: taken");
		is_str(small, "X-Fits: v", "... as it was");
		is_int(code, 0, "... no reply code");
	}
	is_str(decide("203.0.113.5", "unknown", NULL, "x@warn.example", "a@b.example"), "OK",
	    "WARN: logged, the lists go on");
	conf_override("smtpd_sender_restrictions", "reject_non_fqdn_sender");
	conf_override("smtpd_recipient_restrictions", "reject_non_fqdn_recipient");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@localhost", "a@b.example"),
	    "504 5.5.2 <x@localhost>: Sender address rejected: need fully-qualified address",
	    "reject_non_fqdn_sender");
	is_str(decide("203.0.113.5", "unknown", NULL, "", "a@b.example"), "OK",
	    "reject_non_fqdn_sender: the null sender passes");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@b"),
	    "504 5.5.2 <a@b>: Recipient address rejected: need fully-qualified address",
	    "reject_non_fqdn_recipient");
	conf_override("smtpd_sender_restrictions", "");
	conf_override("smtpd_recipient_restrictions", "");
	conf_override("smtpd_client_restrictions", "reject_unknown_client_hostname");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@b.example"),
	    "450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.5]",
	    "reject_unknown_client_hostname");
	is_str(decide("203.0.113.5", "mx.y.example", NULL, "x@y.example", "a@b.example"), "OK",
	    "... a client with a verified name passes");
	conf_override("smtpd_client_restrictions", "reject");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@b.example"),
	    "554 5.7.1 <unknown[203.0.113.5]>: Client host rejected: Access denied",
	    "reject in smtpd_client_restrictions names the client");
	conf_override("smtpd_client_restrictions", "permit_mynetworks, reject");
	is_str(decide("127.0.0.1", "localhost", NULL, "x@y.example", "a@b.example"), "OK",
	    "a permit ends its own list only");
	conf_override("smtpd_client_restrictions", "check_client_access");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@b.example"),
	    "451 4.3.5 Server configuration error", "a table restriction without its table");
	conf_override("smtpd_client_restrictions", "check_client_access hash:/nonexistent/access");
	is_str(decide("203.0.113.5", "unknown", NULL, "x@y.example", "a@b.example"),
	    "451 4.3.0 <unknown[203.0.113.5]>: Temporary lookup failure", "a table that cannot be read");
	conf_override("smtpd_client_restrictions", "");
	{
		struct smtpd_check_info ci = { "203.0.113.5", "unknown", "mail.y.example",
			"x@y.example", NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, NULL, 0, 0 };
		char reply[SMTPD_CHECK_REPLY_MAX];

		conf_override("smtpd_data_restrictions", "reject_unauth_pipelining, "
		    "reject_unauth_destination, check_recipient_access hash:/nonexistent/x");
		is_int(smtpd_check_data(&ci, 0, reply, sizeof(reply)), 0,
		    "DATA, not pipelined: accepted (recipient checks pass without a recipient)");
		is_int(smtpd_check_data(&ci, 1, reply, sizeof(reply)), 554, "DATA, pipelined: 554");
		is_str(reply, "554 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command "
		    "pipelining", "... Postfix's reply");
		conf_override("smtpd_data_restrictions", "permit_mynetworks, reject");
		is_int(smtpd_check_data(&ci, 0, reply, sizeof(reply)), 554, "reject in data restrictions");
		is_str(reply, "554 5.7.1 <DATA>: Data command rejected: Access denied", "... its reply");
		ci.addr = "127.0.0.1";
		is_int(smtpd_check_data(&ci, 1, reply, sizeof(reply)), 0, "permit_mynetworks first");
		conf_override("smtpd_data_restrictions", "");
	}
	conf_override("smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, "
	    "defer_unauth_destination");
	unlink(src);
	acl = xasprintf("%s.db", src);
	unlink(acl);
	free(acl);
	free(src);
	free(spec);
}

int
main(void)
{
	char dir[] = "/tmp/smtpd_check_test.XXXXXX";
	char err[ERRLEN], reply[SMTPD_CHECK_REPLY_MAX];
	struct inet_services s;
	char *path;
	static const char mcf[] =
	    "# comment\n"
	    "smtp      inet  n       -       n       -       -       smtpd\n"
	    "127.0.0.1:2525 inet n - n - 7 smtpd\n"
	    "  -o mynetworks=10.0.0.0/8\n"
	    "#  -o commented=out\n"
	    "  -o smtpd_helo_required=yes -omessage_size_limit=100\n"
	    "pickup    unix  n       -       n       60      1       pickup\n"
	    "[::1]:submission inet n - n - - smtpd\n";

	log_disable_sinks();
	conf_load_defaults("/nonexistent");

	net("127.0.0.1", "127.0.0.0/8", 1);
	net("127.255.1.2", "127.0.0.0/8", 1);
	net("128.0.0.1", "127.0.0.0/8", 0);
	net("10.1.2.3", "10.1.2.3", 1);
	net("10.1.2.4", "10.1.2.3", 0);
	net("192.168.1.77", "192.168.1.64/26", 1);
	net("192.168.1.128", "192.168.1.64/26", 0);
	net("1.2.3.4", "0.0.0.0/0", 1);
	net("::1", "[::1]/128", 1);
	net("::1", "[::1]", 1);
	net("::2", "[::1]/128", 0);
	net("2001:db8::5", "[2001:db8::]/32", 1);
	net("2001:db9::5", "[2001:db8::]/32", 0);
	net("2001:db8::5", "2001:db8::/33", 1);
	net("::ffff:127.0.0.1", "127.0.0.0/8", 1);
	net("127.0.0.1", "[::1]/128", 0);
	net("127.0.0.1", "127.0.0.0/33", 0);
	net("127.0.0.1", "127.0.0.0/", 0);
	net("127.0.0.1", "bogus", 0);
	net("junk", "127.0.0.0/8", 0);

	is_int(smtpd_check_mynetworks("127.0.0.9"), 1, "default mynetworks: 127/8");
	is_int(smtpd_check_mynetworks("::1"), 1, "default mynetworks: ::1");
	is_int(smtpd_check_mynetworks("192.0.2.1"), 0, "default mynetworks: not 192.0.2.1");

	conf_override("myhostname", "host.example.com");
	conf_override("relay_domains", "relay.example, .sub.example");
	is_int(smtpd_check_auth_destination("a@host.example.com"), 1, "mydestination is ours");
	is_int(smtpd_check_auth_destination("a@relay.example"), 1, "relay_domains");
	is_int(smtpd_check_auth_destination("a@x.relay.example"), 1, "relay_domains subdomain");
	is_int(smtpd_check_auth_destination("a@x.sub.example"), 1, ".domain form");
	is_int(smtpd_check_auth_destination("a@elsewhere.example"), 0, "not ours");
	is_int(rcpt("192.0.2.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
	    454, "default restrictions: defer_unauth_destination");
	is_str(reply, "454 4.7.1 <a@elsewhere.example>: Relay access denied", "454 reply");
	is_int(rcpt("127.0.0.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
	    0, "permit_mynetworks");
	is_int(rcpt("192.0.2.1", 1, "a@elsewhere.example", reply, sizeof(reply)),
	    0, "permit_sasl_authenticated");
	conf_override("smtpd_relay_restrictions", "permit_mynetworks reject_unauth_destination");
	is_int(rcpt("192.0.2.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
	    554, "reject_unauth_destination");
	is_str(reply, "554 5.7.1 <a@elsewhere.example>: Relay access denied", "554 reply");
	is_int(rcpt("192.0.2.1", 0, "root@host.example.com", reply, sizeof(reply)),
	    0, "root is a local recipient");
	is_int(rcpt("192.0.2.1", 0, "no-such-user-xyz@host.example.com", reply,
	    sizeof(reply)), 550, "unknown local recipient");
	is_str(reply, "550 5.1.1 <no-such-user-xyz@host.example.com>: Recipient address "
	    "rejected: User unknown in local recipient table", "550 reply");
	conf_override("unknown_local_recipient_reject_code", "450");
	is_int(rcpt("192.0.2.1", 0, "no-such-user-xyz@host.example.com", reply,
	    sizeof(reply)), 450, "unknown_local_recipient_reject_code = 450 (trying a new table)");
	is_str(reply, "450 4.1.1 <no-such-user-xyz@host.example.com>: Recipient address "
	    "rejected: User unknown in local recipient table", "... 450 4.1.1");
	conf_override("unknown_local_recipient_reject_code", "550");
	conf_override("smtpd_relay_restrictions", "permit_mynetworks no_such_restriction");
	is_int(rcpt("192.0.2.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
	    451, "an unknown restriction is a temporary error, never a permit");

	service("smtp", NULL, "25");
	service("submission", NULL, "587");
	service("smtps", NULL, "465");
	service("2525", NULL, "2525");
	service("127.0.0.1:2525", "127.0.0.1", "2525");
	service("[::1]:26", "::1", "26");
	service("host.example:smtp", "host.example", "25");
	service("no-such-port-name", NULL, NULL);
	service("70000", NULL, NULL);
	service("[::1]26", NULL, NULL);

	if (mkdtemp(dir) == NULL)
		return 1;
	path = xasprintf("%s/master.cf", dir);
	is_int(inet_load(path, &s, err, sizeof(err)), 0, "a missing master.cf is no error");
	is_int((long)s.n, 0, "and has no services");
	fileio_replace(path, mcf, sizeof(mcf) - 1, 0644);
	is_int(inet_load(path, &s, err, sizeof(err)), 0, "master.cf parsed");
	is_int((long)s.n, 3, "three inet services, pickup ignored");
	if (s.n == 3) {
		is_str(s.v[0].port, "25", "smtp port");
		is_int(s.v[0].maxproc, 100, "maxproc - is default_process_limit");
		is_str(s.v[1].host, "127.0.0.1", "host of the second");
		is_int(s.v[1].maxproc, 7, "maxproc 7");
		is_int((long)s.v[1].overrides.n, 3, "three -o overrides across continuation lines");
		if (s.v[1].overrides.n == 3) {
			is_str(s.v[1].overrides.v[0], "mynetworks=10.0.0.0/8", "-o name=value");
			is_str(s.v[1].overrides.v[2], "message_size_limit=100", "-oname=value");
		}
		is_str(s.v[2].host, "::1", "[::1]:submission host");
		is_str(s.v[2].port, "587", "[::1]:submission port");
	}
	inet_free(&s);
	fileio_replace(path, "smtp inet n - n\n", 16, 0644);
	is_int(inet_load(path, &s, err, sizeof(err)), -1, "a short line is an error");
	ok(strstr(err, "master.cf, line 1: ") != NULL, "the error names file and line: %s", err);
	unlink(path);
	restrictions(dir);
	rmdir(dir);
	free(path);
	return done_testing();
}
