# SPDX-License-Identifier: ISC
"""anvil (the client) against pebble 2.4.0 (Let's Encrypt's test CA, with
its default 5 % of nonces rejected, which exercises the badNonce retry)
and against anvil-ca.  Each run checks the exit status and the files:
the chain verifies, the key matches the certificate, modes are right."""
import datetime
import json
import os
import shutil
import stat
import subprocess
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import BUILD, free_port, wait_port

ANVIL = os.path.join(BUILD, "src", "client", "anvil")


def anvil(*args, timeout=120):
    return subprocess.run([ANVIL, *args], capture_output=True, text=True,
                          timeout=timeout)


def tls_pair(d):
    """A throwaway CA and a localhost leaf for pebble's listener."""
    now = datetime.datetime.now(datetime.timezone.utc)
    cakey = ec.generate_private_key(ec.SECP256R1())
    caname = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble test ca")])
    ca = (x509.CertificateBuilder().subject_name(caname).issuer_name(caname)
          .public_key(cakey.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
          .sign(cakey, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(caname).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(cakey, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {n: os.path.join(d, n) for n in ("ca.pem", "cert.pem", "key.pem")}
    open(paths["ca.pem"], "wb").write(ca.public_bytes(pem))
    open(paths["cert.pem"], "wb").write(leaf.public_bytes(pem))
    open(paths["key.pem"], "wb").write(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class Pebble:
    """A running pebble 2.4.0 resolving through challtestsrv (or any DNS
    server with a dns_port), with extra configuration and environment."""

    def __init__(self, tmp_path, challtestsrv, extra=None, env=None):
        if shutil.which("pebble") is None:
            pytest.fail("pebble is not installed (scripts/install-deps)")
        d = str(tmp_path / "pebble")
        os.makedirs(d)
        tls = tls_pair(d)
        port, mgmt = free_port(), free_port()
        http01, alpn = free_port(), free_port()
        cfg = {"pebble": {"listenAddress": f"127.0.0.1:{port}",
                          "managementListenAddress": f"127.0.0.1:{mgmt}",
                          "certificate": tls["cert.pem"],
                          "privateKey": tls["key.pem"],
                          "httpPort": http01, "tlsPort": alpn,
                          "ocspResponderURL": "",
                          "externalAccountBindingRequired": False,
                          **(extra or {})}}
        with open(os.path.join(d, "pebble.json"), "w") as f:
            json.dump(cfg, f)
        self.log = open(os.path.join(d, "pebble.log"), "w")
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", **(env or {}))
        self.proc = subprocess.Popen(
            ["pebble", "-config", os.path.join(d, "pebble.json"),
             "-dnsserver", f"127.0.0.1:{challtestsrv.dns_port}"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        # pebble opens its ACME and management listeners separately: a
        # test that asks /roots/0 first thing once found the second closed.
        wait_port(port, self.proc)
        wait_port(mgmt, self.proc)
        self.directory = f"https://127.0.0.1:{port}/dir"
        self.ca_bundle = tls["ca.pem"]
        self.http01_port = http01
        self.tls_port = alpn
        self.mgmt = mgmt

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def pebble(tmp_path, challtestsrv):
    p = Pebble(tmp_path, challtestsrv)
    yield p
    p.stop()


def check_files(state, name, root_pem):
    d = os.path.join(state, "certs", name.replace("*", "_"))
    for f in ("cert.pem", "chain.pem", "fullchain.pem", "privkey.pem",
              "renewal.json"):
        assert os.path.exists(os.path.join(d, f)), f
    assert stat.S_IMODE(os.stat(os.path.join(d, "privkey.pem")).st_mode) == 0o600
    root = os.path.join(state, "root.pem")
    with open(root, "w") as f:
        f.write(root_pem)
    v = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted",
                        os.path.join(d, "chain.pem"), os.path.join(d, "cert.pem")],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    with open(os.path.join(d, "cert.pem"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(d, "privkey.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    pub = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(*pub) == key.public_key().public_bytes(*pub)
    with open(os.path.join(d, "fullchain.pem")) as f:
        full = f.read()
    with open(os.path.join(d, "cert.pem")) as f1, open(os.path.join(d, "chain.pem")) as f2:
        assert full == f1.read() + f2.read()
    acct = os.listdir(os.path.join(state, "accounts"))
    assert len(acct) == 1
    kp = os.path.join(state, "accounts", acct[0], "key.pem")
    assert stat.S_IMODE(os.stat(kp).st_mode) == 0o600
    return cert


def test_S_ACCT_12_terms_need_explicit_agreement(pebble, tmp_path):
    r = anvil("issue", "-d", "tos.example.com", "--standalone", "--http-port",
              str(pebble.http01_port), "--server", pebble.directory,
              "--ca-bundle", pebble.ca_bundle, "--state-dir", str(tmp_path / "s"))
    assert r.returncode == 1
    assert "--agree-tos" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_anvil_issues_from_pebble_standalone(pebble, tmp_path):
    state = str(tmp_path / "state")
    r = anvil("issue", "-d", "client.example.com", "-d", "www.client.example.com",
              "--standalone", "--http-port", str(pebble.http01_port),
              "--server", pebble.directory, "--ca-bundle", pebble.ca_bundle,
              "--state-dir", state, "--agree-tos")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "issued client.example.com" in r.stdout
    root = requests.get(f"https://127.0.0.1:{pebble.mgmt}/roots/0",
                        verify=pebble.ca_bundle).text
    cert = check_files(state, "client.example.com", root)
    names = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == ["client.example.com", "www.client.example.com"]
    # A second issue reuses the account and publishes version 2 of the
    # lineage; version 1 stays in the archive (D61).
    r = anvil("issue", "-d", "client.example.com", "-d", "www.client.example.com",
              "--standalone", "--http-port", str(pebble.http01_port),
              "--server", pebble.directory, "--ca-bundle", pebble.ca_bundle,
              "--state-dir", state, "--json", "--agree-tos", "--force")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "issued" and out["serial"]
    arch = os.path.join(state, "archive", "client.example.com")
    assert sorted(os.listdir(arch)) == ["1", "2"]
    assert os.readlink(os.path.join(state, "certs", "client.example.com")) == \
        "../archive/client.example.com/2"


def test_anvil_issues_from_anvil_ca_standalone_and_webroot(validating_ca, tmp_path):
    state = str(tmp_path / "state")
    common = ["--server", validating_ca.directory, "--ca-bundle",
              validating_ca.tls_ca, "--state-dir", state]
    r = anvil("issue", "-d", "alone.example.com", "--standalone", "--http-port",
              str(validating_ca.http01_port), *common)
    assert r.returncode == 0, r.stdout + r.stderr
    root = open(validating_ca.root).read()
    check_files(state, "alone.example.com", root)
    # webroot, served by a plain HTTP server on the validation port.
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    import threading
    webroot = tmp_path / "www"
    webroot.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(webroot))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", validating_ca.http01_port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        r = anvil("issue", "-d", "webroot.example.com", "--webroot",
                  str(webroot), *common)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.returncode == 0, r.stdout + r.stderr
    # The challenge files were removed afterwards (S-HTTP-7).
    assert os.listdir(webroot / ".well-known" / "acme-challenge") == []
    assert validating_ca.db("SELECT count(*) FROM accounts") == [(1,)]


def test_anvil_failure_is_one_line_with_the_ca_detail(validating_ca, tmp_path):
    # Nothing answers on the validation port: the CA reports why.
    webroot = tmp_path / "www"
    webroot.mkdir()
    r = anvil("issue", "-d", "nobody.example.com", "--webroot", str(webroot),
              "--server", validating_ca.directory, "--ca-bundle",
              validating_ca.tls_ca, "--state-dir", str(tmp_path / "s"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("anvil: issue nobody.example.com: ")
    assert "nobody.example.com" in lines[0]
    assert not os.path.exists(tmp_path / "s/certs/nobody.example.com/fullchain.pem")


@pytest.mark.parametrize("args,needle", [
    (["--server", "http://127.0.0.1:1/directory"], "https"),
    (["--server", "https://127.0.0.1:1/directory"], "connect to server"),
])
def test_anvil_bad_server_is_one_line(tmp_path, args, needle):
    r = anvil("issue", "-d", "x.example.com", "--standalone", "--http-port",
              str(free_port()), "--state-dir", str(tmp_path / "s"), *args)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert needle in r.stderr


def test_anvil_usage_errors_exit_2(tmp_path):
    assert anvil("issue", "--standalone").returncode == 2
    assert anvil("issue", "-d", "a.example", "--standalone", "--webroot",
                 "/tmp").returncode == 2
    assert anvil("issue", "-d", "a.example", "--standalone",
                 "--key-type", "dsa").returncode == 2
    assert anvil("frobnicate").returncode == 2


def serial_of(state, name):
    with open(os.path.join(state, "certs", name, "cert.pem"), "rb") as f:
        return x509.load_pem_x509_certificate(f.read()).serial_number


def test_anvil_renew_revoke_list(validating_ca, tmp_path):
    state = str(tmp_path / "state")
    common = ["--server", validating_ca.directory, "--ca-bundle",
              validating_ca.tls_ca, "--state-dir", state]
    for name in ("one.example.com", "two.example.com"):
        r = anvil("issue", "-d", name, "--standalone", "--http-port",
                  str(validating_ca.http01_port), *common)
        assert r.returncode == 0, r.stderr
    first = serial_of(state, "one.example.com")
    # Nothing is due: renew --all changes nothing and exits 0.
    r = anvil("renew", "--all", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert serial_of(state, "one.example.com") == first
    assert validating_ca.db("SELECT count(*) FROM certs") == [(2,)]
    # --force renews from renewal.json alone.
    r = anvil("renew", "one.example.com", "--force", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert serial_of(state, "one.example.com") != first
    assert validating_ca.db("SELECT count(*) FROM certs") == [(3,)]
    # list shows both, with expiry and renewal time.
    r = anvil("list", "--state-dir", state, "--json")
    rows = {x["name"]: x for x in json.loads(r.stdout)["certificates"]}
    assert set(rows) == {"one.example.com", "two.example.com"}
    assert rows["two.example.com"]["identifiers"] == ["two.example.com"]
    assert rows["one.example.com"]["renew_after"] < rows["one.example.com"]["expires"]
    # revoke by name, with a reason.
    r = anvil("revoke", "two.example.com", "--reason", "superseded",
              "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert validating_ca.db("SELECT reason FROM certs WHERE revoked_at > 0") == [(4,)]
    # A second revoke reports the CA's alreadyRevoked detail on one line.
    r = anvil("revoke", "two.example.com", "--state-dir", state)
    assert r.returncode == 1 and "already revoked" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_anvil_revoke_by_file(validating_ca, tmp_path):
    state = str(tmp_path / "state")
    common = ["--server", validating_ca.directory, "--ca-bundle",
              validating_ca.tls_ca, "--state-dir", state]
    r = anvil("issue", "-d", "file.example.com", "--standalone", "--http-port",
              str(validating_ca.http01_port), *common)
    assert r.returncode == 0, r.stderr
    cert = os.path.join(state, "certs/file.example.com/cert.pem")
    r = anvil("revoke", "--cert", cert, "--reason", "1", *common)
    assert r.returncode == 0, r.stderr
    assert validating_ca.db("SELECT reason FROM certs") == [(1,)]


HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "challtestsrv-hook")


def anvil_env(env, *args):
    return subprocess.run([ANVIL, *args], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, **env))


@pytest.mark.parametrize("ca_kind", ["anvil-ca", "pebble"])
def test_anvil_dns_hook_wildcard(ca_kind, request, tmp_path):
    if ca_kind == "pebble":
        ca = request.getfixturevalue("pebble")
        server, bundle, cts = ca.directory, ca.ca_bundle, \
            request.getfixturevalue("challtestsrv")
        root = requests.get(f"https://127.0.0.1:{ca.mgmt}/roots/0",
                            verify=ca.ca_bundle).text
    else:
        ca = request.getfixturevalue("validating_ca")
        server, bundle, cts = ca.directory, ca.tls_ca, ca.dns
        root = open(ca.root).read()
    state = str(tmp_path / "state")
    r = anvil_env({"CTS_MGMT": str(cts.mgmt_port)}, "issue",
                  "-d", "*.hook.example.com", "-d", "hook.example.com",
                  "--dns-hook", HOOK, "--dns-check-server",
                  f"127.0.0.1:{cts.dns_port}", "--server", server,
                  "--ca-bundle", bundle, "--state-dir", state, "--agree-tos")
    assert r.returncode == 0, r.stdout + r.stderr
    cert = check_files(state, "*.hook.example.com", root)
    names = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == ["*.hook.example.com", "hook.example.com"]
    saved = json.load(open(os.path.join(state, "certs/_.hook.example.com/renewal.json")))
    assert saved["solver"] == "dns-hook" and saved["dns_hook"] == HOOK


def test_anvil_dns_hook_failure_is_reported(validating_ca, tmp_path):
    hook = tmp_path / "failing-hook"
    hook.write_text("#!/bin/sh\nexit 3\n")
    hook.chmod(0o755)
    r = anvil("issue", "-d", "fail.example.com", "--dns-hook", str(hook),
              "--server", validating_ca.directory, "--ca-bundle",
              validating_ca.tls_ca, "--state-dir", str(tmp_path / "s"))
    assert r.returncode == 1
    assert "status 3" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def needed_libraries(exe):
    """The DT_NEEDED entries of exe, from readelf."""
    out = subprocess.run(["readelf", "-dW", exe], capture_output=True,
                         text=True, check=True).stdout
    return [line.split("[")[1].rstrip("]") for line in out.splitlines()
            if "(NEEDED)" in line]


def test_D45_anvil_links_neither_dns_library_nor_shared_openssl():
    needed = needed_libraries(ANVIL)
    assert "libc.so.6" in needed
    assert not [n for n in needed if "unbound" in n or "ldns" in n], needed
    opts = json.load(open(os.path.join(BUILD, "meson-info",
                                       "intro-buildoptions.json")))
    static = [o["value"] for o in opts if o["name"] == "client_static_crypto"]
    assert static == [True] or static == [False]
    shared = [n for n in needed if n.startswith(("libcrypto", "libssl",
                                                 "libjansson"))]
    assert shared == [] if static[0] else len(shared) == 3, needed


def test_D45_dns_libraries_are_mapped_only_by_dns01(validating_ca, tmp_path):
    """The deploy hook's parent is anvil: /proc/$PPID/maps at deploy time
    is what the run mapped.  http-01 maps no DNS library and no shared
    OpenSSL; the dns-hook solver has loaded libunbound and ldns."""
    common = ["--server", validating_ca.directory, "--ca-bundle",
              validating_ca.tls_ca]
    maps = {}
    for run, args in (("http", ["-d", "maps-http.example.com",
                                "--standalone", "--http-port",
                                str(validating_ca.http01_port)]),
                      ("dns", ["-d", "maps-dns.example.com", "--dns-hook",
                               HOOK, "--dns-check-server",
                               f"127.0.0.1:{validating_ca.dns.dns_port}"])):
        out = tmp_path / f"{run}.maps"
        r = anvil_env({"CTS_MGMT": str(validating_ca.dns.mgmt_port)},
                      "issue", *args, *common, "--state-dir",
                      str(tmp_path / run), "--deploy-hook",
                      f"cat /proc/$PPID/maps > {out}")
        assert r.returncode == 0, r.stdout + r.stderr
        maps[run] = out.read_text()
    assert ANVIL in maps["http"] and "libc.so.6" in maps["http"]
    for lib in ("libunbound.so", "libldns.so", "libevent"):
        assert lib not in maps["http"]
    assert "libunbound.so" in maps["dns"] and "libldns.so" in maps["dns"]


def test_D45_missing_dns_library_is_one_line(validating_ca, tmp_path):
    """libunbound replaced by an empty file (bind mount in a private mount
    namespace): the dns-01 run stops with one line naming it."""
    lib = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True,
                         text=True, check=True).stdout
    path = [ln.split("=> ")[1] for ln in lib.splitlines()
            if "libunbound.so." in ln and "x86-64" in ln][0]
    script = (f"mount --bind /dev/null {os.path.realpath(path)} && "
              f"exec {ANVIL} issue -d nolib.example.com --dns-hook {HOOK} "
              f"--server {validating_ca.directory} --ca-bundle "
              f"{validating_ca.tls_ca} --state-dir {tmp_path / 's'}")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        "sh", "-c", script], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "libunbound.so." in err[0], r.stderr
    assert not os.path.exists(tmp_path / "s" / "certs")


@pytest.mark.parametrize("ca_kind", ["anvil-ca", "pebble"])
def test_anvil_tls_alpn(ca_kind, request, tmp_path):
    if ca_kind == "pebble":
        ca = request.getfixturevalue("pebble")
        server, bundle, port = ca.directory, ca.ca_bundle, ca.tls_port
        root = requests.get(f"https://127.0.0.1:{ca.mgmt}/roots/0",
                            verify=ca.ca_bundle).text
    else:
        ca = request.getfixturevalue("validating_ca")
        server, bundle, port = ca.directory, ca.tls_ca, ca.tls_alpn01_port
        root = open(ca.root).read()
    state = str(tmp_path / "state")
    r = anvil("issue", "-d", "alpn.example.com", "--tls-alpn", "--tls-port",
              str(port), "--server", server, "--ca-bundle", bundle,
              "--state-dir", state, "--agree-tos")
    assert r.returncode == 0, r.stdout + r.stderr
    check_files(state, "alpn.example.com", root)


def test_S_ALPN_6_sni_carries_a_long_name_whole(validating_ca, tmp_path):
    """A 200-character name (four labels of up to 63): the CA's ClientHello
    names it whole, so anvil's tls-alpn responder finds the challenge
    certificate and the validation succeeds.  The SNI buffer once held
    127 characters, and such names were cut and failed."""
    ca = validating_ca
    name = ".".join(c * 63 for c in "abc") + ".example.com"
    assert len(name) >= 200
    state = str(tmp_path / "state")
    r = anvil("issue", "-d", name, "--tls-alpn", "--tls-port",
              str(ca.tls_alpn01_port), "--server", ca.directory,
              "--ca-bundle", ca.tls_ca, "--state-dir", state)
    assert r.returncode == 0, r.stdout + r.stderr
    check_files(state, name, open(ca.root).read())


def test_anvil_eab_against_anvil_ca(tmp_path, challtestsrv):
    from conftest import ANVIL_CA, start_ca
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)],
        config={"external_account_required": True})
    try:
        out = subprocess.run([ANVIL_CA, "eab", "add", "-c",
                              os.path.join(ca.dir, "anvil-ca.json")],
                             capture_output=True, text=True, check=True).stdout
        f = dict(l.split(": ", 1) for l in out.strip().splitlines())
        common = ["-d", "eab.example.com", "--standalone", "--http-port",
                  str(http01), "--server", ca.directory, "--ca-bundle",
                  ca.tls_ca]
        # Without the binding the CA refuses, on one line.
        r = anvil("issue", *common, "--state-dir", str(tmp_path / "s0"))
        assert r.returncode == 1 and "external account" in r.stderr
        r = anvil("issue", *common, "--state-dir", str(tmp_path / "s1"),
                  f"--eab-kid={f['kid']}", f"--eab-hmac-key={f['hmac_key']}")
        assert r.returncode == 0, r.stdout + r.stderr
        assert ca.db("SELECT eab_kid FROM accounts") == [(f["kid"],)]
    finally:
        assert ca.stop() == 0
        ca.log.close()


def test_anvil_account_commands_against_pebble(pebble, tmp_path):
    state = str(tmp_path / "state")
    ca = ["--server", pebble.directory, "--ca-bundle", pebble.ca_bundle,
          "--state-dir", state]
    # No account yet: one clear line.
    r = anvil("account", "show", *ca)
    assert r.returncode == 1 and "no account" in r.stderr
    r = anvil("issue", "-d", "acct.example.com", "--standalone", "--http-port",
              str(pebble.http01_port), "--agree-tos", "--email",
              "first@example.com", *ca)
    assert r.returncode == 0, r.stderr
    r = anvil("account", "show", "--json", *ca)
    shown = json.loads(r.stdout)
    assert shown["status"] == "valid"
    assert shown["contact"] == ["mailto:first@example.com"]
    r = anvil("account", "update", "--email", "second@example.com", "--json", *ca)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["contact"] == ["mailto:second@example.com"]
    # Rollover: a new key.pem, the same account URL, and it still works.
    keyfile = os.path.join(state, "accounts", os.listdir(
        os.path.join(state, "accounts"))[0], "key.pem")
    before = open(keyfile).read()
    r = anvil("account", "rollover", *ca)
    assert r.returncode == 0, r.stderr
    assert open(keyfile).read() != before
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    assert not os.path.exists(keyfile + ".old")
    r = anvil("account", "show", "--json", *ca)
    assert r.returncode == 0 and json.loads(r.stdout)["url"] == shown["url"]
    # Deactivate: the CA says so, and the state forgets the account.
    r = anvil("account", "deactivate", "--json", *ca)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "deactivated"
    r = anvil("account", "show", *ca)
    assert r.returncode == 1 and "no account" in r.stderr


def test_anvil_preferred_chain(tmp_path, challtestsrv):
    """--preferred-chain picks the alternate chain whose top certificate
    the named CA issued; without it, the default chain."""
    from conftest import ANVIL_CA, CA, start_ca
    from test_server_chains import cross_sign
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)])
    assert ca.stop() == 0
    alt_root, alt_chain = cross_sign(ca.dir, str(tmp_path))
    cfg_path = os.path.join(ca.dir, "anvil-ca.json")
    cfg = json.load(open(cfg_path))
    cfg["alt_chain"] = alt_chain
    json.dump(cfg, open(cfg_path, "w"))
    ca.proc = subprocess.Popen([ANVIL_CA, "serve", "-c", cfg_path],
                               stdout=ca.log, stderr=subprocess.STDOUT)
    wait_port(ca.port, ca.proc)
    try:
        common = ["--standalone", "--http-port", str(http01), "--server",
                  ca.directory, "--ca-bundle", ca.tls_ca, "--state-dir",
                  str(tmp_path / "s")]
        r = anvil("issue", "-d", "pref.example.com", "--preferred-chain",
                  "anvil alt root", *common)
        assert r.returncode == 0, r.stderr
        check_files(str(tmp_path / "s"), "pref.example.com", open(alt_root).read())
        r = anvil("issue", "-d", "nopref.example.com", *common)
        assert r.returncode == 0, r.stderr
        check_files(str(tmp_path / "s"), "nopref.example.com",
                    open(os.path.join(ca.dir, "ca/root.pem")).read())
    finally:
        assert ca.stop() == 0
        ca.log.close()
