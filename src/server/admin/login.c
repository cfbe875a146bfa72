/* SPDX-License-Identifier: ISC */
/*
 * Sessions, passwords and throttling of the operator page (see
 * login.h, D86).
 */
#include <crypt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <anvil/err.h>

#include "login.h"
#include "../srvlimits.h"

#include "internal.h"

struct session {
	char token[LOGIN_TOKEN_LEN + 1]; /* "" for a free slot */
	uint64_t key;                    /* srv_hash() of the password hash */
	time_t expires;
};

struct addr_fails {
	char addr[INET6_ADDRSTRLEN]; /* "" for a free slot */
	int fails;                   /* in a row */
	time_t until;                /* must wait until then, 0: need not */
	time_t last; /* of its last failure, to pick the stalest */
};

struct login {
	pthread_mutex_t mu;
	struct session sessions[LOGIN_SESSIONS_MAX];
	struct addr_fails addrs[LOGIN_ADDRS_MAX];
};

struct login *
login_new(void)
{
	struct login *l = calloc(1, sizeof(*l));

	if (l != NULL)
		pthread_mutex_init(&l->mu, NULL);
	return l;
}

void
login_free(struct login *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	acme_wipe(l, sizeof(*l));
	free(l);
}

int
login_hash_usable(const char *hash)
{
	int ok = crypt_checksalt(hash);

	return hash[0] == '$' &&
	       (ok == CRYPT_SALT_OK || ok == CRYPT_SALT_METHOD_LEGACY);
}

int
login_hash(const char *password, char *out, size_t size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	int rc = ACME_ERR_INVAL;

	/* NULL prefix: libcrypt's default method (yescrypt on Debian 12). */
	if (crypt_gensalt_rn(NULL, 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return ACME_ERR_INVAL;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return ACME_ERR_NOMEM;
	if (crypt_rn(password, salt, cd, sizeof(*cd)) != NULL &&
	    cd->output[0] == '$' &&
	    snprintf(out, size, "%s", cd->output) < (int)size)
		rc = 0;
	acme_wipe(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int
login_password_ok(const char *hash, const char *password)
{
	struct crypt_data *cd;
	size_t n = strlen(hash);
	int ok = 0;

	if (!login_hash_usable(hash) || (cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	/* crypt_rn returns NULL, never a "*0" failure token, on error. */
	if (crypt_rn(password, hash, cd, sizeof(*cd)) != NULL &&
	    strlen(cd->output) == n && CRYPTO_memcmp(cd->output, hash, n) == 0)
		ok = 1;
	acme_wipe(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* addr's slot, or NULL when it has none and make is 0. */
static struct addr_fails *
addr_slot(struct login *l, const char *addr, int make)
{
	struct addr_fails *stalest = &l->addrs[0];
	size_t i;

	for (i = 0; i < LOGIN_ADDRS_MAX; i++) {
		struct addr_fails *a = &l->addrs[i];

		if (a->addr[0] != '\0' && strcmp(a->addr, addr) == 0)
			return a;
		if (a->addr[0] == '\0' ||
		    (stalest->addr[0] != '\0' && a->last < stalest->last))
			stalest = a;
	}
	if (!make)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	snprintf(stalest->addr, sizeof(stalest->addr), "%s", addr);
	return stalest;
}

long
login_wait(struct login *l, const char *addr, time_t now)
{
	struct addr_fails *a;
	long wait = 0;

	pthread_mutex_lock(&l->mu);
	if ((a = addr_slot(l, addr, 0)) != NULL && a->until > now)
		wait = (long)(a->until - now);
	pthread_mutex_unlock(&l->mu);
	return wait;
}

void
login_failed(struct login *l, const char *addr, time_t now)
{
	struct addr_fails *a;

	pthread_mutex_lock(&l->mu);
	a = addr_slot(l, addr, 1);
	a->last = now;
	if (++a->fails >= LOGIN_FAILS_MAX) {
		a->until = now + LOGIN_LOCK_SECONDS;
		a->fails = 0;
	}
	pthread_mutex_unlock(&l->mu);
}

void
login_succeeded(struct login *l, const char *addr)
{
	struct addr_fails *a;

	pthread_mutex_lock(&l->mu);
	if ((a = addr_slot(l, addr, 0)) != NULL)
		memset(a, 0, sizeof(*a));
	pthread_mutex_unlock(&l->mu);
}

int
login_session_new(struct login *l, uint64_t key, time_t now,
    char token[LOGIN_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[LOGIN_TOKEN_BYTES];
	struct session *s;
	size_t i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return ACME_ERR_CRYPTO;
	for (i = 0; i < sizeof(raw); i++) {
		token[HEX_PER_BYTE * i] = hex[raw[i] >> 4];
		token[HEX_PER_BYTE * i + 1] = hex[raw[i] & 0x0f];
	}
	token[LOGIN_TOKEN_LEN] = '\0';
	acme_wipe(raw, sizeof(raw));
	pthread_mutex_lock(&l->mu);
	/* A free or expired slot, else the one closest to its end. */
	s = &l->sessions[0];
	for (i = 0; i < LOGIN_SESSIONS_MAX; i++)
		if (l->sessions[i].expires < s->expires)
			s = &l->sessions[i];
	memcpy(s->token, token, LOGIN_TOKEN_LEN + 1);
	s->key = key;
	s->expires = now + LOGIN_SESSION_SECONDS;
	pthread_mutex_unlock(&l->mu);
	return 0;
}

/* token's live slot, or NULL; every slot is compared, in constant time. */
static struct session *
session_find(struct login *l, const char *token, time_t now)
{
	struct session *found = NULL;
	size_t i;

	if (token == NULL || strlen(token) != LOGIN_TOKEN_LEN)
		return NULL;
	for (i = 0; i < LOGIN_SESSIONS_MAX; i++) {
		struct session *s = &l->sessions[i];

		if (s->token[0] != '\0' && s->expires > now &&
		    CRYPTO_memcmp(s->token, token, LOGIN_TOKEN_LEN) == 0)
			found = s;
	}
	return found;
}

int
login_session_ok(struct login *l, const char *token, uint64_t key, time_t now)
{
	struct session *s;
	int ok;

	pthread_mutex_lock(&l->mu);
	s = session_find(l, token, now);
	ok = s != NULL && s->key == key;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

void
login_session_end(struct login *l, const char *token)
{
	struct session *s;

	pthread_mutex_lock(&l->mu);
	/* now 0: an expired session is ended too. */
	if ((s = session_find(l, token, 0)) != NULL)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&l->mu);
}

/*
 * One line of f into buf (size bytes) without its end of line; with
 * quiet, f a terminal, and echo off meanwhile.  0, or -1 at end of
 * input or for a line too long.
 */
static int
read_line(FILE *f, char *buf, size_t size, int quiet)
{
	struct termios old, off;
	int restore = 0, rc = -1;
	size_t n;

	if (quiet && tcgetattr(fileno(f), &old) == 0) {
		off = old;
		off.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(f), TCSAFLUSH, &off) == 0;
	}
	if (fgets(buf, (int)size, f) != NULL) {
		n = strlen(buf);
		if (n > 0 && buf[n - 1] == '\n') {
			buf[--n] = '\0';
			if (n > 0 && buf[n - 1] == '\r')
				buf[--n] = '\0';
			rc = 0;
		} else if (feof(f))
			rc = 0; /* the last line, without its newline */
	}
	if (restore) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

int
login_passwd_main(int argc, char **argv)
{
	char pw[LOGIN_PASSWORD_MAX], again[LOGIN_PASSWORD_MAX];
	char hash[LOGIN_HASH_MAX];
	int tty = isatty(STDIN_FILENO), rc = 1;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: anvil-ca admin passwd\n");
		return EXIT_USAGE;
	}
	if (tty)
		fputs("password: ", stderr);
	if (read_line(stdin, pw, sizeof(pw), tty) != 0) {
		fprintf(stderr,
		    "anvil-ca: passwd: no password read (one line "
		    "shorter than %d bytes)\n",
		    LOGIN_PASSWORD_MAX);
		goto out;
	}
	if (tty) {
		fputs("again: ", stderr);
		if (read_line(stdin, again, sizeof(again), 1) != 0 ||
		    strcmp(pw, again) != 0) {
			fprintf(stderr,
			    "anvil-ca: passwd: the passwords differ\n");
			goto out;
		}
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "anvil-ca: passwd: the password is empty\n");
		goto out;
	}
	if (login_hash(pw, hash, sizeof(hash)) != 0) {
		fprintf(stderr, "anvil-ca: passwd: crypt(3) failed\n");
		goto out;
	}
	printf("%s\n", hash);
	rc = 0;
out:
	acme_wipe(pw, sizeof(pw));
	acme_wipe(again, sizeof(again));
	return rc;
}
