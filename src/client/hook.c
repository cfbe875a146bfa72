/* SPDX-License-Identifier: ISC */
/*
 * The deploy hook: a command run after a certificate was issued or
 * renewed and its files are in place, typically to reload a server.
 * It runs through /bin/sh (so "systemctl reload nginx" works as typed),
 * in its own process group, with the certificate described in the
 * environment, and is stopped if it runs longer than --hook-timeout
 * (SIGTERM, then SIGKILL: see hook.h).  Its failure is the run's
 * failure: a certificate that was renewed but not deployed must not go
 * unnoticed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "cli.h"
#include "hook.h"

#include "internal.h"

struct deploy_env {
	const struct cli *o;
	const char *certdir;
	X509 *leaf;
};

/* Sets the hook's environment in the child, before exec. */
static void
hook_env(const void *arg)
{
	const struct deploy_env *e = arg;
	const struct cli *o = e->o;
	const char *certdir = e->certdir;
	X509 *leaf = e->leaf;
	char path[4096], serial[64] = "", t[32], names[8192] = "";
	time_t nb = 0, na = 0;
	size_t i, n = 0;

	for (i = 0; i < o->nnames && n < sizeof(names); i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
		    i > 0 ? " " : "", o->names[i]);
	acme_x509_serial_hex(leaf, serial, sizeof(serial));
	acme_x509_validity(leaf, &nb, &na);
	setenv("ANVIL_CERT_NAME", o->names[0], 1);
	setenv("ANVIL_CERT_DIR", certdir, 1);
	setenv("ANVIL_DOMAINS", names, 1);
	setenv("ANVIL_SERIAL", serial, 1);
	setenv("ANVIL_NOT_AFTER", acme_rfc3339(t, na), 1);
	snprintf(path, sizeof(path), "%s/fullchain.pem", certdir);
	setenv("ANVIL_FULLCHAIN", path, 1);
	snprintf(path, sizeof(path), "%s/privkey.pem", certdir);
	setenv("ANVIL_PRIVKEY", path, 1);
	snprintf(path, sizeof(path), "%s/cert.pem", certdir);
	setenv("ANVIL_CERT", path, 1);
	snprintf(path, sizeof(path), "%s/chain.pem", certdir);
	setenv("ANVIL_CHAIN", path, 1);
	/* certbot's names, so existing hooks keep working. */
	setenv("RENEWED_LINEAGE", certdir, 1);
	setenv("RENEWED_DOMAINS", names, 1);
}

/* Waits for pid until deadline (seconds); 1 when it exited. */
static int
reap_until(pid_t pid, time_t deadline, int *status)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	pid_t w;

	for (;;) {
		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 1;
		if (w < 0 && errno != EINTR)
			return 1; /* not ours any more: nothing to wait for */
		if (time(NULL) >= deadline)
			return 0;
		nanosleep(&tick, NULL);
	}
}

/* 1 once process group pgid is empty, 0 if it is not by deadline. */
static int
group_gone_by(pid_t pgid, time_t deadline)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };

	while (kill(-pgid, 0) == 0) {
		if (time(NULL) >= deadline)
			return 0;
		nanosleep(&tick, NULL);
	}
	return 1;
}

int
hook_run(const char *what, char *const argv[], void (*setup)(const void *),
    const void *arg, int timeout, struct acme_problem *prob)
{
	int status = 0;
	pid_t pid;

	if ((pid = fork()) < 0) {
		acme_problem_set(prob, ACME_PROB_OTHER, "%s: cannot fork: %s",
		    what, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		/* anvil's stdout is its result (--json): hooks talk on
		 * stderr. */
		dup2(2, 1);
		if (setup != NULL)
			setup(arg);
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid); /* no race with the child's own call */
	if (!reap_until(pid, time(NULL) + timeout, &status)) {
		const char *how = "SIGTERM";

		kill(-pid, SIGTERM);
		if (!reap_until(pid, time(NULL) + HOOK_GRACE, &status)) {
			kill(-pid, SIGKILL);
			how = "SIGKILL";
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
		}
		/* What it started may outlive it and ignore SIGTERM. */
		if (!group_gone_by(pid, time(NULL) + HOOK_GRACE) &&
		    kill(-pid, SIGKILL) == 0)
			how = "SIGKILL";
		acme_problem_set(prob, ACME_PROB_OTHER,
		    "%s ran longer than %d s and was stopped with %s", what,
		    timeout, how);
		return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	acme_problem_set(prob, ACME_PROB_OTHER, "%s was killed by signal %d",
	    what, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

int
hook_shell(const struct cli *o, const char *what, const char *cmd,
    struct acme_problem *prob)
{
	char *const argv[] = { (char *)(uintptr_t) "/bin/sh",
		(char *)(uintptr_t) "-c", (char *)(uintptr_t)cmd, NULL };
	int st;

	if (cmd == NULL)
		return 0;
	st = hook_run(what, argv, NULL, NULL,
	    o->hook_timeout > 0 ? o->hook_timeout : HOOK_TIMEOUT_DEFAULT, prob);
	if (st > 0)
		acme_problem_set(prob, ACME_PROB_OTHER, "%s exited %d", what,
		    st);
	return st == 0 ? 0 : ACME_ERR_IO;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The executables of STATE/hooks/deploy, in name order (D76), run one
 * after another like the deploy hook.  Returns the first failure's exit
 * status (or -1 with prob set), 0 when all succeeded or there are none.
 */
static int
hook_dir(const struct cli *o, struct deploy_env *e, struct acme_problem *prob)
{
	char dir[4096], path[4096 + 256], what[300], *names[64];
	struct dirent *de;
	struct stat st;
	size_t n = 0, i;
	int rc = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/hooks/deploy", o->state_dir);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < ACME_ARRAY_LEN(names)) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(path, X_OK) == 0 &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	for (i = 0; i < n; i++) {
		char *const argv[] = { path, NULL };

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(what, sizeof(what), "deploy hook %.200s", path);
		if (rc == 0) {
			rc = hook_run(what, argv, hook_env, e,
			    o->hook_timeout > 0 ? o->hook_timeout :
						  HOOK_TIMEOUT_DEFAULT,
			    prob);
			if (rc > 0)
				acme_problem_set(prob, ACME_PROB_OTHER,
				    "%s exited %d", what, rc);
		}
		free(names[i]);
	}
	return rc;
}

int
hook_deploy(const struct cli *o, const char *certdir, X509 *leaf,
    struct acme_problem *prob)
{
	char *const argv[] = { (char *)(uintptr_t) "/bin/sh",
		(char *)(uintptr_t) "-c", (char *)(uintptr_t)o->deploy_hook,
		NULL };
	struct deploy_env e = { o, certdir, leaf };
	int st = 0;

	if (o->deploy_hook != NULL) {
		st = hook_run("deploy hook", argv, hook_env, &e,
		    o->hook_timeout > 0 ? o->hook_timeout :
					  HOOK_TIMEOUT_DEFAULT,
		    prob);
		if (st > 0)
			acme_problem_set(prob, ACME_PROB_OTHER,
			    "deploy hook exited %d", st);
	}
	if (st == 0)
		st = hook_dir(o, &e, prob);
	if (st == 0)
		return 0;
	/* Said once, whatever went wrong: the files are in place. */
	if (prob != NULL) {
		char why[ACME_PROB_DETAIL_MAX];

		memcpy(why, prob->detail, sizeof(why));
		snprintf(prob->detail, sizeof(prob->detail),
		    "%.300s; the new certificate is in %.180s", why, certdir);
	}
	return ACME_ERR_IO;
}
