/*
 * mime_qp_test - unit tests of sendmail/mime_qp.c: exact encoder output
 * (soft breaks at 76, =XX, trailing white space, CRLF, a bare CR), the
 * conversion of a single 8bit part, of a multipart with 7bit, 8bit and
 * nested parts, of message/rfc822, and what is left alone (no MIME, 7bit,
 * base64, no 8-bit byte). Each encoded body is decoded again here and
 * compared with the original.
 */
#include "config.h"

#include <string.h>

#include "mime_qp.h"
#include "pbuf.h"
#include "tap.h"

#define LONG_LINE	200

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Quoted-printable decoding (RFC 2045 §6.7), LF line ends. -1 on a bad escape. */
static int
qp_decode(const char *s, size_t len, struct pbuf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != '=') {
			pbuf_putc(out, s[i]);
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\n') {
			i++;
			continue;
		}
		if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			return -1;
		pbuf_putc(out, hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		i += 2;
	}
	return 0;
}

static const char *
enc(const char *in, struct pbuf *b)
{
	pbuf_reset(b);
	mime_qp_encode(in, strlen(in), b);
	return pbuf_str(b);
}

/* 1 when encoding in decodes back to want and keeps every rule of the output. */
static int
round_trip(const char *in, const char *want)
{
	struct pbuf e = PBUF_INIT, d = PBUF_INIT;
	size_t i, col = 0;
	int good;

	mime_qp_encode(in, strlen(in), &e);
	good = qp_decode(e.data ? e.data : "", e.len, &d) == 0 && d.len == strlen(want)
	    && memcmp(d.data ? d.data : "", want, d.len) == 0;
	for (i = 0; i < e.len; i++) {
		unsigned char c = (unsigned char)e.data[i];

		if (c == '\n') {
			if (i > 0 && (e.data[i - 1] == ' ' || e.data[i - 1] == '\t'))
				good = 0;
			col = 0;
			continue;
		}
		if (c > '~' || (c < ' ' && c != '\t') || ++col > MIME_QP_LINE_MAX)
			good = 0;
	}
	pbuf_free(&e);
	pbuf_free(&d);
	return good;
}

int
main(void)
{
	struct pbuf b = PBUF_INIT, out = PBUF_INIT;
	char line[LONG_LINE + 2];
	const char *msg, *want;

	/* ---- the encoder ---- */
	is_str(enc("plain text\n", &b), "plain text\n", "7-bit text unchanged");
	is_str(enc("caf\xc3\xa9 = 1\n", &b), "caf=C3=A9 =3D 1\n", "8-bit bytes and = as =XX");
	is_str(enc("trailing space \nand tab\t\n", &b), "trailing space=20\nand tab=09\n",
	    "white space at a line end encoded");
	is_str(enc("crlf\r\nline\r\n", &b), "crlf\nline\n", "CRLF becomes a line end");
	is_str(enc("bare\rcr\n", &b), "bare=0Dcr\n", "a bare CR is =0D");
	is_str(enc("no newline \xff", &b), "no newline =FF", "a last line without LF stays so");
	is_str(enc(".\n", &b), ".\n", "a lone dot is left to dot-stuffing");
	memset(line, 'a', LONG_LINE);
	line[LONG_LINE] = '\n';
	line[LONG_LINE + 1] = '\0';
	is_str(enc(line, &b),
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\n"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\n"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "a 200-byte line: soft breaks, 75 + '=' per line");
	memset(line, 'b', 76);
	memcpy(line + 76, "\n", 2);
	is_str(enc(line, &b), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
	    "exactly 76 bytes: no soft break");
	memset(line, 'c', 74);
	memcpy(line + 74, "\xe9\n", 3);
	is_str(enc(line, &b),
	    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc=\n=E9\n",
	    "an escape never split: it goes to the next line");
	ok(round_trip("caf\xc3\xa9 \t\n\n = \r\n\x01\x7f end \xff", "caf\xc3\xa9 \t\n\n = \n\x01\x7f end \xff"),
	    "round trip: mixed bytes decode back (CRLF as LF)");
	memset(line, '\xe4', LONG_LINE);
	line[LONG_LINE] = '\0';
	ok(round_trip(line, line), "round trip: 200 8-bit bytes, lines at most 76");

	/* ---- whole messages ---- */
	msg = "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\ngr\xc3\xbc\xc3\x9f dich\n.\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 1, "8bit part: converted");
	is_str(pbuf_str(&out), "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\ngr=C3=BC=C3=9F dich\n.\n",
	    "8bit part: header changed, body encoded");

	msg = "Content-Type: text/plain\nContent-Transfer-Encoding:\n (folded) 8BIT\nX-After: 1\n\n\xe9\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 1, "folded, upper-case 8BIT: converted");
	is_str(pbuf_str(&out), "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n"
	    "X-After: 1\n\n=E9\n", "folded header replaced whole");

	pbuf_reset(&out);
	pbuf_puts(&out, "untouched");
	msg = "Subject: no mime\n\n8-bit \xe9 body\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 0, "no MIME: left alone");
	is_str(pbuf_str(&out), "untouched", "no MIME: out untouched");
	msg = "Content-Transfer-Encoding: 7bit\n\n\xe9\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 0, "declared 7bit: left alone");
	msg = "Content-Transfer-Encoding: binary\n\n\xe9\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 0, "binary: left alone");
	msg = "Subject: \xe9\nContent-Transfer-Encoding: 8bit\n\nascii only\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 0, "8bit with only 7-bit bytes: left alone");
	msg = "Content-Transfer-Encoding: 8bit\n\xe9 no blank line";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 0, "no body: left alone");

	msg = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=_b 1\"\n\n"
	    "pre \xe9" "amble\n"
	    "--=_b 1\nContent-Type: text/plain\n\nseven bit\n"
	    "--=_b 1\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n\xe9t\xe9\n\n"
	    "--=_b 1\r\nContent-Type: multipart/alternative; boundary=inner\n\n"
	    "--inner\nContent-Transfer-Encoding: 8bit\n\n\xfc\n--inner--\n"
	    "--=_b 1--\nepi \xe9logue\n";
	want = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=_b 1\"\n\n"
	    "pre \xe9" "amble\n"
	    "--=_b 1\nContent-Type: text/plain\n\nseven bit\n"
	    "--=_b 1\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n=E9t=E9\n\n"
	    "--=_b 1\r\nContent-Type: multipart/alternative; boundary=inner\n\n"
	    "--inner\nContent-Transfer-Encoding: quoted-printable\n\n=FC\n--inner--\n"
	    "--=_b 1--\nepi \xe9logue\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 1, "multipart: converted");
	is_str(pbuf_str(&out), want, "multipart: 8bit parts encoded, nested too; the rest as is");

	msg = "Content-Type: message/rfc822\n\nSubject: inner\nContent-Transfer-Encoding: 8bit\n\n\xe9\n";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 1, "message/rfc822: walked");
	is_str(pbuf_str(&out), "Content-Type: message/rfc822\n\nSubject: inner\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n=E9\n", "message/rfc822: inner part encoded");

	msg = "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Transfer-Encoding: 8bit\n\n\xe9";
	is_int(mime_qp_convert(msg, strlen(msg), &out), 1, "multipart without its closing line");
	is_str(pbuf_str(&out), "Content-Type: multipart/mixed; boundary=x\n\n--x\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n=E9", "last part runs to the end");

	pbuf_free(&b);
	pbuf_free(&out);
	return done_testing();
}
