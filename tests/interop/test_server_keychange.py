# SPDX-License-Identifier: ISC
"""anvil-ca account key rollover (RFC 8555 7.3.5): the happy path and one
negative case per check of S-KEY-3; each negative leaves the stored key
unchanged."""
import pytest

from acmehelp import Account, Client, ec_key, jwk_of, sign, thumbprint


def problem(r, kind, status=400):
    assert r.status_code == status, r.text
    assert r.json()["type"] == "urn:ietf:params:acme:error:" + kind
    return r.json()


def rollover(acct, new, inner_extra=None, payload=None, inner_signer=None,
             inner_url=None):
    url = acct.c.dir["keyChange"]
    prot = {"alg": "ES256", "jwk": jwk_of(new), "url": inner_url or url}
    if inner_extra:
        prot.update(inner_extra)
    body = payload if payload is not None else \
        {"account": acct.kid, "oldKey": jwk_of(acct.key)}
    inner = sign(inner_signer or new, prot, body)
    return acct.post(url, inner)


def stored_thumb(ca):
    return ca.db("SELECT thumbprint FROM accounts")[0][0]


def test_S_KEY_4_S_KEY_6_rollover_switches_keys(anvil_ca):
    acct = Account(Client(anvil_ca))
    order = acct.new_order(["roll.example.com"]).headers["Location"]
    new = ec_key()
    r = rollover(acct, new)
    assert r.status_code == 200, r.text
    assert stored_thumb(anvil_ca) == thumbprint(new)
    old = acct.key
    acct.key = new
    assert acct.get(order).json()["status"] == "pending"      # S-KEY-6
    acct.key = old
    problem(acct.get(order), "malformed")                      # old key dead


def test_S_KEY_4_response_shows_the_new_key(anvil_ca):
    """The account object a rollover returns names the key now bound
    (it named the old one)."""
    acct = Account(Client(anvil_ca))
    new = ec_key()
    r = rollover(acct, new)
    assert r.status_code == 200, r.text
    assert r.json()["key"] == jwk_of(new)
    assert r.json()["status"] == "valid"
    acct.key = new
    assert acct.post(acct.kid, None).json()["key"] == jwk_of(new)


def test_S_KEY_5_key_of_another_account_is_409(anvil_ca):
    c = Client(anvil_ca)
    a, b = Account(c), Account(c)
    r = rollover(a, b.key)
    problem(r, "malformed", 409)
    assert r.headers["Location"] == b.kid
    assert anvil_ca.db("SELECT count(DISTINCT thumbprint) FROM accounts") == [(2,)]


@pytest.mark.parametrize("case", ["nonce", "url", "account", "oldkey",
                                  "signer", "kid"])
def test_S_KEY_3_each_check(anvil_ca, case):
    acct = Account(Client(anvil_ca))
    before = stored_thumb(anvil_ca)
    new = ec_key()
    if case == "nonce":
        r = rollover(acct, new, inner_extra={"nonce": acct.c.new_nonce()})
    elif case == "url":
        r = rollover(acct, new, inner_url=anvil_ca.base + "/acme/new-order")
    elif case == "account":
        r = rollover(acct, new, payload={"account": anvil_ca.base + "/acme/acct/x",
                                         "oldKey": jwk_of(acct.key)})
    elif case == "oldkey":
        r = rollover(acct, new, payload={"account": acct.kid,
                                         "oldKey": jwk_of(ec_key())})
    elif case == "signer":
        r = rollover(acct, new, inner_signer=ec_key())
    else:
        r = rollover(acct, new, inner_extra={"kid": acct.kid})
    problem(r, "malformed")
    assert stored_thumb(anvil_ca) == before
