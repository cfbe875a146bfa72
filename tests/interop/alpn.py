# SPDX-License-Identifier: ISC
"""A tls-alpn-01 responder on loopback for negative tests: it presents a
certificate with a chosen acmeIdentifier digest and SAN list (str: a
dNSName, ipaddress.IPv4Address/IPv6Address: an iPAddress, or any
x509.GeneralName as it is)."""
import datetime
import ipaddress
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ACME_ID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
IP = (ipaddress.IPv4Address, ipaddress.IPv6Address)


def san(n):
    if isinstance(n, x509.GeneralName):
        return n
    return x509.IPAddress(n) if isinstance(n, IP) else x509.DNSName(n)


def challenge_cert(names, digest, critical=True):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [san(n) for n in names]), critical=False)
            .add_extension(x509.UnrecognizedExtension(
                ACME_ID, b"\x04\x20" + digest), critical=critical)
            .sign(key, hashes.SHA256()))
    return cert, key


class AlpnResponder:
    def __init__(self, port, tmpdir, names, digest, critical=True):
        cert, key = challenge_cert(names, digest, critical)
        cpath, kpath = tmpdir / "alpn-cert.pem", tmpdir / "alpn-key.pem"
        cpath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        kpath.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cpath, kpath)
        self.ctx.set_alpn_protocols(["acme-tls/1"])
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as s:
                    s.recv(1)
            except (OSError, ssl.SSLError):
                pass

    def close(self):
        self.stop = True
        try:
            # Wakes the accept() so the port is free for the next one.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)
