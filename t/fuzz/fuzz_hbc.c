/*
 * fuzz_hbc - libFuzzer target for sendmail/hbc.c: header_checks,
 * mime_header_checks, nested_header_checks and body_checks on a message a
 * remote client sends (its MIME structure, folding, boundaries, missing
 * newlines, NUL bytes).
 *
 * The first byte picks the tables: even, tables that match nothing, and
 * the output must then be the input byte for byte (abort() otherwise);
 * odd, tables with IGNORE, PREPEND, REPLACE, WARN, HOLD and REJECT rules,
 * and the verdict must be one of the four with its strings set as hbc.h
 * says. The tables are regexp: files written once into a temporary
 * directory (removed when the process exits).
 *
 * Build: see t/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "hbc.h"
#include "log.h"
#include "pbuf.h"
#include "xalloc.h"

#define FUZZ_INPUT_MAX	65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/fuzz_hbc.XXXXXX";
static char *spec_none, *spec_head, *spec_body;
static int last_active = -1;

static char *
fuzz_table(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", fuzz_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char *spec;

	if (fd < 0 || fileio_write_all(fd, text, strlen(text)) < 0 || close(fd) < 0)
		abort();
	spec = xasprintf("regexp:%s", path);
	free(path);
	return spec;
}

static void
fuzz_cleanup(void)
{
	char *p;

	p = xasprintf("%s/none", fuzz_dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/head", fuzz_dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/body", fuzz_dir);
	unlink(p);
	free(p);
	rmdir(fuzz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	conf_load_defaults("/nonexistent");
	log_init("fuzz");
	log_disable_sinks();
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	spec_none = fuzz_table("none", "!/^/ REJECT\n");	/* "^" always matches: never fires */
	spec_head = fuzz_table("head",
	    "/^X-I/ IGNORE\n/^X-P(.*)/ PREPEND X-Pre: $1\n/^X-R/ REPLACE X-New: r\n"
	    "/^X-H/ HOLD h\n/^X-W/ WARN\n/^Subject: reject/ REJECT 4.7.0 no\n"
	    "/^X-B/ PREPEND not a header\n/^X-U/ FROBNICATE\n/^X-D/ DISCARD d\n");
	spec_body = fuzz_table("body", "/^i/ IGNORE\n/^p/ PREPEND pre\n/^r/ REPLACE new\n"
	    "/^reject/ REJECT\n");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hbc_ctx ctx = { "QID", "from fuzz" };
	struct hbc_result r;
	struct pbuf out = PBUF_INIT;
	int active;

	if (size < 1 || size > FUZZ_INPUT_MAX)
		return 0;
	active = data[0] & 1;
	if (active != last_active) {	/* overriding is not cheap: only on a change */
		conf_override("header_checks", active ? spec_head : spec_none);
		conf_override("body_checks", active ? spec_body : spec_none);
		conf_override("nested_header_checks", active ? spec_body : spec_none);
		last_active = active;
	}
	hbc_apply(&ctx, (const char *)data + 1, size - 1, &out, &r);
	if (!active && (r.verdict != HBC_PASS || out.len != size - 1 ||
	    (size > 1 && memcmp(out.data, data + 1, size - 1) != 0)))
		abort();
	switch (r.verdict) {
	case HBC_PASS:
		break;
	case HBC_REJECT:
		if (r.reply == NULL || r.text == NULL || (r.reply[0] != '4' && r.reply[0] != '5'))
			abort();
		break;
	case HBC_DISCARD:
		if (r.text == NULL)
			abort();
		break;
	case HBC_DEFER:
		if (r.error == NULL)
			abort();
		break;
	default:
		abort();
	}
	hbc_result_free(&r);
	pbuf_free(&out);
	return 0;
}
