/*
 * aliases - alias maps: lookups, freshness and newaliases; see aliases.h.
 *
 * Maps (alias_maps, alias_database, -oA) are "type:path", an optional
 * "proxy:" in front ignored; a bare path means hash:
 *   hash, btree  path.db, a Berkeley DB file (lib/dict_db)
 *   texthash     path itself, parsed in memory (reloaded when it changes);
 *                newaliases has nothing to build for it
 *   nis          skipped with one warning (Debian's Postfix default lists
 *                nis:mail.aliases; Postfix also ignores NIS when unset)
 *   others       an error: lookups defer, newaliases exits 1.
 *
 * The database layout (spec/aliases.md §4): every entry with key and
 * value NUL-terminated, the key lowercase and unquoted, then
 * YP_LAST_MODIFIED (10-digit epoch) and YP_MASTER_NAME ($myhostname)
 * without NULs, then "@" -> "@" last. A duplicate name keeps its first
 * definition (warned by the parser). The file is built under a temp name
 * and renamed (dict_db_commit) while the source holds an exclusive flock,
 * so concurrent builders (newaliases and the auto rebuild) take turns;
 * the one that comes second sees a fresh .db and, on the auto path, does
 * nothing. The .db gets the source's owner and group and its read bits
 * (mode = (source & 0644) | 0600): the owner decides delivery rights.
 *
 * Freshness (alias_auto_rebuild): before each lookup and in
 * aliases_check_fresh(), a .db that is missing or older (mtime, ns) than
 * its source is rebuilt when the parameter is yes and this process may
 * write the directory (logged: "rebuilt /etc/aliases.db from /etc/aliases
 * (alias_auto_rebuild = yes): database was missing"); otherwise a warning
 * to run newaliases is logged once per version of the source. A source
 * and .db that both do not exist mean "no aliases" (one warning). A .db
 * that cannot be read (corrupt, unreadable, locked too long) makes the
 * lookup fail (-1) with a message naming the file: mail is deferred.
 *
 * newaliases returns 0, 75 (EX_TEMPFAIL) when a source cannot be read, 1
 * when a database cannot be written or a type is not supported (1 wins
 * over 75). The statistics line goes to stdout when verbose or stdout is
 * a terminal; warnings and errors go through log.h (stderr and the log).
 * Set-id privileges are dropped first: the caller's own rights decide
 * what may be read and written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alias_parse.h"
#include "aliases.h"
#include "conf.h"
#include "dict_db.h"
#include "fileio.h"
#include "log.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define ALIASES_EX_TEMPFAIL	75	/* sysexits.h EX_TEMPFAIL */
#define ALIASES_EX_BUILD	1
#define ALIASES_DB_SUFFIX	".db"
#define ALIASES_DB_MODE_KEEP	0644	/* bits of the source's mode the .db keeps */
#define ALIASES_DB_MODE_MIN	0600	/* the owner always reads and writes it */
#define ALIASES_ERR_MAX		1024
#define ALIASES_YP_STAMP_MAX	32
#define ALIASES_SENTINEL	"@"
#define ALIASES_PROXY_PREFIX	"proxy:"
#define ALIASES_DEFAULT_TYPE	"hash"
#define ALIASES_RETRY_SECONDS	60	/* between failed automatic rebuilds */

enum alias_kind {
	ALIAS_MAP_DB,		/* hash:, btree: */
	ALIAS_MAP_TEXT,		/* texthash: */
	ALIAS_MAP_SKIP,		/* nis: */
	ALIAS_MAP_BAD,		/* unsupported */
};

/* What alias_map_fresh last said about a map (to say it once). */
enum alias_memo {
	ALIAS_MEMO_NONE,
	ALIAS_MEMO_STALE,	/* older than its source, rebuild off */
	ALIAS_MEMO_MISSING,	/* missing, rebuild off */
	ALIAS_MEMO_NOWRITE,	/* due, but this process may not write it */
	ALIAS_MEMO_FAILED,	/* the rebuild failed */
};

struct alias_map {
	char *spec;		/* as configured */
	char *type;
	enum alias_kind kind;
	enum dict_db_type dbtype;
	char *src;		/* the text file */
	char *dbpath;		/* src.db */
	struct dict_db *db;
	/* texthash */
	struct alias_table table;
	int loaded;
	struct stat text_st;
	/* one warning per condition */
	int warned_none;
	enum alias_memo memo;	/* condition last reported (alias_map_fresh) */
	struct timespec memo_mtime;	/* the source's mtime then */
	time_t memo_when;
};

struct alias_stats {
	size_t n;
	size_t longest;
	size_t total;
};

static struct alias_map *alias_maps;
static size_t alias_nmaps;
static char *alias_maps_conf;	/* the alias_maps value the table was made from */

/* Splits "type:path" (an optional proxy: first; bare path = hash). */
static void
alias_split_spec(const char *spec, char **type, char **path)
{
	const char *colon, *p;

	if (strncmp(spec, ALIASES_PROXY_PREFIX, sizeof(ALIASES_PROXY_PREFIX) - 1) == 0)
		spec += sizeof(ALIASES_PROXY_PREFIX) - 1;
	colon = strchr(spec, ':');
	if (colon != NULL && colon != spec) {
		for (p = spec; p < colon; p++)
			if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '_')
				break;
		if (p == colon) {
			*type = xstrndup(spec, (size_t)(colon - spec));
			*path = xstrdup(colon + 1);
			return;
		}
	}
	*type = xstrdup(ALIASES_DEFAULT_TYPE);
	*path = xstrdup(spec);
}

static void
alias_map_init(struct alias_map *m, const char *spec)
{
	int t;

	memset(m, 0, sizeof(*m));
	m->spec = xstrdup(spec);
	alias_split_spec(spec, &m->type, &m->src);
	m->dbpath = xasprintf("%s%s", m->src, ALIASES_DB_SUFFIX);
	alias_table_init(&m->table);
	if ((t = dict_db_type_from_name(m->type)) >= 0) {
		m->kind = ALIAS_MAP_DB;
		m->dbtype = (enum dict_db_type)t;
	} else if (strcmp(m->type, "texthash") == 0) {
		m->kind = ALIAS_MAP_TEXT;
	} else if (strcmp(m->type, "nis") == 0) {
		m->kind = ALIAS_MAP_SKIP;
	} else {
		m->kind = ALIAS_MAP_BAD;
	}
}

static void
alias_map_free(struct alias_map *m)
{
	dict_db_close(m->db);
	alias_table_free(&m->table);
	free(m->spec);
	free(m->type);
	free(m->src);
	free(m->dbpath);
}

/* (Re)makes the map list when alias_maps changed. */
static void
alias_maps_refresh(void)
{
	const char *now = conf_str("alias_maps");
	struct strv list = STRV_INIT;
	size_t i;

	if (alias_maps_conf != NULL && strcmp(alias_maps_conf, now) == 0)
		return;
	for (i = 0; i < alias_nmaps; i++)
		alias_map_free(&alias_maps[i]);
	free(alias_maps);
	free(alias_maps_conf);
	alias_maps_conf = xstrdup(now);
	conf_list("alias_maps", &list);
	alias_maps = list.n ? xcalloc(list.n, sizeof(*alias_maps)) : NULL;
	alias_nmaps = list.n;
	for (i = 0; i < list.n; i++) {
		alias_map_init(&alias_maps[i], list.v[i]);
		if (alias_maps[i].kind == ALIAS_MAP_SKIP)
			log_warn("alias_maps: %s: NIS maps are not supported, ignored",
			    list.v[i]);
	}
	strv_free(&list);
}

/* a older than b (modification times, ns). */
static int
alias_older(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static int
alias_same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * Builds src into src.db. When only_if_stale, does nothing (*built = 0)
 * if, once the source is locked, the .db turns out to be fresh. Parser
 * warnings are logged. Returns 0, ALIASES_EX_TEMPFAIL (source unreadable)
 * or ALIASES_EX_BUILD, with err.
 */
static int
alias_build(enum dict_db_type type, const char *src, int only_if_stale, int *built,
    struct alias_stats *stats, char *err, size_t errlen)
{
	struct alias_table t;
	struct pbuf text = PBUF_INIT;
	struct dict_db_writer *w = NULL;
	struct stat st, dbst;
	char stamp[ALIASES_YP_STAMP_MAX], *dbpath;
	size_t i, len;
	int fd, rc = 0;

	*built = 0;
	memset(stats, 0, sizeof(*stats));
	alias_table_init(&t);
	dbpath = xasprintf("%s%s", src, ALIASES_DB_SUFFIX);
	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open alias file %s: %s", src, strerror(errno));
		free(dbpath);
		return ALIASES_EX_TEMPFAIL;
	}
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat alias file %s: %s", src, strerror(errno));
		rc = ALIASES_EX_TEMPFAIL;
		goto out;
	}
	if (only_if_stale && stat(dbpath, &dbst) == 0 && !alias_older(&dbst.st_mtim, &st.st_mtim))
		goto out;	/* someone else just built it */
	if (pbuf_read_fd(&text, fd, 0) < 0) {
		snprintf(err, errlen, "cannot read alias file %s: %s", src, strerror(errno));
		rc = ALIASES_EX_TEMPFAIL;
		goto out;
	}
	alias_parse(src, pbuf_str(&text), text.len, &t);
	for (i = 0; i < t.warnings.n; i++)
		log_warn("%s", t.warnings.v[i]);

	if ((w = dict_db_create(dbpath, type, err, errlen)) == NULL) {
		rc = ALIASES_EX_BUILD;
		goto out;
	}
	for (i = 0; i < t.n; i++) {
		if (dict_db_put_str(w, t.v[i].name, t.v[i].value, 1, 0, err, errlen) < 0) {
			rc = ALIASES_EX_BUILD;
			goto out;
		}
		len = strlen(t.v[i].value);
		stats->n++;
		stats->total += strlen(t.v[i].name) + len;
		if (len > stats->longest)
			stats->longest = len;
	}
	/* Postfix postalias's NIS entries: no NUL, not folded. */
	snprintf(stamp, sizeof(stamp), "%010lld", (long long)time(NULL));
	if (dict_db_put_str(w, "YP_LAST_MODIFIED", stamp, 0, 1, err, errlen) < 0
	    || dict_db_put_str(w, "YP_MASTER_NAME", conf_str("myhostname"), 0, 1, err,
	    errlen) < 0
	    || dict_db_put_str(w, ALIASES_SENTINEL, ALIASES_SENTINEL, 1, 1, err, errlen) < 0) {
		rc = ALIASES_EX_BUILD;
		goto out;
	}
	rc = dict_db_commit(w, (st.st_mode & ALIASES_DB_MODE_KEEP) | ALIASES_DB_MODE_MIN,
	    st.st_uid, st.st_gid, err, errlen) < 0 ? ALIASES_EX_BUILD : 0;
	w = NULL;
	if (rc == 0)
		*built = 1;
out:
	if (w != NULL)
		dict_db_abort(w);
	close(fd);	/* drops the lock */
	pbuf_free(&text);
	alias_table_free(&t);
	free(dbpath);
	return rc;
}

/* May this process create files next to path? */
static int
alias_may_write(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int ok;

	if (geteuid() == 0)
		return 1;
	dir = slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/")
	    : xstrndup(path, (size_t)(slash - path));
	ok = access(dir, W_OK) == 0;
	free(dir);
	return ok;
}

/* The condition last reported for a map, with the source's mtime then. */
static int
alias_memo_same(const struct alias_map *m, enum alias_memo cond, const struct stat *src)
{
	return m->memo == cond && alias_same_time(&m->memo_mtime, &src->st_mtim);
}

static void
alias_memo_set(struct alias_map *m, enum alias_memo cond, const struct stat *src)
{
	m->memo = cond;
	m->memo_mtime = src->st_mtim;
	m->memo_when = time(NULL);
}

/*
 * Makes sure m's .db is not missing or older than its source (rebuilding
 * it when alias_auto_rebuild allows). Each warning is logged once per
 * version of the source; a failed rebuild is retried after
 * ALIASES_RETRY_SECONDS or when the source changes. Returns 0, or -1 when
 * a rebuild was due and could not be done (logged).
 */
static int
alias_map_fresh(struct alias_map *m)
{
	struct stat src, db;
	struct alias_stats stats;
	char err[ALIASES_ERR_MAX];
	int have_src, have_db, built, rc;

	have_src = stat(m->src, &src) == 0;
	have_db = stat(m->dbpath, &db) == 0;
	if (!have_src) {
		if (!have_db && !m->warned_none) {
			log_warn("no alias database %s and no alias file %s: no aliases from %s",
			    m->dbpath, m->src, m->spec);
			m->warned_none = 1;
		}
		return 0;
	}
	m->warned_none = 0;
	if (have_db && !alias_older(&db.st_mtim, &src.st_mtim)) {
		m->memo = ALIAS_MEMO_NONE;
		return 0;
	}
	if (!conf_bool("alias_auto_rebuild")) {
		enum alias_memo cond = have_db ? ALIAS_MEMO_STALE : ALIAS_MEMO_MISSING;

		if (!alias_memo_same(m, cond, &src)) {
			if (have_db)
				log_warn("database %s is older than source file %s: run newaliases",
				    m->dbpath, m->src);
			else
				log_warn("alias database %s is missing: run newaliases", m->dbpath);
			alias_memo_set(m, cond, &src);
		}
		return 0;
	}
	if (!alias_may_write(m->dbpath)) {
		if (!alias_memo_same(m, ALIAS_MEMO_NOWRITE, &src)) {
			log_warn("%s %s, and this process may not rebuild it: run newaliases",
			    have_db ? "database is older than its source:"
			    : "alias database is missing:", m->dbpath);
			alias_memo_set(m, ALIAS_MEMO_NOWRITE, &src);
		}
		return -1;
	}
	if (alias_memo_same(m, ALIAS_MEMO_FAILED, &src)
	    && time(NULL) - m->memo_when < ALIASES_RETRY_SECONDS)
		return -1;
	rc = alias_build(m->dbtype, m->src, 1, &built, &stats, err, sizeof(err));
	if (rc != 0) {
		log_error("cannot rebuild %s: %s; run newaliases", m->dbpath, err);
		alias_memo_set(m, ALIAS_MEMO_FAILED, &src);
		return -1;
	}
	if (built)
		log_info("rebuilt %s from %s (alias_auto_rebuild = yes): the database was %s;"
		    " %zu aliases", m->dbpath, m->src, have_db ? "older than its source"
		    : "missing", stats.n);
	m->memo = ALIAS_MEMO_NONE;
	return 0;
}

/* key quoted the way Postfix 3.12+ stores names that need it; NULL if none needed. */
static char *
alias_quoted_key(const char *key)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~.";
	struct pbuf b = PBUF_INIT;
	const char *p;

	for (p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
		    || ((unsigned char)*p >= 0x80) || strchr(atext, *p)))
			break;
	if (*p == '\0')
		return NULL;
	pbuf_putc(&b, '"');
	for (p = key; *p; p++) {
		if (*p == '"' || *p == '\\')
			pbuf_putc(&b, '\\');
		pbuf_putc(&b, *p);
	}
	pbuf_putc(&b, '"');
	return pbuf_detach(&b);
}

static int
alias_db_lookup(struct alias_map *m, const char *key, char **value, uid_t *owner,
    char *err, size_t errlen)
{
	char *quoted;
	int rc;

	(void)alias_map_fresh(m);
	if (access(m->dbpath, F_OK) < 0 && errno == ENOENT) {
		/* Missing and not rebuilt: no entries (warned by alias_map_fresh). */
		dict_db_close(m->db);
		m->db = NULL;
		return 0;
	}
	if (m->db == NULL) {
		m->db = dict_db_open(m->dbpath, m->dbtype, err, errlen);
		if (m->db == NULL) {
			char why[ALIASES_ERR_MAX];

			if (errno == ENOENT)
				return 0;
			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "cannot open alias database %s", why);
			if (access(m->src, F_OK) == 0)
				log_error("%s (run newaliases to rebuild it from %s)", err, m->src);
			else
				log_error("%s", err);
			return -1;
		}
	}
	rc = dict_db_lookup(m->db, key, value, err, errlen);
	if (rc == 0 && (quoted = alias_quoted_key(key)) != NULL) {
		rc = dict_db_lookup(m->db, quoted, value, err, errlen);
		free(quoted);
	}
	if (rc < 0) {
		log_error("alias database lookup failed: %s", err);
		/* Start afresh next time. */
		dict_db_close(m->db);
		m->db = NULL;
		return -1;
	}
	if (rc == 1 && owner != NULL)
		*owner = dict_db_owner(m->db);
	return rc;
}

static int
alias_text_lookup(struct alias_map *m, const char *key, char **value, uid_t *owner,
    char *err, size_t errlen)
{
	const struct alias_entry *e;
	struct stat st;
	char *text;
	size_t len, i;

	if (stat(m->src, &st) < 0) {
		if (errno == ENOENT) {
			if (!m->warned_none)
				log_warn("no alias file %s: no aliases from %s", m->src, m->spec);
			m->warned_none = 1;
			alias_table_free(&m->table);
			m->loaded = 0;
			return 0;
		}
		snprintf(err, errlen, "cannot stat alias file %s: %s", m->src, strerror(errno));
		return -1;
	}
	m->warned_none = 0;
	if (!m->loaded || st.st_ino != m->text_st.st_ino || st.st_dev != m->text_st.st_dev
	    || st.st_size != m->text_st.st_size
	    || !alias_same_time(&st.st_mtim, &m->text_st.st_mtim)) {
		if (fileio_read_file(m->src, &text, &len, 0) < 0) {
			snprintf(err, errlen, "cannot read alias file %s: %s", m->src,
			    strerror(errno));
			log_error("%s", err);
			return -1;
		}
		alias_table_free(&m->table);
		alias_parse(m->src, text, len, &m->table);
		for (i = 0; i < m->table.warnings.n; i++)
			log_warn("%s", m->table.warnings.v[i]);
		free(text);
		m->text_st = st;
		m->loaded = 1;
	}
	if ((e = alias_table_find(&m->table, key)) == NULL)
		return 0;
	*value = xstrdup(e->value);
	if (owner != NULL)
		*owner = m->text_st.st_uid;
	return 1;
}

int
aliases_lookup(const char *name, char **value, uid_t *owner, char *err, size_t errlen)
{
	char *key;
	size_t i;
	int rc = 0;

	*value = NULL;
	if (name == NULL || *name == '\0')
		return 0;
	key = alias_fold_name(name);
	alias_maps_refresh();
	for (i = 0; i < alias_nmaps && rc == 0; i++) {
		struct alias_map *m = &alias_maps[i];

		switch (m->kind) {
		case ALIAS_MAP_DB:
			rc = alias_db_lookup(m, key, value, owner, err, errlen);
			break;
		case ALIAS_MAP_TEXT:
			rc = alias_text_lookup(m, key, value, owner, err, errlen);
			break;
		case ALIAS_MAP_SKIP:
			break;
		case ALIAS_MAP_BAD:
			snprintf(err, errlen, "alias_maps: unsupported map type \"%s\" in %s",
			    m->type, m->spec);
			log_error("%s", err);
			rc = -1;
			break;
		}
	}
	free(key);
	return rc;
}

int
aliases_check_fresh(void)
{
	size_t i;
	int rc = 0;

	alias_maps_refresh();
	for (i = 0; i < alias_nmaps; i++)
		if (alias_maps[i].kind == ALIAS_MAP_DB && alias_map_fresh(&alias_maps[i]) < 0)
			rc = -1;
	return rc;
}

/* Gives up set-uid/set-gid rights for good: newaliases acts as its caller. */
static int
alias_drop_setid(void)
{
	gid_t g = getgid();
	uid_t u = getuid();

	if (getegid() != g && setresgid(g, g, g) < 0)
		return -1;
	if (geteuid() != u && setresuid(u, u, u) < 0)
		return -1;
	return 0;
}

int
aliases_newaliases(const char *alias_db_opt, int verbose)
{
	struct strv list = STRV_INIT;
	struct alias_stats stats;
	char err[ALIASES_ERR_MAX];
	char *type, *path;
	int status = 0, rc, built, show;
	size_t i;

	if (alias_drop_setid() < 0) {
		log_error("cannot drop set-id privileges: %m");
		return ALIASES_EX_TEMPFAIL;
	}
	show = verbose || isatty(STDOUT_FILENO);
	if (alias_db_opt != NULL && *alias_db_opt != '\0')
		strv_add(&list, alias_db_opt);
	else
		conf_list("alias_database", &list);
	for (i = 0; i < list.n; i++) {
		int t;

		alias_split_spec(list.v[i], &type, &path);
		if (strcmp(type, "texthash") == 0) {
			/* Read directly by lookups: nothing to build. */
		} else if ((t = dict_db_type_from_name(type)) < 0) {
			log_error("unsupported alias database type \"%s\" in %s", type,
			    list.v[i]);
			status = ALIASES_EX_BUILD;
		} else {
			rc = alias_build((enum dict_db_type)t, path, 0, &built, &stats, err,
			    sizeof(err));
			if (rc != 0) {
				log_error("%s", err);
				if (status != ALIASES_EX_BUILD)
					status = rc;
			} else if (show) {
				printf("%s: %zu aliases, longest %zu bytes, %zu bytes total\n",
				    path, stats.n, stats.longest, stats.total);
				fflush(stdout);
			}
		}
		free(type);
		free(path);
	}
	strv_free(&list);
	return status;
}
