/*
 * addr - RFC 5322 address lists: parsing, and qualifying bare names.
 *
 * Used for sendmail's command-line recipients (which may hold several
 * comma-separated addresses and "Name <addr>" forms), the To/Cc/Bcc
 * headers behind -t, and header rewriting in cleanup. Comments and
 * display names are dropped from the result; groups yield their members
 * (an empty group such as "undisclosed-recipients:;" yields none).
 * Obsolete forms found in the wild are accepted: route addresses
 * (<@a,@b:u@d> keeps u@d), bare words, trailing dots are kept as written.
 *
 * An address is returned in the form it takes in SMTP: the local part
 * quoted only where RFC 5321 needs it, no white space or comments.
 */
#ifndef PETREL_ADDR_H
#define PETREL_ADDR_H

#include <stddef.h>

#include "pbuf.h"
#include "strv.h"

/* Longest address accepted (RFC 5321 path limit is 256; leave room for old forms). */
#define ADDR_MAX_LEN	1024

/*
 * Parses an address list. Good addresses are appended to out; the number
 * of elements that could not be parsed is returned in *bad (may be NULL).
 * Returns the number of addresses added.
 */
size_t addr_parse_list(const char *text, size_t len, struct strv *out, size_t *bad);

/* Appends "@domain" when addr has no '@' (append_at_myorigin). Returns malloc'd. */
char *addr_qualify(const char *addr, const char *domain);

/*
 * Rewrites a header value that holds an address list so that every bare
 * local part gets "@domain", keeping display names, comments, groups and
 * folding otherwise as written. Appends the new value to out. Returns the
 * number of addresses changed.
 */
size_t addr_qualify_header(const char *value, size_t len, const char *domain,
    struct pbuf *out);

/*
 * Rewrites the addresses of a header value (an address list): fn gets
 * each address in SMTP form and returns its replacement (malloc'd), or
 * NULL to keep it; display names, comments, groups, folding and anything
 * that does not parse stay as written. Appends the new value to out;
 * returns the number of addresses replaced.
 */
typedef char *(*addr_map_fn)(const char *addr, void *ctx);
size_t addr_map_header(const char *value, size_t len, addr_map_fn fn, void *ctx,
    struct pbuf *out);

/* The local part without quoting (for lookups); malloc'd. */
char *addr_unquote_local(const char *addr);

/* Strips one pair of enclosing <> (for -f '<user@x>'); malloc'd. "<>" gives "". */
char *addr_strip_brackets(const char *addr);

#endif
