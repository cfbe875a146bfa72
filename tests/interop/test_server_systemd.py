# SPDX-License-Identifier: ISC
"""anvil-ca under a service manager (D67, D68): sd_notify readiness,
reload on SIGHUP and what a reload may change.

No systemd runs here, so the test is the service manager: it binds the
unix datagram socket that systemd would, passes it in NOTIFY_SOCKET and
reads what anvil-ca reports (READY=1, RELOADING=1, STOPPING=1)."""
import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from acmehelp import Client, ec_key
from conftest import ANVIL_CA, free_port, init_ca


class Notified:
    """anvil-ca serve with NOTIFY_SOCKET pointing at a socket of ours."""

    def __init__(self, tmp_path, config=None):
        self.dir = str(tmp_path / "ca")
        self.port = free_port()
        self.conf = init_ca(self.dir, self.port, config=config)
        self.sock_path = str(tmp_path / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.logpath = os.path.join(self.dir, "serve.log")
        self.log = open(self.logpath, "w")
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path)
        self.proc = subprocess.Popen([ANVIL_CA, "serve", "-c", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        self.tls_ca = os.path.join(self.dir, "tls", "ca.pem")
        self.base = f"https://127.0.0.1:{self.port}"
        self.directory = self.base + "/directory"

    def message(self, timeout=20.0):
        """The next datagram as a dict of its KEY=VALUE lines."""
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096).decode()
        return dict(ln.split("=", 1) for ln in data.splitlines() if "=" in ln)

    def hup(self):
        """SIGHUP, then wait for the reload to end (READY=1 again)."""
        self.proc.send_signal(signal.SIGHUP)
        assert "RELOADING" in self.message()
        assert self.message().get("READY") == "1"

    def lines(self, msg):
        with open(self.logpath) as f:
            return [ln for ln in f if f'msg="{msg}"' in ln or f"msg={msg} " in ln]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.sock.close()
        return self.proc.returncode


@pytest.fixture
def notified(tmp_path):
    made = []

    def make(config=None):
        n = Notified(tmp_path, config)
        made.append(n)
        return n

    yield make
    for n in made:
        assert n.stop() == 0


def peer_cert(n):
    ctx = ssl.create_default_context(cafile=n.tls_ca)
    with socket.create_connection(("127.0.0.1", n.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return x509.load_der_x509_certificate(s.getpeercert(True))


def new_listener_cert(n):
    """A fresh key and certificate for the listener, signed by the CA's
    listener CA (tls/ca.key), written over tls/server.{pem,key}."""
    tls = os.path.join(n.dir, "tls")
    with open(os.path.join(tls, "ca.pem"), "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(tls, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(
                x509.NameOID.COMMON_NAME, "reloaded listener")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(san, critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    keypem = key.private_bytes(serialization.Encoding.PEM,
                               serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    # Replaced the way an operator's tool does: a new file renamed over.
    for name, data in (("server.key", keypem), ("server.pem", pem)):
        tmp = os.path.join(tls, name + ".new")
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.rename(tmp, os.path.join(tls, name))
    return cert


def start_slow_request(n):
    """A newAccount POST whose body is only partly sent: in flight."""
    c = Client(n)
    body = json.dumps(c.signed(ec_key(), c.dir["newAccount"],
                               {"termsOfServiceAgreed": True})).encode()
    ctx = ssl.create_default_context(cafile=n.tls_ca)
    raw = socket.create_connection(("127.0.0.1", n.port), timeout=20)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    head = (f"POST /acme/new-account HTTP/1.1\r\nHost: 127.0.0.1:{n.port}\r\n"
            "Content-Type: application/jose+json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    s.sendall(head + body[:20])
    time.sleep(0.3)  # the request has started (headers read)
    return s, body[20:]


def finish(s, rest):
    s.sendall(rest)
    resp = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
    s.close()
    return resp


def test_D68_ready_after_listening_stopping_on_sigterm(notified):
    n = notified()
    msg = n.message()
    assert msg.get("READY") == "1"
    assert int(msg["MAINPID"]) == n.proc.pid
    # READY means the port answers now, not soon.
    with socket.create_connection(("127.0.0.1", n.port), timeout=2):
        pass
    n.proc.send_signal(signal.SIGTERM)
    assert n.message().get("STOPPING") == "1"
    assert n.proc.wait(timeout=20) == 0


def test_D67_sighup_serves_new_certificate_and_finishes_request_in_flight(
        notified):
    n = notified()
    assert n.message().get("READY") == "1"
    before = peer_cert(n)
    s, rest = start_slow_request(n)
    cert = new_listener_cert(n)
    n.hup()
    # A new connection gets the new certificate...
    after = peer_cert(n)
    assert after.serial_number == cert.serial_number
    assert after.serial_number != before.serial_number
    # ...while the request that started before the reload completes.
    resp = finish(s, rest)
    assert resp.startswith(b"HTTP/1.1 201"), resp[:200]
    assert len(n.lines("reloaded")) == 1
    # And the CA keeps working after it.
    assert Client(n).dir["newAccount"].endswith("/acme/new-account")


def test_D67_broken_configuration_is_refused_with_one_line(notified):
    n = notified()
    assert n.message().get("READY") == "1"
    before = peer_cert(n)
    with open(n.conf) as f:
        good = f.read()
    with open(n.conf, "w") as f:
        f.write(good.replace('"listen"', '"listen_typo"', 1))
    n.hup()
    refused = n.lines("reload refused")
    assert len(refused) == 1, refused
    assert "level=error" in refused[0] and "listen_typo" in refused[0]
    assert n.lines("reloaded") == []
    # Still serving, with the old certificate and configuration.
    assert peer_cert(n).serial_number == before.serial_number
    assert Client(n).dir["newAccount"].endswith("/acme/new-account")
    # A certificate file that is not one is refused the same way.
    with open(n.conf, "w") as f:
        f.write(good)
    with open(os.path.join(n.dir, "tls", "server.pem"), "w") as f:
        f.write("not a certificate\n")
    n.hup()
    assert len(n.lines("reload refused")) == 2
    assert peer_cert(n).serial_number == before.serial_number


def test_D67_reloadable_settings_apply_restart_only_ones_are_logged(
        notified):
    n = notified()
    assert n.message().get("READY") == "1"
    with open(n.conf) as f:
        cfg = json.load(f)
    assert "termsOfService" not in Client(n).dir.get("meta", {})
    other = free_port()
    cfg["terms_of_service"] = "https://ca.example/tos-v2"
    cfg["listen"] = f"127.0.0.1:{other}"
    cfg["log_level"] = "warn"
    with open(n.conf, "w") as f:
        json.dump(cfg, f)
    n.hup()
    # Per request: the directory names the new terms at once.
    assert Client(n).dir["meta"]["termsOfService"] == \
        "https://ca.example/tos-v2"
    # The address needs a restart: still the old one, and said so.
    restart = n.lines("restart needed")
    assert len(restart) == 1 and "key=listen" in restart[0], restart
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", other), timeout=1).close()
    # log_level warn: requests are no longer logged at info.
    count = len(n.lines("request"))
    Client(n)
    time.sleep(0.2)
    assert len(n.lines("request")) == count
