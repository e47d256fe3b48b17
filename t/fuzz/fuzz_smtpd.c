/*
 * fuzz_smtpd - libFuzzer target for the SMTP server's command parser and
 * state machine (sendmail/smtpd.c, smtpd_check.c): the input is what a
 * client sends, fed to smtpd_session() from a memory file, the way
 * `sendmail -bs` runs it (a queue hook instead of the queue).
 *
 * What must always hold (abort() otherwise): every line the server wrote
 * is a reply "DDD SP text CRLF" or "DDD-text CRLF" with a first digit 2 to
 * 5, no bare CR or LF, and a multi-line reply ends with its "DDD " line;
 * a queued message has a sender and 1 to smtpd_recipient_limit recipients.
 *
 * Build: `make fuzz` (t/fuzz/run.sh links every library source).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "qfile.h"
#include "smtpd.h"

#define FUZZ_RCPT_LIMIT		"20"
#define FUZZ_OUT_MAX		(1 << 20)
#define FUZZ_QID		"0123456789ABCD"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_out[FUZZ_OUT_MAX];

static int
fuzz_queue(struct qenv *env, const char *content, size_t len, char *qid,
    char *reply, size_t replylen)
{
	(void)reply;
	(void)replylen;
	if (env->sender == NULL || env->nrcpt == 0
	    || env->nrcpt > (size_t)atoi(FUZZ_RCPT_LIMIT) || (len > 0 && content == NULL))
		abort();
	memcpy(qid, FUZZ_QID, sizeof(FUZZ_QID));
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	conf_load_defaults("/nonexistent");
	conf_override("myhostname", "fuzz.example");
	conf_override("mydestination", "fuzz.example");
	conf_override("local_recipient_maps", "");
	conf_override("smtpd_error_sleep_time", "0");
	conf_override("smtpd_timeout", "1s");
	conf_override("smtpd_recipient_limit", FUZZ_RCPT_LIMIT);
	conf_override("message_size_limit", "100000");
	conf_override("smtpd_hard_error_limit", "50");
	log_to_stderr(NULL);
	log_init("fuzz");
	smtpd_set_queue_fn(fuzz_queue);
	return 0;
}

/* Checks the server's output, reply by reply. */
static void
fuzz_check_replies(const char *p, size_t n)
{
	size_t i = 0;
	int open_multi = 0;
	char code[3];

	while (i < n) {
		const char *line = p + i;
		const char *crlf = memmem(line, n - i, "\r\n", 2);
		size_t len, k;

		if (crlf == NULL)
			abort();	/* a reply line without its CRLF */
		len = (size_t)(crlf - line);
		if (len < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9'
		    || line[2] < '0' || line[2] > '9' || (line[3] != ' ' && line[3] != '-'))
			abort();
		for (k = 0; k < len; k++)
			if (line[k] == '\r' || line[k] == '\n' || line[k] == '\0')
				abort();
		if (open_multi && memcmp(code, line, 3) != 0)
			abort();	/* a multi-line reply changed its code */
		memcpy(code, line, 3);
		open_multi = line[3] == '-';
		i += len + 2;
	}
	if (open_multi)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_client client;
	int in = memfd_create("fuzz-in", MFD_CLOEXEC);
	int out = memfd_create("fuzz-out", MFD_CLOEXEC);
	ssize_t got;

	if (in < 0 || out < 0)
		abort();
	if (size > 0 && write(in, data, size) != (ssize_t)size)
		abort();
	if (lseek(in, 0, SEEK_SET) != 0)
		abort();
	memset(&client, 0, sizeof(client));
	snprintf(client.addr, sizeof(client.addr), "127.0.0.1");
	snprintf(client.name, sizeof(client.name), "localhost");
	(void)smtpd_session(in, out, &client);
	got = pread(out, fuzz_out, sizeof(fuzz_out), 0);
	if (got < 0)
		abort();
	/* Running one input by hand: FUZZ_SMTPD_DUMP=1 shows the dialogue's replies. */
	if (getenv("FUZZ_SMTPD_DUMP"))
		(void)!write(STDERR_FILENO, fuzz_out, (size_t)got);
	fuzz_check_replies(fuzz_out, (size_t)got);
	close(in);
	close(out);
	return 0;
}
