/*
 * tls_policy - main.cf's TLS protocols and ciphers (Postfix's
 * SIDE_tls_[mandatory_]protocols, _ciphers, _exclude_ciphers,
 * tls_GRADE_cipherlist, tls_preempt_cipherlist) applied to a TLS context;
 * see tls_policy.c.
 */
#ifndef PETREL_TLS_POLICY_H
#define PETREL_TLS_POLICY_H

#include <stddef.h>

struct tls_ctx;

/* side: "smtpd" or "smtp". 0, or -1 with a reason naming the parameters. */
int tls_policy_apply(struct tls_ctx *ctx, const char *side, int mandatory, char *err,
    size_t errlen);

/*
 * The same with the values given: a protocol list, a cipher grade, the
 * ciphers to exclude (the whole list), whether the server's order wins.
 * pname and gname name the protocols' and the grade's origin in err.
 */
int tls_policy_set(struct tls_ctx *ctx, const char *protocols, const char *pname,
    const char *grade, const char *gname, const char *exclude, int server_order, char *err,
    size_t errlen);

#endif
