/*
 * log - logging to syslog, a maillog file and stderr; see log.h.
 *
 * A file sink is opened with O_APPEND and every line is one write(), so
 * processes that share it (inherited across fork and privilege changes)
 * never interleave within a line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pbuf.h"

#define LOG_IDENT_MAX	64
#define LOG_LINE_MAX	4096

enum log_level { LV_INFO, LV_WARN, LV_ERROR, LV_FATAL, LV_PANIC };

static char log_ident[2 * LOG_IDENT_MAX + 1] = "petrel";
static char log_name[LOG_IDENT_MAX] = "petrel";	/* syslog_name */
static char log_svc[LOG_IDENT_MAX] = "";
static int log_facility = LOG_MAIL;			/* syslog_facility */
static char log_host[256] = "localhost";
static const char *log_prog;		/* stderr echo prefix, or NULL */
static int log_quiet;
static int log_fd = -1;			/* maillog_file, or -1 for syslog */
static int log_no_sinks;
static int log_syslog_open;
static int log_fatal_status = 1;
static void (*log_fatal_hook)(void);

/* The ident is "syslog_name/service"; syslog is opened again with it when next used. */
static void
log_set_ident(void)
{
	snprintf(log_ident, sizeof(log_ident), "%s/%s", log_name, log_svc);
	if (log_syslog_open) {
		closelog();
		log_syslog_open = 0;
	}
}

void
log_init(const char *service)
{
	snprintf(log_svc, sizeof(log_svc), "%s", service);
	log_set_ident();
}

const char *
log_service(void)
{
	return log_svc;
}

static const struct {
	const char *name;
	int facility;
} log_facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

int
log_set_syslog(const char *name, const char *facility)
{
	size_t i;
	int rc = -1;

	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++) {
		if (strcasecmp(facility, log_facilities[i].name) == 0) {
			log_facility = log_facilities[i].facility;
			rc = 0;
		}
	}
	if (name != NULL && *name != '\0' && strlen(name) < sizeof(log_name) / 2
	    && strpbrk(name, " \t\r\n/") == NULL)
		snprintf(log_name, sizeof(log_name), "%s", name);
	else
		rc = -1;
	log_set_ident();
	return rc;
}

void
log_to_stderr(const char *prog)
{
	log_prog = prog;
}

void
log_stderr_quiet(int quiet)
{
	log_quiet = quiet;
}

int
log_set_file(const char *path, const char *hostname)
{
	int fd;

	if (hostname && *hostname)
		snprintf(log_host, sizeof(log_host), "%s", hostname);
	if (path == NULL || *path == '\0') {
		if (log_fd >= 0)
			close(log_fd);
		log_fd = -1;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -1;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void
log_disable_sinks(void)
{
	log_no_sinks = 1;
}

void
log_set_fatal_status(int status)
{
	log_fatal_status = status;
}

void
log_set_fatal_hook(void (*hook)(void))
{
	log_fatal_hook = hook;
}

static const char *
log_level_word(enum log_level lv)
{
	switch (lv) {
	case LV_WARN:
		return "warning: ";
	case LV_ERROR:
		return "error: ";
	case LV_FATAL:
		return "fatal: ";
	case LV_PANIC:
		return "panic: ";
	default:
		return "";
	}
}

__attribute__((format(printf, 2, 0)))
static void
log_emit(enum log_level lv, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char text[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 512];
	int n;

	errno = saved_errno;	/* so that %m reports the caller's error */
	vsnprintf(text, sizeof(text), fmt, ap);

	if (log_prog && (!log_quiet || lv >= LV_WARN))
		fprintf(stderr, "%s: %s%s\n", log_prog, log_level_word(lv), text);
	if (log_no_sinks)
		goto out;
	if (log_fd >= 0) {
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];

		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n", stamp,
		    log_host, log_ident, (long)getpid(), log_level_word(lv), text);
		if (n > 0) {
			size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;

			if (len == sizeof(line) - 1)
				line[len - 1] = '\n';
			if (write(log_fd, line, len) < 0) {
				/* Nothing sensible remains to report this to. */
			}
		}
	} else {
		static const int prio[] = { LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_CRIT };

		if (!log_syslog_open) {
			openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
			log_syslog_open = 1;
		}
		syslog(prio[lv], "%s%s", log_level_word(lv), text);
	}
out:
	errno = saved_errno;
}

#define LOG_FN(name, level)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_emit(level, fmt, ap);			\
	va_end(ap);					\
}

LOG_FN(log_info, LV_INFO)
LOG_FN(log_warn, LV_WARN)
LOG_FN(log_error, LV_ERROR)

void
log_fatal(const char *fmt, ...)
{
	va_list ap;
	static int in_fatal;

	va_start(ap, fmt);
	log_emit(LV_FATAL, fmt, ap);
	va_end(ap);
	if (log_fatal_hook && !in_fatal) {
		in_fatal = 1;
		log_fatal_hook();
	}
	exit(log_fatal_status);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LV_PANIC, fmt, ap);
	va_end(ap);
	abort();
}

void
log_stderr_only(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

#define LOG_DELAY_ZERO	0.005

void
log_fmt_delay(struct pbuf *b, double d)
{
	char tmp[32];
	size_t n;

	if (d < LOG_DELAY_ZERO) {
		pbuf_putc(b, '0');
		return;
	}
	if (d < 10)
		snprintf(tmp, sizeof(tmp), d < 1 ? "%.2f" : "%.1f", d);
	else
		snprintf(tmp, sizeof(tmp), "%.0f", d);
	n = strlen(tmp);
	if (strchr(tmp, '.')) {
		while (n > 1 && tmp[n - 1] == '0')
			tmp[--n] = '\0';
		if (n > 1 && tmp[n - 1] == '.')
			tmp[--n] = '\0';
	}
	pbuf_puts(b, tmp);
}
