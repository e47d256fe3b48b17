/*
 * log - the one family of logging functions.
 *
 * log_info/log_warn/log_error record and go on; log_fatal records and
 * exits (status set by log_set_fatal_status, default 1) after running the
 * fatal hook (used to remove half-written files); log_panic records and
 * aborts: it marks a bug. Formats accept %m (strerror(errno)).
 *
 * Lines go to syslog (facility mail, ident "petrel/SERVICE", with the pid)
 * or, when log_set_file() names one (main.cf maillog_file), to that file in
 * syslog's shape: "Nov 28 05:14:00 host petrel/SERVICE[PID]: text".
 * Command-line programs also echo to stderr as "PROG: warning: text".
 */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

#include <stdarg.h>

void log_init(const char *service);
const char *log_service(void);
/* Echo each line to stderr, prefixed by prog (NULL turns echo off). */
void log_to_stderr(const char *prog);
/* Only lines at warning level and above reach stderr (for -oeq-like quiet). */
void log_stderr_quiet(int quiet);
/*
 * syslog_name and syslog_facility (main.cf): the ident becomes
 * "NAME/SERVICE", the facility one of mail, daemon, user, auth, authpriv,
 * local0..local7. -1 when either is unusable (that one stays as it was).
 */
int log_set_syslog(const char *name, const char *facility);
/* Write to this file instead of syslog; "" or NULL means syslog. -1 on error. */
int log_set_file(const char *path, const char *hostname);
/* Sends nothing to syslog or a file: stderr only (for the test programs). */
void log_disable_sinks(void);
void log_set_fatal_status(int status);
void log_set_fatal_hook(void (*hook)(void));

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* Print to stderr only, with no level word (for usage text). */
/* Appends a delay in Postfix's log form: "0", "0.12", "1.4", "2281". */
struct pbuf;
void log_fmt_delay(struct pbuf *b, double seconds);

void log_stderr_only(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
