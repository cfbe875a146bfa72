/* SPDX-License-Identifier: ISC */
/*
 * The deploy hook: a command run after a certificate was issued or
 * renewed and its files are in place, typically to reload a server.
 * It runs through /bin/sh (so "systemctl reload nginx" works as typed),
 * in its own process group, with the certificate described in the
 * environment, and is stopped if it runs longer than HOOK_TIMEOUT.  Its
 * failure is the run's failure: a certificate that was renewed but not
 * deployed must not go unnoticed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "cli.h"

#include "internal.h"

#define HOOK_TIMEOUT 600 /* seconds */

/* Sets the hook's environment in the child, before exec. */
static void
hook_env(const struct cli *o, const char *certdir, X509 *leaf)
{
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

int
hook_deploy(const struct cli *o, const char *certdir, X509 *leaf,
    struct acme_problem *prob)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	time_t end = time(NULL) + HOOK_TIMEOUT;
	int status = 0;
	pid_t pid, w;

	if (o->deploy_hook == NULL)
		return 0;
	if ((pid = fork()) < 0)
		return acme_problem_set(prob, ACME_PROB_OTHER,
		    "deploy hook: cannot fork: %s", strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		hook_env(o, certdir, leaf);
		execl("/bin/sh", "sh", "-c", o->deploy_hook, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (time(NULL) >= end) {
			kill(-pid, SIGTERM);
			waitpid(pid, &status, 0);
			return acme_problem_set(prob, ACME_PROB_OTHER,
			    "deploy hook ran longer than %d s and was stopped; "
			    "the new certificate is in %s",
			    HOOK_TIMEOUT, certdir);
		}
		nanosleep(&tick, NULL);
	}
	if (w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (w == pid && WIFEXITED(status))
		return acme_problem_set(prob, ACME_PROB_OTHER,
		    "deploy hook exited %d; the new certificate is in %s",
		    WEXITSTATUS(status), certdir);
	return acme_problem_set(prob, ACME_PROB_OTHER,
	    "deploy hook was killed by signal %d; the new certificate is in %s",
	    w == pid && WIFSIGNALED(status) ? WTERMSIG(status) : 0, certdir);
}
