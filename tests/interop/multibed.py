# SPDX-License-Identifier: ISC
"""Three anvil-ca instances on one PostgreSQL behind HAProxy (issue 18).

One `anvil-ca init` makes the CA (keys, listener certificate, schema);
each instance serves a copy of that directory with its own listen port,
the same `base_url` (HAProxy's) and the same database, so the key
material is shared as docs/operations.md describes.  HAProxy runs in
HTTP mode: it terminates TLS with the listener certificate init made and
re-encrypts to the instances (verifying them against tls/ca.pem), and
`balance roundrobin` picks an instance per request, so the requests of
one flow land on different instances.  Every process is started here and
stopped by its PID.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

from conftest import ANVIL_CA, free_port, init_ca, wait_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


class Instance:
    """One anvil-ca of the bed; .base is its own address."""

    def __init__(self, workdir, port, admin_port=None):
        self.dir = workdir
        self.port = port
        self.admin_port = admin_port
        self.base = f"https://127.0.0.1:{port}"
        self.config = os.path.join(workdir, "anvil-ca.json")
        self.proc = None
        self.log = None

    def start(self):
        self.log = open(os.path.join(self.dir, "serve.log"), "a")
        self.proc = subprocess.Popen([ANVIL_CA, "serve", "-c", self.config],
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)

    def kill(self):
        """SIGKILL: no drain, no clean-up (a crashed machine)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        else:
            rc = self.proc.returncode
        self.log.close()
        return rc


class MultiBed:
    """The bed: .directory and .base are HAProxy's, .instances the three
    anvil-ca, .tls_ca and .root what clients trust and verify with.
    admin: each instance also gets an admin listener (.admin_port), for
    its /metrics (bench/run --postgres).  check: HAProxy's health check
    of an instance; the default marks it down at the first check not
    answered within 300 ms (a killed instance leaves the rotation at
    once), which a loaded machine's slow TLS handshake can also do."""

    def __init__(self, workdir, pg_server, dbname, challtestsrv, n=3,
                 config=None, admin=False,
                 check="inter 300ms fall 1 rise 1"):
        self.pg = pg_server
        self.dbname = dbname
        url = pg_server.createdb(dbname)
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.directory = self.base + "/directory"
        self.http01_port = free_port()
        self.dns = challtestsrv
        first = os.path.join(workdir, "i1")
        init_ca(first, free_port(), extra_init=[
            "--database", url,
            "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
            "--http01-port", str(self.http01_port)],
            config={"caa_identities": "anvil.test", "base_url": self.base,
                    **(config or {})})
        self.tls_ca = os.path.join(first, "tls", "ca.pem")
        self.root = os.path.join(first, "ca", "root.pem")
        self.instances = []
        for i in range(n):
            d = os.path.join(workdir, f"i{i + 1}")
            if i > 0:
                shutil.copytree(first, d)
            port = free_port()
            with open(os.path.join(d, "anvil-ca.json")) as f:
                text = f.read()
            cfg = json.loads(text.replace(first, d))
            cfg["listen"] = f"127.0.0.1:{port}"
            admin_port = free_port() if admin else None
            if admin:
                cfg["admin_listen"] = f"127.0.0.1:{admin_port}"
            with open(os.path.join(d, "anvil-ca.json"), "w") as f:
                json.dump(cfg, f)
            self.instances.append(Instance(d, port, admin_port))
        self.haproxy = None
        self.hadir = os.path.join(workdir, "haproxy")
        os.makedirs(self.hadir)
        self.stats = os.path.join(self.hadir, "stats.sock")
        self.check = check

    def start(self):
        for inst in self.instances:
            inst.start()
        self._start_haproxy()
        return self

    def _start_haproxy(self):
        first = self.instances[0].dir
        pem = os.path.join(self.hadir, "listener.pem")
        with open(pem, "w") as out:
            for name in ("server.pem", "server.key"):
                with open(os.path.join(first, "tls", name)) as f:
                    out.write(f.read())
        servers = "\n".join(
            f"    server i{k + 1} 127.0.0.1:{inst.port} ssl verify required"
            f" ca-file {self.tls_ca} check {self.check}"
            for k, inst in enumerate(self.instances))
        cfg = f"""global
    maxconn 512
    stats socket {self.stats} mode 600 level admin
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    # A refused connection (a killed instance) is tried on another;
    # a request once sent is never sent twice.
    retries 3
    option redispatch 1
frontend acme
    bind 127.0.0.1:{self.port} ssl crt {pem}
    default_backend anvil
backend anvil
    balance roundrobin
    http-reuse never
{servers}
"""
        path = os.path.join(self.hadir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        self.halog = open(os.path.join(self.hadir, "haproxy.log"), "w")
        # -db: stay in the foreground, so the PID is HAProxy's own.
        self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", path],
                                        stdout=self.halog,
                                        stderr=subprocess.STDOUT)
        wait_port(self.port, self.haproxy)

    def requests_per_instance(self):
        """HAProxy's count of requests sent to each instance so far."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.stats)
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        head = lines[0].lstrip("# ").split(",")
        out = {}
        for ln in lines[1:]:
            row = dict(zip(head, ln.split(",")))
            if row.get("pxname") == "anvil" and row["svname"].startswith("i"):
                out[row["svname"]] = int(row["stot"] or 0)
        return out

    def psql(self, q):
        return self.pg.psql(q, db=self.dbname).strip()

    def stop(self):
        rcs = []
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.send_signal(signal.SIGTERM)
            try:
                self.haproxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait()
            self.halog.close()
        for inst in self.instances:
            rcs.append(inst.stop())
        return rcs


def wait_for(pred, timeout=30.0):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True
