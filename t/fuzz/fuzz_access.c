/*
 * fuzz_access - libFuzzer target for sendmail/smtpd_access.c's action
 * parser: what an access table or a policy server (a program on the
 * network) answers about a client, HELO name, sender or recipient.
 *
 * The first byte picks the kind, the rest (up to a NUL) is the action.
 * Checks what must always hold (abort() otherwise): a deciding answer
 * carries a 4xx/5xx code and a reply that starts with it, fits the buffer
 * and has no line break; PREPEND yields a "Name: value" header without a
 * control byte; restrictions to evaluate are the answer itself; nothing
 * else touches the code.
 *
 * Build: see t/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "smtpd_access.h"

#define FUZZ_REPLY_MAX	512

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	conf_load_defaults("/nonexistent");
	log_init("fuzz");
	log_disable_sinks();	/* WARN, INFO and unknown actions are logged: keep the run quiet */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reply[FUZZ_REPLY_MAX], code_text[8];
	char *value;
	int code = 0;
	enum smtpd_access_kind kind;
	enum smtpd_access_verdict v;

	if (size < 1)
		return 0;
	kind = (enum smtpd_access_kind)(data[0] % 4);
	value = malloc(size);
	if (value == NULL)
		return 0;
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	/* A policy answer is one line: no line break reaches the parser. */
	value[strcspn(value, "\r\n")] = '\0';
	reply[0] = '\0';
	v = smtpd_access_action(value, "fuzz", kind, "x@fuzz.example", &code, reply, sizeof(reply));
	switch (v) {
	case ACCESS_DECIDED:
	case ACCESS_DEFER_IF_PERMIT:
	case ACCESS_DEFER_IF_REJECT:
		if (code < 400 || code > 599)
			abort();
		snprintf(code_text, sizeof(code_text), "%d ", code);
		if (strncmp(reply, code_text, 4) != 0)
			abort();
		if (strlen(reply) >= sizeof(reply) || strpbrk(reply, "\r\n") != NULL)
			abort();
		break;
	case ACCESS_PREPEND:
		if (strchr(reply, ':') == NULL || code != 0)
			abort();
		for (const char *p = reply; *p; p++)
			if (((unsigned char)*p < ' ' && *p != '\t') || *p == '\177')
				abort();
		break;
	case ACCESS_RESTRICTIONS:
		/* Restrictions to evaluate: the answer itself, whole. */
		if (code != 0 || strcmp(reply, value) != 0)
			abort();
		break;
	default:
		if (code != 0)
			abort();
		break;
	}
	free(value);
	return 0;
}
