# SPDX-License-Identifier: ISC
"""CAA (RFC 8659, RFC 8657) at validation time: records served by
pebble-challtestsrv, the CA's identity "anvil.test".  A challenge whose
proof is correct still ends invalid with a caa error when CAA forbids."""
import contextlib
import hashlib
import os

import pytest

from acmehelp import Account, Client
from http01 import Responder


def caa(ca, host, *policies):
    ca.dns.post("/add-caa", {"host": host + ".", "policies": [
        {"tag": t, "value": v} for t, v in policies]})


@pytest.fixture
def flow(validating_ca):
    resp = Responder(validating_ca.http01_port)
    acct = Account(Client(validating_ca))
    yield validating_ca, acct, resp
    resp.close()


def validate_http01(acct, resp, name):
    order = acct.new_order([name]).json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
    resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
    acct.post(ch["url"], {})
    return acct.wait(order["authorizations"][0]).json()


def caa_error(az):
    errs = [c.get("error") for c in az["challenges"] if c.get("error")]
    assert errs, az
    return errs[0]


def test_S_CAA_no_records_allows(flow):
    ca, acct, resp = flow
    assert validate_http01(acct, resp, "nocaa.example.com")["status"] == "valid"


def test_S_CAA_other_ca_forbids(flow):
    ca, acct, resp = flow
    caa(ca, "forbid.example.com", ("issue", "other-ca.example"))
    az = validate_http01(acct, resp, "forbid.example.com")
    assert az["status"] == "invalid"
    assert caa_error(az)["type"] == "urn:ietf:params:acme:error:caa"


def test_S_CAA_our_identity_allows(flow):
    ca, acct, resp = flow
    caa(ca, "allow.example.com", ("issue", "anvil.test"))
    assert validate_http01(acct, resp, "allow.example.com")["status"] == "valid"


def test_S_CAA_tree_climbing_uses_parent(flow):
    ca, acct, resp = flow
    caa(ca, "parent.example.com", ("issue", "other-ca.example"))
    az = validate_http01(acct, resp, "child.parent.example.com")
    assert az["status"] == "invalid"
    assert caa_error(az)["type"] == "urn:ietf:params:acme:error:caa"


def test_S_CAA_unknown_noncritical_tag_allows(flow):
    ca, acct, resp = flow
    # challtestsrv cannot set the critical flag (128), so only the
    # non-critical case is exercised here: unknown tags alone allow.
    caa(ca, "unknowntag.example.com", ("futuretag", "x"))
    assert validate_http01(acct, resp, "unknowntag.example.com")["status"] == "valid"


def test_RFC8657_accounturi_must_match(flow):
    ca, acct, resp = flow
    caa(ca, "acct.example.com",
        ("issue", "anvil.test; accounturi=https://elsewhere/acme/acct/nope"))
    az = validate_http01(acct, resp, "acct.example.com")
    assert caa_error(az)["type"] == "urn:ietf:params:acme:error:caa"
    caa(ca, "acct2.example.com", ("issue", f"anvil.test; accounturi={acct.kid}"))
    assert validate_http01(acct, resp, "acct2.example.com")["status"] == "valid"


def test_RFC8657_validationmethods(flow):
    ca, acct, resp = flow
    caa(ca, "meth.example.com", ("issue", "anvil.test; validationmethods=dns-01"))
    az = validate_http01(acct, resp, "meth.example.com")
    assert caa_error(az)["type"] == "urn:ietf:params:acme:error:caa"
    caa(ca, "meth2.example.com",
        ("issue", "anvil.test; validationmethods=dns-01,http-01"))
    assert validate_http01(acct, resp, "meth2.example.com")["status"] == "valid"


def test_S_CAA_rechecked_at_finalize_after_8_hours(flow):
    """A validation older than 8 hours has its CAA checked again at
    finalize (BR 3.2.2.8); a record added since forbids issuance."""
    import sqlite3
    import time
    from acmehelp import b64, csr_der, ec_key
    ca, acct, resp = flow
    name = "recheck.example.com"
    order = acct.new_order([name])
    loc, order = order.headers["Location"], order.json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
    resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
    acct.post(ch["url"], {})
    assert acct.wait(loc, until=("ready", "invalid")).json()["status"] == "ready"
    caa(ca, name, ("issue", "other-ca.example"))
    csr = {"csr": b64(csr_der(ec_key(), [name]))}
    # Fresh validation: no re-check, but first move it 9 hours back.
    con = sqlite3.connect(ca.db_path)
    con.execute("UPDATE challs SET validated = ? WHERE status = 4",
                (int(time.time()) - 9 * 3600,))
    con.commit()
    con.close()
    r = acct.post(order["finalize"], csr)
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "urn:ietf:params:acme:error:caa"
    assert acct.get(loc).json()["status"] == "ready"
    assert ca.db("SELECT count(*) FROM certs") == [(0,)]


def test_S_CAA_rrsets_cached_for_caa_cache_seconds(flow):
    """D41: a parent's CAA RRset looked up for one name serves the next
    name for caa_cache_seconds (default 300 s, BR 3.2.2.8 allows the TTL
    or 8 hours): a record added in between is not seen yet."""
    ca, acct, resp = flow
    assert validate_http01(acct, resp, "a.cached.example.com")["status"] == "valid"
    caa(ca, "cached.example.com", ("issue", "other-ca.example"))
    assert validate_http01(acct, resp, "b.cached.example.com")["status"] == "valid"


def test_S_CAA_caa_cache_seconds_0_asks_every_time(tmp_path, challtestsrv):
    from conftest import free_port, start_ca
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)],
        config={"caa_identities": "anvil.test", "caa_cache_seconds": 0})
    ca.dns = challtestsrv
    resp = Responder(http01)
    try:
        acct = Account(Client(ca))
        assert validate_http01(acct, resp, "a.nocache.example.com")["status"] == "valid"
        caa(ca, "nocache.example.com", ("issue", "other-ca.example"))
        az = validate_http01(acct, resp, "b.nocache.example.com")
        assert az["status"] == "invalid"
        assert caa_error(az)["type"] == "urn:ietf:params:acme:error:caa"
    finally:
        resp.close()
        assert ca.stop() == 0
        ca.log.close()


@contextlib.contextmanager
def ca_resolving_through(tmp_path, dns_port, stop_dns):
    """anvil-ca (caaIdentities "anvil.test") resolving through the DNS
    server on dns_port, with an http-01 responder; yields (account,
    responder) and stops the CA, the responder and, through stop_dns,
    the DNS server."""
    from conftest import free_port, start_ca
    try:
        http01 = free_port()
        ca = start_ca(tmp_path, extra_init=[
            "--resolver", f"127.0.0.1:{dns_port}", "--http01-port",
            str(http01)], config={"caa_identities": "anvil.test"})
    except BaseException:
        stop_dns()
        raise
    resp = Responder(http01)
    try:
        yield Account(Client(ca)), resp
    finally:
        resp.close()
        rc = ca.stop()
        ca.log.close()
        stop_dns()
        assert rc == 0


# Records pebble-challtestsrv cannot serve (the critical flag, tags over
# 15 octets, large sets) come from a real BIND9 authoritative for "net".
BIND_NAMES = {
    # An unknown critical property forbids, even beside our "issue".
    "crit": ['0 issue "anvil.test"', '128 futuretag "x"'],
    # A 24-octet critical tag is unknown too (it used to be dropped
    # as unreadable, and the "issue" beside it then allowed).
    "longtag": ['0 issue "anvil.test"', '128 averyveryverylongtagname "x"'],
    # The same tag without the critical flag is ignored.
    "longtag-noncrit": ['0 issue "anvil.test"', '0 averyveryverylongtagname "x"'],
    # Every record counts, not only the first 32 (which often missed
    # the one naming this CA among 61; BIND allows 100 at most).
    "many": ['0 issue "anvil.test"'] +
            [f'0 issue "ca-{i}.example"' for i in range(60)],
    # ...and a critical one anywhere in a large set forbids.
    "many-crit": ['128 futuretag "x"'] +
                 [f'0 issue "anvil.test; x={i}"' for i in range(60)],
}


@pytest.fixture
def bind_ca(tmp_path):
    from bindhelp import Named
    named = Named(str(tmp_path / "bind"))
    zone = os.path.join(named.dir, "net.zone")
    with open(zone, "w") as f:
        f.write("$TTL 300\n@ IN SOA ns.net. a.net. 1 3600 600 86400 300\n"
                "@ IN NS ns.net.\nns IN A 127.0.0.1\n")
        for label, rrs in BIND_NAMES.items():
            f.write(f"{label}.caa.example IN A 127.0.0.1\n")
            for rr in rrs:
                f.write(f"{label}.caa.example IN CAA {rr}\n")
    named.configure(f'zone "net" {{ type primary; file "{zone}"; }};')
    named.start("net")
    with ca_resolving_through(tmp_path, named.port, named.stop) as (acct, resp):
        yield named, acct, resp


@pytest.mark.parametrize("label,allowed", [
    ("crit", False), ("longtag", False), ("longtag-noncrit", True),
    ("many", True), ("many-crit", False)])
def test_S_CAA_critical_and_large_sets_from_bind(bind_ca, label, allowed):
    named, acct, resp = bind_ca
    name = f"{label}.caa.example.net"
    # named serves what the test means it to (a real answer, all records).
    served = [rr for rr in named.records(name, "CAA") if rr[3] == "CAA"]
    assert len(served) == len(BIND_NAMES[label]), served
    az = validate_http01(acct, resp, name)
    if allowed:
        assert az["status"] == "valid", az
        return
    assert az["status"] == "invalid", az
    err = caa_error(az)
    assert err["type"] == "urn:ietf:params:acme:error:caa", err
    assert "unknown critical property" in err["detail"], err


def test_S_CAA_12_accounturi_twice_is_unsatisfiable(flow):
    """RFC 8657 3: accounturi given twice makes the property unsatisfiable,
    even when both name the requesting account."""
    ca, acct, resp = flow
    caa(ca, "acct-twice.example.com",
        ("issue", f"anvil.test; accounturi={acct.kid}; accounturi={acct.kid}"))
    az = validate_http01(acct, resp, "acct-twice.example.com")
    assert az["status"] == "invalid", az
    assert caa_error(az)["type"] == "urn:ietf:params:acme:error:caa"


@pytest.mark.parametrize("value,allowed", [
    ("anvil.test; garbage", False),          # a parameter without "="
    ("anvil.test; a=1 b", False),            # a space inside a value
    ("anvil.test extra", False),             # two words for the issuer
    ("anvil..test", False),                  # an empty label
    ("anvil.test;", True),
    ("  anvil.test ;  x-y = 1 ; z=2;", True),  # one ";" at the end is let by
])
def test_S_CAA_5_value_outside_the_abnf_names_no_issuer(flow, value, allowed):
    """RFC 8659 4.2: an issue value that does not match the grammar counts
    as naming no issuer; our identity in it does not permit."""
    ca, acct, resp = flow
    name = "abnf-" + hashlib.sha256(value.encode()).hexdigest()[:12] + ".example.com"
    caa(ca, name, ("issue", value))
    az = validate_http01(acct, resp, name)
    if allowed:
        assert az["status"] == "valid", az
    else:
        assert az["status"] == "invalid", az
        assert caa_error(az)["type"] == "urn:ietf:params:acme:error:caa"


class HostileDNS:
    """A DNS server on a loopback UDP port that answers A queries with
    127.0.0.1 and CAA queries with the rdata given per name (nothing for
    other names): the one way to serve a CAA record that real servers
    refuse to load, as a hostile zone could still send it."""

    def __init__(self, caa_rdata):
        import socket
        import threading
        self.caa = caa_rdata
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, q):
        import struct
        qid, flags, qd = struct.unpack(">HHH", q[:6])
        pos, labels = 12, []
        while q[pos] != 0:
            labels.append(q[pos + 1:pos + 1 + q[pos]].decode().lower())
            pos += 1 + q[pos]
        qtype, = struct.unpack(">H", q[pos + 1:pos + 3])
        question = q[12:pos + 5]
        name = ".".join(labels)
        if qtype == 1:
            rdatas = [bytes([127, 0, 0, 1])]
        elif qtype == 257 and name in self.caa:
            rdatas = [self.caa[name]]
        else:
            rdatas = []
        head = struct.pack(">HHHHHH", qid, 0x8580 | (flags & 0x0100), 1,
                           len(rdatas), 0, 0)
        rrs = b"".join(struct.pack(">HHHIH", 0xc00c, qtype, 1, 0, len(r)) + r
                       for r in rdatas)
        return head + question + rrs

    def _serve(self):
        import socket
        while not self.stopping:
            try:
                q, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            try:
                self.sock.sendto(self._answer(q), peer)
            except (IndexError, ValueError, UnicodeDecodeError):
                pass  # not a query this server reads: no answer

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


def test_S_CAA_malformed_record_refuses(tmp_path):
    """A CAA record whose tag runs past its rdata refuses issuance (D49);
    it used to be skipped, and with nothing else at the name the search
    went on to the parents, found no CAA and allowed."""
    # flags 0, tag length 9, but only "issue" (5 octets) follows.
    dns = HostileDNS({"malformed.example.org": b"\x00\x09issue"})
    with ca_resolving_through(tmp_path, dns.port, dns.stop) as (acct, resp):
        # The same server, a well-formed name: no CAA anywhere, allowed.
        assert validate_http01(acct, resp, "fine.example.org")["status"] == "valid"
        az = validate_http01(acct, resp, "malformed.example.org")
        assert az["status"] == "invalid", az
        err = caa_error(az)
        assert err["type"] == "urn:ietf:params:acme:error:caa", err
        assert "malformed record" in err["detail"], err
