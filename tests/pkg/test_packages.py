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
