# SPDX-License-Identifier: ISC
"""External Account Binding (RFC 8555 7.3.4) on an anvil-ca that requires
it, with keys made by "anvil-ca eab add": certbot registers with one, and
each verification rule of S-EAB-4 refuses a bad binding."""
import base64
import hashlib
import hmac
import json
import os
import subprocess

import pytest

from acmehelp import Client, b64, ec_key, jwk_of
from conftest import ANVIL_CA


def eab_add(ca, kid=None):
    cmd = [ANVIL_CA, "eab", "add", "-c", os.path.join(ca.dir, "anvil-ca.json")]
    if kid:
        cmd += ["--kid", kid]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
    return fields["kid"], fields["hmac_key"]


def eab_jws(kid, mac_b64, url, account_key, nonce=None, payload_key=None):
    prot = {"alg": "HS256", "kid": kid, "url": url}
    if nonce:
        prot["nonce"] = nonce
    p64 = b64(json.dumps(prot))
    pl64 = b64(json.dumps(jwk_of(payload_key or account_key)))
    mac = base64.urlsafe_b64decode(mac_b64 + "=" * (-len(mac_b64) % 4))
    sig = hmac.new(mac, f"{p64}.{pl64}".encode(), hashlib.sha256).digest()
    return {"protected": p64, "payload": pl64, "signature": b64(sig)}


@pytest.fixture
def eab_ca(ca_factory):
    return ca_factory({"external_account_required": True})


def problem(r, kind, status=400):
    assert r.status_code == status, r.text
    assert r.json()["type"] == "urn:ietf:params:acme:error:" + kind
    return r.json()


def count(ca):
    return ca.db("SELECT count(*) FROM accounts")[0][0]


def test_S_EAB_3_required(eab_ca):
    c = Client(eab_ca)
    assert c.dir["meta"]["externalAccountRequired"] is True
    problem(c.new_account(ec_key()), "externalAccountRequired")
    assert count(eab_ca) == 0


def test_S_EAB_4_S_EAB_5_valid_binding_is_echoed(eab_ca):
    c = Client(eab_ca)
    kid, mac = eab_add(eab_ca, "customer-42")
    key = ec_key()
    eab = eab_jws(kid, mac, c.dir["newAccount"], key)
    r = c.new_account(key, {"termsOfServiceAgreed": True,
                            "externalAccountBinding": eab})
    assert r.status_code == 201, r.text
    assert r.json()["externalAccountBinding"] == eab
    assert eab_ca.db("SELECT eab_kid FROM accounts") == [("customer-42",)]
    assert eab_ca.db("SELECT account_id != '' FROM eab") == [(1,)]


@pytest.mark.parametrize("case,kind", [
    ("wrong-mac", "unauthorized"), ("unknown-kid", "unauthorized"),
    ("nonce", "malformed"), ("other-key", "malformed"), ("url", "malformed")])
def test_S_EAB_4_bad_bindings(eab_ca, case, kind):
    c = Client(eab_ca)
    kid, mac = eab_add(eab_ca)
    key = ec_key()
    url = c.dir["newAccount"]
    if case == "wrong-mac":
        eab = eab_jws(kid, b64(os.urandom(32)), url, key)
    elif case == "unknown-kid":
        eab = eab_jws("no-such-kid", mac, url, key)
    elif case == "nonce":
        eab = eab_jws(kid, mac, url, key, nonce=c.new_nonce())
    elif case == "other-key":
        eab = eab_jws(kid, mac, url, key, payload_key=ec_key())
    else:
        eab = eab_jws(kid, mac, eab_ca.base + "/acme/new-order", key)
    problem(c.new_account(key, {"externalAccountBinding": eab}), kind,
            403 if kind == "unauthorized" else 400)
    assert count(eab_ca) == 0


def test_S_EAB_6_key_binds_one_account(eab_ca):
    c = Client(eab_ca)
    kid, mac = eab_add(eab_ca)
    k1, k2 = ec_key(), ec_key()
    assert c.new_account(k1, {"externalAccountBinding": eab_jws(
        kid, mac, c.dir["newAccount"], k1)}).status_code == 201
    problem(c.new_account(k2, {"externalAccountBinding": eab_jws(
        kid, mac, c.dir["newAccount"], k2)}), "unauthorized", 403)
    assert count(eab_ca) == 1


def test_eab_add_refuses_duplicate_kid(eab_ca):
    eab_add(eab_ca, "dup")
    r = subprocess.run([ANVIL_CA, "eab", "add", "-c",
                        os.path.join(eab_ca.dir, "anvil-ca.json"), "--kid", "dup"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "exists" in r.stderr


def test_certbot_registers_with_eab(eab_ca, tmp_path):
    kid, mac = eab_add(eab_ca)
    env = dict(os.environ, REQUESTS_CA_BUNDLE=eab_ca.tls_ca)
    r = subprocess.run(["certbot", "register", "--non-interactive", "--agree-tos",
                        "--register-unsafely-without-email", "--no-eff-email",
                        "--server", eab_ca.directory, f"--eab-kid={kid}",
                        # "=" form: a base64url key may start with "-".
                        f"--eab-hmac-key={mac}",
                        "--config-dir", str(tmp_path / "c"), "--work-dir",
                        str(tmp_path / "w"), "--logs-dir", str(tmp_path / "l")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert eab_ca.db("SELECT eab_kid FROM accounts") == [(kid,)]
