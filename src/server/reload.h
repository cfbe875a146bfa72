/* SPDX-License-Identifier: ISC */
/*
 * What SIGHUP may change in a running anvil-ca (decision D67).  Settings
 * that a component reads once at start (the database, the issuer, the
 * validation workers, the addresses listened on, ...) keep their running
 * value until a restart; everything read per request takes effect.
 */
#ifndef ANVIL_RELOAD_H
#define ANVIL_RELOAD_H

#include "conf.h"

/*
 * Copies into next, a configuration just loaded, the running value of
 * every setting that needs a restart, logging one warning line
 * (msg="restart needed" key=NAME) for each that differs in cur.  The
 * blocked-keys list serve loaded is carried over too.  Returns how many
 * differed.
 */
int reload_keep_restart_only(const struct conf *cur, struct conf *next);

#endif
