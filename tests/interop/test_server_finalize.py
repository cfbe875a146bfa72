# SPDX-License-Identifier: ISC
"""anvil-ca's finalize against what changed after the order became
ready: authorizations deactivated or expired since (S-AUTHZ-10), and
the certificate's key being any account's key (S-FIN-6).  Each case
asserts the reply, the order's state and that no certificate was
stored."""
import sqlite3
import time

from acmehelp import Account, Client, b64, csr_der, ec_key
from test_server_orders import flow, problem, ready_order  # noqa: F401


def db_write(ca, query, args=()):
    """Changes the CA's database under it, as time or another process
    would: the server reads every object from the store."""
    con = sqlite3.connect(ca.db_path, timeout=5)
    try:
        with con:
            con.execute(query, args)
    finally:
        con.close()


def authz_id(url):
    return url.rsplit("/", 1)[1]


def finalize(acct, order, names, key=None):
    return acct.post(order["finalize"],
                     {"csr": b64(csr_der(key or ec_key(), names))})


def test_S_AUTHZ_10_deactivated_authz_of_ready_order_is_not_finalized(flow):
    ca, acct, resp = flow
    names = ["d1.example.com", "d2.example.com"]
    order, loc = ready_order(acct, resp, names)
    r = acct.post(order["authorizations"][1], {"status": "deactivated"})
    assert r.json()["status"] == "deactivated"
    doc = problem(finalize(acct, order, names), "orderNotReady", 403)
    assert "invalid" in doc["detail"], doc
    got = acct.get(loc).json()
    assert got["status"] == "invalid", got
    assert got["error"]["type"] == "urn:ietf:params:acme:error:unauthorized"
    assert "deactivated" in got["error"]["detail"]
    assert "certificate" not in got
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]


def test_S_AUTHZ_10_expired_authz_of_ready_order_is_not_finalized(flow):
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["exp.example.com"])
    # The authorization's lifetime runs out while the order is ready
    # (the order itself lives on).
    az = authz_id(order["authorizations"][0])
    db_write(ca, "UPDATE authzs SET expires = ? WHERE id = ?",
             (int(time.time()) - 1, az))
    problem(finalize(acct, order, ["exp.example.com"]), "orderNotReady", 403)
    got = acct.get(loc).json()
    assert got["status"] == "invalid", got
    assert "expired" in got["error"]["detail"]
    assert acct.get(order["authorizations"][0]).json()["status"] == "expired"
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]


def test_S_FIN_6_csr_with_another_accounts_key(flow):
    ca, acct, resp = flow
    other = Account(Client(ca))
    order, loc = ready_order(acct, resp, ["otherkey.example.com"])
    doc = problem(finalize(acct, order, ["otherkey.example.com"],
                           key=other.key), "badCSR")
    assert "account key" in doc["detail"], doc
    # The requester's own key stays refused too; the order stays ready
    # and a key of no account is issued.
    problem(finalize(acct, order, ["otherkey.example.com"], key=acct.key),
            "badCSR")
    assert acct.get(loc).json()["status"] == "ready"
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]
    r = finalize(acct, order, ["otherkey.example.com"])
    assert r.status_code == 200 and r.json()["status"] == "valid", r.text
