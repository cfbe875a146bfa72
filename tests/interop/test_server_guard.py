# SPDX-License-Identifier: ISC
"""The CA operator's guards (D71): serve refuses a database that does not
exist and one another process serves; each refusal is one line."""
import json
import os
import subprocess

from conftest import ANVIL_CA, free_port, init_ca, start_ca


def serve(path):
    return subprocess.run([ANVIL_CA, "serve", "-c", path],
                          capture_output=True, text=True, timeout=30)


def test_D71_serve_refuses_a_missing_database(tmp_path):
    path = init_ca(str(tmp_path / "ca"), free_port())
    cfg = json.load(open(path))
    typo = str(tmp_path / "ca" / "anvil-ca.bd")
    cfg["database"] = "sqlite:" + typo
    json.dump(cfg, open(path, "w"))
    r = serve(path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"anvil-ca: database: {typo} does not exist (anvil-ca init creates "
        "a database; check the \"database\" key)"]
    # Nothing was created in its place.
    assert not os.path.exists(typo)


def test_D71_second_serve_on_one_database_is_refused(tmp_path):
    ca = start_ca(tmp_path)
    try:
        # A copied configuration with another listener, same database.
        cfg = json.load(open(os.path.join(ca.dir, "anvil-ca.json")))
        cfg["listen"] = f"127.0.0.1:{free_port()}"
        other = os.path.join(ca.dir, "other.json")
        json.dump(cfg, open(other, "w"))
        r = serve(other)
        assert r.returncode == 1
        assert r.stderr.strip().splitlines() == [
            f"anvil-ca: database: {ca.db_path} is served by another "
            "anvil-ca process"]
        assert ca.proc.poll() is None
        # The first one still answers.
        from acmehelp import Client
        assert "newAccount" in Client(ca).dir
    finally:
        assert ca.stop() == 0
        ca.log.close()
    # Once it has stopped, the database can be served again.
    ca.restart()
    assert ca.stop() == 0
    ca.log.close()


def test_D72_domain_policy_at_new_order_and_new_authz(ca_factory):
    from acmehelp import Account, Client
    ca = ca_factory({"allowed_domains": ["corp.example"],
                     "denied_domains": ["secret.corp.example"]})
    acct = Account(Client(ca))
    assert acct.new_order(["www.corp.example"]).status_code == 201
    for names in (["www.other.example"], ["db.secret.corp.example"],
                  ["www.corp.example", "evilcorp.example"]):
        r = acct.new_order(names)
        assert r.status_code in (400, 403), r.text
        assert r.json()["type"] == \
            "urn:ietf:params:acme:error:rejectedIdentifier"
    if "newAuthz" in acct.c.dir:
        r = acct.post(acct.c.dir["newAuthz"], {"identifier": {
            "type": "dns", "value": "www.other.example"}})
        assert r.status_code in (400, 403), r.text
        assert r.json()["type"] == \
            "urn:ietf:params:acme:error:rejectedIdentifier"
    assert ca.db("SELECT count(*) FROM orders") == [(1,)]


def check(path):
    return subprocess.run([ANVIL_CA, "check", "-c", path],
                          capture_output=True, text=True, timeout=30)


def test_D72_check_validates_without_serving(tmp_path):
    port = free_port()
    path = init_ca(str(tmp_path / "ca"), port)
    r = check(path)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, f"{path}: configuration is valid\n", "")
    good = json.load(open(path))
    bad = (
        ({"log_level": "verbose"},
         f"anvil-ca: {path}: {path}: log_level must be debug, info, warn "
         "or error, not \"verbose\""),
        ({"terms_of_service": "see the wiki"},
         f"anvil-ca: {path}: {path}: terms_of_service must be an http:// "
         "or https:// URL"),
        ({"allowed_domains": "corp.example"},
         f"anvil-ca: {path}: config key allowed_domains must be an array "
         "of strings"),
        ({"issuer_key": "ca/root.pem"}, None),
        ({"database": "sqlite:nothere.db"},
         f"anvil-ca: database: {tmp_path}/ca/nothere.db does not exist "
         "(anvil-ca init creates a database; check the \"database\" key)"),
    )
    for change, line in bad:
        json.dump({**good, **change}, open(path, "w"))
        r = check(path)
        assert r.returncode == 1, change
        assert r.stdout == ""
        assert len(r.stderr.splitlines()) == 1, r.stderr
        if line is not None:
            assert r.stderr.splitlines() == [line]
        # serve refuses it with the same line (and binds nothing).
        if "log_level" in change or "terms_of_service" in change:
            s = serve(path)
            assert (s.returncode, s.stderr) == (1, r.stderr)
    assert not os.path.exists(tmp_path / "ca" / "nothere.db")
