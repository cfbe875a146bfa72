/* SPDX-License-Identifier: ISC */
/* Shared helpers for the unit tests; see helpers.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

char *
th_read_vector(const char *name, size_t *len)
{
	const char *dir = getenv("ANVIL_VECTORS");
	char path[4096];
	FILE *f;
	char *buf;
	long sz = 0;

	if (dir == NULL)
		dir = "tests/unit/vectors";
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		fail_msg("vector path too long");
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		fail_msg("cannot size %s", path);
	buf = malloc((size_t)sz + 1);
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		fail_msg("short read on %s", path);
	buf[sz] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)sz;
	return buf;
}

char *
th_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	char *p;

	if (base == NULL)
		base = "/tmp";
	if (snprintf(tmpl, sizeof(tmpl), "%s/anvil-test-XXXXXX", base) >=
	    (int)sizeof(tmpl))
		fail_msg("TMPDIR too long");
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	p = strdup(tmpl);
	assert_non_null(p);
	return p;
}

void
th_rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[4096];
	struct stat st;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			continue;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			th_rmtree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}
