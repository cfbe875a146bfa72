# SPDX-License-Identifier: ISC
"""Small loopback servers for testing anvil's own HTTPS client.

RawHTTPS is a TLS server (Python's ssl module, a throwaway CA from
`cryptography`) that hands each parsed request to a test's function and
writes back whatever bytes it returns, so a test can answer chunked, send
a body over the limit, close an idle keep-alive connection or stall.

ConnectProxy is an HTTP proxy that only does CONNECT (what curl and anvil
use for https://), optionally demanding Basic credentials, and records
every CONNECT it saw.
"""
import datetime
import ipaddress
import os
import select
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import free_port


def make_pki(d, names=("localhost",), ips=("127.0.0.1", "::1")):
    """A CA (ca.pem) and a leaf (cert.pem, key.pem) for names and ips."""
    now = datetime.datetime.now(datetime.timezone.utc)
    cakey = ec.generate_private_key(ec.SECP256R1())
    caname = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rawhttps ca")])
    ca = (x509.CertificateBuilder().subject_name(caname).issuer_name(caname)
          .public_key(cakey.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
          .sign(cakey, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in names]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(
                NameOID.COMMON_NAME, names[0] if names else "leaf")]))
            .issuer_name(caname).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), False)
            .sign(cakey, hashes.SHA256()))
    os.makedirs(d, exist_ok=True)
    pem = serialization.Encoding.PEM
    paths = {n: os.path.join(d, n) for n in ("ca.pem", "cert.pem", "key.pem")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(paths["cert.pem"], "wb") as f:
        f.write(leaf.public_bytes(pem))
    with open(paths["key.pem"], "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


class Request:
    def __init__(self, conn, index, method, target, version, headers, body):
        self.conn = conn      # connection number, from 1
        self.index = index    # request number on that connection, from 1
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body


def read_request(f):
    """One request from a binary file object, or None at the end."""
    line = f.readline(65536)
    if not line:
        return None
    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
    headers = {}
    while True:
        h = f.readline(65536).decode("latin-1").rstrip("\r\n")
        if not h:
            break
        name, _, value = h.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = f.read(int(headers.get("content-length", "0")))
    return method, target, version, headers, body


# What a handler may return after the bytes to send.
KEEP, CLOSE, STALL = "keep", "close", "stall"


class Listener:
    """A loopback listener on a free port; each connection is served by
    self._serve(sock, number) in its own thread, numbered from 1."""

    def __init__(self, host="127.0.0.1"):
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.connections = 0
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = free_port()
        self.sock.bind((host, self.port))
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop_event.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._serve, args=(c, n),
                             daemon=True).start()

    def stop(self):
        self.stop_event.set()
        self.sock.close()


class RawHTTPS(Listener):
    """handler(req) returns (bytes, KEEP|CLOSE|STALL); bytes may be b""
    (with CLOSE: hang up without answering)."""

    def __init__(self, tmp_path, handler, names=("localhost",),
                 ips=("127.0.0.1", "::1"), host="127.0.0.1"):
        self.pki = make_pki(str(tmp_path / f"pki-{free_port()}"), names, ips)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(self.pki["cert.pem"], self.pki["key.pem"])
        self.ca = self.pki["ca.pem"]
        self.sni = []  # server_name of each handshake (None without SNI)
        self.ctx.sni_callback = lambda obj, name, ctx: self.sni.append(name)
        self.handler = handler
        self.requests = []
        self.handshake_errors = 0
        Listener.__init__(self, host)
        h = f"[{host}]" if ":" in host else host
        self.base = f"https://{h}:{self.port}"

    def url(self, path="/"):
        return self.base + path

    def _serve(self, raw, n):
        raw.settimeout(30)
        try:
            c = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_errors += 1
            raw.close()
            return
        f = c.makefile("rb")
        index = 0
        try:
            while True:
                r = read_request(f)
                if r is None:
                    return
                index += 1
                req = Request(n, index, *r)
                with self.lock:
                    self.requests.append(req)
                data, then = self.handler(req)
                if data:
                    c.sendall(data)
                if then == CLOSE:
                    return
                if then == STALL:
                    self.stop_event.wait(60)
                    return
        except (ssl.SSLError, OSError, ValueError):
            return
        finally:
            f.close()
            try:
                c.close()
            except OSError:
                pass



def response(status=200, body=b"", headers=(), reason="OK", version="1.1",
             length=True):
    """A complete response with Content-Length (unless length is False)."""
    if isinstance(body, str):
        body = body.encode()
    head = f"HTTP/{version} {status} {reason}\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def chunked(body, size=7, headers=(), trailers=()):
    """A 200 response with body in chunks of size bytes, with trailers."""
    if isinstance(body, str):
        body = body.encode()
    head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    out = head.encode() + b"\r\n"
    for i in range(0, len(body), size):
        part = body[i:i + size]
        # Extensions are allowed after the size; the client ignores them.
        out += b"%x;ext=1\r\n" % len(part) + part + b"\r\n"
    out += b"0\r\n"
    for name, value in trailers:
        out += f"{name}: {value}\r\n".encode()
    return out + b"\r\n"


class ConnectProxy(Listener):
    """Tunnels CONNECT requests; records (target, Proxy-Authorization)."""

    def __init__(self, auth=None):
        self.auth = auth  # expected "Basic ..." value, or None
        self.seen = []
        Listener.__init__(self)
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, c, n):
        c.settimeout(30)
        up = None
        try:
            f = c.makefile("rb")
            r = read_request(f)
            if r is None:
                return
            method, target, _, headers, _ = r
            self.seen.append((method, target,
                              headers.get("proxy-authorization")))
            if method != "CONNECT":
                c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n"
                          b"Content-Length: 0\r\n\r\n")
                return
            if self.auth is not None and \
                    headers.get("proxy-authorization") != self.auth:
                c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                          b"Proxy-Authenticate: Basic realm=\"t\"\r\n"
                          b"Content-Length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            up = socket.create_connection((host.strip("[]"), int(port)), 10)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            # The client sends nothing before our answer, so the file
            # object holds no bytes of the tunnel.
            socks = [c, up]
            while not self.stop_event.is_set():
                ready, _, _ = select.select(socks, [], [], 1)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is c else c).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            c.close()
            if up is not None:
                up.close()

