/* SPDX-License-Identifier: ISC */
/* "anvil-ca init": creates a CA directory (see init.c). */
#ifndef ANVIL_INIT_H
#define ANVIL_INIT_H

#include <anvil/problem.h>

#include "../conf.h"

/* What init makes besides the configuration (anvil-ca(8)). */
struct init_opts {
	int rsa;                /* RSA issuing hierarchy instead of ECDSA */
	const char *name;       /* organisation in the subjects, or NULL */
	const char **dns_names; /* extra listener names */
	size_t ndns;
	int tls_from_root; /* the listener signed by the issuing root */
	/* An existing hierarchy (files to copy in), or NULL. */
	const char *root_cert, *root_key, *issuer_cert, *issuer_key;
};

/*
 * Creates keys, certificates and the database for cfg.  With
 * o->tls_from_root no separate listener CA (tls/ca.pem) is made.
 */
int init_ca_dir(const struct conf *cfg, const struct init_opts *o,
    struct acme_problem *prob);

/* The init subcommand; argv[0] is "init".  Returns the exit status. */
int init_main(int argc, char **argv);

#endif
