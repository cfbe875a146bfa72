# SPDX-License-Identifier: ISC
"""anvil-ca admin (D74, D88) against a serving anvil-ca: certificates
from lego, then find, revoke, block, unblock, pause, unpause and eab
through the real command, each checked in its output, the database, the
audit log and, for revocations, the CRL the CA serves; and blocks and
pauses holding at every step of an order made before them (D88)."""
import json
import os
import ssl
import subprocess
import urllib.request

from acmehelp import b64, csr_der, ec_key
from conftest import ANVIL_CA, free_port, start_ca
from test_server_lego import lego
from test_server_orders import flow, problem, ready_order  # noqa: F401


def admin(ca, *args):
    return subprocess.run(
        [ANVIL_CA, "admin", "-c", os.path.join(ca.dir, "anvil-ca.json"),
         *args], capture_output=True, text=True, timeout=60)


def admin_json(ca, *args):
    r = admin(ca, *args, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def issue(ca, path, *names):
    args = ["--http", "--http.port", f"127.0.0.1:{ca.http01_port}"]
    for n in names:
        args += ["-d", n]
    return lego(ca, path, *args, "run")


def crl_serials(ca, tmp_path):
    ctx = ssl.create_default_context(cafile=ca.tls_ca)
    with urllib.request.urlopen(ca.base + "/crl", context=ctx,
                                timeout=10) as r:
        der = r.read()
    p = tmp_path / "crl.der"
    p.write_bytes(der)
    out = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", str(p),
                          "-noout", "-text"], capture_output=True, text=True,
                         check=True).stdout
    return {ln.split(":", 1)[1].strip().lower().lstrip("0")
            for ln in out.splitlines() if "Serial Number:" in ln}


def test_find_by_name_serial_and_account(validating_ca, tmp_path):
    ca = validating_ca
    r = issue(ca, tmp_path / "l1", "find.example.net", "www.find.example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    (serial, acct), = ca.db("SELECT serial, account_id FROM certs")
    by_name = admin_json(ca, "find", "--name", "www.find.example.net")
    assert [c["serial"] for c in by_name["certificates"]] == [serial]
    c = by_name["certificates"][0]
    assert c["account"] == acct and c["status"] == "valid"
    assert sorted(c["names"]) == ["find.example.net", "www.find.example.net"]
    # Serials as openssl prints them: upper case, colons.
    pretty = ":".join(serial.upper()[i:i + 2]
                      for i in range(0, len(serial), 2))
    assert admin_json(ca, "find", "--serial", pretty)["certificates"][0][
        "serial"] == serial
    by_acct = admin_json(ca, "find", "--account",
                         f"{ca.base}/acme/acct/{acct}")
    assert by_acct["account"]["id"] == acct
    assert by_acct["account"]["status"] == "valid"
    assert [c["serial"] for c in by_acct["certificates"]] == [serial]
    (order,), = ca.db("SELECT id FROM orders")
    assert [(o["id"], o["status"], sorted(o["names"])) for o in
            by_acct["orders"]] == [(order, "valid", [
                "find.example.net", "www.find.example.net"])]
    text = admin(ca, "find", "--name", "find.example.net")
    assert text.returncode == 0 and f"serial {serial} " in text.stdout
    # Nothing: exit 1 and one line; a name that is only a suffix of
    # one issued matches nothing.
    r = admin(ca, "find", "--name", "example.net")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert admin(ca, "find").returncode == 2
    assert admin(ca, "find", "--name", "a", "--serial", "1").returncode == 2


def test_revoke_by_serial_account_and_name(validating_ca, tmp_path):
    ca = validating_ca
    for i, name in enumerate(["r1.example.net", "r2.example.net",
                              "r3.example.net"]):
        r = issue(ca, tmp_path / "lego", name)
        assert r.returncode == 0, r.stdout + r.stderr
    rows = ca.db("SELECT serial, account_id FROM certs ORDER BY not_before")
    serials = [s for s, _ in rows]
    acct = rows[0][1]
    crl_before = ca.db("SELECT coalesce(max(number), 0) FROM crls")[0][0]

    out = admin_json(ca, "revoke", "--serial", serials[0], "--reason",
                     "keyCompromise")
    assert out["revoked"] == [serials[0]] and out["reason"] == 1
    assert out["crl_number"] > crl_before
    assert ca.db("SELECT revoked_at > 0, reason FROM certs WHERE serial = ?",
                 (serials[0],)) == [(1, 1)]
    ca.audit(lambda e: e["event"] == "revocation"
             and e["serial"] == serials[0] and e["by"] == "operator")
    assert serials[0] in crl_serials(ca, tmp_path)

    # Three certificates of the account match: refused without --yes.
    r = admin(ca, "revoke", "--account", acct, "--reason", "4")
    assert r.returncode == 1 and "--yes" in r.stderr
    assert ca.db("SELECT count(*) FROM certs WHERE revoked_at > 0") == [(1,)]
    out = admin_json(ca, "revoke", "--account", acct, "--reason",
                     "superseded", "--yes")
    assert sorted(out["revoked"]) == sorted(serials[1:])
    assert out["already_revoked"] == [serials[0]]
    assert ca.db("SELECT serial, reason FROM certs WHERE revoked_at > 0 "
                 "ORDER BY not_before") == [
        (serials[0], 1), (serials[1], 4), (serials[2], 4)]
    assert set(serials) <= crl_serials(ca, tmp_path)

    # By name: one match, already revoked: nothing new, exit 0.
    out = admin_json(ca, "revoke", "--name", "r2.example.net", "--reason",
                     "0")
    assert out["revoked"] == [] and out["already_revoked"] == [serials[1]]
    r = admin(ca, "revoke", "--name", "none.example.net", "--reason", "0")
    assert r.returncode == 1 and "no certificate" in r.stderr
    r = admin(ca, "revoke", "--serial", serials[0], "--reason", "7")
    assert r.returncode == 2


def test_block_refuses_new_orders_under_the_name(validating_ca, tmp_path):
    ca = validating_ca
    out = admin_json(ca, "block", "--name", "Blocked.Example.NET")
    assert out == {"blocked": "blocked.example.net"}
    assert ca.db("SELECT name FROM blocked_names") == [
        ("blocked.example.net",)]
    ca.audit(lambda e: e["event"] == "block"
             and e["name"] == "blocked.example.net")
    for name in ("blocked.example.net", "www.blocked.example.net"):
        r = issue(ca, tmp_path / "lego", name)
        assert r.returncode != 0
        assert "rejectedIdentifier" in r.stdout + r.stderr
        assert "blocked by the CA" in r.stdout + r.stderr
    assert ca.db("SELECT count(*) FROM orders") == [(0,)]
    r = issue(ca, tmp_path / "lego", "notblocked.example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    r = admin(ca, "block", "--name", "blocked.example.net")
    assert r.returncode == 1 and "already" in r.stderr


def test_pause_refuses_the_accounts_requests(validating_ca, tmp_path):
    ca = validating_ca
    r = issue(ca, tmp_path / "lego", "pause.example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    (acct,), = ca.db("SELECT id FROM accounts")
    assert admin_json(ca, "pause", "--account", acct) == {"paused": acct}
    assert ca.db("SELECT paused > 0 FROM accounts") == [(1,)]
    ca.audit(lambda e: e["event"] == "pause" and e["account"] == acct)
    r = issue(ca, tmp_path / "lego", "pause2.example.net")
    assert r.returncode != 0
    assert "unauthorized" in r.stdout + r.stderr
    assert "paused by the CA's operator" in r.stdout + r.stderr
    assert ca.db("SELECT count(*) FROM orders") == [(1,)]
    r = admin(ca, "pause", "--account", acct)
    assert r.returncode == 1 and "already" in r.stderr
    r = admin(ca, "pause", "--account", "nosuchaccount")
    assert r.returncode == 1 and "no account" in r.stderr


def test_eab_list_add_remove(validating_ca, tmp_path):
    ca = validating_ca
    added = admin_json(ca, "eab", "add")
    assert len(added["kid"]) == 22 and len(added["hmac_key"]) == 43
    r = admin(ca, "eab", "add", "--kid", "second")
    assert r.returncode == 0 and r.stdout.startswith("kid: second\n")
    listed = admin_json(ca, "eab", "list")
    assert sorted(k["kid"] for k in listed) == sorted([added["kid"],
                                                       "second"])
    assert all("account" not in k for k in listed)  # none bound
    assert "hmac_key" not in json.dumps(listed)
    assert admin_json(ca, "eab", "remove", "second") == {"removed": "second"}
    assert ca.db("SELECT kid FROM eab") == [(added["kid"],)]
    ca.audit(lambda e: e["event"] == "eab_removed" and e["kid"] == "second")
    r = admin(ca, "eab", "remove", "second")
    assert r.returncode == 1 and "no key id" in r.stderr
    assert admin(ca, "eab", "remove").returncode == 2


def test_D88_unblock_and_the_list_of_blocks(validating_ca, tmp_path):
    """Issue 19: a block is undone by unblock (one audit line), after
    which the name is served again; blocked / block --list show what is
    blocked."""
    ca = validating_ca
    assert admin_json(ca, "blocked") == []
    assert admin_json(ca, "block", "--name", "undo.example.net") == {
        "blocked": "undo.example.net"}
    admin_json(ca, "block", "--name", "other.example.org")
    listed = admin_json(ca, "blocked")
    assert [b["name"] for b in listed] == ["other.example.org",
                                          "undo.example.net"]
    assert all(b["created"].endswith("Z") for b in listed)
    assert admin_json(ca, "block", "--list") == listed
    text = admin(ca, "block", "--list")
    assert text.returncode == 0 and text.stdout.splitlines()[1].startswith(
        "name undo.example.net created ")
    r = issue(ca, tmp_path / "lego", "www.undo.example.net")
    assert r.returncode != 0 and "rejectedIdentifier" in r.stdout + r.stderr
    # A name under a block is not a block of its own: told which is.
    r = admin(ca, "unblock", "--name", "www.undo.example.net")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "under the block on undo.example.net" in r.stderr
    assert admin_json(ca, "unblock", "--name", "UNDO.example.net") == {
        "unblocked": "undo.example.net"}
    ca.audit(lambda e: e["event"] == "unblock"
             and e["name"] == "undo.example.net" and e["by"] == "operator")
    assert ca.db("SELECT name FROM blocked_names") == [("other.example.org",)]
    r = issue(ca, tmp_path / "lego", "www.undo.example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    r = admin(ca, "unblock", "--name", "undo.example.net")
    assert r.returncode == 1 and "is not blocked" in r.stderr
    assert admin(ca, "unblock").returncode == 2
    assert admin(ca, "blocked", "--name", "x.example").returncode == 2
    assert admin(ca, "pause", "--list").returncode == 2


def test_D88_unpause_serves_the_account_again(flow):
    """Issue 19: a paused account cannot finalize the order it made
    before the pause (unauthorized, the order stays ready, nothing
    issued); unpause (one audit line) lets that same order finalize."""
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["paused.example.com"])
    aid = acct.kid.rsplit("/", 1)[1]
    assert admin_json(ca, "pause", "--account", aid) == {"paused": aid}
    csr = {"csr": b64(csr_der(ec_key(), ["paused.example.com"]))}
    doc = problem(acct.post(order["finalize"], csr), "unauthorized", 403)
    assert "paused" in doc["detail"], doc
    assert [o["status"] for o in admin_json(
        ca, "find", "--account", aid)["orders"]] == ["ready"]
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]
    assert admin_json(ca, "unpause", "--account", aid) == {"unpaused": aid}
    ca.audit(lambda e: e["event"] == "unpause" and e["account"] == aid)
    assert ca.db("SELECT paused FROM accounts") == [(0,)]
    r = acct.post(order["finalize"], csr)
    assert r.status_code == 200, r.text
    assert acct.wait(loc).json()["status"] == "valid"
    assert ca.db("SELECT count(*) FROM certs") == [(1,)]
    r = admin(ca, "unpause", "--account", aid)
    assert r.returncode == 1 and "is not paused" in r.stderr
    r = admin(ca, "unpause", "--account", "nosuchaccount")
    assert r.returncode == 1 and "no account" in r.stderr


def test_D88_block_holds_at_new_authz_challenge_and_finalize(flow):
    """Issue 19: an order made ready before its domain was blocked is
    not issued after: finalize gets rejectedIdentifier (403) and the
    order becomes invalid with that error; a pre-authorization of a name
    under the block is refused too, and so is the answer to a challenge
    of an authorization made before the block (it stays pending, nothing
    is validated).  Unblocked, the name is ordered and issued again."""
    ca, acct, resp = flow
    order, loc = ready_order(acct, resp, ["www.late.example.com",
                                          "ok.example.com"])
    pend = acct.new_order(["pend.late.example.com"]).json()
    ch = [c for c in acct.get(pend["authorizations"][0]).json()["challenges"]
          if c["type"] == "http-01"][0]
    resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
    admin_json(ca, "block", "--name", "late.example.com")
    doc = problem(acct.post(ch["url"], {}), "rejectedIdentifier", 403)
    assert "blocked by the CA's operator" in doc["detail"], doc
    assert acct.get(ch["url"]).json()["status"] == "pending"
    assert ca.db("SELECT count(*) FROM jobs") == [(0,)]
    csr = {"csr": b64(csr_der(ec_key(), ["www.late.example.com",
                                         "ok.example.com"]))}
    doc = problem(acct.post(order["finalize"], csr), "rejectedIdentifier",
                  403)
    assert "blocked by the CA's operator" in doc["detail"], doc
    assert [sp["identifier"]["value"] for sp in doc["subproblems"]] == [
        "www.late.example.com"]
    got = acct.get(loc).json()
    assert got["status"] == "invalid", got
    assert got["error"]["type"] == \
        "urn:ietf:params:acme:error:rejectedIdentifier", got
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]
    # Finalizing it again changes nothing.
    problem(acct.post(order["finalize"], csr), "orderNotReady", 403)
    r = acct.post(acct.c.dir["newAuthz"], {"identifier": {
        "type": "dns", "value": "x.late.example.com"}})
    problem(r, "rejectedIdentifier", 403)
    admin_json(ca, "unblock", "--name", "late.example.com")
    order, loc = ready_order(acct, resp, ["www.late.example.com"])
    r = acct.post(order["finalize"],
                  {"csr": b64(csr_der(ec_key(), ["www.late.example.com"]))})
    assert r.status_code == 200, r.text
    assert acct.wait(loc).json()["status"] == "valid"
    assert ca.db("SELECT count(*) FROM certs") == [(1,)]


def test_D88_block_and_pause_undone_on_postgresql(pg_server, challtestsrv,
                                                  tmp_path):
    """The same commands on a CA whose database is PostgreSQL: block,
    blocked, unblock, pause and unpause act on its tables, and lego is
    refused and served again accordingly."""
    url = pg_server.createdb("admin88")
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--database", url, "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)], config={"caa_identities": "anvil.test"})
    ca.http01_port = http01
    try:
        admin_json(ca, "block", "--name", "pg.example.net")
        assert [b["name"] for b in admin_json(ca, "blocked")] == [
            "pg.example.net"]
        r = issue(ca, tmp_path / "lego", "www.pg.example.net")
        assert r.returncode != 0 and "rejectedIdentifier" in r.stdout + r.stderr
        assert admin_json(ca, "unblock", "--name", "pg.example.net") == {
            "unblocked": "pg.example.net"}
        assert pg_server.psql("SELECT count(*) FROM blocked_names",
                              db="admin88").strip() == "0"
        r = issue(ca, tmp_path / "lego", "www.pg.example.net")
        assert r.returncode == 0, r.stdout + r.stderr
        acct = pg_server.psql("SELECT id FROM accounts", db="admin88").strip()
        admin_json(ca, "pause", "--account", acct)
        r = issue(ca, tmp_path / "lego", "two.pg.example.net")
        assert r.returncode != 0 and "paused" in r.stdout + r.stderr
        assert admin_json(ca, "unpause", "--account", acct) == {
            "unpaused": acct}
        assert pg_server.psql("SELECT paused FROM accounts",
                              db="admin88").strip() == "0"
        r = issue(ca, tmp_path / "lego", "two.pg.example.net")
        assert r.returncode == 0, r.stdout + r.stderr
        ca.audit(lambda e: e["event"] == "unpause" and e["account"] == acct)
    finally:
        assert ca.stop() == 0
        ca.log.close()
