# SPDX-License-Identifier: ISC
"""anvil the client under hostile neighbours and odd CAs (issue 21, items
7-9 and 13-20).

The standalone responders against a slow peer, hooks that outstay their
welcome, and the port and descriptors a deploy hook gets run against a
real anvil-ca (validating_ca).  The odd CAs are oddca.OddCA, a small ACME
CA in Python whose endpoints a test can take over: an invalid order, a
refused "replaces", Retry-After, relative links, identifiers that were
not ordered, and garbage of every kind.  Each failure must be one line on
stderr, a non-zero exit in bounded time, and no certificate or key left
behind."""
import json
import os
import socket
import ssl
import stat
import subprocess
import threading
import time

import pytest

from conftest import free_port, start_ca
from dnsgate import DNSGate
from oddca import OddCA, jresponse, problem
from rawhttps import CLOSE, response
from test_client import ANVIL, anvil

TIMEOUT = 60  # seconds any single anvil run may take here


@pytest.fixture
def oddca(tmp_path):
    started = []

    def make(**kw):
        ca = OddCA(tmp_path, **kw)
        started.append(ca)
        return ca

    yield make
    for ca in started:
        ca.stop()


@pytest.fixture
def gated_ca(tmp_path, challtestsrv):
    """validating_ca whose resolver is a DNSGate in front of challtestsrv
    (ca.gate): the CA validates only after the test opens the gate."""
    gate = DNSGate(challtestsrv.dns_port)
    http01, alpn = free_port(), free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{gate.port}",
        "--http01-port", str(http01), "--tls-alpn01-port", str(alpn)],
        config={"caa_identities": "anvil.test"})
    ca.http01_port, ca.tls_alpn01_port, ca.gate = http01, alpn, gate
    yield ca
    rc = ca.stop()
    ca.log.close()
    gate.stop()
    assert rc == 0


def issue_args(ca, tmp_path, *names, extra=()):
    www = tmp_path / "www"
    www.mkdir(exist_ok=True)
    args = ["issue"]
    for n in names or ("odd.example",):
        args += ["-d", n]
    return args + ["--webroot", str(www), "--server", ca.directory,
                   "--ca-bundle", ca.tls_ca,
                   "--state-dir", str(tmp_path / "state"), *extra]


def one_line(r, hook_output=()):
    """The one line anvil wrote on stderr (hooks' own lines aside)."""
    lines = [ln for ln in r.stderr.splitlines() if ln not in hook_output]
    assert r.returncode != 0, r.stdout + r.stderr
    assert len(lines) == 1 and lines[0].startswith("anvil: "), r.stderr
    return lines[0]


def no_certificate_left(tmp_path):
    """Nothing issued in the state directory, and no key in it that any
    other user could read."""
    state = tmp_path / "state"
    certs = state / "certs"
    for dirpath, _, files in os.walk(certs):
        assert not [f for f in files if f.endswith(".pem")], (dirpath, files)
    for dirpath, _, files in os.walk(state):
        for f in files:
            if "key" in f:
                mode = os.stat(os.path.join(dirpath, f)).st_mode
                assert mode & 0o077 == 0, (f, oct(mode))


# --- the standalone responders (items 7, 8, 9) ---

class Dripper:
    """Connects to port as soon as it listens, calls on_connect, then
    sends one byte a second and never finishes a request: a slowloris
    peer."""

    def __init__(self, port, data, on_connect):
        self.port = port
        self.on_connect = on_connect
        self.data = data
        self.stop = threading.Event()
        self.connected = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        end = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), 1)
                break
            except OSError:
                time.sleep(0.01)
        else:
            return
        self.connected.set()
        self.on_connect()
        try:
            for i in range(120):
                if self.stop.wait(1):
                    break
                s.sendall(self.data[i % len(self.data):][:1])
        except OSError:
            pass
        finally:
            s.close()


@pytest.mark.parametrize("how", ["standalone", "tls-alpn"])
def test_issue21_7_slow_peer_stalls_neither_validation_nor_exit(
        gated_ca, tmp_path, how):
    """The slow peer holds a connection to the responder before the CA
    can resolve the name (gated_ca); the CA's validation still gets
    through, and anvil exits with the peer still dripping."""
    ca = gated_ca
    if how == "standalone":
        port, solver = ca.http01_port, ["--standalone", "--http-port"]
        drip = b"GET /.well-known/acme-challenge/x HTTP/1.1\r\n"
    else:
        port, solver = ca.tls_alpn01_port, ["--tls-alpn", "--tls-port"]
        drip = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64
    d = Dripper(port, drip, ca.gate.open)
    p = subprocess.Popen(
        [ANVIL, "issue", "-d", "slow.example.com", *solver, str(port),
         "--server", ca.directory, "--ca-bundle", ca.tls_ca,
         "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    try:
        assert d.connected.is_set()
        # The CA validated through the held port, and anvil returned
        # while the dripper was still at it.
        assert p.returncode == 0, err
        assert not d.stop.is_set()
        assert os.path.exists(tmp_path / "state" / "certs" /
                              "slow.example.com" / "fullchain.pem")
    finally:
        d.stop.set()


def test_issue21_7_one_address_cannot_fill_the_responder(gated_ca,
                                                         tmp_path):
    """100 idle connections from 127.0.0.2, made as soon as the port
    listens and made again when closed, leave room for the CA's
    validation from 127.0.0.1 (RESPONDER_PER_PEER).  The CA resolves the
    name only once 64 of them are held (gated_ca)."""
    ca = gated_ca
    port = ca.http01_port
    stop = threading.Event()
    held = []

    def flood():
        while not stop.is_set():
            held[:] = [c for c in held if c.fileno() >= 0]
            if len(held) >= 100:
                stop.wait(0.05)
                continue
            c = socket.socket()
            c.settimeout(1)
            try:
                c.bind(("127.0.0.2", 0))
                c.connect(("127.0.0.1", port))
                held.append(c)
                if len(held) >= 64:
                    ca.gate.open()
            except OSError:
                c.close()
                stop.wait(0.001)

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    try:
        r = anvil("issue", "-d", "flood.example.com", "--standalone",
                  "--http-port", str(port), "--server", ca.directory,
                  "--ca-bundle", ca.tls_ca,
                  "--state-dir", str(tmp_path / "state"), timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        assert len(held) >= 64  # the flood was there
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()


def test_issue21_8_deploy_hook_gets_the_port_and_no_descriptors(
        validating_ca, tmp_path):
    ca = validating_ca
    out = tmp_path / "hook.out"
    hook = tmp_path / "hook.sh"
    hook.write_text(
        "#!/bin/sh\n"
        f"ls -l /proc/self/fd > {out}.fds\n"
        "exec /usr/bin/python3 -c '\n"
        "import socket, sys\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind((\"0.0.0.0\", {ca.http01_port}))\n"
        f"open(\"{out}\", \"w\").write(\"bound\")\n"
        "'\n")
    hook.chmod(0o755)
    r = anvil("issue", "-d", "hook8.example.com", "--standalone",
              "--http-port", str(ca.http01_port), "--server", ca.directory,
              "--ca-bundle", ca.tls_ca, "--state-dir", str(tmp_path / "state"),
              "--deploy-hook", str(hook))
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "bound"
    # ls's own: 0-2 and the directory it lists; nothing from anvil.
    fds = {}
    for line in (tmp_path / "hook.out.fds").read_text().splitlines()[1:]:
        parts = line.split()
        fds[int(parts[-3])] = parts[-1]
    assert {0, 1, 2} <= set(fds), fds
    extra = {n: t for n, t in fds.items()
             if n > 2 and not t.startswith("/proc/")}
    assert extra == {}, fds


def test_S_IP_5_issue21_9_tls_alpn_for_an_ipv6_address(
        validating_ca, tmp_path):
    ca = validating_ca
    r = anvil("issue", "-d", "::1", "--tls-alpn", "--tls-port",
              str(ca.tls_alpn01_port), "--profile", "shortlived",
              "--server", ca.directory, "--ca-bundle", ca.tls_ca,
              "--state-dir", str(tmp_path / "state"), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    pem = (tmp_path / "state" / "certs").glob("*/cert.pem")
    text = subprocess.run(["openssl", "x509", "-noout", "-ext",
                           "subjectAltName", "-in", str(next(pem))],
                          capture_output=True, text=True).stdout
    assert "IP Address:0:0:0:0:0:0:0:1" in text, text


NO_V6 = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	if (domain == AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (real == 0)
		real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	return real(domain, type, protocol);
}
"""


def test_issue21_9_tls_alpn_on_a_host_without_ipv6(validating_ca, tmp_path):
    src = tmp_path / "nov6.c"
    src.write_text(NO_V6)
    so = tmp_path / "nov6.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src),
                    "-ldl"], check=True)
    # A sanitized build wants its runtime first among the preloads.
    ldd = subprocess.run(["ldd", ANVIL], capture_output=True,
                         text=True).stdout
    preload = [ln.split("=>")[1].split()[0] for ln in ldd.splitlines()
               if "libasan" in ln and "=>" in ln] + [str(so)]
    ca = validating_ca
    r = subprocess.run(
        [ANVIL, "issue", "-d", "nov6.example.com", "--tls-alpn",
         "--tls-port", str(ca.tls_alpn01_port), "--server", ca.directory,
         "--ca-bundle", ca.tls_ca, "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, timeout=TIMEOUT,
        env=dict(os.environ, LD_PRELOAD=" ".join(preload)))
    assert r.returncode == 0, r.stderr


# --- hooks (item 18) ---

STUBBORN = "#!/bin/sh\ntrap '' TERM\necho $$ > {pid}\necho HOOK-STDOUT\n" \
           "while :; do sleep 1; done\n"


def gone(pidfile):
    pid = int(pidfile.read_text())
    for _ in range(100):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_issue21_18_deploy_hook_is_killed_and_talks_on_stderr(oddca,
                                                               tmp_path):
    ca = oddca()
    pid = tmp_path / "hook.pid"
    hook = tmp_path / "hook.sh"
    hook.write_text(STUBBORN.format(pid=pid))
    hook.chmod(0o755)
    r = anvil(*issue_args(ca, tmp_path, extra=(
        "--deploy-hook", str(hook), "--hook-timeout", "1", "--json")),
        timeout=TIMEOUT)
    assert r.returncode == 1
    assert "deploy hook ran longer than 1 s and was stopped with SIGKILL" \
        in r.stderr, r.stderr
    assert "HOOK-STDOUT" in r.stderr
    # stdout is anvil's result alone: one JSON object.
    assert json.loads(r.stdout)["status"] == "issued"
    assert gone(pid)


def test_issue21_18_dns_hook_is_killed(oddca, tmp_path):
    ca = oddca()
    pid = tmp_path / "hook.pid"
    hook = tmp_path / "dns-hook.sh"
    hook.write_text(STUBBORN.format(pid=pid).replace(
        "trap", "[ \"$1\" = remove ] && exit 0\ntrap"))
    hook.chmod(0o755)
    r = anvil("issue", "-d", "odd.example", "--dns-hook", str(hook),
              "--hook-timeout", "1", "--server", ca.directory,
              "--ca-bundle", ca.tls_ca, "--state-dir", str(tmp_path / "state"),
              timeout=TIMEOUT)
    line = one_line(r, hook_output=("HOOK-STDOUT",))
    assert 'dns hook "' in line and "add _acme-challenge.odd.example" in line
    assert "ran longer than 1 s and was stopped with SIGKILL" in line
    assert gone(pid)
    no_certificate_left(tmp_path)


# --- odd CAs (items 13-17) ---

def test_S_ERR_3_S_ERR_4_issue21_13_invalid_order_error_per_identifier(
        oddca, tmp_path):
    ca = oddca()

    def invalid(ca, req, ctx):
        o = ca.orders[ctx["id"]]
        o["status"] = "invalid"
        o["error"] = {
            "type": "urn:ietf:params:acme:error:caa",
            "detail": "CAA records forbid issuance",
            "subproblems": [
                {"type": "urn:ietf:params:acme:error:caa",
                 "detail": "issue \"other.ca\" only",
                 "identifier": {"type": "dns", "value": "b.odd.example"}},
                {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                 "detail": "not today",
                 "identifier": {"type": "dns", "value": "a.odd.example"}}]}
        return jresponse(200, ca._order_view(o), ca.nonce_headers())

    ca.on["finalize"] = invalid
    r = anvil(*issue_args(ca, tmp_path, "a.odd.example", "b.odd.example"),
              timeout=TIMEOUT)
    line = one_line(r)
    assert "order is invalid: caa: CAA records forbid issuance" in line
    assert "b.odd.example: caa: issue \"other.ca\" only" in line
    assert "a.odd.example: rejectedIdentifier: not today" in line
    no_certificate_left(tmp_path)


def issued_with_ari(ca, tmp_path):
    r = anvil(*issue_args(ca, tmp_path), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "state" / "certs" / "odd.example" /
              "renewal.json") as f:
        assert json.load(f)["ari"]["cert_id"]
    ca.log.clear()


def new_orders(ca):
    return [e[2] for e in ca.requests_to("order")]


def test_issue21_14_rate_limited_replaces_is_not_retried(oddca, tmp_path):
    ca = oddca(ari=True)
    issued_with_ari(ca, tmp_path)
    ca.on["order"] = lambda ca, req, ctx: problem(
        429, "rateLimited", "too many renewals",
        [("Retry-After", "3600"), *ca.nonce_headers()])
    r = anvil("renew", "odd.example", "--force", "--state-dir",
              str(tmp_path / "state"), timeout=TIMEOUT)
    line = one_line(r)
    assert "rate limited by the CA, retry after 3600 s" in line
    assert [("replaces" in p) for p in new_orders(ca)] == [True]


@pytest.mark.parametrize("ptype,detail,retried", [
    ("alreadyReplaced", "already replaced", True),
    ("malformed", "unknown field \"replaces\"", True),
    ("malformed", "bad identifiers", False),
    ("unauthorized", "not yours", False),
])
def test_issue21_14_D63_only_not_replaceable_is_retried(oddca, tmp_path,
                                                         ptype, detail,
                                                         retried):
    ca = oddca(ari=True)
    issued_with_ari(ca, tmp_path)

    def refuse(ca, req, ctx):
        if "replaces" in ctx["payload"]:
            return problem(400 if ptype != "unauthorized" else 403, ptype,
                           detail, ca.nonce_headers())
        return None

    ca.on["order"] = refuse
    r = anvil("renew", "odd.example", "--force", "--state-dir",
              str(tmp_path / "state"), timeout=TIMEOUT)
    sent = [("replaces" in p) for p in new_orders(ca)]
    if retried:
        assert r.returncode == 0, r.stderr
        assert sent == [True, False]
    else:
        assert detail in one_line(r)
        assert sent == [True]


def test_S_RL_4_S_FIN_5_issue21_15_retry_after_is_honoured_from_finalize_on(
        oddca, tmp_path):
    ca = oddca()
    state = {"polls": 0}

    def processing(ca, req, ctx):
        o = ca.orders[ctx["id"]]
        ca._finalize(req, ctx)
        o["status"] = "processing"
        state["cert"] = o.pop("certificate")
        return jresponse(200, ca._order_view(o),
                         [("Retry-After", "2"), *ca.nonce_headers()])

    def poll(ca, req, ctx):
        o = ca.orders[ctx["id"]]
        state["polls"] += 1
        if state["polls"] < 3:
            return jresponse(200, ca._order_view(o),
                             [("Retry-After", "1"), *ca.nonce_headers()])
        o["status"] = "valid"
        o["certificate"] = state["cert"]
        return None

    ca.on["finalize"] = processing
    ca.on["order_get"] = poll
    r = anvil(*issue_args(ca, tmp_path, extra=("-v",)), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    times = [t for t, e, _ in ca.log if e in ("finalize", "order_get")]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) == 3
    # Never earlier than asked: 2 s after finalize, then 1 s each.
    assert gaps[0] >= 1.9 and gaps[1] >= 0.9 and gaps[2] >= 0.9, gaps
    assert "is processing; asking again in 2 s" in r.stderr


@pytest.mark.parametrize("retry_after,timeout,needle", [
    ("1", "3", "still processing after 3 seconds"),
    ("3600", None, "the CA asks to wait 3600 s more, past the 600 s"),
])
def test_issue21_15_polling_ends_within_poll_timeout(oddca, tmp_path,
                                                      retry_after, timeout,
                                                      needle):
    ca = oddca()

    def forever(ca, req, ctx):
        o = ca.orders[ctx["id"]]
        if o["status"] == "valid":
            o["status"] = "processing"
            o.pop("certificate", None)
        return jresponse(200, ca._order_view(o),
                         [("Retry-After", retry_after), *ca.nonce_headers()])

    ca.on["order_get"] = forever
    extra = ("--poll-timeout", timeout) if timeout else ()
    r = anvil(*issue_args(ca, tmp_path, extra=extra), timeout=TIMEOUT)
    assert needle in one_line(r)
    no_certificate_left(tmp_path)


def chain_issuer(tmp_path):
    return subprocess.run(
        ["openssl", "x509", "-noout", "-issuer", "-in",
         str(tmp_path / "state" / "certs" / "odd.example" / "chain.pem")],
        capture_output=True, text=True).stdout.strip()


def test_S_CERT_3_issue21_16_relative_location_and_link_preferred_chain(
        oddca, tmp_path):
    ca = oddca(relative=True)
    r = anvil(*issue_args(ca, tmp_path, extra=(
        "--preferred-chain", "OddCA Root B")), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert chain_issuer(tmp_path) == "issuer=CN = OddCA Root B"
    assert ca.requests_to("order_get")  # the relative Location was used


def test_S_CERT_3_issue21_16_preferred_chain_not_found_is_said(
        oddca, tmp_path):
    ca = oddca()
    r = anvil(*issue_args(ca, tmp_path, extra=(
        "--preferred-chain", "No Such Root")), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert chain_issuer(tmp_path) == "issuer=CN = OddCA Root A"
    assert ('none of the 2 chain(s) the CA offers is issued by '
            '"No Such Root"; keeping the default chain (issued by '
            '"OddCA Root A")') in r.stderr


def test_issue21_17_unordered_identifier_reaches_no_hook(oddca, tmp_path):
    ca = oddca()
    calls = tmp_path / "calls"
    hook = tmp_path / "dns-hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\nexit 1\n")
    hook.chmod(0o755)

    def evil(ca, req, ctx):
        az = dict(ca.authzs[ctx["id"]])
        az["identifier"] = {"type": "dns", "value":
                            "victim.example\nupdate add pwned 60 TXT x"}
        return jresponse(200, az, ca.nonce_headers())

    ca.on["authz"] = evil
    r = anvil("issue", "-d", "odd.example", "--dns-hook", str(hook),
              "--server", ca.directory, "--ca-bundle", ca.tls_ca,
              "--state-dir", str(tmp_path / "state"), timeout=TIMEOUT)
    assert "an identifier that was not ordered" in one_line(r)
    assert not calls.exists()
    assert not ca.requests_to("challenge")


# --- garbage of every kind (issue 17 section 5) ---

def _nonce(ca):
    return ca.nonce_headers()


GARBAGE = {
    "garbage-directory": ("directory", lambda ca, req, ctx: response(
        200, b"\x00\xff{not json", [("Content-Type", "application/json")]),
        None),
    "truncated-order": ("order", lambda ca, req, ctx: (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{\"status\": \"pe", CLOSE), None),
    "oversized-certificate": ("cert", lambda ca, req, ctx: response(
        200, b"A" * (2 << 20),
        [("Content-Type", "application/pem-certificate-chain"),
         *_nonce(ca)]), None),
    "redirect-loop": ("directory", lambda ca, req, ctx: response(
        302, b"", [("Location", ca.url("/directory"))], reason="Found"),
        None),
    "html-certificate": ("cert", lambda ca, req, ctx: response(
        200, b"<html><body>Service Unavailable</body></html>",
        [("Content-Type", "text/html"), *_nonce(ca)]),
        "no certificate"),
    "html-error": ("order", lambda ca, req, ctx: response(
        503, b"<html>maintenance</html>",
        [("Content-Type", "text/html"), *_nonce(ca)]), "HTTP 503"),
    "leaf-for-another-key": ("finalize", lambda ca, req, ctx: ca.orders[
        ctx["id"]].update(wrong_key=True), "not for the key we sent"),
    "leaf-for-other-names": ("finalize", lambda ca, req, ctx: ca.orders[
        ctx["id"]].update(wrong_names=True),
        "does not name exactly what was ordered"),
    "5xx-storm": ("order", lambda ca, req, ctx: problem(
        500, "serverInternal", "try later", _nonce(ca)), "try later"),
    "429-storm": ("order", lambda ca, req, ctx: problem(
        429, "rateLimited", "slow down",
        [("Retry-After", "1"), *_nonce(ca)]),
        "rate limited by the CA, retry after 1 s: slow down"),
    "no-nonce": ("nonce", lambda ca, req, ctx: response(503, b""),
                 "no usable nonce"),
    "endless-processing": ("order_get", lambda ca, req, ctx: jresponse(
        200, dict(ca._order_view(ca.orders[ctx["id"]]),
                  status="processing"), _nonce(ca)),
        "still processing after 2 seconds"),
    "badnonce-storm": ("order", lambda ca, req, ctx: problem(
        400, "badNonce", "stale nonce", _nonce(ca)), "stale nonce"),
    "empty-order": ("order", lambda ca, req, ctx: response(
        201, b"", [("Location", ca.url("/order/1")), *_nonce(ca)]),
        "the CA's order lacks a Location, authorizations or a finalize URL"),
    "order-without-location": ("order", lambda ca, req, ctx: jresponse(
        201, {"status": "pending", "authorizations": [],
              "finalize": ca.url("/finalize/1")}, _nonce(ca)),
        "the CA's order lacks a Location"),
    "authz-invalid-without-error": ("authz", lambda ca, req, ctx: jresponse(
        200, dict(ca.authzs[ctx["id"]], status="invalid"), _nonce(ca)),
        "authorization for odd.example is invalid"),
    "cert-not-found": ("cert", lambda ca, req, ctx: problem(
        404, "malformed", "no such certificate", _nonce(ca)),
        "no such certificate"),
    "order-not-an-object": ("order", lambda ca, req, ctx: response(
        201, b"[1, 2, 3]", [("Content-Type", "application/json"),
                            ("Location", ca.url("/order/1")),
                            *_nonce(ca)]), None),
}


@pytest.mark.parametrize("scenario", sorted(GARBAGE))
def test_issue21_odd_ca_failures_are_one_line_and_leave_nothing(
        oddca, tmp_path, scenario):
    endpoint, fn, needle = GARBAGE[scenario]
    ca = oddca()
    ca.on[endpoint] = fn
    extra = ("--poll-timeout", "2") if scenario == "endless-processing" \
        else ()
    r = anvil(*issue_args(ca, tmp_path, extra=extra), timeout=TIMEOUT)
    line = one_line(r)
    if needle is not None:
        assert needle in line
    if scenario == "badnonce-storm":  # S-NON-6: a few retries, not more
        assert len(ca.requests_to("order")) == 5
    no_certificate_left(tmp_path)


# --- renew --server, --ca-bundle (item 20, D64) ---

@pytest.mark.parametrize("opt", ["--server", "--ca-bundle"])
def test_issue21_20_D64_renew_refuses_another_ca(oddca, tmp_path, opt):
    ca = oddca()
    r = anvil(*issue_args(ca, tmp_path), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    ca.log.clear()
    r = anvil("renew", "odd.example", "--force", opt, str(tmp_path / "x"),
              "--state-dir", str(tmp_path / "state"), timeout=TIMEOUT)
    assert r.returncode == 2
    assert f"does not accept {opt}" in one_line(r)
    assert ca.log == []


# --- dns-01 propagation (item 19) ---

class NxDomain:
    """A DNS server on UDP port 53 of a 127/8 address of its own that
    answers NXDOMAIN to every query: nothing to learn from it, at once."""

    def __init__(self):
        import random
        self.addr = "127.%d.%d.%d" % (random.randint(100, 250),
                                      random.randint(1, 250),
                                      random.randint(1, 250))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.addr, 53))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                return
            if len(q) < 12:
                continue
            end = 12
            while end < len(q) and q[end] != 0:
                end += q[end] + 1
            question = q[12:end + 5]
            flags = bytes([0x80 | (q[2] & 0x01), 0x83])  # QR, RD; RA, NX
            self.sock.sendto(q[:2] + flags + b"\x00\x01" + b"\x00" * 6 +
                             question, peer)

    def close(self):
        self.sock.close()


def test_issue21_19_dns_hook_says_when_it_cannot_check(oddca, tmp_path):
    ca = oddca()
    hook = tmp_path / "dns-hook.sh"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    dns = NxDomain()
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {dns.addr}\n")
    try:
        r = subprocess.run(
            [ANVIL, "issue", "-d", "odd.example", "--dns-hook", str(hook),
             "--server", ca.directory, "--ca-bundle", ca.tls_ca,
             "--state-dir", str(tmp_path / "state")],
            capture_output=True, text=True, timeout=TIMEOUT,
            env=dict(os.environ, ANVIL_RESOLV_CONF=str(resolv)))
    finally:
        dns.close()
    assert r.returncode == 0, r.stderr
    assert ("cannot check that _acme-challenge.odd.example is visible: no "
            "address found for its zone's name servers") in r.stderr


LATE_HOOK = """#!/bin/sh
# add lands 2 s after the hook returned: found by the CA only if anvil
# waited until the zone's (IPv6-only) name server answered it.
case "$1" in
add)
	( sleep 2; printf 'server {addr} 53\\nupdate add %s. 60 IN TXT "%s"\\nsend\\n' \\
	    "$2" "$3" | nsupdate ) >/dev/null 2>&1 &
	;;
esac
exit 0
"""


def test_issue21_19_dns_hook_waits_at_an_ipv6_only_name_server(oddca,
                                                               tmp_path):
    """The zone's only name server has an AAAA record and no A: anvil
    must wait for the record there (it skipped the wait before)."""
    import random
    from bindhelp import Named
    v4 = "127.%d.%d.%d" % (random.randint(100, 250), random.randint(1, 250),
                           random.randint(1, 250))
    v6 = "fd63::%x" % random.randint(1, 0xffff)
    subprocess.run(["ip", "addr", "add", v4 + "/32", "dev", "lo"],
                   check=True, capture_output=True)
    subprocess.run(["ip", "-6", "addr", "add", v6 + "/128", "dev", "lo",
                    "nodad"], check=True, capture_output=True)
    d = str(tmp_path / "bind")
    named = Named(d, v4, 53)
    soa = "@ IN SOA ns6.net. admin.net. 1 3600 600 86400 60\n"
    try:
        with open(os.path.join(d, "net.zone"), "w") as f:
            f.write("$TTL 300\n" + soa + "@ IN NS ns6.net.\n"
                    f"ns6 IN AAAA {v6}\n")
        with open(os.path.join(d, "example.net.zone"), "w") as f:
            f.write("$TTL 300\n" + soa + "@ IN NS ns6.net.\n")
        named.configure(f"""
zone "net" {{ type primary; file "{d}/net.zone"; }};
zone "example.net" {{ type primary; file "{d}/example.net.zone";
    allow-update {{ any; }}; }};""")
        with open(named.conf) as f:
            conf = f.read()
        with open(named.conf, "w") as f:
            f.write(conf.replace("listen-on-v6 { none; };",
                                 f"listen-on-v6 port 53 {{ {v6}; }};"))
        named.start("example.net")
        ca = oddca()
        seen = []

        def look(ca, req, ctx):
            seen.append(named.records("_acme-challenge.odd.example.net",
                                      "TXT"))
            return None

        ca.on["challenge"] = look
        hook = tmp_path / "late-hook"
        hook.write_text(LATE_HOOK.replace("{addr}", v4))
        hook.chmod(0o755)
        resolv = tmp_path / "resolv.conf"
        resolv.write_text(f"nameserver {v4}\n")
        r = subprocess.run(
            [ANVIL, "issue", "-d", "odd.example.net", "--dns-hook",
             str(hook), "--server", ca.directory, "--ca-bundle", ca.tls_ca,
             "--state-dir", str(tmp_path / "state")],
            capture_output=True, text=True, timeout=TIMEOUT,
            env=dict(os.environ, ANVIL_RESOLV_CONF=str(resolv)))
        assert r.returncode == 0, r.stderr
        assert len(seen) == 1 and len(seen[0]) == 1, seen
        assert "cannot check" not in r.stderr
    finally:
        named.stop()
        subprocess.run(["ip", "-6", "addr", "del", v6 + "/128", "dev", "lo"],
                       capture_output=True)
        subprocess.run(["ip", "addr", "del", v4 + "/32", "dev", "lo"],
                       capture_output=True)
