/* SPDX-License-Identifier: ISC */
/*
 * The operator page's files (D86), from src/server/admin/www/ compiled
 * into anvil-ca by www/embed.py at build time: no build step of their
 * own, nothing read from disk when serving.
 */
#ifndef ANVIL_ASSETS_H
#define ANVIL_ASSETS_H

#include <stddef.h>

struct webui_asset {
	const char *name;         /* file name, e.g. "app.js" */
	const char *content_type; /* by its extension */
	const unsigned char *data;
	size_t len; /* data holds a NUL after len bytes */
};

extern const struct webui_asset webui_assets[];
extern const size_t webui_nassets;

#endif
