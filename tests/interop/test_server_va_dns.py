# SPDX-License-Identifier: ISC
"""anvil-ca's DNS lookups, which run on each validation worker's own event
loop (libunbound event contexts, D39): CNAME chains in the answer packet
are followed (S-DNS-4), and a DNS server that never answers makes the
validation fail with a dns problem after the validation timeout instead of
hanging the worker; the cancelled queries stay harmless while later ones
run on the same worker and when the CA stops."""
import hashlib
import socket

import pytest

from acmehelp import Account, Client, b64
from conftest import free_port, start_ca
from http01 import Responder


def challenge(acct, name, ctype):
    order = acct.new_order([name]).json()
    authz = order["authorizations"][0]
    az = acct.get(authz).json()
    ch = [c for c in az["challenges"] if c["type"] == ctype][0]
    return authz, ch


def chall_of(az, ctype):
    return [c for c in az["challenges"] if c["type"] == ctype][0]


def test_S_DNS_4_dns01_follows_cname_chain(validating_ca):
    acct = Account(Client(validating_ca))
    dns = validating_ca.dns
    authz, ch = challenge(acct, "alias.example.com", "dns-01")
    value = b64(hashlib.sha256(
        acct.key_authorization(ch["token"]).encode()).digest())
    # _acme-challenge.alias -> hop.example.net -> proof.example.org (TXT).
    dns.post("/set-cname", {"host": "_acme-challenge.alias.example.com.",
                            "target": "hop.example.net."})
    dns.post("/set-cname", {"host": "hop.example.net.",
                            "target": "proof.example.org."})
    dns.post("/set-txt", {"host": "proof.example.org.", "value": value})
    acct.post(ch["url"], {})
    az = acct.wait(authz).json()
    assert az["status"] == "valid", az


def test_S_DNS_4_http01_address_through_cname(validating_ca):
    acct = Account(Client(validating_ca))
    dns = validating_ca.dns
    resp = Responder(validating_ca.http01_port)
    try:
        # The default answer is 127.0.0.1 for any name; the alias's A
        # comes from the chain's end.
        dns.post("/set-cname", {"host": "www.cname.example.com.",
                                "target": "web.example.net."})
        authz, ch = challenge(acct, "www.cname.example.com", "http-01")
        resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
        acct.post(ch["url"], {})
        az = acct.wait(authz).json()
        assert az["status"] == "valid", az
    finally:
        resp.close()


@pytest.fixture
def silent_dns_ca(tmp_path):
    """anvil-ca with one validation worker whose resolver is a UDP socket
    that reads nothing and answers nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", free_port()))
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{sock.getsockname()[1]}",
        "--http01-port", str(http01)],
        config={"validation_timeout": 2, "validation_workers": 1,
                "caa_identities": "anvil.test"})
    ca.http01_port = http01
    yield ca
    rc = ca.stop()
    ca.log.close()
    sock.close()
    assert rc == 0, "anvil-ca did not stop cleanly with queries cancelled"


def test_unresponsive_dns_server_fails_validation(silent_dns_ca):
    ca = silent_dns_ca
    acct = Account(Client(ca))
    # dns-01: the TXT query runs into the deadline.
    authz, ch = challenge(acct, "silent.example.com", "dns-01")
    acct.post(ch["url"], {})
    az = acct.wait(authz, timeout=60).json()
    assert az["status"] == "invalid", az
    err = chall_of(az, "dns-01")["error"]
    assert err["type"] == "urn:ietf:params:acme:error:dns", err
    assert "timeout or server failure" in err["detail"], err
    # http-01 on the same worker, the cancelled TXT query still in
    # libunbound: the A query runs into its own deadline.
    resp = Responder(ca.http01_port)
    try:
        authz, ch = challenge(acct, "silent2.example.com", "http-01")
        resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
        acct.post(ch["url"], {})
        az = acct.wait(authz, timeout=60).json()
    finally:
        resp.close()
    assert az["status"] == "invalid", az
    err = chall_of(az, "http-01")["error"]
    assert err["type"] == "urn:ietf:params:acme:error:dns", err
    assert "silent2.example.com" in err["detail"], err
    # The CA still answers.
    assert "newOrder" in Client(ca).dir
