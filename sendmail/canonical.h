/*
 * canonical - Postfix's canonical(5) address mapping (canonical_maps,
 * sender_canonical_maps, recipient_canonical_maps and their *_classes)
 * and address masquerading (masquerade_domains, masquerade_exceptions,
 * masquerade_classes) for every new message; see canonical.c.
 */
#ifndef PETREL_CANONICAL_H
#define PETREL_CANONICAL_H

#include <stddef.h>

#include "addr.h"
#include "pbuf.h"

struct qenv;
struct header;

/* Address classes (Postfix's canonical_classes / masquerade_classes names). */
#define CANONICAL_ENV_SENDER	0x1u	/* envelope_sender */
#define CANONICAL_ENV_RCPT	0x2u	/* envelope_recipient */
#define CANONICAL_HDR_SENDER	0x4u	/* header_sender */
#define CANONICAL_HDR_RCPT	0x8u	/* header_recipient */

/* The classes named by the list parameter param; an unknown name is logged and skipped. */
unsigned canonical_classes(const char *param);

/*
 * One lookup of addr in the tables of the list parameter param, with the
 * keys of canonical(5): user+ext@domain, user@domain, then (for a domain
 * of this host) user+ext, user, then @domain. A value "@other" keeps the
 * local part and replaces the domain; "new@other" replaces the address;
 * a value without '@' gets @$myorigin. An extension cut off to find the
 * key is put back on the result when ext_class ("canonical", "generic")
 * is in propagate_unmatched_extensions. Only the first address of a
 * value counts. 1 with *out (malloc'd), 0 when no key matches, -1 with
 * err when a table cannot be read.
 */
int canonical_lookup(const char *param, const char *addr, const char *ext_class,
    char **out, char *err, size_t errlen);

/*
 * canonical_lookup() of param applied again to each result until an
 * address maps onto itself (at most CANONICAL_NESTING_MAX rounds, as
 * Postfix's cleanup). 1 with *out when the address changed, 0 when not,
 * -1 with err.
 */
int canonical_address(const char *param, const char *addr, char **out, char *err,
    size_t errlen);

/*
 * addr with its domain masqueraded per masquerade_domains and
 * masquerade_exceptions. 1 with *out when changed, 0 when not, -1 with
 * err when a masquerade_exceptions table cannot be read.
 */
int canonical_masquerade(const char *addr, char **out, char *err, size_t errlen);

/*
 * The full rewrite of one address of class (one CANONICAL_* bit):
 * sender_ or recipient_canonical_maps, canonical_maps, then masquerading,
 * each when its *_classes holds class. The null sender stays. 1 with *out
 * when changed, 0 when not, -1 with err.
 */
int canonical_rewrite(unsigned class, const char *addr, char **out, char *err,
    size_t errlen);

/*
 * Copies content to out with the addresses of the header fields that
 * select() accepts rewritten by fn (addr_map_header: display names,
 * comments and folding kept). Only the primary header block is looked
 * at. Returns the number of addresses replaced.
 */
typedef int (*canonical_select_fn)(const struct header *h, void *ctx);
size_t canonical_map_headers(const char *content, size_t len, canonical_select_fn select,
    void *sctx, addr_map_fn fn, void *fctx, struct pbuf *out);

/* 1 when h is a recipient address header (To, Cc, Bcc, Resent-To, ...), 0 otherwise. */
int canonical_recipient_header(const struct header *h);

/*
 * 1 when the headers of e may be rewritten: mail from sendmail, pickup,
 * bounces and forwarding always; mail from an SMTP client only when it
 * matches local_header_rewrite_clients (as Postfix).
 */
int canonical_local_headers(const struct qenv *e);

/*
 * 1 when recipient_canonical_maps or canonical_maps (for envelope
 * recipients) has a key for addr, so that the SMTP server's
 * local_recipient_maps check lets it pass as Postfix's does; 0 when not;
 * -1 with err when a table cannot be read.
 */
int canonical_recipient_known(const char *addr, char *err, size_t errlen);

/*
 * The queue's message hook (queue_set_message_hook): rewrites the envelope
 * sender and recipients of e and, when canonical_local_headers(), the
 * address headers of content. 1 with the new content in out, 0 when the
 * content stays (the envelope may still have changed), -1 with err and e
 * unchanged when a table failed.
 */
int canonical_message(struct qenv *e, const char *content, size_t len, struct pbuf *out,
    char *err, size_t errlen);

#endif
