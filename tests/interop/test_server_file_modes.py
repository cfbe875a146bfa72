# SPDX-License-Identifier: ISC
"""anvil-ca's files are its owner's only: after init, serve, an EAB key
and an issuance, every directory under the CA directory is 0700 and
every file but the public certificates has no group or other bits: the
keys, the configuration, the database with its -wal and -shm (EAB HMAC
keys, accounts), the audit log.  Files an older anvil-ca left readable
are made private at the next start (security review 2026-12, #9)."""
import os
import stat
import subprocess

from conftest import ANVIL_CA
from test_server_orders import flow, issued  # noqa: F401 (fixture)

# Written by the test fixture, not by anvil-ca.
NOT_OURS = {"serve.log"}


def modes(top):
    """{relative path: mode} of everything under top, top included."""
    out = {".": stat.S_IMODE(os.stat(top).st_mode)}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, top)] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def assert_private(top):
    m = modes(top)
    for must in ("anvil-ca.db", "anvil-ca.db-wal", "anvil-ca.db-shm",
                 "audit.log", "anvil-ca.json", "ca/intermediate.key"):
        assert must in m, sorted(m)
    bad = {}
    for p, mode in m.items():
        full = os.path.join(top, p)
        if os.path.isdir(full):
            if mode != 0o700:
                bad[p] = oct(mode)
        elif p not in NOT_OURS and not p.endswith(".pem") and mode & 0o077:
            bad[p] = oct(mode)
    assert bad == {}, bad


def test_files_and_directories_are_private(flow):
    ca, acct, resp = flow
    subprocess.run([ANVIL_CA, "eab", "add", "-c",
                    os.path.join(ca.dir, "anvil-ca.json"), "--kid", "k1"],
                   check=True, capture_output=True)
    r = acct.new_order(["modes.example.com"])
    assert r.status_code == 201, r.text
    der, _ = issued(acct, resp, ["modes.example.com"])
    assert der
    assert ca.db("SELECT count(*) FROM eab") == [(1,)]
    assert_private(ca.dir)
    # Left readable by an older version: private again after a restart.
    assert ca.stop() == 0
    for n in ("anvil-ca.db", "anvil-ca.db-wal", "anvil-ca.db-shm",
              "audit.log"):
        p = os.path.join(ca.dir, n)
        if os.path.exists(p):
            os.chmod(p, 0o644)
    ca.restart()
    acct.get(acct.kid)
    assert_private(ca.dir)
