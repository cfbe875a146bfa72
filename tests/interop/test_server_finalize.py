# SPDX-License-Identifier: ISC
"""anvil-ca's finalize against what changed after the order became
ready: authorizations deactivated or expired since (S-AUTHZ-10), and
the certificate's key being any account's key (S-FIN-6).  Each case
asserts the reply, the order's state and that no certificate was
stored."""
import datetime
import os
import sqlite3
import subprocess
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from acmehelp import Account, Client, b64, csr_der, ec_key
from conftest import ANVIL_CA, CA, free_port, init_ca, wait_port
from http01 import Responder
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


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def chain_of(acct, order_json):
    pem = acct.get(order_json["certificate"]).text
    end = "-----END CERTIFICATE-----"
    return [x509.load_pem_x509_certificate((p + end).encode())
            for p in pem.split(end) if p.strip()]


def secs(t):
    """A certificate time (naive UTC in cryptography 38) in seconds."""
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp())


def refused_and_invalid(ca, acct, order, loc, names, needle):
    """finalize is refused with malformed naming needle, the order is
    invalid with that error, and no certificate exists."""
    doc = problem(finalize(acct, order, names), "malformed")
    assert needle in doc["detail"], doc
    got = acct.get(loc).json()
    assert got["status"] == "invalid", got
    assert needle in got["error"]["detail"], got
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]


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


def test_S_ORD_2_D56_not_after_passed_by_finalize_is_refused(flow):
    ca, acct, resp = flow
    now = int(time.time())
    names = ["late.example.com"]
    r = acct.new_order(names, notAfter=rfc3339(now + 86400))
    assert r.status_code == 201, r.text
    order, loc = ready_order(acct, resp, names)
    # The order's notAfter passes while it waits for finalize, as if
    # finalize came late (the review waited 70 s for it).
    oid = loc.rsplit("/", 1)[1]
    db_write(ca, "UPDATE orders SET not_after = ? WHERE id = ?",
             (now - 5, oid))
    refused_and_invalid(ca, acct, order, loc, names, "has passed")


def test_S_ORD_2_D56_not_before_far_back_is_refused(flow):
    ca, acct, resp = flow
    now = int(time.time())
    # At newOrder: more than an hour back is refused (a day was taken).
    problem(acct.new_order(["back.example.com"],
                           notBefore=rfc3339(now - 23 * 3600)), "malformed")
    problem(acct.new_order(["back.example.com"],
                           notBefore=rfc3339(now - 7200)), "malformed")
    # Within the hour: honoured exactly.
    names = ["back.example.com"]
    r = acct.new_order(names, notBefore=rfc3339(now - 600))
    assert r.status_code == 201, r.text
    order, loc = r.json(), r.headers["Location"]
    from test_server_orders import answer_all
    answer_all(acct, resp, order)
    assert acct.wait(loc, until=("ready", "invalid")).json()["status"] == "ready"
    r = finalize(acct, order, names)
    assert r.status_code == 200, r.text
    cert = chain_of(acct, acct.wait(loc).json())[0]
    assert secs(cert.not_valid_before) == now - 600
    # An order that asked for a notBefore within bounds at newOrder and
    # is finalized days later (review #4: up to 8 days of backdating).
    names = ["back2.example.com"]
    r = acct.new_order(names, notBefore=rfc3339(now - 600))
    order, loc = r.json(), r.headers["Location"]
    answer_all(acct, resp, order)
    assert acct.wait(loc, until=("ready", "invalid")).json()["status"] == "ready"
    db_write(ca, "UPDATE orders SET not_before = ? WHERE id = ?",
             (now - 8 * 86400, loc.rsplit("/", 1)[1]))
    doc = problem(finalize(acct, order, names), "malformed")
    assert "notBefore" in doc["detail"], doc
    assert acct.get(loc).json()["status"] == "invalid"
    assert ca.db("SELECT count(*) FROM certs") == [(1,)]


def short_intermediate(workdir, days):
    """Signs the intermediate again (same name, key and extensions) so
    that it ends in days; returns its notAfter (seconds)."""
    ca_dir = os.path.join(workdir, "ca")
    with open(os.path.join(ca_dir, "intermediate.pem"), "rb") as f:
        inter = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(ca_dir, "root.pem"), "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(ca_dir, "root.key"), "rb") as f:
        root_key = serialization.load_pem_private_key(f.read(), None)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    b = (x509.CertificateBuilder().subject_name(inter.subject)
         .issuer_name(root.subject).public_key(inter.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=days)))
    for ext in inter.extensions:
        b = b.add_extension(ext.value, critical=ext.critical)
    short = b.sign(root_key, hashes.SHA256())
    with open(os.path.join(ca_dir, "intermediate.pem"), "wb") as f:
        f.write(short.public_bytes(serialization.Encoding.PEM))
    return secs(short.not_valid_after)


def test_S_ORD_2_D56_leaf_never_outlives_its_issuer(tmp_path, challtestsrv):
    workdir, port, http01 = str(tmp_path / "ca"), free_port(), free_port()
    path = init_ca(workdir, port, [
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)], {"caa_identities": "anvil.test"})
    inter_end = short_intermediate(workdir, 10)
    log = open(os.path.join(workdir, "serve.log"), "w")
    proc = subprocess.Popen([ANVIL_CA, "serve", "-c", path],
                            stdout=log, stderr=subprocess.STDOUT)
    ca = CA(workdir, port, proc, log)
    resp = Responder(http01)
    try:
        wait_port(port, proc)
        acct = Account(Client(ca))
        # The classic profile's 90 days are cut to the issuer's end.
        names = ["short.example.com"]
        order, loc = ready_order(acct, resp, names)
        r = finalize(acct, order, names)
        assert r.status_code == 200, r.text
        chain = chain_of(acct, acct.wait(loc).json())
        end = secs(chain[0].not_valid_after)
        assert end <= inter_end, (end, inter_end)
        assert end <= secs(chain[1].not_valid_after)
        assert chain[0].not_valid_before < chain[0].not_valid_after
        # A requested notAfter past the issuer's: refused at newOrder.
        problem(acct.new_order(["short.example.com"], notAfter=rfc3339(
            int(time.time()) + 20 * 86400)), "malformed")
    finally:
        resp.close()
        assert ca.stop() == 0
        log.close()
