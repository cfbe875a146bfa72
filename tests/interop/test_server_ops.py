# SPDX-License-Identifier: ISC
"""Operational behaviour of anvil-ca: base_url behind a proxy, and SIGTERM
draining a request in flight before a clean exit."""
import json
import signal
import socket
import ssl
import time

from acmehelp import Client, ec_key, jwk_of, sign


def test_base_url_is_used_for_resource_urls(ca_factory):
    ca = ca_factory({"base_url": "https://acme.example.test"})
    c = Client(ca)
    assert c.dir["newAccount"] == "https://acme.example.test/acme/new-account"
    # The proxy's name does not resolve here: talk to the CA directly.
    c.new_nonce = lambda: c.s.head(ca.base + "/acme/new-nonce").headers[
        "Replay-Nonce"]
    key = ec_key()
    # The JWS names the public URL, not the address the request went to.
    body = sign(key, {"alg": "ES256", "nonce": c.new_nonce(),
                      "url": c.dir["newAccount"], "jwk": jwk_of(key)}, {})
    r = c.post(ca.base + "/acme/new-account", body)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].startswith("https://acme.example.test/acme/acct/")
    # Signing for the internal address is now a URL mismatch.
    body = sign(ec_key(), {"alg": "ES256", "nonce": c.new_nonce(),
                           "url": ca.base + "/acme/new-account",
                           "jwk": jwk_of(ec_key())}, {})
    assert c.post(ca.base + "/acme/new-account", body).status_code in (400, 403)


def test_sigterm_drains_a_request_in_flight(anvil_ca):
    c = Client(anvil_ca)
    key = ec_key()
    body = json.dumps(c.signed(key, c.dir["newAccount"],
                               {"termsOfServiceAgreed": True})).encode()
    ctx = ssl.create_default_context(cafile=anvil_ca.tls_ca)
    raw = socket.create_connection(("127.0.0.1", anvil_ca.port))
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    head = (f"POST /acme/new-account HTTP/1.1\r\nHost: 127.0.0.1:{anvil_ca.port}\r\n"
            f"Content-Type: application/jose+json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    s.sendall(head + body[:20])
    time.sleep(0.3)                      # the request has started
    anvil_ca.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert anvil_ca.proc.poll() is None  # still serving the request
    s.sendall(body[20:])
    resp = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
    s.close()
    assert resp.startswith(b"HTTP/1.1 201"), resp[:200]
    assert anvil_ca.proc.wait(timeout=15) == 0
    assert anvil_ca.db("SELECT count(*) FROM accounts") == [(1,)]
