# SPDX-License-Identifier: ISC
"""The CA's own certificates over time (D72), under libfaketime: serve
warns when the intermediate nears its end and says the listener
certificate has expired; anvil-ca rotate re-signs them for the same key,
after which serve starts without a warning; without the root key rotate
prints a CSR instead."""
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import ANVIL_CA, free_port, init_ca

LATE = "+1810d"
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"   # 15 days before the 5-year intermediate ends


def asan_env(**extra):
    # libfaketime is preloaded ahead of an ASan build's runtime (make
    # test-asan); ASan refuses that unless told the order is fine.
    env = dict(os.environ, **extra)
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if x)
    return env


def faked(offset, *args, timeout=60):
    return subprocess.run(["faketime", "-f", offset, ANVIL_CA, *args],
                          capture_output=True, text=True, timeout=timeout,
                          env=asan_env())


def serve_log(path, offset):
    """serve under faketime for a moment: its log lines."""
    # libfaketime itself, so that the process signalled is serve.
    env = asan_env(LD_PRELOAD=LIBFAKETIME, FAKETIME=offset)
    p = subprocess.Popen([ANVIL_CA, "serve", "-c", path], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    lines = []
    for line in p.stdout:
        lines.append(line)
        if "msg=listening" in line:
            break
    p.terminate()
    rest, _ = p.communicate(timeout=20)
    assert p.returncode == 0
    return "".join(lines) + rest


def cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def spki(c):
    return c.public_key().public_bytes(Encoding.DER,
                                       PublicFormat.SubjectPublicKeyInfo)


def test_D72_expiry_warnings_and_rotation(tmp_path):
    path = init_ca(str(tmp_path / "ca"), free_port())
    d = tmp_path / "ca"
    log = serve_log(path, LATE)
    assert ('level=warn msg="certificate expires soon" cert=intermediate'
            in log), log
    assert "days_left=14" in log or "days_left=15" in log, log
    assert 'level=error msg="certificate expired" cert=tls' in log, log
    old_inter = cert(d / "ca" / "intermediate.pem")
    old_tls = cert(d / "tls" / "server.pem")
    for which, f in (("intermediate", "ca/intermediate.pem"),
                     ("tls", "tls/server.pem")):
        r = faked(LATE, "rotate", which, "-c", path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"{d}/{f}: re-signed, valid until ")
    inter = cert(d / "ca" / "intermediate.pem")
    tls = cert(d / "tls" / "server.pem")
    # Same key, subject and names; a new validity.
    assert spki(inter) == spki(old_inter)
    assert inter.subject == old_inter.subject
    assert inter.serial_number != old_inter.serial_number
    assert inter.not_valid_after > old_inter.not_valid_after
    assert spki(tls) == spki(old_tls)
    san = x509.SubjectAlternativeName
    assert tls.extensions.get_extension_for_class(san).value == \
        old_tls.extensions.get_extension_for_class(san).value
    assert tls.not_valid_after > old_tls.not_valid_after
    v = subprocess.run(["faketime", "-f", LATE, "openssl", "verify",
                        "-CAfile", str(d / "ca" / "root.pem"),
                        str(d / "ca" / "intermediate.pem")],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    log = serve_log(path, LATE)
    assert "certificate expire" not in log, log


def test_D72_rotate_without_the_root_key_prints_a_csr(tmp_path):
    path = init_ca(str(tmp_path / "ca"), free_port())
    d = tmp_path / "ca"
    os.rename(d / "ca" / "root.key", tmp_path / "offline.key")
    before = (d / "ca" / "intermediate.pem").read_bytes()
    r = subprocess.run([ANVIL_CA, "rotate", "intermediate", "-c", path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"anvil-ca: rotate: {d}/ca/root.key is not on this host: have the "
        "CSR on standard output signed by it"]
    csr = x509.load_pem_x509_csr(r.stdout.encode())
    assert csr.is_signature_valid
    inter = cert(d / "ca" / "intermediate.pem")
    assert csr.subject == inter.subject
    assert spki(csr) == spki(inter)
    assert (d / "ca" / "intermediate.pem").read_bytes() == before
