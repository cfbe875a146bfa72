/* SPDX-License-Identifier: ISC */
/*
 * The directory (RFC 8555 7.1.1, with meta.profiles from
 * draft-ietf-acme-profiles) and newNonce (7.2) resources.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"
#include "../ca/profile.h"
#include "../http/reply.h"
#include "../paths.h"

#include "internal.h"

/* Bytes of a directory URL (base and path), NUL included; as URL_MAX. */
#define DIR_URL_MAX 1024

static json_t *
url(const struct req *req, const char *path)
{
	char buf[DIR_URL_MAX];

	if (snprintf(buf, sizeof(buf), "%s%s", req->base, path) >=
	    (int)sizeof(buf))
		return NULL;
	return json_string(buf);
}

/* The caaIdentities list from the comma-separated configuration. */
static json_t *
caa_identities(const char *list)
{
	json_t *a = json_array();
	const char *p = list, *e;

	while (a != NULL && *p != '\0') {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		if (e > p)
			json_array_append_new(a,
			    json_stringn(p, (size_t)(e - p)));
		p = *e == ',' ? e + 1 : e;
	}
	return a;
}

void
h_directory(struct srv *srv, struct req *req, struct resp *resp)
{
	const struct conf *c = req->cfg;
	json_t *dir, *meta;

	(void)srv;
	meta = json_object();
	if (meta != NULL) {
		if (c->terms_of_service[0] != '\0')
			json_object_set_new(meta, "termsOfService",
			    json_string(c->terms_of_service));
		if (c->website[0] != '\0')
			json_object_set_new(meta, "website",
			    json_string(c->website));
		if (c->caa_identities[0] != '\0')
			json_object_set_new(meta, "caaIdentities",
			    caa_identities(c->caa_identities));
		json_object_set_new(meta, "externalAccountRequired",
		    json_boolean(c->external_account_required));
		/* S-PROF-1: name -> description, retired ones left out. */
		json_object_set_new(meta, "profiles",
		    profile_set_meta(&c->profiles));
	}
	dir = json_object();
	if (dir != NULL) {
		json_object_set_new(dir, "newNonce", url(req, PATH_NEW_NONCE));
		json_object_set_new(dir, "newAccount",
		    url(req, PATH_NEW_ACCOUNT));
		json_object_set_new(dir, "newOrder", url(req, PATH_NEW_ORDER));
		json_object_set_new(dir, "revokeCert", url(req, PATH_REVOKE));
		json_object_set_new(dir, "keyChange",
		    url(req, PATH_KEY_CHANGE));
		json_object_set_new(dir, "newAuthz", url(req, PATH_NEW_AUTHZ));
		json_object_set_new(dir, "renewalInfo",
		    url(req, PATH_RENEWAL_INFO)); /* S-ARI-1 */
		json_object_set_new(dir, "meta", meta);
		meta = NULL;
	}
	json_decref(meta);
	if (reply_json(resp, HTTP_OK, dir) == 0)
		reply_header(resp, "Cache-Control",
		    "public, max-age=0, no-cache");
}

void
h_new_nonce(struct srv *srv, struct req *req, struct resp *resp)
{
	(void)srv;
	/* HEAD: 200 (RFC 8555 7.2 SHOULD); GET and POST-as-GET: 204. */
	resp->status =
	    strcmp(req->method, "HEAD") == 0 ? HTTP_OK : HTTP_NO_CONTENT;
	resp->content_type = NULL;
	reply_header(resp, "Cache-Control", "no-store");
}
