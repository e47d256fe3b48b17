/*
 * maps - lookup tables built by `petrel map` and read by the queue
 * manager's routing; see maps.h for the format, the API and the errors.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "dict_db.h"
#include "fileio.h"
#include "log.h"
#include "maps.h"
#include "maps_regexp.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define MAPS_DB_MODE_KEEP	0644	/* read bits taken from the source */
#define MAPS_DB_MODE_MIN	0600	/* the owner may always read and write */
#define MAPS_PROXY_PREFIX	"proxy:"
#define MAPS_TEXT_MAX		(64 * 1024 * 1024)	/* a regexp/pcre/texthash source file */
#define MAPS_LIST_SEPS		", \t\r\n"
#define MAPS_ERR_MAX		1024	/* a table's parse error */

/* What a cached map is. */
enum maps_kind {
	MAPS_K_DB,		/* hash:, btree: */
	MAPS_K_REGEXP,
	MAPS_K_PCRE,
	MAPS_K_TEXTHASH,
	MAPS_K_INLINE,
	MAPS_K_STATIC
};

static const struct {
	const char *prefix;
	enum maps_kind kind;
} maps_kinds[] = {
	{ "regexp:", MAPS_K_REGEXP },
	{ "pcre:", MAPS_K_PCRE },
	{ "texthash:", MAPS_K_TEXTHASH },
	{ "inline:", MAPS_K_INLINE },
	{ "static:", MAPS_K_STATIC },
};

struct maps_open {
	char *spec;
	enum maps_kind kind;
	enum dict_db_type type;
	char *dbpath;		/* MAPS_K_DB: path.db; files: the file; else NULL */
	struct dict_db *db;
	/* The other kinds: what was read, and the file it was read from. */
	struct maps_rtable *rt;
	struct maps_kv *kv;
	char *value;		/* MAPS_K_STATIC */
	char *error;		/* the file's parse error, kept until it changes */
	int loaded;
	struct stat st;
};

static struct maps_open *maps_cache;
static size_t maps_ncache;

static void
maps_fold(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int
maps_split(const char *spec, enum dict_db_type *type, char **path, char *err, size_t errlen)
{
	const char *colon, *p, *tname;
	char *name = NULL;
	int t;

	*path = NULL;
	if (strncmp(spec, MAPS_PROXY_PREFIX, sizeof(MAPS_PROXY_PREFIX) - 1) == 0)
		spec += sizeof(MAPS_PROXY_PREFIX) - 1;
	colon = strchr(spec, ':');
	if (colon != NULL && colon != spec) {
		for (p = spec; p < colon; p++)
			if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '_')
				break;
		if (p != colon)
			colon = NULL;
	} else {
		colon = NULL;
	}
	if (colon != NULL) {
		name = xstrndup(spec, (size_t)(colon - spec));
		tname = name;
		spec = colon + 1;
	} else {
		tname = conf_str("default_database_type");
	}
	if ((t = dict_db_type_from_name(tname)) < 0) {
		snprintf(err, errlen, "unsupported dictionary type: %s", tname);
		free(name);
		return -1;
	}
	free(name);
	if (*spec == '\0') {
		snprintf(err, errlen, "%s: missing file name", dict_db_type_name((enum dict_db_type)t));
		return -1;
	}
	*type = (enum dict_db_type)t;
	*path = xstrdup(spec);
	return 0;
}

/* The kind of spec ("regexp:/x" -> MAPS_K_REGEXP); *rest gets what follows the prefix. */
static enum maps_kind
maps_kind_of(const char *spec, const char **rest)
{
	size_t i, n;

	if (strncmp(spec, MAPS_PROXY_PREFIX, sizeof(MAPS_PROXY_PREFIX) - 1) == 0)
		spec += sizeof(MAPS_PROXY_PREFIX) - 1;
	*rest = spec;
	for (i = 0; i < sizeof(maps_kinds) / sizeof(maps_kinds[0]); i++) {
		n = strlen(maps_kinds[i].prefix);
		if (strncmp(spec, maps_kinds[i].prefix, n) == 0) {
			*rest = spec + n;
			return maps_kinds[i].kind;
		}
	}
	return MAPS_K_DB;
}

struct maps_build_ctx {
	struct dict_db_writer *w;
	char *err;
	size_t errlen;
};

static int
maps_build_put(void *ctx, const char *key, const char *value, long line)
{
	struct maps_build_ctx *b = ctx;
	int rc;

	(void)line;
	rc = dict_db_put_str(b->w, key, value, 1, 0, b->err, b->errlen);
	if (rc < 0)
		return -1;
	return rc == 1 ? 0 : 1;
}

int
maps_build(const char *spec, int fold, size_t *entries, char *err, size_t errlen)
{
	enum dict_db_type type;
	struct maps_build_ctx ctx;
	struct pbuf text = PBUF_INIT;
	struct stat st;
	const char *rest;
	char *src = NULL, *dbpath = NULL;
	long n;
	int fd = -1, rc = -1, r;

	*entries = 0;
	ctx.w = NULL;
	if (maps_kind_of(spec, &rest) != MAPS_K_DB) {
		snprintf(err, errlen, "%s: this table type is read as it is, there is nothing to "
		    "build", spec);
		return -1;
	}
	if (maps_split(spec, &type, &src, err, errlen) < 0)
		return -1;
	dbpath = xasprintf("%s%s", src, MAPS_DB_SUFFIX);
	if ((fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "open %s: %s", src, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	if (fstat(fd, &st) < 0 || pbuf_read_fd(&text, fd, 0) < 0) {
		snprintf(err, errlen, "read %s: %s", src, strerror(errno));
		goto out;
	}
	if ((ctx.w = dict_db_create(dbpath, type, err, errlen)) == NULL)
		goto out;
	ctx.err = err;
	ctx.errlen = errlen;
	if ((n = maps_text_entries(src, pbuf_str(&text), text.len, fold, maps_build_put, &ctx)) < 0)
		goto out;
	*entries = (size_t)n;
	r = dict_db_commit(ctx.w, (st.st_mode & MAPS_DB_MODE_KEEP) | MAPS_DB_MODE_MIN, st.st_uid,
	    st.st_gid, err, errlen);
	ctx.w = NULL;
	if (r == 0)
		rc = 0;
out:
	if (ctx.w != NULL)
		dict_db_abort(ctx.w);
	if (fd >= 0)
		close(fd);	/* drops the lock */
	pbuf_free(&text);
	free(src);
	free(dbpath);
	return rc;
}

/* Drops what a file map read (to read it again). */
static void
maps_unload(struct maps_open *m)
{
	maps_rtable_free(m->rt);
	m->rt = NULL;
	maps_kv_free(m->kv);
	m->kv = NULL;
	free(m->error);
	m->error = NULL;
	m->loaded = 0;
}

static int
maps_stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Reads (or re-reads, when it changed) the file of a regexp/pcre/texthash
 * map. 0, or -1 with err (also when the file has a syntax error: the
 * error is kept and given again until the file changes).
 */
static int
maps_load_file(struct maps_open *m, char *err, size_t errlen)
{
	struct stat st;
	char *data = NULL, why[MAPS_ERR_MAX];
	size_t len = 0;

	if (stat(m->dbpath, &st) < 0) {
		snprintf(err, errlen, "open %s: %s", m->dbpath, strerror(errno));
		maps_unload(m);
		return -1;
	}
	if (m->loaded && maps_stat_same(&st, &m->st)) {
		if (m->error) {
			snprintf(err, errlen, "%s", m->error);
			return -1;
		}
		return 0;
	}
	maps_unload(m);
	if (fileio_read_file(m->dbpath, &data, &len, MAPS_TEXT_MAX) < 0) {
		snprintf(err, errlen, "read %s: %s", m->dbpath, strerror(errno));
		return -1;
	}
	m->loaded = 1;
	m->st = st;
	if (m->kind == MAPS_K_TEXTHASH) {
		m->kv = maps_kv_parse_text(m->dbpath, data ? data : "", len, 1);
	} else {
		m->rt = maps_rtable_parse(m->dbpath, data ? data : "", len,
		    m->kind == MAPS_K_PCRE ? MAPS_R_PCRE : MAPS_R_REGEXP, why, sizeof(why));
		if (m->rt == NULL)
			m->error = xasprintf("%s:%s", m->kind == MAPS_K_PCRE ? "pcre" : "regexp", why);
	}
	free(data);
	if (m->error) {
		snprintf(err, errlen, "%s", m->error);
		return -1;
	}
	return 0;
}

/* The cached entry of spec, opened or reopened as needed; NULL with err. */
static struct maps_open *
maps_get(const char *spec, char *err, size_t errlen)
{
	struct maps_open *m = NULL;
	enum dict_db_type type = DICT_DB_HASH;
	enum maps_kind kind;
	const char *rest;
	char *src = NULL;
	size_t i;

	for (i = 0; i < maps_ncache; i++)
		if (strcmp(maps_cache[i].spec, spec) == 0) {
			m = &maps_cache[i];
			break;
		}
	if (m == NULL) {
		struct maps_kv *kv = NULL;

		kind = maps_kind_of(spec, &rest);
		if (kind == MAPS_K_DB) {
			if (maps_split(spec, &type, &src, err, errlen) < 0)
				return NULL;
		} else if (kind == MAPS_K_INLINE) {
			if ((kv = maps_kv_parse_inline(rest, err, errlen)) == NULL)
				return NULL;
		} else if (kind != MAPS_K_STATIC) {
			if (*rest == '\0') {
				snprintf(err, errlen, "%s missing file name", spec);
				return NULL;
			}
			src = xstrdup(rest);
		}
		maps_cache = xreallocarray(maps_cache, maps_ncache + 1, sizeof(*maps_cache));
		m = &maps_cache[maps_ncache++];
		memset(m, 0, sizeof(*m));
		m->spec = xstrdup(spec);
		m->kind = kind;
		m->type = type;
		m->kv = kv;
		if (kind == MAPS_K_DB)
			m->dbpath = xasprintf("%s%s", src, MAPS_DB_SUFFIX);
		else if (src != NULL)
			m->dbpath = src, src = NULL;
		if (kind == MAPS_K_STATIC)
			m->value = maps_static_value(rest);
		free(src);
	}
	switch (m->kind) {
	case MAPS_K_REGEXP:
	case MAPS_K_PCRE:
	case MAPS_K_TEXTHASH:
		return maps_load_file(m, err, errlen) < 0 ? NULL : m;
	case MAPS_K_INLINE:
	case MAPS_K_STATIC:
		return m;
	case MAPS_K_DB:
		break;
	}
	if (m->db != NULL && dict_db_changed(m->db)) {
		dict_db_close(m->db);
		m->db = NULL;
	}
	if (m->db == NULL) {
		char why[512];

		m->db = dict_db_open(m->dbpath, m->type, why, sizeof(why));
		if (m->db == NULL) {
			/* dict_db's message starts with the path already. */
			if (errno == ENOENT || strncmp(why, m->dbpath, strlen(m->dbpath)) != 0)
				snprintf(err, errlen, "open database %s: %s", m->dbpath,
				    errno == ENOENT ? strerror(errno) : why);
			else
				snprintf(err, errlen, "open database %s", why);
			return NULL;
		}
	}
	return m;
}

int
maps_query(const char *spec, const char *key, int fold, char **value, char *err, size_t errlen)
{
	struct maps_open *m;
	char *k;
	int rc;

	*value = NULL;
	if ((m = maps_get(spec, err, errlen)) == NULL)
		return -1;
	switch (m->kind) {
	case MAPS_K_REGEXP:
	case MAPS_K_PCRE:
		/* The patterns' flags decide about case: the key is used as it is. */
		return maps_rtable_lookup(m->rt, key, value, err, errlen);
	case MAPS_K_STATIC:
		*value = xstrdup(m->value);
		return 1;
	default:
		break;
	}
	k = xstrdup(key);
	if (fold)
		maps_fold(k);
	if (m->kind == MAPS_K_DB)
		rc = dict_db_lookup(m->db, k, value, err, errlen);
	else
		rc = maps_kv_get(m->kv, k, value);
	free(k);
	return rc;
}

int
maps_lookup(const char *spec, const char *key, char **value, char *err, size_t errlen)
{
	return maps_query(spec, key, 1, value, err, errlen);
}

void
maps_list_split(const char *text, struct strv *out)
{
	const char *p = text, *s;

	for (;;) {
		int depth = 0;

		while (*p && strchr(MAPS_LIST_SEPS, *p))
			p++;
		if (*p == '\0')
			break;
		for (s = p; *p && (depth > 0 || !strchr(MAPS_LIST_SEPS, *p)); p++) {
			if (*p == '{')
				depth++;
			else if (*p == '}' && depth > 0)
				depth--;
		}
		strv_addn(out, s, (size_t)(p - s));
	}
}

void
maps_list(const char *param, struct strv *out)
{
	maps_list_split(conf_str(param), out);
}

int
maps_lookup_list(const char *param, const char *key, char **value, char *err, size_t errlen)
{
	struct strv list = STRV_INIT;
	size_t i;
	int rc = 0;

	*value = NULL;
	maps_list(param, &list);
	for (i = 0; i < list.n && rc == 0; i++)
		rc = maps_lookup(list.v[i], key, value, err, errlen);
	strv_free(&list);
	return rc;
}

int
maps_changed_list(const char *param)
{
	struct strv list = STRV_INIT;
	size_t i, j;
	int changed = 0;

	maps_list(param, &list);
	for (i = 0; i < list.n && !changed; i++)
		for (j = 0; j < maps_ncache; j++)
			if (strcmp(maps_cache[j].spec, list.v[i]) == 0 && maps_cache[j].db != NULL &&
			    dict_db_changed(maps_cache[j].db))
				changed = 1;
	strv_free(&list);
	return changed;
}

void
maps_close_all(void)
{
	size_t i;

	for (i = 0; i < maps_ncache; i++) {
		dict_db_close(maps_cache[i].db);
		maps_unload(&maps_cache[i]);
		free(maps_cache[i].spec);
		free(maps_cache[i].dbpath);
		free(maps_cache[i].value);
	}
	free(maps_cache);
	maps_cache = NULL;
	maps_ncache = 0;
}
