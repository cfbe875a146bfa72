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

from acmehelp import Client, b64, csr_der, ec_key, jwk_of
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


def test_S_GET_5_post_as_get_resources_refuse_a_payload(flow):
    """An order, a certificate (both chains), an orders list and newNonce
    are read with POST-as-GET only: a payload, even {}, is malformed."""
    ca, acct, resp = flow
    name = "get5.example.com"
    order, loc = ready_order(acct, resp, [name])
    r = acct.post(order["finalize"],
                  {"csr": b64(csr_der(ec_key(), [name]))})
    assert r.status_code == 200, r.text
    cert = r.json()["certificate"]
    orders = acct.get(acct.kid).json()["orders"]
    for url in (loc, cert, orders, acct.c.dir["newNonce"]):
        for payload in ({}, {"status": "valid"}):
            doc = problem(acct.post(url, payload), "malformed")
            assert "POST-as-GET" in doc["detail"]
    assert acct.get(loc).json()["status"] == "valid"
    assert acct.get(cert).status_code == 200
    assert acct.get(orders).status_code == 200


def test_S_JWS_8_none_and_macs_judged_before_the_signature(anvil_ca):
    """alg none with an empty signature, or a MAC with none at all, is
    badSignatureAlgorithm with the algorithms list, not malformed."""
    import json
    c = Client(anvil_ca)
    url = c.dir["newAccount"]
    for alg, sig in (("none", ""), ("HS256", None), ("HS512", "!")):
        prot = {"alg": alg, "nonce": c.new_nonce(), "url": url,
                "jwk": jwk_of(ec_key())}
        body = {"protected": b64(json.dumps(prot)), "payload": b64("{}")}
        if sig is not None:
            body["signature"] = sig
        doc = problem(c.post(url, body), "badSignatureAlgorithm")
        assert {"ES256", "RS256"} <= set(doc["algorithms"]), doc


def test_S_JWS_1_unknown_top_level_members_are_ignored(anvil_ca):
    c = Client(anvil_ca)
    body = c.signed(ec_key(), c.dir["newAccount"],
                    {"termsOfServiceAgreed": True})
    body["unprotected-extension"] = {"x": 1}
    r = c.post(c.dir["newAccount"], body)
    assert r.status_code == 201, r.text


def test_S_IDN_2_xn_labels_must_be_idna2008(flow):
    """newOrder: an xn-- label that is not valid Punycode of an IDNA2008
    label is rejectedIdentifier, naming it; a real IDN is ordered."""
    ca, acct, resp = flow
    for bad in ("xn--zz.example.com", "a.xn--ls8h.example.com"):
        doc = problem(acct.new_order([bad]), "rejectedIdentifier")
        assert doc["subproblems"][0]["identifier"]["value"] == bad
        assert "IDNA2008" in doc["detail"]
    r = acct.new_order(["xn--bcher-kva.example.com"])
    assert r.status_code == 201, r.text
    assert ca.db("SELECT count(*) FROM orders") == [(1,)]


def test_ES512_account_with_python_acme_and_key_member(flow, monkeypatch):
    """python3-acme with a P-521 account key (ES512): registers, orders
    over http-01, finalizes and downloads; the account object's "key" is
    the registered JWK (as boulder and pebble return it)."""
    import josepy as jose
    from acme import challenges, client, messages
    from cryptography.hazmat.primitives.asymmetric import ec

    ca, acct, resp = flow
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca.tls_ca)
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP521R1()))
    net = client.ClientNetwork(key, alg=jose.ES512,
                               user_agent="anvil-interop")
    directory = messages.Directory.from_json(net.get(ca.directory).json())
    acme = client.ClientV2(directory, net)
    reg = acme.new_account(messages.NewRegistration.from_data(
        terms_of_service_agreed=True))
    assert reg.body.status == "valid"
    want = key.public_key().to_partial_json()
    assert want["crv"] == "P-521"
    assert reg.body.key == key.public_key()
    name = "es512.example.com"
    cert_key = ec_key()
    csr_pem = x509.load_der_x509_csr(csr_der(cert_key, [name])).public_bytes(
        serialization.Encoding.PEM)
    order = acme.new_order(csr_pem)
    for authz in order.authorizations:
        ch = [c for c in authz.body.challenges
              if isinstance(c.chall, challenges.HTTP01)][0]
        response, validation = ch.response_and_validation(key)
        resp.tokens[ch.chall.encode("token")] = validation
        acme.answer_challenge(ch, response)
    import datetime
    done = acme.poll_and_finalize(
        order, datetime.datetime.now() + datetime.timedelta(seconds=30))
    leaf = x509.load_pem_x509_certificate(done.fullchain_pem.encode())
    sans = leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sans == [name]
    # The account object read back with POST-as-GET carries the same key.
    import json
    body = net.post(reg.uri, None).json()
    assert body["key"] == want, json.dumps(body)


def test_account_object_key_is_the_registered_jwk(anvil_ca):
    """newAccount (201 and 200 again) and a POST-as-GET of the account
    return the account's public key as "key"."""
    c = Client(anvil_ca)
    key = ec_key()
    r = c.new_account(key)
    assert r.status_code == 201 and r.json()["key"] == jwk_of(key)
    again = c.new_account(key)
    assert again.status_code == 200 and again.json()["key"] == jwk_of(key)
    kid = r.headers["Location"]
    got = c.post(kid, c.signed(key, kid, None, kid=kid))
    assert got.status_code == 200 and got.json()["key"] == jwk_of(key)
