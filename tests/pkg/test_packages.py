# SPDX-License-Identifier: ISC
"""The Debian packages and `make install` (D68).

Builds anvil and anvil-ca with `dpkg-buildpackage -us -uc -b` from a copy
of the tree, checks their contents, runs lintian (no errors), and installs
them with dpkg into a scratch root.  The maintainer scripts run there in
dpkg's chrootless mode (`--force-script-chrootless`, DPKG_ROOT set), which
is how Debian bootstraps a root without a shell inside it: systemd-sysusers
and systemd-tmpfiles act on the scratch root, not on this machine.  No
systemd runs here, so the units are checked with `systemd-analyze verify`
and `security --offline` against that root (--root).

The package build takes 20 s of CPU (and 1-2 min on the loaded 2-core CI
machine); it is done once for the module."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSION = "0.1.0"
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                      text=True, check=True).stdout.strip()

ANVIL_FILES = {
    "./usr/bin/anvil",
    "./usr/share/man/man1/anvil.1.gz",
    "./lib/systemd/system/anvil-renew.service",
    "./lib/systemd/system/anvil-renew.timer",
}
ANVIL_CA_FILES = {
    "./usr/bin/anvil-ca",
    "./usr/share/man/man8/anvil-ca.8.gz",
    "./usr/share/man/man5/anvil-ca.conf.5.gz",
    "./lib/systemd/system/anvil-ca.service",
    "./usr/lib/sysusers.d/anvil-ca.conf",
    "./usr/lib/tmpfiles.d/anvil-ca.conf",
    "./usr/share/doc/anvil-ca/examples/anvil-ca.json.example",
}
UNITS = ("anvil-ca.service", "anvil-renew.service", "anvil-renew.timer")


def copy_tree(dst):
    """The tracked and new (not ignored) files of the checkout, as the
    package build must not write next to it (it puts the .debs in ..)."""
    files = subprocess.run(
        ["git", "-C", TOP, "ls-files", "-z", "-co", "--exclude-standard"],
        capture_output=True, check=True).stdout
    names = [n for n in files.split(b"\0")
             if n and os.path.lexists(os.path.join(TOP.encode(), n))]
    os.makedirs(dst)
    tar = subprocess.Popen(["tar", "-C", TOP, "--null", "-T", "-", "-cf", "-"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    untar = subprocess.Popen(["tar", "-x", "-C", dst], stdin=tar.stdout)
    tar.stdout.close()
    tar.communicate(b"\0".join(names))
    assert untar.wait() == 0 and tar.returncode == 0


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("pkg")
    src = str(base / "anvil")
    copy_tree(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noddebs parallel=2")
    t0 = time.monotonic()
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                       env=env, capture_output=True, text=True)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    print(f"dpkg-buildpackage: {took:.1f} s")
    debs = {p: str(base / f"{p}_{VERSION}_{ARCH}.deb") for p in ("anvil", "anvil-ca")}
    changes = str(base / f"anvil_{VERSION}_{ARCH}.changes")
    return {"base": base, "src": src, "debs": debs, "changes": changes}


def contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                         text=True, check=True).stdout
    return {ln.split()[5] for ln in out.splitlines()}


def test_D68_packages_hold_their_files(built):
    anvil = contents(built["debs"]["anvil"])
    ca = contents(built["debs"]["anvil-ca"])
    files = lambda s: {p for p in s if not p.endswith("/")}
    assert ANVIL_FILES <= files(anvil)
    assert ANVIL_CA_FILES <= files(ca)
    # Each binary in one package only; the load generator in neither.
    assert "./usr/bin/anvil-ca" not in anvil and "./usr/bin/anvil" not in ca
    assert not any("anvil-bench" in p for p in anvil | ca)
    # The client follows the system's OpenSSL (review A15).
    dep = subprocess.run(["dpkg-deb", "-f", built["debs"]["anvil"], "Depends"],
                         capture_output=True, text=True, check=True).stdout
    assert "libssl3" in dep


def test_D68_lintian_reports_no_errors(built):
    r = subprocess.run(["lintian", "--fail-on", "error", built["changes"]],
                       capture_output=True, text=True, timeout=300)
    errors = [ln for ln in r.stdout.splitlines() if ln.startswith("E:")]
    assert r.returncode == 0 and errors == [], r.stdout + r.stderr


@pytest.fixture(scope="module")
def root(built):
    """Both packages installed by dpkg into a scratch root, maintainer
    scripts included (chrootless: they act on $DPKG_ROOT)."""
    r = str(built["base"] / "root")
    os.makedirs(os.path.join(r, "var/lib/dpkg/updates"))
    os.makedirs(os.path.join(r, "var/lib/dpkg/info"))
    os.makedirs(os.path.join(r, "etc"))
    open(os.path.join(r, "var/lib/dpkg/status"), "w").close()
    # Debian's way to say "start no service" in a root being built:
    # deb-systemd-invoke asks $DPKG_ROOT/usr/sbin/policy-rc.d (101: no).
    os.makedirs(os.path.join(r, "usr/sbin"))
    with open(os.path.join(r, "usr/sbin/policy-rc.d"), "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(os.path.join(r, "usr/sbin/policy-rc.d"), 0o755)
    # The libraries are this machine's; the scratch root has no packages.
    res = subprocess.run(
        ["dpkg", f"--root={r}", "--force-script-chrootless", "--force-depends",
         "-i", built["debs"]["anvil"], built["debs"]["anvil-ca"]],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return r


def test_D68_install_creates_user_state_dir_and_enables_units(root):
    with open(os.path.join(root, "etc/passwd")) as f:
        users = {ln.split(":")[0]: ln.split(":") for ln in f}
    assert "anvil-ca" in users
    uid, gid = int(users["anvil-ca"][2]), int(users["anvil-ca"][3])
    assert users["anvil-ca"][5] == "/var/lib/anvil-ca"
    st = os.stat(os.path.join(root, "var/lib/anvil-ca"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o700)
    # Nothing of it reached this machine.
    with pytest.raises(KeyError):
        pwd.getpwnam("anvil-ca")
    assert os.path.islink(os.path.join(
        root, "etc/systemd/system/multi-user.target.wants/anvil-ca.service"))
    assert os.path.islink(os.path.join(
        root, "etc/systemd/system/timers.target.wants/anvil-renew.timer"))
    # What the units run is where they say.
    for unit in UNITS[:2]:
        with open(os.path.join(root, "lib/systemd/system", unit)) as f:
            exe = re.search(r"^ExecStart=(\S+)", f.read(), re.M).group(1)
        assert os.access(root + exe, os.X_OK), exe
    with open(os.path.join(root, "lib/systemd/system/anvil-renew.timer")) as f:
        assert re.search(r"^RandomizedDelaySec=\S+", f.read(), re.M)


def verify_root(root):
    """systemd-analyze --root needs the targets the units name and the
    ExecReload command inside the root: this machine's are copied in."""
    units = os.path.join(root, "usr/lib/systemd/system")
    os.makedirs(units, exist_ok=True)
    for name in os.listdir("/lib/systemd/system"):
        if name.endswith((".target", ".slice")):
            shutil.copy("/lib/systemd/system/" + name, units)
    shutil.copy("/usr/bin/kill", os.path.join(root, "usr/bin/kill"))
    if not os.path.lexists(os.path.join(root, "bin")):
        os.symlink("usr/bin", os.path.join(root, "bin"))


def test_D68_units_verify_clean_and_service_exposure_at_most_2(root):
    verify_root(root)
    for unit in UNITS:
        r = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", f"--root={root}",
             os.path.join(root, "lib/systemd/system", unit)],
            capture_output=True, text=True, timeout=60)
        # Unknown keys are only warnings: the output must be empty too.
        assert r.returncode == 0 and r.stdout + r.stderr == "", \
            unit + ": " + r.stdout + r.stderr
    r = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--root={root}",
         "--no-pager", "anvil-ca.service"],
        capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for anvil-ca.service: ([0-9.]+)",
                  r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, r.stdout
    # The settings issue 19 names are in the unit itself.
    with open(os.path.join(root, "lib/systemd/system/anvil-ca.service")) as f:
        unit = f.read()
    for line in ("Type=notify", "User=anvil-ca", "ProtectSystem=strict",
                 "ReadWritePaths=/var/lib/anvil-ca", "NoNewPrivileges=yes",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "SystemCallFilter=@system-service", "PrivateTmp=yes",
                 "ExecReload=/bin/kill -HUP $MAINPID"):
        assert line + "\n" in unit, line


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_D68_packaged_ca_serves_the_example_configuration(root, tmp_path):
    """The packaged anvil-ca makes a CA and serves it with the example
    configuration (its paths and ports moved to this test's)."""
    import json
    exe = os.path.join(root, "usr/bin/anvil-ca")
    ca = str(tmp_path / "ca")
    port, crl = free_port(), free_port()
    subprocess.run([exe, "init", ca, "--listen", f"127.0.0.1:{port}"],
                   check=True, capture_output=True)
    with open(os.path.join(
            root, "usr/share/doc/anvil-ca/examples/anvil-ca.json.example")) as f:
        text = f.read().replace("/var/lib/anvil-ca", ca)
    cfg = json.loads(text)
    cfg["listen"] = f"127.0.0.1:{port}"
    cfg["crl_http_listen"] = f"127.0.0.1:{crl}"
    with open(os.path.join(ca, "anvil-ca.json"), "w") as f:
        json.dump(cfg, f)
    proc = subprocess.Popen([exe, "serve", "-c", os.path.join(ca, "anvil-ca.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < end
                time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, out


def test_D68_make_install_puts_files_where_the_contract_says(built, tmp_path):
    """`make install PREFIX=/usr DESTDIR=DIR` (issue 19's contract), on
    the meson build the package build left behind."""
    objdir = [d for d in os.listdir(built["src"]) if d.startswith("obj-")]
    assert len(objdir) == 1
    dest = str(tmp_path / "dest")
    r = subprocess.run(["make", "-C", built["src"], "install", "PREFIX=/usr",
                        f"DESTDIR={dest}", f"BUILD={objdir[0]}"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for path in ("usr/bin/anvil", "usr/bin/anvil-ca",
                 "usr/share/man/man1/anvil.1", "usr/share/man/man8/anvil-ca.8",
                 "usr/share/man/man5/anvil-ca.conf.5",
                 "lib/systemd/system/anvil-ca.service",
                 "lib/systemd/system/anvil-renew.service",
                 "lib/systemd/system/anvil-renew.timer",
                 "usr/lib/sysusers.d/anvil-ca.conf",
                 "usr/lib/tmpfiles.d/anvil-ca.conf",
                 "usr/share/doc/anvil-ca/examples/anvil-ca.json.example"):
        assert os.path.exists(os.path.join(dest, path)), path
    with open(os.path.join(dest, "lib/systemd/system/anvil-ca.service")) as f:
        assert "ExecStart=/usr/bin/anvil-ca serve" in f.read()


def unit_exec_start(root, unit):
    """ExecStart= of an installed unit as argv, its program inside root
    (one command line, no systemd specifiers: checked here)."""
    with open(os.path.join(root, "lib/systemd/system", unit)) as f:
        line = re.search(r"^ExecStart=(.+)$", f.read(), re.M).group(1)
    argv = line.split()
    assert "%" not in line and argv[0].startswith("/usr/bin/"), line
    return [root + argv[0]] + argv[1:]


def in_root(root, argv, path):
    """argv with the absolute path (as the unit names it) moved into root."""
    return [root + a if a == path or a.startswith(path + "/") else a
            for a in argv]


def x509_serial(pem_path):
    return subprocess.run(["openssl", "x509", "-noout", "-serial", "-in",
                           pem_path], capture_output=True, text=True,
                          check=True).stdout.strip().split("=")[1].lower()


def doc_command(prog):
    """The first command of docs/operations.md's "Install from packages"
    section (its indented lines) that runs prog, continuation lines
    joined, as argv from prog on (a trailing comment dropped)."""
    import shlex
    with open(os.path.join(TOP, "docs/operations.md")) as f:
        text = f.read()
    sect = text.split("## Install from packages\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln[4:] for ln in sect.splitlines() if ln.startswith("    ")]
    joined, cur = [], ""
    for ln in lines:
        cur += ln.rstrip("\\").rstrip() + " " if ln.endswith("\\") else ln
        if not ln.endswith("\\"):
            joined.append(cur)
            cur = ""
    for cmd in joined:
        argv = shlex.split(cmd, comments=True)
        # prog as the command, or as runuser's after its "--".
        for i, a in enumerate(argv):
            if a == prog and (i == 0 or argv[i - 1] == "--"):
                return argv[i:]
    raise AssertionError(f"docs/operations.md runs no {prog}")


def with_options(argv, replace=None, drop=(), add=()):
    """argv with the values of options in replace changed, the options in
    drop (with their values) left out, and add appended; each option to
    replace or drop must be in argv."""
    replace = replace or {}
    out, seen, i = [], set(), 0
    while i < len(argv):
        a = argv[i]
        if a in replace or a in drop:
            seen.add(a)
            if a in replace:
                out += [a, replace[a]]
            i += 2
            continue
        out.append(a)
        i += 1
    assert seen == set(replace) | set(drop), (argv, seen)
    return out + list(add)


def test_issue19_operations_md_from_packages_to_a_renewing_client(root,
                                                                  tmp_path):
    """Issue 19's done-when, as far as this machine goes: the commands of
    docs/operations.md ("Install from packages", "A first certificate")
    on the packages installed into the scratch root.  `anvil-ca init`
    makes the CA in the root's /var/lib/anvil-ca; anvil-ca.service's
    ExecStart (read from the installed unit) serves it with a notify
    socket as systemd would give it, until READY=1; the installed anvil
    gets a certificate into the root's /var/lib/anvil (the timer's state
    directory); the operator opens a renewal window with `anvil-ca ari
    set`, and anvil-renew.service's ExecStart renews the certificate
    (a new serial, the order names the one it replaces).  What differs
    from the document, because no systemd runs here: no runuser (the
    anvil-ca user exists in the scratch root only), systemctl start and
    the timer are stood in for by running the units' ExecStart; the CA
    listens on a free loopback port, validates on a free port and
    resolves names through pebble-challtestsrv (every name is
    127.0.0.1), which needs --allow-private-addresses."""
    import sqlite3
    ca_exe = os.path.join(root, "usr/bin/anvil-ca")
    anvil_exe = os.path.join(root, "usr/bin/anvil")
    ca_dir = os.path.join(root, "var/lib/anvil-ca")
    state = os.path.join(root, "var/lib/anvil")
    port, http01, dns = free_port(), free_port(), free_port()
    dnslog = open(tmp_path / "challtestsrv.log", "w")
    dnssrv = subprocess.Popen(
        ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns}",
         "-management", f"127.0.0.1:{free_port()}",
         "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-http01", "",
         "-https01", "", "-tlsalpn01", ""],
        stdout=dnslog, stderr=subprocess.STDOUT)
    procs = [dnssrv]
    try:
        # "Make one as that user": the document's init, in the directory
        # the package made, on a free port, with the laboratory's flags.
        doc = doc_command("anvil-ca")
        assert doc[:3] == ["anvil-ca", "init", "/var/lib/anvil-ca"], doc
        argv = with_options(
            [ca_exe, "init", ca_dir] + doc[3:],
            replace={"--listen": f"127.0.0.1:{port}"},
            add=["--resolver", f"127.0.0.1:{dns}", "--http01-port",
                 str(http01), "--allow-private-addresses"])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        conf = os.path.join(ca_dir, "anvil-ca.json")
        # The unit's condition now holds; "systemctl start anvil-ca".
        with open(os.path.join(root, "lib/systemd/system/anvil-ca.service")) as f:
            cond = re.search(r"^ConditionPathExists=(\S+)", f.read(),
                             re.M).group(1)
        assert os.path.exists(root + cond), cond
        argv = in_root(root, unit_exec_start(root, "anvil-ca.service"),
                       "/var/lib/anvil-ca")
        assert argv == [ca_exe, "serve", "-c", conf], argv
        sock_path = str(tmp_path / "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        serve_log = open(tmp_path / "serve.log", "w")
        serve = subprocess.Popen(argv, stdout=serve_log,
                                 stderr=subprocess.STDOUT,
                                 env=dict(os.environ, NOTIFY_SOCKET=sock_path))
        procs.append(serve)
        sock.settimeout(30)
        assert b"READY=1" in sock.recv(4096)

        # "A first certificate": the command init printed, as root with
        # the timer's state directory (ANVIL_STATE_DIR stands in for
        # /var/lib/anvil, root's default).
        root_pem = os.path.join(ca_dir, "ca/root.pem")
        assert f"--ca-bundle {root_pem}" in r.stdout, r.stdout
        env = dict(os.environ, ANVIL_STATE_DIR=state)
        # The document's command: the CA at this port, its root where
        # init put it, no web server to reload, http-01 on the port the
        # CA validates.
        doc = doc_command("anvil")
        assert doc[:2] == ["anvil", "issue"], doc
        argv = with_options(
            [anvil_exe] + doc[1:],
            replace={"--server": f"https://127.0.0.1:{port}/directory",
                     "--ca-bundle": root_pem},
            drop=["--deploy-hook"], add=["--http-port", str(http01)])
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=120, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        cert = os.path.join(state, "certs/www.corp.example/cert.pem")
        first = x509_serial(cert)
        r = subprocess.run(["openssl", "verify", "-CAfile", root_pem,
                            "-untrusted", os.path.join(
                                state, "certs/www.corp.example/chain.pem"),
                            cert], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr

        # A new certificate is not due for weeks: the operator opens a
        # renewal window now (operations.md, ARI), which clients see at
        # their next check, ari_retry_after (6 h) after issuance.
        r = subprocess.run([ca_exe, "ari", "set", "-c", conf, "--all",
                            "--start", "now-3600", "--end", "now-60"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        # The timer's runs: anvil-renew.service's ExecStart, as root with
        # the unit's StateDirectory; the standalone solver and its port
        # come from what issue kept in renewal.json.  The run now renews
        # nothing (not due, the window not seen yet); the run 7 h later
        # (faketime(1), the real libfaketime) sees it and renews.
        renew = in_root(root, unit_exec_start(root, "anvil-renew.service"),
                        "/var/lib/anvil")
        assert renew == [anvil_exe, "renew", "--all"], renew
        with open(os.path.join(root,
                               "lib/systemd/system/anvil-renew.service")) as f:
            assert "\nStateDirectory=anvil\n" in f.read()
        r = subprocess.run(renew, capture_output=True, text=True,
                           timeout=120, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert x509_serial(cert) == first and "not due 1" in r.stdout, \
            r.stdout + r.stderr
        r = subprocess.run(["faketime", "-f", "+7h", *renew],
                           capture_output=True, text=True, timeout=120,
                           env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        second = x509_serial(cert)
        assert second != first, r.stdout + r.stderr
        con = sqlite3.connect(os.path.join(ca_dir, "anvil-ca.db"))
        try:
            serials = {s.lstrip("0") for s, in con.execute(
                "SELECT serial FROM certs")}
            replaced = con.execute(
                "SELECT count(*) FROM orders WHERE replaces <> ''"
            ).fetchone()[0]
        finally:
            con.close()
        assert serials == {first.lstrip("0"), second.lstrip("0")}
        assert replaced == 1

        # "systemctl stop": SIGTERM, STOPPING=1, exit 0.
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        msgs = b""
        sock.settimeout(0)
        try:
            while True:
                msgs += sock.recv(4096)
        except BlockingIOError:
            pass
        assert b"STOPPING=1" in msgs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=20)
        dnslog.close()
