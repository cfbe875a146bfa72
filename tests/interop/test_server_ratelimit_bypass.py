# SPDX-License-Identifier: ISC
"""The ways around anvil-ca's rate limits that the 2026-12 review found
(#7), closed (D57): an ARI renewal is exempt only when it names exactly
the replaced certificate's identifiers and is the first order to
replace it, so an invalid renewal frees nothing; a pre-authorization
(newAuthz) meets the new-order and failed-validation limits.  Driven by
raw signed requests, as test_server_ratelimits.py."""
from acmehelp import Account, Client
from test_server_ari import cert_id, issue
from test_server_orders import answer_all, problem
from test_server_ratelimits import limited, limited_by  # noqa: F401


def deactivate_authzs(acct, order):
    """So that a renewal needs a new validation (no reuse)."""
    for az in order["authorizations"]:
        r = acct.post(az, {"status": "deactivated"})
        assert r.json()["status"] == "deactivated", r.text


def test_S_ARI_16_D57_renewal_with_more_names_is_not_exempt(limited):
    ca, resp = limited({"new_orders_per_account":
                        {"count": 1, "window": 3600}})
    acct = Account(Client(ca))
    cert, _ = issue(acct, resp, ["ren.example.com"])
    limited_by(acct.new_order(["other.example.com"]), "new orders")
    # Sharing one name is enough to replace (RFC 9773), not to be exempt.
    r = acct.new_order(["ren.example.com", "extra.example.com"],
                       replaces=cert_id(cert))
    limited_by(r, "new orders for this account")
    r = acct.new_order(["ren.example.com", "extra.example.com"],
                       replaces=cert_id(cert))
    limited_by(r, "new orders for this account")
    assert ca.db("SELECT count(*) FROM orders") == [(1,)]
    # Exactly the certificate's names: exempt, and issued.
    renewed, _ = issue(acct, resp, ["ren.example.com"],
                       replaces=cert_id(cert))
    assert renewed.serial_number != cert.serial_number


def test_S_ARI_16_D57_invalid_renewal_frees_nothing(limited):
    ca, resp = limited({
        "new_orders_per_account": {"count": 1, "window": 3600},
        "failed_authorizations_per_identifier": {"count": 1, "window": 3600},
    })
    acct = Account(Client(ca))
    names = ["retry.example.com"]
    cert, first = issue(acct, resp, names)
    deactivate_authzs(acct, first)
    cid = cert_id(cert)
    # The first renewal is exempt; its validation fails.
    r = acct.new_order(names, replaces=cid)
    assert r.status_code == 201, r.text
    order, loc = r.json(), r.headers["Location"]
    answer_all(acct, resp, order, body="not the key authorization")
    assert acct.wait(loc, until=("invalid",)).json()["status"] == "invalid"
    # The certificate may be replaced again (RFC 9773), but the limits
    # apply now: no more orders, no more failed validations.
    for _ in range(3):
        r = acct.new_order(names, replaces=cid)
        assert r.status_code == 429, r.text
        problem(r, "rateLimited", 429)
    assert ca.db("SELECT count(*) FROM orders WHERE replaces = ?",
                 (cid,)) == [(1,)]
    assert ca.db("SELECT count(*) FROM challs WHERE status = 5") == [(1,)]


def new_authz(acct, name):
    return acct.post(acct.c.dir["newAuthz"],
                     {"identifier": {"type": "dns", "value": name}})


def test_D57_new_authz_meets_the_order_and_failed_validation_limits(limited):
    ca, resp = limited({
        "new_orders_per_account": {"count": 2, "window": 3600},
        "failed_authorizations_per_identifier": {"count": 1, "window": 3600},
    })
    acct = Account(Client(ca))
    r = new_authz(acct, "pre.example.com")
    assert r.status_code == 201, r.text
    az, loc = r.json(), r.headers["Location"]
    ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
    resp.tokens[ch["token"]] = "not the key authorization"
    acct.post(ch["url"], {})
    assert acct.wait(loc).json()["status"] == "invalid"
    # One failure per hour for that name, by newAuthz as by newOrder.
    retry = limited_by(new_authz(acct, "pre.example.com"),
                       "failed authorizations for this identifier")
    assert 3590 <= retry <= 3600, retry
    limited_by(acct.new_order(["pre.example.com"]), "failed authorizations")
    # A pre-authorization spends a new-order token: the second is the
    # last, then newAuthz and newOrder both wait.
    assert new_authz(acct, "pre2.example.com").status_code == 201
    limited_by(new_authz(acct, "pre3.example.com"), "new orders")
    limited_by(acct.new_order(["pre3.example.com"]), "new orders")
    assert ca.db("SELECT count(*) FROM authzs") == [(2,)]
