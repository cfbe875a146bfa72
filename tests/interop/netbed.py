# SPDX-License-Identifier: ISC
"""The production test bed (D60): anvil-ca as an operator runs it, in
network namespaces where every host has a public address.

    nb-br    bridge nb-br0 joining the four hosts below (layer 2 only)
    nb-ca    93.184.216.10  2606:2800:220:1::10   anvil-ca on :443
    nb-cli   93.184.216.20  2606:2800:220:1::20   certbot, lego, anvil
    nb-trap  93.184.216.30  2606:2800:220:1::30   holds the TRAPS
    nb-dns   93.184.216.53  2606:2800:220:1::53   BIND9 (named) on :53

Nothing routes out: no namespace has a default route and the root
namespace is not on the bridge.  anvil-ca is `anvil-ca init DIR --listen
93.184.216.10:443` unchanged: resolver "" (the system's resolver, which
inside nb-ca is /etc/netns/nb-ca/resolv.conf, naming nb-dns), validation
on ports 80 and 443, no allow_private_addresses.  named is authoritative
for the zone bed.example.org, which starts empty: names and TXT records
are added by RFC 2136 UPDATE (add_name(), nsupdate-hook, lego's and
anvil's rfc2136 solvers).

Every address in TRAPS is a listener that a validator must never reach:
the loopback ones are nb-ca's own (where a CA that dialled 127.0.0.1
would land), the others are on nb-trap's loopback, routed to it from
nb-ca.  Listeners on ports 80 and 443 in both namespaces record every
connection they accept by local address; Bed.accepts(addr) counts them.

The bed is started once per test module (fixture `bed`), serialised by an
exclusive lock on LOCK, and torn down by PID and namespace name from the
fixture finalizer, atexit, and SIGTERM/SIGHUP; at start it removes what a
crashed run left behind (namespaces named nb-*, the processes still in
them, /etc/netns/nb-*).  Code in the test process reaches into a
namespace with in_netns(), which runs a function on a thread that has
joined it (setns(2) is per thread); commands run under `ip netns exec`.
"""
import atexit
import ctypes
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from conftest import ANVIL_CA, CA

PREFIX = "nb-"
NS = ("nb-br", "nb-ca", "nb-cli", "nb-trap", "nb-dns")
NET4, NET6 = "93.184.216.", "2606:2800:220:1::"
HOST = {"nb-ca": 10, "nb-cli": 20, "nb-trap": 30, "nb-dns": 53}
CA_ADDR = NET4 + "10"
CLI_ADDR = NET4 + "20"
TRAP_ADDR = NET4 + "30"
DNS_ADDR = NET4 + "53"
ZONE = "bed.example.org"
LOCK = "/run/lock/anvil-netbed.lock"
ETC_NETNS = "/etc/netns"

# Prefixes routed from nb-ca to nb-trap: every non-loopback TRAPS address
# lies in one of them.
TRAP_ROUTES4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                "169.254.0.0/16", "100.64.0.0/10", "192.0.0.0/24",
                "198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24",
                "203.0.113.0/24"]
TRAP_ROUTES6 = ["::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16",
                "2001::/32", "fec0::/10", "100::/64", "fc00::/7",
                "2001:db8::/32"]

# (id, address a name resolves to, what it is, where a connection lands:
# (namespace, local address) or None when the kernel cannot reach it).
TRAPS = [
    ("loopback4", "127.0.0.1", "loopback", ("nb-ca", "127.0.0.1")),
    ("loopback6", "::1", "IPv6 loopback", ("nb-ca", "::1")),
    ("rfc1918-10", "10.20.0.1", "RFC 1918", ("nb-trap", "10.20.0.1")),
    ("rfc1918-172", "172.16.5.1", "RFC 1918", ("nb-trap", "172.16.5.1")),
    ("rfc1918-192", "192.168.7.1", "RFC 1918", ("nb-trap", "192.168.7.1")),
    ("linklocal4", "169.254.9.1", "link-local", ("nb-trap", "169.254.9.1")),
    ("linklocal6", "fe80::1", "IPv6 link-local (no scope: unreachable)",
     None),
    ("cgnat", "100.64.3.1", "CGNAT 100.64/10", ("nb-trap", "100.64.3.1")),
    ("ietf-192-0-0", "192.0.0.1", "IETF protocol assignments 192.0.0/24",
     ("nb-trap", "192.0.0.1")),
    ("benchmark-198-18", "198.18.0.1", "benchmarking 198.18/15",
     ("nb-trap", "198.18.0.1")),
    ("benchmark-198-19", "198.19.255.1", "benchmarking 198.18/15",
     ("nb-trap", "198.19.255.1")),
    ("testnet1", "192.0.2.1", "TEST-NET-1", ("nb-trap", "192.0.2.1")),
    ("testnet2", "198.51.100.1", "TEST-NET-2", ("nb-trap", "198.51.100.1")),
    ("testnet3", "203.0.113.1", "TEST-NET-3", ("nb-trap", "203.0.113.1")),
    ("v4mapped", "::ffff:10.20.0.2", "IPv4-mapped RFC 1918",
     ("nb-trap", "10.20.0.2")),
    ("v4compat", "::10.20.0.3", "IPv4-compatible RFC 1918",
     ("nb-trap", "::a14:3")),
    ("nat64", "64:ff9b::10.20.0.4", "NAT64 64:ff9b::/96 of RFC 1918",
     ("nb-trap", "64:ff9b::a14:4")),
    ("nat64-local", "64:ff9b:1::a14:5", "local-use NAT64 64:ff9b:1::/48",
     ("nb-trap", "64:ff9b:1::a14:5")),
    ("6to4", "2002:a14:6::1", "6to4 of RFC 1918", ("nb-trap", "2002:a14:6::1")),
    # Teredo: server 65.54.227.120, client (inverted) 10.20.0.7.
    ("teredo", "2001:0:4136:e378:8000:63bf:f5eb:fff8", "Teredo 2001::/32",
     ("nb-trap", "2001:0:4136:e378:8000:63bf:f5eb:fff8")),
    ("sitelocal", "fec0::1", "site-local fec0::/10", ("nb-trap", "fec0::1")),
    ("discard", "100::1", "discard-only 100::/64", ("nb-trap", "100::1")),
    ("ula", "fd00::1", "unique local fc00::/7", ("nb-trap", "fd00::1")),
    ("documentation6", "2001:db8::1", "documentation 2001:db8::/32",
     ("nb-trap", "2001:db8::1")),
]

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def in_netns(ns, fn, *args, **kw):
    """fn(*args, **kw) on a fresh thread that joined namespace ns: the
    sockets it creates live there (and stay there afterwards).  Returns
    what fn returned or raises what it raised."""
    out = {}

    def run():
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, f"setns {ns}: {os.strerror(e)}")
            finally:
                os.close(fd)
            out["v"] = fn(*args, **kw)
        except BaseException as e:  # handed to the caller
            out["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join()
    if "e" in out:
        raise out["e"]
    return out.get("v")


def ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def is_v6(addr):
    return ":" in addr


def leftovers():
    """Removes what a previous run left: processes in nb-* namespaces
    (started by this helper; killed by PID), the namespaces, links named
    nb-* in the root namespace, and /etc/netns/nb-*.  Called with LOCK
    held, so no live run owns any of it."""
    names = [ln.split()[0] for ln in ip("netns", "list").stdout.splitlines()
             if ln.startswith(PREFIX)]
    for ns in names:
        for pid in ip("netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        ip("netns", "del", ns, check=False)
    for ln in ip("-o", "link", "show").stdout.splitlines():
        name = ln.split(":")[1].strip().split("@")[0]
        if name.startswith(PREFIX):
            ip("link", "del", name, check=False)
    if os.path.isdir(ETC_NETNS):
        for d in os.listdir(ETC_NETNS):
            if d.startswith(PREFIX):
                shutil.rmtree(os.path.join(ETC_NETNS, d), ignore_errors=True)
        try:
            os.rmdir(ETC_NETNS)  # only when empty: it may be someone's
        except OSError:
            pass


BARRIER_SRC = {ipaddress.ip_address(CA_ADDR), ipaddress.ip_address(NET6 + "10")}


class Trap:
    """Listeners in one namespace that record every connection by
    (local address, port, peer address) and close it at once.  binds
    are (address, port) pairs to listen on, barriers the (address, port)
    pairs settle() connects to from nb-ca's public addresses: a record
    with such a peer and local address is a barrier, not a visit."""

    def __init__(self, ns, binds, barriers):
        self.seen = []
        self.barriers = barriers
        self.cond = threading.Condition()
        self.socks = in_netns(ns, self._listen, binds)
        for s in self.socks:
            threading.Thread(target=self._loop, args=(s,), daemon=True).start()

    @staticmethod
    def _listen(binds):
        socks = []
        for addr, port in binds:
            fam = socket.AF_INET6 if is_v6(addr) else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            s.listen(64)
            socks.append(s)
        return socks

    def _loop(self, s):
        while True:
            try:
                c, peer = s.accept()
            except OSError:
                return  # closed
            local = c.getsockname()
            c.close()
            with self.cond:
                self.seen.append((ipaddress.ip_address(local[0]), local[1],
                                  ipaddress.ip_address(peer[0])))
                self.cond.notify_all()

    def _is_barrier(self, rec):
        return rec[2] in BARRIER_SRC and \
            (str(rec[0]), rec[1]) in self.barriers

    def count(self, addr, port=None):
        addr = ipaddress.ip_address(addr)
        with self.cond:
            return sum(1 for r in self.seen
                       if r[0] == addr and port in (None, r[1]) and
                       not self._is_barrier(r))

    def settle(self):
        """Returns once every connection made before the call has been
        recorded: one barrier connection per listener, and a listener
        accepts in order."""
        with self.cond:
            want = sum(map(self._is_barrier, self.seen)) + len(self.barriers)
        for addr, port in self.barriers:
            src = NET6 + "10" if is_v6(addr) else CA_ADDR
            in_netns("nb-ca", _connect, addr, port, src)
        with self.cond:
            assert self.cond.wait_for(
                lambda: sum(map(self._is_barrier, self.seen)) >= want, 10)

    def clear(self):
        with self.cond:
            self.seen.clear()

    def close(self):
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def _connect(addr, port, src=None):
    fam = socket.AF_INET6 if is_v6(addr) else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        if src is not None:
            s.bind((src, 0))
        s.connect((addr, port))


def _wait_tcp(addr, port, proc, timeout=20.0):
    end = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[3]} exited with {proc.returncode}")
        try:
            _connect(addr, port)
            return
        except OSError:
            if time.monotonic() > end:
                raise TimeoutError(f"{addr}:{port} did not open")
            time.sleep(0.05)


class Bed:
    def __init__(self, workdir):
        self.dir = workdir
        self.procs = []  # (name, Popen, log) to stop by PID
        self.traps = []
        self.lockf = None
        self.ca = None
        self._down = False
        self._down_lock = threading.RLock()  # stop() may run in a handler

    # -- life cycle --------------------------------------------------

    def start(self):
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        self.lockf = open(LOCK, "w")
        end = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(self.lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    raise TimeoutError(f"another test bed holds {LOCK}")
                time.sleep(0.5)
        self._old = {s: signal.signal(s, self._on_signal)
                     for s in (signal.SIGTERM, signal.SIGHUP)}
        atexit.register(self.stop)
        leftovers()
        self._network()
        self._resolv_conf()
        ports = (80, 443)
        self.traps = [
            Trap("nb-ca", [(a, p) for a in ("127.0.0.1", "::1") for p in ports],
                 [(a, p) for a in ("127.0.0.1", "::1") for p in ports]),
            Trap("nb-trap", [(a, p) for a in ("0.0.0.0", "::") for p in ports],
                 [(a, p) for a in (TRAP_ADDR, NET6 + "30") for p in ports])]
        self._selftest()
        self._dns()
        self._ca()
        return self

    def _on_signal(self, sig, frame):
        self.stop()
        signal.signal(sig, self._old.get(sig, signal.SIG_DFL))
        os.kill(os.getpid(), sig)

    def stop(self):
        """Stops every process by PID, removes namespaces and files.
        Idempotent; safe from a signal handler or atexit."""
        with self._down_lock:
            if self._down:
                return
            self._down = True
        rcs = {}
        for name, proc, log in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            rcs[name] = proc.returncode
            log.close()
        for t in self.traps:
            t.close()
        for ns in NS:
            ip("netns", "del", ns, check=False)
        for ns in NS:
            shutil.rmtree(os.path.join(ETC_NETNS, ns), ignore_errors=True)
        try:
            os.rmdir(ETC_NETNS)
        except OSError:
            pass
        if self.lockf is not None:
            self.lockf.close()  # releases the flock
        for s, h in getattr(self, "_old", {}).items():
            if threading.current_thread() is threading.main_thread():
                signal.signal(s, h)
        self.rcs = rcs
        return rcs

    def _network(self):
        for ns in NS:
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", "nb-br", "link", "add", "nb-br0", "type", "bridge")
        ip("-n", "nb-br", "link", "set", "nb-br0", "up")
        for ns, host in HOST.items():
            port = f"nb-p{host}"
            # Both ends are created in their namespaces: nothing appears
            # in the root namespace, even for a moment.
            ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer",
               "name", port, "netns", "nb-br")
            ip("-n", "nb-br", "link", "set", port, "master", "nb-br0", "up")
            ip("-n", ns, "addr", "add", f"{NET4}{host}/24", "dev", "eth0")
            ip("-n", ns, "addr", "add", f"{NET6}{host}/64", "dev", "eth0",
               "nodad")
            ip("-n", ns, "link", "set", "eth0", "up")
        for r in TRAP_ROUTES4:
            ip("-n", "nb-ca", "route", "add", r, "via", TRAP_ADDR)
        for r in TRAP_ROUTES6:
            ip("-n", "nb-ca", "-6", "route", "add", r, "via", NET6 + "30")
        for _, _, _, land in TRAPS:
            if land is not None and land[0] == "nb-trap":
                a = land[1]
                ip("-n", "nb-trap", *(["-6"] if is_v6(a) else []), "addr",
                   "add", a + ("/128" if is_v6(a) else "/32"), "dev", "lo",
                   *(["nodad"] if is_v6(a) else []))

    def _resolv_conf(self):
        """`ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf over
        /etc/resolv.conf: the CA's and the clients' system resolver."""
        for ns in ("nb-ca", "nb-cli"):
            d = os.path.join(ETC_NETNS, ns)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "resolv.conf"), "w") as f:
                f.write(f"nameserver {DNS_ADDR}\noptions timeout:2 attempts:2\n")

    def _selftest(self):
        """Every reachable trap answers a plain connect from nb-ca, so a
        count of 0 later means the CA did not connect, not that the
        trap was unreachable."""
        for tid, addr, _, land in TRAPS:
            if land is None:
                continue
            for port in (80, 443):
                in_netns("nb-ca", _connect, addr, port)
        self.settle()
        for tid, addr, _, land in TRAPS:
            if land is not None:
                assert self.accepts(addr) == 2, (tid, addr)
        for t in self.traps:
            t.clear()

    def spawn(self, name, ns, argv, **kw):
        log = open(os.path.join(self.dir, f"{name}.log"), "w")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv],
                                stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent, **kw)
        self.procs.append((name, proc, log))
        return proc

    def _dns(self):
        """BIND9 in nb-dns, authoritative for "org" (static, so that CAA
        lookups climbing the tree end in answers) and "bed.example.org"
        (empty; names and TXT records arrive by RFC 2136 UPDATE signed
        with the TSIG key "netbed")."""
        d = os.path.join(self.dir, "bind")
        os.makedirs(d)
        key = subprocess.run(["tsig-keygen", "-a", "hmac-sha256", "netbed"],
                             check=True, capture_output=True,
                             text=True).stdout
        self.tsig_key = os.path.join(d, "netbed.key")
        with open(os.open(self.tsig_key, os.O_WRONLY | os.O_CREAT, 0o600),
                  "w") as f:
            f.write(key)
        self.tsig_secret = key.split('secret "')[1].split('"')[0]
        soa = ("$TTL 60\n@ IN SOA ns.org. admin.org. 1 3600 600 86400 1\n"
               "@ IN NS ns.org.\n")
        with open(os.path.join(d, "org.zone"), "w") as f:
            f.write(soa + f"ns IN A {DNS_ADDR}\n")
        with open(os.path.join(d, "bed.zone"), "w") as f:
            f.write(soa)
        conf = os.path.join(d, "named.conf")
        with open(conf, "w") as f:
            f.write(f"""options {{
    directory "{d}";
    listen-on port 53 {{ {DNS_ADDR}; }};
    listen-on-v6 {{ none; }};
    pid-file "{d}/named.pid";
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
{key}
zone "org" {{ type primary; file "{d}/org.zone"; }};
zone "{ZONE}" {{ type primary; file "{d}/bed.zone";
    allow-update {{ key "netbed"; }}; }};
""")
        proc = self.spawn("named", "nb-dns", ["named", "-g", "-c", conf])
        end = time.monotonic() + 20
        while " SOA " not in self.run("nb-cli", [
                "dig", "+time=1", "+tries=1", "+noall", "+answer",
                f"@{DNS_ADDR}", "SOA", ZONE]).stdout.replace("\t", " "):
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("named did not start: see named.log")
            time.sleep(0.1)

    def nsupdate(self, *ops):
        """RFC 2136 UPDATE of the bed's zone, signed, from nb-cli."""
        script = f"server {DNS_ADDR} 53\n" + "".join(
            op + "\n" for op in ops) + "send\n"
        r = subprocess.run(["ip", "netns", "exec", "nb-cli", "nsupdate",
                            "-k", self.tsig_key], input=script,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr

    @property
    def hook_env(self):
        """Environment for nsupdate-hook."""
        return {"NSUPDATE_SERVER": DNS_ADDR, "NSUPDATE_KEY": self.tsig_key}

    def _ca(self):
        workdir = os.path.join(self.dir, "ca")
        # Exactly what an operator runs: no other option.
        subprocess.run([ANVIL_CA, "init", workdir, "--listen",
                        f"{CA_ADDR}:443"], check=True, capture_output=True)
        cfg = os.path.join(workdir, "anvil-ca.json")
        proc = self.spawn("anvil-ca", "nb-ca",
                          [ANVIL_CA, "serve", "-c", cfg])
        in_netns("nb-cli", _wait_tcp, CA_ADDR, 443, proc)
        ca = CA.__new__(CA)
        ca.dir, ca.port, ca.proc = workdir, 443, proc
        ca.log = self.procs[-1][2]
        ca.base = f"https://{CA_ADDR}"
        ca.directory = ca.base + "/directory"
        ca.tls_ca = os.path.join(workdir, "tls", "ca.pem")
        ca.root = os.path.join(workdir, "ca", "root.pem")
        ca.db_path = os.path.join(workdir, "anvil-ca.db")
        with open(cfg) as f:
            ca.config = json.load(f)
        self.ca = ca

    # -- for tests ---------------------------------------------------

    def settle(self):
        """Waits until the traps have recorded every connection made so
        far; call it before reading accepts()."""
        for t in self.traps:
            t.settle()

    def accepts(self, trap_addr, port=None):
        """Connections the trap for trap_addr (a TRAPS address) accepted
        on port (default: 80 and 443)."""
        land = [t[3] for t in TRAPS if t[1] == trap_addr][0]
        return 0 if land is None else sum(t.count(land[1], port)
                                          for t in self.traps)

    def add_name(self, name, *addrs):
        """name resolves to addrs (default: the client host, nb-cli)."""
        self.add_names({name: addrs or (CLI_ADDR,)})

    def add_names(self, names):
        """{name: addresses}, in one UPDATE."""
        self.nsupdate(*(f"update add {n}. 60 {'AAAA' if is_v6(a) else 'A'} {a}"
                        for n, addrs in names.items() for a in addrs))

    def run(self, ns, argv, env=None, timeout=180):
        """A command in namespace ns, to completion."""
        return subprocess.run(["ip", "netns", "exec", ns, *argv],
                              capture_output=True, text=True,
                              timeout=timeout, preexec_fn=_die_with_parent,
                              env=dict(os.environ, **(env or {})))


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, even
    by SIGKILL, so no server outlives a run."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
