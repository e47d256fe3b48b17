/*
 * milter_test - milter packets and the message model (sendmail/milter_proto.c):
 * framing, the decoder of every reply code and its refusals, and what
 * each modification does to headers, envelope and body.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "milter.h"
#include "pbuf.h"
#include "qfile.h"
#include "tap.h"

#define ERRLEN	256

static char err[ERRLEN];
static struct pbuf pkt;

/* Builds one reply packet (code and data of n bytes) in pkt. */
static void
mk(char code, const char *data, size_t n)
{
	pbuf_reset(&pkt);
	milter_packet_put(&pkt, code, data, n);
}

/* Splits and decodes pkt; returns what milter_reply_decode returns. */
static int
dec(struct milter_reply *r)
{
	const char *d;
	size_t dlen;
	char code;
	long used = milter_packet_split(pkt.data, pkt.len, &code, &d, &dlen, err, sizeof(err));

	if (used != (long)pkt.len)
		return -2;
	err[0] = '\0';
	return milter_reply_decode(code, d, dlen, r, err, sizeof(err));
}

static void
put32(char *p, uint32_t v)
{
	uint32_t n = htonl(v);

	memcpy(p, &n, sizeof(n));
}

static void
test_framing(void)
{
	char buf[16];
	const char *d;
	size_t dlen;
	char code;

	mk('c', NULL, 0);
	is_int(pkt.len, 5, "CONTINUE is 5 bytes: length 1 and the code");
	is_int(milter_packet_split(pkt.data, 4, &code, &d, &dlen, err, sizeof(err)), 0,
	    "a partial packet: 0 (need more)");
	put32(buf, 0);
	is_int(milter_packet_split(buf, 8, &code, &d, &dlen, err, sizeof(err)), -1,
	    "length 0 is refused");
	is_str(err, "packet length 0 (allowed 1 to 1048576)", "... with the reason");
	put32(buf, MILTER_PACKET_MAX + 1);
	is_int(milter_packet_split(buf, 8, &code, &d, &dlen, err, sizeof(err)), -1,
	    "a length over MILTER_PACKET_MAX is refused before any data is read");
}

static void
test_decode(void)
{
	struct milter_reply r;
	char buf[64];

	mk('a', NULL, 0);
	is_int(dec(&r), 0, "ACCEPT decodes");
	mk('r', "x", 1);
	is_int(dec(&r), -1, "REJECT with data is refused");
	is_str(err, "REJECT: 1 unexpected data bytes", "... saying so");
	mk('Z', NULL, 0);
	is_int(dec(&r), -1, "an unknown code is refused");
	is_str(err, "unknown reply code 'Z'", "... naming it");
	mk('y', "550 5.7.1 go away", 18);
	is_int(dec(&r), 0, "REPLYCODE decodes");
	is_str(r.s1, "550 5.7.1 go away", "... to its text");
	mk('y', "250 ok", 7);
	is_int(dec(&r), -1, "REPLYCODE with a 2xx code is refused");
	mk('y', "550-5.7.1 a\r\n550 5.7.1 b", 25);
	is_int(dec(&r), 0, "a multi-line REPLYCODE decodes");
	mk('y', "550-5.7.1 a\r\n451 4.7.1 b", 25);
	is_int(dec(&r), -1, "a multi-line REPLYCODE whose codes differ is refused");
	mk('y', "550 5.7.1 a\nRSET", 17);
	is_int(dec(&r), -1, "a REPLYCODE with a bare LF is refused");
	mk('y', "550 no NUL", 10);
	is_int(dec(&r), -1, "REPLYCODE without a final NUL is refused");
	mk('h', "X-A\0v\0", 6);
	is_int(dec(&r), 0, "ADDHEADER decodes");
	is_str(r.s2, "v", "... with its value");
	mk('h', "X-A\0va\0lue\0", 11);
	is_int(dec(&r), -1, "ADDHEADER with a NUL inside the value is refused");
	is_str(err, "ADDHEADER: more than 2 strings (a NUL inside a value?)", "... as a NUL in a value");
	mk('h', "X-A\0", 4);
	is_int(dec(&r), -1, "ADDHEADER without a value is refused");
	put32(buf, 3);
	memcpy(buf + 4, "Subject\0new\0", 12);
	mk('m', buf, 16);
	is_int(dec(&r), 0, "CHGHEADER decodes");
	is_int(r.index, 3, "... with its index");
	mk('i', "ab", 2);
	is_int(dec(&r), -1, "INSHEADER without a whole index is refused");
	mk('2', "<b@x>\0NOTIFY=NEVER\0", 19);
	is_int(dec(&r), 0, "ADDRCPT_PAR decodes");
	is_str(r.s2, "NOTIFY=NEVER", "... with its arguments");
	mk('e', "<n@x>\0", 6);
	is_int(dec(&r), 0, "CHGFROM without arguments decodes");
	ok(r.s2 == NULL, "... with no arguments");
	mk('l', NULL, 0);
	is_int(dec(&r), -1, "SETSYMLIST outside option negotiation is refused");
	put32(buf, 6);
	put32(buf + 4, MILTER_A_ADDHDRS);
	put32(buf + 8, MILTER_P_NOCONNECT);
	put32(buf + 12, MILTER_M_EOM);
	memcpy(buf + 16, "i {x}\0", 6);
	mk('O', buf, 22);
	is_int(dec(&r), 0, "OPTNEG with a macro list decodes");
	is_int(r.version, 6, "... version");
	is_int(r.protocol, MILTER_P_NOCONNECT, "... protocol");
	is_str(r.symlist[MILTER_M_EOM], "i {x}", "... macro list of end of message");
	put32(buf + 12, MILTER_M_COUNT);
	mk('O', buf, 22);
	is_int(dec(&r), -1, "OPTNEG with a macro list for an unknown stage is refused");
	mk('O', buf, 8);
	is_int(dec(&r), -1, "a short OPTNEG is refused");
}

static const char msg_text[] =
    "Received: from x\n\tby y\nSubject: old\nX-Two: 1\nX-Two: 2\n\nbody\n";

static void
content(const struct milter_msg *m, struct pbuf *out)
{
	pbuf_reset(out);
	milter_msg_content(m, out);
}

static void
test_apply(void)
{
	struct qenv env;
	struct milter_msg m;
	struct milter_reply r;
	struct pbuf out = PBUF_INIT;
	char buf[64];

	qenv_init(&env);
	qenv_set_sender(&env, "s@example.org");
	qenv_add_rcpt(&env, "a@example.org", 0, NULL);
	milter_msg_init(&m, &env, msg_text, sizeof(msg_text) - 1, 100);
	content(&m, &out);
	is_str(pbuf_str(&out), msg_text, "the message model gives the message back byte for byte");

	mk('h', "X-New\0added\0", 12);
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), 0, "ADDHEADER applies");
	put32(buf, 0);
	memcpy(buf + 4, "X-Top\0 spaced\0", 14);
	mk('i', buf, 18);
	dec(&r);
	milter_msg_apply(&m, &r, 1, err, sizeof(err));
	put32(buf, 2);
	memcpy(buf + 4, "x-two\0\0", 7);
	mk('m', buf, 11);
	dec(&r);
	milter_msg_apply(&m, &r, 0, err, sizeof(err));
	put32(buf, 1);
	memcpy(buf + 4, "Subject\0new\r\n\tline\0", 19);
	mk('m', buf, 23);
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), 0, "CHGHEADER with a folded value applies");
	content(&m, &out);
	is_str(pbuf_str(&out), "X-Top: spaced\nReceived: from x\n\tby y\nSubject: new\n\tline\n"
	    "X-Two: 1\nX-New: added\n\nbody\n",
	    "INSHEADER at 0 (leading space kept), the 2nd X-Two deleted (any case), Subject changed,"
	    " ADDHEADER at the end with one space");

	mk('h', "Bad Name\0v\0", 11);
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), -1, "a header name with a space is refused");
	mk('h', "X-A\0one\ntwo\0", 12);
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), -1,
	    "a line break not followed by white space is refused");
	is_str(err, "header value line break not followed by white space", "... saying so");

	mk('2', "<b@example.org>\0NOTIFY=NEVER\0", 29);
	dec(&r);
	milter_msg_apply(&m, &r, 0, err, sizeof(err));
	mk('-', "<A@example.org>\0", 16);
	dec(&r);
	milter_msg_apply(&m, &r, 0, err, sizeof(err));
	is_int(env.nrcpt, 1, "ADDRCPT_PAR added one, DELRCPT (any case, brackets) removed one");
	is_str(env.rcpt[0].addr, "b@example.org", "... the new recipient, without brackets");
	is_int(env.rcpt[0].notify, QN_NEVER, "... with its NOTIFY");
	mk('e', "<>\0", 3);
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), 0, "CHGFROM to the null sender");
	is_str(env.sender, "", "... sender <>");
	mk('+', "<a b@x>\0", 8);
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), -1, "an added recipient with a space is refused");

	mk('b', "new\r\nbody", 9);
	dec(&r);
	milter_msg_apply(&m, &r, 0, err, sizeof(err));
	is_str(pbuf_str(&m.body), "body\n", "REPLBODY takes effect only at the end");
	milter_msg_end_replbody(&m);
	is_str(pbuf_str(&m.body), "new\nbody\n", "... CRLF to LF, a final LF added");
	memset(buf, 'x', sizeof(buf));
	mk('b', buf, sizeof(buf));
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), 0, "REPLBODY within message_size_limit");
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), -1, "REPLBODY over message_size_limit is refused");
	is_str(err, "body replacement over message_size_limit 100", "... saying so");
	mk('q', "why\0", 4);
	dec(&r);
	milter_msg_apply(&m, &r, 0, err, sizeof(err));
	is_str(m.quarantine, "why", "QUARANTINE keeps the reason");
	mk('c', NULL, 0);
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), -1, "CONTINUE is no modification");

	milter_msg_free(&m);
	qenv_free(&env);
	pbuf_free(&out);
}

/* Filters cannot grow the headers past message_size_limit, nor add recipients without end. */
static void
test_bounds(void)
{
	struct qenv env;
	struct milter_msg m;
	struct milter_reply r;
	char buf[80];
	int i, rc = 0;

	qenv_init(&env);
	milter_msg_init(&m, &env, msg_text, sizeof(msg_text) - 1, 100);
	memset(buf, 'v', sizeof(buf));
	memcpy(buf, "X-Big\0", 6);
	buf[sizeof(buf) - 1] = '\0';
	mk('h', buf, sizeof(buf));
	dec(&r);
	is_int(milter_msg_apply(&m, &r, 0, err, sizeof(err)), -1, "a header past message_size_limit is refused");
	is_str(err, "headers grow over message_size_limit 100", "... saying so");
	milter_msg_free(&m);
	milter_msg_init(&m, &env, msg_text, sizeof(msg_text) - 1, 0);
	for (i = 0; i <= MILTER_ADDRCPT_MAX && rc == 0; i++) {
		int n = snprintf(buf, sizeof(buf), "r%d@example.org", i);

		mk('+', buf, (size_t)n + 1);
		dec(&r);
		rc = milter_msg_apply(&m, &r, 0, err, sizeof(err));
	}
	is_int(env.nrcpt, MILTER_ADDRCPT_MAX, "MILTER_ADDRCPT_MAX recipients may be added");
	is_int(rc, -1, "... one more is refused");
	milter_msg_free(&m);
	qenv_free(&env);
}

int
main(void)
{
	log_disable_sinks();
	log_to_stderr(NULL);
	test_framing();
	test_decode();
	test_apply();
	test_bounds();
	pbuf_free(&pkt);
	return done_testing();
}
