# SPDX-License-Identifier: ISC
"""The same client flows against both CAs, pebble 2.4.0 and anvil-ca:
webroot issuance, renew --force, revoke (checked at the CA), account
rollover and deactivate (checked at the CA).  Each run checks the exit
status and the files."""
import functools
import json
import os
import stat
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from test_client import anvil, check_files, pebble, serial_of  # noqa: F401


class CAUnderTest:
    """What the tests need of either CA."""

    def __init__(self, kind, request):
        self.kind = kind
        if kind == "pebble":
            p = request.getfixturevalue("pebble")
            self.p = p
            self.directory, self.bundle = p.directory, p.ca_bundle
            self.http01_port = p.http01_port
        else:
            ca = request.getfixturevalue("validating_ca")
            self.ca = ca
            self.directory, self.bundle = ca.directory, ca.tls_ca
            self.http01_port = ca.http01_port

    def root(self):
        if self.kind == "pebble":
            return requests.get(f"https://127.0.0.1:{self.p.mgmt}/roots/0",
                                verify=self.bundle).text
        return open(self.ca.root).read()

    def revoked(self, serial):
        if self.kind == "pebble":
            r = requests.get(
                f"https://127.0.0.1:{self.p.mgmt}/cert-status-by-serial/"
                f"{serial:x}", verify=self.bundle)
            return r.json()["Status"] == "Revoked"
        return self.ca.db("SELECT revoked_at FROM certs WHERE serial = ?",
                          (f"{serial:x}",))[0][0] > 0

    def common(self, state):
        return ["--server", self.directory, "--ca-bundle", self.bundle,
                "--state-dir", state, "--agree-tos"]


@pytest.fixture(params=["pebble", "anvil-ca"])
def cut(request):
    return CAUnderTest(request.param, request)


def serve_dir(port, root):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=root)
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_webroot_renew_force_revoke(cut, tmp_path):
    state = str(tmp_path / "state")
    www = tmp_path / "www"
    www.mkdir()
    httpd = serve_dir(cut.http01_port, str(www))
    try:
        r = anvil("issue", "-d", "flow.example.com", "--webroot", str(www),
                  *cut.common(state))
        assert r.returncode == 0, r.stderr
        root = cut.root()
        check_files(state, "flow.example.com", root)
        assert os.listdir(www / ".well-known" / "acme-challenge") == []
        first = serial_of(state, "flow.example.com")
        # renew --force replays the webroot issuance from renewal.json.
        r = anvil("renew", "flow.example.com", "--force", "--state-dir", state)
        assert r.returncode == 0, r.stderr
    finally:
        httpd.shutdown()
        httpd.server_close()
    check_files(state, "flow.example.com", root)
    second = serial_of(state, "flow.example.com")
    assert second != first
    archived = os.listdir(os.path.join(state, "archive", "flow.example.com"))
    assert sorted(archived) == ["1", "2"]
    # Revoke the current one; the CA says it is revoked, the old one not.
    r = anvil("revoke", "flow.example.com", "--reason", "keycompromise",
              "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert cut.revoked(second) and not cut.revoked(first)


def test_account_rollover_and_deactivate(cut, tmp_path):
    state = str(tmp_path / "state")
    ca = cut.common(state)[:-1]
    r = anvil("issue", "-d", "acct2.example.com", "--standalone",
              "--http-port", str(cut.http01_port), *cut.common(state))
    assert r.returncode == 0, r.stderr
    url = json.loads(anvil("account", "show", "--json", *ca).stdout)["url"]
    keydir = os.path.join(state, "accounts",
                          os.listdir(os.path.join(state, "accounts"))[0])
    before = open(os.path.join(keydir, "key.pem")).read()
    if cut.kind == "anvil-ca":
        jwk_before = cut.ca.db("SELECT jwk FROM accounts")[0][0]
    r = anvil("account", "rollover", *ca)
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(keydir, "key.pem")).read() != before
    assert stat.S_IMODE(os.stat(os.path.join(keydir, "key.pem")).st_mode) == 0o600
    if cut.kind == "anvil-ca":
        assert cut.ca.db("SELECT jwk FROM accounts")[0][0] != jwk_before
    # The new key works for a new order on the same account.
    r = anvil("issue", "-d", "acct3.example.com", "--standalone",
              "--http-port", str(cut.http01_port), *cut.common(state))
    assert r.returncode == 0, r.stderr
    assert json.loads(anvil("account", "show", "--json", *ca).stdout)["url"] == url
    r = anvil("account", "deactivate", "--json", *ca)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "deactivated"
    if cut.kind == "anvil-ca":
        assert cut.ca.db("SELECT status FROM accounts") == [(6,)]


def test_progress_lines_on_a_terminal_only(validating_ca, tmp_path):
    """Progress lines when stdout is a terminal (run under script(1)'s
    pty); none when it is a pipe, so scripts see only the result."""
    import shlex
    import subprocess
    from test_client import ANVIL
    ca = validating_ca
    args = [ANVIL, "issue", "-d", "tty.example.com", "--standalone",
            "--http-port", str(ca.http01_port), "--server", ca.directory,
            "--ca-bundle", ca.tls_ca, "--state-dir", str(tmp_path / "s")]
    r = subprocess.run(["script", "-qec", shlex.join(args), "/dev/null"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    for step in ("account", "order", "authorizations", "finalize", "download"):
        assert f"anvil: {step}..." in r.stdout
    r = anvil(*[a if a != "tty.example.com" else "pipe.example.com"
                for a in args[1:]])
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and "anvil: order..." not in r.stdout


def snapshot(certdir):
    out = {}
    for f in sorted(os.listdir(certdir)):
        p = os.path.join(certdir, f)
        if os.path.isfile(p) and f != "renewal.json":
            st = os.stat(p)
            out[f] = (open(p, "rb").read(), st.st_ino, st.st_mtime_ns)
    return out


def test_failed_renewal_leaves_the_files_in_use(validating_ca, tmp_path):
    """A renewal that fails at the CA (validation fails: nothing serves
    the webroot any more) or before it (the CA is down) exits 1 with one
    line, records the error, and leaves every file in use untouched."""
    ca = validating_ca
    state = str(tmp_path / "state")
    www = tmp_path / "www"
    www.mkdir()
    httpd = serve_dir(ca.http01_port, str(www))
    try:
        r = anvil("issue", "-d", "keep.example.com", "--webroot", str(www),
                  "--server", ca.directory, "--ca-bundle", ca.tls_ca,
                  "--state-dir", state)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.returncode == 0, r.stderr
    certdir = os.path.join(state, "certs", "keep.example.com")
    before = snapshot(certdir)
    # Expire the authorization so the renewal must validate again.
    import sqlite3
    con = sqlite3.connect(ca.db_path, timeout=5)
    con.execute("UPDATE authzs SET expires = 1")
    con.commit()
    con.close()
    r = anvil("renew", "keep.example.com", "--force", "--state-dir", state)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert snapshot(certdir) == before
    assert os.listdir(os.path.join(state, "archive", "keep.example.com")) == ["1"]
    # The CA saw the attempt fail: the new authorization is invalid.
    assert ca.db("SELECT count(*) FROM authzs WHERE status = 5") == [(1,)]
    rows = json.loads(anvil("list", "--json", "--state-dir", state).stdout)["certificates"]
    assert rows[0]["last_error"]
    assert ca.stop() == 0
    r = anvil("renew", "--all", "--force", "--state-dir", state)
    assert r.returncode == 1
    assert snapshot(certdir) == before
    ca.restart()  # for the fixture's clean stop
