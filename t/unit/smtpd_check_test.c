/*
 * smtpd_check_test - mynetworks matching (IPv4, IPv6, CIDR, brackets),
 * the relay decision and restriction lists of sendmail/smtpd_check.c,
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
#include "smtpd_check.h"
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
	is_int(smtpd_check_rcpt("192.0.2.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
	    454, "default restrictions: defer_unauth_destination");
	is_str(reply, "454 4.7.1 <a@elsewhere.example>: Relay access denied", "454 reply");
	is_int(smtpd_check_rcpt("127.0.0.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
	    0, "permit_mynetworks");
	is_int(smtpd_check_rcpt("192.0.2.1", 1, "a@elsewhere.example", reply, sizeof(reply)),
	    0, "permit_sasl_authenticated");
	conf_override("smtpd_relay_restrictions", "permit_mynetworks reject_unauth_destination");
	is_int(smtpd_check_rcpt("192.0.2.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
	    554, "reject_unauth_destination");
	is_str(reply, "554 5.7.1 <a@elsewhere.example>: Relay access denied", "554 reply");
	is_int(smtpd_check_rcpt("192.0.2.1", 0, "root@host.example.com", reply, sizeof(reply)),
	    0, "root is a local recipient");
	is_int(smtpd_check_rcpt("192.0.2.1", 0, "no-such-user-xyz@host.example.com", reply,
	    sizeof(reply)), 550, "unknown local recipient");
	is_str(reply, "550 5.1.1 <no-such-user-xyz@host.example.com>: Recipient address "
	    "rejected: User unknown in local recipient table", "550 reply");
	conf_override("smtpd_relay_restrictions", "permit_mynetworks no_such_restriction");
	is_int(smtpd_check_rcpt("192.0.2.1", 0, "a@elsewhere.example", reply, sizeof(reply)),
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
	rmdir(dir);
	free(path);
	return done_testing();
}
