# SPDX-License-Identifier: ISC
"""anvil-ca: a key rollover or a deactivation cannot be undone by requests
that race it (D54).

Each race releases, at one barrier, a keyChange (or a deactivation) and
several contact updates signed with the account's current key, each on its
own keep-alive connection and thread, so that updates authenticated before
the change commits are written after it.  The rollovers follow one
another on one account; each deactivation needs an account of its own.  Before D54 such an update wrote
back the whole row it had read and restored the old key or the valid
status (2-3 races in 40).  Now an update applies only to the account as it
was read; a loser gets unauthorized and changes nothing.
"""
import json
import threading

import pytest
import requests

from acmehelp import ec_key, jwk_of, sign, thumbprint
from conftest import rounds

RACES = rounds(200, 50)
UPDATERS = 4
JOSE = {"Content-Type": "application/jose+json"}


class Conn:
    """One keep-alive connection with the nonce of its last response."""

    def __init__(self, ca, directory):
        self.s = requests.Session()
        self.s.verify = ca.tls_ca
        self.s.trust_env = False
        self.dir = directory
        self.nonce = None

    def take_nonce(self):
        n = self.nonce
        self.nonce = None
        if n is None:
            n = self.s.head(self.dir["newNonce"]).headers["Replay-Nonce"]
        return n

    def signed(self, key, url, payload, kid=None):
        prot = {"alg": "ES256", "nonce": self.take_nonce(), "url": url}
        if kid:
            prot["kid"] = kid
        else:
            prot["jwk"] = jwk_of(key)
        return sign(key, prot, payload)

    def post(self, url, body):
        r = self.s.post(url, data=json.dumps(body), headers=JOSE)
        self.nonce = r.headers.get("Replay-Nonce")
        return r


@pytest.fixture
def conns(ca_factory):
    # More HTTP threads than connections: every request of a race is
    # handled at the same time as the others.
    ca = ca_factory({"http_threads": UPDATERS + 4})
    d = requests.get(ca.directory, verify=ca.tls_ca).json()
    cs = [Conn(ca, d) for _ in range(UPDATERS + 1)]
    yield ca, cs
    for c in cs:
        c.s.close()


def new_account(conn):
    key = ec_key()
    url = conn.dir["newAccount"]
    r = conn.post(url, conn.signed(key, url, {"termsOfServiceAgreed": True}))
    assert r.status_code == 201, r.text
    return key, r.headers["Location"]


def race(conns, first_body_url, updater_bodies):
    """Sends conns[0] its (url, body) and conns[1:] theirs at once;
    returns the responses in the same order."""
    jobs = [first_body_url] + updater_bodies
    out = [None] * len(jobs)
    gate = threading.Barrier(len(jobs))

    def run(i):
        url, body = jobs[i]
        gate.wait()
        out[i] = conns[i].post(url, body)

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def contact_updates(conns, key, kid, n):
    return [(kid, conns[i + 1].signed(
        key, kid, {"contact": [f"mailto:racer{i}@example.org"]}, kid=kid))
        for i in range(n)]


def loser_or_winner(r):
    """An update either applied (200) or was refused with a problem:
    unauthorized (deactivated, or lost the race, D54) or malformed (its
    signature no longer verifies against the rolled-over key)."""
    if r.status_code == 200:
        return "applied"
    assert r.status_code in (400, 401), r.text
    kind = r.json()["type"].rsplit(":", 1)[1]
    assert kind in ("unauthorized", "malformed"), r.text
    return "lost" if "not applied" in r.json()["detail"] else "refused"


def test_S_KEY_4_rollover_not_undone_by_racing_updates(conns):
    """One account rolled over RACES times, each rollover raced by
    contact updates signed with the key it replaces."""
    ca, cs = conns
    url = cs[0].dir["keyChange"]
    undone, outcomes = [], {}
    old, kid = new_account(cs[0])
    for n in range(RACES):
        new = ec_key()
        inner = sign(new, {"alg": "ES256", "jwk": jwk_of(new), "url": url},
                     {"account": kid, "oldKey": jwk_of(old)})
        change = (url, cs[0].signed(old, url, inner, kid=kid))
        rs = race(cs, change, contact_updates(cs, old, kid, UPDATERS))
        assert rs[0].status_code == 200, rs[0].text
        for r in rs[1:]:
            k = loser_or_winner(r)
            outcomes[k] = outcomes.get(k, 0) + 1
        # The old key is refused, the new one accepted.
        r_old = cs[0].post(kid, cs[0].signed(old, kid, None, kid=kid))
        r_new = cs[0].post(kid, cs[0].signed(new, kid, None, kid=kid))
        stored = ca.db("SELECT thumbprint FROM accounts WHERE id = ?",
                       (kid.rsplit("/", 1)[1],))[0][0]
        if r_old.status_code == 200 or r_new.status_code != 200 or \
                stored != thumbprint(new):
            undone.append((n, r_old.status_code, r_new.status_code))
        # The next race starts from the key the account really has.
        old = new if stored == thumbprint(new) else old
    print(f"rollover races: {RACES}, updates {outcomes}, undone {undone}")
    assert undone == []


def test_S_ACCT_17_deactivation_not_undone_by_racing_updates(conns):
    ca, cs = conns
    undone, outcomes = [], {}
    for n in range(RACES):
        key, kid = new_account(cs[0])
        off = (kid, cs[0].signed(key, kid, {"status": "deactivated"},
                                 kid=kid))
        rs = race(cs, off, contact_updates(cs, key, kid, UPDATERS))
        assert rs[0].status_code == 200, rs[0].text
        assert rs[0].json()["status"] == "deactivated"
        for r in rs[1:]:
            k = loser_or_winner(r)
            outcomes[k] = outcomes.get(k, 0) + 1
        # Deactivated for good: 401 unauthorized, and so in the store.
        r = cs[0].post(kid, cs[0].signed(key, kid, None, kid=kid))
        status = ca.db("SELECT status FROM accounts WHERE id = ?",
                       (kid.rsplit("/", 1)[1],))[0][0]
        if r.status_code != 401 or status != 6:
            undone.append((n, r.status_code, status))
    print(f"deactivation races: {RACES}, updates {outcomes}, "
          f"undone {undone}")
    assert undone == []
