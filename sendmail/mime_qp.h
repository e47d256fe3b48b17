/*
 * mime_qp - 8bit MIME content made 7-bit for a server without 8BITMIME:
 * each body part declared "Content-Transfer-Encoding: 8bit" that holds a
 * byte with the high bit set is encoded as quoted-printable (RFC 2045
 * §6.7), and that part's Content-Transfer-Encoding header (folded lines
 * included) becomes "Content-Transfer-Encoding: quoted-printable".
 * multipart bodies are walked part by part (RFC 2046 §5.1: preamble,
 * delimiter lines and epilogue as they are) and message/rfc822 bodies
 * are walked as messages, up to MIME_QP_DEPTH_MAX levels; deeper parts
 * are left alone. Everything else goes out as it is: headers, parts
 * declared 7bit (or with no Content-Transfer-Encoding), binary parts,
 * and 8-bit content that is no MIME at all (Postfix's rule with
 * disable_mime_output_conversion = no). Pure: no I/O, so it is fuzzed
 * (t/fuzz/fuzz_mime_qp.c).
 *
 * Encoding: a line of the part (ended by LF or CRLF) becomes encoded
 * lines of at most MIME_QP_LINE_MAX (76) characters, soft breaks "="
 * included; "=", every byte outside 33..126 except space and tab, and a
 * space or tab at the end of a line are written =XX (upper-case hex); a
 * bare CR is =0D. Decoding the part gives back its bytes, with CRLF line
 * ends as LF. Lines of the output end in LF (the SMTP client adds CR and
 * the dot-stuffing).
 *
 * API: mime_qp_convert(content, len, out): 1 when something was
 * converted (out holds the whole new message), 0 when nothing needed it
 * (out untouched). mime_qp_encode(): the body encoder alone. No errors:
 * malformed MIME (no boundary, a multipart without its closing
 * delimiter, headers without a body) is passed through as it is.
 */
#ifndef PETREL_MIME_QP_H
#define PETREL_MIME_QP_H

#include <stddef.h>

#include "pbuf.h"

#define MIME_QP_LINE_MAX	76	/* RFC 2045 §6.7 rule 5, without the line end */
#define MIME_QP_DEPTH_MAX	20	/* multipart / message nesting walked */

int mime_qp_convert(const char *content, size_t len, struct pbuf *out);

/* Appends body[0..len) encoded as quoted-printable to out. */
void mime_qp_encode(const char *body, size_t len, struct pbuf *out);

#endif
