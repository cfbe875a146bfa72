/* SPDX-License-Identifier: ISC */
/*
 * TSIG key files (see tsig_key.h): a small tokenizer for BIND's
 * configuration syntax, enough for key statements and for skipping any
 * other statement, and the one-line colon forms.  The secret stays in
 * its base64 text form because that is what ldns signs with; it is only
 * checked to be canonical base64 here.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <anvil/err.h>
#include <anvil/fileio.h>

#include "tsig_key.h"

#include "internal.h"

#define KEYFILE_MAX (64 * 1024) /* bytes; a key file is a few lines */

enum tok { T_EOF, T_WORD, T_STRING, T_PUNCT, T_ERROR };

struct lexer {
	const char *p, *end;
	int line;
	char tok[TSIG_SECRET_MAX + 2]; /* the current token's text */
	const char *why;               /* set with T_ERROR */
};

static int
is_punct(char c)
{
	return c == '{' || c == '}' || c == ';';
}

/* Skips blanks and the three comment styles; 0 or -1 (open comment). */
static int
skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (isspace((unsigned char)c)) {
			lx->p++;
		} else if (c == '#' || (c == '/' && lx->p + 1 < lx->end &&
					   lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			for (lx->p += 2;; lx->p++) {
				if (lx->p + 1 >= lx->end)
					return -1;
				if (*lx->p == '\n')
					lx->line++;
				if (lx->p[0] == '*' && lx->p[1] == '/')
					break;
			}
			lx->p += 2;
		} else {
			break;
		}
	}
	return 0;
}

/* Reads the next token into lx->tok. */
static enum tok
next(struct lexer *lx)
{
	size_t n = 0;

	lx->tok[0] = '\0';
	if (skip_space(lx) != 0) {
		lx->why = "unterminated /* comment";
		return T_ERROR;
	}
	if (lx->p >= lx->end)
		return T_EOF;
	if (is_punct(*lx->p)) {
		lx->tok[0] = *lx->p++;
		lx->tok[1] = '\0';
		return T_PUNCT;
	}
	if (*lx->p == '"') {
		for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++) {
			if (*lx->p == '\n') {
				lx->why = "line break inside a quoted string";
				return T_ERROR;
			}
			if (n + 1 >= sizeof(lx->tok)) {
				lx->why = "quoted string too long";
				return T_ERROR;
			}
			lx->tok[n++] = *lx->p;
		}
		if (lx->p >= lx->end) {
			lx->why = "unterminated quoted string";
			return T_ERROR;
		}
		lx->p++;
		lx->tok[n] = '\0';
		return T_STRING;
	}
	while (lx->p < lx->end && !isspace((unsigned char)*lx->p) &&
	       !is_punct(*lx->p) && *lx->p != '"' && *lx->p != '#') {
		if (n + 1 >= sizeof(lx->tok)) {
			lx->why = "word too long";
			return T_ERROR;
		}
		lx->tok[n++] = *lx->p++;
	}
	lx->tok[n] = '\0';
	return T_WORD;
}

/* Letters, digits, '-' and '_' in labels of 1 to 63; no trailing dot. */
static int
name_ok(char *name)
{
	size_t n = strlen(name), label = 0, i;

	if (n > 1 && name[n - 1] == '.')
		name[--n] = '\0';
	if (n == 0 || n > TSIG_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* Canonical padded base64 (RFC 4648 section 4) of at least one byte. */
static int
secret_ok(const char *s)
{
	size_t n = strlen(s), i, pad = 0;

	if (n < 4 || n % 4 != 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || !(isalnum(c) || c == '+' || c == '/'))
			return 0;
	}
	return pad <= 2;
}

/*
 * Maps an algorithm name (any case, optional trailing dot) to the form
 * kept in struct tsig_key.  Returns NULL and sets *why when refused.
 */
static const char *
alg_canonical(const char *in, int *weak, const char **why)
{
	static const struct {
		const char *name;
		int weak;
		const char *refused; /* NULL: accepted */
	} algs[] = {
		{ "hmac-sha256", 0, NULL },
		{ "hmac-sha512", 0, NULL },
		{ "hmac-sha1", 1, NULL },
		{ "hmac-md5", 0,
		    "hmac-md5 is broken; make a new key with tsig-keygen" },
		{ "hmac-md5.sig-alg.reg.int", 0,
		    "hmac-md5 is broken; make a new key with tsig-keygen" },
		{ "hmac-sha224", 0,
		    "hmac-sha224 is not supported (use hmac-sha256)" },
		{ "hmac-sha384", 0,
		    "hmac-sha384 is not supported by ldns (use hmac-sha256 "
		    "or hmac-sha512)" },
	};
	size_t n = strlen(in), i;

	if (n > 0 && in[n - 1] == '.')
		n--;
	for (i = 0; i < ACME_ARRAY_LEN(algs); i++)
		if (strlen(algs[i].name) == n &&
		    strncasecmp(in, algs[i].name, n) == 0) {
			*weak = algs[i].weak;
			*why = algs[i].refused;
			return algs[i].refused == NULL ? algs[i].name : NULL;
		}
	*why = "unknown TSIG algorithm (use hmac-sha256 or hmac-sha512)";
	return NULL;
}

/* Sets k's algorithm from text; 0 or -1 with *why set. */
static int
set_alg(struct tsig_key *k, const char *text, const char **why)
{
	const char *alg = alg_canonical(text, &k->weak, why);

	if (alg == NULL)
		return -1;
	snprintf(k->alg, sizeof(k->alg), "%s", alg);
	return 0;
}

/* Sets k's secret from text; 0 or -1 with *why set. */
static int
set_secret(struct tsig_key *k, const char *secret, const char **why)
{
	if (snprintf(k->secret, sizeof(k->secret), "%s", secret) >=
	    (int)sizeof(k->secret)) {
		*why = "the secret is too long";
		return -1;
	}
	if (!secret_ok(k->secret)) {
		*why = "the secret is not base64";
		return -1;
	}
	return 0;
}

/* Sets k's name and secret from text; 0 or -1 with *why set. */
static int
set_name_secret(struct tsig_key *k, const char *name, const char *secret,
    const char **why)
{
	if (snprintf(k->name, sizeof(k->name), "%s", name) >=
		(int)sizeof(k->name) ||
	    !name_ok(k->name)) {
		*why = "bad key name";
		return -1;
	}
	return set_secret(k, secret, why);
}

/* "ALG:NAME:SECRET", "NAME:ALG:SECRET" or "NAME:SECRET". */
static int
parse_colon(char *line, struct tsig_key *k, const char **why)
{
	char *f[3];
	size_t n = 0;
	int weak;
	const char *ignored;

	f[n++] = line;
	for (char *p = line; *p != '\0'; p++)
		if (*p == ':') {
			if (n == 3) {
				*why = "more than three ':'-separated fields";
				return -1;
			}
			*p = '\0';
			f[n++] = p + 1;
		}
	if (n == 2) {
		snprintf(k->alg, sizeof(k->alg), "hmac-sha256");
		return set_name_secret(k, f[0], f[1], why);
	}
	if (alg_canonical(f[0], &weak, &ignored) != NULL ||
	    strncasecmp(f[0], "hmac-", 5) == 0)
		return set_alg(k, f[0], why) != 0 ?
			   -1 :
			   set_name_secret(k, f[1], f[2], why);
	if (set_alg(k, f[1], why) != 0)
		return -1;
	return set_name_secret(k, f[0], f[2], why);
}

/*
 * Skips one statement whose first token is already read: up to the ';'
 * that ends it outside braces.
 */
static int
skip_statement(struct lexer *lx, enum tok t)
{
	int depth = 0, line = lx->line;

	for (;; t = next(lx)) {
		if (t == T_ERROR)
			return -1;
		if (t == T_EOF) {
			/* Report where it began: that is what to fix. */
			lx->line = line;
			lx->why =
			    "a statement without its ';' (expected key "
			    "\"NAME\" { algorithm ...; secret \"...\"; };)";
			return -1;
		}
		if (t != T_PUNCT)
			continue;
		if (lx->tok[0] == '{')
			depth++;
		else if (lx->tok[0] == '}' && --depth < 0) {
			lx->why = "unbalanced '}'";
			return -1;
		} else if (lx->tok[0] == ';' && depth == 0)
			return 0;
	}
}

static int
expect_punct(struct lexer *lx, char c, const char *why)
{
	enum tok t = next(lx);

	if (t == T_ERROR)
		return -1;
	if (t != T_PUNCT || lx->tok[0] != c) {
		lx->why = why;
		return -1;
	}
	return 0;
}

/* The rest of a key statement, after the word "key". */
static int
parse_key_statement(struct lexer *lx, struct tsig_key *k)
{
	char name[TSIG_NAME_MAX + 2];
	int have_alg = 0, have_secret = 0;
	enum tok t;

	t = next(lx);
	if (t != T_WORD && t != T_STRING) {
		lx->why = t == T_ERROR ? lx->why : "expected the key's name";
		return -1;
	}
	if (snprintf(name, sizeof(name), "%s", lx->tok) >= (int)sizeof(name) ||
	    !name_ok(name)) {
		lx->why = "bad key name";
		return -1;
	}
	memcpy(k->name, name, strlen(name) + 1); /* name_ok: it fits */
	if (expect_punct(lx, '{', "expected '{' after the key's name") != 0)
		return -1;
	while ((t = next(lx)) != T_PUNCT || lx->tok[0] != '}') {
		int is_alg = t == T_WORD && strcmp(lx->tok, "algorithm") == 0;

		if (t == T_ERROR)
			return -1;
		if (t != T_WORD ||
		    (!is_alg && strcmp(lx->tok, "secret") != 0)) {
			lx->why = t == T_EOF ? "unterminated key statement" :
					       "expected algorithm or secret";
			return -1;
		}
		t = next(lx);
		if (t != T_WORD && t != T_STRING) {
			lx->why = t == T_ERROR ? lx->why :
				  is_alg       ? "expected an algorithm name" :
						 "expected the secret";
			return -1;
		}
		if (is_alg) {
			if (set_alg(k, lx->tok, &lx->why) != 0)
				return -1;
			have_alg = 1;
		} else {
			if (set_secret(k, lx->tok, &lx->why) != 0)
				return -1;
			have_secret = 1;
		}
		if (expect_punct(lx, ';', "expected ';'") != 0)
			return -1;
	}
	if (!have_alg || !have_secret) {
		lx->why = have_alg ? "the key has no secret" :
				     "the key has no algorithm";
		return -1;
	}
	return expect_punct(lx, ';', "expected ';' after the key statement");
}

static int
parse_bind(const char *text, size_t len, struct tsig_key *k,
    struct acme_problem *prob)
{
	struct lexer lx = { .p = text, .end = text + len, .line = 1 };
	int nkeys = 0, rc = ACME_ERR_INVAL, first_line = 0;
	enum tok t;

	while ((t = next(&lx)) != T_EOF) {
		if (t == T_WORD && strcmp(lx.tok, "key") == 0) {
			if (nkeys++ > 0) {
				acme_problem_set(prob, ACME_PROB_MALFORMED,
				    "line %d: a second key statement (the "
				    "file must hold one key; the first is on "
				    "line %d)",
				    lx.line, first_line);
				goto out;
			}
			first_line = lx.line;
			if (parse_key_statement(&lx, k) != 0)
				goto syntax;
		} else if (skip_statement(&lx, t) != 0) {
			goto syntax;
		}
	}
	if (nkeys == 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "no key statement (expected key \"NAME\" { algorithm "
		    "hmac-sha256; secret \"...\"; };)");
		goto out;
	}
	rc = 0;
	goto out;
syntax:
	acme_problem_set(prob, ACME_PROB_MALFORMED, "line %d: %s", lx.line,
	    lx.why != NULL ? lx.why : "syntax error");
out:
	acme_wipe(lx.tok, sizeof(lx.tok));
	return rc;
}

int
tsig_key_parse(const char *text, size_t len, struct tsig_key *k,
    struct acme_problem *prob)
{
	char line[TSIG_NAME_MAX + TSIG_SECRET_MAX + 64];
	const char *b = text, *e = text + len, *why = NULL, *p;
	int rc;

	memset(k, 0, sizeof(*k));
	if (memchr(text, '\0', len) != NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the key file holds a NUL byte");
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	for (p = b; p < e && !isspace((unsigned char)*p) && *p != '{'; p++)
		;
	/* One word with a ':' and nothing else: the colon form. */
	if (p == e && memchr(b, ':', (size_t)(e - b)) != NULL) {
		if ((size_t)(e - b) >= sizeof(line))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "the key line is too long");
		memcpy(line, b, (size_t)(e - b));
		line[e - b] = '\0';
		rc = parse_colon(line, k, &why);
		acme_wipe(line, sizeof(line));
		if (rc != 0) {
			tsig_key_wipe(k);
			return acme_problem_set(prob, ACME_PROB_MALFORMED, "%s",
			    why);
		}
		return 0;
	}
	if ((rc = parse_bind(text, len, k, prob)) != 0)
		tsig_key_wipe(k);
	return rc;
}

int
tsig_key_load(const char *path, struct tsig_key *k, struct acme_problem *prob)
{
	struct acme_problem p = { 0 };
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(k, 0, sizeof(*k));
	if (stat(path, &st) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "TSIG key %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "TSIG key %s: not a regular file", path);
	if ((st.st_mode & S_IRWXO) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "TSIG key %s is accessible by other users; chmod o-rwx %s",
		    path, path);
	if (acme_file_read(path, KEYFILE_MAX, &text, &len, &p) != 0) {
		rc = acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "TSIG key %s: %s", path, p.detail);
		goto out;
	}
	if ((rc = tsig_key_parse(text, len, k, &p)) != 0)
		acme_problem_set(prob, ACME_PROB_MALFORMED, "TSIG key %s: %s",
		    path, p.detail);
out:
	if (text != NULL)
		acme_wipe(text, len);
	free(text);
	acme_problem_release(&p);
	return rc;
}

void
tsig_key_wipe(struct tsig_key *k)
{
	acme_wipe(k, sizeof(*k));
}
