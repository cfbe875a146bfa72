# SPDX-License-Identifier: ISC
"""The operator's logs say why (D72): request lines carry the client
address, the account and the User-Agent; a 5xx has an error-level line
with its cause; a failed validation's reason is in the log as in the
audit log; libmicrohttpd's own start-up messages stay out of the
one-line refusal."""
import os
import re
import subprocess
import time

from acmehelp import Account, Client
from conftest import ANVIL_CA, free_port, init_ca


def log_of(ca, pred, timeout=10):
    end = time.monotonic() + timeout
    while True:
        ca.log.flush()
        with open(os.path.join(ca.dir, "serve.log")) as f:
            lines = [ln for ln in f if pred(ln)]
        if lines or time.monotonic() > end:
            return lines
        time.sleep(0.05)


def test_D72_request_lines_name_client_account_and_user_agent(anvil_ca):
    c = Client(anvil_ca)
    c.s.headers["User-Agent"] = "provisioner/1.0 (test)"
    acct = Account(c)
    aid = acct.kid.rsplit("/", 1)[1]
    assert acct.new_order(["www.example.com"]).status_code == 201
    lines = log_of(anvil_ca, lambda ln: "path=/acme/new-order" in ln)
    assert len(lines) == 1
    assert (f'client=127.0.0.1 account={aid} ua="provisioner/1.0 (test)"'
            in lines[0]), lines[0]
    # A jwk request has no account yet.
    lines = log_of(anvil_ca, lambda ln: "path=/acme/new-account" in ln)
    assert "client=127.0.0.1 account=- " in lines[0], lines[0]


def test_D72_server_error_has_an_error_line_with_its_cause(anvil_ca):
    acct = Account(Client(anvil_ca))
    anvil_ca.db("DROP TABLE orders")
    r = acct.new_order(["www.example.com"])
    assert r.status_code == 500, r.text
    lines = log_of(anvil_ca, lambda ln: "level=error" in ln and
                   'msg="server error"' in ln)
    assert len(lines) == 1, lines
    assert "path=/acme/new-order status=500 problem=serverInternal" in \
        lines[0]
    assert "no such table: orders" in lines[0], lines[0]
    assert "no such table: orders" in r.json()["detail"]


def test_D72_validation_failure_reason_in_the_log(anvil_ca):
    acct = Account(Client(anvil_ca))
    r = acct.new_order(["127.0.0.1"], profile="shortlived")
    assert r.status_code == 201, r.text
    authz = acct.get(r.json()["authorizations"][0]).json()
    ch = next(c for c in authz["challenges"] if c["type"] == "http-01")
    acct.post(ch["url"], {})
    got = acct.wait(ch["url"]).json()
    assert got["status"] == "invalid", got
    lines = anvil_ca.audit(lambda e: e.get("chall") == ch["url"].rsplit(
        "/", 1)[1])
    why = [e for e in lines if e.get("chall")][0]["error"]
    logged = log_of(anvil_ca, lambda ln: "msg=validation " in ln and
                    "ok=0" in ln)
    assert len(logged) == 1, logged
    m = re.search(r'problem=(\S+) detail=(".*"|\S+)$', logged[0].strip())
    assert m, logged[0]
    assert m.group(1) == got["error"]["type"].rsplit(":", 1)[1]
    assert m.group(2).strip('"').replace('\\"', '"') == why


def test_D72_port_in_use_is_one_line_in_anvils_words(anvil_ca, tmp_path):
    path = init_ca(str(tmp_path / "second"), anvil_ca.port)
    r = subprocess.run([ANVIL_CA, "serve", "-c", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"anvil-ca: listen: cannot listen on 127.0.0.1:{anvil_ca.port}: "
        "Address already in use"], r.stderr
