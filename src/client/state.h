/* SPDX-License-Identifier: ISC */
/*
 * The client's state directory:
 *   STATE/accounts/<ca-host>/{account.json,key.pem}
 *   STATE/certs/<name>/{cert.pem,chain.pem,fullchain.pem,privkey.pem,
 *                       renewal.json} and archive/<time>/ older copies
 * Every file is written atomically; private keys are 0600.
 */
#ifndef ANVIL_STATE_H
#define ANVIL_STATE_H

#include <stddef.h>

#include <anvil/problem.h>

#define STATE_PATH_MAX 4096

/* The default state directory: /var/lib/anvil for root, else XDG. */
void state_default_dir(char *out, size_t size);

/* mkdir -p with mode; returns 0 or an error with prob set. */
int state_mkdirs(const char *path, int mode, struct acme_problem *prob);

/* "acme.example.net_14000" from a directory URL. */
void state_ca_dirname(const char *url, char *out, size_t size);

/* A certificate's directory name: the first name, '*' as '_'. */
void state_cert_dirname(const char *name, char *out, size_t size);

/*
 * Moves the current files of certdir (if any) into
 * certdir/archive/<unix time>/.  Returns 0 or an error.
 */
int state_archive(const char *certdir, struct acme_problem *prob);

#endif
