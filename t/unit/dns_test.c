/*
 * dns_test - the parts of sendmail/dns.c that need no name server: the
 * answer parsers on hand-built DNS messages (order, equal preferences
 * shuffled, duplicates, null MX alone and among others, rcodes, malformed
 * records, more than DNS_MX_MAX hosts, A/AAAA records and their limit),
 * dns_name_valid, and the status names and codes. t/e2e/dns.t covers the
 * lookups against a real unbound.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dns.h"
#include "log.h"
#include "tap.h"

#define MSG_MAX		8192
#define QNAME		"example.test"
#define TTL		60
#define SHUFFLE_RUNS	64

struct msg {
	unsigned char b[MSG_MAX];
	size_t len;
	unsigned an;
};

static void
put16(struct msg *m, unsigned v)
{
	m->b[m->len++] = (unsigned char)(v >> 8);
	m->b[m->len++] = (unsigned char)v;
}

static void
put32(struct msg *m, unsigned long v)
{
	put16(m, (unsigned)(v >> 16));
	put16(m, (unsigned)(v & 0xffff));
}

/* A name in wire form, uncompressed ("" is the root). */
static void
put_name(struct msg *m, const char *name)
{
	const char *p = name, *dot;
	size_t n;

	while (*p) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		m->b[m->len++] = (unsigned char)n;
		memcpy(m->b + m->len, p, n);
		m->len += n;
		p += n;
		if (*p == '.')
			p++;
	}
	m->b[m->len++] = 0;
}

/* Header and question for QNAME; the answer count is patched by fin(). */
static void
start(struct msg *m, unsigned rcode, unsigned qtype)
{
	m->len = 0;
	m->an = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | rcode);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	put_name(m, QNAME);
	put16(m, qtype);
	put16(m, ns_c_in);
}

static void
fin(struct msg *m)
{
	m->b[6] = (unsigned char)(m->an >> 8);
	m->b[7] = (unsigned char)m->an;
}

/* An RR owned by the question name (a compression pointer to it). */
static void
rr_head(struct msg *m, unsigned type, unsigned rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, ns_c_in);
	put32(m, TTL);
	put16(m, rdlen);
	m->an++;
}

static void
add_mx(struct msg *m, unsigned pref, const char *host)
{
	size_t at;

	rr_head(m, ns_t_mx, 0);
	at = m->len - 2;
	put16(m, pref);
	put_name(m, host);
	m->b[at] = (unsigned char)((m->len - at - 2) >> 8);
	m->b[at + 1] = (unsigned char)(m->len - at - 2);
}

static void
add_a(struct msg *m, const unsigned char *addr, size_t len)
{
	rr_head(m, len == 4 ? ns_t_a : ns_t_aaaa, (unsigned)len);
	memcpy(m->b + m->len, addr, len);
	m->len += len;
}

/* "pref:host pref:host" of a list, in a static buffer. */
static const char *
show(const struct dns_mx_list *l)
{
	static char buf[4096];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u:%s", i ? " " : "",
		    l->v[i].pref, l->v[i].host);
	return buf;
}

static enum dns_status
parse(struct msg *m, struct dns_mx_list *l, char *why, size_t whylen)
{
	fin(m);
	why[0] = '\0';
	return dns_parse_mx_answer(m->b, m->len, QNAME, l, why, whylen);
}

static void
test_mx(void)
{
	struct msg m;
	struct dns_mx_list l = { NULL, 0 };
	char why[DNS_WHY_MAX];
	int first_a = 0, first_b = 0, order_ok = 1, i;
	char host[64];

	start(&m, ns_r_noerror, ns_t_mx);
	add_mx(&m, 30, "c.example.test");
	add_mx(&m, 10, "a.example.test");
	add_mx(&m, 20, "b.example.test.");
	is_int(parse(&m, &l, why, sizeof(why)), DNS_OK, "three MX: OK");
	is_str(show(&l), "10:a.example.test 20:b.example.test 30:c.example.test",
	    "sorted by preference");

	for (i = 0; i < SHUFFLE_RUNS; i++) {
		start(&m, ns_r_noerror, ns_t_mx);
		add_mx(&m, 20, "z.example.test");
		add_mx(&m, 10, "a.example.test");
		add_mx(&m, 10, "b.example.test");
		if (parse(&m, &l, why, sizeof(why)) != DNS_OK || l.n != 3
		    || strcmp(l.v[2].host, "z.example.test") != 0)
			order_ok = 0;
		else if (strcmp(l.v[0].host, "a.example.test") == 0)
			first_a++;
		else
			first_b++;
	}
	ok(order_ok, "equal preferences never pass a worse one (%d runs)", SHUFFLE_RUNS);
	ok(first_a > 0 && first_b > 0, "equal preferences shuffled (a first %d, b first %d)",
	    first_a, first_b);

	start(&m, ns_r_noerror, ns_t_mx);
	add_mx(&m, 20, "A.example.test");
	add_mx(&m, 10, "a.example.test");
	is_int(parse(&m, &l, why, sizeof(why)), DNS_OK, "a host listed twice: OK");
	is_str(show(&l), "10:A.example.test", "... once (as first written), with its better preference");

	start(&m, ns_r_noerror, ns_t_mx);
	add_mx(&m, 0, "");
	is_int(parse(&m, &l, why, sizeof(why)), DNS_NULLMX, "null MX");
	is_str(why, "Domain " QNAME " does not accept mail (nullMX)", "null MX: Postfix's words");
	is_int(l.n, 0, "null MX: empty list");

	start(&m, ns_r_noerror, ns_t_mx);
	add_mx(&m, 0, "");
	add_mx(&m, 10, "mx.example.test");
	is_int(parse(&m, &l, why, sizeof(why)), DNS_OK, "null MX among others: OK");
	is_str(show(&l), "10:mx.example.test", "... the null one ignored");

	start(&m, ns_r_noerror, ns_t_mx);
	is_int(parse(&m, &l, why, sizeof(why)), DNS_OK, "no MX record: OK");
	is_int(l.n, 0, "... an empty list (the caller uses the implicit MX)");

	start(&m, ns_r_nxdomain, ns_t_mx);
	is_int(parse(&m, &l, why, sizeof(why)), DNS_NOTFOUND, "NXDOMAIN: NOTFOUND");
	is_str(why, "Host or domain name not found. Name service error for name=" QNAME
	    " type=MX: Host not found", "NXDOMAIN: Postfix's words");
	start(&m, ns_r_servfail, ns_t_mx);
	is_int(parse(&m, &l, why, sizeof(why)), DNS_TEMPFAIL, "SERVFAIL: TEMPFAIL");
	is_str(why, "Host or domain name not found. Name service error for name=" QNAME
	    " type=MX: Host not found, try again", "SERVFAIL: Postfix's words");

	start(&m, ns_r_noerror, ns_t_mx);
	add_mx(&m, 10, "mx.example.test");
	fin(&m);
	is_int(dns_parse_mx_answer(m.b, m.len - 3, QNAME, &l, why, sizeof(why)), DNS_TEMPFAIL,
	    "a truncated answer: TEMPFAIL");
	ok(strstr(why, "malformed DNS answer") != NULL, "... malformed DNS answer");
	is_int(dns_parse_mx_answer(m.b, 5, QNAME, &l, why, sizeof(why)), DNS_TEMPFAIL,
	    "5 bytes: TEMPFAIL");
	is_int(dns_parse_mx_answer(m.b, 0, QNAME, &l, why, sizeof(why)), DNS_TEMPFAIL,
	    "0 bytes: TEMPFAIL");

	start(&m, ns_r_noerror, ns_t_mx);
	add_mx(&m, 10, "bad host.example.test");
	add_mx(&m, 20, "good.example.test");
	is_int(parse(&m, &l, why, sizeof(why)), DNS_OK, "a malformed host among good ones: OK");
	is_str(show(&l), "20:good.example.test", "... it is dropped");

	start(&m, ns_r_noerror, ns_t_mx);
	for (i = 0; i < 100; i++) {
		snprintf(host, sizeof(host), "mx%d.example.test", 100 - i);
		add_mx(&m, (unsigned)(100 - i), host);
	}
	is_int(parse(&m, &l, why, sizeof(why)), DNS_OK, "100 MX: OK");
	is_int(l.n, DNS_MX_MAX, "... DNS_MX_MAX kept");
	ok(l.n == DNS_MX_MAX && l.v[0].pref == 1 && l.v[DNS_MX_MAX - 1].pref == DNS_MX_MAX,
	    "... the most preferred ones");
	dns_mx_list_free(&l);
}

static void
test_addr(void)
{
	static const unsigned char v4[4] = { 192, 0, 2, 1 }, v4b[4] = { 192, 0, 2, 2 };
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct msg m;
	struct dns_addr_list l = { NULL, 0 };
	char why[DNS_WHY_MAX];
	int i;

	start(&m, ns_r_noerror, ns_t_a);
	add_a(&m, v4, 4);
	add_a(&m, v4b, 4);
	add_a(&m, v4, 4);
	add_a(&m, v6, 16);	/* not the type asked for */
	fin(&m);
	is_int(dns_parse_addr_answer(m.b, m.len, QNAME, ns_t_a, &l, why, sizeof(why)), DNS_OK,
	    "A records: OK");
	ok(l.n == 2 && strcmp(l.v[0].text, "192.0.2.1") == 0 && strcmp(l.v[1].text, "192.0.2.2") == 0,
	    "two addresses in answer order, the duplicate and the AAAA dropped");
	is_int(dns_parse_addr_answer(m.b, m.len, QNAME, ns_t_aaaa, &l, why, sizeof(why)), DNS_OK,
	    "AAAA from the same answer: appended");
	ok(l.n == 3 && strcmp(l.v[2].text, "2001:db8::1") == 0, "the IPv6 address appended");
	dns_addr_list_free(&l);

	start(&m, ns_r_noerror, ns_t_a);
	for (i = 0; i < 40; i++) {
		unsigned char a[4] = { 10, 0, 0, (unsigned char)i };

		add_a(&m, a, 4);
	}
	fin(&m);
	dns_parse_addr_answer(m.b, m.len, QNAME, ns_t_a, &l, why, sizeof(why));
	is_int(l.n, DNS_ADDR_MAX, "40 addresses: DNS_ADDR_MAX kept");
	dns_addr_list_free(&l);

	start(&m, ns_r_noerror, ns_t_a);
	rr_head(&m, ns_t_a, 3);
	m.b[m.len++] = 1;
	m.b[m.len++] = 2;
	m.b[m.len++] = 3;
	fin(&m);
	is_int(dns_parse_addr_answer(m.b, m.len, QNAME, ns_t_a, &l, why, sizeof(why)), DNS_TEMPFAIL,
	    "an A record of 3 bytes: TEMPFAIL");
	is_int(l.n, 0, "... nothing kept");
	dns_addr_list_free(&l);
}

static void
test_names(void)
{
	char name[400];

	ok(dns_name_valid("mx.example.test"), "mx.example.test is valid");
	ok(dns_name_valid("mx.example.test."), "a trailing dot is valid");
	ok(dns_name_valid("_dmarc.ex-ample.test"), "'_' and inner '-' are valid");
	ok(!dns_name_valid(""), "empty: invalid");
	ok(!dns_name_valid("."), "the root alone: invalid");
	ok(!dns_name_valid("a..b"), "empty label: invalid");
	ok(!dns_name_valid("-a.test"), "label starting with '-': invalid");
	ok(!dns_name_valid("a-.test"), "label ending with '-': invalid");
	ok(!dns_name_valid("a b.test"), "space: invalid");
	ok(!dns_name_valid("a\001b.test"), "control character: invalid");
	ok(!dns_name_valid("caf\303\251.test"), "8-bit octets: invalid");
	memset(name, 'a', 64);
	strcpy(name + 64, ".test");
	ok(!dns_name_valid(name), "a 64-octet label: invalid");
	memset(name, 'a', 63);
	strcpy(name + 63, ".test");
	ok(dns_name_valid(name), "a 63-octet label: valid");
	memset(name, 0, sizeof(name));
	for (int i = 0; i < 300; i += 2) {
		name[i] = 'a';
		name[i + 1] = '.';
	}
	name[299] = '\0';
	ok(!dns_name_valid(name), "299 octets: invalid");

	is_str(dns_status_dsn(DNS_NOTFOUND), "5.1.2", "NOTFOUND is 5.1.2");
	is_str(dns_status_dsn(DNS_NULLMX), "5.1.10", "NULLMX is 5.1.10");
	is_str(dns_status_dsn(DNS_LOOP), "5.4.6", "LOOP is 5.4.6");
	is_str(dns_status_dsn(DNS_TEMPFAIL), "4.4.3", "TEMPFAIL is 4.4.3");
	is_str(dns_status_name(DNS_NULLMX), "NULLMX", "status names");
}

int
main(void)
{
	log_init("dns_test");
	log_disable_sinks();
	conf_load_defaults("/nonexistent");
	test_mx();
	test_addr();
	test_names();
	return done_testing();
}
