# SPDX-License-Identifier: ISC
"""anvil-ca's validator and its address filter (D52): reserved IP
identifiers are refused outside lab mode, a proxy in anvil-ca's
environment is never used for validation, and tls-alpn-01 for an IP
identifier needs an iPAddress subjectAltName.  The address table itself
is unit-tested (tests/unit/server/test_addrfilter.c); production
validation against public addresses needs network namespaces and lives
in the production test bed."""
import hashlib
import ipaddress
import os
import socket
import subprocess
import threading

import pytest

from acmehelp import Account, Client
from alpn import AlpnResponder
from conftest import ANVIL_CA, CA, free_port, init_ca, wait_port
from http01 import Responder
from test_server_orders import problem

# Not globally reachable, each for another reason; IPv6 forms that
# embed a reserved IPv4 address among them.
RESERVED = ["127.0.0.1", "10.0.0.1", "100.64.0.1", "169.254.169.254",
            "192.0.0.8", "192.0.2.1", "198.18.0.1", "203.0.113.9",
            "240.0.0.1", "::1", "::ffff:127.0.0.1", "::7f00:1",
            "64:ff9b::a00:1", "64:ff9b:1::1", "2002:a00:1::1", "2001::1",
            "2001:db8::1", "fec0::1", "100::1", "fd00::1", "fe80::1"]


def test_S_IP_8_reserved_ip_identifiers_refused_at_new_order(ca_factory):
    ca = ca_factory(config={"allow_private_addresses": False})
    acct = Account(Client(ca))
    doc = problem(acct.new_order(RESERVED, profile="shortlived"),
                  "rejectedIdentifier")
    sub = doc["subproblems"]
    assert len(sub) == len(RESERVED), sub
    for s in sub:
        assert s["type"] == "urn:ietf:params:acme:error:rejectedIdentifier"
        assert s["identifier"]["type"] == "ip"
        assert "reserved address" in s["detail"], s
    # Each one alone, too: no public neighbour lets it through.
    for addr in RESERVED:
        r = acct.new_order(["93.184.216.34", addr], profile="shortlived")
        sub = problem(r, "rejectedIdentifier")["subproblems"]
        assert len(sub) == 1 and sub[0]["identifier"]["value"] != \
            "93.184.216.34", (addr, sub)
    assert ca.db("SELECT count(*) FROM orders") == [(0,)]
    r = acct.new_order(["93.184.216.34", "2606:4700:4700::1111",
                        "64:ff9b::808:808"], profile="shortlived")
    assert r.status_code == 201, r.text


def test_S_IP_8_reserved_ip_refused_at_new_authz(ca_factory):
    ca = ca_factory(config={"allow_private_addresses": False})
    acct = Account(Client(ca))
    for addr in ("10.0.0.1", "::1", "2002:7f00:1::1"):
        problem(acct.post(acct.c.dir["newAuthz"],
                          {"identifier": {"type": "ip", "value": addr}}),
                "rejectedIdentifier", 403)
    assert ca.db("SELECT count(*) FROM authzs") == [(0,)]


def test_S_IP_8_lab_mode_accepts_reserved_ip_identifiers(anvil_ca):
    """allow_private_addresses (the interop suite's default) is the switch."""
    acct = Account(Client(anvil_ca))
    r = acct.new_order(RESERVED, profile="shortlived")
    assert r.status_code == 201, r.text


class Recorder:
    """A listener on 127.0.0.1 that records every connection made to it
    (and answers 502): as a proxy or a trap, the validator must make
    none."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.seen = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                except OSError:
                    self.seen.append(b"")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.mark.parametrize("var", ["http_proxy", "ALL_PROXY"])
def test_validation_never_uses_a_proxy_from_the_environment(
        tmp_path, challtestsrv, var):
    proxy = Recorder()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    url = f"http://127.0.0.1:{proxy.port}"
    env[var] = url
    env["HTTPS_PROXY"] = url
    http01 = free_port()
    workdir = str(tmp_path / "ca")
    port = free_port()
    path = init_ca(workdir, port, [
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01), "--tls-alpn01-port", str(free_port())],
        {"caa_identities": "anvil.test"})
    log = open(os.path.join(workdir, "serve.log"), "w")
    proc = subprocess.Popen([ANVIL_CA, "serve", "-c", path], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    ca = CA(workdir, port, proc, log)
    resp = Responder(http01)
    try:
        wait_port(port, proc)
        acct = Account(Client(ca))
        order = acct.new_order(["proxied.example.com"]).json()
        az = acct.get(order["authorizations"][0]).json()
        ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
        # A redirect hop too: each hop must stay off the proxy.
        resp.tokens[ch["token"]] = \
            f"REDIRECT http://hop.example.com:{http01}/moved/alias"
        resp.tokens["alias"] = acct.key_authorization(ch["token"])
        acct.post(ch["url"], {})
        az = acct.wait(order["authorizations"][0]).json()
    finally:
        resp.close()
        proxy.close()
        rc = ca.stop()
        log.close()
    assert proxy.seen == [], proxy.seen
    assert az["status"] == "valid", az
    assert "/moved/alias" in resp.requests
    assert rc == 0


def alpn_authz(ca, tmp_path, ident, names):
    """An order for ident answered over tls-alpn-01 by a responder whose
    certificate carries names: the authorization as it ends."""
    acct = Account(Client(ca))
    order = acct.new_order([ident], profile="shortlived").json()
    az = acct.get(order["authorizations"][0]).json()
    ch = [c for c in az["challenges"] if c["type"] == "tls-alpn-01"][0]
    digest = hashlib.sha256(
        acct.key_authorization(ch["token"]).encode()).digest()
    srv = AlpnResponder(ca.tls_alpn01_port, tmp_path, names, digest)
    try:
        acct.post(ch["url"], {})
        return acct.wait(order["authorizations"][0]).json()
    finally:
        srv.close()


def test_S_IP_5_tls_alpn01_ip_needs_an_ipaddress_san(validating_ca, tmp_path):
    az = alpn_authz(validating_ca, tmp_path, "127.0.0.1", ["127.0.0.1"])
    assert az["status"] == "invalid"
    err = [c for c in az["challenges"]
           if c["type"] == "tls-alpn-01"][0]["error"]
    assert err["type"] == "urn:ietf:params:acme:error:unauthorized", err
    assert "iPAddress" in err["detail"], err
    az = alpn_authz(validating_ca, tmp_path, "127.0.0.1",
                    [ipaddress.ip_address("127.0.0.1")])
    assert az["status"] == "valid", az


def test_S_ALPN_a_san_of_another_type_is_one_too_many(validating_ca,
                                                      tmp_path):
    """RFC 8737 3: the identifier and no other entries, of any type."""
    from cryptography import x509
    name = "alpn-uri.example.com"
    az = alpn_authz(validating_ca, tmp_path, name,
                    [name, x509.UniformResourceIdentifier("https://x.test/")])
    assert az["status"] == "invalid", az
    az = alpn_authz(validating_ca, tmp_path, name, [name])
    assert az["status"] == "valid", az


# Names and the reserved addresses challtestsrv answers for them; a
# mapped address reaches the listeners on 127.0.0.1.
TRAPS = {
    "lo.example.com": ([], []),  # challtestsrv's default A 127.0.0.1
    "mapped.example.com": (["10.0.0.1"], ["::ffff:127.0.0.1"]),
    "nat64.example.com": (["169.254.169.254"], ["64:ff9b::7f00:1"]),
    "sixtofour.example.com": (["100.64.0.1"], ["2002:7f00:1::1"]),
}


@pytest.mark.parametrize("kind", ["http-01", "tls-alpn-01"])
def test_S_IP_8_names_on_reserved_addresses_refused_before_connecting(
        ca_factory, challtestsrv, kind):
    """Production mode on loopback: names that resolve only to reserved
    addresses fail with a connection problem naming the block, and no
    connection reaches the responders."""
    http01, alpn = free_port(), free_port()
    ca = ca_factory(config={
        "allow_private_addresses": False, "caa_identities": "anvil.test",
        "resolver": f"127.0.0.1:{challtestsrv.dns_port}",
        "http01_port": http01, "tls_alpn01_port": alpn})
    for name, (a, aaaa) in TRAPS.items():
        if a:
            challtestsrv.post("/add-a", {"host": name + ".", "addresses": a})
        if aaaa:
            challtestsrv.post("/add-aaaa", {"host": name + ".",
                                            "addresses": aaaa})
    traps = [Recorder(http01), Recorder(alpn)]
    try:
        acct = Account(Client(ca))
        started = []
        for name in TRAPS:
            order = acct.new_order([name]).json()
            url = order["authorizations"][0]
            ch = [c for c in acct.get(url).json()["challenges"]
                  if c["type"] == kind][0]
            acct.post(ch["url"], {})
            started.append((name, url, ch["url"]))
        for name, url, ch_url in started:
            acct.wait(url)
            ch = acct.get(ch_url).json()
            assert ch["status"] == "invalid", ch
            err = ch["error"]
            assert err["type"] == "urn:ietf:params:acme:error:connection"
            assert f"{name} has no public address" in err["detail"], err
    finally:
        for t in traps:
            t.close()
    assert [t.seen for t in traps] == [[], []]
