# SPDX-License-Identifier: ISC
"""A DNS relay that holds address queries until the test opens it.

A test that must put something in place at the client's end before the
CA validates (a slow peer holding the responder, a flood of idle
connections) points the CA's resolver here: the CA cannot learn where to
connect, and so cannot validate, before the test calls open().  Only A
and AAAA queries wait (CAA and the rest pass at once).  Queries go to
the upstream server (challtestsrv) over UDP, answers come back
unchanged; TCP is not relayed (the answers here are small)."""
import socket
import threading

HOLD = 30  # seconds a query waits for open() before it is relayed anyway
ADDRESS_TYPES = (1, 28)  # A, AAAA


def qtype(query):
    """The type of the first question of a DNS query; 0 if unreadable."""
    i = 12
    while i < len(query) and query[i] != 0:
        if query[i] & 0xC0:
            return 0
        i += 1 + query[i]
    if i + 3 > len(query):
        return 0
    return int.from_bytes(query[i + 1:i + 3], "big")


class DNSGate:
    def __init__(self, upstream_port, upstream_addr="127.0.0.1"):
        self.upstream = (upstream_addr, upstream_port)
        self.opened = threading.Event()
        self.held = threading.Event()  # a query arrived before open()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)  # to see stop()
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def open(self):
        self.opened.set()

    def _serve(self):
        while not self.stopping:
            try:
                query, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._relay, args=(query, peer),
                             daemon=True).start()

    def _relay(self, query, peer):
        if qtype(query) in ADDRESS_TYPES:
            if not self.opened.is_set():
                self.held.set()
            self.opened.wait(HOLD)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
            up.settimeout(5)
            try:
                up.sendto(query, self.upstream)
                answer = up.recv(4096)
                self.sock.sendto(answer, peer)
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.opened.set()
        self.thread.join(5)
        self.sock.close()
