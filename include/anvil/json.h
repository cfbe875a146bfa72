/* SPDX-License-Identifier: ISC */
/*
 * Helpers over jansson.  acme_json_parse() is the only way libanvil and
 * its programs read JSON from the network: it rejects duplicate keys,
 * invalid UTF-8, NUL bytes, nesting deeper than a bound and input larger
 * than a bound.  The typed getters fill a problem (malformed) naming the
 * member when it is missing or of the wrong type.
 */
#ifndef ANVIL_JSON_H
#define ANVIL_JSON_H

#include <stddef.h>
#include <jansson.h>

#include <anvil/problem.h>

#define ACME_JSON_MAX_DEPTH 16            /* nesting of arrays and objects */
#define ACME_JSON_MAX_SIZE  (1024 * 1024) /* bytes of one document */

/* Flags for acme_json_parse(). */
enum acme_json_flags {
	ACME_JSON_OBJECT = 1 << 0, /* the top level must be an object */
};

/*
 * Parses len bytes of text strictly.  Returns a new reference, or NULL
 * with prob set to malformed (the detail says why and where).
 */
json_t *acme_json_parse(const char *text, size_t len, unsigned flags,
    struct acme_problem *prob);

/*
 * Reads JSON that anvil wrote itself (a stored column): no limits beyond
 * jansson's, but, as acme_json_parse(), never a document that an
 * allocation failure inside jansson may have cut.  Returns a new
 * reference, or NULL when text is not JSON or memory ran out.  Use it in
 * place of json_loads().
 */
json_t *acme_json_load_stored(const char *text);

/* Whether a getter's member may be absent. */
enum acme_json_need {
	ACME_JSON_REQUIRED = 0,
	ACME_JSON_OPTIONAL = 1,
};

/*
 * Typed getters on object members.  Each returns 0 and sets *out (a
 * borrowed pointer for strings, objects and arrays, valid while obj
 * lives), or 1 when an optional member is absent (leaving *out alone), or
 * ACME_ERR_INVAL with prob set to malformed when the member is missing
 * but required, or has another type.  A JSON null counts as absent.
 */
int acme_json_get_string(const json_t *obj, const char *key,
    enum acme_json_need need, const char **out, struct acme_problem *prob);
int acme_json_get_bool(const json_t *obj, const char *key,
    enum acme_json_need need, int *out, struct acme_problem *prob);
int acme_json_get_int(const json_t *obj, const char *key,
    enum acme_json_need need, long long *out, struct acme_problem *prob);
int acme_json_get_object(const json_t *obj, const char *key,
    enum acme_json_need need, json_t **out, struct acme_problem *prob);
int acme_json_get_array(const json_t *obj, const char *key,
    enum acme_json_need need, json_t **out, struct acme_problem *prob);

/*
 * Compact serialisation with sorted keys and no whitespace, the form
 * RFC 7638 hashes.  Returns a string the caller frees, or NULL.
 */
char *acme_json_dump_canonical(const json_t *v);

/*
 * What json_dumps(v, JSON_COMPACT) returns, byte for byte, written
 * faster for the common case (ASCII strings, integers, no reals), with
 * jansson itself doing the rest.  v must be an object or an array.
 * Stores the length in *lenp when lenp is not NULL.  Returns a string
 * the caller frees, or NULL when memory runs out or jansson refuses v.
 */
char *acme_json_compact(const json_t *v, size_t *lenp);

#endif
