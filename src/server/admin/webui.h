/* SPDX-License-Identifier: ISC */
/*
 * The operator page on admin_listen (D86): read-only HTML, a little
 * JavaScript and JSON behind a login against admin_password_hash.
 * Everything the listener serves but /metrics comes here.
 *
 *   GET  /                 the page (a session, else 303 to /login)
 *   GET  /login            the login form;  POST /login  password=...
 *   POST /logout           ends the session
 *   GET  /static/NAME      the page's script and style sheet
 *   GET  /api/rates        issuances and failures per minute
 *   GET  /api/failures     failures by problem type
 *   GET  /api/validations  the last validations and their errors
 *   GET  /api/certs?name=N certificates whose order named N
 *
 * The API answers 401 without a session; with no admin_password_hash
 * every path is 404 with a problem saying how to turn the page on.
 */
#ifndef ANVIL_WEBUI_H
#define ANVIL_WEBUI_H

#include <stddef.h>

#include "../srv.h"

/* The session cookie's name. */
#define WEBUI_COOKIE "anvil_admin"

/* One request as the front end hands it over; all borrowed. */
struct webui_req {
	const struct conf *cfg; /* the request's snapshot (D89) */
	const char *method;
	const char *path;   /* without the query */
	const char *name;   /* the decoded "name" query argument, or NULL */
	const char *cookie; /* WEBUI_COOKIE's value, or NULL */
	const char *body;   /* NUL-terminated, body_len bytes */
	size_t body_len;
	const char *client_ip; /* "" when unknown */
};

/*
 * Answers rq into resp (status, body, headers) using rq's
 * configuration and srv's store, activity and login.  Always leaves a complete
 * reply; never changes the CA's state.
 */
void webui_dispatch(struct srv *srv, const struct webui_req *rq,
    struct resp *resp);

#endif
