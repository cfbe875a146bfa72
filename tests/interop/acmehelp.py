# SPDX-License-Identifier: ISC
"""A deliberately small ACME request builder for negative tests.

Real clients (python3-acme, certbot, lego) prove interoperability; this
module crafts the requests they would never send: wrong algorithms,
replayed nonces, tampered signatures.  Flattened JWS only.
"""
import base64
import hashlib
import json

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwk_of(key):
    pub = key.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        n = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        return {"kty": "EC", "crv": "P-256" if size == 32 else "P-384",
                "x": b64(n.x.to_bytes(size, "big")),
                "y": b64(n.y.to_bytes(size, "big"))}
    n = pub.public_numbers()
    return {"kty": "RSA",
            "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": b64(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big"))}


def thumbprint(key):
    j = jwk_of(key)
    canon = json.dumps(j, sort_keys=True, separators=(",", ":"))
    return b64(hashlib.sha256(canon.encode()).digest())


def sign(key, protected, payload):
    """Flattened JWS dict; payload None means POST-as-GET ("")."""
    p64 = b64(json.dumps(protected))
    pl64 = "" if payload is None else b64(json.dumps(payload)
                                          if not isinstance(payload, (str, bytes))
                                          else payload)
    msg = f"{p64}.{pl64}".encode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = key.sign(msg, padding.PKCS1v15(), hashes.SHA256())
    return {"protected": p64, "payload": pl64, "signature": b64(sig)}


class Client:
    """Just enough state to send signed requests to one CA."""

    def __init__(self, ca):
        self.ca = ca
        self.s = requests.Session()
        self.s.verify = ca.tls_ca
        # The environment may name another bundle; it would win over
        # Session.verify (a requests quirk).
        self.s.trust_env = False
        self.dir = self.s.get(ca.directory).json()
        self.nonce = None

    def new_nonce(self):
        r = self.s.head(self.dir["newNonce"])
        return r.headers["Replay-Nonce"]

    def post(self, url, body, content_type="application/jose+json"):
        r = self.s.post(url, data=json.dumps(body) if not isinstance(body, (str, bytes)) else body,
                        headers={"Content-Type": content_type})
        self.nonce = r.headers.get("Replay-Nonce")
        return r

    def signed(self, key, url, payload, kid=None, alg="ES256", nonce=None,
               extra=None):
        prot = {"alg": alg, "nonce": nonce or self.new_nonce(), "url": url}
        if kid:
            prot["kid"] = kid
        else:
            prot["jwk"] = jwk_of(key)
        if extra:
            prot.update(extra)
        return sign(key, prot, payload)

    def new_account(self, key, payload=None):
        body = self.signed(key, self.dir["newAccount"],
                           payload if payload is not None
                           else {"termsOfServiceAgreed": True})
        return self.post(self.dir["newAccount"], body)


def csr_der(key, names, cn=None, extensions=()):
    """A DER CSR for names (DNS or IP), signed by key; extensions is a
    list of (x509 extension value, critical) to ask for as well."""
    import ipaddress
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]) if cn \
        else x509.Name([])
    builder = (x509.CertificateSigningRequestBuilder().subject_name(subject)
               .add_extension(x509.SubjectAlternativeName(sans), critical=False))
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)


class Account:
    """A registered account on a Client: kid plus signed POST helpers."""

    def __init__(self, client, key=None):
        self.c = client
        self.key = key or ec_key()
        r = client.new_account(self.key)
        assert r.status_code in (200, 201), r.text
        self.kid = r.headers["Location"]

    def post(self, url, payload):
        return self.c.post(url, self.c.signed(self.key, url, payload,
                                              kid=self.kid))

    def get(self, url):
        return self.post(url, None)

    def new_order(self, names, **extra):
        ids = [{"type": "ip" if any(ch == ":" for ch in n) or n.replace(".", "").isdigit()
                else "dns", "value": n} for n in names]
        return self.post(self.c.dir["newOrder"], {"identifiers": ids, **extra})

    def key_authorization(self, token):
        return f"{token}.{thumbprint(self.key)}"

    def wait(self, url, until=("valid", "invalid"), timeout=30):
        import time
        end = time.monotonic() + timeout
        while True:
            r = self.get(url)
            if r.json().get("status") in until or time.monotonic() > end:
                return r
            time.sleep(0.1)
