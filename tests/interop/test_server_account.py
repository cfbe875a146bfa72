# SPDX-License-Identifier: ISC
"""anvil-ca: directory, nonces, JWS checks and accounts, against a real
server process.  python3-acme (certbot's protocol library) is the real
peer for the happy path; acmehelp crafts the requests it would never send.
Every negative case asserts the problem type and that nothing changed in
the database.
"""
import os
import re

import pytest
import requests

from acmehelp import Client, b64, ec_key, jwk_of, sign, thumbprint

PROBLEM = "application/problem+json"


def problem(r, kind, status=400):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == PROBLEM
    doc = r.json()
    assert doc["type"] == "urn:ietf:params:acme:error:" + kind, doc
    assert doc["status"] == status
    assert "identifier" not in doc          # S-ERR-5
    assert r.headers.get("Replay-Nonce")    # S-NON-2
    return doc


def accounts(ca):
    return ca.db("SELECT count(*) FROM accounts")[0][0]


def test_S_DIR_1_S_GET_4_directory(anvil_ca):
    r = requests.get(anvil_ca.directory, verify=anvil_ca.tls_ca)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    d = r.json()
    assert d["newNonce"] == anvil_ca.base + "/acme/new-nonce"
    assert d["newAccount"] == anvil_ca.base + "/acme/new-account"
    assert d["meta"]["externalAccountRequired"] is False
    assert d["newAuthz"] == anvil_ca.base + "/acme/new-authz"   # S-DIR-2
    assert d["revokeCert"] and d["keyChange"] and d["newOrder"]


def test_S_NON_12_S_NON_13_new_nonce_head_and_get(anvil_ca):
    s = requests.Session()
    s.verify = anvil_ca.tls_ca
    s.trust_env = False
    url = anvil_ca.base + "/acme/new-nonce"
    h = s.head(url)
    g = s.get(url)
    assert h.status_code == 200
    assert g.status_code == 204 and g.content == b""
    for r in (h, g):
        assert r.headers["Cache-Control"] == "no-store"
        assert re.fullmatch(r"[A-Za-z0-9_-]+", r.headers["Replay-Nonce"])  # S-NON-8
        assert 'rel="index"' in r.headers["Link"]                           # S-DIR-5


def test_S_NON_7_nonces_unique(anvil_ca):
    s = requests.Session()
    s.verify = anvil_ca.tls_ca
    s.trust_env = False
    url = anvil_ca.base + "/acme/new-nonce"
    seen = {s.head(url).headers["Replay-Nonce"] for _ in range(500)}
    assert len(seen) == 500


def test_S_GET_1_get_on_account_is_405(anvil_ca):
    r = requests.get(anvil_ca.base + "/acme/acct/x", verify=anvil_ca.tls_ca)
    problem(r, "malformed", 405)


def test_S_ACCT_3_python_acme_registers(anvil_ca, monkeypatch):
    from acme import client, messages
    import josepy as jose

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", anvil_ca.tls_ca)
    key = jose.JWKEC(key=ec_key())
    net = client.ClientNetwork(key, alg=jose.ES256,
                               user_agent="anvil-interop")
    directory = messages.Directory.from_json(net.get(anvil_ca.directory).json())
    acme = client.ClientV2(directory, net)
    reg = acme.new_account(messages.NewRegistration.from_data(
        email="admin@example.org", terms_of_service_agreed=True))
    assert reg.body.status == "valid"
    assert reg.uri.startswith(anvil_ca.base + "/acme/acct/")
    acct_id = reg.uri.rsplit("/", 1)[1]
    rows = anvil_ca.db("SELECT status, contact FROM accounts WHERE id = ?",
                       (acct_id,))
    assert rows == [(4, '["mailto:admin@example.org"]')]
    # S-ACCT-5: the same key again returns the same account, 200.
    again = acme.query_registration(reg)
    assert again.uri == reg.uri


def test_S_ACCT_5_existing_key_returns_same_account(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    r1 = c.new_account(key, {"contact": ["mailto:a@example.org"]})
    assert r1.status_code == 201
    r2 = c.new_account(key, {"contact": ["mailto:changed@example.org"]})
    assert r2.status_code == 200
    assert r2.headers["Location"] == r1.headers["Location"]
    assert r2.json()["contact"] == ["mailto:a@example.org"]
    assert "onlyReturnExisting" not in r2.json()          # S-ACCT-4
    assert accounts(anvil_ca) == 1


def test_S_ACCT_4_unknown_fields_not_echoed(anvil_ca):
    c = Client(anvil_ca)
    r = c.new_account(ec_key(), {"foo": 1, "orders": "x"})
    assert r.status_code == 201
    body = r.json()
    assert "foo" not in body
    assert body["orders"].endswith("/orders")


def test_S_ACCT_6_only_return_existing_unknown_key(anvil_ca):
    c = Client(anvil_ca)
    r = c.new_account(ec_key(), {"onlyReturnExisting": True})
    problem(r, "accountDoesNotExist")
    assert accounts(anvil_ca) == 0


@pytest.mark.parametrize("contact,kind", [
    (["tel:+15555550100"], "unsupportedContact"),            # S-ACCT-10
    (["mailto:a@example.org,b@example.org"], "invalidContact"),  # S-ACCT-9
    (["mailto:a@example.org?subject=hi"], "invalidContact"),
    (["mailto:nobody"], "invalidContact"),
    ([5], "invalidContact"),
])
def test_S_ACCT_10_bad_contacts(anvil_ca, contact, kind):
    c = Client(anvil_ca)
    r = c.new_account(ec_key(), {"contact": contact})
    problem(r, kind)
    assert accounts(anvil_ca) == 0


def test_S_ACCT_11_terms_must_be_agreed(ca_factory):
    ca = ca_factory({"terms_of_service": "https://example.org/tos"})
    c = Client(ca)
    assert c.dir["meta"]["termsOfService"] == "https://example.org/tos"
    problem(c.new_account(ec_key(), {}), "malformed")
    assert accounts(ca) == 0
    assert c.new_account(ec_key(), {"termsOfServiceAgreed": True}).status_code == 201


def test_S_ACCT_16_S_ACCT_17_deactivate_then_401(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    kid = c.new_account(key).headers["Location"]
    r = c.post(kid, c.signed(key, kid, {"status": "deactivated"}, kid=kid))
    assert r.status_code == 200 and r.json()["status"] == "deactivated"
    r = c.post(kid, c.signed(key, kid, None, kid=kid))
    problem(r, "unauthorized", 401)
    assert anvil_ca.db("SELECT status FROM accounts")[0][0] == 6


def test_S_ACCT_13_update_contact_and_ignore_status(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    kid = c.new_account(key).headers["Location"]
    r = c.post(kid, c.signed(key, kid, {"contact": ["mailto:new@example.org"],
                                        "status": "valid"}, kid=kid))
    assert r.status_code == 200
    assert r.json()["contact"] == ["mailto:new@example.org"]
    problem(c.post(kid, c.signed(key, kid, {"status": "revoked"}, kid=kid)),
            "malformed")
    # POST-as-GET returns the account (S-GET-2).
    r = c.post(kid, c.signed(key, kid, None, kid=kid))
    assert r.json()["status"] == "valid"


def test_S_GET_3_other_account_url_is_unauthorized(anvil_ca):
    c = Client(anvil_ca)
    k1, k2 = ec_key(), ec_key()
    kid1 = c.new_account(k1).headers["Location"]
    kid2 = c.new_account(k2).headers["Location"]
    problem(c.post(kid1, c.signed(k2, kid1, None, kid=kid2)), "unauthorized", 403)


# --- the JWS checks in front of every handler ---

def test_S_JWS_16_wrong_content_type_is_415(anvil_ca):
    c = Client(anvil_ca)
    body = c.signed(ec_key(), c.dir["newAccount"], {})
    problem(c.post(c.dir["newAccount"], body, "application/json"), "malformed", 415)
    assert accounts(anvil_ca) == 0


def test_S_NON_4_S_NON_5_replayed_nonce(anvil_ca):
    c = Client(anvil_ca)
    body = c.signed(ec_key(), c.dir["newAccount"], {"termsOfServiceAgreed": True})
    assert c.post(c.dir["newAccount"], body).status_code == 201
    r = c.post(c.dir["newAccount"], body)
    problem(r, "badNonce")
    # The nonce sent with the error works for the retry (S-NON-5).
    body2 = c.signed(ec_key(), c.dir["newAccount"], {}, nonce=r.headers["Replay-Nonce"])
    assert c.post(c.dir["newAccount"], body2).status_code == 201


def test_S_NON_4_invented_nonce(anvil_ca):
    c = Client(anvil_ca)
    body = c.signed(ec_key(), c.dir["newAccount"], {}, nonce=b64(os.urandom(16)))
    problem(c.post(c.dir["newAccount"], body), "badNonce")
    assert accounts(anvil_ca) == 0


def test_S_URL_1_url_mismatch_is_unauthorized(anvil_ca):
    c = Client(anvil_ca)
    body = c.signed(ec_key(), anvil_ca.base + "/acme/new-order", {})
    problem(c.post(c.dir["newAccount"], body), "unauthorized", 403)
    assert accounts(anvil_ca) == 0


def test_S_JWS_8_S_JWS_14_alg_none_lists_algorithms(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    prot = {"alg": "none", "nonce": c.new_nonce(), "url": c.dir["newAccount"],
            "jwk": jwk_of(key)}
    body = {"protected": b64(__import__("json").dumps(prot)),
            "payload": b64("{}"), "signature": b64("x")}
    doc = problem(c.post(c.dir["newAccount"], body), "badSignatureAlgorithm")
    assert "ES256" in doc["algorithms"] and "RS256" in doc["algorithms"]
    assert accounts(anvil_ca) == 0


def test_S_JWS_1_flipped_signature(anvil_ca):
    c = Client(anvil_ca)
    body = c.signed(ec_key(), c.dir["newAccount"], {})
    sig = bytearray(__import__("base64").urlsafe_b64decode(body["signature"] + "=="))
    sig[5] ^= 1
    body["signature"] = b64(bytes(sig))
    problem(c.post(c.dir["newAccount"], body), "malformed")
    assert accounts(anvil_ca) == 0


def test_S_JWS_2_general_serialization(anvil_ca):
    c = Client(anvil_ca)
    body = c.signed(ec_key(), c.dir["newAccount"], {})
    general = {"payload": body["payload"],
               "signatures": [{"protected": body["protected"],
                               "signature": body["signature"]}]}
    problem(c.post(c.dir["newAccount"], general), "malformed")
    assert accounts(anvil_ca) == 0


def test_S_JWS_12_jwk_must_match_signer(anvil_ca):
    c = Client(anvil_ca)
    k1, k2 = ec_key(), ec_key()
    prot = {"alg": "ES256", "nonce": c.new_nonce(), "url": c.dir["newAccount"],
            "jwk": jwk_of(k1)}
    problem(c.post(c.dir["newAccount"], sign(k2, prot, {})), "malformed")
    assert accounts(anvil_ca) == 0


def test_S_JWS_13_kid_required_for_account_resource(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    kid = c.new_account(key).headers["Location"]
    problem(c.post(kid, c.signed(key, kid, None)), "malformed")


def test_S_JWS_11_jwk_and_kid_together(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    body = c.signed(key, c.dir["newAccount"], {}, extra={"kid": "x"})
    problem(c.post(c.dir["newAccount"], body), "malformed")
    assert accounts(anvil_ca) == 0


def test_S_JWS_7_missing_nonce_is_bad_nonce(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    prot = {"alg": "ES256", "url": c.dir["newAccount"], "jwk": jwk_of(key)}
    problem(c.post(c.dir["newAccount"], sign(key, prot, {})), "badNonce")


def test_S_ACCT_20_unknown_kid(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    kid = anvil_ca.base + "/acme/acct/AAAAAAAAAAAAAAAAAAAAAA"
    problem(c.post(kid, c.signed(key, kid, None, kid=kid)), "accountDoesNotExist")


def test_S_JWS_15_small_rsa_key(anvil_ca):
    from cryptography.hazmat.primitives.asymmetric import rsa
    c = Client(anvil_ca)
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    body = c.signed(key, c.dir["newAccount"], {}, alg="RS256")
    problem(c.post(c.dir["newAccount"], body), "badPublicKey")
    assert accounts(anvil_ca) == 0


def test_S_JWS_20_rsa_2048_account(anvil_ca):
    from cryptography.hazmat.primitives.asymmetric import rsa
    c = Client(anvil_ca)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = c.post(c.dir["newAccount"], c.signed(key, c.dir["newAccount"], {}, alg="RS256"))
    assert r.status_code == 201
    assert anvil_ca.db("SELECT thumbprint FROM accounts") == [(thumbprint(key),)]


def test_body_too_large_is_refused(anvil_ca):
    c = Client(anvil_ca)
    r = c.post(c.dir["newAccount"], "x" * (70 * 1024))
    problem(r, "malformed", 413)


def test_large_headers_fit_and_oversized_ones_get_431(anvil_ca):
    """Headers share libmicrohttpd's 32 KiB per-connection pool (D34)."""
    c = Client(anvil_ca)
    r = c.s.get(anvil_ca.directory, headers={"X-Big": "a" * 20000})
    assert r.status_code == 200 and "newNonce" in r.json()
    r = c.s.get(anvil_ca.directory, headers={"X-Big": "a" * 40000})
    assert r.status_code == 431
    # The server goes on serving.
    assert Client(anvil_ca).dir["newNonce"]


def test_restart_keeps_accounts(tmp_path):
    from conftest import start_ca
    ca = start_ca(tmp_path)
    try:
        c = Client(ca)
        key = ec_key()
        loc = c.new_account(key).headers["Location"]
    finally:
        assert ca.stop() == 0
    # Serve the same directory again: the account is still there.
    import subprocess
    log = open(os.path.join(ca.dir, "serve2.log"), "w")
    from conftest import BUILD
    proc = subprocess.Popen([os.path.join(BUILD, "src/server/anvil-ca"), "serve", "-c",
                             os.path.join(ca.dir, "anvil-ca.json")],
                            stdout=log, stderr=subprocess.STDOUT)
    from conftest import CA, wait_port
    wait_port(ca.port, proc)
    ca2 = CA(ca.dir, ca.port, proc, log)
    try:
        r = Client(ca2).new_account(key, {"onlyReturnExisting": True})
        assert r.status_code == 200 and r.headers["Location"] == loc
    finally:
        assert ca2.stop() == 0
        log.close()
