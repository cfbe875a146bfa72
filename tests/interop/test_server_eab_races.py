# SPDX-License-Identifier: ISC
"""anvil-ca: newAccount requests that race for one external account binding
key (RFC 8555 7.3.4: a key binds one account) store one account, and the
losers nothing (D90).

Each round releases, at one barrier, RACERS newAccount requests with keys
of their own, each on its own keep-alive connection and thread, all bound
to the same fresh kid.  Several may pass the binding's check before any
is stored.  Before D90 each loser's account was stored, then deactivated
when the kid turned out to be taken: its key could never register again
(newAccount returned the deactivated account).  Now the account and its
binding are one transaction: a loser gets unauthorized, nothing of it is
stored, and its key registers later with another kid.
"""
import pytest
import requests

from acmehelp import ec_key
from conftest import rounds, start_ca
from test_server_account_races import Conn, race
from test_server_eab import eab_add, eab_jws

ROUNDS = rounds(30, 10)
RACERS = 4
VALID, DEACTIVATED = 4, 6  # enum store_status


class Db:
    """Queries of the CA's database, SQLite or PostgreSQL; args are
    inlined for psql (kids are base64url)."""

    def __init__(self, ca, pg=None, name=None):
        self.ca, self.pg, self.name = ca, pg, name

    def __call__(self, query, args=()):
        if self.pg is None:
            return self.ca.db(query, args)
        for a in args:
            query = query.replace("?", f"'{a}'" if isinstance(a, str)
                                  else str(a), 1)
        out = self.pg.psql(query, db=self.name)
        return [tuple(int(v) if v.isdigit() else v for v in ln.split("|"))
                for ln in out.splitlines() if ln]


@pytest.fixture(params=["sqlite", "postgresql"])
def racers(request, tmp_path):
    # More HTTP threads than racers: all are handled at the same time.
    cfg = {"external_account_required": True, "http_threads": RACERS + 2}
    pg = name = None
    extra = []
    if request.param == "postgresql":
        pg, name = request.getfixturevalue("pg_server"), tmp_path.name
        extra = ["--database", pg.createdb(name)]
    ca = start_ca(tmp_path, extra_init=extra, config=cfg)
    d = requests.get(ca.directory, verify=ca.tls_ca).json()
    cs = [Conn(ca, d) for _ in range(RACERS)]
    yield ca, cs, Db(ca, pg, name)
    for c in cs:
        c.s.close()
    assert ca.stop() == 0
    ca.log.close()


def new_account_body(conn, key, kid, mac):
    url = conn.dir["newAccount"]
    return conn.signed(key, url, {
        "termsOfServiceAgreed": True,
        "externalAccountBinding": eab_jws(kid, mac, url, key)})


def race_new_accounts(conns, bodies):
    """Posts bodies[i] to newAccount on conns[i], all at once."""
    jobs = [(c.dir["newAccount"], b) for c, b in zip(conns, bodies)]
    return race(conns, jobs[0], jobs[1:])


def test_D90_S_EAB_6_racing_new_accounts_store_one_account_per_kid(racers):
    ca, cs, db = racers
    bad = []
    for n in range(ROUNDS):
        kid, mac = eab_add(ca)
        keys = [ec_key() for _ in cs]
        rs = race_new_accounts(cs, [new_account_body(c, k, kid, mac)
                       for c, k in zip(cs, keys)])
        codes = sorted(r.status_code for r in rs)
        assert codes == [201] + [403] * (RACERS - 1), [r.text for r in rs]
        losers = [i for i, r in enumerate(rs) if r.status_code == 403]
        for i in losers:
            assert rs[i].json()["type"] == \
                "urn:ietf:params:acme:error:unauthorized", rs[i].text
        stored = db("SELECT count(*) FROM accounts WHERE eab_kid = ?",
                    (kid,))[0][0]
        # Each loser's key registers with a kid of its own.
        for i in losers:
            kid2, mac2 = eab_add(ca)
            again = cs[i].post(cs[i].dir["newAccount"], new_account_body(
                cs[i], keys[i], kid2, mac2))
            if again.status_code != 201:
                bad.append((n, again.status_code, again.json()["status"]))
        if stored != 1:
            bad.append((n, stored))
    off = db("SELECT count(*) FROM accounts WHERE status = ?",
             (DEACTIVATED,))[0][0]
    total = db("SELECT count(*) FROM accounts")[0][0]
    bound = db("SELECT count(*) FROM eab WHERE account_id != ''")[0][0]
    print(f"eab races: {ROUNDS}, deactivated {off}, bad {bad}")
    assert bad == []
    assert off == 0
    # One account per kid, each kid bound to its account.
    assert total == bound == RACERS * ROUNDS


def test_D54_S_ACCT_5_same_key_racing_with_one_kid_gets_one_account(racers):
    """Two newAccount requests with the same key and kid at once: one
    account, created (201) for one; the other gets it back (200, D54's
    race in the RA) or, when it checked the kid after the first had
    bound it, unauthorized."""
    ca, cs, db = racers
    seen = {}
    for _ in range(rounds(20, 5)):
        kid, mac = eab_add(ca)
        key = ec_key()
        rs = race_new_accounts(cs[:2], [new_account_body(c, key, kid, mac)
                           for c in cs[:2]])
        rs.sort(key=lambda r: r.status_code != 201)
        assert rs[0].status_code == 201, [r.text for r in rs]
        acct = rs[0].headers["Location"]
        other = rs[1].status_code
        seen[other] = seen.get(other, 0) + 1
        if other == 200:
            assert rs[1].headers["Location"] == acct
        else:
            assert other == 403, rs[1].text
            assert rs[1].json()["type"] == \
                "urn:ietf:params:acme:error:unauthorized", rs[1].text
        acct = acct.rsplit("/", 1)[1]
        assert db("SELECT id, status FROM accounts WHERE eab_kid = ?",
                  (kid,)) == [(acct, VALID)]
        assert db("SELECT account_id FROM eab WHERE kid = ?",
                  (kid,)) == [(acct,)]
    print(f"same-key races: second request {seen}")
