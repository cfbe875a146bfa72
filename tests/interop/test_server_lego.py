# SPDX-License-Identifier: ISC
"""lego (Debian's 4.9.1) against anvil-ca over http-01."""
import os
import subprocess


def lego(ca, path, *args):
    env = dict(os.environ, LEGO_CA_CERTIFICATES=ca.tls_ca)
    cmd = ["lego", "--server", ca.directory, "--accept-tos",
           "--email", "admin@example.org", "--path", str(path),
           "--key-type", "ec256", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=180)


def test_lego_http01_issues(validating_ca, tmp_path):
    r = lego(validating_ca, tmp_path / "lego", "--http",
             "--http.port", f"127.0.0.1:{validating_ca.http01_port}",
             "-d", "lego.example.net", "-d", "www.lego.example.net", "run")
    assert r.returncode == 0, r.stdout + r.stderr
    crt = tmp_path / "lego/certificates/lego.example.net.crt"
    # lego writes leaf + issuer into NAME.crt; verify the leaf with it.
    v = subprocess.run(["openssl", "verify", "-CAfile", validating_ca.root,
                        "-untrusted", str(crt), str(crt)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout", "-ext",
                           "subjectAltName"], capture_output=True, text=True).stdout
    assert "DNS:lego.example.net" in text and "DNS:www.lego.example.net" in text


def test_lego_revokes(validating_ca, tmp_path):
    args = ("--http", "--http.port", f"127.0.0.1:{validating_ca.http01_port}",
            "-d", "lego-revoke.example.net")
    r = lego(validating_ca, tmp_path / "lego", *args, "run")
    assert r.returncode == 0, r.stdout + r.stderr
    r = lego(validating_ca, tmp_path / "lego", *args, "revoke", "--reason", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert validating_ca.db("SELECT revoked_at > 0, reason FROM certs") == [(1, 4)]


def lego_dns(ca, tmp_path, *names):
    env_extra = {
        "EXEC_PATH": os.path.join(os.path.dirname(__file__), "challtestsrv-hook"),
        "EXEC_POLLING_INTERVAL": "1", "EXEC_PROPAGATION_TIMEOUT": "30",
        "EXEC_SEQUENCE_INTERVAL": "1", "CTS_MGMT": str(ca.dns.mgmt_port),
    }
    os.environ.update(env_extra)
    try:
        return lego(ca, tmp_path / "lego", "--dns", "exec", "--dns.resolvers",
                    f"127.0.0.1:{ca.dns.dns_port}", "--dns.disable-cp",
                    *sum((["-d", n] for n in names), []), "run")
    finally:
        for k in env_extra:
            os.environ.pop(k, None)


def test_lego_dns01_wildcard_issues(validating_ca, tmp_path):
    r = lego_dns(validating_ca, tmp_path, "*.wild.example.net", "wild.example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    crt = tmp_path / "lego/certificates/_.wild.example.net.crt"
    text = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout", "-ext",
                           "subjectAltName"], capture_output=True, text=True).stdout
    assert "DNS:*.wild.example.net" in text and "DNS:wild.example.net" in text
    v = subprocess.run(["openssl", "verify", "-CAfile", validating_ca.root,
                        "-untrusted", str(crt), str(crt)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    # The wildcard authorization names the base domain and says so.
    rows = validating_ca.db("SELECT ident_value, wildcard FROM authzs "
                            "WHERE wildcard = 1")
    assert rows == [("wild.example.net", 1)]


def test_lego_tls_alpn01_issues(validating_ca, tmp_path):
    r = lego(validating_ca, tmp_path / "lego", "--tls",
             "--tls.port", f"127.0.0.1:{validating_ca.tls_alpn01_port}",
             "-d", "alpn.example.net", "run")
    assert r.returncode == 0, r.stdout + r.stderr
    crt = tmp_path / "lego/certificates/alpn.example.net.crt"
    v = subprocess.run(["openssl", "verify", "-CAfile", validating_ca.root,
                        "-untrusted", str(crt), str(crt)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    assert validating_ca.db("SELECT type FROM challs WHERE status = 4") == [(3,)]
