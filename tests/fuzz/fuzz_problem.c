/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for acme_problem_from_json(), which reads the problem
 * documents a CA sends.  The input is JSON (through the strict parser);
 * whatever is accepted must be bounded (a known type, a status in
 * 100-599, a NUL-terminated detail, at most ACME_PROB_SUB_MAX
 * subproblems, none nested) and survive acme_problem_to_json() and a
 * second reading unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/json.h>
#include <anvil/problem.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct acme_problem *p, int top)
{
	size_t i;

	if (p->type <= ACME_PROB_NONE || p->type >= ACME_PROB__COUNT ||
	    memchr(p->detail, '\0', sizeof(p->detail)) == NULL ||
	    p->nsub > ACME_PROB_SUB_MAX || (p->nsub > 0 && p->sub == NULL) ||
	    (top && p->has_identifier) || (!top && p->nsub != 0))
		abort();
	for (i = 0; i < p->nsub; i++)
		check(&p->sub[i], 0);
}

static int
same(const struct acme_problem *a, const struct acme_problem *b)
{
	size_t i;

	if (a->type != b->type || a->status != b->status ||
	    strcmp(a->detail, b->detail) != 0 ||
	    a->has_identifier != b->has_identifier || a->nsub != b->nsub)
		return 0;
	if (a->has_identifier &&
	    (a->identifier.type != b->identifier.type ||
		strcmp(a->identifier.value, b->identifier.value) != 0))
		return 0;
	for (i = 0; i < a->nsub; i++)
		if (!same(&a->sub[i], &b->sub[i]))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_problem perr = { 0 }, p = { 0 }, q = { 0 };
	json_t *doc, *again;

	doc = acme_json_parse((const char *)data, size, 0, &perr);
	acme_problem_release(&perr);
	if (doc == NULL)
		return 0;
	if (acme_problem_from_json(&p, doc) == 0) {
		check(&p, 1);
		/* ACME_PROB_OTHER writes back as about:blank, so only a
		 * known type can go around unchanged. */
		if ((again = acme_problem_to_json(&p)) == NULL)
			abort();
		if (acme_problem_from_json(&q, again) != 0)
			abort();
		if (p.type != ACME_PROB_OTHER && !same(&p, &q))
			abort();
		json_decref(again);
	}
	acme_problem_release(&p);
	acme_problem_release(&q);
	json_decref(doc);
	return 0;
}
