/* SPDX-License-Identifier: ISC */
/*
 * anvil-http-probe: drives libanvil's HTTPS client (src/lib/http.c) for
 * tests/interop/test_client_http.py, which points it at small Python
 * servers that misbehave on purpose.  Every request goes through one
 * struct acme_http, so the keep-alive connection is shared between them.
 *
 *   anvil-http-probe [--ca FILE] REQUEST...
 *
 * A REQUEST is "GET URL", "HEAD URL" or "POST=BODY URL".  Prints one JSON
 * object per response on stdout; on the first failure prints
 * "anvil-http-probe: TYPE: DETAIL" on stderr and exits 1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/http.h>
#include <anvil/problem.h>

static void
print_resp(const struct acme_http_resp *r)
{
	json_t *o = json_object(), *links = json_array();
	char *s;
	size_t i;

	for (i = 0; i < r->nlinks; i++)
		json_array_append_new(links, json_string(r->links[i]));
	json_object_set_new(o, "status", json_integer(r->status));
	json_object_set_new(o, "len", json_integer((json_int_t)r->len));
	json_object_set_new(o, "content_type", json_string(r->content_type));
	json_object_set_new(o, "location", json_string(r->location));
	json_object_set_new(o, "nonce", json_string(r->nonce));
	json_object_set_new(o, "retry_after", json_integer(r->retry_after));
	json_object_set_new(o, "links", links);
	if (r->len <= 4096)
		json_object_set_new(o, "body",
		    json_stringn_nocheck(r->body, r->len));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (s != NULL)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

int
main(int argc, char **argv)
{
	struct acme_problem prob = { 0 };
	struct acme_http *h;
	const char *ca = NULL;
	int i = 1, rc = 0;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 2 && strcmp(argv[1], "--ca") == 0) {
		ca = argv[2];
		i = 3;
	}
	if (i >= argc || (argc - i) % 2 != 0) {
		fprintf(stderr, "usage: anvil-http-probe [--ca FILE] "
				"(GET|HEAD|POST=BODY) URL ...\n");
		return 2;
	}
	if ((h = acme_http_new(ca, "anvil-http-probe")) == NULL) {
		fprintf(stderr, "anvil-http-probe: cannot create the client\n");
		return 1;
	}
	for (; i < argc && rc == 0; i += 2) {
		struct acme_http_resp r;
		const char *m = argv[i], *body = NULL;

		if (strncmp(m, "POST=", 5) == 0) {
			body = m + 5;
			m = "POST";
		}
		if (acme_http_request(h, m, argv[i + 1], body,
			body != NULL ? strlen(body) : 0, &r, &prob) != 0) {
			fprintf(stderr, "anvil-http-probe: %s: %s\n",
			    acme_problem_type_name(prob.type), prob.detail);
			rc = 1;
		} else
			print_resp(&r);
		acme_http_resp_release(&r);
	}
	acme_problem_release(&prob);
	acme_http_free(h);
	return rc;
}
