# SPDX-License-Identifier: ISC
"""anvil-ca under a connection flood (D55): one address holding
thousands of idle connections cannot lock other clients out, and a
connection that drips its TLS handshake is closed at the header
deadline although it is never idle (security review 2026-12, #8).

The flood comes from 127.0.0.2 and the served client from 127.0.0.1,
both to the listener on 127.0.0.1: different source addresses on
loopback, without a second listener."""
import os
import resource
import socket
import subprocess
import time

import pytest
import requests

from conftest import ANVIL_CA, free_port, init_ca, wait_port, CA

FLOOD = 3000
FLOOD_FROM = "127.0.0.2"
CAP = 100          # per_ip_connections of the flood test


@pytest.fixture
def ca_with(tmp_path):
    """Starts anvil-ca with config merged in; stops it at the end."""
    # The flood's descriptors, and anvil-ca's (it inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = FLOOD + 1024
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(want, hard) if hard != resource.RLIM_INFINITY
                            else want, hard))
    started = []

    def start(config):
        workdir = str(tmp_path / "ca")
        port = free_port()
        path = init_ca(workdir, port, config=config)
        log = open(os.path.join(workdir, "serve.log"), "w")
        # anvil-ca starts with the soft limit a service gets from
        # systemd (1024), as in production; it raises its own (D55).
        proc = subprocess.Popen(
            [ANVIL_CA, "serve", "-c", path], stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: resource.setrlimit(
                resource.RLIMIT_NOFILE,
                (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
        wait_port(port, proc)
        c = CA(workdir, port, proc, log)
        started.append(c)
        return c

    yield start
    for c in started:
        assert c.stop() == 0
        c.log.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def flood(port, n):
    """n TCP connections from FLOOD_FROM, each sending one byte of a TLS
    record and then nothing."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((FLOOD_FROM, 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.send(b"\x16")
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def test_flood_from_one_address_does_not_lock_others_out(ca_with):
    ca = ca_with({"per_ip_connections": CAP})
    socks = flood(ca.port, FLOOD)
    try:
        r = requests.get(ca.directory, verify=ca.tls_ca, timeout=2)
        assert r.status_code == 200
        assert "newNonce" in r.json()
        # The flooding address holds at most CAP of them: the others
        # were closed as soon as accepted.
        held = FLOOD
        for _ in range(50):
            held = sum(1 for s in socks if not closed_by_peer(s))
            if held <= CAP:
                break
            time.sleep(0.1)
        assert held <= CAP
    finally:
        for s in socks:
            s.close()


def closed_by_peer(s):
    """Whether the server has closed s (EOF or reset), without waiting."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def test_dripping_handshake_closed_at_header_deadline(ca_with):
    """A TLS record header, then one byte every 0.3 s: never idle long
    enough for the 30 s inactivity timeout, so only the header deadline
    (2 s here) ends it."""
    ca = ca_with({"header_timeout": 2})
    s = socket.create_connection(("127.0.0.1", ca.port))
    try:
        s.send(b"\x16\x03\x01\x02\x00")
        closed = False
        for _ in range(30):                   # 9 s of dripping at most
            time.sleep(0.3)
            if closed_by_peer(s):
                closed = True
                break
            try:
                s.send(b"\x01")
            except OSError:
                closed = True
                break
        assert closed, "a dripping handshake outlived the header deadline"
    finally:
        s.close()
    # The listener itself still serves.
    r = requests.get(ca.directory, verify=ca.tls_ca, timeout=2)
    assert r.status_code == 200
