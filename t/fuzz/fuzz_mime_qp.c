/*
 * fuzz_mime_qp - libFuzzer target for sendmail/mime_qp.c.
 *
 * Two runs per input, each checked (abort() otherwise):
 *  1. mime_qp_encode() of the input as a part's body: every output line
 *     is at most MIME_QP_LINE_MAX characters before its LF, only printable
 *     ASCII, space and tab, no space or tab before a line end, and
 *     decoding it gives back the input (CRLF read as LF).
 *  2. mime_qp_convert() of the input as a whole message, and of the input
 *     put under a "Content-Transfer-Encoding: 8bit" header: no crash;
 *     for the latter, when the input has an 8-bit byte, it is converted,
 *     the body is 7-bit and decodes back as in 1.
 *
 * Build: see t/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime_qp.h"
#include "pbuf.h"

#define FUZZ_HEADER	"Content-Transfer-Encoding: 8bit\n\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Checks the encoded body e[0..len) against the input in[0..n). */
static void
check_encoded(const char *e, size_t len, const char *in, size_t n)
{
	struct pbuf want = PBUF_INIT, got = PBUF_INIT;
	size_t i, col = 0;

	for (i = 0; i < n; i++)
		if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			pbuf_putc(&want, in[i]);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)e[i];

		if (c == '\n') {
			if (i > 0 && (e[i - 1] == ' ' || e[i - 1] == '\t'))
				abort();
			pbuf_putc(&got, '\n');
			col = 0;
			continue;
		}
		if (c > '~' || (c < ' ' && c != '\t') || ++col > MIME_QP_LINE_MAX)
			abort();
		if (c != '=') {
			pbuf_putc(&got, c);
		} else if (i + 1 < len && e[i + 1] == '\n') {
			i++;
			col = 0;
		} else if (i + 2 < len && hexval(e[i + 1]) >= 0 && hexval(e[i + 2]) >= 0) {
			pbuf_putc(&got, hexval(e[i + 1]) * 16 + hexval(e[i + 2]));
			i += 2;
			col += 2;
		} else {
			abort();
		}
	}
	if (got.len != want.len || (got.len && memcmp(got.data, want.data, got.len) != 0))
		abort();
	pbuf_free(&want);
	pbuf_free(&got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct pbuf e = PBUF_INIT, msg = PBUF_INIT, out = PBUF_INIT;
	size_t i;
	int has8 = 0;

	mime_qp_encode(in, size, &e);
	check_encoded(e.data ? e.data : "", e.len, in, size);

	(void)mime_qp_convert(in, size, &out);
	pbuf_reset(&out);

	for (i = 0; i < size; i++)
		has8 |= data[i] & 0x80;
	pbuf_puts(&msg, FUZZ_HEADER);
	pbuf_append(&msg, in, size);
	if (mime_qp_convert(msg.data, msg.len, &out) != (has8 != 0))
		abort();
	if (has8) {
		static const char qp[] = "Content-Transfer-Encoding: quoted-printable\n\n";
		size_t ql = sizeof(qp) - 1;

		if (out.len < ql || memcmp(out.data, qp, ql) != 0)
			abort();
		check_encoded(out.data + ql, out.len - ql, in, size);
	}
	pbuf_free(&e);
	pbuf_free(&msg);
	pbuf_free(&out);
	return 0;
}
