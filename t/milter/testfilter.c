/*
 * testfilter - a milter built on libmilter for the end-to-end tests: one
 * program whose behaviour is chosen on the command line.
 *
 * Usage: testfilter -p SOCKET [-n NAME] [-a ACTION[,ACTION...]] [-s STAGE]
 *                   [-r ADDRESS] [-d ADDRESS] [-t SECONDS]
 *   -p  libmilter socket: unix:/path or inet:port@host
 *   -n  the filter's name, written into what it adds (default "test")
 *   -s  where reject/tempfail/discard/custom-reply/accept act:
 *       connect, helo, mail, rcpt, data, eoh, eom (default eom)
 *   -r  the address of addrcpt, addrcpt-par, chgfrom, reject-rcpt
 *   -d  the address of delrcpt
 *   -t  seconds of sleep (default 10)
 * Actions:
 *   reject tempfail discard custom-reply accept   at the stage of -s
 *   reject-rcpt       reject RCPT TO:<-r address> only
 *   reject-unknown    answer an unknown SMTP command "550 5.5.1 unknown command refused by NAME"
 *   addheader         adds "X-Test-NAME: saw=H1,H2,... client=... i=... from=... rcpt=..."
 *                     (the headers it saw, and macros)
 *   chgheader         Subject becomes "changed by NAME"; X-Delete-Me is removed
 *   insheader         inserts "X-Inserted-NAME: first" at the top
 *   addrcpt addrcpt-par chgfrom   envelope changes with -r; delrcpt with -d
 *   replbody          the body becomes "replaced by NAME"
 *   quarantine        asks for quarantine ("held by NAME")
 *   progress          sends PROGRESS twice at the end of the message
 *   sleep             sleeps -t seconds at the end of the message
 *   exit-mid          exits (status 1) in the middle of the body
 *   skip-steps        negotiates no connect/helo, no reply for headers/rcpt,
 *                     and adds "X-Skip-NAME: connect=C helo=H headers=N"
 * The filter exits when SIGTERM/SIGINT arrive (libmilter's smfi_stop).
 */
#include <errno.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define TF_SAW_MAX	1024
#define TF_VALUE_MAX	8192
#define TF_DEFAULT_SLEEP	10
#define TF_PROGRESS_COUNT	2

enum tf_stage { TS_CONNECT, TS_HELO, TS_MAIL, TS_RCPT, TS_DATA, TS_EOH, TS_EOM };

static const char *tf_name = "test";
static const char *tf_addr = "";
static const char *tf_del = "";
static char tf_actions[TF_SAW_MAX];
static enum tf_stage tf_stage = TS_EOM;
static unsigned tf_sleep = TF_DEFAULT_SLEEP;

/* Per connection (libmilter runs one thread per connection). */
struct tf_priv {
	char saw[TF_SAW_MAX];
	char rcpt[TF_SAW_MAX];
	int connects, helos, headers;
};

static int
tf_has(const char *action)
{
	char copy[TF_SAW_MAX], *save = NULL, *w;

	snprintf(copy, sizeof(copy), "%s", tf_actions);
	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (strcmp(w, action) == 0)
			return 1;
	return 0;
}

static struct tf_priv *
tf_priv(SMFICTX *ctx)
{
	struct tf_priv *p = smfi_getpriv(ctx);

	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return NULL;
		smfi_setpriv(ctx, p);
	}
	return p;
}

static void
tf_append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	if (n + strlen(s) + 2 < size)
		snprintf(buf + n, size - n, "%s%s", n ? "," : "", s);
}

/* The verdict of the stage actions at stage st. */
static sfsistat
tf_stage_verdict(SMFICTX *ctx, enum tf_stage st)
{
	char text[TF_VALUE_MAX];

	if (st != tf_stage)
		return SMFIS_CONTINUE;
	if (tf_has("reject"))
		return SMFIS_REJECT;
	if (tf_has("tempfail"))
		return SMFIS_TEMPFAIL;
	if (tf_has("discard"))
		return SMFIS_DISCARD;
	if (tf_has("accept"))
		return SMFIS_ACCEPT;
	if (tf_has("custom-reply")) {
		snprintf(text, sizeof(text), "custom rejection by %s", tf_name);
		smfi_setreply(ctx, "553", "5.7.9", text);
		return SMFIS_REJECT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
tf_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct tf_priv *p = tf_priv(ctx);

	(void)host;
	(void)sa;
	if (p)
		p->connects++;
	return tf_stage_verdict(ctx, TS_CONNECT);
}

static sfsistat
tf_helo(SMFICTX *ctx, char *helo)
{
	struct tf_priv *p = tf_priv(ctx);

	(void)helo;
	if (p)
		p->helos++;
	return tf_stage_verdict(ctx, TS_HELO);
}

static sfsistat
tf_envfrom(SMFICTX *ctx, char **argv)
{
	struct tf_priv *p = tf_priv(ctx);

	(void)argv;
	if (p) {
		p->saw[0] = '\0';
		p->rcpt[0] = '\0';
		p->headers = 0;
	}
	if (tf_has("skip-steps"))
		return SMFIS_NOREPLY;
	return tf_stage_verdict(ctx, TS_MAIL);
}

static sfsistat
tf_envrcpt(SMFICTX *ctx, char **argv)
{
	struct tf_priv *p = tf_priv(ctx);
	char want[TF_VALUE_MAX];

	snprintf(want, sizeof(want), "<%s>", tf_addr);
	if (tf_has("reject-rcpt") && strcasecmp(argv[0], want) == 0) {
		smfi_setreply(ctx, "550", "5.1.1", "recipient refused by filter");
		return SMFIS_REJECT;
	}
	if (p) {
		const char *r = smfi_getsymval(ctx, "{rcpt_addr}");

		tf_append(p->rcpt, sizeof(p->rcpt), r ? r : "?");
	}
	if (tf_has("skip-steps"))
		return SMFIS_NOREPLY;
	return tf_stage_verdict(ctx, TS_RCPT);
}

static sfsistat
tf_data(SMFICTX *ctx)
{
	return tf_stage_verdict(ctx, TS_DATA);
}

static sfsistat
tf_header(SMFICTX *ctx, char *name, char *value)
{
	struct tf_priv *p = tf_priv(ctx);

	(void)value;
	if (p) {
		p->headers++;
		tf_append(p->saw, sizeof(p->saw), name);
	}
	return tf_has("skip-steps") ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
tf_eoh(SMFICTX *ctx)
{
	return tf_stage_verdict(ctx, TS_EOH);
}

static sfsistat
tf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	if (tf_has("exit-mid"))
		_exit(1);
	return SMFIS_CONTINUE;
}

static const char *
tf_sym(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v ? v : "-";
}

static sfsistat
tf_eom(SMFICTX *ctx)
{
	struct tf_priv *p = tf_priv(ctx);
	char name[TF_VALUE_MAX], value[TF_VALUE_MAX];
	int i;

	if (tf_has("sleep"))
		sleep(tf_sleep);
	if (tf_has("progress"))
		for (i = 0; i < TF_PROGRESS_COUNT; i++)
			smfi_progress(ctx);
	if (tf_has("addheader") && p) {
		snprintf(name, sizeof(name), "X-Test-%s", tf_name);
		snprintf(value, sizeof(value),
		    "saw=%s client=%s i=%s from=%s rcpt=%s daemon=%s j=%s",
		    p->saw, tf_sym(ctx, "{client_addr}"), tf_sym(ctx, "i"),
		    tf_sym(ctx, "{mail_addr}"), p->rcpt, tf_sym(ctx, "{daemon_name}"),
		    tf_sym(ctx, "j"));
		if (smfi_addheader(ctx, name, value) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	}
	if (tf_has("chgheader")) {
		snprintf(value, sizeof(value), "changed by %s", tf_name);
		if (smfi_chgheader(ctx, "Subject", 1, value) != MI_SUCCESS
		    || smfi_chgheader(ctx, "X-Delete-Me", 1, NULL) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	}
	if (tf_has("insheader")) {
		snprintf(name, sizeof(name), "X-Inserted-%s", tf_name);
		if (smfi_insheader(ctx, 0, name, "first") != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	}
	if (tf_has("addrcpt") && smfi_addrcpt(ctx, (char *)tf_addr) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	if (tf_has("addrcpt-par")
	    && smfi_addrcpt_par(ctx, (char *)tf_addr, "NOTIFY=NEVER") != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	if (tf_has("delrcpt") && smfi_delrcpt(ctx, (char *)tf_del) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	if (tf_has("chgfrom") && smfi_chgfrom(ctx, (char *)tf_addr, NULL) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	if (tf_has("replbody")) {
		snprintf(value, sizeof(value), "replaced by %s\r\n", tf_name);
		if (smfi_replacebody(ctx, (unsigned char *)value, (int)strlen(value)) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	}
	if (tf_has("quarantine")) {
		snprintf(value, sizeof(value), "held by %s", tf_name);
		if (smfi_quarantine(ctx, value) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	}
	if (tf_has("skip-steps") && p) {
		snprintf(name, sizeof(name), "X-Skip-%s", tf_name);
		snprintf(value, sizeof(value), "connect=%d helo=%d headers=%d", p->connects,
		    p->helos, p->headers);
		if (smfi_addheader(ctx, name, value) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	}
	return tf_stage_verdict(ctx, TS_EOM);
}

static sfsistat
tf_unknown(SMFICTX *ctx, const char *cmd)
{
	char text[TF_VALUE_MAX];

	(void)cmd;
	if (!tf_has("reject-unknown"))
		return SMFIS_CONTINUE;
	snprintf(text, sizeof(text), "unknown command refused by %s", tf_name);
	smfi_setreply(ctx, "550", "5.5.1", text);
	return SMFIS_REJECT;
}

static sfsistat
tf_close(SMFICTX *ctx)
{
	free(smfi_getpriv(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static sfsistat
tf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	*pf0 = f0;	/* every action the MTA offers */
	*pf1 = 0;
	if (tf_has("skip-steps"))
		*pf1 = (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NR_HDR | SMFIP_NR_RCPT
		    | SMFIP_NR_MAIL) & f1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static struct smfiDesc tf_desc = {
	"petrel-testfilter", SMFI_VERSION,
	SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR
	    | SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_CHGFROM,
	tf_connect, tf_helo, tf_envfrom, tf_envrcpt, tf_header, tf_eoh, tf_body, tf_eom,
	NULL, tf_close, tf_unknown, tf_data, tf_negotiate,
};

static int
tf_parse_stage(const char *s)
{
	static const char *const names[] = { "connect", "helo", "mail", "rcpt", "data", "eoh",
		"eom" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int c, st;

	while ((c = getopt(argc, argv, "p:n:a:s:r:d:t:")) != -1) {
		switch (c) {
		case 'p':
			sock = optarg;
			break;
		case 'n':
			tf_name = optarg;
			break;
		case 'a':
			snprintf(tf_actions, sizeof(tf_actions), "%s", optarg);
			break;
		case 's':
			st = tf_parse_stage(optarg);
			if (st < 0) {
				fprintf(stderr, "testfilter: unknown stage %s\n", optarg);
				return 2;
			}
			tf_stage = (enum tf_stage)st;
			break;
		case 'r':
			tf_addr = optarg;
			break;
		case 'd':
			tf_del = optarg;
			break;
		case 't':
			tf_sleep = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: testfilter -p SOCKET [-n NAME] [-a ACTIONS] [-s STAGE]"
			    " [-r ADDRESS] [-d ADDRESS] [-t SECONDS]\n");
			return 2;
		}
	}
	if (sock == NULL) {
		fprintf(stderr, "testfilter: -p SOCKET is needed\n");
		return 2;
	}
	umask(0);	/* the socket must be reachable by the MTA's unprivileged user */
	if (smfi_setconn((char *)sock) == MI_FAILURE || smfi_register(tf_desc) == MI_FAILURE) {
		fprintf(stderr, "testfilter: cannot set up %s\n", sock);
		return 1;
	}
	if (smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "testfilter: cannot open %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
