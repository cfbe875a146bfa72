# SPDX-License-Identifier: ISC
"""anvil and ACME profiles: `anvil issue --profile` against anvil-ca (the
certificate's validity, renewal.json and the order row in the CA's
database), `anvil renew` keeping the profile, refusals before any order
when the CA does not advertise the profile (anvil-ca with a typo, pebble
2.4.0 with no profiles at all), and `anvil profiles` (S-PROF-2, S-PROF-3)."""
import datetime
import json
import os

import requests
from cryptography import x509

from conftest import free_port  # noqa: F401 (fixtures below use conftest)
from test_client import anvil, check_files, pebble  # noqa: F401 (fixture)


def common(ca, state):
    return ["--standalone", "--http-port", str(ca.http01_port), "--server",
            ca.directory, "--ca-bundle", ca.tls_ca, "--state-dir", state]


def renewal(state, name):
    with open(os.path.join(state, "certs", name, "renewal.json")) as f:
        return json.load(f)


def test_S_PROF_3_issue_and_renew_keep_the_profile(validating_ca, tmp_path):
    ca, state = validating_ca, str(tmp_path / "s")
    r = anvil("issue", "-d", "short.example.com", "--profile", "shortlived",
              *common(ca, state))
    assert r.returncode == 0, r.stdout + r.stderr
    cert = check_files(state, "short.example.com", open(ca.root).read())
    assert cert.not_valid_after - cert.not_valid_before == \
        datetime.timedelta(hours=160)
    assert renewal(state, "short.example.com")["profile"] == "shortlived"
    assert ca.db("SELECT profile FROM orders") == [("shortlived",)]
    r = anvil("renew", "short.example.com", "--force", "--state-dir", state)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(state, "certs", "short.example.com", "cert.pem"),
              "rb") as f:
        again = x509.load_pem_x509_certificate(f.read())
    assert again.serial_number != cert.serial_number
    assert again.not_valid_after - again.not_valid_before == \
        datetime.timedelta(hours=160)
    assert renewal(state, "short.example.com")["profile"] == "shortlived"
    assert ca.db("SELECT profile FROM orders") == [("shortlived",)] * 2
    # Without --profile nothing is asked for: the CA's default applies
    # and renewal.json records no profile.
    r = anvil("issue", "-d", "plain.example.com", *common(ca, state))
    assert r.returncode == 0, r.stderr
    assert "profile" not in renewal(state, "plain.example.com")
    assert ca.db("SELECT count(*) FROM orders WHERE profile = 'classic'") == [(1,)]


def test_S_PROF_3_unknown_profile_stops_before_any_order(validating_ca, tmp_path):
    ca, state = validating_ca, str(tmp_path / "s")
    r = anvil("issue", "-d", "typo.example.com", "--profile", "nope",
              *common(ca, state))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert '"nope"' in lines[0]
    for name in ("classic", "shortlived", "tlsserver"):
        assert name in lines[0]
    # Checked from the directory alone: no order, not even an account.
    assert ca.db("SELECT count(*) FROM orders") == [(0,)]
    assert ca.db("SELECT count(*) FROM accounts") == [(0,)]
    assert not os.path.exists(os.path.join(state, "certs", "typo.example.com"))


def test_S_PROF_3_profile_against_pebble_without_profiles(pebble, tmp_path):
    r = anvil("issue", "-d", "x.example.com", "--profile", "x", "--standalone",
              "--http-port", str(pebble.http01_port), "--server",
              pebble.directory, "--ca-bundle", pebble.ca_bundle,
              "--state-dir", str(tmp_path / "s"), "--agree-tos")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "offers no profiles" in lines[0], r.stderr
    assert not os.path.exists(tmp_path / "s" / "certs")


def test_S_PROF_2_anvil_profiles_lists_the_directory(validating_ca, pebble):
    ca = validating_ca
    advertised = requests.get(ca.directory, verify=ca.tls_ca).json()["meta"]["profiles"]
    args = ["--server", ca.directory, "--ca-bundle", ca.tls_ca]
    r = anvil("profiles", *args)
    assert r.returncode == 0, r.stderr
    listed = dict(line.split("\t", 1) for line in r.stdout.strip().splitlines())
    assert listed == advertised and len(listed) == 3
    r = anvil("profiles", "--json", *args)
    assert r.returncode == 0 and json.loads(r.stdout) == advertised
    # No account is needed to ask, and none is made.
    assert ca.db("SELECT count(*) FROM accounts") == [(0,)]
    peb = ["--server", pebble.directory, "--ca-bundle", pebble.ca_bundle]
    r = anvil("profiles", *peb)
    assert r.returncode == 0 and "offers no profiles" in r.stdout
    r = anvil("profiles", "--json", *peb)
    assert r.returncode == 0 and json.loads(r.stdout) == {}
    r = anvil("profiles", "extra", *args)
    assert r.returncode == 2
