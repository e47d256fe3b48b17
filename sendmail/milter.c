/*
 * milter - the milter session: sockets, negotiation, macros, events,
 * time-outs and the default action; see milter.h.
 *
 * API: milters_create, milters_free, milters_macro, milters_connect,
 * milters_helo, milters_mail, milters_rcpt, milters_data, milters_unknown,
 * milters_message, milters_abort.
 *
 * Each configured milter has its own socket, opened at the connect event
 * (milter_connect_timeout), negotiated at once (OPTNEG, with
 * milter_command_timeout), and closed with QUIT when the session ends.
 * Commands wait milter_command_timeout for their reply, the message
 * content (headers, body, end of body) milter_content_timeout; a PROGRESS
 * reply starts the wait again. A milter that fails is closed and answers
 * milter_default_action for the rest of the session (Postfix's milter8
 * does the same); the warning names the milter, the step and the reason.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "endpoint.h"
#include "log.h"
#include "milter.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define MT_MS			1000
#define MT_ERR_MAX		256
#define MT_MIN_VERSION		2
#define MT_V2_PROTOCOL		0x7Fu	/* the steps a version 2 filter may skip */
#define MT_REPLY_REJECT		"550 5.7.1 Command rejected"
#define MT_REPLY_TEMPFAIL	"451 4.7.1 Service unavailable - try again later"
#define MT_REPLY_SHUTDOWN	"421 4.7.0 Server closing connection"

enum mt_state {
	MT_NEW,		/* not opened yet */
	MT_OPEN,	/* negotiated, taking events */
	MT_DONE,	/* accepted the session (or failed under default accept): skipped */
	MT_FAILED,	/* failed: answers milter_default_action */
};

struct milter {
	char *spec;
	int fd;
	enum mt_state state;
	int skip_msg;		/* ACCEPT for this message */
	int in_msg;		/* MAIL sent, the transaction not ended */
	uint32_t actions, proto;
	char *symlist[MILTER_M_COUNT];	/* the filter's own macro lists (SETSYMLIST) */
};

struct milters {
	struct milter *v;
	size_t n;
	struct strv mname, mvalue;	/* macro table, names without braces */
	char *lists[MILTER_M_COUNT + 1];	/* macro lists from main.cf; the last: unknown commands */
	int connect_ms, command_ms, content_ms;
	uint32_t version;
	char *default_action;
	int def_quarantine;		/* a failure under default "quarantine" in this message */
};

static const char *const mt_list_params[MILTER_M_COUNT + 1] = {
	"milter_connect_macros", "milter_helo_macros", "milter_mail_macros",
	"milter_rcpt_macros", "milter_data_macros", "milter_end_of_data_macros",
	"milter_end_of_header_macros", "milter_unknown_command_macros",
};
#define MT_STAGE_UNKNOWN	MILTER_M_COUNT	/* macro list index of unknown commands */

/* ---- creation, macros ---- */

static int
mt_ms(const char *param)
{
	long long s = conf_time(param);

	if (s <= 0)
		s = 1;
	if (s > INT32_MAX / MT_MS)
		s = INT32_MAX / MT_MS;
	return (int)(s * MT_MS);
}

struct milters *
milters_create(const char *param)
{
	struct strv list = STRV_INIT;
	struct milters *ms;
	long long v;
	size_t i;

	conf_list(param, &list);
	if (list.n == 0) {
		strv_free(&list);
		return NULL;
	}
	ms = xcalloc(1, sizeof(*ms));
	ms->v = xcalloc(list.n, sizeof(*ms->v));
	for (i = 0; i < list.n; i++) {
		ms->v[i].spec = xstrdup(list.v[i]);
		ms->v[i].fd = -1;
	}
	ms->n = list.n;
	strv_free(&list);
	for (i = 0; i <= MILTER_M_COUNT; i++)
		ms->lists[i] = xstrdup(conf_str(mt_list_params[i]));
	ms->connect_ms = mt_ms("milter_connect_timeout");
	ms->command_ms = mt_ms("milter_command_timeout");
	ms->content_ms = mt_ms("milter_content_timeout");
	v = conf_int("milter_protocol");
	if (v < MT_MIN_VERSION || v > MILTER_PROTO_VERSION) {
		log_warn("milter_protocol = %lld is not between %d and %d; using %d", v,
		    MT_MIN_VERSION, MILTER_PROTO_VERSION, MILTER_PROTO_VERSION);
		v = MILTER_PROTO_VERSION;
	}
	ms->version = (uint32_t)v;
	ms->default_action = xstrdup(conf_str("milter_default_action"));
	if (strcmp(ms->default_action, "tempfail") != 0 && strcmp(ms->default_action, "accept") != 0
	    && strcmp(ms->default_action, "reject") != 0
	    && strcmp(ms->default_action, "quarantine") != 0) {
		log_warn("milter_default_action = %s is not accept, reject, tempfail or quarantine;"
		    " using tempfail", ms->default_action);
		free(ms->default_action);
		ms->default_action = xstrdup("tempfail");
	}
	milters_macro(ms, "j", conf_str("myhostname"));
	milters_macro(ms, "daemon_name", conf_str("milter_macro_daemon_name"));
	milters_macro(ms, "v", conf_str("milter_macro_v"));
	return ms;
}

static void
mt_close(struct milter *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

void
milters_free(struct milters *ms)
{
	size_t i, j;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->n; i++) {
		struct milter *m = &ms->v[i];

		if (m->fd >= 0 && m->state == MT_OPEN) {
			struct pbuf pkt = PBUF_INIT;

			milter_packet_put(&pkt, MILTER_C_QUIT, NULL, 0);
			(void)send(m->fd, pkt.data, pkt.len, MSG_NOSIGNAL | MSG_DONTWAIT);
			pbuf_free(&pkt);
		}
		mt_close(m);
		free(m->spec);
		for (j = 0; j < MILTER_M_COUNT; j++)
			free(m->symlist[j]);
	}
	for (i = 0; i <= MILTER_M_COUNT; i++)
		free(ms->lists[i]);
	free(ms->v);
	strv_free(&ms->mname);
	strv_free(&ms->mvalue);
	free(ms->default_action);
	free(ms);
}

/* The macro name without braces: "{client_addr}" -> "client_addr". */
static void
mt_bare(const char *name, struct pbuf *out)
{
	size_t n = strlen(name);

	pbuf_reset(out);
	if (n >= 2 && name[0] == '{' && name[n - 1] == '}')
		pbuf_append(out, name + 1, n - 2);
	else
		pbuf_puts(out, name);
}

/* Removes element i of a strv (keeping the NULL end). */
static void
mt_strv_remove(struct strv *v, size_t i)
{
	free(v->v[i]);
	memmove(&v->v[i], &v->v[i + 1], (v->n - i) * sizeof(v->v[0]));
	v->n--;
}

void
milters_macro(struct milters *ms, const char *name, const char *value)
{
	struct pbuf bare = PBUF_INIT;
	long i;

	if (ms == NULL)
		return;
	mt_bare(name, &bare);
	i = strv_find(&ms->mname, pbuf_str(&bare), 0);
	if (i >= 0 && value == NULL) {
		mt_strv_remove(&ms->mname, (size_t)i);
		mt_strv_remove(&ms->mvalue, (size_t)i);
	} else if (i >= 0) {
		free(ms->mvalue.v[i]);
		ms->mvalue.v[i] = xstrdup(value);
	} else if (value != NULL) {
		strv_add(&ms->mname, pbuf_str(&bare));
		strv_add(&ms->mvalue, value);
	}
	pbuf_free(&bare);
}

static const char *
mt_macro_value(const struct milters *ms, const char *name)
{
	struct pbuf bare = PBUF_INIT;
	long i;

	mt_bare(name, &bare);
	i = strv_find(&ms->mname, pbuf_str(&bare), 0);
	pbuf_free(&bare);
	return i >= 0 ? ms->mvalue.v[i] : NULL;
}

/* ---- failures ---- */

static void
mt_warn(struct milter *m, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
mt_warn(struct milter *m, const char *where, const char *fmt, ...)
{
	char text[MT_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warn("milter %s: %s: %s", m->spec, where, text);
}

/* The verdict of milter_default_action, with its reply. */
static enum milter_verdict
mt_default(struct milters *ms, struct milter *m, char *reply, size_t replylen)
{
	if (strcmp(ms->default_action, "accept") == 0) {
		m->state = MT_DONE;
		return MILTER_CONTINUE;
	}
	if (strcmp(ms->default_action, "quarantine") == 0) {
		ms->def_quarantine = 1;
		return MILTER_CONTINUE;
	}
	if (strcmp(ms->default_action, "reject") == 0) {
		snprintf(reply, replylen, "%s", MT_REPLY_REJECT);
		return MILTER_REJECT;
	}
	snprintf(reply, replylen, "%s", MT_REPLY_TEMPFAIL);
	return MILTER_TEMPFAIL;
}

/* Closes a milter that failed and gives the default verdict. */
static enum milter_verdict
mt_fail(struct milters *ms, struct milter *m, char *reply, size_t replylen)
{
	mt_close(m);
	m->state = MT_FAILED;
	m->in_msg = 0;
	log_warn("milter %s: using milter_default_action = %s", m->spec, ms->default_action);
	return mt_default(ms, m, reply, replylen);
}

/* ---- I/O with deadlines ---- */

/* Sends the whole buffer; 0, or -1 with err. */
static int
mt_write(struct milter *m, const struct pbuf *pkt, int timeout_ms, char *err, size_t errlen)
{
	return endpoint_write(m->fd, pkt->data, pkt->len, endpoint_now_ms() + timeout_ms, err,
	    errlen);
}

/* Reads exactly n bytes into buf; 0, or -1 with err. */
static int
mt_read_n(struct milter *m, char *buf, size_t n, long long deadline, int timeout_ms,
    char *err, size_t errlen)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r;
		int w = endpoint_wait(m->fd, POLLIN, deadline);

		if (w == 0) {
			snprintf(err, errlen, "time-out while waiting for a reply (%d ms)", timeout_ms);
			return -1;
		}
		if (w < 0) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		r = recv(m->fd, buf + off, n - off, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (r < 0) {
			snprintf(err, errlen, "recv: %s", strerror(errno));
			return -1;
		}
		if (r == 0) {
			snprintf(err, errlen, "connection closed by the milter%s",
			    off > 0 ? " in the middle of a packet" : "");
			return -1;
		}
		off += (size_t)r;
	}
	return 0;
}

/*
 * Reads and decodes one reply packet into buf/r (r points into buf).
 * 0, or -1 with err.
 */
static int
mt_read(struct milter *m, int timeout_ms, struct pbuf *buf, struct milter_reply *r,
    char *err, size_t errlen)
{
	long long deadline = endpoint_now_ms() + timeout_ms;
	char lenbuf[sizeof(uint32_t)];
	const char *data;
	size_t dlen;
	char code;
	uint32_t n;
	long used;

	if (mt_read_n(m, lenbuf, sizeof(lenbuf), deadline, timeout_ms, err, errlen) < 0)
		return -1;
	memcpy(&n, lenbuf, sizeof(n));
	n = ntohl(n);
	if (n == 0 || n > MILTER_PACKET_MAX) {
		snprintf(err, errlen, "packet length %lu (allowed 1 to %d)", (unsigned long)n,
		    MILTER_PACKET_MAX);
		return -1;
	}
	pbuf_reset(buf);
	pbuf_append(buf, lenbuf, sizeof(lenbuf));
	pbuf_reserve(buf, n);
	if (mt_read_n(m, buf->data + sizeof(lenbuf), n, deadline, timeout_ms, err, errlen) < 0)
		return -1;
	buf->len += n;
	buf->data[buf->len] = '\0';
	used = milter_packet_split(buf->data, buf->len, &code, &data, &dlen, err, errlen);
	if (used <= 0)
		return -1;
	return milter_reply_decode(code, data, dlen, r, err, errlen);
}

/* ---- opening and negotiation ---- */

/* The socket address of a milter spec; 0, or -1 with err. */
static int
mt_open_socket(struct milter *m, int timeout_ms, char *err, size_t errlen)
{
	m->fd = endpoint_connect(m->spec, NULL, timeout_ms, err, errlen);
	return m->fd < 0 ? -1 : 0;
}

static void
mt_put32(struct pbuf *b, uint32_t v)
{
	uint32_t n = htonl(v);

	pbuf_append(b, &n, sizeof(n));
}

/* Opens and negotiates; 0, or -1 after a warning. */
static int
mt_open(struct milters *ms, struct milter *m)
{
	struct pbuf data = PBUF_INIT, pkt = PBUF_INIT, buf = PBUF_INIT;
	struct milter_reply r;
	char err[MT_ERR_MAX];
	uint32_t offer = ms->version >= MILTER_PROTO_VERSION ? MILTER_P_OFFER : MT_V2_PROTOCOL;
	size_t i;
	int rc = -1;

	if (mt_open_socket(m, ms->connect_ms, err, sizeof(err)) < 0) {
		mt_warn(m, "connect", "%s", err);
		return -1;
	}
	mt_put32(&data, ms->version);
	mt_put32(&data, MILTER_A_ALL);
	mt_put32(&data, offer);
	milter_packet_put(&pkt, MILTER_C_OPTNEG, data.data, data.len);
	if (mt_write(m, &pkt, ms->command_ms, err, sizeof(err)) < 0
	    || mt_read(m, ms->command_ms, &buf, &r, err, sizeof(err)) < 0) {
		mt_warn(m, "option negotiation", "%s", err);
		goto out;
	}
	if (r.code != MILTER_C_OPTNEG) {
		mt_warn(m, "option negotiation", "reply code '%c' where OPTNEG belongs", r.code);
		goto out;
	}
	if (r.version < MT_MIN_VERSION || r.version > MILTER_PROTO_VERSION) {
		mt_warn(m, "option negotiation", "protocol version %lu (Petrel speaks %d to %d)",
		    (unsigned long)r.version, MT_MIN_VERSION, MILTER_PROTO_VERSION);
		goto out;
	}
	if ((r.actions & ~MILTER_A_ALL) != 0)
		mt_warn(m, "option negotiation", "unknown actions 0x%lx ignored",
		    (unsigned long)(r.actions & ~MILTER_A_ALL));
	m->actions = r.actions & MILTER_A_ALL;
	/* Bits Petrel did not offer (size hints, internal bits) are dropped. */
	m->proto = r.protocol & offer;
	for (i = 0; i < MILTER_M_COUNT; i++)
		if (r.symlist[i] != NULL && (m->actions & MILTER_A_SETSYMLIST))
			m->symlist[i] = xstrdup(r.symlist[i]);
	m->state = MT_OPEN;
	rc = 0;
out:
	if (rc < 0)
		mt_close(m);
	pbuf_free(&data);
	pbuf_free(&pkt);
	pbuf_free(&buf);
	return rc;
}

/* ---- events ---- */

/* Appends the MACRO packet for a stage (nothing when no macro has a value). */
static void
mt_macros(struct milters *ms, struct milter *m, int st, char cmd, struct pbuf *pkt)
{
	const char *list = st < MILTER_M_COUNT && m->symlist[st] ? m->symlist[st] : ms->lists[st];
	struct strv names = STRV_INIT;
	struct pbuf data = PBUF_INIT;
	size_t i;

	strv_split(&names, list, " \t,");
	pbuf_putc(&data, cmd);
	for (i = 0; i < names.n; i++) {
		const char *v = mt_macro_value(ms, names.v[i]);

		if (v == NULL)
			continue;
		pbuf_append(&data, names.v[i], strlen(names.v[i]) + 1);
		pbuf_append(&data, v, strlen(v) + 1);
	}
	if (data.len > 1)
		milter_packet_put(pkt, MILTER_C_MACRO, data.data, data.len);
	strv_free(&names);
	pbuf_free(&data);
}

/* The verdict of a final reply; -1 for a code that is not final. */
static int
mt_verdict(struct milter *m, const struct milter_reply *r, int message_level, char *reply,
    size_t replylen)
{
	switch (r->code) {
	case MILTER_R_CONTINUE:
		return MILTER_CONTINUE;
	case MILTER_R_ACCEPT:
		if (message_level)
			m->skip_msg = 1;
		else
			m->state = MT_DONE;
		return MILTER_ACCEPT;
	case MILTER_R_REJECT:
		snprintf(reply, replylen, "%s", MT_REPLY_REJECT);
		return MILTER_REJECT;
	case MILTER_R_TEMPFAIL:
		snprintf(reply, replylen, "%s", MT_REPLY_TEMPFAIL);
		return MILTER_TEMPFAIL;
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		snprintf(reply, replylen, "%s", MT_REPLY_SHUTDOWN);
		return MILTER_TEMPFAIL;
	case MILTER_R_DISCARD:
		return MILTER_DISCARD;
	case MILTER_R_REPLYCODE:
		snprintf(reply, replylen, "%s", r->s1);
		return r->s1[0] == '4' ? MILTER_TEMPFAIL : MILTER_REJECT;
	default:
		return -1;
	}
}

/*
 * One command to one milter: macros, the command, and (unless the filter
 * asked for no reply) its final reply. skip/noreply: the SMFIP bits of
 * this step.
 */
static enum milter_verdict
mt_command(struct milters *ms, struct milter *m, int stage, char cmd, const struct pbuf *data,
    uint32_t skip, uint32_t noreply, const char *what, char *reply, size_t replylen)
{
	struct pbuf pkt = PBUF_INIT, buf = PBUF_INIT;
	struct milter_reply r;
	char err[MT_ERR_MAX];
	int message_level = cmd != MILTER_C_CONNECT && cmd != MILTER_C_HELO;
	int v;

	if (m->state == MT_FAILED)
		return mt_default(ms, m, reply, replylen);
	if (m->state != MT_OPEN || (message_level && m->skip_msg))
		return MILTER_CONTINUE;
	if (m->proto & skip)
		return MILTER_CONTINUE;
	if (stage >= 0)
		mt_macros(ms, m, stage, cmd, &pkt);
	milter_packet_put(&pkt, cmd, data ? data->data : NULL, data ? data->len : 0);
	if (mt_write(m, &pkt, ms->command_ms, err, sizeof(err)) < 0) {
		mt_warn(m, what, "%s", err);
		goto fail;
	}
	if (m->proto & noreply) {
		v = MILTER_CONTINUE;
		goto out;
	}
	for (;;) {
		if (mt_read(m, ms->command_ms, &buf, &r, err, sizeof(err)) < 0) {
			mt_warn(m, what, "%s", err);
			goto fail;
		}
		if (r.code == MILTER_R_PROGRESS)
			continue;
		v = mt_verdict(m, &r, message_level, reply, replylen);
		if (v < 0) {
			mt_warn(m, what, "unexpected reply code '%c'", r.code);
			goto fail;
		}
		break;
	}
out:
	pbuf_free(&pkt);
	pbuf_free(&buf);
	return (enum milter_verdict)v;
fail:
	pbuf_free(&pkt);
	pbuf_free(&buf);
	return mt_fail(ms, m, reply, replylen);
}

/* Runs an event through every milter in order; the first REJECT/TEMPFAIL/DISCARD ends it. */
static enum milter_verdict
mt_all(struct milters *ms, int stage, char cmd, const struct pbuf *data, uint32_t skip,
    uint32_t noreply, const char *what, char *reply, size_t replylen)
{
	size_t i;

	for (i = 0; i < ms->n; i++) {
		enum milter_verdict v = mt_command(ms, &ms->v[i], stage, cmd, data, skip, noreply,
		    what, reply, replylen);

		if (v == MILTER_REJECT || v == MILTER_TEMPFAIL || v == MILTER_DISCARD)
			return v;
	}
	return MILTER_CONTINUE;
}

enum milter_verdict
milters_connect(struct milters *ms, const char *name, char family, const char *addr,
    unsigned port, char *reply, size_t replylen)
{
	struct pbuf data = PBUF_INIT;
	enum milter_verdict v;
	size_t i;

	if (ms == NULL)
		return MILTER_CONTINUE;
	for (i = 0; i < ms->n; i++)
		if (ms->v[i].state == MT_NEW && mt_open(ms, &ms->v[i]) < 0)
			(void)mt_fail(ms, &ms->v[i], reply, replylen);
	pbuf_append(&data, name, strlen(name) + 1);
	pbuf_putc(&data, family);
	if (family != 'U') {
		uint16_t p = htons((uint16_t)port);

		pbuf_append(&data, &p, sizeof(p));
		pbuf_append(&data, addr, strlen(addr) + 1);
	}
	v = mt_all(ms, MILTER_M_CONNECT, MILTER_C_CONNECT, &data, MILTER_P_NOCONNECT,
	    MILTER_P_NR_CONN, "CONNECT", reply, replylen);
	pbuf_free(&data);
	return v == MILTER_DISCARD ? MILTER_CONTINUE : v;
}

enum milter_verdict
milters_helo(struct milters *ms, const char *helo, char *reply, size_t replylen)
{
	struct pbuf data = PBUF_INIT;
	enum milter_verdict v;

	if (ms == NULL)
		return MILTER_CONTINUE;
	pbuf_append(&data, helo, strlen(helo) + 1);
	v = mt_all(ms, MILTER_M_HELO, MILTER_C_HELO, &data, MILTER_P_NOHELO, MILTER_P_NR_HELO,
	    "HELO", reply, replylen);
	pbuf_free(&data);
	return v == MILTER_DISCARD ? MILTER_CONTINUE : v;
}

/* "<addr>\0" then each argument with its NUL. */
static void
mt_path_args(struct pbuf *data, const char *addr, char **args)
{
	pbuf_putc(data, '<');
	pbuf_puts(data, addr);
	pbuf_putc(data, '>');
	pbuf_putc(data, '\0');
	for (; args && *args; args++)
		pbuf_append(data, *args, strlen(*args) + 1);
}

enum milter_verdict
milters_mail(struct milters *ms, const char *sender, char **args, char *reply, size_t replylen)
{
	struct pbuf data = PBUF_INIT;
	enum milter_verdict v;
	size_t i;

	if (ms == NULL)
		return MILTER_CONTINUE;
	ms->def_quarantine = 0;
	for (i = 0; i < ms->n; i++) {
		ms->v[i].skip_msg = 0;
		if (ms->v[i].state == MT_OPEN)
			ms->v[i].in_msg = 1;
	}
	milters_macro(ms, "mail_addr", sender);
	mt_path_args(&data, sender, args);
	v = mt_all(ms, MILTER_M_MAIL, MILTER_C_MAIL, &data, MILTER_P_NOMAIL, MILTER_P_NR_MAIL,
	    "MAIL", reply, replylen);
	pbuf_free(&data);
	return v;
}

enum milter_verdict
milters_rcpt(struct milters *ms, const char *rcpt, char **args, char *reply, size_t replylen)
{
	struct pbuf data = PBUF_INIT;
	enum milter_verdict v;

	if (ms == NULL)
		return MILTER_CONTINUE;
	milters_macro(ms, "rcpt_addr", rcpt);
	mt_path_args(&data, rcpt, args);
	v = mt_all(ms, MILTER_M_RCPT, MILTER_C_RCPT, &data, MILTER_P_NORCPT, MILTER_P_NR_RCPT,
	    "RCPT", reply, replylen);
	pbuf_free(&data);
	return v;
}

enum milter_verdict
milters_data(struct milters *ms, char *reply, size_t replylen)
{
	if (ms == NULL)
		return MILTER_CONTINUE;
	return mt_all(ms, MILTER_M_DATA, MILTER_C_DATA, NULL, MILTER_P_NODATA, MILTER_P_NR_DATA,
	    "DATA", reply, replylen);
}

enum milter_verdict
milters_unknown(struct milters *ms, const char *line, char *reply, size_t replylen)
{
	struct pbuf data = PBUF_INIT;
	enum milter_verdict v;

	if (ms == NULL)
		return MILTER_CONTINUE;
	pbuf_append(&data, line, strlen(line) + 1);
	v = mt_all(ms, MT_STAGE_UNKNOWN, MILTER_C_UNKNOWN, &data, MILTER_P_NOUNKNOWN,
	    MILTER_P_NR_UNKN, "UNKNOWN", reply, replylen);
	pbuf_free(&data);
	return v == MILTER_DISCARD ? MILTER_CONTINUE : v;
}

void
milters_abort(struct milters *ms)
{
	size_t i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->n; i++) {
		struct milter *m = &ms->v[i];
		struct pbuf pkt = PBUF_INIT;
		char err[MT_ERR_MAX];

		if (m->state == MT_OPEN && m->in_msg) {
			milter_packet_put(&pkt, MILTER_C_ABORT, NULL, 0);
			if (mt_write(m, &pkt, ms->command_ms, err, sizeof(err)) < 0) {
				char reply[MILTER_REPLY_MAX];

				mt_warn(m, "ABORT", "%s", err);
				(void)mt_fail(ms, m, reply, sizeof(reply));
			}
		}
		m->in_msg = 0;
		m->skip_msg = 0;
		pbuf_free(&pkt);
	}
}

/* The action bit a modification needs. */
static uint32_t
mt_action_of(char code)
{
	switch (code) {
	case MILTER_R_ADDHEADER: return MILTER_A_ADDHDRS;
	case MILTER_R_INSHEADER: return MILTER_A_ADDHDRS;
	case MILTER_R_CHGHEADER: return MILTER_A_CHGHDRS;
	case MILTER_R_ADDRCPT: return MILTER_A_ADDRCPT;
	case MILTER_R_ADDRCPT_PAR: return MILTER_A_ADDRCPT_PAR;
	case MILTER_R_DELRCPT: return MILTER_A_DELRCPT;
	case MILTER_R_REPLBODY: return MILTER_A_CHGBODY;
	case MILTER_R_CHGFROM: return MILTER_A_CHGFROM;
	case MILTER_R_QUARANTINE: return MILTER_A_QUARANTINE;
	default: return 0;
	}
}

/*
 * Sends one content packet and, unless noreply, reads its reply. Returns
 * a verdict, MILTER_ACCEPT also for SKIP (stop sending body), or -1 on
 * failure (warned).
 */
static int
mt_content(struct milters *ms, struct milter *m, struct pbuf *pkt, int noreply,
    const char *what, char *reply, size_t replylen)
{
	struct pbuf buf = PBUF_INIT;
	struct milter_reply r;
	char err[MT_ERR_MAX];
	int v = MILTER_CONTINUE;

	if (mt_write(m, pkt, ms->content_ms, err, sizeof(err)) < 0) {
		mt_warn(m, what, "%s", err);
		v = -1;
	}
	while (v >= 0 && !noreply) {
		if (mt_read(m, ms->content_ms, &buf, &r, err, sizeof(err)) < 0) {
			mt_warn(m, what, "%s", err);
			v = -1;
			break;
		}
		if (r.code == MILTER_R_PROGRESS)
			continue;
		if (r.code == MILTER_R_SKIP && strcmp(what, "BODY") == 0) {
			v = MILTER_ACCEPT;
			break;
		}
		v = mt_verdict(m, &r, 1, reply, replylen);
		if (v < 0)
			mt_warn(m, what, "unexpected reply code '%c'", r.code);
		break;
	}
	pbuf_reset(pkt);
	pbuf_free(&buf);
	return v;
}

/* The end of body: modifications, then the final reply. */
static int
mt_eob(struct milters *ms, struct milter *m, struct milter_msg *msg, struct pbuf *pkt,
    char *reply, size_t replylen)
{
	struct pbuf buf = PBUF_INIT;
	struct milter_reply r;
	char err[MT_ERR_MAX];
	int v = -1;

	mt_macros(ms, m, MILTER_M_EOM, MILTER_C_BODYEOB, pkt);
	milter_packet_put(pkt, MILTER_C_BODYEOB, NULL, 0);
	if (mt_write(m, pkt, ms->content_ms, err, sizeof(err)) < 0) {
		mt_warn(m, "END-OF-MESSAGE", "%s", err);
		goto out;
	}
	for (;;) {
		uint32_t need;

		if (mt_read(m, ms->content_ms, &buf, &r, err, sizeof(err)) < 0) {
			mt_warn(m, "END-OF-MESSAGE", "%s", err);
			goto out;
		}
		if (r.code == MILTER_R_PROGRESS)
			continue;
		need = mt_action_of(r.code);
		if (need == 0)
			break;
		if (!(m->actions & need)) {
			mt_warn(m, "END-OF-MESSAGE", "reply code '%c' without the negotiated action",
			    r.code);
			goto out;
		}
		if (milter_msg_apply(msg, &r, (m->proto & MILTER_P_HDR_LEADSPC) != 0, err,
		    sizeof(err)) < 0) {
			mt_warn(m, "END-OF-MESSAGE", "%s", err);
			goto out;
		}
	}
	v = mt_verdict(m, &r, 1, reply, replylen);
	if (v < 0)
		mt_warn(m, "END-OF-MESSAGE", "unexpected reply code '%c'", r.code);
	else
		milter_msg_end_replbody(msg);
out:
	if (v < 0) {
		pbuf_reset(&msg->newbody);
		msg->replbody = 0;
	}
	pbuf_reset(pkt);
	pbuf_free(&buf);
	return v;
}

/* Sends the message to one milter; its verdict, or -1 on failure. */
static int
mt_message(struct milters *ms, struct milter *m, struct milter_msg *msg, char *reply,
    size_t replylen)
{
	struct pbuf pkt = PBUF_INIT, data = PBUF_INIT;
	int leadspc = (m->proto & MILTER_P_HDR_LEADSPC) != 0;
	size_t i;
	int v = MILTER_CONTINUE;

	for (i = 0; i < msg->nhdr && !(m->proto & MILTER_P_NOHDRS); i++) {
		const char *val = msg->hdr[i].value;

		if (!leadspc)
			val += strspn(val, " \t");
		pbuf_reset(&data);
		pbuf_append(&data, msg->hdr[i].name, strlen(msg->hdr[i].name) + 1);
		pbuf_append(&data, val, strlen(val) + 1);
		milter_packet_put(&pkt, MILTER_C_HEADER, data.data, data.len);
		v = mt_content(ms, m, &pkt, (m->proto & MILTER_P_NR_HDR) != 0, "HEADER", reply,
		    replylen);
		if (v != MILTER_CONTINUE)
			goto out;
	}
	if (!(m->proto & MILTER_P_NOEOH)) {
		mt_macros(ms, m, MILTER_M_EOH, MILTER_C_EOH, &pkt);
		milter_packet_put(&pkt, MILTER_C_EOH, NULL, 0);
		v = mt_content(ms, m, &pkt, (m->proto & MILTER_P_NR_EOH) != 0, "END-OF-HEADERS",
		    reply, replylen);
		if (v != MILTER_CONTINUE)
			goto out;
	}
	if (!(m->proto & MILTER_P_NOBODY)) {
		const char *p = msg->body.data ? msg->body.data : "";
		size_t left = msg->body.len;

		while (left > 0) {
			pbuf_reset(&data);
			/* LF to CRLF, at most MILTER_CHUNK_MAX bytes a chunk. */
			while (left > 0 && data.len + 2 <= MILTER_CHUNK_MAX) {
				if (*p == '\n')
					pbuf_putc(&data, '\r');
				pbuf_putc(&data, *p++);
				left--;
			}
			milter_packet_put(&pkt, MILTER_C_BODY, data.data, data.len);
			v = mt_content(ms, m, &pkt, (m->proto & MILTER_P_NR_BODY) != 0, "BODY", reply,
			    replylen);
			if (v == MILTER_ACCEPT && !m->skip_msg) {
				v = MILTER_CONTINUE;	/* SKIP: no more body */
				break;
			}
			if (v != MILTER_CONTINUE)
				goto out;
		}
	}
	v = mt_eob(ms, m, msg, &pkt, reply, replylen);
out:
	pbuf_free(&pkt);
	pbuf_free(&data);
	return v;
}

enum milter_verdict
milters_message(struct milters *ms, struct milter_msg *msg, char *reply, size_t replylen)
{
	size_t i;
	enum milter_verdict result = MILTER_CONTINUE;

	if (ms == NULL)
		return MILTER_CONTINUE;
	if (msg->env->id[0] != '\0')
		milters_macro(ms, "i", msg->env->id);
	for (i = 0; i < ms->n; i++) {
		struct milter *m = &ms->v[i];
		int v;

		if (m->state == MT_FAILED) {
			v = mt_default(ms, m, reply, replylen);
		} else if (m->state != MT_OPEN || m->skip_msg) {
			continue;
		} else {
			v = mt_message(ms, m, msg, reply, replylen);
			m->in_msg = 0;
			if (v < 0)
				v = mt_fail(ms, m, reply, replylen);
		}
		if (v == MILTER_REJECT || v == MILTER_TEMPFAIL || v == MILTER_DISCARD) {
			result = (enum milter_verdict)v;
			break;
		}
	}
	if (ms->def_quarantine && msg->quarantine == NULL)
		msg->quarantine = xstrdup("milter_default_action = quarantine");
	return result;
}
