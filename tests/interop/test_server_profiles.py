# SPDX-License-Identifier: ISC
"""ACME profiles (draft-ietf-acme-profiles, S-PROF-*) on a real anvil-ca:
the directory's meta.profiles, newOrder's "profile" (refused, echoed,
defaulted), what each built-in profile puts in the certificate (parsed
with python cryptography), per-profile lifetimes and authorization reuse
(read back from the database), and a profile retired between newOrder
and finalize (anvil-ca restarted with the new configuration)."""
import datetime
import json
import os
import sqlite3
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from acmehelp import Account, Client, b64, csr_der, ec_key
from conftest import ANVIL_CA, wait_port
from test_server_orders import flow, problem  # noqa: F401 (flow: fixture)

HOUR = 3600
DAY = 24 * HOUR


def ready_order(acct, resp, names, **extra):
    r = acct.new_order(names, **extra)
    assert r.status_code == 201, r.text
    order, loc = r.json(), r.headers["Location"]
    for az in order["authorizations"]:
        a = acct.get(az).json()
        if a["status"] == "valid":
            continue
        ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
        resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
        assert acct.post(ch["url"], {}).status_code == 200
    assert acct.wait(loc, until=("ready", "invalid")).json()["status"] == "ready"
    return order, loc


def csr_with_extras(key, names):
    """A CSR asking for names[-1] as CN and for an extension no profile
    grants: the profile, not the CSR, decides what the certificate holds
    (S-PROF-8)."""
    return csr_der(key, names, cn=names[-1], extensions=[
        (x509.BasicConstraints(ca=True, path_length=None), True)])


def issue(acct, resp, names, key=None, **extra):
    order, loc = ready_order(acct, resp, names, **extra)
    key = key or ec_key()
    r = acct.post(order["finalize"], {"csr": b64(csr_with_extras(key, names))})
    assert r.status_code == 200 and r.json()["status"] == "valid", r.text
    pem = acct.get(r.json()["certificate"]).text
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert, loc


def ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def test_S_PROF_1_directory_lists_profiles(anvil_ca):
    meta = Client(anvil_ca).dir["meta"]
    profiles = meta["profiles"]
    assert sorted(profiles) == ["classic", "shortlived", "tlsserver"]
    for name, desc in profiles.items():
        assert isinstance(desc, str) and len(desc) > 10, name
    assert "160-hour" in profiles["shortlived"]


def test_S_PROF_4_unknown_profile_is_invalid_profile(anvil_ca):
    acct = Account(Client(anvil_ca))
    doc = problem(acct.new_order(["p.example.com"], profile="nope"),
                  "invalidProfile")
    assert "nope" in doc["detail"] and "classic" in doc["detail"]
    problem(acct.new_order(["p.example.com"], profile=""), "invalidProfile")
    problem(acct.new_order(["p.example.com"], profile=7), "malformed")
    assert anvil_ca.db("SELECT count(*) FROM orders") == [(0,)]


@pytest.mark.parametrize("profile", [None, "classic", "tlsserver"])
def test_S_PROF_4_ip_identifier_needs_shortlived(anvil_ca, profile):
    acct = Account(Client(anvil_ca))
    extra = {"profile": profile} if profile else {}
    doc = problem(acct.new_order(["a.example.com", "192.0.2.7"], **extra),
                  "invalidProfile")
    assert "192.0.2.7" in doc["detail"] and (profile or "classic") in doc["detail"]
    sub = doc["subproblems"]
    assert len(sub) == 1 and sub[0]["identifier"] == {"type": "ip",
                                                      "value": "192.0.2.7"}
    assert sub[0]["type"] == "urn:ietf:params:acme:error:rejectedIdentifier"
    assert anvil_ca.db("SELECT count(*) FROM orders") == [(0,)]
    r = acct.new_order(["a.example.com", "192.0.2.7"], profile="shortlived")
    assert r.status_code == 201, r.text
    assert r.json()["profile"] == "shortlived"


def test_S_PROF_4_too_many_names_for_the_profile(anvil_ca):
    acct = Account(Client(anvil_ca))
    names = [f"n{i}.example.com" for i in range(26)]
    doc = problem(acct.new_order(names, profile="tlsserver"), "invalidProfile")
    assert "at most 25" in doc["detail"]
    assert anvil_ca.db("SELECT count(*) FROM orders") == [(0,)]
    # classic takes up to 100.
    r = acct.new_order(names)
    assert r.status_code == 201 and r.json()["profile"] == "classic"


def test_S_PROF_5_S_PROF_6_profile_echoed_and_default_recorded(anvil_ca):
    acct = Account(Client(anvil_ca))
    r = acct.new_order(["default.example.com"])
    assert r.status_code == 201
    assert r.json()["profile"] == "classic"                       # S-PROF-6
    assert acct.get(r.headers["Location"]).json()["profile"] == "classic"
    oid = r.headers["Location"].rsplit("/", 1)[1]
    assert anvil_ca.db("SELECT profile FROM orders WHERE id = ?", (oid,)) == \
        [("classic",)]
    r = acct.new_order(["chosen.example.com"], profile="tlsserver")
    assert r.status_code == 201
    assert r.json()["profile"] == "tlsserver"                     # S-PROF-5
    oid = r.headers["Location"].rsplit("/", 1)[1]
    # Order and pending authorization lifetimes are the profile's.
    (prof, created, expires, authz_ids), = anvil_ca.db(
        "SELECT profile, created, expires, authz_ids FROM orders WHERE id = ?",
        (oid,))
    assert prof == "tlsserver" and expires - created == 8 * HOUR
    (zc, ze), = anvil_ca.db("SELECT created, expires FROM authzs WHERE id = ?",
                            (json.loads(authz_ids)[0],))
    assert ze - zc == HOUR


def test_S_ORD_2_not_after_capped_by_the_profile(anvil_ca):
    acct = Account(Client(anvil_ca))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def at(h):
        return (now + datetime.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = acct.new_order(["cap.example.com"], profile="shortlived",
                       notAfter=at(100))
    assert r.status_code == 201, r.text
    doc = problem(acct.new_order(["cap.example.com"], profile="shortlived",
                                 notAfter=at(200)), "malformed")
    assert "shortlived" in doc["detail"]
    # The same span fits classic's 90 days.
    assert acct.new_order(["cap.example.com"], notAfter=at(200)).status_code == 201


def test_S_PROF_8_classic_certificate(flow):
    ca, acct, resp = flow
    cert, loc = issue(acct, resp, ["b.classic.example.com", "a.classic.example.com"])
    assert cert.not_valid_after - cert.not_valid_before == \
        datetime.timedelta(days=90)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [a.value for a in cn] == ["a.classic.example.com"]
    assert ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER) is not None
    assert ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER) is not None
    assert ext(cert, ExtensionOID.BASIC_CONSTRAINTS).value.ca is False
    oid = loc.rsplit("/", 1)[1]
    assert ca.db("SELECT c.profile FROM certs c JOIN orders o ON"
                 " o.cert_id = c.id WHERE o.id = ?", (oid,)) == [("classic",)]


def test_S_PROF_8_classic_leaf_extensions_in_full(flow):
    """Every extension of a classic leaf, in order, with its criticality
    and value: the issuer precomputes the ones that do not depend on the
    subject, and this pins what they say."""
    ca, acct, resp = flow
    order, _ = ready_order(acct, resp, ["full.example.com"])
    r = acct.post(order["finalize"],
                  {"csr": b64(csr_with_extras(ec_key(), ["full.example.com"]))})
    assert r.status_code == 200 and r.json()["status"] == "valid", r.text
    pem = acct.get(r.json()["certificate"]).text
    end = "-----END CERTIFICATE-----"
    certs = [x509.load_pem_x509_certificate((p + end).encode())
             for p in pem.split(end) if "BEGIN" in p]
    leaf, issuer = certs[0], certs[1]
    E = ExtensionOID
    assert [(e.oid, e.critical) for e in leaf.extensions] == [
        (E.BASIC_CONSTRAINTS, True), (E.KEY_USAGE, True),
        (E.EXTENDED_KEY_USAGE, False), (E.CERTIFICATE_POLICIES, False),
        (E.SUBJECT_KEY_IDENTIFIER, False),
        (E.AUTHORITY_KEY_IDENTIFIER, False),
        (E.SUBJECT_ALTERNATIVE_NAME, False)]
    bc = ext(leaf, E.BASIC_CONSTRAINTS).value
    assert bc.ca is False and bc.path_length is None
    ku = ext(leaf, E.KEY_USAGE).value
    assert ku.digital_signature and not ku.key_encipherment
    assert not (ku.content_commitment or ku.data_encipherment or
                ku.key_agreement or ku.key_cert_sign or ku.crl_sign)
    assert list(ext(leaf, E.EXTENDED_KEY_USAGE).value) == \
        [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    pol = ext(leaf, E.CERTIFICATE_POLICIES).value
    assert [p.policy_identifier.dotted_string for p in pol] == \
        ["2.23.140.1.2.1"]
    assert all(p.policy_qualifiers is None for p in pol)
    assert ext(leaf, E.SUBJECT_KEY_IDENTIFIER).value.digest == \
        x509.SubjectKeyIdentifier.from_public_key(leaf.public_key()).digest
    aki = ext(leaf, E.AUTHORITY_KEY_IDENTIFIER).value
    assert aki.key_identifier == \
        ext(issuer, E.SUBJECT_KEY_IDENTIFIER).value.digest
    assert aki.authority_cert_issuer is None
    assert leaf.issuer == issuer.subject
    assert ext(leaf, E.SUBJECT_ALTERNATIVE_NAME).value \
        .get_values_for_type(x509.DNSName) == ["full.example.com"]


def test_S_PROF_8_tlsserver_certificate_has_no_cn_no_ski(flow):
    ca, acct, resp = flow
    cert, loc = issue(acct, resp, ["t.example.com"], profile="tlsserver")
    assert cert.not_valid_after - cert.not_valid_before == \
        datetime.timedelta(days=45)
    assert len(cert.subject) == 0
    assert ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER) is None
    san = ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert san.critical                                 # empty subject
    assert san.value.get_values_for_type(x509.DNSName) == ["t.example.com"]
    assert ext(cert, ExtensionOID.BASIC_CONSTRAINTS).value.ca is False
    oid = loc.rsplit("/", 1)[1]
    assert ca.db("SELECT c.profile FROM certs c JOIN orders o ON"
                 " o.cert_id = c.id WHERE o.id = ?", (oid,)) == [("tlsserver",)]


@pytest.mark.parametrize("profile,encipherment", [("classic", True),
                                                  ("tlsserver", False)])
def test_S_PROF_8_rsa_key_encipherment_per_profile(flow, profile, encipherment):
    ca, acct, resp = flow
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert, _ = issue(acct, resp, [f"rsa-{profile}.example.com"], key=key,
                    profile=profile)
    ku = ext(cert, ExtensionOID.KEY_USAGE).value
    assert ku.digital_signature and ku.key_encipherment is encipherment


def test_S_PROF_8_shortlived_ip_certificate_is_160_hours(flow):
    ca, acct, resp = flow
    cert, _ = issue(acct, resp, ["s.example.com", "127.0.0.1"],
                    profile="shortlived")
    assert cert.not_valid_after - cert.not_valid_before == \
        datetime.timedelta(hours=160)
    assert len(cert.subject) == 0
    assert ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER) is None
    san = ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["s.example.com"]


def test_authz_reuse_window_is_the_profiles(flow):
    """classic reuses authorizations validated in the last 30 days,
    tlsserver only those of the last 7 hours: an authorization made to
    look validated 8 hours ago serves the one and not the other."""
    ca, acct, resp = flow
    order, _ = ready_order(acct, resp, ["reuse.example.com"])
    az = order["authorizations"][0]
    zid = az.rsplit("/", 1)[1]
    r = acct.new_order(["reuse.example.com"], profile="tlsserver")
    assert r.json()["status"] == "ready" and r.json()["authorizations"] == [az]
    # Valid authorizations expire valid_authz_lifetime (30 days) after
    # validation: move the validation 8 hours back.
    con = sqlite3.connect(ca.db_path, timeout=5)
    with con:
        con.execute("UPDATE authzs SET expires = expires - ? WHERE id = ?",
                    (8 * HOUR, zid))
    con.close()
    r = acct.new_order(["reuse.example.com"], profile="tlsserver")
    assert r.json()["status"] == "pending" and r.json()["authorizations"] != [az]
    r = acct.new_order(["reuse.example.com"])
    assert r.json()["status"] == "ready" and r.json()["authorizations"] == [az]


def restart(ca, edit):
    assert ca.stop() == 0
    path = os.path.join(ca.dir, "anvil-ca.json")
    with open(path) as f:
        cfg = json.load(f)
    edit(cfg)
    with open(path, "w") as f:
        json.dump(cfg, f)
    ca.proc = subprocess.Popen([ANVIL_CA, "serve", "-c", path],
                               stdout=ca.log, stderr=subprocess.STDOUT)
    wait_port(ca.port, ca.proc)


def test_S_PROF_7_retired_profile_at_finalize(flow):
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["retire.example.com"],
                             profile="shortlived")

    def retire(cfg):
        cfg["profiles"]["shortlived"]["retired"] = True
    restart(ca, retire)
    # Still known (the order reads back), no longer offered.
    client = Client(ca)
    assert "shortlived" not in client.dir["meta"]["profiles"]
    acct.c = client
    assert acct.get(loc).json()["profile"] == "shortlived"
    doc = problem(acct.post(order["finalize"], {"csr": b64(csr_with_extras(
        ec_key(), ["retire.example.com"]))}), "invalidProfile")
    assert "shortlived" in doc["detail"]
    got = acct.get(loc).json()
    assert got["status"] == "invalid"
    assert got["error"]["type"] == "urn:ietf:params:acme:error:invalidProfile"
    oid = loc.rsplit("/", 1)[1]
    assert ca.db("SELECT status, cert_id FROM orders WHERE id = ?",
                 (oid,)) == [(5, "")]
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]
    problem(acct.new_order(["retire.example.com"], profile="shortlived"),
            "invalidProfile")
    # The operator was told at start what retiring would strand.
    ca.log.flush()
    with open(os.path.join(ca.dir, "serve.log")) as f:
        log = f.read()
    assert "profile=shortlived open_orders=1" in log


def test_retired_or_missing_default_refuses_to_start(tmp_path):
    from conftest import start_ca
    ca = start_ca(tmp_path)
    path = os.path.join(ca.dir, "anvil-ca.json")
    assert ca.stop() == 0
    ca.log.close()
    cfg = json.load(open(path))
    cfg["profiles"]["classic"]["retired"] = True
    json.dump(cfg, open(path, "w"))
    r = subprocess.run([ANVIL_CA, "serve", "-c", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "default_profile classic is retired" in r.stderr
    cfg["profiles"]["classic"]["retired"] = False
    cfg["profiles"]["classic"]["validity"] = 100 * DAY
    json.dump(cfg, open(path, "w"))
    r = subprocess.run([ANVIL_CA, "serve", "-c", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "profile classic: validity 8640000 exceeds cert_lifetime" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
