/* SPDX-License-Identifier: ISC */
/*
 * One-line, key=value logging for the programs (anvil-ca, anvil,
 * anvil-bench).  Library modules never log: they fill problems, and the
 * programs decide what to say.  Each call writes one complete line with
 * a single write(2), so lines from threads never interleave.
 *
 *   2026-11-22T15:04:05.123Z level=info msg="listening" addr=127.0.0.1:14000
 */
#ifndef ANVIL_LOG_H
#define ANVIL_LOG_H

enum acme_log_level {
	ACME_LOG_DEBUG = 0,
	ACME_LOG_INFO,
	ACME_LOG_WARN,
	ACME_LOG_ERROR,
};

/*
 * Sets where lines go (a file descriptor, default 2) and the lowest level
 * written (default info).  May be called while other threads log (a
 * reload changes the level, D89).
 */
void acme_log_init(int fd, enum acme_log_level min);

/*
 * json nonzero: each line is one JSON object instead, {"time": ...,
 * "level": ..., "msg": ..., then every key=value pair}, values that are
 * decimal numbers as numbers, others as strings (D73).  Call before
 * starting threads, or from the only thread that logs at the time.
 */
void acme_log_set_json(int json);

/* Nonzero when lines at level would be written. */
int acme_log_enabled(enum acme_log_level level);

/*
 * Writes one line: timestamp, level, msg="..." and then the key=value
 * pairs formatted from fmt (the caller writes "k=%s k2=%d"; values with
 * spaces or quotes should go through acme_log_quote()).  fmt may be NULL.
 * Lines longer than 4 KiB are truncated.
 */
void acme_log(enum acme_log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Quotes s for a log value into out (size outsz): wraps it in double
 * quotes when it contains spaces, quotes, '=' or control bytes, escaping
 * quotes, backslashes and control bytes.  Returns out.
 */
const char *acme_log_quote(const char *s, char *out, unsigned outsz);

#endif
