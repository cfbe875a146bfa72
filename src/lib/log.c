/* SPDX-License-Identifier: ISC */
/*
 * key=value line logging for the programs (see include/anvil/log.h).
 * The only process-wide state in libanvil: the destination, the minimum
 * level and the format, atomics because a reload changes them while
 * other threads log (D89).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <anvil/log.h>

#include "internal.h"

#define LINE_MAX_LEN 4096

static int log_fd = 2;
static enum acme_log_level log_min = ACME_LOG_INFO;
static int log_json;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
acme_log_init(int fd, enum acme_log_level min)
{
	__atomic_store_n(&log_fd, fd, __ATOMIC_RELAXED);
	__atomic_store_n(&log_min, min, __ATOMIC_RELAXED);
}

void
acme_log_set_json(int json)
{
	__atomic_store_n(&log_json, json != 0, __ATOMIC_RELAXED);
}

int
acme_log_enabled(enum acme_log_level level)
{
	return level >= __atomic_load_n(&log_min, __ATOMIC_RELAXED);
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

/* Appends s[0..n) to out as JSON string content; returns the new o. */
static size_t
json_str(char *out, size_t o, size_t size, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	return o;
}

/* A log value (bare, or quoted as acme_log_quote() does) unquoted. */
static size_t
unquote(const char **pp, char *val, size_t size)
{
	const char *p = *pp;
	size_t v = 0;

	if (*p != '"') {
		while (*p != '\0' && *p != ' ' && v + 1 < size)
			val[v++] = *p++;
		while (*p != '\0' && *p != ' ')
			p++;
	} else {
		for (p++; *p != '\0' && *p != '"'; p++) {
			char c = *p;

			if (c == '\\' && p[1] == 'x' && p[2] != '\0' &&
			    p[3] != '\0') {
				char hex[3] = { p[2], p[3], '\0' };

				c = (char)strtol(hex, NULL, 16);
				p += 3;
			} else if (c == '\\' && p[1] != '\0')
				c = *++p;
			if (v + 1 < size)
				val[v++] = c;
		}
		if (*p == '"')
			p++;
	}
	val[v] = '\0';
	*pp = p;
	return v;
}

static int
is_number(const char *s)
{
	size_t i = s[0] == '-' ? 1 : 0, digits = 0, dots = 0;

	for (; s[i] != '\0'; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] == '.' && digits > 0 && dots++ == 0)
			continue;
		else
			return 0;
	}
	/* No leading zeros (JSON), no trailing dot. */
	return digits > 0 && s[i - 1] != '.' &&
	       !(s[s[0] == '-'] == '0' && s[(s[0] == '-') + 1] >= '0' &&
		   s[(s[0] == '-') + 1] <= '9');
}

/*
 * The text line "TIME level=L msg=M k=v ..." as one JSON object: the
 * same fields, so both formats carry exactly the same information.
 */
static size_t
to_json(const char *line, char *out, size_t size)
{
	const char *p = strchr(line, ' ');
	char val[LINE_MAX_LEN];
	size_t o = 0, vn;

	o += (size_t)snprintf(out, size, "{\"time\":\"%.*s\"", (int)(p - line),
	    line);
	while (*p == ' ' && o + 16 < size) {
		const char *k = ++p, *eq;

		while (*p != '\0' && *p != ' ' && *p != '=')
			p++;
		if (p == k)
			continue;
		eq = p;
		out[o++] = ',';
		out[o++] = '"';
		o = json_str(out, o, size, k, (size_t)(eq - k));
		out[o++] = '"';
		out[o++] = ':';
		if (*eq != '=') {
			/* A word without a value. */
			o += (size_t)snprintf(out + o, size - o, "true");
			continue;
		}
		p++;
		vn = unquote(&p, val, sizeof(val));
		if (is_number(val))
			o += (size_t)snprintf(out + o, size - o, "%s", val);
		else {
			out[o++] = '"';
			o = json_str(out, o, size, val, vn);
			out[o++] = '"';
		}
	}
	if (o + 2 >= size)
		o = size - 3;
	out[o++] = '}';
	return o;
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

	if (!acme_log_enabled(level) || level > ACME_LOG_ERROR)
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
	if (__atomic_load_n(&log_json, __ATOMIC_RELAXED)) {
		char json[LINE_MAX_LEN * 4];

		line[n] = '\0';
		n = to_json(line, json, sizeof(json) - 1);
		json[n++] = '\n';
		if (write(__atomic_load_n(&log_fd, __ATOMIC_RELAXED), json, n) <
		    0)
			return;
		return;
	}
	line[n++] = '\n';
	/* One write per line; a short write to a pipe is not retried. */
	if (write(__atomic_load_n(&log_fd, __ATOMIC_RELAXED), line, n) < 0)
		return;
}
