/* SPDX-License-Identifier: ISC */
/* The client's state directory (see state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <anvil/err.h>

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

void
state_ca_dirname(const char *url, char *out, size_t size)
{
	const char *h = strstr(url, "://");
	size_t i = 0;

	h = h != NULL ? h + 3 : url;
	for (; *h != '\0' && *h != '/' && i + 1 < size; h++)
		out[i++] = (*h == ':' || *h == '[' || *h == ']') ? '_' : *h;
	out[i] = '\0';
}

void
state_cert_dirname(const char *name, char *out, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		out[i] = name[i] == '*' ? '_' : name[i];
	out[i] = '\0';
}

int
state_archive(const char *certdir, struct acme_problem *prob)
{
	static const char *const files[] = { "cert.pem", "chain.pem",
		"fullchain.pem", "privkey.pem", "renewal.json" };
	char arch[STATE_PATH_MAX], from[STATE_PATH_MAX];
	char to[STATE_PATH_MAX + 32];
	struct stat st;
	size_t i;

	if (strlen(certdir) > STATE_PATH_MAX - 64)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "state directory path too long");
	snprintf(from, sizeof(from), "%s/fullchain.pem", certdir);
	if (stat(from, &st) != 0)
		return 0;
	snprintf(arch, sizeof(arch), "%s/archive/%lld", certdir,
	    (long long)time(NULL));
	if (state_mkdirs(arch, 0700, prob) != 0)
		return ACME_ERR_IO;
	for (i = 0; i < ACME_ARRAY_LEN(files); i++) {
		snprintf(from, sizeof(from), "%s/%s", certdir, files[i]);
		snprintf(to, sizeof(to), "%s/%s", arch, files[i]);
		/* Copies are made by link so the live files stay in place
		 * until the new ones replace them atomically. */
		if (link(from, to) != 0 && errno != ENOENT && errno != EEXIST)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "cannot archive %s: %s", from, strerror(errno));
	}
	return 0;
}
