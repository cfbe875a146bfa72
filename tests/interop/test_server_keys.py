# SPDX-License-Identifier: ISC
"""Keys at anvil-ca: the certificate keys finalize refuses (D58: weak RSA
moduli and exponents, EC keys not in their DER form) and what it
certifies instead; account keys and the JWS rules of RFC 8555 6.2
(S-JWS-1, S-JWS-8), POST-as-GET (S-GET-5), ES512 accounts and the
account object's "key"."""
import random
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from acmehelp import b64, csr_der, ec_key
from test_server_orders import flow, problem, ready_order  # noqa: F401


def is_prime(n):
    """Miller-Rabin with 40 random bases."""
    if n % 2 == 0:
        return n == 2
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(random.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def rsa_from_primes(p, q, e=65537):
    d = pow(e, -1, (p - 1) * (q - 1))
    pub = rsa.RSAPublicNumbers(e, p * q)
    return rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q), pub).private_key()


def fermat_key():
    """A 2048-bit key whose primes are neighbours: p and the next prime."""
    p = rsa.generate_private_key(65537, 2048).private_numbers().p
    q = p + 2
    while not is_prime(q) or (q - 1) % 65537 == 0:
        q += 2
    return rsa_from_primes(p, q)


def explicit_ec_csr(tmp_path, name):
    """A CSR whose P-256 key carries explicit curve parameters."""
    key = tmp_path / "explicit.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1",
                    "-param_enc", "explicit", "-genkey", "-noout",
                    "-out", str(key)], check=True, capture_output=True)
    out = subprocess.run(["openssl", "req", "-new", "-key", str(key),
                          "-subj", "/", "-addext",
                          f"subjectAltName=DNS:{name}", "-outform", "DER"],
                         check=True, capture_output=True)
    return out.stdout


def test_D58_weak_csr_keys_are_bad_csr_and_nothing_issued(flow, tmp_path):
    ca, acct, resp = flow
    name = "weak.example.com"
    order, loc = ready_order(acct, resp, [name])
    e3 = rsa.generate_private_key(3, 2048)
    cases = [
        ("exponent", csr_der(e3, [name])),
        ("Fermat", csr_der(fermat_key(), [name])),
        ("DER form", explicit_ec_csr(tmp_path, name)),
    ]
    for why, der in cases:
        doc = problem(acct.post(order["finalize"], {"csr": b64(der)}),
                      "badCSR")
        assert why in doc["detail"], doc
        assert acct.get(loc).json()["status"] == "ready"
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]
    # A sound key still issues, and the leaf holds its SubjectPublicKeyInfo
    # in DER as the key's owner writes it.
    for i, key in enumerate((ec_key(), rsa.generate_private_key(65537, 2048))):
        if i > 0:
            order, loc = ready_order(acct, resp, [name])
        r = acct.post(order["finalize"], {"csr": b64(csr_der(key, [name]))})
        assert r.status_code == 200 and r.json()["status"] == "valid", r.text
        pem = acct.get(r.json()["certificate"]).text
        leaf = x509.load_pem_x509_certificate(pem.encode())
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        assert leaf.public_key().public_bytes(der, spki) == \
            key.public_key().public_bytes(der, spki)
    assert ca.db("SELECT count(*) FROM certs") == [(2,)]
