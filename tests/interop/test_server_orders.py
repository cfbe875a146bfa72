# SPDX-License-Identifier: ISC
"""anvil-ca orders, authorizations, challenges and finalize through the
whole flow: a real HTTP responder on loopback answers http-01, the CA
resolves names through pebble-challtestsrv.  Negative cases assert the
problem type and the state left in the database."""
import base64
import os
import re
import signal
import subprocess
import time

import pytest

from acmehelp import Account, Client, b64, csr_der, ec_key
from conftest import ANVIL_CA, CA, wait_port
from http01 import Responder

PROBLEM = "application/problem+json"


def problem(r, kind, status=400):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == PROBLEM
    doc = r.json()
    assert doc["type"] == "urn:ietf:params:acme:error:" + kind, doc
    return doc


@pytest.fixture
def flow(validating_ca):
    """An account on a validating CA plus a responder on its http-01 port."""
    resp = Responder(validating_ca.http01_port)
    acct = Account(Client(validating_ca))
    yield validating_ca, acct, resp
    resp.close()


def answer_all(acct, resp, order, body=None):
    """Publishes the key authorization for every authz and triggers it."""
    for az in order["authorizations"]:
        ch = [c for c in acct.get(az).json()["challenges"]
              if c["type"] == "http-01"][0]
        resp.tokens[ch["token"]] = body if body is not None else \
            acct.key_authorization(ch["token"])
        r = acct.post(ch["url"], {})
        assert r.status_code == 200
        assert f'<{az}>;rel="up"' in r.headers["Link"]          # S-DIR-6
        assert r.json()["status"] in ("processing", "valid", "invalid")


def test_full_flow_issues_and_downloads(flow, tmp_path):
    ca, acct, resp = flow
    r = acct.new_order(["a.example.com", "b.example.com"])
    assert r.status_code == 201                                   # S-ORD-3
    order, loc = r.json(), r.headers["Location"]
    assert order["status"] == "pending" and "expires" in order    # S-ORD-4
    answer_all(acct, resp, order)
    assert acct.wait(loc, until=("ready", "invalid")).json()["status"] == "ready"
    key = ec_key()
    r = acct.post(order["finalize"],
                  {"csr": b64(csr_der(key, ["b.example.com", "a.example.com"]))})
    assert r.status_code == 200 and r.json()["status"] == "valid"
    cert = acct.get(r.json()["certificate"])
    assert cert.headers["Content-Type"] == "application/pem-certificate-chain"  # S-CERT-1
    pem = cert.text
    assert pem.startswith("-----BEGIN CERTIFICATE-----")          # S-CERT-2
    assert pem.count("BEGIN CERTIFICATE") == 2
    (tmp_path / "chain.pem").write_text(pem)
    first = pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    (tmp_path / "leaf.pem").write_text(first)
    v = subprocess.run(["openssl", "verify", "-CAfile", ca.root, "-untrusted",
                        str(tmp_path / "chain.pem"), str(tmp_path / "leaf.pem")],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    # The validator fetched exactly the token paths.
    assert all(p.startswith("/.well-known/acme-challenge/") for p in resp.requests)


def test_S_HTTP_3_wrong_answer_is_incorrect_response(flow):
    ca, acct, resp = flow
    r = acct.new_order(["wrong.example.com"])
    order, loc = r.json(), r.headers["Location"]
    answer_all(acct, resp, order, body="not-the-key-authorization")
    az = acct.wait(order["authorizations"][0]).json()
    assert az["status"] == "invalid"
    ch = az["challenges"][0]
    assert ch["status"] == "invalid"
    assert ch["error"]["type"] == "urn:ietf:params:acme:error:incorrectResponse"
    o = acct.get(loc).json()
    assert o["status"] == "invalid" and "type" in o["error"]      # S-ORD-9
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]
    ca.audit(lambda e: e["event"] == "validation" and e["valid"] is False)


def test_S_HTTP_5_404_is_unauthorized(flow):
    ca, acct, resp = flow
    order = acct.new_order(["missing.example.com"]).json()
    az = acct.get(order["authorizations"][0]).json()
    r = acct.post(az["challenges"][0]["url"], {})      # nothing published
    ch = acct.wait(order["authorizations"][0]).json()["challenges"][0]
    assert ch["status"] == "invalid"
    assert ch["error"]["type"] == "urn:ietf:params:acme:error:unauthorized"


def test_S_FIN_4_finalize_pending_is_order_not_ready(flow):
    ca, acct, resp = flow
    r = acct.new_order(["pending.example.com"])
    order = r.json()
    problem(acct.post(order["finalize"],
                      {"csr": b64(csr_der(ec_key(), ["pending.example.com"]))}),
            "orderNotReady", 403)
    assert acct.get(r.headers["Location"]).json()["status"] == "pending"


def ready_order(acct, resp, names):
    r = acct.new_order(names)
    order, loc = r.json(), r.headers["Location"]
    answer_all(acct, resp, order)
    assert acct.wait(loc, until=("ready", "invalid")).json()["status"] == "ready"
    return order, loc


def test_S_FIN_2_S_FIN_3_bad_csr_leaves_order_ready(flow):
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["csr.example.com"])
    doc = problem(acct.post(order["finalize"], {"csr": b64(csr_der(
        ec_key(), ["csr.example.com", "extra.example.com"]))}), "badCSR")
    assert "extra.example.com" in doc["detail"] or "2" in doc["detail"]
    assert acct.get(loc).json()["status"] == "ready"
    problem(acct.post(order["finalize"], {"csr": b64(csr_der(ec_key(), []))
                                          if False else "not-base64url=="}),
            "badCSR")
    r = acct.post(order["finalize"],
                  {"csr": b64(csr_der(ec_key(), ["csr.example.com"]))})
    assert r.json()["status"] == "valid"


def test_S_FIN_6_csr_with_account_key(flow):
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["samekey.example.com"])
    problem(acct.post(order["finalize"],
                      {"csr": b64(csr_der(acct.key, ["samekey.example.com"]))}),
            "badCSR")
    assert acct.get(loc).json()["status"] == "ready"


def test_S_ORD_5_valid_authz_is_reused(flow):
    ca, acct, resp = flow
    first, _ = ready_order(acct, resp, ["reuse.example.com"])
    r = acct.new_order(["reuse.example.com"])
    assert r.json()["status"] == "ready"
    assert r.json()["authorizations"] == first["authorizations"]


def test_S_IDN_3_unsupported_identifier_type(anvil_ca):
    acct = Account(Client(anvil_ca))
    r = acct.post(acct.c.dir["newOrder"],
                  {"identifiers": [{"type": "email", "value": "a@b.example"}]})
    doc = problem(r, "unsupportedIdentifier")
    assert doc["subproblems"][0]["identifier"]["value"] == "a@b.example"  # S-ERR-4
    assert anvil_ca.db("SELECT count(*) FROM orders") == [(0,)]


@pytest.mark.parametrize("name", ["*.*.example.com", "f*.example.com",
                                  "bad_name.example.com", "example.com.",
                                  "127.0.0.1"])
def test_S_IDN_4_S_IDN_9_rejected_names(anvil_ca, name):
    acct = Account(Client(anvil_ca))
    r = acct.post(acct.c.dir["newOrder"],
                  {"identifiers": [{"type": "dns", "value": name}]})
    problem(r, "rejectedIdentifier")
    assert anvil_ca.db("SELECT count(*) FROM orders") == [(0,)]


def test_S_IDN_10_identifiers_deduplicated(anvil_ca):
    acct = Account(Client(anvil_ca))
    r = acct.new_order(["Dup.Example.com", "dup.example.com"])
    assert r.status_code == 201
    assert r.json()["identifiers"] == [{"type": "dns", "value": "dup.example.com"}]
    assert len(r.json()["authorizations"]) == 1


def test_S_ORD_2_not_after_beyond_policy(anvil_ca):
    acct = Account(Client(anvil_ca))
    r = acct.new_order(["time.example.com"], notAfter="2099-01-01T00:00:00Z")
    problem(r, "malformed")
    problem(acct.new_order(["time.example.com"], notBefore="yesterday"), "malformed")


def test_S_AUTHZ_2_other_account_cannot_read(flow):
    ca, acct, resp = flow
    order = acct.new_order(["mine.example.com"]).json()
    other = Account(acct.c)
    problem(other.get(order["authorizations"][0]), "unauthorized", 403)


def test_S_AUTHZ_9_S_AUTHZ_10_deactivated_authz(flow):
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["deact.example.com"])
    r = acct.post(order["authorizations"][0], {"status": "deactivated"})
    assert r.json()["status"] == "deactivated"
    # A ready order already counted the authz; a new one needs a new authz.
    r2 = acct.new_order(["deact.example.com"])
    assert r2.json()["status"] == "pending"
    assert r2.json()["authorizations"] != order["authorizations"]


def test_S_GET_5_empty_object_to_authz_changes_nothing(flow):
    ca, acct, resp = flow
    order = acct.new_order(["noop.example.com"]).json()
    r = acct.post(order["authorizations"][0], {})
    assert r.status_code == 200 and r.json()["status"] == "pending"
    ch = r.json()["challenges"][0]
    assert ch["status"] == "pending"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", ch["token"])           # S-CHAL-8
    assert "wildcard" not in r.json()


def test_S_ACCT_15_orders_list_pages(ca_factory):
    ca = ca_factory({"orders_per_page": 2})
    acct = Account(Client(ca))
    made = [acct.new_order([f"o{i}.example.com"]).headers["Location"]
            for i in range(3)]
    r = acct.get(acct.kid + "/orders")
    assert r.json()["orders"] == made[:2]
    nxt = re.search(r'<([^>]+)>;rel="next"', r.headers["Link"]).group(1)
    r2 = acct.get(nxt)
    assert r2.json()["orders"] == made[2:]
    assert 'rel="next"' not in r2.headers.get("Link", "")


def test_restart_resumes_validation_in_flight(flow, tmp_path):
    """kill -9 while a validation waits on the responder; after restart
    the stored job runs again and the challenge becomes valid."""
    ca, acct, resp = flow
    r = acct.new_order(["crash.example.com"])
    order, loc = r.json(), r.headers["Location"]
    az = acct.get(order["authorizations"][0]).json()
    ch = az["challenges"][0]
    resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
    resp.delay = 2.0
    acct.post(ch["url"], {})
    time.sleep(0.5)                       # the validator is now waiting
    assert ca.db("SELECT count(*) FROM jobs") == [(1,)]
    ca.proc.send_signal(signal.SIGKILL)
    ca.proc.wait()
    resp.delay = 0
    proc = subprocess.Popen([ANVIL_CA, "serve", "-c",
                             os.path.join(ca.dir, "anvil-ca.json")],
                            stdout=ca.log, stderr=subprocess.STDOUT)
    ca.proc = proc
    wait_port(ca.port, proc)
    acct.c.nonce = None
    assert acct.wait(order["authorizations"][0]).json()["status"] == "valid"
    assert ca.db("SELECT count(*) FROM jobs") == [(0,)]
    assert acct.get(loc).json()["status"] == "ready"


def issued(acct, resp, names, key=None):
    """Orders, validates and finalizes; returns (cert DER, cert key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    key = key or ec_key()
    order, loc = ready_order(acct, resp, names)
    r = acct.post(order["finalize"], {"csr": b64(csr_der(key, names))})
    pem = acct.get(r.json()["certificate"]).text
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.public_bytes(serialization.Encoding.DER), key


def test_S_REV_2_by_certificate_key_then_S_REV_5(flow):
    from acmehelp import jwk_of, sign
    ca, acct, resp = flow
    der, key = issued(acct, resp, ["rev-key.example.com"])
    c = acct.c
    url = c.dir["revokeCert"]
    body = sign(key, {"alg": "ES256", "nonce": c.new_nonce(), "url": url,
                      "jwk": jwk_of(key)}, {"certificate": b64(der), "reason": 1})
    r = c.post(url, body)
    assert r.status_code == 200, r.text
    assert ca.db("SELECT revoked_at > 0, reason FROM certs") == [(1, 1)]
    ca.audit(lambda e: e["event"] == "revocation" and e["reason"] == 1)
    # Again, by the ordering account: already revoked.
    problem(acct.post(url, {"certificate": b64(der)}), "alreadyRevoked")


def test_S_REV_4_unrelated_account_is_refused(flow):
    ca, acct, resp = flow
    der, _ = issued(acct, resp, ["rev-other.example.com"])
    stranger = Account(acct.c)
    problem(stranger.post(acct.c.dir["revokeCert"], {"certificate": b64(der)}),
            "unauthorized", 403)
    assert ca.db("SELECT revoked_at FROM certs") == [(0,)]


def test_S_REV_3_account_with_authorizations_may_revoke(flow):
    ca, acct, resp = flow
    der, _ = issued(acct, resp, ["rev-authz.example.com"])
    other = Account(acct.c)
    ready_order(other, resp, ["rev-authz.example.com"])
    r = other.post(acct.c.dir["revokeCert"], {"certificate": b64(der)})
    assert r.status_code == 200, r.text
    assert ca.db("SELECT revoked_at > 0, reason FROM certs") == [(1, -1)]  # S-REV-6


@pytest.mark.parametrize("reason", [2, 6, 8, 9, 10, 42])
def test_S_REV_7_S_REV_8_disallowed_reasons(flow, reason):
    ca, acct, resp = flow
    der, _ = issued(acct, resp, [f"rev-reason-{reason}.example.com"])
    doc = problem(acct.post(acct.c.dir["revokeCert"],
                            {"certificate": b64(der), "reason": reason}),
                  "badRevocationReason")
    assert "0, 1, 3, 4 or 5" in doc["detail"]
    assert ca.db("SELECT revoked_at FROM certs") == [(0,)]


def test_revoke_unknown_certificate(flow, tmp_path):
    ca, acct, resp = flow
    # A certificate from another CA (the listener's own) is not ours.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    with open(ca.tls_ca, "rb") as f:
        foreign = x509.load_pem_x509_certificate(f.read())
    der = foreign.public_bytes(serialization.Encoding.DER)
    problem(acct.post(acct.c.dir["revokeCert"], {"certificate": b64(der)}),
            "malformed", 404)


def test_S_IDN_5_S_IDN_7_wildcard_authz_offers_dns01_only(validating_ca):
    acct = Account(Client(validating_ca))
    order = acct.new_order(["*.w.example.com"]).json()
    az = acct.get(order["authorizations"][0]).json()
    assert az["identifier"] == {"type": "dns", "value": "w.example.com"}
    assert az["wildcard"] is True
    assert [c["type"] for c in az["challenges"]] == ["dns-01"]


def test_S_DNS_1_dns01_valid_and_wrong_txt(validating_ca):
    import hashlib
    acct = Account(Client(validating_ca))
    dns = validating_ca.dns
    # Right record (next to an unrelated one, S-DNS-3) -> valid.
    order = acct.new_order(["txt.example.com"]).json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "dns-01"][0]
    value = b64(hashlib.sha256(acct.key_authorization(ch["token"]).encode()).digest())
    dns.post("/set-txt", {"host": "_acme-challenge.txt.example.com.", "value": value})
    assert acct.post(ch["url"], {}).status_code == 200
    assert acct.wait(order["authorizations"][0]).json()["status"] == "valid"
    # Wrong record -> invalid with incorrectResponse.
    order = acct.new_order(["badtxt.example.com"]).json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "dns-01"][0]
    dns.post("/set-txt", {"host": "_acme-challenge.badtxt.example.com.",
                          "value": "definitely-not-it"})
    acct.post(ch["url"], {})
    az = acct.wait(order["authorizations"][0]).json()
    assert az["status"] == "invalid"
    bad = [c for c in az["challenges"] if c["type"] == "dns-01"][0]
    assert bad["error"]["type"] == "urn:ietf:params:acme:error:incorrectResponse"
    # No record at all -> unauthorized.
    order = acct.new_order(["notxt.example.com"]).json()
    ch = [c for c in acct.get(order["authorizations"][0]).json()["challenges"]
          if c["type"] == "dns-01"][0]
    acct.post(ch["url"], {})
    az = acct.wait(order["authorizations"][0]).json()
    assert [c for c in az["challenges"] if c["type"] == "dns-01"][0]["error"]["type"] \
        == "urn:ietf:params:acme:error:unauthorized"


@pytest.mark.parametrize("case", ["wrong-digest", "two-sans", "not-critical"])
def test_S_ALPN_wrong_certificate_is_invalid(validating_ca, tmp_path, case):
    import hashlib
    from alpn import AlpnResponder
    acct = Account(Client(validating_ca))
    name = "alpn-bad.example.com"
    order = acct.new_order([name]).json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "tls-alpn-01"][0]
    good = hashlib.sha256(acct.key_authorization(ch["token"]).encode()).digest()
    names, digest, critical = [name], good, True
    if case == "wrong-digest":
        digest = hashlib.sha256(b"something else").digest()
    elif case == "two-sans":
        names = [name, "other.example.com"]
    else:
        critical = False
    srv = AlpnResponder(validating_ca.tls_alpn01_port, tmp_path, names, digest,
                        critical)
    try:
        acct.post(ch["url"], {})
        az = acct.wait(order["authorizations"][0]).json()
    finally:
        srv.close()
    assert az["status"] == "invalid"
    err = [c for c in az["challenges"] if c["type"] == "tls-alpn-01"][0]["error"]
    assert err["type"] in ("urn:ietf:params:acme:error:incorrectResponse",
                           "urn:ietf:params:acme:error:unauthorized"), err
    assert validating_ca.db("SELECT count(*) FROM certs") == [(0,)]


def test_S_ALPN_good_certificate_is_valid(validating_ca, tmp_path):
    """The same responder with the right digest passes: the negative cases
    above fail for their defect, not for the responder."""
    import hashlib
    from alpn import AlpnResponder
    acct = Account(Client(validating_ca))
    name = "alpn-good.example.com"
    order = acct.new_order([name]).json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "tls-alpn-01"][0]
    digest = hashlib.sha256(acct.key_authorization(ch["token"]).encode()).digest()
    srv = AlpnResponder(validating_ca.tls_alpn01_port, tmp_path, [name], digest)
    try:
        acct.post(ch["url"], {})
        assert acct.wait(order["authorizations"][0]).json()["status"] == "valid"
    finally:
        srv.close()


def test_S_PRE_1_S_PRE_3_pre_authorization_then_order_is_ready(flow):
    ca, acct, resp = flow
    r = acct.post(acct.c.dir["newAuthz"],
                  {"identifier": {"type": "dns", "value": "pre.example.com"}})
    assert r.status_code == 201, r.text
    az, loc = r.json(), r.headers["Location"]
    assert az["status"] == "pending"
    assert loc.startswith(ca.base + "/acme/authz/")
    ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
    resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
    acct.post(ch["url"], {})
    assert acct.wait(loc).json()["status"] == "valid"
    order = acct.new_order(["pre.example.com"]).json()
    assert order["status"] == "ready" and order["authorizations"] == [loc]


@pytest.mark.parametrize("ident,kind", [
    ({"type": "dns", "value": "*.pre.example.com"}, "rejectedIdentifier"),  # S-IDN-6
    ({"type": "dns", "value": "bad..example"}, "rejectedIdentifier"),       # S-PRE-2
    ({"type": "email", "value": "a@example.com"}, "unsupportedIdentifier"),
])
def test_S_PRE_2_S_IDN_6_refused_pre_authorizations(anvil_ca, ident, kind):
    acct = Account(Client(anvil_ca))
    problem(acct.post(acct.c.dir["newAuthz"], {"identifier": ident}), kind, 403)
    assert anvil_ca.db("SELECT count(*) FROM authzs") == [(0,)]


def one_http01(acct, resp, name, body):
    order = acct.new_order([name]).json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
    resp.tokens[ch["token"]] = body(ch["token"])
    acct.post(ch["url"], {})
    return acct.wait(order["authorizations"][0]).json(), ch["token"]


def test_S_HTTP_4_redirect_within_policy_is_followed(flow):
    ca, acct, resp = flow
    port = ca.http01_port
    r = acct.new_order(["redir.example.com"]).json()
    a = acct.get(r["authorizations"][0]).json()
    ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
    t = ch["token"]
    # One hop, to another name and path on an allowed port.
    resp.tokens[t] = f"REDIRECT http://elsewhere.example.com:{port}/moved/alias"
    resp.tokens["alias"] = acct.key_authorization(t)
    acct.post(ch["url"], {})
    assert acct.wait(r["authorizations"][0]).json()["status"] == "valid"
    assert "/moved/alias" in resp.requests


def test_S_HTTP_4_redirect_to_other_port_is_refused(flow):
    ca, acct, resp = flow
    az, _ = one_http01(acct, resp, "redir-port.example.com",
                       lambda t: f"REDIRECT http://redir-port.example.com:8081/x")
    assert az["status"] == "invalid"
    err = [c for c in az["challenges"] if c["type"] == "http-01"][0]["error"]
    assert err["type"] == "urn:ietf:params:acme:error:connection"
    assert "port 8081" in err["detail"]


def test_S_HTTP_4_redirect_loop_stops_at_ten(flow):
    ca, acct, resp = flow
    port = ca.http01_port
    az, tok = one_http01(acct, resp, "loop.example.com", lambda t:
                         f"REDIRECT http://loop.example.com:{port}"
                         f"/.well-known/acme-challenge/{t}")
    assert az["status"] == "invalid"
    err = [c for c in az["challenges"] if c["type"] == "http-01"][0]["error"]
    assert "redirects" in err["detail"]
    assert len([p for p in resp.requests if tok in p]) == 11


def test_S_HTTP_6_body_over_64KiB_is_refused(flow):
    ca, acct, resp = flow
    az, _ = one_http01(acct, resp, "big.example.com",
                       lambda t: acct.key_authorization(t) + " " * 70000 + "x")
    assert az["status"] == "invalid"
    err = [c for c in az["challenges"] if c["type"] == "http-01"][0]["error"]
    assert "64 KiB" in err["detail"]


def test_S_HTTP_3_trailing_whitespace_is_tolerated(flow):
    ca, acct, resp = flow
    az, _ = one_http01(acct, resp, "ws.example.com",
                       lambda t: acct.key_authorization(t) + " \r\n\t\n")
    assert az["status"] == "valid"


def test_restart_keeps_orders_and_certificates(flow):
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["keep.example.com"])
    r = acct.post(order["finalize"],
                  {"csr": b64(csr_der(ec_key(), ["keep.example.com"]))})
    cert_url = r.json()["certificate"]
    pem = acct.get(cert_url).text
    pending = acct.new_order(["later.example.com"]).headers["Location"]
    assert ca.stop() == 0
    proc = subprocess.Popen([ANVIL_CA, "serve", "-c",
                             os.path.join(ca.dir, "anvil-ca.json")],
                            stdout=ca.log, stderr=subprocess.STDOUT)
    ca.proc = proc
    wait_port(ca.port, proc)
    assert acct.get(loc).json()["status"] == "valid"
    assert acct.get(cert_url).text == pem
    assert acct.get(pending).json()["status"] == "pending"


def test_validation_queue_grows_past_its_first_size(flow):
    """90 challenges of one account queued faster than they are validated
    (two at a time, validation_per_account, D53; each fetch waits
    0.25 s): more than 64 jobs wait at once, none is lost, and every
    authorization becomes valid."""
    ca, acct, resp = flow
    names = [f"q{i}.example.com" for i in range(90)]
    r = acct.new_order(names)
    assert r.status_code == 201, r.text
    order, loc = r.json(), r.headers["Location"]
    resp.delay = 0.25
    answer_all(acct, resp, order)
    assert ca.db("SELECT count(*) FROM jobs")[0][0] > 64
    final = acct.wait(loc, until=("ready", "invalid"), timeout=120).json()
    assert final["status"] == "ready", final
    assert ca.db("SELECT count(*) FROM challs WHERE status = 4")[0][0] == 90


def test_S_FIN_4_finalize_cut_off_by_a_crash_is_given_back(flow):
    """An order left processing (the finalize claim, D39, stored before
    the process died mid-issuance) is ready again after restart and
    finalizes; a valid order stays valid."""
    import sqlite3
    ca, acct, resp = flow
    done, done_loc = ready_order(acct, resp, ["done.example.com"])
    acct.post(done["finalize"],
              {"csr": b64(csr_der(ec_key(), ["done.example.com"]))})
    order, loc = ready_order(acct, resp, ["cut.example.com"])
    oid = loc.rsplit("/", 1)[1]
    assert ca.stop() == 0
    con = sqlite3.connect(ca.db_path)
    with con:
        con.execute("UPDATE orders SET status = 2 WHERE id = ?", (oid,))
    con.close()
    assert ca.db("SELECT status FROM orders WHERE id = ?", (oid,)) == [(2,)]
    ca.restart()
    acct.c.nonce = None
    assert acct.get(loc).json()["status"] == "ready"
    assert acct.get(done_loc).json()["status"] == "valid"
    with open(os.path.join(ca.dir, "serve.log")) as f:
        assert 'msg="finalize cut off" orders=1' in f.read()
    r = acct.post(order["finalize"],
                  {"csr": b64(csr_der(ec_key(), ["cut.example.com"]))})
    assert r.status_code == 200 and r.json()["status"] == "valid", r.text


def test_init_rsa_hierarchy_and_key_modes(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa
    d = tmp_path / "rsaca"
    subprocess.run([ANVIL_CA, "init", str(d), "--rsa"], check=True,
                   capture_output=True)
    with open(d / "ca/root.pem", "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    with open(d / "ca/intermediate.pem", "rb") as f:
        inter = x509.load_pem_x509_certificate(f.read())
    assert isinstance(root.public_key(), rsa.RSAPublicKey)
    assert root.public_key().key_size == 4096
    assert inter.public_key().key_size == 2048
    for key in ("ca/root.key", "ca/intermediate.key", "tls/ca.key",
                "tls/server.key"):
        assert (d / key).stat().st_mode & 0o777 == 0o600, key
    v = subprocess.run(["openssl", "verify", "-CAfile", str(d / "ca/root.pem"),
                        str(d / "ca/intermediate.pem")], capture_output=True)
    assert v.returncode == 0
    # A second init refuses to overwrite.
    r = subprocess.run([ANVIL_CA, "init", str(d)], capture_output=True, text=True)
    assert r.returncode == 1 and "exists" in r.stderr
    cfg = __import__("json").loads((d / "anvil-ca.json").read_text())
    assert cfg["listen"] == "127.0.0.1:14000" and cfg["http01_port"] == 80
    assert cfg["resolver"] == "" and cfg["allow_private_addresses"] is False


def test_S_FIN_ed25519_certificate_key_is_carried_as_sent(tmp_path,
                                                          challtestsrv):
    """An Ed25519 CSR (allowed by allow_ed25519_certs): the certificate
    carries the CSR's key; its SubjectPublicKeyInfo has no parameters,
    the case a copy of the algorithm must not trip on."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from conftest import free_port, start_ca
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)],
        config={"caa_identities": "anvil.test", "allow_ed25519_certs": True})
    resp = Responder(http01)
    try:
        acct = Account(Client(ca))
        names = ["ed25519.example.com"]
        order, _ = ready_order(acct, resp, names)
        key = ed25519.Ed25519PrivateKey.generate()
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([]))
               .add_extension(x509.SubjectAlternativeName(
                   [x509.DNSName(names[0])]), critical=False)
               .sign(key, None))
        r = acct.post(order["finalize"], {"csr": b64(csr.public_bytes(
            serialization.Encoding.DER))})
        assert r.status_code == 200, r.text
        pem = acct.get(r.json()["certificate"]).text
        cert = x509.load_pem_x509_certificate(pem.encode())
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        assert (cert.public_key().public_bytes(*raw) ==
                key.public_key().public_bytes(*raw))
    finally:
        resp.close()
        assert ca.stop() == 0
        ca.log.close()


def audit_file(ca):
    with open(os.path.join(ca.dir, "audit.log")) as f:
        return f.read()


def test_audit_D44_every_event_is_recorded_with_its_change(flow):
    """Each validation and issuance has its audit line, copied from the
    outbox to audit.log; the outbox is empty once they are copied."""
    ca, acct, resp = flow
    der, _ = issued(acct, resp, ["au1.example.com"])
    serial = ca.db("SELECT serial FROM certs")[0][0]
    lines = ca.audit(lambda e: e["event"] == "issuance" and
                     e["serial"] == serial)
    assert [e["event"] for e in lines].count("validation") == 1
    assert [e for e in lines if e["event"] == "issuance"][0]["names"] == \
        ["au1.example.com"]
    deadline = time.monotonic() + 10
    while ca.db("SELECT count(*) FROM audit_outbox") != [(0,)]:
        assert time.monotonic() < deadline, "outbox never emptied"
        time.sleep(0.05)


def test_audit_D44_lines_a_crash_left_in_the_outbox_are_copied_once(flow):
    """After a crash the outbox may hold lines the file lacks (crash
    before the copy), lines it already ends with (crash after the flush,
    before the drop), and the file may end in a cut line: at start the
    missing lines are appended once, after a newline, in order."""
    import json
    import sqlite3
    ca, acct, resp = flow
    issued(acct, resp, ["au2.example.com"])
    ca.audit(lambda e: e["event"] == "issuance")
    assert ca.stop() == 0
    before = audit_file(ca)
    last = before.rstrip("\n").rsplit("\n", 1)[-1]
    assert json.loads(last)["event"] == "issuance"
    lost = [json.dumps({"time": "2026-01-01T00:00:00.000Z",
                        "event": "validation", "chall": f"x{i}",
                        "valid": True}, separators=(",", ":"))
            for i in range(3)]
    con = sqlite3.connect(ca.db_path)
    with con:
        for line in [last] + lost:
            con.execute("INSERT INTO audit_outbox (line) VALUES (?)", (line,))
    con.close()
    with open(os.path.join(ca.dir, "audit.log"), "a") as f:
        f.write('{"time":"2026-01-01T00:00:00.000Z","ev')  # cut by a crash
    ca.restart()
    after = audit_file(ca)
    assert after.startswith(before)
    rest = after[len(before):].split("\n")
    assert rest[0] == '{"time":"2026-01-01T00:00:00.000Z","ev'
    assert rest[1:] == lost + [""]
    assert after.count(last) == 1
    assert ca.db("SELECT count(*) FROM audit_outbox") == [(0,)]
