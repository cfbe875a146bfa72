/* SPDX-License-Identifier: ISC */
/*
 * key=value line logging for the programs (see include/anvil/log.h).
 * The only process-wide state in libanvil: the destination and the
 * minimum level, set once before threads start.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <anvil/log.h>

#include "internal.h"

#define LINE_MAX_LEN 4096

static int log_fd = 2;
static enum acme_log_level log_min = ACME_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
acme_log_init(int fd, enum acme_log_level min)
{
	log_fd = fd;
	log_min = min;
}

int
acme_log_enabled(enum acme_log_level level)
{
	return level >= log_min;
}

const char *
acme_log_quote(const char *s, char *out, unsigned outsz)
{
	const char *p;
	size_t o = 0;
	int need = (*s == '\0');

	if (outsz == 0)
		return out;
	for (p = s; *p != '\0' && !need; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' ||
		    *p == '\\' || (unsigned char)*p == 0x7f)
			need = 1;
	if (!need) {
		snprintf(out, outsz, "%s", s);
		return out;
	}
	/* Room for the closing quote and the NUL is kept at each step. */
	if (o + 3 > outsz)
		goto done;
	out[o++] = '"';
	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[8];
		size_t n;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else if (c < ' ' || c == 0x7f) {
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
		} else {
			esc[0] = (char)c;
			n = 1;
		}
		if (o + n + 2 > outsz)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o++] = '"';
done:
	out[o] = '\0';
	return out;
}

void
acme_log(enum acme_log_level level, const char *msg, const char *fmt, ...)
{
	char line[LINE_MAX_LEN], qmsg[512];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int r;

	if (level < log_min || level > ACME_LOG_ERROR)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	r = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
	    acme_log_quote(msg != NULL ? msg : "", qmsg, sizeof(qmsg)));
	if (r < 0)
		return;
	n = (size_t)r < sizeof(line) - 2 ? (size_t)r : sizeof(line) - 2;
	if (fmt != NULL && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n - 1 ?
				 (size_t)r :
				 sizeof(line) - n - 2;
	}
	line[n++] = '\n';
	/* One write per line; a short write to a pipe is not retried. */
	if (write(log_fd, line, n) < 0)
		return;
}
