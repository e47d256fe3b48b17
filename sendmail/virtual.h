/*
 * virtual - virtual alias domains and virtual_alias_maps (Postfix's
 * virtual(5)), and which domains and addresses are virtual mailbox ones;
 * see virtual.c for the lookup order and the limits.
 */
#ifndef PETREL_VIRTUAL_H
#define PETREL_VIRTUAL_H

#include <stddef.h>

struct qenv;

/* 1 when domain is a virtual alias domain, 0 when not, -1 (err) when a table fails. */
int virtual_domain(const char *domain, char *err, size_t errlen);

/* Likewise for virtual_mailbox_domains. */
int virtual_mailbox_domain(const char *domain, char *err, size_t errlen);

/*
 * The virtual_mailbox_maps value for addr (keys user+ext@domain,
 * user@domain, @domain): 1 with *value (malloc'd), 0 when none, -1 with err.
 */
int virtual_mailbox_lookup(const char *addr, char **value, char *err, size_t errlen);

/*
 * The virtual_alias_maps value for addr (its keys in Postfix's order):
 * 1 with *value (malloc'd), 0 when none, -1 with err.
 */
int virtual_lookup(const char *addr, char **value, char *err, size_t errlen);

/*
 * Replaces the recipients of e still to do by their expansion. 0, or -1
 * with err and e unchanged.
 */
int virtual_expand(struct qenv *e, char *err, size_t errlen);

#endif
