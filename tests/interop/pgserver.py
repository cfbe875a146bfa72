# SPDX-License-Identifier: ISC
"""A throwaway PostgreSQL server for tests (D66).

initdb and pg_ctl from Debian's postgresql-15 make a cluster in a
temporary directory, owned by an unprivileged user when the tests run as
root (PostgreSQL refuses to run as root), listening on a free loopback
port with trust authentication for the one user "anvil".  stop() ends
the postmaster by its PID and removes the directory.

As a program, "pgserver.py run CMD ARGS..." starts a server, runs CMD
with ANVIL_TEST_PG set to "postgresql://anvil@127.0.0.1:PORT/" (a test
appends a database name, creating it first in the database "postgres"),
stops the server and exits with CMD's status: how meson runs the store's
contract test against PostgreSQL.
"""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

USER = "anvil"


def bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs or not os.access(os.path.join(dirs[-1], "initdb"), os.X_OK):
        raise RuntimeError("PostgreSQL server binaries are not installed "
                           "(scripts/install-deps: postgresql-15)")
    return dirs[-1]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """durable: fsync and synchronous_commit on; settings: more server
    settings, "name=value" each."""

    def __init__(self, durable=False, settings=()):
        self.bin = bindir()
        root = os.geteuid() == 0
        # As root the server runs as nobody, who must reach the
        # directory: /tmp, whatever TMPDIR says.
        self.dir = tempfile.mkdtemp(prefix="anvil-pg-",
                                    dir="/tmp" if root else None)
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.pid = None
        self.user = None
        if root:
            self.user = "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(["initdb", "-D", self.data, "-U", USER, "--auth=trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        opts = [f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.dir}",
                "-c max_connections=200", "-c shared_buffers=64MB",
                *[f"-c {x}" for x in settings]]
        if not durable:
            # Tests check outcomes, not what survives a power loss.
            opts += ["-c fsync=off", "-c synchronous_commit=off",
                     "-c full_page_writes=off"]
        self.opts = " ".join(opts)
        self._start()
        self.base = f"postgresql://{USER}@127.0.0.1:{self.port}/"

    def _start(self):
        self._run(["pg_ctl", "-D", self.data, "-l",
                   os.path.join(self.dir, "server.log"), "-w", "-t", "60",
                   "-o", self.opts, "start"])
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def _kill(self):
        try:
            os.kill(self.pid, signal.SIGINT)  # fast shutdown
        except ProcessLookupError:
            pass
        end = time.monotonic() + 30
        while time.monotonic() < end and os.path.exists(f"/proc/{self.pid}"):
            time.sleep(0.05)
        if os.path.exists(f"/proc/{self.pid}"):
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    def restart(self):
        """Stops the server (by PID, a fast shutdown that closes every
        client's connection) and starts it again on the same port."""
        self._kill()
        self._start()

    def _run(self, argv):
        argv = [os.path.join(self.bin, argv[0])] + argv[1:]
        kw = {}
        if self.user is not None:
            kw = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid,
                  "extra_groups": []}
        r = subprocess.run(argv, capture_output=True, text=True, cwd=self.dir,
                           timeout=120, **kw)
        if r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {r.stdout}{r.stderr}")

    def url(self, db):
        return self.base + db

    def psql(self, sql, db="postgres"):
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-A",
                            "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url(db),
                            "-c", sql], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr}")
        return r.stdout

    def createdb(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def pids(self):
        """The postmaster and its children (for CPU accounting)."""
        out = [self.pid]
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.pid:
                out.append(int(d))
        return out

    def stop(self):
        if self.pid is not None:
            self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv):
    if len(argv) < 3 or argv[1] != "run":
        sys.stderr.write("usage: pgserver.py run CMD [ARGS...]\n")
        return 2
    srv = PgServer()
    try:
        env = dict(os.environ, ANVIL_TEST_PG=srv.base)
        return subprocess.run(argv[2:], env=env).returncode
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
