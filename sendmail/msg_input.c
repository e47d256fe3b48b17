/*
 * msg_input - the front end's reading of a message; see msg_input.h.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "msg_input.h"

#define MSG_INPUT_CHUNK	65536

void
msg_input_init(struct msg_input *in, int ignore_dots, enum msg_eol_mode eol,
    size_t limit)
{
	in->ignore_dots = ignore_dots;
	in->eol = eol;
	in->limit = limit;
	pbuf_init(&in->line);
	in->first_line = 1;
	in->in_from_prefix = 1;
	in->strict_crlf = 0;
	in->done = 0;
}

void
msg_input_free(struct msg_input *in)
{
	pbuf_free(&in->line);
}

int
msg_input_eol_mode(const char *value)
{
	if (strcmp(value, "always") == 0)
		return MSG_EOL_ALWAYS;
	if (strcmp(value, "strict") == 0)
		return MSG_EOL_STRICT;
	if (strcmp(value, "never") == 0)
		return MSG_EOL_NEVER;
	return -1;
}

static int
msg_input_is_from_line(const char *p, size_t len)
{
	while (len > 0 && *p == '>') {
		p++;
		len--;
	}
	return len >= 5 && memcmp(p, "From ", 5) == 0;
}

/* Handles one complete line (without its LF). Returns 1 on a lone dot. */
static int
msg_input_line(struct msg_input *in, const char *p, size_t len, struct pbuf *out)
{
	int had_cr = len > 0 && p[len - 1] == '\r';

	if (in->first_line && in->eol == MSG_EOL_STRICT)
		in->strict_crlf = had_cr;
	in->first_line = 0;
	if (in->eol == MSG_EOL_ALWAYS || (in->eol == MSG_EOL_STRICT && in->strict_crlf)) {
		while (len > 0 && p[len - 1] == '\r')
			len--;
	}
	if (in->in_from_prefix) {
		if (msg_input_is_from_line(p, len))
			return 0;
		in->in_from_prefix = 0;
	}
	if (!in->ignore_dots) {
		size_t l = len;

		while (l > 0 && p[l - 1] == '\r')	/* ".\r" ends input in every mode */
			l--;
		if (l == 1 && p[0] == '.')
			return 1;
	}
	pbuf_append(out, p, len);
	pbuf_putc(out, '\n');
	return 0;
}

int
msg_input_feed(struct msg_input *in, const char *buf, size_t len, struct pbuf *out)
{
	while (len > 0 && !in->done) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;

		if (nl == NULL) {
			pbuf_append(&in->line, buf, take);
			return 0;
		}
		if (in->line.len) {
			pbuf_append(&in->line, buf, take);
			in->done = msg_input_line(in, in->line.data, in->line.len, out);
			pbuf_reset(&in->line);
		} else {
			in->done = msg_input_line(in, buf, take, out);
		}
		buf += take + 1;
		len -= take + 1;
	}
	return in->done;
}

void
msg_input_finish(struct msg_input *in, struct pbuf *out)
{
	if (!in->done && in->line.len > 0)
		in->done = msg_input_line(in, in->line.data, in->line.len, out);
	pbuf_reset(&in->line);
}

enum msg_input_status
msg_input_read_fd(struct msg_input *in, int fd, struct pbuf *out)
{
	char buf[MSG_INPUT_CHUNK];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return MSG_INPUT_READ_ERROR;
		}
		if (n == 0)
			break;
		if (msg_input_feed(in, buf, (size_t)n, out))
			return MSG_INPUT_OK;
		if (in->limit && out->len + in->line.len > in->limit)
			return MSG_INPUT_TOO_BIG;
	}
	msg_input_finish(in, out);
	if (in->limit && out->len > in->limit)
		return MSG_INPUT_TOO_BIG;
	return MSG_INPUT_OK;
}
