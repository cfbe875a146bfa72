# SPDX-License-Identifier: ISC
"""anvil-ca's rate limits (D51): each limit configured in "rate_limits"
refuses the request over it with rateLimited, HTTP 429 and a
Retry-After at which the same request would pass (S-RL-1, S-RL-2); the
buckets are in the database, so a restart keeps them; ARI renewals are
exempt (S-ARI-16).  Driven by raw signed requests (acmehelp), by
certbot, and by anvil, whose one-line error names the limit."""
import os
import subprocess

import pytest

from acmehelp import Account, Client, ec_key
from conftest import BUILD, free_port, serve_once, start_ca
from http01 import Responder
from test_server_ari import cert_id, issue
from test_server_certbot import certbot
from test_server_orders import answer_all, problem

ANVIL = os.path.join(BUILD, "src", "client", "anvil")


@pytest.fixture
def limited(tmp_path, challtestsrv):
    """Starts a validating anvil-ca with the rate limits given; yields a
    function (limits) -> (ca, responder).  Stops them at the end."""
    started = []

    def make(limits):
        http01 = free_port()
        ca = start_ca(tmp_path, extra_init=[
            "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
            "--http01-port", str(http01)],
            config={"caa_identities": "anvil.test", "rate_limits": limits})
        ca.http01_port = http01
        resp = Responder(http01)
        started.append((ca, resp))
        return ca, resp

    yield make
    for ca, resp in started:
        resp.close()
        assert ca.stop() == 0
        ca.log.close()


def limited_by(r, what):
    doc = problem(r, "rateLimited", 429)                            # S-RL-1
    assert what in doc["detail"], doc
    return int(r.headers["Retry-After"])


def test_S_RL_1_2_new_orders_per_account(limited):
    ca, _ = limited({"new_orders_per_account": {"count": 2, "window": 3600}})
    acct = Account(Client(ca))
    for name in ("a.example.com", "b.example.com"):
        assert acct.new_order([name]).status_code == 201
    r = acct.new_order(["c.example.com"])
    retry = limited_by(r, "new orders for this account")
    # One token per 1800 s; the bucket of 2 is empty: S-RL-2.
    assert 1790 <= retry <= 1800, retry
    # Another account is not limited by this one's orders.
    other = Account(Client(ca))
    assert other.new_order(["c.example.com"]).status_code == 201
    # Kept in the database: a restart still refuses.
    ca.stop()
    ca.restart()
    acct.c = Client(ca)
    limited_by(acct.new_order(["d.example.com"]), "new orders")
    assert ca.db("SELECT count(*) FROM orders") == [(3,)]


def test_S_RL_1_new_accounts_per_ip(limited):
    ca, _ = limited({"new_accounts_per_ip": {"count": 1, "window": 600}})
    c = Client(ca)
    key = ec_key()
    assert c.new_account(key).status_code == 201
    # The same key gets its account back: not a new account, not counted.
    assert c.new_account(key).status_code == 200
    retry = limited_by(c.new_account(ec_key()), "new accounts from this address")
    assert 590 <= retry <= 600, retry
    assert ca.db("SELECT count(*) FROM accounts") == [(1,)]


def test_S_RL_5_failed_authorizations_block_the_identifier(limited):
    ca, resp = limited({"failed_authorizations_per_identifier":
                        {"count": 1, "window": 3600}})
    acct = Account(Client(ca))
    r = acct.new_order(["fail.example.com"])
    assert r.status_code == 201
    order, loc = r.json(), r.headers["Location"]
    answer_all(acct, resp, order, body="not the key authorization")
    assert acct.wait(loc, until=("invalid",)).json()["status"] == "invalid"
    # One failure allowed per hour: a new order for that name waits.
    r = acct.new_order(["fail.example.com"])
    retry = limited_by(r, "failed authorizations for this identifier")
    assert "fail.example.com" in r.json()["detail"]
    assert 3590 <= retry <= 3600, retry
    # As a wildcard too: the authorization is for the base name.
    limited_by(acct.new_order(["*.fail.example.com"]), "failed authorizations")
    # Other names, and the same name for another account, are not.
    assert acct.new_order(["ok.example.com"]).status_code == 201
    assert Account(Client(ca)).new_order(["fail.example.com"]).status_code == 201


def test_S_ARI_16_certificates_per_set_and_renewals_are_exempt(limited):
    ca, resp = limited({"certificates_per_identifier_set":
                        {"count": 1, "window": 86400}})
    acct = Account(Client(ca))
    names = ["set.example.com", "www.set.example.com"]
    cert, _ = issue(acct, resp, names)
    # The same set again, in another order: refused at newOrder.
    r = acct.new_order(list(reversed(names)))
    retry = limited_by(r, "certificates for this exact set of identifiers")
    assert 86390 <= retry <= 86400, retry
    # A different set is fine.
    assert acct.new_order(names[:1]).status_code == 201
    # An ARI renewal of that certificate is exempt, and is issued.
    renewed, _ = issue(acct, resp, names, replaces=cert_id(cert))
    assert renewed.serial_number != cert.serial_number


def test_certbot_and_anvil_report_the_limit(limited, tmp_path):
    ca, resp = limited({"certificates_per_identifier_set":
                        {"count": 1, "window": 86400}})
    resp.close()  # certbot and anvil answer http-01 themselves
    wd = tmp_path / "cb"
    args = ["certonly", "--standalone", "--preferred-challenges", "http-01",
            "--http-01-port", str(ca.http01_port),
            "--http-01-address", "127.0.0.1", "-d", "cb.example.com"]
    r = certbot(ca, wd, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    r = certbot(ca, wd, *args, "--force-renewal")
    assert r.returncode != 0
    # certbot 2.1 (Debian 12) receives the problem, logs it, then trips
    # over josepy re-raising it ("can't set attribute"): read its log.
    with open(wd / "logs" / "letsencrypt.log") as f:
        log = f.read()
    assert "urn:ietf:params:acme:error:rateLimited" in log
    assert "too many certificates for this exact set" in log
    assert ca.db("SELECT count(*) FROM certs") == [(1,)]
    # anvil: the first issuance passes; the same name from another
    # account (another state directory) is refused in one line that
    # names the limit, and nothing is written.
    def anvil_issue(state):
        return subprocess.run(
            [ANVIL, "issue", "-d", "an.example.com", "--standalone",
             "--http-port", str(ca.http01_port), "--server", ca.directory,
             "--ca-bundle", ca.tls_ca, "--state-dir", state],
            capture_output=True, text=True, timeout=120)
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    r = anvil_issue(one)
    assert r.returncode == 0, r.stderr
    r = anvil_issue(two)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "too many certificates" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(two, "certs", "an.example.com"))
    # anvil renew names the certificate it replaces (RFC 9773): exempt.
    r = subprocess.run([ANVIL, "renew", "an.example.com", "--force",
                        "--state-dir", one], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert ca.db("SELECT count(*) FROM certs") == [(3,)]
    assert ca.db("SELECT count(*) FROM orders WHERE replaces != ''") == [(1,)]


@pytest.mark.parametrize("limits,needle", [
    ({"new_orders": {"count": 1, "window": 60}}, "unknown limit"),
    ({"new_orders_per_account": {"count": 0, "window": 60}}, "count"),
    ({"new_orders_per_account": {"count": 1, "window": 0}}, "window"),
    ({"new_orders_per_account": {"count": 1}}, "window"),
    ({"new_orders_per_account": {"count": 1, "window": 60, "burst": 2}},
     "unknown key"),
    ({"new_orders_per_account": 5}, "object"),
])
def test_bad_rate_limits_are_refused_at_start(tmp_path, limits, needle):
    r = serve_once(tmp_path, {"rate_limits": limits})
    assert r.returncode == 1
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
