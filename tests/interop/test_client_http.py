# SPDX-License-Identifier: ISC
"""libanvil's own HTTPS client (src/lib/http.c) against real sockets.

Most tests drive it through anvil-http-probe (tests/unit/http_probe.c),
which runs requests on one struct acme_http and prints each response as
JSON, against rawhttps.RawHTTPS, a TLS server whose answers each test
writes byte by byte: chunked bodies with trailers, Retry-After dates,
keep-alive connections closed while idle, bodies over the limit, broken
framing, stalls.  The rest run the anvil binary: the TLS and time-out
errors as users see them, and issuance from anvil-ca through a CONNECT
proxy (https_proxy, no_proxy)."""
import base64
import email.utils
import json
import os
import subprocess
import time

import pytest

from conftest import BUILD
from rawhttps import (CLOSE, KEEP, STALL, ConnectProxy, RawHTTPS, chunked,
                      response)

PROBE = os.path.join(BUILD, "tests", "unit", "anvil-http-probe")
ANVIL = os.path.join(BUILD, "src", "client", "anvil")

# No proxy from the environment the tests run in.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k.lower() not in ("https_proxy", "no_proxy", "all_proxy")}


def probe(srv, *reqs, ca=None, env=None, timeout=60):
    """Runs the probe with (method, path-or-URL) pairs; returns
    (returncode, [response dicts], stderr)."""
    args = [PROBE, "--ca", ca or srv.ca]
    for method, target in reqs:
        args += [method, target if "://" in target else srv.url(target)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       env=dict(CLEAN_ENV, **(env or {})))
    out = [json.loads(line) for line in r.stdout.splitlines()]
    return r.returncode, out, r.stderr


@pytest.fixture
def server(tmp_path):
    started = []

    def make(handler, **kw):
        s = RawHTTPS(tmp_path, handler, **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def one_line_failure(rc, err, needle):
    assert rc == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0], err


def test_C_HTTP_chunked_body_trailers_and_links(server):
    doc = json.dumps({"newNonce": "https://x/nonce", "meta": {"x": "y" * 300}})
    srv = server(lambda req: (chunked(doc, size=5, headers=[
        ("Replay-Nonce", "abc_DEF-123"),
        ("Content-Type", "application/json"),
        ("Link", '<https://x/dir>;rel="index", <https://x/a,b>;rel="up"'),
        ("Link", '<https://x/alt>; rel="alternate"')],
        trailers=[("X-Trailer", "1")]), KEEP))
    rc, out, err = probe(srv, ("GET", "/dir"), ("GET", "/dir"))
    assert rc == 0, err
    assert len(out) == 2
    for r in out:
        assert r["status"] == 200
        assert r["body"] == doc
        assert r["len"] == len(doc)
        assert r["nonce"] == "abc_DEF-123"
        assert r["content_type"] == "application/json"
        # One Link header with two links gives two entries.
        assert r["links"] == ['<https://x/dir>;rel="index"',
                              '<https://x/a,b>;rel="up"',
                              '<https://x/alt>; rel="alternate"']
    # Both requests on one kept-alive connection.
    assert srv.connections == 1


def test_S_RL_4_retry_after_delta_and_http_dates(server):
    now = time.time()
    values = {
        "/delta": "30",
        "/imf": email.utils.formatdate(now + 120, usegmt=True),
        "/rfc850": time.strftime("%A, %d-%b-%y %H:%M:%S GMT",
                                 time.gmtime(now + 600)),
        "/asctime": time.strftime("%a %b %e %H:%M:%S %Y",
                                  time.gmtime(now + 3600)),
        "/past": "Sun, 06 Nov 1994 08:49:37 GMT",
        "/garbage": "soon",
    }
    srv = server(lambda req: (response(
        503, "{}", [("Retry-After", values[req.target])],
        reason="Unavailable"), KEEP))
    rc, out, err = probe(srv, *[("GET", p) for p in values])
    assert rc == 0, err
    ra = {p: r["retry_after"] for p, r in zip(values, out)}
    assert all(r["status"] == 503 for r in out)
    assert ra["/delta"] == 30
    # Dates have a resolution of one second; the run may take a few.
    assert 100 <= ra["/imf"] <= 121
    assert 580 <= ra["/rfc850"] <= 601
    assert 3580 <= ra["/asctime"] <= 3601
    assert ra["/past"] == 0
    assert ra["/garbage"] == -1


def test_C_HTTP_idle_keepalive_closed_by_server_reconnects(server):
    # The server answers and hangs up without Connection: close, as a
    # server does when its keep-alive timer fires.
    srv = server(lambda req: (response(200, f"r{req.conn}"), CLOSE))
    rc, out, err = probe(srv, ("GET", "/a"), ("GET", "/b"), ("HEAD", "/c"))
    assert rc == 0, err
    assert [r["status"] for r in out] == [200, 200, 200]
    assert [r["body"] for r in out] == ["r1", "r2", ""]
    assert srv.connections == 3
    assert [r.target for r in srv.requests] == ["/a", "/b", "/c"]


def test_C_HTTP_reused_connection_lost_before_answer_is_sent_again(server):
    def handler(req):
        if req.conn == 1 and req.index == 2:
            return b"", CLOSE  # read the request, then hang up
        return response(201, "created", [("Location", "https://x/1")]), KEEP

    srv = server(handler)
    rc, out, err = probe(srv, ("GET", "/first"), ('POST={"a":1}', "/new"))
    assert rc == 0, err
    assert out[1]["status"] == 201
    assert out[1]["location"] == "https://x/1"
    posts = [r for r in srv.requests if r.method == "POST"]
    # Sent twice, identically, the second time on a new connection.
    assert [(r.conn, r.body) for r in posts] == [(1, b'{"a":1}'),
                                                 (2, b'{"a":1}')]
    assert posts[1].headers["content-type"] == "application/jose+json"
    assert posts[1].headers["content-length"] == "7"


def test_C_HTTP_never_resent_after_part_of_an_answer(server):
    def handler(req):
        if req.index == 2:
            return b"HTTP/1.1 200 OK\r\nContent-Le", CLOSE
        return response(200, "ok"), KEEP

    srv = server(handler)
    rc, out, err = probe(srv, ("GET", "/a"), ('POST={"x":2}', "/b"))
    one_line_failure(rc, err, "connection: POST https://127.0.0.1:")
    assert len(out) == 1
    assert "closed in the middle of the response" in err
    assert len(srv.requests) == 2
    assert srv.connections == 1


def test_C_HTTP_fresh_connection_is_not_resent(server):
    srv = server(lambda req: (b"", CLOSE))
    rc, out, err = probe(srv, ("GET", "/a"))
    one_line_failure(rc, err, "closed before a response")
    assert len(srv.requests) == 1


@pytest.mark.parametrize("how", ["length", "chunked", "close"])
def test_C_HTTP_body_over_1_mib_is_a_clean_error(server, how):
    big = b"x" * (1024 * 1024 + 1)

    def handler(req):
        if req.target == "/exact":
            return response(200, big[:-1]), KEEP
        if how == "length":
            return response(200, big), KEEP
        if how == "chunked":
            return chunked(big, size=65536), KEEP
        return response(200, big, length=False), CLOSE

    srv = server(handler)
    rc, out, err = probe(srv, ("GET", "/exact"), ("GET", "/big"))
    one_line_failure(rc, err, "response too large")
    # Exactly ACME_HTTP_MAX_BODY is still fine.
    assert out[0]["len"] == 1024 * 1024


def test_C_HTTP_header_block_is_capped(server):
    many = [(f"X-Pad-{i}", "p" * 1000) for i in range(70)]
    srv = server(lambda req: (response(200, "x", many), KEEP))
    rc, _, err = probe(srv, ("GET", "/"))
    one_line_failure(rc, err, "response header too large")


@pytest.mark.parametrize("raw,needle", [
    (b"HTTP/2 200 OK\r\n\r\n", "malformed status line"),
    (b"HTTP/1.1 20 OK\r\n\r\n", "malformed status line"),
    (b"ICY 200 OK\r\n\r\n", "malformed status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
     "conflicting Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     "response too large"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
     "unsupported Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     "malformed chunk"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"ffffffffffffffffffff\r\n", "response too large"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
     "malformed chunk"),
    (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "malformed response header"),
    (b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
     "malformed response header"),
    (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", "NUL"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
     "closed before the end of the response"),
    (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "unexpected status 101"),
])
def test_C_HTTP_malformed_responses_fail_cleanly(server, raw, needle):
    srv = server(lambda req: (raw, CLOSE))
    rc, out, err = probe(srv, ("GET", "/"))
    one_line_failure(rc, err, needle)
    assert out == []
    assert err.startswith("anvil-http-probe: connection: GET https://")


def test_C_HTTP_interim_bodyless_and_connection_ends(server):
    def handler(req):
        t = req.target
        if t == "/continue":
            return (b"HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\n"
                    b"HTTP/1.1 102 Processing\r\n\r\n" +
                    response(200, "after", [("Replay-Nonce", "late")]), KEEP)
        if t == "/head":
            # HEAD: the length of the body a GET would have had, no body.
            return (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n"
                    b"Replay-Nonce: n1\r\n\r\n", KEEP)
        if t == "/nocontent":
            return b"HTTP/1.1 204 No Content\r\nReplay-Nonce: n2\r\n\r\n", KEEP
        if t == "/http10":
            return response(200, "old", version="1.0"), KEEP
        if t == "/close":
            return response(200, "bye", [("Connection", "close")]), KEEP
        if t == "/toclose":
            return response(200, "until the end", length=False), CLOSE
        return response(200, "plain"), KEEP

    srv = server(handler)
    rc, out, err = probe(srv, ("GET", "/continue"), ("HEAD", "/head"),
                         ("GET", "/nocontent"), ("GET", "/a"),
                         ("GET", "/http10"), ("GET", "/b"),
                         ("GET", "/close"), ("GET", "/toclose"),
                         ("GET", "/c"))
    assert rc == 0, err
    assert [(r["status"], r["body"]) for r in out] == [
        (200, "after"), (200, ""), (204, ""), (200, "plain"), (200, "old"),
        (200, "plain"), (200, "bye"), (200, "until the end"), (200, "plain")]
    assert out[0]["nonce"] == "late"
    assert out[1]["nonce"] == "n1"
    assert out[2]["nonce"] == "n2"
    conns = [r.conn for r in srv.requests]
    # Kept alive through 100/102, HEAD and 204; a new connection after
    # HTTP/1.0, after Connection: close and after a body read to the end.
    assert conns == [1, 1, 1, 1, 1, 2, 2, 3, 4]


def test_S_TRN_4_S_TRN_5_request_headers_and_sni(server):
    srv = server(lambda req: (response(200, "" if req.method == "HEAD"
                                       else "{}"), KEEP))
    rc, _, err = probe(srv, ("GET", "/g?q=1"), ("HEAD", "/h"),
                       ('POST={"p":true}', "/p"))
    assert rc == 0, err
    g, h, p = srv.requests
    assert (g.method, g.target, g.version) == ("GET", "/g?q=1", "HTTP/1.1")
    assert g.headers["host"] == f"127.0.0.1:{srv.port}"
    assert g.headers["user-agent"] == "anvil-http-probe"
    assert g.headers["accept-language"] == "en"
    assert "content-length" not in g.headers and g.body == b""
    assert h.method == "HEAD" and h.body == b""
    assert p.body == b'{"p":true}'
    assert p.headers["content-type"] == "application/jose+json"
    # An IP literal gets no SNI.
    assert srv.sni == [None]

    # A name gets SNI and is checked against the certificate.
    rc, _, err = probe(srv, ("GET", f"https://localhost:{srv.port}/n"))
    assert rc == 0, err
    assert srv.sni[-1] == "localhost"
    assert srv.requests[-1].headers["host"] == f"localhost:{srv.port}"

    # The anvil binary names itself (RFC 8555 6.1) and asks for English.
    r = subprocess.run([ANVIL, "profiles", "--server", srv.url("/dir"),
                        "--ca-bundle", srv.ca], capture_output=True,
                       text=True, timeout=60, env=CLEAN_ENV)
    ua = srv.requests[-1].headers["user-agent"]
    assert ua.startswith("anvil/") and "curl" not in ua, ua
    assert srv.requests[-1].headers["accept-language"] == "en"


def test_C_HTTP_ipv6_literal(server):
    srv = server(lambda req: (response(200, "six"), KEEP), host="::1")
    rc, out, err = probe(srv, ("GET", "/v6"))
    assert rc == 0, err
    assert out[0]["body"] == "six"
    assert srv.requests[0].headers["host"] == f"[::1]:{srv.port}"
    assert srv.sni == [None]


def test_C_HTTP_certificate_for_another_name_is_a_tls_problem(server, tmp_path):
    srv = server(lambda req: (response(200, "{}"), KEEP),
                 names=("other.example",), ips=())
    rc, _, err = probe(srv, ("GET", "/dir"))
    one_line_failure(rc, err, "anvil-http-probe: tls: GET https://127.0.0.1")
    assert "certificate verification failed" in err
    assert srv.requests == []
    # A name that the certificate does not carry either.
    rc, _, err = probe(srv, ("GET", f"https://localhost:{srv.port}/"))
    one_line_failure(rc, err, "tls:")
    # A CA the client does not trust.
    other = RawHTTPS(tmp_path, lambda req: (response(200, ""), KEEP))
    try:
        rc, _, err = probe(srv, ("GET", "/"), ca=other.ca)
        one_line_failure(rc, err, "tls:")
        assert "certificate verification failed" in err
    finally:
        other.stop()
    # What the user of anvil sees: one line, exit 1.
    r = subprocess.run([ANVIL, "profiles", "--server", srv.url("/dir"),
                        "--ca-bundle", srv.ca], capture_output=True,
                       text=True, timeout=60, env=CLEAN_ENV)
    one_line_failure(r.returncode, r.stderr, "certificate verification failed")
    assert r.stderr.startswith("anvil: ")


def test_C_HTTP_bad_urls_and_bundles_fail_cleanly(server, tmp_path):
    srv = server(lambda req: (response(200, ""), KEEP))
    rc, _, err = probe(srv, ("GET", f"http://127.0.0.1:{srv.port}/"))
    one_line_failure(rc, err, "unsupported scheme (only https)")
    rc, _, err = probe(srv, ("GET", f"https://127.0.0.1:{srv.port}/a b"))
    one_line_failure(rc, err, "bad character in the path")
    rc, _, err = probe(srv, ("GET", "/"), ca=str(tmp_path / "missing.pem"))
    one_line_failure(rc, err, "cannot read CA bundle")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    rc, _, err = probe(srv, ("GET", "/"), ca=str(junk))
    one_line_failure(rc, err, "cannot load CA bundle")
    rc, _, err = probe(srv, ("GET", "https://no-such-host.invalid/"))
    one_line_failure(rc, err, "could not resolve host no-such-host.invalid")
    assert srv.requests == []


def test_C_HTTP_stall_times_out(server):
    srv = server(lambda req: (b"HTTP/1.1 200 OK\r\n", STALL))
    env = {"ANVIL_HTTP_TIMEOUT_MS": "400"}
    rc, _, err = probe(srv, ("GET", "/"), env=env, timeout=30)
    one_line_failure(rc, err, "timed out after 400 ms")
    # A server that accepts but never finishes the handshake.
    import socket
    from conftest import free_port
    port = free_port()
    mute = socket.socket()
    mute.bind(("127.0.0.1", port))
    mute.listen(1)
    try:
        rc, _, err = probe(srv, ("GET", f"https://127.0.0.1:{port}/"),
                           env=env, timeout=30)
        one_line_failure(rc, err, "timed out after 400 ms")
        r = subprocess.run([ANVIL, "profiles", "--server",
                            f"https://127.0.0.1:{port}/dir"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(CLEAN_ENV, **env))
        one_line_failure(r.returncode, r.stderr, "timed out")
    finally:
        mute.close()


def test_C_HTTP_proxy_credentials_and_refusal(server):
    srv = server(lambda req: (response(200, "through"), KEEP))
    good = "Basic " + base64.b64encode(b"user:p@ss word").decode()
    proxy = ConnectProxy(auth=good)
    try:
        env = {"https_proxy":
               f"http://user:p%40ss%20word@127.0.0.1:{proxy.port}"}
        rc, out, err = probe(srv, ("GET", "/a"), ("GET", "/b"), env=env)
        assert rc == 0, err
        assert [r["body"] for r in out] == ["through", "through"]
        # One tunnel, kept alive for both requests.
        assert proxy.seen == [("CONNECT", f"127.0.0.1:{srv.port}", good)]
        # HTTPS_PROXY works too; wrong credentials are one line.
        env = {"HTTPS_PROXY": f"http://user:wrong@127.0.0.1:{proxy.port}"}
        rc, _, err = probe(srv, ("GET", "/c"), env=env)
        one_line_failure(rc, err, "refused the tunnel with status 407")
        assert len(srv.requests) == 2
        # Only http:// proxies.
        env = {"https_proxy": f"socks5://127.0.0.1:{proxy.port}"}
        rc, _, err = probe(srv, ("GET", "/d"), env=env)
        one_line_failure(rc, err, "https_proxy: unsupported proxy scheme")
    finally:
        proxy.stop()


def test_C_HTTP_issue_from_anvil_ca_through_connect_proxy(validating_ca,
                                                          tmp_path):
    proxy = ConnectProxy()
    env = dict(CLEAN_ENV, https_proxy=proxy.url)

    def issue(name):
        r = subprocess.run(
            [ANVIL, "issue", "-d", name, "--server", validating_ca.directory,
             "--ca-bundle", validating_ca.tls_ca, "--standalone",
             "--http-port", str(validating_ca.http01_port),
             "--state-dir", str(tmp_path / name)],
            capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
        assert os.path.exists(tmp_path / name / "certs" / name /
                              "fullchain.pem")

    try:
        issue("proxied.example.com")
        target = f"127.0.0.1:{validating_ca.port}"
        assert proxy.seen and all(s == ("CONNECT", target, None)
                                  for s in proxy.seen), proxy.seen
        # no_proxy names the CA: straight there, the proxy sees nothing.
        proxy.seen.clear()
        env["no_proxy"] = "localhost,127.0.0.0/8"
        issue("direct.example.com")
        assert proxy.seen == []
    finally:
        proxy.stop()
