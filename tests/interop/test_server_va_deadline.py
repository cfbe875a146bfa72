# SPDX-License-Identifier: ISC
"""One deadline per validation and a per-account cap on validations in
flight (D53; issue 17 item d, review finding 1), and addresses looked up
through the validator's own resolver (item l, finding 11).

Hostile responders on loopback: an http-01 host that answers every
request with a redirect to itself after 2 s, and a tls-alpn-01 peer that
sends the start of a TLS record one byte every 2 s and never finishes
it.  validation_timeout is 3 s.  Before D53 each redirect hop had its own
timeout (11 hops) and the handshake only a per-read one, so the drip
held a worker for good, and one account's challenges took every worker.
"""
import os
import random
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from acmehelp import Account, Client
from conftest import (ANVIL_CA, CA, ChallTestSrv, free_port, init_ca,
                      start_ca, wait_port)
from http01 import Responder

TIMEOUT = 3     # validation_timeout of these CAs, seconds
MARGIN = 3      # what a validation may take beyond it, seconds


class SlowRedirects:
    """http-01 on port: tokens in good are answered at once; any other
    token gets, after 2 s, a 302 to the same URL, until released (then a
    404 at once)."""

    def __init__(self, port):
        self.good = {}
        self.requests = {}
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                token = self.path.rsplit("/", 1)[-1]
                outer.requests[token] = outer.requests.get(token, 0) + 1
                body = outer.good.get(token)
                if body is None and not outer.released.wait(2.0):
                    self.send_response(302)
                    self.send_header("Location", self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = (body or "").encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.daemon_threads = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.block_on_close = False
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class DripPeer:
    """tls-alpn-01 on port: every connection gets a TLS record header
    announcing 16 KiB, then its body, one byte every 2 s, until
    released (then the connection is closed)."""

    def __init__(self, port):
        self.released = threading.Event()
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.drip, args=(conn,), daemon=True).start()

    def drip(self, conn):
        data = b"\x16\x03\x03\x40\x00" + b"\x00" * 16384
        try:
            for i in range(len(data)):
                conn.send(data[i:i + 1])
                if self.released.wait(2.0):
                    break
        except OSError:
            pass
        conn.close()

    def close(self):
        self.released.set()
        self.sock.close()


@pytest.fixture
def hostile_ca(tmp_path, challtestsrv):
    """A CA with the default worker pool (4) and per-account cap (2),
    validation_timeout 3 s, every name resolving to 127.0.0.1, where a
    SlowRedirects host and a DripPeer listen on its validation ports."""
    http01, alpn = free_port(), free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01), "--tls-alpn01-port", str(alpn)],
        config={"validation_timeout": TIMEOUT, "caa_identities": "anvil.test"})
    ca.web = SlowRedirects(http01)
    ca.drip = DripPeer(alpn)
    yield ca
    ca.web.close()
    ca.drip.close()
    rc = ca.stop()
    ca.log.close()
    assert rc == 0


def start(acct, name, ctype):
    """Orders name and triggers its ctype challenge: (authz URL, chall)."""
    order = acct.new_order([name]).json()
    authz = order["authorizations"][0]
    ch = [c for c in acct.get(authz).json()["challenges"]
          if c["type"] == ctype][0]
    assert acct.post(ch["url"], {}).status_code == 200
    return authz, ch


def chall_error(acct, authz, ctype):
    az = acct.get(authz).json()
    return az["status"], [c for c in az["challenges"]
                          if c["type"] == ctype][0].get("error")


def test_D53_tls_alpn_drip_ends_at_the_deadline(hostile_ca):
    """A peer that keeps the handshake going one byte every 2 s: the
    validation is invalid (connection, timed out) by validation_timeout
    plus a margin, while the peer is still dripping."""
    acct = Account(Client(hostile_ca))
    authz, _ = start(acct, "drip.example.com", "tls-alpn-01")
    az = acct.wait(authz, timeout=TIMEOUT + MARGIN).json()
    assert az["status"] == "invalid", az
    assert not hostile_ca.drip.released.is_set()
    _, err = chall_error(acct, authz, "tls-alpn-01")
    assert err["type"] == "urn:ietf:params:acme:error:connection", err
    assert "timed out" in err["detail"], err


def test_D53_redirect_hops_share_one_deadline(hostile_ca):
    """A redirect to itself after 2 s, over and over: the hops share one
    deadline, so the validation ends after 2 requests (not 11) with a
    connection problem, by validation_timeout plus a margin."""
    acct = Account(Client(hostile_ca))
    authz, ch = start(acct, "hops.example.com", "http-01")
    az = acct.wait(authz, timeout=TIMEOUT + MARGIN).json()
    assert az["status"] == "invalid", az
    _, err = chall_error(acct, authz, "http-01")
    assert err["type"] == "urn:ietf:params:acme:error:connection", err
    assert "timed out" in err["detail"], err
    assert 1 <= hostile_ca.web.requests[ch["token"]] <= 2


def prepare(acct, name, ctype):
    """Orders name: (authz URL, its ctype challenge), not yet started."""
    authz = acct.new_order([name]).json()["authorizations"][0]
    return authz, [c for c in acct.get(authz).json()["challenges"]
                   if c["type"] == ctype][0]


def test_D53_one_account_cannot_stall_the_others(hostile_ca):
    """One account starts 12 validations against the drip and the slow
    redirects (3 times the 4 workers), then another account an http-01
    answered at once.  The second is valid within validation_timeout
    plus a margin, and before any of the first account's validations has
    ended (all 12 jobs still stored): it did not wait for a worker to
    come free.  Once the hostile hosts let go every one of the 12 ends
    invalid: none was lost."""
    ca = hostile_ca
    attacker, victim = Account(Client(ca)), Account(Client(ca))
    held = [prepare(attacker, f"a{i}.example.com", "tls-alpn-01")
            for i in range(6)]
    held += [prepare(attacker, f"b{i}.example.org", "http-01")
             for i in range(6)]
    authz, ch = prepare(victim, "victim.example.net", "http-01")
    ca.web.good[ch["token"]] = victim.key_authorization(ch["token"])
    for _, c in held:
        assert attacker.post(c["url"], {}).status_code == 200
    assert victim.post(ch["url"], {}).status_code == 200
    az = victim.wait(authz, timeout=TIMEOUT + MARGIN).json()
    assert az["status"] == "valid", az
    assert ca.db("SELECT count(*) FROM jobs") == [(12,)]
    ca.web.released.set()
    ca.drip.released.set()
    for a, c in held:
        assert attacker.wait(a, timeout=60).json()["status"] == "invalid"
    assert ca.db("SELECT count(*) FROM jobs") == [(0,)]


def test_D53_jobs_over_the_cap_resume_after_a_crash(tmp_path, challtestsrv):
    """Four validations of one account with the cap at 2: two run, two
    wait.  After kill -9 and a restart every stored job runs (the waiting
    ones too) and all four authorizations become valid."""
    import signal
    http01 = free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01)],
        config={"validation_timeout": 30, "caa_identities": "anvil.test"})
    resp = Responder(http01)
    try:
        acct = Account(Client(ca))
        resp.delay = 5.0
        authzs = []
        for i in range(4):
            authz, ch = start(acct, f"c{i}.example.com", "http-01")
            resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
            authzs.append(authz)
        deadline = time.monotonic() + 10
        while len(resp.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ca.db("SELECT count(*) FROM jobs") == [(4,)]
        assert len(resp.requests) == 2        # the cap: two at a time
        ca.proc.send_signal(signal.SIGKILL)
        ca.proc.wait()
        resp.delay = 0
        ca.restart()
        acct.c.nonce = None
        for authz in authzs:
            assert acct.wait(authz).json()["status"] == "valid"
        assert ca.db("SELECT count(*) FROM jobs") == [(0,)]
    finally:
        resp.close()
        assert ca.stop() == 0
        ca.log.close()


def test_D53_default_resolver_reads_resolv_conf_not_the_hosts_file(tmp_path):
    """anvil-ca with the default resolver ("") in a mount namespace whose
    /etc/resolv.conf names a test DNS server and whose /etc/hosts names
    another host: http-01 for the name in DNS is valid, for the name only
    in the hosts file invalid (dns): addresses come from the validator's
    resolver, as dns-01's and CAA's do, not from getaddrinfo."""
    # On port 53 of a random loopback address, so that resolv.conf can
    # name it; only the names added exist.
    dns = ChallTestSrv(str(tmp_path), addr="127.%d.%d.%d" % tuple(
        random.randint(1, 254) for _ in range(3)), dns_port=53,
        default_ipv4="")
    http01 = free_port()
    workdir = str(tmp_path / "ca")
    port = free_port()
    path = init_ca(workdir, port, ["--http01-port", str(http01)],
                   config={"caa_identities": "anvil.test"})
    resolv, hosts = tmp_path / "resolv.conf", tmp_path / "hosts"
    resolv.write_text(f"nameserver {dns.dns_addr}\n")
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 inhosts.example.com\n")
    dns.post("/add-a", {"host": "indns.example.com.",
                        "addresses": ["127.0.0.1"]})
    log = open(os.path.join(workdir, "serve.log"), "w")
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount --bind {resolv} /etc/resolv.conf && "
         f"mount --bind {hosts} /etc/hosts && exec {ANVIL_CA} serve -c {path}"],
        stdout=log, stderr=subprocess.STDOUT)
    ca = None
    resp = Responder(http01)
    try:
        wait_port(port, proc)
        ca = CA(workdir, port, proc, log)
        acct = Account(Client(ca))
        results = {}
        for name in ("indns.example.com", "inhosts.example.com"):
            order = acct.new_order([name]).json()
            authz = order["authorizations"][0]
            ch = [c for c in acct.get(authz).json()["challenges"]
                  if c["type"] == "http-01"][0]
            resp.tokens[ch["token"]] = acct.key_authorization(ch["token"])
            acct.post(ch["url"], {})
            acct.wait(authz)
            results[name] = chall_error(acct, authz, "http-01")
        assert results["indns.example.com"][0] == "valid", results
        status, err = results["inhosts.example.com"]
        assert status == "invalid", results
        assert err["type"] == "urn:ietf:params:acme:error:dns", err
    finally:
        resp.close()
        if ca is not None:
            assert ca.stop() == 0
        elif proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        dns.stop()
