/* SPDX-License-Identifier: ISC */
/* Row encodings every SQL back end shares (see store_rows.h). */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include <anvil/err.h>
#include <anvil/json.h>

#include "store_rows.h"

/* The identifiers as a JSON array text (caller frees), or NULL. */
char *
store_idents_json(const struct acme_ident *ids, size_t n)
{
	json_t *a = json_array(), *v;
	char *s = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		v = json_pack("{s:s, s:s}", "type",
		    acme_ident_type_name(ids[i].type), "value", ids[i].value);
		if (json_array_append_new(a, v) != 0)
			goto out;
	}
	s = acme_json_compact(a, NULL);
out:
	json_decref(a);
	return s;
}

/* The ids as a JSON array text (caller frees), or NULL. */
char *
store_ids_json(char (*ids)[STORE_ID_SIZE], size_t n)
{
	json_t *a = json_array();
	char *s = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(ids[i])) != 0)
			goto out;
	s = acme_json_compact(a, NULL);
out:
	json_decref(a);
	return s;
}

/* Fills o's idents and authz_ids from their JSON texts. */
int
store_parse_order_arrays(struct store_order *o, const char *idents,
    const char *authz_ids)
{
	json_t *a = acme_json_load_stored(idents != NULL ? idents : "[]");
	json_t *b = acme_json_load_stored(authz_ids != NULL ? authz_ids : "[]");
	json_t *v;
	size_t i;
	int rc = ACME_ERR_INVAL;

	if (!json_is_array(a) || !json_is_array(b))
		goto out;
	o->idents = calloc(json_array_size(a) + 1, sizeof(*o->idents));
	o->authz_ids = calloc(json_array_size(b) + 1, sizeof(*o->authz_ids));
	if (o->idents == NULL || o->authz_ids == NULL) {
		rc = ACME_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < json_array_size(a); i++) {
		v = json_array_get(a, i);
		if (acme_ident_set(&o->idents[i],
			json_string_value(json_object_get(v, "type")),
			json_string_value(json_object_get(v, "value"))) != 0)
			goto out;
	}
	o->nident = json_array_size(a);
	for (i = 0; i < json_array_size(b); i++) {
		v = json_array_get(b, i);
		if (!json_is_string(v))
			goto out;
		snprintf(o->authz_ids[i], STORE_ID_SIZE, "%s",
		    json_string_value(v));
	}
	o->nauthz = json_array_size(b);
	rc = 0;
out:
	json_decref(a);
	json_decref(b);
	return rc;
}
