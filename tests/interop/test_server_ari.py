# SPDX-License-Identifier: ISC
"""anvil-ca's renewal information (RFC 9773): the renewalInfo resource
(unauthenticated GET, window, Retry-After, unknown ids), the operator's
window (anvil-ca ari set), revoked certificates, and the newOrder
"replaces" checks (S-ARI-12/13/14), each asserted on the reply and on
the database."""
import base64
import datetime
import os
import subprocess

import requests
from cryptography import x509

from acmehelp import Account, Client, b64, csr_der, ec_key
from conftest import ANVIL_CA
from test_server_orders import answer_all, flow, problem  # noqa: F401


def issue(acct, resp, names, **extra):
    """A full flow; returns (certificate, order JSON)."""
    r = acct.new_order(names, **extra)
    assert r.status_code == 201, r.text
    order, loc = r.json(), r.headers["Location"]
    if order["status"] == "pending":
        answer_all(acct, resp, order)
        assert acct.wait(loc, until=("ready", "invalid")).json()["status"] == "ready"
    r = acct.post(order["finalize"], {"csr": b64(csr_der(ec_key(), names))})
    assert r.status_code == 200 and r.json()["status"] == "valid", r.text
    pem = acct.get(r.json()["certificate"]).text
    return x509.load_pem_x509_certificate(pem.encode()), r.json()


def cert_id(cert):
    """RFC 9773 4.1, computed independently of anvil."""
    aki = cert.extensions.get_extension_for_class(
        x509.AuthorityKeyIdentifier).value.key_identifier
    n = cert.serial_number
    raw = n.to_bytes((n.bit_length() + 8) // 8, "big")  # room for a 0x00
    return b64(aki) + "." + b64(raw)


def parse(t):
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))


def renewal_info(ca, cid):
    s = requests.Session()
    s.trust_env = False
    return s.get(Client(ca).dir["renewalInfo"] + "/" + cid, verify=ca.tls_ca)


def test_S_ARI_1_3_4_renewal_info(flow):
    ca, acct, resp = flow
    assert acct.c.dir["renewalInfo"].startswith(ca.base)             # S-ARI-1
    cert, _ = issue(acct, resp, ["ari.example.com"])
    r = renewal_info(ca, cert_id(cert))                               # S-ARI-3
    assert r.status_code == 200, r.text
    assert r.headers["Retry-After"] == str(6 * 3600)                  # S-ARI-4
    w = r.json()["suggestedWindow"]
    start, end = parse(w["start"]), parse(w["end"])
    assert start < end                                                # S-ARI-5
    nb, na = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc), \
        cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    life = na - nb
    # The window opens when a third of the lifetime is left.
    assert abs((na - start) - life / 3) < datetime.timedelta(seconds=5)
    assert abs((na - end) - life / 6) < datetime.timedelta(seconds=5)
    assert "explanationURL" not in r.json()


def test_S_ARI_15_unknown_and_malformed_ids(flow):
    ca, acct, resp = flow
    cert, _ = issue(acct, resp, ["ari2.example.com"])
    aki, serial = cert_id(cert).split(".")
    # A serial never issued, and our serial under another key id: 404.
    assert renewal_info(ca, aki + "." + b64(b"\x01\x02\x03")).status_code == 404
    assert renewal_info(ca, b64(b"\x00" * 20) + "." + serial).status_code == 404
    for bad in ("nodot", aki + ".", aki + "." + serial + "=", aki + ".gA"):
        r = renewal_info(ca, bad)
        assert r.status_code in (400, 404), (bad, r.status_code)
        assert r.headers["Content-Type"] == "application/problem+json"


def ari_set(ca, *args):
    return subprocess.run([ANVIL_CA, "ari", "set", "-c",
                           os.path.join(ca.dir, "anvil-ca.json"), *args],
                          capture_output=True, text=True)


def test_operator_window_and_revoked_certificate(flow):
    ca, acct, resp = flow
    cert, _ = issue(acct, resp, ["ari3.example.com"])
    hexserial = format(cert.serial_number, "x")
    r = ari_set(ca, "--serial", hexserial.upper(), "--start", "now-7200",
                "--end", "now-3600", "--explanation-url",
                "https://ca.example/incident")
    assert r.returncode == 0, r.stderr
    assert ca.db("SELECT ari_explanation FROM certs WHERE serial = ?",
                 (hexserial,)) == [("https://ca.example/incident",)]
    body = renewal_info(ca, cert_id(cert)).json()
    now = datetime.datetime.now(datetime.timezone.utc)
    assert parse(body["suggestedWindow"]["end"]) < now
    assert body["explanationURL"] == "https://ca.example/incident"    # S-ARI-7
    # A window that ends before it starts is refused (S-ARI-5).
    r = ari_set(ca, "--serial", hexserial, "--start", "now", "--end", "now-1")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = ari_set(ca, "--serial", "abcdef", "--start", "now", "--end", "now+60")
    assert r.returncode == 1 and "no certificate" in r.stderr
    # A revoked certificate should be replaced now: window in the past.
    cert2, _ = issue(acct, resp, ["ari4.example.com"])
    der = cert2.public_bytes(encoding=__import__(
        "cryptography.hazmat.primitives.serialization",
        fromlist=["Encoding"]).Encoding.DER)
    r = acct.post(acct.c.dir["revokeCert"], {"certificate": b64(der)})
    assert r.status_code == 200, r.text
    w = renewal_info(ca, cert_id(cert2)).json()["suggestedWindow"]
    assert parse(w["end"]) < datetime.datetime.now(datetime.timezone.utc)


def test_S_ARI_12_13_14_replaces(flow):
    ca, acct, resp = flow
    cert, _ = issue(acct, resp, ["rep.example.com", "rep2.example.com"])
    cid = cert_id(cert)
    # S-ARI-12: the certificate must exist, be this account's, share a name.
    r = acct.new_order(["rep.example.com"],
                       replaces=cid.split(".")[0] + "." + b64(b"\x05\x06"))
    problem(r, "malformed")
    r = acct.new_order(["other.example.com"], replaces=cid)
    doc = problem(r, "malformed")
    assert "shares no identifier" in doc["detail"]
    other = Account(Client(ca))
    problem(other.new_order(["rep.example.com"], replaces=cid),
            "unauthorized", 403)
    r = acct.new_order(["rep.example.com"], replaces="not-a-cert-id")
    problem(r, "malformed")
    assert ca.db("SELECT count(*) FROM orders WHERE replaces != ''") == [(0,)]
    # S-ARI-14: accepted and echoed, also when read back.
    r = acct.new_order(["rep.example.com", "rep2.example.com"], replaces=cid)
    assert r.status_code == 201, r.text
    assert r.json()["replaces"] == cid
    assert acct.get(r.headers["Location"]).json()["replaces"] == cid
    # S-ARI-13: a second order replacing it gets 409 alreadyReplaced.
    r2 = acct.new_order(["rep.example.com"], replaces=cid)
    problem(r2, "alreadyReplaced", 409)
    assert ca.db("SELECT count(*) FROM orders WHERE replaces = ?",
                 (cid,)) == [(1,)]
    # Without replaces the same names can still be ordered.
    assert acct.new_order(["rep.example.com"]).status_code == 201
