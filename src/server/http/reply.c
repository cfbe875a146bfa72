/* SPDX-License-Identifier: ISC */
/*
 * Reply construction for anvil-ca (see reply.h).  Bodies are serialised
 * by jansson; headers are refused when they would carry CR or LF.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/problem.h>

#include "contract.h"
#include "reply.h"

#include "internal.h"

/* Bytes of one header value made from a format, NUL included. */
#define HEADER_VALUE_MAX 2048

int
reply_header(struct resp *r, const char *name, const char *value)
{
	char *v;

	ACME_ASSERT(r != NULL && name != NULL && value != NULL);
	if (r->nheaders >= REQ_MAX_HEADERS)
		return ACME_ERR_LIMIT;
	if (strpbrk(value, "\r\n") != NULL)
		return ACME_ERR_INVAL;
	if ((v = strdup(value)) == NULL)
		return ACME_ERR_NOMEM;
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders].value = v;
	r->nheaders++;
	return 0;
}

int
reply_headerf(struct resp *r, const char *name, const char *fmt, ...)
{
	char buf[HEADER_VALUE_MAX];
	va_list ap;
	int n;

	ACME_ASSERT(r != NULL && name != NULL && fmt != NULL);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return ACME_ERR_LIMIT;
	return reply_header(r, name, buf);
}

int
reply_link(struct resp *r, const char *url, const char *rel)
{
	ACME_ASSERT(r != NULL && url != NULL && rel != NULL);
	return reply_headerf(r, "Link", "<%s>;rel=\"%s\"", url, rel);
}

static void
set_body(struct resp *r, int status, const char *ctype, char *body, size_t len)
{
	free(r->body);
	r->status = status;
	r->content_type = ctype;
	r->body = body;
	r->body_len = len;
}

int
reply_json(struct resp *r, int status, json_t *obj)
{
	size_t len = 0;
	char *text;

	ACME_ASSERT(r != NULL);
	ACME_ASSERT(status >= HTTP_STATUS_MIN && status <= HTTP_STATUS_MAX);
	text = obj != NULL ? acme_json_compact(obj, &len) : NULL;
	json_decref(obj);
	if (text == NULL) {
		reply_error(r, ACME_PROB_SERVER_INTERNAL,
		    "cannot serialise the response");
		return ACME_ERR_NOMEM;
	}
	set_body(r, status, "application/json", text, len);
	return 0;
}

void
reply_problem(struct resp *r, const struct acme_problem *prob)
{
	reply_problem_ex(r, prob, NULL);
}

void
reply_problem_ex(struct resp *r, const struct acme_problem *prob,
    const json_t *extra)
{
	json_t *doc;
	size_t len = 0;
	char *text;

	ACME_ASSERT(r != NULL && prob != NULL);
	doc = acme_problem_to_json(prob);
	if (doc != NULL && extra != NULL &&
	    json_object_update(doc, (json_t *)(uintptr_t)extra) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	text = doc != NULL ? acme_json_compact(doc, &len) : NULL;
	json_decref(doc);
	if (text == NULL) {
		/* Nothing more can be allocated: a bare 500 goes out. */
		set_body(r, HTTP_SERVER_ERROR, NULL, NULL, 0);
		return;
	}
	set_body(r, prob->status, "application/problem+json", text, len);
	acme_problem_release(&r->prob);
	r->prob.type = prob->type;
	r->prob.status = prob->status;
	memcpy(r->prob.detail, prob->detail, sizeof(r->prob.detail));
}

void
reply_error(struct resp *r, enum acme_prob_type type, const char *fmt, ...)
{
	struct acme_problem p;
	va_list ap;

	ACME_ASSERT(r != NULL && fmt != NULL);
	memset(&p, 0, sizeof(p));
	p.type = type;
	p.status = acme_problem_default_status(type);
	va_start(ap, fmt);
	if (vsnprintf(p.detail, sizeof(p.detail), fmt, ap) < 0)
		p.detail[0] = '\0';
	va_end(ap);
	reply_problem(r, &p);
}

int
reply_body(struct resp *r, int status, const char *content_type,
    const char *data, size_t len)
{
	char *b = malloc(len + 1);

	ACME_ASSERT(r != NULL && (data != NULL || len == 0));
	ACME_ASSERT(status >= HTTP_STATUS_MIN && status <= HTTP_STATUS_MAX);
	if (b == NULL) {
		reply_error(r, ACME_PROB_SERVER_INTERNAL, "out of memory");
		return ACME_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(b, data, len);
	b[len] = '\0';
	set_body(r, status, content_type, b, len);
	return 0;
}

void
reply_release(struct resp *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i].value);
	r->nheaders = 0;
	free(r->body);
	r->body = NULL;
	acme_problem_release(&r->prob);
}
