/* SPDX-License-Identifier: ISC */
/* Restart-only settings across a reload (see reload.h, D67). */
#include <stddef.h>
#include <string.h>

#include <anvil/log.h>

#include "reload.h"

struct fixed {
	const char *name;
	size_t off;
	size_t size; /* bytes copied */
	int str;     /* a NUL-terminated string: bytes past it are noise */
};

#define S(n, f)                                                                \
	{                                                                      \
		n, offsetof(struct conf, f), sizeof(((struct conf *)0)->f), 1  \
	}
#define I(n, f)                                                                \
	{                                                                      \
		n, offsetof(struct conf, f), sizeof(((struct conf *)0)->f), 0  \
	}

/* Read once by serve, the store, the issuer, the VA or the audit log. */
static const struct fixed fixed[] = {
	S("listen", listen),
	S("database", database),
	I("database_pool", database_pool),
	S("crl_http_listen", crl_http_listen),
	S("admin_listen", admin_listen),
	I("admin_tls", admin_tls),
	S("crl_url", crl_url),
	S("root_cert", root_cert),
	S("issuer_cert", issuer_cert),
	S("issuer_key", issuer_key),
	S("alt_chain", alt_chain),
	S("audit_log", audit_log),
	S("resolver", resolver),
	S("dnssec_trust_anchor", dnssec_trust_anchor),
	S("blocked_keys_file", blocked_keys_file),
	I("validation_workers", validation_workers),
	I("validation_per_account", validation_per_account),
	I("caa_cache_seconds", caa_cache_seconds),
};

int
reload_keep_restart_only(const struct conf *cur, struct conf *next)
{
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const char *a = (const char *)cur + fixed[i].off;
		char *b = (char *)next + fixed[i].off;

		if (fixed[i].str ? strcmp(a, b) == 0 :
				   memcmp(a, b, fixed[i].size) == 0)
			continue;
		acme_log(ACME_LOG_WARN, "restart needed",
		    "key=%s detail=\"the running value stays until a restart\"",
		    fixed[i].name);
		memcpy(b, a, fixed[i].size);
		n++;
	}
	next->blocked_keys = cur->blocked_keys;
	return n;
}
