# SPDX-License-Identifier: ISC
"""certbot (Debian's) against anvil-ca: http-01 standalone and webroot.
Every certificate is checked with openssl: the chain verifies against
DIR/ca/root.pem, the SANs are the names asked for, the validity is the
configured lifetime."""
import os
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from functools import partial

import pytest


def certbot(ca, workdir, *args):
    env = dict(os.environ, REQUESTS_CA_BUNDLE=ca.tls_ca)
    cmd = ["certbot", "--non-interactive", "--agree-tos",
           "--register-unsafely-without-email", "--no-eff-email",
           "--server", ca.directory,
           "--config-dir", f"{workdir}/config", "--work-dir", f"{workdir}/work",
           "--logs-dir", f"{workdir}/logs", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=180)


def check_cert(ca, live, names):
    cert, chain = os.path.join(live, "cert.pem"), os.path.join(live, "chain.pem")
    v = subprocess.run(["openssl", "verify", "-CAfile", ca.root, "-untrusted",
                        chain, cert], capture_output=True, text=True)
    assert v.returncode == 0 and "OK" in v.stdout, v.stdout + v.stderr
    text = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    sans = sorted(s.strip().removeprefix("DNS:") for s in
                  text.split("X509v3 Subject Alternative Name:")[1]
                  .splitlines()[1].split(","))
    assert sans == sorted(names)
    assert "TLS Web Server Authentication" in text
    # Validity as configured: 90 days from one minute before issuance.
    from cryptography import x509 as cx509
    with open(cert, "rb") as f:
        c = cx509.load_pem_x509_certificate(f.read())
    span = c.not_valid_after - c.not_valid_before
    assert span.total_seconds() == 90 * 86400
    assert "2.23.140.1.2.1" in text or "Policy: 2.23.140.1.2.1" in text
    # The issuance is in the database and in the audit log.
    serial = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-serial"],
                            capture_output=True, text=True).stdout.strip()
    serial = serial.split("=")[1].lower().lstrip("0")
    assert ca.db("SELECT count(*) FROM certs WHERE serial = ?", (serial,)) == [(1,)]
    ca.audit(lambda e: e["event"] == "issuance" and e["serial"] == serial)
    return cert


def test_certbot_http01_standalone_issues(validating_ca, tmp_path):
    names = ["test.example.com", "www.test.example.com"]
    r = certbot(validating_ca, tmp_path / "cb", "certonly", "--standalone",
                "--preferred-challenges", "http-01",
                "--http-01-port", str(validating_ca.http01_port),
                "--http-01-address", "127.0.0.1",
                *sum((["-d", n] for n in names), []))
    assert r.returncode == 0, r.stdout + r.stderr
    live = tmp_path / "cb" / "config" / "live" / "test.example.com"
    check_cert(validating_ca, str(live), names)


def test_certbot_http01_webroot_issues(validating_ca, tmp_path):
    webroot = tmp_path / "www"
    webroot.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(webroot))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", validating_ca.http01_port), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        r = certbot(validating_ca, tmp_path / "cb", "certonly", "--webroot",
                    "-w", str(webroot), "-d", "webroot.example.org")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.returncode == 0, r.stdout + r.stderr
    check_cert(validating_ca, str(tmp_path / "cb/config/live/webroot.example.org"),
               ["webroot.example.org"])


def test_certbot_revokes(validating_ca, tmp_path):
    wd = tmp_path / "cb"
    r = certbot(validating_ca, wd, "certonly", "--standalone",
                "--preferred-challenges", "http-01",
                "--http-01-port", str(validating_ca.http01_port),
                "--http-01-address", "127.0.0.1", "-d", "revoke.example.com")
    assert r.returncode == 0, r.stdout + r.stderr
    cert = wd / "config/live/revoke.example.com/cert.pem"
    r = certbot(validating_ca, wd, "revoke", "--cert-path", str(cert),
                "--reason", "keycompromise", "--no-delete-after-revoke")
    assert r.returncode == 0, r.stdout + r.stderr
    assert validating_ca.db("SELECT revoked_at > 0, reason FROM certs") == [(1, 1)]
