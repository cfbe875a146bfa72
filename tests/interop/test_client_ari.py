# SPDX-License-Identifier: ISC
"""anvil renew with renewal information (RFC 9773) from anvil-ca: the
window is fetched right after issuance and kept in renewal.json, a
renewal time is picked inside it, Retry-After is honoured (no request
before it has passed), an operator's early window triggers a renewal
that names its predecessor in "replaces", and a refused "replaces" is
retried once without it.  Time moves forward with faketime(1), the
real libfaketime, not with a test hook in anvil."""
import datetime
import json
import os
import shutil
import subprocess

from cryptography import x509

from conftest import ANVIL_CA
from test_client import ANVIL, anvil, serial_of
from test_server_ari import cert_id


def renewal(state, name):
    with open(os.path.join(state, "certs", name, "renewal.json")) as f:
        return json.load(f)


def load_cert(state, name):
    with open(os.path.join(state, "certs", name, "cert.pem"), "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def ari_requests(ca):
    ca.log.flush()
    with open(os.path.join(ca.dir, "serve.log")) as f:
        return sum(1 for line in f if "path=/acme/renewal-info/" in line)


def faketime(offset, *args):
    # libfaketime is preloaded ahead of an ASan build's runtime (make
    # test-asan); ASan refuses that unless told the order is fine.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if x)
    return subprocess.run(["faketime", "-f", offset, ANVIL, *args],
                          capture_output=True, text=True, timeout=120,
                          env=env)


def issue_one(ca, state, name):
    r = anvil("issue", "-d", name, "--standalone", "--http-port",
              str(ca.http01_port), "--server", ca.directory, "--ca-bundle",
              ca.tls_ca, "--state-dir", state)
    assert r.returncode == 0, r.stderr


def test_S_ARI_6_8_9_11_renew_follows_the_window(validating_ca, tmp_path):
    ca = validating_ca
    state = str(tmp_path / "state")
    name = "ari.example.com"
    issue_one(ca, state, name)
    cert = load_cert(state, name)
    ari = renewal(state, name)["ari"]
    # S-ARI-2: the same certID as computed independently; S-ARI-8: the
    # window was fetched at issuance; S-ARI-6: the pick lies inside it.
    assert ari["cert_id"] == cert_id(cert)
    assert ari["url"].endswith("/acme/renewal-info")
    assert ari["start"] <= ari["renew_at"] < ari["end"]
    na = int(cert.not_valid_after.replace(
        tzinfo=datetime.timezone.utc).timestamp())
    assert ari["end"] <= na
    now = int(datetime.datetime.now().timestamp())
    assert now + 6 * 3600 - 60 <= ari["next_check"] <= now + 6 * 3600 + 60
    assert ari_requests(ca) == 1

    # Not due: nothing happens, and Retry-After is honoured (no request).
    r = anvil("renew", "--all", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert serial_of(state, name) == cert.serial_number
    assert ari_requests(ca) == 1
    # list shows the next renewal: the picked time, or the certificate's
    # own schedule (a third of its lifetime left) when that is earlier.
    rows = json.loads(anvil("list", "--json", "--state-dir", state).stdout)["certificates"]
    nb = int(cert.not_valid_before.replace(
        tzinfo=datetime.timezone.utc).timestamp())
    picked = datetime.datetime.fromtimestamp(
        min(ari["renew_at"], na - (na - nb) // 3),
        datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rows[0]["renew_after"] == picked

    # The operator asks for renewal now.
    r = subprocess.run([ANVIL_CA, "ari", "set", "-c",
                        os.path.join(ca.dir, "anvil-ca.json"), "--serial",
                        format(cert.serial_number, "x"), "--start",
                        "now-3600", "--end", "now-60", "--explanation-url",
                        "https://ca.example/incident"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # Before Retry-After has passed the client does not ask again.
    r = anvil("renew", "--all", "--state-dir", state)
    assert r.returncode == 0 and serial_of(state, name) == cert.serial_number
    assert ari_requests(ca) == 1
    saved = str(tmp_path / "saved")
    shutil.copytree(state, saved)

    # Seven hours later it asks, sees a past window and renews with
    # replaces (S-ARI-11), showing the explanation (S-ARI-7).
    r = faketime("+7h", "renew", "--all", "--state-dir", state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "https://ca.example/incident" in r.stderr
    new = load_cert(state, name)
    assert new.serial_number != cert.serial_number
    assert ca.db("SELECT count(*) FROM orders WHERE replaces = ?",
                 (cert_id(cert),)) == [(1,)]
    # The new certificate has its own renewal information.
    ari2 = renewal(state, name)["ari"]
    assert ari2["cert_id"] == cert_id(new)
    assert ari2["renew_at"] > int(datetime.datetime.now().timestamp())
    assert "last_error" not in renewal(state, name)

    # The old state again: "replaces" now names a certificate already
    # replaced; the CA refuses it (409) and anvil retries without.
    r = faketime("+7h", "renew", "--all", "-v", "--state-dir", saved)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "retrying without" in r.stderr
    assert ca.db("SELECT count(*) FROM orders WHERE replaces = ?",
                 (cert_id(cert),)) == [(1,)]
    assert ca.db("SELECT count(*) FROM certs") == [(3,)]


def test_S_ARI_5_10_failures_fall_back(validating_ca, tmp_path):
    """A CA that stops answering: the client keeps its last answer, backs
    off, and the built-in threshold still decides."""
    ca = validating_ca
    state = str(tmp_path / "state")
    name = "down.example.com"
    issue_one(ca, state, name)
    before = renewal(state, name)["ari"]
    assert ca.stop() == 0
    r = faketime("+7h", "renew", "--all", "-v", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert "renewal information" in r.stderr
    after = renewal(state, name)["ari"]
    # Window and pick kept; a temporary failure: back off a minute or two.
    assert (after["start"], after["end"], after["renew_at"]) == \
        (before["start"], before["end"], before["renew_at"])
    assert after["failures"] == 1
    now7 = int(datetime.datetime.now().timestamp()) + 7 * 3600
    assert now7 + 30 <= after["next_check"] <= now7 + 150
    assert "last_error" in after
    ca.restart()  # for the fixture's clean stop
