# SPDX-License-Identifier: ISC
"""Alternate chains (RFC 8555 7.4.2, S-CERT-3): with the intermediate
cross-signed by a second root configured as alt_chain, downloads offer
Link rel="alternate", both chains verify against their own root, and
certbot's --preferred-chain picks the alternate one."""
import datetime
import json
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import ANVIL_CA, CA, free_port, start_ca, wait_port
from test_server_certbot import certbot


def cross_sign(ca_dir, out_dir):
    """A new root "anvil alt root" and the intermediate re-issued under it."""
    with open(os.path.join(ca_dir, "ca/intermediate.pem"), "rb") as f:
        inter = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anvil alt root")])
    now = datetime.datetime.now(datetime.timezone.utc)
    root = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True,
                                         True, False, False), True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                key.public_key()), False)
            .sign(key, hashes.SHA384()))
    cross = (x509.CertificateBuilder().subject_name(inter.subject)
             .issuer_name(name).public_key(inter.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=1000))
             .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
             .add_extension(x509.KeyUsage(True, False, False, False, False, True,
                                          True, False, False), True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                 inter.public_key()), False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 key.public_key()), False)
             .sign(key, hashes.SHA384()))
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    alt_root = os.path.join(out_dir, "alt-root.pem")
    alt_chain = os.path.join(out_dir, "alt-chain.pem")
    with open(alt_root, "wb") as f:
        f.write(pem(root))
    with open(alt_chain, "wb") as f:
        f.write(pem(cross))
    return alt_root, alt_chain


def test_S_CERT_3_alternate_chain_with_certbot_preferred_chain(
        tmp_path, challtestsrv):
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)])
    assert ca.stop() == 0
    alt_root, alt_chain = cross_sign(ca.dir, str(tmp_path))
    cfg_path = os.path.join(ca.dir, "anvil-ca.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["alt_chain"] = alt_chain
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    proc = subprocess.Popen([ANVIL_CA, "serve", "-c", cfg_path],
                            stdout=ca.log, stderr=subprocess.STDOUT)
    wait_port(ca.port, proc)
    ca.proc = proc
    try:
        r = certbot(ca, tmp_path / "cb", "certonly", "--standalone",
                    "--preferred-challenges", "http-01",
                    "--http-01-port", str(http01), "--http-01-address",
                    "127.0.0.1", "--preferred-chain", "anvil alt root",
                    "-d", "alt.example.com")
        assert r.returncode == 0, r.stdout + r.stderr
        live = tmp_path / "cb/config/live/alt.example.com"
        chain = (live / "chain.pem").read_text()
        assert "BEGIN CERTIFICATE" in chain
        top = x509.load_pem_x509_certificate(chain.encode())
        assert top.issuer.rfc4514_string() == "CN=anvil alt root"
        for root in (alt_root,):
            v = subprocess.run(["openssl", "verify", "-CAfile", root,
                                "-untrusted", str(live / "chain.pem"),
                                str(live / "cert.pem")],
                               capture_output=True, text=True)
            assert v.returncode == 0, v.stdout + v.stderr
    finally:
        assert ca.stop() == 0
        ca.log.close()
