/* SPDX-License-Identifier: ISC */
/*
 * "anvil-ca admin -c FILE COMMAND ...": the operator's commands (D74),
 * run beside a serving CA on the same database:
 *
 *   find (--name NAME | --serial HEX | --account ID) [--json]
 *   revoke (--serial HEX | --account ID | --name NAME) --reason R
 *       [--yes] [--json]
 *   block --name NAME [--json]
 *   unblock --name NAME [--json]                        (D88)
 *   blocked [--json], also spelt block --list           (D88)
 *   pause --account ID [--json]
 *   unpause --account ID [--json]                       (D88)
 *   eab (list | add [--kid ID] | remove KID) [--json]
 *
 * Exit 0 on success, 1 when the action failed or matched nothing (one
 * line on stderr), 2 on a usage error.
 */
#ifndef ANVIL_ADMIN_H
#define ANVIL_ADMIN_H

#include <stddef.h>

int admin_main(int argc, char **argv);

/*
 * "anvil-ca eab add -c FILE [--kid ID]" and "admin eab add": a new EAB
 * key, printed once as "kid: ID" and "hmac_key: B64URL" lines, or as
 * JSON.
 */
int admin_eab_add(const char *config, const char *kid, int json);

/* Lowercase hex without leading zeros or colons, as serials are kept. */
int admin_norm_serial(const char *in, char *out, size_t size);

#endif
