/* SPDX-License-Identifier: ISC */
/*
 * The client's state directory (D61, D62):
 *   STATE/.lock                      flock()ed by every run that writes
 *   STATE/accounts/<host_port>-<h>/  {account.json,key.pem}, one per
 *                                    directory URL (h: its SHA-256)
 *   STATE/archive/<name>/<N>/        {cert,chain,fullchain,privkey}.pem
 *                                    and renewal.json, version N of a
 *                                    certificate, never changed after
 *                                    publication except renewal.json
 *   STATE/certs/<name>               symlink to ../archive/<name>/<N>,
 *                                    replaced by one rename
 * Every directory on the way is owned by the invoking user or root and
 * writable by nobody else; private keys are 0600.
 */
#ifndef ANVIL_STATE_H
#define ANVIL_STATE_H

#include <stddef.h>

#include <anvil/fileio.h>
#include <anvil/ident.h>
#include <anvil/problem.h>

#define STATE_PATH_MAX 4096

/* The default state directory: /var/lib/anvil for root, else XDG. */
void state_default_dir(char *out, size_t size);

/* mkdir -p with mode; returns 0 or an error with prob set. */
int state_mkdirs(const char *path, int mode, struct acme_problem *prob);

/*
 * Prepares the state directory dir (size bytes, rewritten as an absolute
 * path without symlinks): creates it 0700 when create is set, refuses it
 * when it or any directory above it is owned by another user than the
 * invoking one or root, or writable by group or others (sticky
 * directories owned by root, such as /tmp, excepted), and when lock is
 * set takes the state lock (D62), waiting for another run that holds it
 * (saying so when verbose).  Returns 0, 1 when the directory does not
 * exist and create is not set, or an error with prob set.  The lock is
 * released at exit.
 */
int state_open(char *dir, size_t size, int create, int lock, int verbose,
    struct acme_problem *prob);

/*
 * Checks a directory inside the state directory (not a symlink, owned
 * by the invoking user or root, writable by nobody else), creating it
 * 0700 first when create is set.  Returns 0 or an error with prob set.
 */
int state_check_dir(const char *path, int create, struct acme_problem *prob);

/*
 * The account directory for a directory URL (D61):
 * STATE/accounts/<host>_<port>-<first 12 hex digits of SHA-256(url)>.
 */
void state_account_dir(const char *state, const char *url, char *out,
    size_t size);

/* A certificate's directory name: the name lower-cased, '*' as '_'. */
void state_cert_dirname(const char *name, char *out, size_t size);

/*
 * Resolves STATE/certs/<dn> to the current version directory (into out)
 * after checking that it is a symlink of anvil's own form
 * (../archive/<dn>/<N>) or a directory of the layout before D61, and
 * trusted.  Returns 0, ACME_ERR_NOTFOUND when there is no such
 * certificate, or another error with prob set.
 */
int state_lineage_dir(const char *state, const char *dn, char *out, size_t size,
    struct acme_problem *prob);

/*
 * The lineage for a set of identifiers (sorted, as acme_ident_cmp
 * sorts): cert_name when given; else the lineage whose renewal.json
 * names the same set; else a new name from first (lower-cased), with
 * -0001, -0002 ... when that is taken by another set.  Writes the name
 * to dn.  Returns 0 or an error with prob set.
 */
int state_lineage_pick(const char *state, const struct acme_ident *ids,
    size_t n, const char *cert_name, const char *first, char *dn, size_t size,
    struct acme_problem *prob);

/* Whether the lineage dn exists and its renewal.json names exactly ids
 * (sorted, distinct). */
int state_lineage_has(const char *state, const char *dn,
    const struct acme_ident *ids, size_t n);

/*
 * Publishes a new version of lineage dn: writes the files (their paths
 * are bare names) into STATE/archive/<dn>/<N> for the next N, then
 * points STATE/certs/<dn> at it with one rename (D61).  A failure at any
 * step leaves the previous version published.  The version directory is
 * written to out.  Returns 0 or an error with prob set.
 */
int state_publish(const char *state, const char *dn,
    const struct acme_file_out *files, size_t n, char *out, size_t size,
    struct acme_problem *prob);

#endif
