/*
 * bcc - always_bcc, sender_bcc_maps, recipient_bcc_maps; see bcc.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bcc.h"
#include "canonical.h"
#include "conf.h"
#include "log.h"
#include "qfile.h"
#include "xalloc.h"

/* 1 when e is new mail (from a client, sendmail or the submission socket). */
static int
bcc_new_mail(const struct qenv *e)
{
	const char *origin = qenv_attr(e, "origin");

	return origin != NULL && (strcmp(origin, "smtpd") == 0 || strcmp(origin, "maildrop") == 0
	    || strcmp(origin, "submit") == 0);
}

/* Adds addr as a blind copy unless it already is a recipient. */
static void
bcc_one(struct qenv *e, const char *addr)
{
	size_t i;

	if (addr == NULL || *addr == '\0')
		return;
	for (i = 0; i < e->nrcpt; i++)
		if (strcasecmp(e->rcpt[i].addr, addr) == 0)
			return;
	qenv_add_rcpt(e, addr, QN_NEVER, NULL);
}

/* The copy that the list parameter param gives for addr: 0 (none or added), -1 with err. */
static int
bcc_lookup(struct qenv *e, const char *param, const char *addr, char *err, size_t errlen)
{
	char *copy = NULL;
	int rc;

	if (conf_str(param)[0] == '\0' || addr == NULL || *addr == '\0')
		return 0;
	rc = canonical_lookup(param, addr, NULL, &copy, err, errlen);
	if (rc > 0)
		bcc_one(e, copy);
	free(copy);
	return rc < 0 ? -1 : 0;
}

int
bcc_add(struct qenv *e, char *err, size_t errlen)
{
	size_t i, n = e->nrcpt;
	char *rcpt;

	if (!bcc_new_mail(e))
		return 0;
	bcc_one(e, conf_str("always_bcc"));
	if (bcc_lookup(e, "sender_bcc_maps", e->sender, err, errlen) < 0)
		return -1;
	/* The recipients the message came with, not the copies just added. */
	for (i = 0; i < n; i++) {
		if (e->rcpt[i].state != QR_TODO)
			continue;
		rcpt = xstrdup(e->rcpt[i].addr);	/* e->rcpt may move as copies are added */
		if (bcc_lookup(e, "recipient_bcc_maps", rcpt, err, errlen) < 0) {
			free(rcpt);
			return -1;
		}
		free(rcpt);
	}
	return 0;
}
