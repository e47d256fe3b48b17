/*
 * milter - the client side of the Sendmail milter protocol (version 6, as
 * Sendmail 8.17's libmilter speaks it), for smtpd_milters (SMTP sessions)
 * and non_smtpd_milters (mail from sendmail).
 *
 * Two layers:
 *   milter_proto.c  packets: framing, the encoders for commands and the
 *                   decoder of replies (milter_reply_decode, exported for
 *                   the fuzz target), and the message model the
 *                   modification replies act on (struct milter_msg).
 *   milter.c        the session: sockets (inet:host:port, inet:port@host,
 *                   unix:/path, local:/path), option negotiation, macros,
 *                   time-outs, several milters in order.
 *
 * A session (struct milters) follows the SMTP conversation: connect, helo,
 * mail, rcpt, data, then the whole message at its end (headers, end of
 * headers, body in chunks of at most MILTER_CHUNK_MAX bytes, end of body)
 * and abort/quit. Each event returns a verdict; REJECT/TEMPFAIL carry the
 * reply to give the client in the caller's buffer (MILTER_REPLY_MAX bytes).
 * Steps a milter asked to skip (SMFIP_NO*) are not sent to it, and steps
 * it asked not to answer (SMFIP_NR_*) are not waited for. Each milter sees
 * the message as the milters before it left it.
 *
 * Errors: a milter that cannot be reached, times out
 * (milter_connect_timeout, milter_command_timeout, milter_content_timeout),
 * closes mid-session or sends a bad packet (malformed, oversized, an
 * unknown or unexpected reply code, a header with a NUL or a bad name, a
 * body replacement over message_size_limit) gets a warning naming it and
 * what happened, is closed, and from then on answers
 * milter_default_action (tempfail, accept, reject or quarantine) for the
 * rest of the session. Nothing here ends the process.
 */
#ifndef PETREL_MILTER_H
#define PETREL_MILTER_H

#include <stddef.h>
#include <stdint.h>

#include "pbuf.h"
#include "qfile.h"

#define MILTER_REPLY_MAX	1024	/* reply text handed back to the caller */
#define MILTER_CHUNK_MAX	65535	/* body bytes in one BODY packet */
#define MILTER_PACKET_MAX	(1024 * 1024)	/* a longer reply packet is refused */
#define MILTER_PROTO_VERSION	6

/* Command codes (MTA to filter). */
#define MILTER_C_ABORT		'A'
#define MILTER_C_BODY		'B'
#define MILTER_C_CONNECT	'C'
#define MILTER_C_MACRO		'D'
#define MILTER_C_BODYEOB	'E'
#define MILTER_C_HELO		'H'
#define MILTER_C_HEADER		'L'
#define MILTER_C_MAIL		'M'
#define MILTER_C_EOH		'N'
#define MILTER_C_OPTNEG		'O'
#define MILTER_C_QUIT		'Q'
#define MILTER_C_RCPT		'R'
#define MILTER_C_DATA		'T'
#define MILTER_C_UNKNOWN	'U'

/* Reply codes (filter to MTA). */
#define MILTER_R_ADDRCPT	'+'
#define MILTER_R_DELRCPT	'-'
#define MILTER_R_ADDRCPT_PAR	'2'
#define MILTER_R_SHUTDOWN	'4'
#define MILTER_R_ACCEPT		'a'
#define MILTER_R_REPLBODY	'b'
#define MILTER_R_CONTINUE	'c'
#define MILTER_R_DISCARD	'd'
#define MILTER_R_CHGFROM	'e'
#define MILTER_R_CONN_FAIL	'f'
#define MILTER_R_ADDHEADER	'h'
#define MILTER_R_INSHEADER	'i'
#define MILTER_R_SETSYMLIST	'l'
#define MILTER_R_CHGHEADER	'm'
#define MILTER_R_PROGRESS	'p'
#define MILTER_R_QUARANTINE	'q'
#define MILTER_R_REJECT		'r'
#define MILTER_R_SKIP		's'
#define MILTER_R_TEMPFAIL	't'
#define MILTER_R_REPLYCODE	'y'

/* Actions a filter may take (negotiated). */
#define MILTER_A_ADDHDRS	0x001u
#define MILTER_A_CHGBODY	0x002u
#define MILTER_A_ADDRCPT	0x004u
#define MILTER_A_DELRCPT	0x008u
#define MILTER_A_CHGHDRS	0x010u
#define MILTER_A_QUARANTINE	0x020u
#define MILTER_A_CHGFROM	0x040u
#define MILTER_A_ADDRCPT_PAR	0x080u
#define MILTER_A_SETSYMLIST	0x100u
#define MILTER_A_ALL		0x1FFu

/* Protocol steps (negotiated). */
#define MILTER_P_NOCONNECT	0x00000001u
#define MILTER_P_NOHELO		0x00000002u
#define MILTER_P_NOMAIL		0x00000004u
#define MILTER_P_NORCPT		0x00000008u
#define MILTER_P_NOBODY		0x00000010u
#define MILTER_P_NOHDRS		0x00000020u
#define MILTER_P_NOEOH		0x00000040u
#define MILTER_P_NR_HDR		0x00000080u
#define MILTER_P_NOUNKNOWN	0x00000100u
#define MILTER_P_NODATA		0x00000200u
#define MILTER_P_SKIP		0x00000400u
#define MILTER_P_RCPT_REJ	0x00000800u
#define MILTER_P_NR_CONN	0x00001000u
#define MILTER_P_NR_HELO	0x00002000u
#define MILTER_P_NR_MAIL	0x00004000u
#define MILTER_P_NR_RCPT	0x00008000u
#define MILTER_P_NR_DATA	0x00010000u
#define MILTER_P_NR_UNKN	0x00020000u
#define MILTER_P_NR_EOH		0x00040000u
#define MILTER_P_NR_BODY	0x00080000u
#define MILTER_P_HDR_LEADSPC	0x00100000u
/* What Petrel offers: every step above except RCPT_REJ (rejected RCPTs are not sent). */
#define MILTER_P_OFFER		(0x001FFFFFu & ~MILTER_P_RCPT_REJ)

/* Macro stages, as SETSYMLIST numbers them. */
enum milter_stage {
	MILTER_M_CONNECT = 0,
	MILTER_M_HELO,
	MILTER_M_MAIL,
	MILTER_M_RCPT,
	MILTER_M_DATA,
	MILTER_M_EOM,
	MILTER_M_EOH,
	MILTER_M_COUNT
};

/* ---- packets (milter_proto.c) ---- */

/* One reply packet, decoded; the pointers point into the packet data. */
struct milter_reply {
	char code;		/* MILTER_R_* or MILTER_C_OPTNEG */
	uint32_t index;		/* INSHEADER, CHGHEADER */
	const char *s1;		/* header name, recipient, sender, reply text, reason */
	const char *s2;		/* header value, ESMTP arguments (NULL when absent) */
	const char *data;	/* REPLBODY bytes */
	size_t len;
	/* OPTNEG */
	uint32_t version, actions, protocol;
	const char *symlist[MILTER_M_COUNT];	/* SETSYMLIST in the OPTNEG reply, or NULL */
};

/*
 * Takes one packet off the front of buf: 4-byte length (network order,
 * counting the code byte), code, data. Returns the bytes used, 0 when buf
 * holds no whole packet yet, -1 (err filled) when the length is 0 or over
 * MILTER_PACKET_MAX.
 */
long milter_packet_split(const char *buf, size_t len, char *code, const char **data,
    size_t *dlen, char *err, size_t errlen);

/*
 * Decodes the data of a reply packet of the given code. Every string
 * field must be NUL-terminated and the data must hold nothing more than
 * the fields of its code. Returns 0, or -1 with err saying what is wrong.
 */
int milter_reply_decode(char code, const char *data, size_t len, struct milter_reply *r,
    char *err, size_t errlen);

/* Appends one command packet (code and data) to out. */
void milter_packet_put(struct pbuf *out, char code, const void *data, size_t len);

/* ---- the message the modification replies act on (milter_proto.c) ---- */

struct milter_hdr {
	char *name;
	char *value;		/* after the colon, leading space kept; line breaks as LF */
};

struct milter_msg {
	struct milter_hdr *hdr;
	size_t nhdr, cap;
	struct pbuf body;	/* LF line endings */
	struct pbuf newbody;	/* REPLBODY being received (CRLF as sent) */
	int replbody;		/* a REPLBODY arrived */
	struct qenv *env;	/* sender and recipients, changed in place */
	char *quarantine;	/* reason, when a filter asked for it */
	size_t size_limit;	/* message_size_limit, 0 = none */
	size_t hdr_bytes;	/* names and values held */
	size_t added_rcpts;	/* recipients filters added */
};

/* A filter may add no more recipients than this to one message. */
#define MILTER_ADDRCPT_MAX	1000

void milter_msg_init(struct milter_msg *m, struct qenv *env, const char *content, size_t len,
    size_t size_limit);
void milter_msg_free(struct milter_msg *m);
/* The message as headers + blank line + body (LF line endings). */
void milter_msg_content(const struct milter_msg *m, struct pbuf *out);
/*
 * Applies one modification reply (ADDHEADER ... QUARANTINE). leadspc: the
 * filter negotiated SMFIP_HDR_LEADSPC (values are taken as written, else
 * one space is put after the colon). Returns 0, or -1 with err when the
 * reply is not acceptable (bad header name or value; headers or body
 * growing past message_size_limit; more than MILTER_ADDRCPT_MAX
 * recipients).
 */
int milter_msg_apply(struct milter_msg *m, const struct milter_reply *r, int leadspc,
    char *err, size_t errlen);
/* Puts a received REPLBODY in place of the body (CRLF to LF). */
void milter_msg_end_replbody(struct milter_msg *m);

/* ---- the session (milter.c) ---- */

enum milter_verdict {
	MILTER_CONTINUE = 0,	/* go on */
	MILTER_ACCEPT,		/* accept (the milter is not asked again for this message) */
	MILTER_REJECT,		/* reply holds a 5xx reply */
	MILTER_TEMPFAIL,	/* reply holds a 4xx reply */
	MILTER_DISCARD,		/* accept and throw the message away */
};

struct milters;

/*
 * A session for the milters listed in the parameter param
 * ("smtpd_milters" or "non_smtpd_milters"); NULL when the list is empty.
 * Time-outs, default action and macro lists come from main.cf.
 */
struct milters *milters_create(const char *param);
void milters_free(struct milters *ms);	/* sends QUIT to every open milter */

/* Sets (value NULL: removes) a macro: "j", "{client_addr}", "client_addr" alike. */
void milters_macro(struct milters *ms, const char *name, const char *value);

/*
 * The events. family is 'L' (local), '4', '6' or 'U' (unknown, no
 * address); port in host order. args: the ESMTP arguments, NULL-ended
 * vector or NULL.
 */
enum milter_verdict milters_connect(struct milters *ms, const char *name, char family,
    const char *addr, unsigned port, char *reply, size_t replylen);
enum milter_verdict milters_helo(struct milters *ms, const char *helo, char *reply,
    size_t replylen);
enum milter_verdict milters_mail(struct milters *ms, const char *sender, char **args,
    char *reply, size_t replylen);
enum milter_verdict milters_rcpt(struct milters *ms, const char *rcpt, char **args,
    char *reply, size_t replylen);
enum milter_verdict milters_data(struct milters *ms, char *reply, size_t replylen);
/* A command the server does not know (the whole line), with milter_unknown_command_macros. */
enum milter_verdict milters_unknown(struct milters *ms, const char *line, char *reply,
    size_t replylen);
/*
 * The message: headers, EOH, body, EOB to each milter in turn, each
 * milter's modifications applied to m before the next one sees it.
 */
enum milter_verdict milters_message(struct milters *ms, struct milter_msg *m, char *reply,
    size_t replylen);
/* Ends the transaction (RSET, a rejection, a lost client): ABORT to those inside one. */
void milters_abort(struct milters *ms);

#endif
