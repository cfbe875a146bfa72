/* SPDX-License-Identifier: ISC */
/*
 * dnslib: libunbound and ldns through dlopen(3) (see dnslib.h, D45).
 * The sonames are the ones anvil was built against (DNSLIB_UNBOUND_SO,
 * DNSLIB_LDNS_SO, found by meson from the -dev packages' link names), so
 * a library of another ABI is refused here as the dynamic linker would.
 */
#define DNSLIB_IMPL
#include <dlfcn.h>
#include <pthread.h>

#include <anvil/err.h>

#include "dnslib.h"

struct dnslib dnslib;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded;

/* dlsym() of name into *slot; 0, or -1 with prob filled. */
static int
sym(void *h, const char *so, const char *name, void **slot,
    struct acme_problem *prob)
{
	if ((*slot = dlsym(h, name)) != NULL)
		return 0;
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "dns-01: %s has no %s", so, name);
	return -1;
}

static int
load(struct acme_problem *prob)
{
	void *ub, *ld;

	if ((ub = dlopen(DNSLIB_UNBOUND_SO, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (ld = dlopen(DNSLIB_LDNS_SO, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "dns-01 needs %s and %s: %s", DNSLIB_UNBOUND_SO,
		    DNSLIB_LDNS_SO, dlerror());
		return -1;
	}
	/* The handles stay open for the life of the process. */
#define DNSLIB_SYM(f)                                                          \
	if (sym(ub, DNSLIB_UNBOUND_SO, #f, (void **)&dnslib.p_##f, prob) != 0) \
		return -1;
	DNSLIB_UNBOUND_FUNCS(DNSLIB_SYM)
#undef DNSLIB_SYM
#define DNSLIB_SYM(f)                                                          \
	if (sym(ld, DNSLIB_LDNS_SO, #f, (void **)&dnslib.p_##f, prob) != 0)    \
		return -1;
	DNSLIB_LDNS_FUNCS(DNSLIB_SYM)
	DNSLIB_SYM(ldns_rcodes)
#undef DNSLIB_SYM
	return 0;
}

int
dnslib_load(struct acme_problem *prob)
{
	int rc = 0;

	pthread_mutex_lock(&load_lock);
	if (!loaded) {
		if (load(prob) == 0)
			loaded = 1;
		else
			rc = ACME_ERR_UNSUPPORTED;
	}
	pthread_mutex_unlock(&load_lock);
	return rc;
}
