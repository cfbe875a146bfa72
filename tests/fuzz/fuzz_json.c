/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the strict JSON parser.  Anything accepted must
 * survive a canonical dump and parse again to an equal value, and
 * acme_json_compact() must write it exactly as json_dumps() does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_problem p = { 0 };
	unsigned flags[] = { 0, ACME_JSON_OBJECT };
	size_t i;

	for (i = 0; i < 2; i++) {
		json_t *v = acme_json_parse((const char *)data, size, flags[i],
			   &p),
		       *again;
		const char *s = NULL;
		long long n;
		int b;
		char *text, *mine, *theirs;
		size_t len = 0;

		if (v == NULL)
			continue;
		if (flags[i] == ACME_JSON_OBJECT && !json_is_object(v))
			abort();
		/* Exercise the getters on whatever came in. */
		acme_json_get_string(v, "a", ACME_JSON_OPTIONAL, &s, &p);
		acme_json_get_int(v, "b", ACME_JSON_OPTIONAL, &n, &p);
		acme_json_get_bool(v, "c", ACME_JSON_REQUIRED, &b, &p);
		text = acme_json_dump_canonical(v);
		if (text == NULL)
			abort();
		again = acme_json_parse(text, strlen(text), 0, &p);
		if (again == NULL || !json_equal(v, again))
			abort();
		json_decref(again);
		free(text);
		/* The compact writer is byte for byte jansson's (D48). */
		mine = acme_json_compact(v, &len);
		theirs = json_dumps(v, JSON_COMPACT);
		if ((mine == NULL) != (theirs == NULL) ||
		    (mine != NULL &&
			(strcmp(mine, theirs) != 0 || len != strlen(mine))))
			abort();
		free(mine);
		free(theirs);
		json_decref(v);
	}
	return 0;
}
