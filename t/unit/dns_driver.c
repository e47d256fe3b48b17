/*
 * dns_driver - test driver for sendmail/dns.c (not a TAP test).
 *
 * Usage:
 *   dns_driver mx DOMAIN [COUNT]     dns_mx_hosts, COUNT times (default 1)
 *   dns_driver addr HOST             dns_host_addrs
 *   dns_driver parse-mx FILE NAME    dns_parse_mx_answer on the bytes of FILE
 * Loads the configuration ($PETREL_CONFIG_DIR, as every Petrel command)
 * and prints one line per lookup:
 *   OK PREF:HOST PREF:HOST ...        (mx, parse-mx; "OK" alone: no MX)
 *   OK ADDRESS ADDRESS ...            (addr)
 *   STATUS DSN REASON                 (NOTFOUND 5.1.2 Host or domain ...)
 * Warnings go to stderr. Exit status: 0 when every lookup gave OK, 1 when
 * one did not, 2 on usage or configuration errors.
 *
 * t/e2e/dns.t runs it against a real unbound on loopback.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dns.h"
#include "fileio.h"
#include "log.h"

#define DRIVER_COUNT_MAX	1000
#define DRIVER_FILE_MAX		(1024 * 1024)

static int
print_fail(enum dns_status st, const char *why)
{
	printf("%s %s %s\n", dns_status_name(st), dns_status_dsn(st), why);
	return 1;
}

static int
print_mx(enum dns_status st, const struct dns_mx_list *list, const char *why)
{
	size_t i;

	if (st != DNS_OK)
		return print_fail(st, why);
	fputs("OK", stdout);
	for (i = 0; i < list->n; i++)
		printf(" %u:%s", list->v[i].pref, list->v[i].host);
	putchar('\n');
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: dns_driver mx DOMAIN [COUNT] | addr HOST | parse-mx FILE NAME\n");
	return 2;
}

int
main(int argc, char **argv)
{
	char why[DNS_WHY_MAX], err[512], *dir, *data = NULL;
	struct dns_mx_list mx = { NULL, 0 };
	struct dns_addr_list addrs = { NULL, 0 };
	enum dns_status st;
	long count = 1, i;
	size_t len, k;
	int rc = 0;

	if (argc < 3)
		return usage();
	log_init("dns_driver");
	log_disable_sinks();
	log_to_stderr("dns_driver");
	dir = conf_find_dir(NULL);
	if (conf_load(dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "dns_driver: %s\n", err);
		free(dir);
		return 2;
	}
	free(dir);
	if (strcmp(argv[1], "mx") == 0) {
		if (argc > 3 && ((count = strtol(argv[3], NULL, 10)) < 1 || count > DRIVER_COUNT_MAX))
			return usage();
		for (i = 0; i < count; i++) {
			why[0] = '\0';
			st = dns_mx_hosts(argv[2], &mx, why, sizeof(why));
			rc |= print_mx(st, &mx, why);
		}
	} else if (strcmp(argv[1], "addr") == 0) {
		why[0] = '\0';
		st = dns_host_addrs(argv[2], &addrs, why, sizeof(why));
		if (st != DNS_OK) {
			rc = print_fail(st, why);
		} else {
			fputs("OK", stdout);
			for (k = 0; k < addrs.n; k++)
				printf(" %s", addrs.v[k].text);
			putchar('\n');
		}
	} else if (strcmp(argv[1], "parse-mx") == 0 && argc == 4) {
		if (fileio_read_file(argv[2], &data, &len, DRIVER_FILE_MAX) < 0) {
			perror(argv[2]);
			return 2;
		}
		why[0] = '\0';
		st = dns_parse_mx_answer((const unsigned char *)data, len, argv[3], &mx, why,
		    sizeof(why));
		rc = print_mx(st, &mx, why);
		free(data);
	} else {
		return usage();
	}
	dns_mx_list_free(&mx);
	dns_addr_list_free(&addrs);
	return rc;
}
