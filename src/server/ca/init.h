/* SPDX-License-Identifier: ISC */
/* "anvil-ca init": creates a CA directory (see init.c). */
#ifndef ANVIL_INIT_H
#define ANVIL_INIT_H

#include <anvil/problem.h>

#include "../conf.h"

/* Creates keys, certificates and the database for cfg. */
int init_ca_dir(const struct conf *cfg, int rsa, struct acme_problem *prob);

/* The init subcommand; argv[0] is "init".  Returns the exit status. */
int init_main(int argc, char **argv);

#endif
