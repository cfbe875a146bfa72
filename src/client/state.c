/* SPDX-License-Identifier: ISC */
/*
 * The client's state directory (see state.h): where it is, whether it
 * can be trusted, its lock (D62), and certificate lineages published as
 * one set by one rename (D61).
 */
#include <ctype.h>
#include <dirent.h>
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

#include <openssl/evp.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/json.h>

#include "state.h"

#include "internal.h"

void
state_default_dir(char *out, size_t size)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (geteuid() == 0)
		snprintf(out, size, "/var/lib/anvil");
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(out, size, "%s/anvil", xdg);
	else
		snprintf(out, size, "%s/.local/state/anvil",
		    home != NULL ? home : ".");
}

int
state_mkdirs(const char *path, int mode, struct acme_problem *prob)
{
	char buf[STATE_PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "path too long");
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "cannot create %s: %s", buf, strerror(errno));
}

/*
 * Whether a directory may hold (or lead to) anvil's state: owned by the
 * invoking user or root and writable by nobody else.  An ancestor that
 * is sticky and root's (/tmp) is allowed too: others cannot rename or
 * remove what is in it.  Returns 0 or an error naming path.
 */
static int
trusted(const char *path, const struct stat *st, int ancestor,
    struct acme_problem *prob)
{
	uid_t me = geteuid();

	if (!S_ISDIR(st->st_mode))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s is not a directory; refusing it", path);
	if (st->st_uid != me && st->st_uid != 0)
		return acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "%s is owned by uid %u, not by you or root; refusing "
		    "it as state",
		    path, (unsigned)st->st_uid);
	if ((st->st_mode & 022) != 0 &&
	    !(ancestor && st->st_uid == 0 && (st->st_mode & S_ISVTX) != 0))
		return acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "%s is writable by %s (mode %04o); refusing it as state",
		    path, (st->st_mode & 002) != 0 ? "others" : "its group",
		    (unsigned)(st->st_mode & 07777));
	return 0;
}

int
state_check_dir(const char *path, int create, struct acme_problem *prob)
{
	struct stat st;

	if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create %s: %s", path, strerror(errno));
	if (lstat(path, &st) != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s: %s", path, strerror(errno));
	return trusted(path, &st, 0, prob);
}

/* Takes the state lock, waiting for the run that holds it (D62). */
static int
take_lock(const char *dir, int verbose, struct acme_problem *prob)
{
	char path[STATE_PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", dir);
	/* Left open on purpose: the lock is the run's, until exit. */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot open the state lock %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		goto fail;
	if (verbose)
		fprintf(stderr,
		    "anvil: waiting for another anvil run using %s\n", dir);
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			goto fail;
	return 0;
fail:
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "cannot lock %s: %s",
	    path, strerror(errno));
	close(fd);
	return ACME_ERR_IO;
}

/*
 * Checks every directory of real (absolute, without symlinks) from /
 * down; the last one is the state directory itself unless self is 0.
 */
static int
check_chain(char *real, int self, struct acme_problem *prob)
{
	struct stat st;
	char *p;

	if (lstat("/", &st) != 0 ||
	    trusted("/", &st, !(self && real[1] == '\0'), prob) != 0)
		return ACME_ERR_INVAL;
	for (p = real + 1; real[1] != '\0'; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (lstat(real, &st) != 0) {
			*p = c;
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "state directory %s: %s", real, strerror(errno));
		}
		if (trusted(real, &st, c != '\0' || !self, prob) != 0)
			return ACME_ERR_INVAL;
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int
state_open(char *dir, size_t size, int create, int lock, int verbose,
    struct acme_problem *prob)
{
	char real[PATH_MAX], probe[PATH_MAX], *slash;
	int self;

	if (snprintf(probe, sizeof(probe), "%s", dir) >= (int)sizeof(probe))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "state directory path too long");
	/* What exists of the path is checked before anything is made in
	 * it: nothing is created inside another user's directory. */
	while (realpath(probe, real) == NULL) {
		if (errno != ENOENT)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "state directory %s: %s", dir, strerror(errno));
		if (!create)
			return 1;
		if ((slash = strrchr(probe, '/')) == NULL)
			snprintf(probe, sizeof(probe), ".");
		else if (slash == probe)
			probe[1] = '\0';
		else
			*slash = '\0';
	}
	self = strcmp(probe, dir) == 0;
	if (check_chain(real, self, prob) != 0)
		return ACME_ERR_INVAL;
	if (!self) {
		if (state_mkdirs(dir, 0700, prob) != 0) {
			char why[ACME_PROB_DETAIL_MAX];

			memcpy(why, prob->detail, sizeof(why));
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "state directory %.400s: %.500s", dir, why);
		}
		if (realpath(dir, real) == NULL)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "state directory %s: %s", dir, strerror(errno));
		if (check_chain(real, 1, prob) != 0)
			return ACME_ERR_INVAL;
	}
	if (strlen(real) >= size)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "state directory path too long");
	snprintf(dir, size, "%s", real);
	return lock ? take_lock(dir, verbose, prob) : 0;
}

void
state_account_dir(const char *state, const char *url, char *out, size_t size)
{
	const char *h = strstr(url, "://");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char host[256];
	size_t i = 0;

	h = h != NULL ? h + 3 : url;
	for (; *h != '\0' && *h != '/' && i + 1 < sizeof(host); h++)
		host[i++] = (*h == ':' || *h == '[' || *h == ']') ? '_' : *h;
	host[i] = '\0';
	if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	snprintf(out, size, "%s/accounts/%s-", state, host);
	for (i = 0; i < 6 && i < mdlen; i++) {
		size_t len = strlen(out);

		snprintf(out + len, size - len, "%02x", md[i]);
	}
}

void
state_cert_dirname(const char *name, char *out, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		out[i] = name[i] == '*' || name[i] == '/' ?
			     '_' :
			     (char)tolower((unsigned char)name[i]);
	out[i] = '\0';
}

/* The version number N of "../archive/<dn>/<N>", or -1. */
static long
link_version(const char *target, const char *dn)
{
	size_t pre = sizeof("../archive/") - 1, dl = strlen(dn);
	const char *v;
	char *end;
	long n;

	if (strncmp(target, "../archive/", pre) != 0 ||
	    strncmp(target + pre, dn, dl) != 0 || target[pre + dl] != '/')
		return -1;
	v = target + pre + dl + 1;
	if (!isdigit((unsigned char)v[0]))
		return -1;
	n = strtol(v, &end, 10);
	return *end == '\0' && n >= 0 ? n : -1;
}

int
state_lineage_dir(const char *state, const char *dn, char *out, size_t size,
    struct acme_problem *prob)
{
	char path[STATE_PATH_MAX], target[512];
	struct stat st;
	ssize_t n;
	long v;

	if (dn[0] == '\0' || dn[0] == '.' || strchr(dn, '/') != NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "\"%s\" is not a certificate name", dn);
	snprintf(path, sizeof(path), "%s/certs/%s", state, dn);
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "no certificate %s in %s", dn, state);
			return ACME_ERR_NOTFOUND;
		}
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s: %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode)) { /* the layout before D61 */
		snprintf(out, size, "%s", path);
		return trusted(path, &st, 0, prob);
	}
	/* Our own symlink, into our own archive, and nowhere else. */
	if (!S_ISLNK(st.st_mode) ||
	    (n = readlink(path, target, sizeof(target) - 1)) < 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s is not a certificate directory", path);
	target[n] = '\0';
	if ((v = link_version(target, dn)) < 0)
		return acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "%s points to %s, not into anvil's archive; refusing it",
		    path, target);
	snprintf(out, size, "%s/archive/%s/%ld", state, dn, v);
	return state_check_dir(out, 0, prob);
}

/* Whether renewal.json's names are exactly ids (sorted, distinct). */
static int
same_names(const json_t *names, const struct acme_ident *ids, size_t n)
{
	struct acme_ident *got;
	size_t i, k = 0, m = json_array_size(names);
	json_t *v;
	int same = 0;

	if (m == 0 || (got = calloc(m, sizeof(*got))) == NULL)
		return 0;
	json_array_foreach(names, i, v)
	{
		if (!json_is_string(v) ||
		    acme_ident_from_name(&got[i], json_string_value(v)) != 0)
			goto out;
	}
	qsort(got, m, sizeof(*got), acme_ident_cmp);
	for (i = 0; i < m; i++)
		if (k == 0 || !acme_ident_equal(&got[i], &got[k - 1]))
			got[k++] = got[i];
	if (k != n)
		goto out;
	for (i = 0; i < n; i++)
		if (!acme_ident_equal(&got[i], &ids[i]))
			goto out;
	same = 1;
out:
	free(got);
	return same;
}

int
state_lineage_has(const char *state, const char *dn,
    const struct acme_ident *ids, size_t n)
{
	char dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 16], *text = NULL;
	size_t len = 0;
	json_t *r;
	int same = 0;

	if (state_lineage_dir(state, dn, dir, sizeof(dir), NULL) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/renewal.json", dir);
	if (acme_file_read_nofollow(path, 1 << 20, &text, &len, NULL) != 0)
		return 0;
	r = acme_json_parse(text, len, ACME_JSON_OBJECT, NULL);
	free(text);
	if (r != NULL)
		same = same_names(json_object_get(r, "names"), ids, n);
	json_decref(r);
	return same;
}

int
state_lineage_pick(const char *state, const struct acme_ident *ids, size_t n,
    const char *cert_name, const char *first, char *dn, size_t size,
    struct acme_problem *prob)
{
	char path[STATE_PATH_MAX], base[256];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int i;

	if (cert_name != NULL) {
		if (cert_name[0] == '\0' || cert_name[0] == '.' ||
		    strchr(cert_name, '/') != NULL || strlen(cert_name) >= 200)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "\"%s\" cannot be a certificate name", cert_name);
		snprintf(dn, size, "%s", cert_name);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/certs", state);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' &&
			    state_lineage_has(state, de->d_name, ids, n)) {
				snprintf(dn, size, "%s", de->d_name);
				closedir(d);
				return 0;
			}
		closedir(d);
	}
	/* A new lineage: the first name, then -0001 ... if that is taken
	 * by another set of names (as certbot does). */
	state_cert_dirname(first, base, sizeof(base));
	for (i = 0; i < 10000; i++) {
		if (i == 0)
			snprintf(dn, size, "%s", base);
		else
			snprintf(dn, size, "%s-%04d", base, i);
		snprintf(path, sizeof(path), "%s/certs/%s", state, dn);
		if (lstat(path, &st) != 0 && errno == ENOENT)
			return 0;
	}
	return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "too many certificates named %s", base);
}

/* The highest version number in an archive directory (0: none). */
static long
last_version(const char *adir)
{
	struct dirent *de;
	long max = 0;
	DIR *d;

	if ((d = opendir(adir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		v = strtol(de->d_name, &end, 10);
		if (*end == '\0' && v > max)
			max = v;
	}
	closedir(d);
	return max;
}

static void
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Removes an unpublished version directory and what is in it. */
static void
discard_version(const char *vdir, const struct acme_file_out *files, size_t n)
{
	char path[STATE_PATH_MAX + 64];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", vdir, files[i].path);
		unlink(path);
	}
	rmdir(vdir);
}

/*
 * Puts the symlink tmp in place of the directory of the layout before
 * D61 at live, atomically (RENAME_EXCHANGE), and moves that directory
 * into the archive as version 0.
 */
static int
replace_legacy(const char *state, const char *dn, const char *tmp,
    const char *live)
{
	char old[STATE_PATH_MAX];

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, live, RENAME_EXCHANGE) != 0)
		return -1;
	snprintf(old, sizeof(old), "%s/archive/%s/0", state, dn);
	/* If this fails it stays as certs/.<dn>.new.<pid>, unlisted. */
	(void)rename(tmp, old);
	return 0;
}

/*
 * Removes the symlinks certs/.<dn>.new.<pid> that runs killed before
 * their switch left behind (the state lock is held: none is in use).
 */
static void
drop_stale_links(const char *state, const char *dn)
{
	char dir[STATE_PATH_MAX], pre[300];
	struct dirent *de;
	struct stat st;
	size_t n;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/certs", state);
	n = (size_t)snprintf(pre, sizeof(pre), ".%s.new.", dn);
	if (n >= sizeof(pre) || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, pre, n) == 0 &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			0 &&
		    S_ISLNK(st.st_mode))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int
state_publish(const char *state, const char *dn,
    const struct acme_file_out *files, size_t n, char *out, size_t size,
    struct acme_problem *prob)
{
	char adir[STATE_PATH_MAX], vdir[STATE_PATH_MAX + 32], target[512];
	char live[STATE_PATH_MAX], tmp[STATE_PATH_MAX];
	char(*paths)[STATE_PATH_MAX + 128] = NULL;
	struct acme_file_out *set = NULL;
	long v;
	size_t i;
	int rc = ACME_ERR_NOMEM;

	if (strlen(state) + strlen(dn) > STATE_PATH_MAX - 128)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "state directory path too long");
	snprintf(adir, sizeof(adir), "%s/archive", state);
	snprintf(live, sizeof(live), "%s/certs", state);
	if (state_check_dir(adir, 1, prob) != 0 ||
	    state_check_dir(live, 1, prob) != 0)
		return ACME_ERR_IO;
	snprintf(adir, sizeof(adir), "%s/archive/%s", state, dn);
	if (state_check_dir(adir, 1, prob) != 0)
		return ACME_ERR_IO;
	/* The next version by a counter: mkdir claims it (D61). */
	for (v = last_version(adir) + 1;; v++) {
		snprintf(vdir, sizeof(vdir), "%s/%ld", adir, v);
		if (mkdir(vdir, 0700) == 0)
			break;
		if (errno != EEXIST)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "cannot create %s: %s", vdir, strerror(errno));
	}
	if ((set = calloc(n, sizeof(*set))) == NULL ||
	    (paths = calloc(n, sizeof(*paths))) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		set[i] = files[i];
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", vdir,
		    files[i].path);
		set[i].path = paths[i];
	}
	if ((rc = acme_file_write_set(set, n, prob)) != 0)
		goto fail;
	/* One rename switches every file at once; readers resolve
	 * certs/<dn> to the old version or the new one. */
	snprintf(target, sizeof(target), "../archive/%s/%ld", dn, v);
	snprintf(live, sizeof(live), "%s/certs/%s", state, dn);
	drop_stale_links(state, dn);
	snprintf(tmp, sizeof(tmp), "%s/certs/.%s.new.%ld", state, dn,
	    (long)getpid());
	unlink(tmp);
	if (symlink(target, tmp) != 0) {
		rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, live) != 0 &&
	    (errno != EISDIR || replace_legacy(state, dn, tmp, live) != 0)) {
		rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "rename to %s: %s", live, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	snprintf(tmp, sizeof(tmp), "%s/certs", state);
	sync_dir(tmp);
	snprintf(out, size, "%s", vdir);
	free(set);
	free(paths);
	return 0;
fail:
	discard_version(vdir, files, n);
	free(set);
	free(paths);
	return rc;
}
