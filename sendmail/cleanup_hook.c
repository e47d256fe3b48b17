/*
 * cleanup_hook - the queue's message hook: canonical, then bcc; see
 * cleanup_hook.h.
 */
#include "config.h"

#include "bcc.h"
#include "canonical.h"
#include "cleanup_hook.h"

int
cleanup_hook_message(struct qenv *e, const char *content, size_t len, struct pbuf *out,
    char *err, size_t errlen)
{
	int rc = canonical_message(e, content, len, out, err, errlen);

	if (rc < 0)
		return -1;
	if (bcc_add(e, err, errlen) < 0) {
		pbuf_reset(out);
		return -1;
	}
	return rc;
}
