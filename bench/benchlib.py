# SPDX-License-Identifier: ISC
"""The pieces bench/run and bench/profile share: the services a run
needs (pebble-challtestsrv as the DNS server, anvil-ca, pebble 2.4.0),
started on free loopback ports and stopped by PID, and the readings
taken of them (CPU from /proc/PID/stat, VmRSS, anvil-bench's JSON)."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def build_dir():
    return os.environ.get("ANVIL_BUILD", os.path.join(TOP, "build"))


def binary(name):
    sub = {"anvil-ca": "server", "anvil": "client", "anvil-bench": "bench"}
    path = os.path.join(build_dir(), "src", sub[name], name)
    if not os.access(path, os.X_OK):
        raise SystemExit(f"bench: {path} is not built (run make)")
    return path


def free_port():
    """A free port below the ephemeral range (as tests/interop does)."""
    import random
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            hi = int(f.read().split()[0]) - 1
    except (OSError, ValueError):
        hi = 32767
    for _ in range(200):
        port = random.randint(20000, hi)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def wait_port(port, proc, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def cpu_ms(pid):
    """User + system CPU of a process (all its threads), in ms."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14, 15.
    return (int(fields[11]) + int(fields[12])) * 1000.0 / CLK_TCK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Service:
    """A child process with a log file, stopped by its PID."""

    def __init__(self, name, args, workdir, env=None, port=None):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})))
        if port is not None:
            wait_port(port, self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def start_dns(workdir):
    """pebble-challtestsrv answering A queries for any name: 127.0.0.1."""
    dns, mgmt = free_port(), free_port()
    s = Service("challtestsrv", [
        "pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns}",
        "-management", f"127.0.0.1:{mgmt}", "-defaultIPv4", "127.0.0.1",
        "-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", ""],
        workdir, port=mgmt)
    s.dns_port = dns
    return s


class AnvilCA(Service):
    """anvil-ca with SQLite (WAL, durable commits: group commit, D22), its
    validator resolving through dns_port and fetching http-01 on
    http01_port."""

    def __init__(self, workdir, dns_port, http01_port, config=None,
                 exe=None):
        exe = exe or binary("anvil-ca")
        self.dir = os.path.join(workdir, "anvil-ca")
        port = free_port()
        subprocess.run([exe, "init", self.dir, "--listen",
                        f"127.0.0.1:{port}", "--allow-private-addresses",
                        "--resolver", f"127.0.0.1:{dns_port}",
                        "--http01-port", str(http01_port)],
                       check=True, capture_output=True)
        cfg_path = os.path.join(self.dir, "anvil-ca.json")
        if config:
            with open(cfg_path) as f:
                cfg = json.load(f)
            cfg.update(config)
            with open(cfg_path, "w") as f:
                json.dump(cfg, f)
        # Request log lines at info cost a write(2) each; a benchmark
        # measures the CA as an operator runs it, so they stay on.
        super().__init__("anvil-ca", [exe, "serve", "-c", cfg_path],
                         workdir, port=port)
        self.directory = f"https://127.0.0.1:{port}/directory"
        self.ca_bundle = os.path.join(self.dir, "tls", "ca.pem")
        self.db_path = os.path.join(self.dir, "anvil-ca.db")


class Pebble(Service):
    """pebble 2.4.0 as issue 5 asks: no validation sleep, no nonce
    rejection, no authorization reuse; its listener uses a TLS pair made
    by a throwaway anvil-ca init, so one CA bundle serves both servers."""

    def __init__(self, workdir, dns_port, http01_port, tls_dir):
        d = os.path.join(workdir, "pebble")
        os.makedirs(d, exist_ok=True)
        port, mgmt = free_port(), free_port()
        cfg = {"pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{mgmt}",
            "certificate": os.path.join(tls_dir, "server.pem"),
            "privateKey": os.path.join(tls_dir, "server.key"),
            "httpPort": http01_port, "tlsPort": free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        path = os.path.join(d, "pebble.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
               "PEBBLE_AUTHZREUSE": "0"}
        super().__init__("pebble", ["pebble", "-config", path, "-dnsserver",
                                    f"127.0.0.1:{dns_port}"], workdir,
                         env=env, port=port)
        self.directory = f"https://127.0.0.1:{port}/dir"
        self.ca_bundle = os.path.join(tls_dir, "ca.pem")


def run_bench(server, http01_port, args, timeout=None):
    """anvil-bench --json against server; returns (result dict, server
    CPU ms during the run).  A run that printed no JSON raises."""
    cmd = [binary("anvil-bench"), "--directory", server.directory,
           "--ca-bundle", server.ca_bundle, "--http01-port", str(http01_port),
           "--json", *[str(a) for a in args]]
    c0 = cpu_ms(server.pid)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    c1 = cpu_ms(server.pid)
    if not r.stdout.strip():
        raise RuntimeError(f"anvil-bench printed nothing: {r.stderr.strip()}")
    return json.loads(r.stdout), c1 - c0


def workdir(prefix="anvil-bench."):
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")
