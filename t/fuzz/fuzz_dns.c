/*
 * fuzz_dns - libFuzzer target for the DNS answer parsers of sendmail/dns.c.
 *
 * Feeds the input as a DNS answer to dns_parse_mx_answer() and to
 * dns_parse_addr_answer() for A and AAAA, and checks what must always
 * hold (abort() otherwise, so the fuzzer reports it): the status is one
 * of the enum; a failure comes with a non-empty reason and an empty list;
 * an MX list holds at most DNS_MX_MAX valid, distinct host names sorted by
 * preference; an address list holds at most DNS_ADDR_MAX addresses of the
 * asked family with their text form.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Ilib -Isendmail
 *   t/fuzz/fuzz_dns.c sendmail/dns.c (and the library) -lresolv
 * Seeds: t/fuzz/corpus/dns/ (answers of unbound, see t/e2e/dns.t).
 */
#include "config.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_failure(enum dns_status st, const char *why)
{
	if (st != DNS_NOTFOUND && st != DNS_NULLMX && st != DNS_TEMPFAIL)
		abort();
	if (why[0] == '\0' || strlen(why) >= DNS_WHY_MAX)
		abort();
}

static void
check_addrs(const uint8_t *data, size_t size, int type)
{
	struct dns_addr_list list = { NULL, 0 };
	char why[DNS_WHY_MAX] = "";
	enum dns_status st;
	size_t i;

	st = dns_parse_addr_answer(data, size, "fuzz.test", type, &list, why, sizeof(why));
	if (st != DNS_OK) {
		check_failure(st, why);
		if (st == DNS_NULLMX)
			abort();
	}
	if (list.n > DNS_ADDR_MAX)
		abort();
	for (i = 0; i < list.n; i++) {
		int fam = ((const struct sockaddr *)&list.v[i].sa)->sa_family;

		if (fam != (type == ns_t_a ? AF_INET : AF_INET6) || list.v[i].text[0] == '\0')
			abort();
	}
	dns_addr_list_free(&list);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct dns_mx_list mx = { NULL, 0 };
	char why[DNS_WHY_MAX] = "";
	enum dns_status st;
	size_t i, j;

	if (!inited) {
		log_disable_sinks();
		inited = 1;
	}
	st = dns_parse_mx_answer(data, size, "fuzz.test", &mx, why, sizeof(why));
	if (st != DNS_OK) {
		check_failure(st, why);
		if (mx.n != 0 || mx.v != NULL)
			abort();
	}
	if (mx.n > DNS_MX_MAX)
		abort();
	for (i = 0; i < mx.n; i++) {
		if (!dns_name_valid(mx.v[i].host) || strlen(mx.v[i].host) >= DNS_NAME_MAX)
			abort();
		if (i > 0 && mx.v[i - 1].pref > mx.v[i].pref)
			abort();
		for (j = 0; j < i; j++)
			if (strcasecmp(mx.v[i].host, mx.v[j].host) == 0)
				abort();
	}
	dns_mx_list_free(&mx);
	check_addrs(data, size, ns_t_a);
	check_addrs(data, size, ns_t_aaaa);
	return 0;
}
