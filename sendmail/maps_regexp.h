/*
 * maps_regexp - the tables of the maps module that are not Berkeley DB
 * files: regexp: and pcre: pattern tables (Postfix's regexp_table(5) and
 * pcre_table(5)), inline:{...}, static:value and texthash:/path. maps.c
 * reads the files, caches the parsed tables and dispatches to these; the
 * syntax is documented in maps.h's top comment.
 *
 * API:
 *   maps_rtable_parse(name, text, len, kind, err) - compiles a pattern
 *     table; NULL with err "NAME, line N: reason" on any syntax error.
 *   maps_rtable_lookup(t, key, value, err) - the result of the first rule
 *     that matches key (with $n substituted): 1 and *value, 0 when none.
 *   maps_kv_* - a key/value table (inline:, texthash:): parse, get, free.
 *   maps_static_value(body) - the value of a static: map.
 * Errors: -1 / NULL with a message in err; never a crash on any input.
 * regexp: patterns with repetition operators one after another ("x++",
 * "a{2}{3}"; undefined in POSIX) are refused as syntax errors, since
 * glibc's regcomp takes gigabytes on them. Deeply nested repeated groups
 * ("((((x+)+)+)+)...") still cost what the administrator wrote, as in
 * Postfix.
 */
#ifndef PETREL_MAPS_REGEXP_H
#define PETREL_MAPS_REGEXP_H

#include <stddef.h>

enum maps_rkind {
	MAPS_R_REGEXP,		/* POSIX regcomp */
	MAPS_R_PCRE		/* libpcre2-8 */
};

struct maps_rtable;

struct maps_rtable *maps_rtable_parse(const char *name, const char *text, size_t len,
    enum maps_rkind kind, char *err, size_t errlen);
int maps_rtable_lookup(const struct maps_rtable *t, const char *key, char **value,
    char *err, size_t errlen);
void maps_rtable_free(struct maps_rtable *t);
/* Number of rules (if/endif lines included), for tests. */
size_t maps_rtable_count(const struct maps_rtable *t);

struct maps_kv;

/*
 * inline: body "{ k=v, { k = v w } }" (the text after "inline:"). Keys are
 * folded to lowercase. NULL with err on a syntax error or a duplicate key.
 */
struct maps_kv *maps_kv_parse_inline(const char *body, char *err, size_t errlen);
/*
 * texthash: the text of a postmap source file (maps_build's format).
 * Warnings (lines without a value, duplicates: the first one is kept) are
 * logged naming name and the line, as postmap does. Never NULL.
 */
struct maps_kv *maps_kv_parse_text(const char *name, const char *text, size_t len, int fold);
/* 1 and *value (malloc'd) when key is in the table, else 0. */
int maps_kv_get(const struct maps_kv *kv, const char *key, char **value);
size_t maps_kv_count(const struct maps_kv *kv);
void maps_kv_free(struct maps_kv *kv);

/* The value of static:BODY: BODY, or the text inside { } with its white space trimmed. */
char *maps_static_value(const char *body);

/*
 * Calls put(ctx, key, value, line) for each entry of a postmap source
 * text (the format of maps.h); put returns 1 stored, 0 duplicate (a
 * warning is logged and the first kept), -1 to stop. Lines without a
 * value and stray continuations are warnings naming name and the line.
 * Returns the number stored, or -1 when put stopped it.
 */
long maps_text_entries(const char *name, const char *text, size_t len, int fold,
    int (*put)(void *ctx, const char *key, const char *value, long line), void *ctx);

#endif
