/* SPDX-License-Identifier: ISC */
/*
 * libunbound and ldns, loaded with dlopen(3) the first time a dns-01
 * solver opens (D45).  An issuance over http-01 or tls-alpn-01 never
 * maps them, nor the libraries they pull in (libevent, nettle, GMP and
 * a second, shared OpenSSL): half a MiB of anvil's resident pages.
 *
 * A solver includes this header after <unbound.h> and <ldns/ldns.h>,
 * calls dnslib_load() when it opens, and from then on calls the
 * libraries by their own names: each name below is defined to the
 * pointer dlsym(3) found for it.  A name not listed here does not
 * compile into a call through the table, it fails to link, as anvil
 * links neither library.
 */
#ifndef ANVIL_CLIENT_DNSLIB_H
#define ANVIL_CLIENT_DNSLIB_H

#include <ldns/ldns.h>
#include <unbound.h>

#include <anvil/problem.h>

/* Every function of the two libraries a solver calls. */
/* clang-format off */
#define DNSLIB_UNBOUND_FUNCS(X)                                           \
	X(ub_ctx_create) X(ub_ctx_delete) X(ub_ctx_resolvconf)             \
	X(ub_ctx_set_fwd) X(ub_ctx_set_option) X(ub_resolve)               \
	X(ub_resolve_free)
#define DNSLIB_LDNS_FUNCS(X)                                              \
	X(ldns_dname_compare) X(ldns_dname_new_frm_str)                    \
	X(ldns_get_errorstr_by_id) X(ldns_lookup_by_id)                    \
	X(ldns_pkt_answer) X(ldns_pkt_free) X(ldns_pkt_get_rcode)          \
	X(ldns_pkt_set_random_id) X(ldns_pkt_set_rd) X(ldns_pkt_tsig)      \
	X(ldns_rdf2native_int16) X(ldns_rdf_data) X(ldns_rdf_deep_free)    \
	X(ldns_rdf_new_frm_str) X(ldns_rdf_size)                           \
	X(ldns_resolver_deep_free) X(ldns_resolver_new)                    \
	X(ldns_resolver_push_nameserver) X(ldns_resolver_send)             \
	X(ldns_resolver_set_fallback) X(ldns_resolver_set_port)            \
	X(ldns_resolver_set_recursive) X(ldns_resolver_set_retrans)        \
	X(ldns_resolver_set_retry) X(ldns_resolver_set_timeout)            \
	X(ldns_resolver_set_tsig_algorithm)                                \
	X(ldns_resolver_set_tsig_keydata)                                  \
	X(ldns_resolver_set_tsig_keyname) X(ldns_resolver_tsig_keydata)    \
	X(ldns_rr_free) X(ldns_rr_get_type) X(ldns_rr_list_deep_free)      \
	X(ldns_rr_list_new) X(ldns_rr_list_push_rr) X(ldns_rr_list_rr)     \
	X(ldns_rr_list_rr_count) X(ldns_rr_new) X(ldns_rr_owner)           \
	X(ldns_rr_push_rdf) X(ldns_rr_rd_count) X(ldns_rr_rdf)             \
	X(ldns_rr_set_class) X(ldns_rr_set_owner) X(ldns_rr_set_ttl)       \
	X(ldns_rr_set_type) X(ldns_send) X(ldns_update_pkt_new)            \
	X(ldns_update_pkt_tsig_add)
/* clang-format on */

struct dnslib {
#define DNSLIB_PTR(f) __typeof__(f) *p_##f;
	DNSLIB_UNBOUND_FUNCS(DNSLIB_PTR)
	DNSLIB_LDNS_FUNCS(DNSLIB_PTR)
#undef DNSLIB_PTR
	ldns_lookup_table *p_ldns_rcodes; /* the one datum: rcode names */
};

extern struct dnslib dnslib;

/*
 * Loads both libraries and every symbol above, once per process; later
 * calls return at once.  0, or ACME_ERR_* with prob saying which library
 * or symbol is missing.
 */
int dnslib_load(struct acme_problem *prob);

#ifndef DNSLIB_IMPL
#define DNSLIB_CALL(f)                (*dnslib.p_##f)
#define ub_ctx_create                 DNSLIB_CALL(ub_ctx_create)
#define ub_ctx_delete                 DNSLIB_CALL(ub_ctx_delete)
#define ub_ctx_resolvconf             DNSLIB_CALL(ub_ctx_resolvconf)
#define ub_ctx_set_fwd                DNSLIB_CALL(ub_ctx_set_fwd)
#define ub_ctx_set_option             DNSLIB_CALL(ub_ctx_set_option)
#define ub_resolve                    DNSLIB_CALL(ub_resolve)
#define ub_resolve_free               DNSLIB_CALL(ub_resolve_free)
#define ldns_dname_compare            DNSLIB_CALL(ldns_dname_compare)
#define ldns_dname_new_frm_str        DNSLIB_CALL(ldns_dname_new_frm_str)
#define ldns_get_errorstr_by_id       DNSLIB_CALL(ldns_get_errorstr_by_id)
#define ldns_lookup_by_id             DNSLIB_CALL(ldns_lookup_by_id)
#define ldns_pkt_answer               DNSLIB_CALL(ldns_pkt_answer)
#define ldns_pkt_free                 DNSLIB_CALL(ldns_pkt_free)
#define ldns_pkt_get_rcode            DNSLIB_CALL(ldns_pkt_get_rcode)
#define ldns_pkt_set_random_id        DNSLIB_CALL(ldns_pkt_set_random_id)
#define ldns_pkt_set_rd               DNSLIB_CALL(ldns_pkt_set_rd)
#define ldns_pkt_tsig                 DNSLIB_CALL(ldns_pkt_tsig)
#define ldns_rdf2native_int16         DNSLIB_CALL(ldns_rdf2native_int16)
#define ldns_rdf_data                 DNSLIB_CALL(ldns_rdf_data)
#define ldns_rdf_deep_free            DNSLIB_CALL(ldns_rdf_deep_free)
#define ldns_rdf_new_frm_str          DNSLIB_CALL(ldns_rdf_new_frm_str)
#define ldns_rdf_size                 DNSLIB_CALL(ldns_rdf_size)
#define ldns_resolver_deep_free       DNSLIB_CALL(ldns_resolver_deep_free)
#define ldns_resolver_new             DNSLIB_CALL(ldns_resolver_new)
#define ldns_resolver_push_nameserver DNSLIB_CALL(ldns_resolver_push_nameserver)
#define ldns_resolver_send            DNSLIB_CALL(ldns_resolver_send)
#define ldns_resolver_set_fallback    DNSLIB_CALL(ldns_resolver_set_fallback)
#define ldns_resolver_set_port        DNSLIB_CALL(ldns_resolver_set_port)
#define ldns_resolver_set_recursive   DNSLIB_CALL(ldns_resolver_set_recursive)
#define ldns_resolver_set_retrans     DNSLIB_CALL(ldns_resolver_set_retrans)
#define ldns_resolver_set_retry       DNSLIB_CALL(ldns_resolver_set_retry)
#define ldns_resolver_set_timeout     DNSLIB_CALL(ldns_resolver_set_timeout)
#define ldns_resolver_set_tsig_algorithm                                       \
	DNSLIB_CALL(ldns_resolver_set_tsig_algorithm)
#define ldns_resolver_set_tsig_keydata                                         \
	DNSLIB_CALL(ldns_resolver_set_tsig_keydata)
#define ldns_resolver_set_tsig_keyname                                         \
	DNSLIB_CALL(ldns_resolver_set_tsig_keyname)
#define ldns_resolver_tsig_keydata DNSLIB_CALL(ldns_resolver_tsig_keydata)
#define ldns_rr_free               DNSLIB_CALL(ldns_rr_free)
#define ldns_rr_get_type           DNSLIB_CALL(ldns_rr_get_type)
#define ldns_rr_list_deep_free     DNSLIB_CALL(ldns_rr_list_deep_free)
#define ldns_rr_list_new           DNSLIB_CALL(ldns_rr_list_new)
#define ldns_rr_list_push_rr       DNSLIB_CALL(ldns_rr_list_push_rr)
#define ldns_rr_list_rr            DNSLIB_CALL(ldns_rr_list_rr)
#define ldns_rr_list_rr_count      DNSLIB_CALL(ldns_rr_list_rr_count)
#define ldns_rr_new                DNSLIB_CALL(ldns_rr_new)
#define ldns_rr_owner              DNSLIB_CALL(ldns_rr_owner)
#define ldns_rr_push_rdf           DNSLIB_CALL(ldns_rr_push_rdf)
#define ldns_rr_rd_count           DNSLIB_CALL(ldns_rr_rd_count)
#define ldns_rr_rdf                DNSLIB_CALL(ldns_rr_rdf)
#define ldns_rr_set_class          DNSLIB_CALL(ldns_rr_set_class)
#define ldns_rr_set_owner          DNSLIB_CALL(ldns_rr_set_owner)
#define ldns_rr_set_ttl            DNSLIB_CALL(ldns_rr_set_ttl)
#define ldns_rr_set_type           DNSLIB_CALL(ldns_rr_set_type)
#define ldns_send                  DNSLIB_CALL(ldns_send)
#define ldns_update_pkt_new        DNSLIB_CALL(ldns_update_pkt_new)
#define ldns_update_pkt_tsig_add   DNSLIB_CALL(ldns_update_pkt_tsig_add)
#define ldns_rcodes                (dnslib.p_ldns_rcodes)
#endif /* !DNSLIB_IMPL */

#endif /* ANVIL_CLIENT_DNSLIB_H */
