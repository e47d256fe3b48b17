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
#include "log.h"
#include "maps.h"
#include "pbuf.h"
#include "strv.h"
#include "xalloc.h"

#define MAPS_DB_MODE_KEEP	0644	/* read bits taken from the source */
#define MAPS_DB_MODE_MIN	0600	/* the owner may always read and write */
#define MAPS_SHOW_MAX		60	/* octets of a line quoted in a warning */
#define MAPS_PROXY_PREFIX	"proxy:"

struct maps_open {
	char *spec;
	enum dict_db_type type;
	char *dbpath;
	struct dict_db *db;
};

static struct maps_open *maps_cache;
static size_t maps_ncache;

static int
maps_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

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

/* A line quoted in a warning: printable, bounded. */
static void
maps_show(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 1 < outlen && i < MAPS_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[j] = '\0';
}

/* Stores one logical line; 1 when stored, 0 when skipped (warned), -1 on error. */
static int
maps_put_entry(struct dict_db_writer *w, const char *src, long line, struct pbuf *entry,
    int fold, char *err, size_t errlen)
{
	char *s = entry->data, *key, *value, *end;
	int rc;

	if (memchr(s, '\0', entry->len) != NULL) {
		log_warn("%s, line %ld: NUL byte in the entry, ignored", src, line);
		return 0;
	}
	key = s;
	for (value = key; *value && !maps_is_space((unsigned char)*value); value++)
		;
	if (*value)
		*value++ = '\0';
	while (*value && maps_is_space((unsigned char)*value))
		value++;
	end = value + strlen(value);
	while (end > value && maps_is_space((unsigned char)end[-1]))
		*--end = '\0';
	if (*value == '\0') {
		log_warn("%s, line %ld: expected format: key whitespace value", src, line);
		return 0;
	}
	if (fold)
		maps_fold(key);
	rc = dict_db_put_str(w, key, value, 1, 0, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		log_warn("%s, line %ld: duplicate entry: \"%s\" (the first one is kept)", src, line,
		    key);
		return 0;
	}
	return 1;
}

int
maps_build(const char *spec, int fold, size_t *entries, char *err, size_t errlen)
{
	enum dict_db_type type;
	struct dict_db_writer *w = NULL;
	struct pbuf text = PBUF_INIT, entry = PBUF_INIT;
	struct stat st;
	char *src = NULL, *dbpath = NULL, shown[MAPS_SHOW_MAX + 1];
	const char *p, *end, *nl, *le, *q;
	long line = 0, entry_line = 0;
	int fd = -1, rc = -1, have = 0, r;

	*entries = 0;
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
	if ((w = dict_db_create(dbpath, type, err, errlen)) == NULL)
		goto out;
	p = pbuf_str(&text);
	end = p + text.len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		line++;
		le = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;	/* CRLF files */
		for (q = p; q < le && (*q == ' ' || *q == '\t'); q++)
			;
		if (q == le || *q == '#') {
			;	/* empty, blank or comment: ignored, even inside an entry */
		} else if (q != p) {
			if (have) {
				pbuf_append(&entry, p, (size_t)(le - p));
			} else {
				maps_show(p, (size_t)(le - p), shown, sizeof(shown));
				log_warn("%s, line %ld: logical line must not start with whitespace: "
				    "\"%s\"", src, line, shown);
			}
		} else {
			if (have) {
				if ((r = maps_put_entry(w, src, entry_line, &entry, fold, err,
				    errlen)) < 0)
					goto out;
				*entries += (size_t)r;
			}
			pbuf_reset(&entry);
			pbuf_append(&entry, p, (size_t)(le - p));
			entry_line = line;
			have = 1;
		}
		p = nl + 1;
	}
	if (have) {
		if ((r = maps_put_entry(w, src, entry_line, &entry, fold, err, errlen)) < 0)
			goto out;
		*entries += (size_t)r;
	}
	r = dict_db_commit(w, (st.st_mode & MAPS_DB_MODE_KEEP) | MAPS_DB_MODE_MIN, st.st_uid,
	    st.st_gid, err, errlen);
	w = NULL;
	if (r == 0)
		rc = 0;
out:
	if (w != NULL)
		dict_db_abort(w);
	if (fd >= 0)
		close(fd);	/* drops the lock */
	pbuf_free(&text);
	pbuf_free(&entry);
	free(src);
	free(dbpath);
	return rc;
}

/* The cached entry of spec, opened or reopened as needed; NULL with err. */
static struct maps_open *
maps_get(const char *spec, char *err, size_t errlen)
{
	struct maps_open *m = NULL;
	enum dict_db_type type;
	char *src;
	size_t i;

	for (i = 0; i < maps_ncache; i++)
		if (strcmp(maps_cache[i].spec, spec) == 0) {
			m = &maps_cache[i];
			break;
		}
	if (m == NULL) {
		if (maps_split(spec, &type, &src, err, errlen) < 0)
			return NULL;
		maps_cache = xreallocarray(maps_cache, maps_ncache + 1, sizeof(*maps_cache));
		m = &maps_cache[maps_ncache++];
		m->spec = xstrdup(spec);
		m->type = type;
		m->dbpath = xasprintf("%s%s", src, MAPS_DB_SUFFIX);
		m->db = NULL;
		free(src);
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
	k = xstrdup(key);
	if (fold)
		maps_fold(k);
	rc = dict_db_lookup(m->db, k, value, err, errlen);
	free(k);
	return rc;
}

int
maps_lookup(const char *spec, const char *key, char **value, char *err, size_t errlen)
{
	return maps_query(spec, key, 1, value, err, errlen);
}

int
maps_lookup_list(const char *param, const char *key, char **value, char *err, size_t errlen)
{
	struct strv list = STRV_INIT;
	size_t i;
	int rc = 0;

	*value = NULL;
	conf_list(param, &list);
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

	conf_list(param, &list);
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
		free(maps_cache[i].spec);
		free(maps_cache[i].dbpath);
	}
	free(maps_cache);
	maps_cache = NULL;
	maps_ncache = 0;
}
