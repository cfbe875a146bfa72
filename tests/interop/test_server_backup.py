# SPDX-License-Identifier: ISC
"""Backup, restore and audit-log rotation (issue #20, D79), done with
the commands docs/operations.md gives, on a CA that is serving:
- a backup taken while serving restores into a CA whose account can
  revoke its old certificate and order again, whose audit log goes on
  from the backed-up one, whose database passes integrity_check and
  whose files have their modes;
- logrotate's rename then SIGHUP: serve writes a new audit.log and the
  renamed one keeps its lines."""
import os
import shutil
import signal
import stat
import subprocess
import time

from acmehelp import b64
from conftest import ANVIL_CA
from test_server_file_modes import assert_private
from test_server_orders import flow, issued  # noqa: F401 (fixture)


def sh(cmd, cwd):
    subprocess.run(["sh", "-ec", cmd], cwd=cwd, check=True,
                   capture_output=True)


def backup(ca_dir, dest):
    """docs/operations.md, "Backups": the database first, online, then the
    directory with its modes (audit.log in it)."""
    os.mkdir(dest, 0o700)
    top, name = os.path.split(ca_dir)
    sh(f'sqlite3 {ca_dir}/anvil-ca.db ".backup {dest}/anvil-ca.db" && '
       f"tar -C {top} -cpf {dest}/anvil-ca.tar --exclude 'anvil-ca.db*' "
       f"--exclude serve.log {name}", dest)


def restore(dest, ca_dir):
    """docs/operations.md, "Backups", the restore (the CA is stopped)."""
    top = os.path.dirname(ca_dir)
    sh(f"tar -C {top} -xpf {dest}/anvil-ca.tar && "
       f"install -m 0600 {dest}/anvil-ca.db {ca_dir}/anvil-ca.db && "
       f"rm -f {ca_dir}/anvil-ca.db-wal {ca_dir}/anvil-ca.db-shm && "
       f'test "$(sqlite3 {ca_dir}/anvil-ca.db "PRAGMA integrity_check")" '
       f"= ok && {ANVIL_CA} check -c {ca_dir}/anvil-ca.json", dest)


def audit_lines(path):
    with open(path) as f:
        return [ln for ln in f.read().splitlines() if ln]


def test_D79_restore_from_backup_while_serving(flow, tmp_path):
    ca, acct, resp = flow
    der, _ = issued(acct, resp, ["before.example.com"])
    ca.audit(lambda e: e["event"] == "issuance")
    dest = str(tmp_path / "backup")
    backup(ca.dir, dest)
    # Issued after the backup: the restore takes it back (documented).
    issued(acct, resp, ["after.example.com"])
    assert ca.stop() == 0
    sh(f"tar -xOf anvil-ca.tar {os.path.basename(ca.dir)}/audit.log "
       "> audit.log", dest)
    before = audit_lines(os.path.join(dest, "audit.log"))
    assert before
    shutil.rmtree(ca.dir)
    restore(dest, ca.dir)
    ca.restart()

    assert ca.db("PRAGMA integrity_check") == [("ok",)]
    assert ca.db("SELECT count(*) FROM certs") == [(1,)]
    # The same account revokes the certificate issued before the backup.
    r = acct.post(acct.c.dir["revokeCert"],
                  {"certificate": b64(der), "reason": 4})
    assert r.status_code == 200, r.text
    assert ca.db("SELECT revoked_at > 0, reason FROM certs") == [(1, 4)]
    # ... and orders and gets a new one.
    issued(acct, resp, ["restored.example.com"])
    lines = ca.audit(lambda e: e["event"] == "revocation")
    # The audit log goes on from the backed-up lines, none lost.
    now = audit_lines(os.path.join(ca.dir, "audit.log"))
    assert now[:len(before)] == before
    assert len(now) > len(before) and len(lines) == len(now)
    assert_private(ca.dir)
    for n in ("ca/intermediate.key", "ca/root.key", "tls/server.key",
              "anvil-ca.json"):
        st = os.stat(os.path.join(ca.dir, n))
        assert stat.S_IMODE(st.st_mode) == 0o600, n


def test_D79_sighup_reopens_a_rotated_audit_log(flow):
    ca, acct, resp = flow
    issued(acct, resp, ["rot1.example.com"])
    ca.audit(lambda e: e["event"] == "issuance")
    log = os.path.join(ca.dir, "audit.log")
    old = log + ".1"
    os.rename(log, old)
    kept = audit_lines(old)
    ca.proc.send_signal(signal.SIGHUP)
    # The copier creates the new file when it takes the signal; wait for
    # that outcome (without the reopen it never comes).
    deadline = time.monotonic() + 10
    while not os.path.exists(log):
        assert time.monotonic() < deadline, "no new audit.log"
        time.sleep(0.02)
    der, _ = issued(acct, resp, ["rot2.example.com"])
    lines = ca.audit(lambda e: e["event"] == "issuance" and
                     "rot2.example.com" in e["names"])
    assert all("rot1.example.com" not in e.get("names", []) for e in lines)
    assert audit_lines(old) == kept
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert ca.proc.poll() is None
