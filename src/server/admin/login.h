/* SPDX-License-Identifier: ISC */
/*
 * The operator page's login (D86): the password checked against
 * admin_password_hash, a crypt(3) hash; sessions named by a random
 * 256-bit token in a cookie; failed logins throttled per address.
 * All in memory: a restart logs everyone out.  Every function but
 * login_hash() and login_password_ok() takes the object's lock, so the
 * admin listener's threads may share one.
 */
#ifndef ANVIL_LOGIN_H
#define ANVIL_LOGIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Random bytes of a session token, and its hex characters. */
#define LOGIN_TOKEN_BYTES 32
#define HEX_PER_BYTE      2
#define LOGIN_TOKEN_LEN   (LOGIN_TOKEN_BYTES * HEX_PER_BYTE)
/* Seconds a session lasts from its login. */
#define LOGIN_SESSION_SECONDS (8 * 3600)
/* Sessions held at once; a new one past this ends the oldest. */
#define LOGIN_SESSIONS_MAX 32
/* Failed logins of one address before it must wait... */
#define LOGIN_FAILS_MAX 5
/* ...this many seconds. */
#define LOGIN_LOCK_SECONDS 60
/* Addresses whose failures are remembered; the stalest is forgotten. */
#define LOGIN_ADDRS_MAX 64
/* Bytes of a password, and of its hash (admin_password_hash's size). */
#define LOGIN_PASSWORD_MAX 1024
#define LOGIN_HASH_MAX     256

struct login;

/* A new, empty set of sessions, or NULL (out of memory). */
struct login *login_new(void);
/* Frees l; NULL is a no-op. */
void login_free(struct login *l);

/*
 * 1 when hash is a crypt(3) setting this system can check (yescrypt,
 * sha512-crypt...: crypt_checksalt() says OK or legacy), else 0.
 */
int login_hash_usable(const char *hash);

/*
 * Hashes password with libcrypt's preferred method and a fresh salt
 * into out (NUL-terminated).  Returns 0 or a negative error.
 */
int login_hash(const char *password, char *out, size_t size);

/*
 * 1 when password hashes to hash, else 0 (also for an unusable hash).
 * The result is compared in constant time.
 */
int login_password_ok(const char *hash, const char *password);

/*
 * Seconds addr must still wait before its next try (0: it may try
 * now); a failure past LOGIN_FAILS_MAX in a row makes it wait.
 */
long login_wait(struct login *l, const char *addr, time_t now);
/* Counts a failed login from addr; a success clears its count. */
void login_failed(struct login *l, const char *addr, time_t now);
void login_succeeded(struct login *l, const char *addr);

/*
 * Starts a session for the password hash whose srv_hash() is key and
 * writes its token (LOGIN_TOKEN_LEN hex characters and a NUL) into
 * token.  Returns 0 or a negative error (no randomness).
 */
int login_session_new(struct login *l, uint64_t key, time_t now,
    char token[LOGIN_TOKEN_LEN + 1]);
/*
 * 1 when token (NULL: none) names a live session started under key,
 * else 0: a changed password hash ends every session.
 */
int login_session_ok(struct login *l, const char *token, uint64_t key,
    time_t now);
/* Ends token's session, if any. */
void login_session_end(struct login *l, const char *token);

/*
 * "anvil-ca admin passwd" (argv[0] "passwd"): reads a password, twice
 * without echo from a terminal, else one line of standard input, and
 * prints its hash for admin_password_hash.  Exit 0, 1 when it cannot,
 * 2 on a usage error.
 */
int login_passwd_main(int argc, char **argv);

#endif
