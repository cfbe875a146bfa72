# SPDX-License-Identifier: ISC
"""A real BIND9 (named -g) on a free loopback port (or a given loopback
address and port), for the tests that
need an authoritative DNS server: DNSSEC-signed zones, RFC 2136 updates.
The caller writes zone files into named.dir and passes the zone and key
statements; Named writes named.conf around them, starts named, waits until
it answers, and stops it by PID."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import free_port


class Named:
    def __init__(self, d, addr="127.0.0.1", port=None):
        if shutil.which("named") is None:
            pytest.fail("bind9 is not installed (scripts/install-deps)")
        os.makedirs(d, exist_ok=True)
        self.dir = d
        self.addr = addr
        self.port = port or free_port()
        self.conf = os.path.join(d, "named.conf")
        self.proc = None
        self.log = None
        self.starts = 0

    def configure(self, statements):
        """named.conf: loopback on self.port, no recursion, no
        validation, no rndc channel (its fixed port 953 would clash
        between instances), then statements (zones, keys) as given."""
        with open(self.conf, "w") as f:
            f.write(f"""options {{
    directory "{self.dir}";
    listen-on port {self.port} {{ {self.addr}; }};
    listen-on-v6 {{ none; }};
    pid-file "{self.dir}/named.pid";
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
{statements}
""")

    def dig(self, *args):
        """dig at this server (bind9-dnsutils); returns stdout."""
        return subprocess.run(["dig", "+time=1", "+tries=1", "-p",
                               str(self.port), "@" + self.addr, *args],
                              capture_output=True, text=True).stdout

    def _answer(self, name, rtype, tries):
        out = subprocess.run(["dig", "+time=2", f"+tries={tries}", "+noall",
                              "+answer", "+comments", "-p", str(self.port),
                              "@" + self.addr, rtype, name],
                             capture_output=True, text=True).stdout
        if "->>HEADER<<-" not in out:
            return None
        return [l.split() for l in out.splitlines()
                if l.strip() and not l.startswith(";")]

    def records(self, name, rtype):
        """The answer section for name/rtype as lists of fields; fails
        the test when named does not answer at all (an empty list is a
        real empty answer, not a timeout)."""
        rrs = self._answer(name, rtype, 3)
        assert rrs is not None, f"no answer from named for {name} {rtype}"
        return rrs

    def wait_up(self, zone):
        """Until named answers the SOA of zone (a reply, not dig's
        "connection refused" line)."""
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"named exited with {self.proc.returncode}")
            if any(rr[3] == "SOA" for rr in self._answer(zone, "SOA", 1) or []):
                return
            time.sleep(0.1)
        raise TimeoutError("named did not start")

    def start(self, zone):
        """Starts named and waits until it serves zone."""
        self.starts += 1
        name = "named.log" if self.starts == 1 else f"named{self.starts}.log"
        self.log = open(os.path.join(self.dir, name), "w")
        self.proc = subprocess.Popen(["named", "-g", "-c", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.wait_up(zone)
        except BaseException:
            self.stop()  # a named that never served is not left running
            raise

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.log.close()
            self.proc = None

    def restart(self, zone):
        self.stop()
        self.start(zone)
