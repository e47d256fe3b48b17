/*
 * pbuf_test - the growable buffer, the string vector and msg_input's
 * reading rules (spec/sendmail-cli.md §6).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg_input.h"
#include "pbuf.h"
#include "strv.h"
#include "tap.h"

static const char *
read_msg(const char *raw, size_t len, int ignore_dots, enum msg_eol_mode eol,
    struct pbuf *out)
{
	struct msg_input in;

	pbuf_reset(out);
	msg_input_init(&in, ignore_dots, eol, 0);
	/* Feed in awkward pieces to exercise lines split across reads. */
	while (len > 0) {
		size_t n = len > 3 ? 3 : len;

		if (msg_input_feed(&in, raw, n, out))
			break;
		raw += n;
		len -= n;
	}
	msg_input_finish(&in, out);
	msg_input_free(&in);
	return pbuf_str(out);
}

#define READ(s, dots, eol) read_msg(s, sizeof(s) - 1, dots, eol, &out)

int
main(void)
{
	struct pbuf b = PBUF_INIT, out = PBUF_INIT;
	struct strv v = STRV_INIT;
	int i;

	pbuf_puts(&b, "abc");
	pbuf_printf(&b, "%d-%s", 42, "x");
	is_str(pbuf_str(&b), "abc42-x", "pbuf_puts + pbuf_printf");
	pbuf_append(&b, "\0z", 2);
	is_int(b.len, 9, "pbuf keeps NUL bytes in len");
	pbuf_truncate(&b, 3);
	is_str(pbuf_str(&b), "abc", "pbuf_truncate");
	for (i = 0; i < 10000; i++)
		pbuf_putc(&b, 'y');
	is_int(b.len, 10003, "pbuf grows");
	pbuf_free(&b);
	is_str(pbuf_str(&b), "", "freed pbuf reads as empty");

	strv_split(&v, "a b,c ,, d", ", \t");
	is_int(v.n, 4, "strv_split drops empty elements");
	is_str(v.v[3], "d", "strv_split last element");
	ok(v.v[4] == NULL, "strv is NULL-terminated");
	is_int(strv_find(&v, "C", 1), 2, "strv_find ignores case when asked");
	is_int(strv_find(&v, "C", 0), -1, "strv_find is exact otherwise");
	strv_free(&v);

	is_str(READ("Subject: x\r\n\r\nbody\r\n", 1, MSG_EOL_ALWAYS),
	    "Subject: x\n\nbody\n", "CRLF becomes LF");
	is_str(READ("Subject: x\r\n\nbody\n", 1, MSG_EOL_ALWAYS),
	    "Subject: x\n\nbody\n", "mixed CRLF and LF (PHP) becomes LF");
	is_str(READ("a\rb\n", 1, MSG_EOL_ALWAYS), "a\rb\n", "a bare CR inside a line is data");
	is_str(READ("line\r\r\n", 1, MSG_EOL_ALWAYS), "line\n", "always: every trailing CR goes");
	is_str(READ("a\r\nb\r\n", 1, MSG_EOL_NEVER), "a\r\nb\r\n", "never: CRs kept");
	is_str(READ("a\nb\r\n", 1, MSG_EOL_STRICT), "a\nb\r\n",
	    "strict: first line LF, later CRs kept");
	is_str(READ("a\r\nb\r\n", 1, MSG_EOL_STRICT), "a\nb\n", "strict: first line CRLF converts");
	is_str(READ("no newline", 1, MSG_EOL_ALWAYS), "no newline\n", "a last partial line is kept");
	is_str(READ("", 1, MSG_EOL_ALWAYS), "", "empty input is an empty message");
	is_str(READ("a\n.\nb\n", 0, MSG_EOL_ALWAYS), "a\n", "without -i a lone dot ends input");
	is_str(READ("a\n.\r\nb\n", 0, MSG_EOL_ALWAYS), "a\n", "without -i a dot CRLF ends input");
	is_str(READ("a\n.\nb\n", 1, MSG_EOL_ALWAYS), "a\n.\nb\n", "with -i a lone dot is data");
	is_str(READ("a\n..\n.x\n", 0, MSG_EOL_ALWAYS), "a\n..\n.x\n",
	    "leading dots are never removed");
	is_str(READ("From root Sat Nov 28\n>From x\nSubject: s\n\nFrom here\n", 1, MSG_EOL_ALWAYS),
	    "Subject: s\n\nFrom here\n", "leading From_ lines dropped, later ones kept");
	is_str(READ("a\0b\n", 1, MSG_EOL_ALWAYS), "a", "NUL bytes pass (C string view stops)");
	is_int(out.len, 4, "NUL bytes are stored");
	{
		static const char big[] = "0123456789\n0123456789\n";
		struct msg_input in;
		struct pbuf o = PBUF_INIT;
		int fds[2];

		if (pipe(fds) == 0) {
			if (write(fds[1], big, sizeof(big) - 1) < 0)
				diag("write failed");
			close(fds[1]);
			msg_input_init(&in, 1, MSG_EOL_ALWAYS, 12);
			is_int(msg_input_read_fd(&in, fds[0], &o), MSG_INPUT_TOO_BIG,
			    "input over the limit is reported");
			msg_input_free(&in);
			close(fds[0]);
		}
		pbuf_free(&o);
	}
	pbuf_free(&out);
	return done_testing();
}
