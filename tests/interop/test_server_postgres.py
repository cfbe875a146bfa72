# SPDX-License-Identifier: ISC
"""anvil-ca on PostgreSQL (D65): init --database, a real issuance to lego,
a restart that keeps every record, and the schema checks of serve and
migrate on both back ends."""
import os
import sqlite3
import subprocess

from conftest import ANVIL_CA, free_port, init_ca, start_ca
from test_server_lego import lego


def verify(ca, crt):
    v = subprocess.run(["openssl", "verify", "-CAfile", ca.root,
                        "-untrusted", str(crt), str(crt)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr


def test_pg_lego_issues_and_a_restart_keeps_state(pg_server, challtestsrv,
                                                   tmp_path):
    url = pg_server.createdb("issue")
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--database", url, "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)], config={"caa_identities": "anvil.test"})
    try:
        # The URL is in the configuration, and no SQLite file was made.
        with open(os.path.join(ca.dir, "anvil-ca.json")) as f:
            assert f'"{url}"' in f.read()
        assert not os.path.exists(ca.db_path)
        args = ("--http", "--http.port", f"127.0.0.1:{http01}")
        r = lego(ca, tmp_path / "lego", *args, "-d", "pg1.example.net", "run")
        assert r.returncode == 0, r.stdout + r.stderr
        verify(ca, tmp_path / "lego/certificates/pg1.example.net.crt")
        assert ca.stop() == 0
        ca.restart()
        # The account, order and certificate survived the restart: the
        # same lego account revokes the certificate and gets another.
        r = lego(ca, tmp_path / "lego", *args, "-d", "pg1.example.net",
                 "revoke", "--reason", "4")
        assert r.returncode == 0, r.stdout + r.stderr
        r = lego(ca, tmp_path / "lego", *args, "-d", "pg2.example.net", "run")
        assert r.returncode == 0, r.stdout + r.stderr
        verify(ca, tmp_path / "lego/certificates/pg2.example.net.crt")
        q = pg_server.psql("SELECT (SELECT count(*) FROM accounts),"
                           " (SELECT count(*) FROM certs),"
                           " (SELECT count(*) FROM certs WHERE reason = 4"
                           "  AND revoked_at > 0),"
                           " (SELECT count(*) FROM orders WHERE status = 2)",
                           db="issue")
        assert q.strip() == "1|2|1|0"
    finally:
        assert ca.stop() == 0
        ca.log.close()


def serve(path):
    return subprocess.run([ANVIL_CA, "serve", "-c", path],
                          capture_output=True, text=True, timeout=30)


def set_database(path, url):
    import json
    with open(path) as f:
        cfg = json.load(f)
    cfg["database"] = url
    with open(path, "w") as f:
        json.dump(cfg, f)


def test_pg_serve_refuses_other_schemas_and_migrate_upgrades(pg_server,
                                                              tmp_path):
    url = pg_server.createdb("schema")
    path = init_ca(str(tmp_path / "ca"), free_port(),
                   extra_init=["--database", url])
    assert pg_server.psql("SELECT version FROM schema_version",
                          db="schema").strip() == "4"
    # No schema yet (an empty database): serve refuses, migrate makes it.
    set_database(path, pg_server.createdb("empty"))
    r = serve(path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "anvil-ca: database: database schema 0 is older than this "
        "anvil-ca (4): run anvil-ca migrate -c FILE"]
    r = subprocess.run([ANVIL_CA, "migrate", "-c", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert pg_server.psql("SELECT version FROM schema_version",
                          db="empty").strip() == "4"
    assert pg_server.psql("SELECT count(*) FROM certs", db="empty").strip() == "0"
    # Version 3 (before the leases, D80) with a job queued: serve refuses
    # it, migrate brings it to 4 and the job keeps its row, held by
    # nobody (lease 0: the first sweep takes it).
    pg_server.psql("ALTER TABLE jobs DROP COLUMN owner, DROP COLUMN"
                   " lease_until; ALTER TABLE orders DROP COLUMN claim_owner,"
                   " DROP COLUMN claim_until; UPDATE schema_version"
                   " SET version = 3; INSERT INTO jobs VALUES ('c-old', 5)",
                   db="empty")
    r = serve(path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "anvil-ca: database: database schema 3 is older than this "
        "anvil-ca (4): run anvil-ca migrate -c FILE"]
    r = subprocess.run([ANVIL_CA, "migrate", "-c", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert pg_server.psql("SELECT version FROM schema_version",
                          db="empty").strip() == "4"
    assert pg_server.psql("SELECT chall_id, not_before, owner, lease_until"
                          " FROM jobs", db="empty").strip() == "c-old|5||0"
    assert pg_server.psql("SELECT count(*) FROM orders WHERE claim_until = 0"
                          " AND claim_owner = ''", db="empty").strip() == "0"
    # A newer anvil-ca's schema: serve and migrate both refuse it.
    pg_server.psql("UPDATE schema_version SET version = 99", db="empty")
    for argv in (["serve"], ["migrate"]):
        r = subprocess.run([ANVIL_CA, *argv, "-c", path], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1
        assert r.stderr.strip().splitlines() == [
            "anvil-ca: database: database schema 99 is newer than this "
            "anvil-ca (4)"]


def test_sqlite_migrate_and_newer_schema_refused(tmp_path):
    path = init_ca(str(tmp_path / "ca"), free_port())
    r = subprocess.run([ANVIL_CA, "migrate", "-c", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "database schema is current\n"
    db = os.path.join(str(tmp_path / "ca"), "anvil-ca.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.close()
    r = serve(path)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "database schema 99 is newer than this anvil-ca" in r.stderr


def test_pg_server_restart_is_survived(pg_server, challtestsrv, tmp_path):
    """PostgreSQL restarts under a running anvil-ca (every connection of
    its pool is closed): the next flow of the same account works."""
    url = pg_server.createdb("restart")
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--database", url, "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)], config={"caa_identities": "anvil.test"})
    try:
        args = ("--http", "--http.port", f"127.0.0.1:{http01}")
        r = lego(ca, tmp_path / "lego", *args, "-d", "pgr1.example.net", "run")
        assert r.returncode == 0, r.stdout + r.stderr
        pg_server.restart()
        r = lego(ca, tmp_path / "lego", *args, "-d", "pgr2.example.net", "run")
        assert r.returncode == 0, r.stdout + r.stderr
        verify(ca, tmp_path / "lego/certificates/pgr2.example.net.crt")
        assert pg_server.psql("SELECT count(*) FROM certs",
                              db="restart").strip() == "2"
    finally:
        assert ca.stop() == 0
        ca.log.close()
