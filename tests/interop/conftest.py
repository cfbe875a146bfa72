# SPDX-License-Identifier: ISC
"""Fixtures for the interop suite: real processes on loopback.

anvil_ca starts a real anvil-ca (init + serve) in a temporary directory on
a free port, yields a handle with its URLs and files, and stops it by PID
at the end, asserting a clean exit (SIGTERM drains and exits 0).
"""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ANVIL_BUILD", os.path.join(TOP, "build"))
ANVIL_CA = os.path.join(BUILD, "src", "server", "anvil-ca")

# `make test-asan` runs every suite again on the sanitised build, several
# times slower.  The tests that repeat a race or a crash many times run
# fewer rounds there (ROUNDS); `make test` runs them all.
SANITIZED = os.environ.get("ANVIL_SANITIZED") == "1"


def rounds(full, sanitized):
    return sanitized if SANITIZED else full


HANDED_OUT = set()  # ports free_port returned in this run


def free_port():
    """A free port below the kernel's ephemeral range, so that outgoing
    connections (which take ephemeral ports) cannot grab it between the
    moment it is chosen and the moment a test server binds it.  Never the
    same port twice in one run: two ports asked for before either is
    bound (a CA's listener and its validation ports) must differ."""
    import random
    lo = 20000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            hi = int(f.read().split()[0]) - 1
    except (OSError, ValueError):
        hi = 32767
    for _ in range(200):
        port = random.randint(lo, hi)
        if port in HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port")


def wait_port(port, proc, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def wait_dns(addr, port, proc, timeout=15.0):
    """Waits until a DNS server on UDP addr:port answers a query."""
    import struct
    query = (struct.pack(">HHHHHH", 0x5eed, 0x0100, 1, 0, 0, 0)
             + b"\x05ready\x07example\x00" + struct.pack(">HH", 1, 1))
    end = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode}")
            try:
                s.sendto(query, (addr, port))
                if s.recv(512)[:2] == query[:2]:
                    return
            except OSError:
                time.sleep(0.05)
    raise TimeoutError(f"DNS on {addr}:{port} did not answer")


class CA:
    """A running anvil-ca: URLs, files, and a look into its database."""

    def __init__(self, workdir, port, proc, log):
        self.dir = workdir
        self.port = port
        self.proc = proc
        self.log = log
        self.base = f"https://127.0.0.1:{port}"
        self.directory = self.base + "/directory"
        self.tls_ca = os.path.join(workdir, "tls", "ca.pem")
        self.root = os.path.join(workdir, "ca", "root.pem")
        self.db_path = os.path.join(workdir, "anvil-ca.db")

    def db(self, query, args=()):
        con = sqlite3.connect(self.db_path, timeout=5)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()

    def audit(self, pred, timeout=10.0):
        """The audit.log lines (parsed) once one satisfies pred: the copier
        appends a committed line within AUDIT_BATCH_MS (D44), so a test
        polls for it.  Raises AssertionError if none does in time."""
        import json
        path = os.path.join(self.dir, "audit.log")
        deadline = time.monotonic() + timeout
        while True:
            with open(path) as f:
                lines = [json.loads(ln) for ln in f if ln.strip()]
            if any(pred(e) for e in lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"no such audit line in {lines!r}")
            time.sleep(0.02)

    def restart(self):
        """Starts serve again on the same directory (after stop())."""
        self.log.close()
        self.log = open(os.path.join(self.dir, "serve.log"), "a")
        self.proc = subprocess.Popen(
            [ANVIL_CA, "serve", "-c", os.path.join(self.dir, "anvil-ca.json")],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


def init_ca(workdir, port, extra_init=(), config=None):
    """anvil-ca init, with config entries merged into anvil-ca.json;
    returns the configuration's path."""
    import json
    subprocess.run([ANVIL_CA, "init", workdir, "--listen", f"127.0.0.1:{port}",
                    "--allow-private-addresses", *extra_init],
                   check=True, capture_output=True)
    path = os.path.join(workdir, "anvil-ca.json")
    if config:
        with open(path) as f:
            cfg = json.load(f)
        cfg.update(config)
        with open(path, "w") as f:
            json.dump(cfg, f)
    return path


def start_ca(tmp_path, extra_init=(), config=None, **kw):
    """init + serve; config entries are merged into anvil-ca.json."""
    workdir = str(tmp_path / "ca")
    port = free_port()
    path = init_ca(workdir, port, extra_init, config)
    log = open(os.path.join(workdir, "serve.log"), "w")
    proc = subprocess.Popen([ANVIL_CA, "serve", "-c", path],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc)
    return CA(workdir, port, proc, log)


def serve_once(tmp_path, config):
    """init with config, then serve, which is expected to refuse the
    configuration and exit: its result."""
    path = init_ca(str(tmp_path / "ca"), free_port(), config=config)
    return subprocess.run([ANVIL_CA, "serve", "-c", path],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def anvil_ca(tmp_path):
    if not os.access(ANVIL_CA, os.X_OK):
        pytest.fail(f"{ANVIL_CA} is not built")
    ca = start_ca(tmp_path)
    yield ca
    rc = ca.stop()
    ca.log.close()
    assert rc == 0, "anvil-ca did not exit cleanly on SIGTERM"


@pytest.fixture
def ca_factory(tmp_path):
    """Starts CAs with custom configuration; stops them all at the end."""
    started = []

    def make(config=None, name="ca"):
        ca = start_ca(tmp_path / name if name != "ca" else tmp_path,
                      config=config)
        started.append(ca)
        return ca

    yield make
    for ca in started:
        assert ca.stop() == 0
        ca.log.close()


# Every pebble-challtestsrv started, so that pytest_sessionfinish can
# stop one a fixture failed to (its set-up raised before its finally).
_challtestsrvs = []


def pytest_sessionfinish(session, exitstatus):
    for srv in _challtestsrvs:
        if srv.proc.poll() is None:
            print(f"\nconftest: stopping pebble-challtestsrv pid {srv.proc.pid}"
                  " that its test left running")
            srv.stop()


class ChallTestSrv:
    """pebble-challtestsrv as the DNS server every name resolves through:
    A queries for any name answer default_ipv4 (none when "")."""

    def __init__(self, workdir, addr="127.0.0.1", dns_port=None,
                 default_ipv4="127.0.0.1"):
        self.dns_addr = addr
        self.dns_port = dns_port or free_port()
        self.mgmt_port = free_port()
        self.log = open(os.path.join(workdir, "challtestsrv.log"), "w")
        self.proc = subprocess.Popen(
            ["pebble-challtestsrv",
             "-dns01", f"{addr}:{self.dns_port}",
             "-management", f"127.0.0.1:{self.mgmt_port}",
             "-defaultIPv4", default_ipv4, "-defaultIPv6", "",
             "-http01", "", "-https01", "", "-tlsalpn01", ""],
            stdout=self.log, stderr=subprocess.STDOUT)
        _challtestsrvs.append(self)
        # Its DNS and management servers start apart: wait for both.
        wait_port(self.mgmt_port, self.proc)
        wait_dns(addr, self.dns_port, self.proc)

    def post(self, path, body):
        import json
        import urllib.request
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.mgmt_port}{path}",
            data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def challtestsrv(tmp_path):
    if shutil.which("pebble-challtestsrv") is None:
        pytest.fail("pebble-challtestsrv is not installed (scripts/install-deps)")
    srv = ChallTestSrv(str(tmp_path))
    yield srv
    srv.stop()


@pytest.fixture
def validating_ca(tmp_path, challtestsrv):
    """anvil-ca resolving through challtestsrv, validating http-01 and
    tls-alpn-01 on free loopback ports (ca.http01_port,
    ca.tls_alpn01_port)."""
    http01, alpn = free_port(), free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01), "--tls-alpn01-port", str(alpn)],
        config={"caa_identities": "anvil.test"})
    ca.http01_port = http01
    ca.tls_alpn01_port = alpn
    ca.dns = challtestsrv
    yield ca
    rc = ca.stop()
    ca.log.close()
    assert rc == 0


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server for the session (pgserver.py, D66);
    a test takes a database of its own with pg_server.createdb(name)."""
    from pgserver import PgServer
    srv = PgServer()
    yield srv
    srv.stop()
