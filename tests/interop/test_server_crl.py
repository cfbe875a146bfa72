# SPDX-License-Identifier: ISC
"""anvil-ca's CRL (D50): certificates name it in CRL Distribution Points
(P-BR-13), GET /crl serves a signed full CRL of the intermediate on a
plain-HTTP listener (crl_http_listen) and on the ACME one (P-BR-12), and
revocations by certbot and by anvil show in it with their reasons
(S-REV-6: none for "unspecified").  Read back by python3-cryptography and
by OpenSSL as a relying party: `openssl verify -crl_check -crl_download`
fetches the CRL from the URL in the certificate itself.  Time moves with
the real libfaketime."""
import os
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, CRLEntryExtensionOID

from conftest import ANVIL_CA, BUILD, free_port, serve_once, start_ca
from test_server_certbot import certbot

ANVIL = os.path.join(BUILD, "src", "client", "anvil")


@pytest.fixture
def crl_ca(tmp_path, challtestsrv):
    """A validating anvil-ca with its CRL listener on a free port."""
    http01, crl_port = free_port(), free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01), "--crl-listen", f"127.0.0.1:{crl_port}"],
        config={"caa_identities": "anvil.test"})
    ca.http01_port = http01
    ca.crl_url = f"http://127.0.0.1:{crl_port}/crl"
    ca.intermediate = os.path.join(ca.dir, "ca", "intermediate.pem")
    yield ca
    rc = ca.stop()
    ca.log.close()
    assert rc == 0


def http_get(url, method="GET", data=None, cafile=None):
    """(status, headers, body), for error statuses too."""
    req = urllib.request.Request(url, method=method, data=data)
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def fetch_crl(ca):
    status, headers, body = http_get(ca.crl_url)
    assert status == 200, body
    assert headers["Content-Type"] == "application/pkix-crl"
    return x509.load_der_x509_crl(body), body, headers


def issue(ca, state, name):
    r = subprocess.run([ANVIL, "issue", "-d", name, "--standalone",
                        "--http-port", str(ca.http01_port), "--server",
                        ca.directory, "--ca-bundle", ca.tls_ca,
                        "--state-dir", state],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    path = os.path.join(state, "certs", name, "cert.pem")
    with open(path, "rb") as f:
        return path, x509.load_pem_x509_certificate(f.read())


def cdp_urls(cert):
    ext = cert.extensions.get_extension_for_oid(
        ExtensionOID.CRL_DISTRIBUTION_POINTS)
    assert not ext.critical
    return [n.value for dp in ext.value for n in dp.full_name]


def crl_number(crl):
    return crl.extensions.get_extension_for_oid(
        ExtensionOID.CRL_NUMBER).value.crl_number


def openssl_verify(ca, cert_path):
    """OpenSSL as a relying party, the CRL fetched from the certificate's
    own CRL Distribution Points over HTTP."""
    return subprocess.run(
        ["openssl", "verify", "-crl_check", "-crl_download", "-CAfile",
         ca.root, "-untrusted", ca.intermediate, cert_path],
        capture_output=True, text=True, timeout=60)


def test_P_BR_12_13_S_REV_6_revocations_by_certbot_and_anvil_are_on_the_crl(
        crl_ca, tmp_path):
    ca = crl_ca
    state = str(tmp_path / "state")
    good_path, good = issue(ca, state, "good.example.com")
    plain_path, plain = issue(ca, state, "plain.example.com")
    zero_path, zero = issue(ca, state, "zero.example.com")
    wd = tmp_path / "cb"
    r = certbot(ca, wd, "certonly", "--standalone",
                "--preferred-challenges", "http-01",
                "--http-01-port", str(ca.http01_port),
                "--http-01-address", "127.0.0.1", "-d", "kc.example.com")
    assert r.returncode == 0, r.stdout + r.stderr
    kc_path = str(wd / "config/live/kc.example.com/cert.pem")
    with open(kc_path, "rb") as f:
        kc = x509.load_pem_x509_certificate(f.read())
    # P-BR-13: every certificate names the CRL, as an http URL.
    for c in (good, plain, zero, kc):
        assert cdp_urls(c) == [ca.crl_url]

    # Before any revocation: a valid, empty CRL, and OpenSSL accepts all.
    crl, _, _ = fetch_crl(ca)
    assert len(crl) == 0
    for p in (good_path, plain_path, zero_path, kc_path):
        v = openssl_verify(ca, p)
        assert v.returncode == 0 and ": OK" in v.stdout, v.stdout + v.stderr

    # anvil revokes without a reason and with 0 (unspecified), certbot
    # with keyCompromise.
    r = subprocess.run([ANVIL, "revoke", "plain.example.com", "--state-dir",
                        state], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([ANVIL, "revoke", "zero.example.com", "--reason", "0",
                        "--state-dir", state],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert ca.db("SELECT reason FROM certs WHERE serial = ?",
                 (format(zero.serial_number, "x"),)) == [(0,)]
    r = certbot(ca, wd, "revoke", "--cert-path", kc_path,
                "--reason", "keycompromise", "--no-delete-after-revoke")
    assert r.returncode == 0, r.stdout + r.stderr

    crl, der, headers = fetch_crl(ca)
    with open(ca.intermediate, "rb") as f:
        inter = x509.load_pem_x509_certificate(f.read())
    assert crl.issuer == inter.subject
    assert crl.is_signature_valid(inter.public_key())
    aki = crl.extensions.get_extension_for_oid(
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    ski = inter.extensions.get_extension_for_oid(
        ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    assert aki.key_identifier == ski.digest
    assert crl_number(crl) >= 2
    # A full CRL: no issuingDistributionPoint (BR 7.2.2.1 asks for it of
    # partitioned CRLs only).
    assert all(e.oid != ExtensionOID.ISSUING_DISTRIBUTION_POINT
               for e in crl.extensions)
    assert (crl.next_update - crl.last_update).total_seconds() == 7 * 86400
    assert "max-age=" in headers["Cache-Control"]
    entries = {e.serial_number: e for e in crl}
    assert set(entries) == {plain.serial_number, zero.serial_number,
                            kc.serial_number}
    # S-REV-6: no reason given, or 0, no reasonCode (BR 7.2.2);
    # keyCompromise as given.
    assert len(entries[plain.serial_number].extensions) == 0
    assert len(entries[zero.serial_number].extensions) == 0
    reason = entries[kc.serial_number].extensions.get_extension_for_oid(
        CRLEntryExtensionOID.CRL_REASON).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    revoked_at = ca.db("SELECT revoked_at FROM certs WHERE serial = ?",
                       (format(kc.serial_number, "x"),))[0][0]
    assert entries[kc.serial_number].revocation_date.timestamp() == revoked_at

    # OpenSSL, fetching from the certificates' URL, refuses the revoked.
    for p in (plain_path, zero_path, kc_path):
        v = openssl_verify(ca, p)
        assert v.returncode != 0 and "certificate revoked" in v.stdout + v.stderr, \
            v.stdout + v.stderr
    v = openssl_verify(ca, good_path)
    assert v.returncode == 0 and ": OK" in v.stdout, v.stdout + v.stderr

    # The ACME listener serves the same CRL over HTTPS.
    status, h, body = http_get(ca.base + "/crl", cafile=ca.tls_ca)
    assert status == 200 and body == der
    assert h["Content-Type"] == "application/pkix-crl"


def test_D50_crl_is_kept_numbered_and_stored(crl_ca, tmp_path):
    ca = crl_ca
    state = str(tmp_path / "state")
    _, first = issue(ca, state, "one.example.com")
    crl1, der1, _ = fetch_crl(ca)
    # No revocation since: the same CRL, byte for byte.
    _, der, _ = fetch_crl(ca)
    assert der == der1
    assert ca.db("SELECT number FROM crls") == [(crl_number(crl1),)]
    # A revocation: the next fetch gets a new CRL, numbered one higher.
    r = subprocess.run([ANVIL, "revoke", "one.example.com", "--reason",
                        "superseded", "--state-dir", state],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    crl2, der2, _ = fetch_crl(ca)
    assert crl_number(crl2) == crl_number(crl1) + 1
    assert [e.serial_number for e in crl2] == [first.serial_number]
    # Only the newest is kept in the database.
    assert ca.db("SELECT number FROM crls") == [(crl_number(crl2),)]
    # A restart serves the stored CRL, not a new one.
    ca.stop()
    ca.restart()
    _, der, _ = fetch_crl(ca)
    assert der == der2
    # "anvil-ca crl" writes that same current CRL, as PEM here.
    out = tmp_path / "crl.pem"
    cfg = os.path.join(ca.dir, "anvil-ca.json")
    r = subprocess.run([ANVIL_CA, "crl", "-c", cfg, "--out", str(out),
                        "--pem"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(out, "rb") as f:
        assert x509.load_pem_x509_crl(f.read()).public_bytes(
            Encoding.DER) == der2
    # Two days on (crl_refresh is one day): a new CRL, one number up,
    # made by the command with the real libfaketime.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if x)
    r = subprocess.run(["faketime", "-f", "+2d", ANVIL_CA, "crl", "-c", cfg],
                       capture_output=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    crl3 = x509.load_der_x509_crl(r.stdout)
    assert crl_number(crl3) == crl_number(crl2) + 1
    assert (crl3.last_update - crl2.last_update).total_seconds() >= 2 * 86400 - 60
    assert [e.serial_number for e in crl3] == [first.serial_number]


def test_crl_listener_refuses_what_it_does_not_serve(crl_ca):
    ca = crl_ca
    base = ca.crl_url.removesuffix("/crl")
    status, h, body = http_get(base + "/directory")
    assert status == 404
    assert h["Content-Type"] == "application/problem+json"
    assert b"malformed" in body
    status, h, body = http_get(ca.crl_url, method="POST", data=b"x" * 5000)
    assert status == 405 and h["Allow"] == "GET, HEAD"
    status, h, body = http_get(ca.crl_url, method="HEAD")
    assert status == 200 and body == b""
    # The listener still serves after those.
    fetch_crl(ca)


def test_profile_without_crl_and_ca_without_url(tmp_path, challtestsrv):
    """No CRL URL configured: no CRL Distribution Points; a profile with
    crl_distribution_point false leaves it out even when there is one."""
    http01, crl_port = free_port(), free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ca = start_ca(tmp_path / "a", extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)],
        config={"caa_identities": "anvil.test",
                "crl_url": f"http://127.0.0.1:{crl_port}/crl",
                "default_profile": "nocrl",
                "profiles": {"nocrl": {"description": "no CRL named",
                                       "crl_distribution_point": False},
                             "classic": {"description": "the default"}}})
    ca.http01_port = http01
    try:
        _, c = issue(ca, str(tmp_path / "s1"), "nocrl.example.com")
        assert all(e.oid != ExtensionOID.CRL_DISTRIBUTION_POINTS
                   for e in c.extensions)
        r = subprocess.run([ANVIL, "issue", "-d", "classic.example.com",
                            "--standalone", "--http-port", str(http01),
                            "--server", ca.directory, "--ca-bundle",
                            ca.tls_ca, "--state-dir", str(tmp_path / "s1"),
                            "--profile", "classic"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        with open(tmp_path / "s1/certs/classic.example.com/cert.pem", "rb") as f:
            c = x509.load_pem_x509_certificate(f.read())
        assert cdp_urls(c) == [f"http://127.0.0.1:{crl_port}/crl"]
    finally:
        assert ca.stop() == 0
        ca.log.close()
    ca = start_ca(tmp_path / "b", extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)],
        config={"caa_identities": "anvil.test"})
    ca.http01_port = http01
    try:
        _, c = issue(ca, str(tmp_path / "s2"), "nourl.example.com")
        assert all(e.oid != ExtensionOID.CRL_DISTRIBUTION_POINTS
                   for e in c.extensions)
    finally:
        assert ca.stop() == 0
        ca.log.close()


@pytest.mark.parametrize("config,needle", [
    ({"crl_refresh": 86400, "crl_lifetime": 86400}, "crl_refresh"),
    ({"crl_lifetime": 11 * 86400}, "crl_lifetime"),
    ({"crl_http_listen": "0.0.0.0:8080"}, "wildcard"),
    ({"crl_url": "ftp://crl.example/x.crl"}, "crl_url"),
    ({"crl_url": "http://crl.example/a b"}, "crl_url"),
])
def test_bad_crl_configuration_is_refused_at_start(tmp_path, config, needle):
    r = serve_once(tmp_path, config)
    assert r.returncode == 1
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
