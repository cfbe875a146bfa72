/* SPDX-License-Identifier: ISC */
/*
 * How the SQL back ends keep an order's identifiers and authorization
 * ids: one JSON array text column each.  Shared so that both back ends
 * store the same text.
 */
#ifndef ANVIL_STORE_ROWS_H
#define ANVIL_STORE_ROWS_H

#include "store.h"

/* Bytes of the "value":"NAME" a certificate search by name looks for:
 * a DNS name (253) fits. */
#define STORE_NEEDLE_MAX 300

/* The identifiers as a JSON array text (caller frees), or NULL. */
char *store_idents_json(const struct acme_ident *ids, size_t n);
/* The ids as a JSON array text (caller frees), or NULL. */
char *store_ids_json(char (*ids)[STORE_ID_SIZE], size_t n);
/*
 * Fills o's idents and authz_ids from their JSON texts (NULL: none).
 * Returns 0, ACME_ERR_NOMEM, or ACME_ERR_INVAL for unreadable text; the
 * caller releases o either way.
 */
int store_parse_order_arrays(struct store_order *o, const char *idents,
    const char *authz_ids);

#endif
