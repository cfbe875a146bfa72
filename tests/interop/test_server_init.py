# SPDX-License-Identifier: ISC
"""anvil-ca init for a company (D72): the organisation's name in the
subjects, the listener's names, a wildcard listen address refused without
them, the root's fingerprint, paths relative to the configuration (a
copied CA directory serves on its own), a listener name for serve, and a
listener certificate signed by the issuing root."""
import hashlib
import re
import json
import os
import shutil
import signal
import subprocess

import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from conftest import ANVIL_CA, free_port, wait_port


def init(d, *args):
    return subprocess.run([ANVIL_CA, "init", str(d), *args],
                          capture_output=True, text=True, timeout=60)


def cert(path):
    with open(path, "rb") as f:
        text = f.read()
    end = b"-----END CERTIFICATE-----"
    return [x509.load_pem_x509_certificate(p + end)
            for p in text.split(end) if p.strip()]


def names(c, oid):
    return [a.value for a in c.subject.get_attributes_for_oid(oid)]


def sans(c):
    ext = c.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return [str(v.value) for v in ext.value]


class Serve:
    def __init__(self, cfg, port):
        self.log = open(os.path.join(os.path.dirname(cfg), "serve.log"), "w")
        self.proc = subprocess.Popen([ANVIL_CA, "serve", "-c", cfg],
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_port(port, self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.log.close()
        return rc


def test_D72_init_name_dns_names_and_fingerprint(tmp_path):
    d = tmp_path / "ca"
    port = free_port()
    r = init(d, "--name", "Example Corp", "--listen", f"0.0.0.0:{port}",
             "--dns-name", "acme.corp.example", "--dns-name", "10.1.2.3")
    assert r.returncode == 0, r.stderr
    root = cert(d / "ca" / "root.pem")[0]
    inter = cert(d / "ca" / "intermediate.pem")[0]
    leaf, tlsca = cert(d / "tls" / "server.pem")
    assert names(root, NameOID.ORGANIZATION_NAME) == ["Example Corp"]
    assert names(root, NameOID.COMMON_NAME) == ["Example Corp root CA"]
    assert names(inter, NameOID.COMMON_NAME) == [
        "Example Corp intermediate CA"]
    assert names(inter, NameOID.ORGANIZATION_NAME) == ["Example Corp"]
    assert names(tlsca, NameOID.COMMON_NAME) == [
        "Example Corp ACME listener CA"]
    assert sans(leaf) == ["localhost", "127.0.0.1", "::1",
                          "acme.corp.example", "10.1.2.3"]
    # The fingerprint printed is the root's, as openssl shows it.
    fp = hashlib.sha256(root.public_bytes(Encoding.DER)).hexdigest().upper()
    fp = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))
    assert f"root fingerprint (SHA-256): {fp}\n" in r.stdout
    assert f"anvil-ca serve -c {d}/anvil-ca.json\n" in r.stdout
    assert (f"--server https://acme.corp.example:{port}/directory "
            f"--ca-bundle {d}/tls/ca.pem") in r.stdout
    # Paths are relative to the configuration's directory.
    cfg = json.load(open(d / "anvil-ca.json"))
    assert cfg["database"] == "sqlite:anvil-ca.db"
    for k, v in (("root_cert", "ca/root.pem"), ("tls_key", "tls/server.key"),
                 ("issuer_key", "ca/intermediate.key"),
                 ("audit_log", "audit.log")):
        assert cfg[k] == v


def test_D72_wildcard_listen_needs_dns_name(tmp_path):
    for i, addr in enumerate(("0.0.0.0:14999", "[::]:14999")):
        d = tmp_path / f"ca{i}"
        r = init(d, "--listen", addr)
        assert r.returncode == 2
        assert r.stderr.splitlines() == [
            f"anvil-ca: init: --listen {addr} is a wildcard address: give "
            "the names clients reach the CA by with --dns-name"]
        assert not os.path.exists(d)


def test_D72_copied_ca_directory_serves_on_its_own(tmp_path):
    port = free_port()
    assert init(tmp_path / "orig", "--listen",
                f"127.0.0.1:{port}").returncode == 0
    shutil.copytree(tmp_path / "orig", tmp_path / "copy")
    shutil.rmtree(tmp_path / "orig")
    cfg = str(tmp_path / "copy" / "anvil-ca.json")
    s = Serve(cfg, port)
    try:
        d = requests.get(f"https://127.0.0.1:{port}/directory",
                         verify=str(tmp_path / "copy" / "tls" / "ca.pem"),
                         timeout=10).json()
        assert "newAccount" in d
    finally:
        assert s.stop() == 0
    assert os.path.exists(tmp_path / "copy" / "audit.log")
    assert not os.path.exists(tmp_path / "orig")


def test_D72_listen_by_name_for_init_and_serve(tmp_path):
    port = free_port()
    d = tmp_path / "ca"
    assert init(d, "--listen", f"localhost:{port}").returncode == 0
    s = Serve(str(d / "anvil-ca.json"), port)
    try:
        r = requests.get(f"https://localhost:{port}/directory",
                         verify=str(d / "tls" / "ca.pem"), timeout=10)
        assert r.status_code == 200
    finally:
        assert s.stop() == 0


def test_D72_tls_from_root_one_root_to_trust(tmp_path):
    port = free_port()
    d = tmp_path / "ca"
    r = init(d, "--listen", f"127.0.0.1:{port}", "--tls-from-root",
             "--name", "Example Corp")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(d / "tls" / "ca.pem")
    assert not os.path.exists(d / "tls" / "ca.key")
    root = cert(d / "ca" / "root.pem")[0]
    leaf = cert(d / "tls" / "server.pem")[0]
    assert leaf.issuer == root.subject
    assert f"--ca-bundle {d}/ca/root.pem" in r.stdout
    s = Serve(str(d / "anvil-ca.json"), port)
    try:
        r = requests.get(f"https://127.0.0.1:{port}/directory",
                         verify=str(d / "ca" / "root.pem"), timeout=10)
        assert r.status_code == 200
    finally:
        assert s.stop() == 0


def test_D72_bring_your_own_root_or_intermediate(tmp_path):
    corp, other = tmp_path / "corp", tmp_path / "other"
    assert init(corp, "--name", "Corp").returncode == 0
    assert init(other).returncode == 0
    root, rkey = str(corp / "ca" / "root.pem"), str(corp / "ca" / "root.key")
    icert = str(corp / "ca" / "intermediate.pem")
    ikey = str(corp / "ca" / "intermediate.key")
    # An existing root and its key: a new intermediate under it.
    a = tmp_path / "a"
    r = init(a, "--root-cert", root, "--root-key", rkey)
    assert r.returncode == 0, r.stderr
    v = subprocess.run(["openssl", "verify", "-CAfile", root,
                        str(a / "ca" / "intermediate.pem")],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    assert cert(a / "ca" / "root.pem")[0] == cert(root)[0]
    # An existing intermediate: the root key stays off this host.
    b = tmp_path / "b"
    port = free_port()
    r = init(b, "--root-cert", root, "--issuer-cert", icert,
             "--issuer-key", ikey, "--listen", f"127.0.0.1:{port}")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(b / "ca" / "root.key")
    assert json.load(open(b / "anvil-ca.json"))["root_key"] == ""
    assert cert(b / "ca" / "intermediate.pem")[0] == cert(icert)[0]
    s = Serve(str(b / "anvil-ca.json"), port)
    try:
        assert requests.get(f"https://127.0.0.1:{port}/directory",
                            verify=str(b / "tls" / "ca.pem"),
                            timeout=10).status_code == 200
    finally:
        assert s.stop() == 0
    # Rotation without the root key: a CSR to sign elsewhere.
    r = subprocess.run([ANVIL_CA, "rotate", "intermediate", "-c",
                        str(b / "anvil-ca.json")], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "BEGIN CERTIFICATE REQUEST" in r.stdout
    # Refusals, one line each, nothing made.
    bad = (
        (["--root-cert", root, "--root-key", str(other / "ca" / "root.key")],
         f"anvil-ca: init: {other}/ca/root.key is not the key of {root}"),
        (["--root-cert", str(other / "ca" / "root.pem"), "--issuer-cert",
          icert, "--issuer-key", ikey],
         f"anvil-ca: init: {icert} is not a CA certificate signed by "
         f"{other}/ca/root.pem"),
        (["--root-cert", root],
         "anvil-ca: init: without --root-key, give the intermediate with "
         "--issuer-cert and --issuer-key"),
        (["--issuer-cert", icert, "--issuer-key", ikey],
         "anvil-ca: init: --root-key and --issuer-cert need --root-cert"),
        (["--root-cert", root, "--issuer-cert", icert],
         "anvil-ca: init: --issuer-cert and --issuer-key go together"),
    )
    for i, (args, line) in enumerate(bad):
        r = init(tmp_path / f"bad{i}", *args)
        assert r.returncode in (1, 2)
        assert r.stderr.splitlines() == [line], args
        assert not os.path.exists(tmp_path / f"bad{i}" / "anvil-ca.json")


def test_D72_backup_and_restore_of_everything(tmp_path):
    """operations.md's procedure: a live SQLite backup plus the CA
    directory; restored elsewhere, the CA serves the same root, the same
    accounts and its audit log."""
    import sqlite3
    import tarfile
    from acmehelp import Account, Client
    from conftest import start_ca
    ca = start_ca(tmp_path)
    try:
        acct = Account(Client(ca))
        backup = tmp_path / "backup"
        backup.mkdir()
        src = sqlite3.connect(ca.db_path)
        dst = sqlite3.connect(str(backup / "anvil-ca.db"))
        src.backup(dst)            # what sqlite3 ".backup" does
        src.close()
        dst.close()
        with tarfile.open(backup / "ca.tar", "w") as t:
            t.add(ca.dir, arcname="ca", filter=lambda i: None if re.search(
                r"anvil-ca\.db(-wal|-shm)?$", i.name) else i)
    finally:
        assert ca.stop() == 0
        ca.log.close()
    root = (tmp_path / "ca" / "ca" / "root.pem").read_bytes()
    shutil.rmtree(tmp_path / "ca")
    restored = tmp_path / "restored"
    with tarfile.open(backup / "ca.tar") as t:
        t.extractall(restored)
    shutil.copy(backup / "anvil-ca.db", restored / "ca" / "anvil-ca.db")
    cfg = str(restored / "ca" / "anvil-ca.json")
    r = subprocess.run([ANVIL_CA, "check", "-c", cfg], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    port = int(json.load(open(cfg))["listen"].rsplit(":", 1)[1])
    s = Serve(cfg, port)
    try:
        assert (restored / "ca" / "ca" / "root.pem").read_bytes() == root
        c = Client(type("CA", (), {
            "directory": f"https://127.0.0.1:{port}/directory",
            "tls_ca": str(restored / "ca" / "tls" / "ca.pem"),
            "base": f"https://127.0.0.1:{port}"})())
        again = c.new_account(acct.key, {"onlyReturnExisting": True})
        assert again.status_code == 200, again.text
        assert again.headers["Location"].rsplit("/", 1)[1] == \
            acct.kid.rsplit("/", 1)[1]
    finally:
        assert s.stop() == 0
