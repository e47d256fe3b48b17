/*
 * generic - smtp_generic_maps: addresses rewritten as mail leaves by
 * SMTP (Postfix's generic(5)); see generic.c.
 */
#ifndef PETREL_GENERIC_H
#define PETREL_GENERIC_H

#include <stddef.h>

#include "pbuf.h"

/* 1 when smtp_generic_maps is set. */
int generic_active(void);

/* The replacement of addr: 1 with *out (malloc'd), 0 none, -1 with err. */
int generic_address(const char *addr, char **out, char *err, size_t errlen);

/*
 * The message with its address headers rewritten, appended to out:
 * 1 when something changed, 0 when not (out then holds a copy), -1 with
 * err when a table failed.
 */
int generic_message(const char *content, size_t len, struct pbuf *out, char *err,
    size_t errlen);

#endif
