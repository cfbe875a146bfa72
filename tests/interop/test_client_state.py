# SPDX-License-Identifier: ISC
"""anvil's state directory under real conditions (issue 21, D61, D62):
parallel runs, injected I/O failures and SIGKILL at each step of a
publication or a key rollover, directories owned by someone else,
hostile webroots, lineages identified by their names, paths that work
from any directory, and one account per directory URL.  Failures are
injected into the shipped binary with an LD_PRELOAD shim compiled here.
"""
import datetime
import json
import os
import shutil
import sqlite3
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import rounds
from test_client import ANVIL, anvil
from test_client_flows import serve_dir

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Whether path ends with the value of the environment variable var. */
static int
hit(const char *path, const char *var)
{
	const char *s = getenv(var);
	size_t n, m;

	if (s == NULL || path == NULL)
		return 0;
	n = strlen(path);
	m = strlen(s);
	return n >= m && strcmp(path + n - m, s) == 0;
}

int
rename(const char *from, const char *to)
{
	int (*real)(const char *, const char *) = dlsym(RTLD_NEXT, "rename");
	const char *mode = getenv("SHIM_MODE");

	if (!hit(to, "SHIM_RENAME"))
		return real(from, to);
	if (mode != NULL && strcmp(mode, "kill-before") == 0)
		raise(SIGKILL);
	if (mode != NULL && strcmp(mode, "kill-after") == 0) {
		real(from, to);
		raise(SIGKILL);
	}
	errno = EIO;
	return -1;
}

static int
fail_tmp(const char *t)
{
	const char *s = getenv("SHIM_MKSTEMP");

	return s != NULL && strstr(t, s) != NULL;
}

int
mkstemp(char *t)
{
	int (*real)(char *) = dlsym(RTLD_NEXT, "mkstemp");

	if (fail_tmp(t)) {
		errno = ENOSPC;
		return -1;
	}
	return real(t);
}

int
mkstemp64(char *t)
{
	int (*real)(char *) = dlsym(RTLD_NEXT, "mkstemp64");

	if (fail_tmp(t)) {
		errno = ENOSPC;
		return -1;
	}
	return real(t);
}
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    d = tmp_path_factory.mktemp("shim")
    src, so = d / "shim.c", d / "shim.so"
    src.write_text(SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(so), str(src),
                    "-ldl"], check=True)
    return str(so)


def run(args, env=None, cwd=None, umask=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([ANVIL, *args], capture_output=True, text=True,
                          timeout=120, env=e, cwd=cwd,
                          preexec_fn=(lambda: os.umask(umask))
                          if umask is not None else None)


def with_shim(shim, args, **env):
    # The shim comes first, which ASan (make test-asan) refuses unless
    # told the order is fine.
    e = {"LD_PRELOAD": shim, **env}
    e["ASAN_OPTIONS"] = ":".join(
        x for x in (os.environ.get("ASAN_OPTIONS"),
                    "verify_asan_link_order=0") if x)
    return run(args, env=e)


class Site:
    """anvil-ca plus a web server on its http-01 port serving www."""

    def __init__(self, ca, tmp_path):
        self.ca = ca
        self.www = tmp_path / "www"
        self.www.mkdir()
        self.httpd = serve_dir(ca.http01_port, str(self.www))
        self.state = str(tmp_path / "state")

    def ca_args(self, state=None):
        return ["--server", self.ca.directory, "--ca-bundle", self.ca.tls_ca,
                "--state-dir", state or self.state]

    def issue(self, *names, state=None, extra=(), force=True):
        """The command line; --force: these tests issue the same names
        again on purpose (without it a certificate not due is kept,
        D75)."""
        args = ["issue", *(["--force"] if force else [])]
        for n in names:
            args += ["-d", n]
        return args + ["--webroot", str(self.www), *self.ca_args(state),
                       *extra]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site(validating_ca, tmp_path):
    s = Site(validating_ca, tmp_path)
    yield s
    s.close()


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def lineage(state, dn):
    """The files of a lineage as a reader sees them; asserts they are
    one set: the key matches the certificate, fullchain = cert + chain,
    renewal.json names the certificate's names."""
    d = os.path.join(state, "certs", dn)
    files = {f: read(os.path.join(d, f), "rb") for f in (
        "cert.pem", "chain.pem", "fullchain.pem", "privkey.pem",
        "renewal.json")}
    cert = x509.load_pem_x509_certificate(files["cert.pem"])
    key = serialization.load_pem_private_key(files["privkey.pem"], None)
    pub = (serialization.Encoding.DER,
           serialization.PublicFormat.SubjectPublicKeyInfo)
    assert cert.public_key().public_bytes(*pub) == \
        key.public_key().public_bytes(*pub), dn
    assert files["fullchain.pem"] == files["cert.pem"] + files["chain.pem"]
    sans = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(sans) == sorted(json.loads(files["renewal.json"])["names"])
    return files, cert


def accounts(state):
    return sorted(os.listdir(os.path.join(state, "accounts")))


def test_parallel_issues_renewals_and_rollovers_keep_every_set(site):
    """Item 1: 20 rounds on a fresh state directory: three first-time
    issues at once (two for the same names), then a renewal, a key
    rollover and another issue at once.  After every
    round the account works and every lineage is one set."""
    n_rounds = rounds(20, 6)
    for rnd in range(n_rounds):
        state = os.path.join(os.path.dirname(site.state), f"s{rnd}")
        first = [subprocess.Popen([ANVIL, *site.issue(n, state=state)],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for n in ("a.example.com", "b.example.com", "a.example.com")]
        for p in first:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, (rnd, err)
        second = [subprocess.Popen([ANVIL, *a], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
                  for a in (["renew", "a.example.com", "--force",
                             "--state-dir", state],
                            ["account", "rollover", *site.ca_args(state)],
                            site.issue("c.example.com", state=state))]
        for p in second:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, (rnd, err)
        assert len(accounts(state)) == 1, rnd
        r = run(["account", "show", "--json", *site.ca_args(state)])
        assert r.returncode == 0, (rnd, r.stderr)
        assert json.loads(r.stdout)["status"] == "valid"
        for dn in ("a.example.com", "b.example.com", "c.example.com"):
            lineage(state, dn)
        # a: two issues and a renewal, each its own version (a counter).
        assert sorted(os.listdir(os.path.join(
            state, "archive", "a.example.com"))) == ["1", "2", "3"]
    assert site.ca.db("SELECT count(*) FROM accounts") == [(n_rounds,)]


STEPS = ["/privkey.pem", "/cert.pem", "/chain.pem", "/fullchain.pem",
         "/renewal.json", "/certs/step.example.com"]


@pytest.mark.parametrize("mode", ["fail", "kill-before", "kill-after"])
def test_publication_is_one_set_under_failure_and_sigkill(site, shim, mode):
    """Item 2: a rename that fails (EIO), or SIGKILL just before or just
    after each rename of a publication: readers see the old set or the
    new one, never a mix, and the next run publishes normally."""
    r = run(site.issue("step.example.com"))
    assert r.returncode == 0, r.stderr
    for step in STEPS:
        before, _ = lineage(site.state, "step.example.com")
        r = with_shim(shim, site.issue("step.example.com"),
                      SHIM_RENAME=step, SHIM_MODE=mode)
        assert r.returncode != 0, (step, r.stderr)
        if mode == "fail":
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        after, _ = lineage(site.state, "step.example.com")
        if mode == "kill-after" and step == STEPS[-1]:
            assert after["privkey.pem"] != before["privkey.pem"]
        else:
            assert after == before, step
    r = run(["renew", "step.example.com", "--force", "--state-dir",
             site.state])
    assert r.returncode == 0, r.stderr
    lineage(site.state, "step.example.com")
    # Nothing a killed run left behind is listed or kept as a link.
    assert os.listdir(os.path.join(site.state, "certs")) == \
        ["step.example.com"]


def test_versions_are_numbered_not_timed(site):
    """Item 2 (review 20): three issuances within a second keep three
    versions, each a whole set."""
    serials = []
    for _ in range(3):
        r = run(site.issue("count.example.com"))
        assert r.returncode == 0, r.stderr
        serials.append(lineage(site.state, "count.example.com")[1]
                       .serial_number)
    arch = os.path.join(site.state, "archive", "count.example.com")
    assert sorted(os.listdir(arch)) == ["1", "2", "3"]
    for v, serial in zip(("1", "2", "3"), serials):
        cert = x509.load_pem_x509_certificate(
            read(os.path.join(arch, v, "cert.pem"), "rb"))
        assert cert.serial_number == serial
    assert os.readlink(os.path.join(site.state, "certs",
                                    "count.example.com")) == \
        "../archive/count.example.com/3"


def test_layout_before_D61_is_taken_over(site):
    """A lineage directory of the old layout (files in certs/NAME) is
    replaced by the symlink in one step and kept as version 0."""
    r = run(site.issue("old.example.com"))
    assert r.returncode == 0, r.stderr
    live = os.path.join(site.state, "certs", "old.example.com")
    target = os.path.join(site.state, "certs", os.readlink(live))
    os.unlink(live)
    shutil.copytree(target, live)
    shutil.rmtree(os.path.join(site.state, "archive"))
    old, _ = lineage(site.state, "old.example.com")
    r = run(["renew", "--all", "--force", "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    assert os.readlink(live) == "../archive/old.example.com/1"
    new, _ = lineage(site.state, "old.example.com")
    assert new["privkey.pem"] != old["privkey.pem"]
    assert read(os.path.join(site.state, "archive", "old.example.com", "0",
                             "privkey.pem"), "rb") == old["privkey.pem"]


def account_dir(state):
    (name,) = accounts(state)
    return os.path.join(state, "accounts", name)


@pytest.mark.parametrize("inject", [{"SHIM_MKSTEMP": "/key.pem"},
                                    {"SHIM_RENAME": "/key.pem"}])
def test_rollover_never_loses_the_account(site, shim, inject):
    """Item 3: the new key is on disk before keyChange is sent and
    becomes key.pem after the 200.  Writing it fails (ENOSPC): nothing
    is sent, the old key works.  Switching fails after the CA accepted
    it: the next run finds key.pem.new, and uses it."""
    r = run(site.issue("roll.example.com"))
    assert r.returncode == 0, r.stderr
    url = json.loads(run(["account", "show", "--json",
                          *site.ca_args()]).stdout)["url"]
    jwk = site.ca.db("SELECT jwk FROM accounts")
    r = with_shim(shim, ["account", "rollover", *site.ca_args()], **inject)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    changed = site.ca.db("SELECT jwk FROM accounts") != jwk
    assert changed == ("SHIM_RENAME" in inject)
    r = run(["account", "show", "--json", *site.ca_args()])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["url"] == url
    assert not os.path.exists(os.path.join(account_dir(site.state),
                                           "key.pem.new"))
    r = run(site.issue("roll2.example.com"))
    assert r.returncode == 0, r.stderr
    assert site.ca.db("SELECT count(*) FROM accounts") == [(1,)]


def test_account_deactivate_moves_it_aside(site):
    """Item 6: deactivate says where the account went; the next issue
    registers a new account instead of failing."""
    r = run(site.issue("deact.example.com"))
    assert r.returncode == 0, r.stderr
    old = account_dir(site.state)
    r = run(["account", "deactivate", *site.ca_args()])
    assert r.returncode == 0, r.stderr
    assert f"moved to {old}.deactivated-1" in r.stdout
    assert accounts(site.state) == [os.path.basename(old) + ".deactivated-1"]
    r = run(site.issue("deact.example.com"))
    assert r.returncode == 0, r.stderr
    assert sorted(site.ca.db("SELECT status FROM accounts")) == [(4,), (6,)]
    r = run(["account", "show", "--json", *site.ca_args()])
    assert json.loads(r.stdout)["status"] == "valid"


def test_state_directory_of_another_user_is_refused(site, tmp_path):
    """Item 4 (as root): a directory on the way that nobody owns, mode
    0777, or a state directory nobody pre-created: refused with one line,
    nothing written.  A certs/ entry pointing out of the state directory
    is refused too."""
    assert os.geteuid() == 0, "this test runs as root (CI does)"
    # list only reads: a missing state directory is not made.
    r = run(["list", "--json", "--state-dir", str(tmp_path / "none")])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["certificates"] == []
    assert not os.path.exists(tmp_path / "none")
    pub = tmp_path / "pub"
    pub.mkdir()
    os.chmod(pub, 0o777)
    os.chown(pub, 65534, 65534)
    for state in (str(pub / "anvil"), str(pub)):
        r = run(site.issue("own.example.com", state=state))
        assert r.returncode == 1
        assert r.stderr.count("\n") == 1, r.stderr
        assert f"{pub} is owned by uid 65534" in r.stderr, r.stderr
        assert os.listdir(pub) == []
    os.chown(pub, 0, 0)
    r = run(site.issue("own.example.com", state=str(pub / "anvil")))
    assert r.returncode == 1 and "writable by others" in r.stderr, r.stderr
    os.chmod(pub, 0o755)
    pre = pub / "anvil"
    pre.mkdir(mode=0o700)
    os.chown(pre, 65534, 65534)
    r = run(["renew", "--all", "--state-dir", str(pre)])
    assert r.returncode == 1 and "owned by uid 65534" in r.stderr
    os.chown(pre, 0, 0)
    r = run(site.issue("own.example.com", state=str(pre)))
    assert r.returncode == 0, r.stderr
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(pre / "certs" / "own.example.com", elsewhere)
    os.unlink(pre / "certs" / "own.example.com")
    os.symlink(str(elsewhere), pre / "certs" / "own.example.com")
    r = run(["renew", "own.example.com", "--force", "--state-dir", str(pre)])
    assert r.returncode == 1
    assert "not into anvil's archive" in r.stderr, r.stderr


def test_webroot_modes_under_umask_077(site):
    """Item 5: .well-known and acme-challenge are made 0755 whatever the
    umask, so the web server's user can read the token."""
    r = run(site.issue("umask.example.com"), umask=0o077)
    assert r.returncode == 0, r.stderr
    for d in (site.www / ".well-known",
              site.www / ".well-known" / "acme-challenge"):
        assert oct(os.stat(d).st_mode & 0o777) == oct(0o755), d
    # Directories an earlier run left 0700 are opened up too.
    for d in (site.www / ".well-known",
              site.www / ".well-known" / "acme-challenge"):
        os.chmod(d, 0o700)
    r = run(site.issue("umask2.example.com"), umask=0o077)
    assert r.returncode == 0, r.stderr
    for d in (site.www / ".well-known",
              site.www / ".well-known" / "acme-challenge"):
        assert oct(os.stat(d).st_mode & 0o777) == oct(0o755), d


def test_webroot_symlink_is_not_followed(site, tmp_path):
    """Item 5: an acme-challenge that is a symlink (made by whoever owns
    the webroot) is refused with one line; nothing is written where it
    points."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (site.www / ".well-known").mkdir()
    os.symlink(str(victim), site.www / ".well-known" / "acme-challenge")
    r = run(site.issue("link.example.com"))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "symlink" in r.stderr, r.stderr
    assert os.listdir(victim) == []


def test_lineage_is_its_name_set(site):
    """Item 12: another set of names with the same first name is a new
    lineage; case and order do not make a new one; --cert-name picks."""
    r = run(site.issue("one.example.com", "two.example.com"))
    assert r.returncode == 0, r.stderr
    r = run(site.issue("one.example.com"))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(os.path.join(site.state, "certs"))) == \
        ["one.example.com", "one.example.com-0001"]
    _, both = lineage(site.state, "one.example.com")
    _, single = lineage(site.state, "one.example.com-0001")
    r = run(site.issue("TWO.example.com", "One.Example.com"))
    assert r.returncode == 0, r.stderr
    r = run(site.issue("ONE.example.com"))
    assert r.returncode == 0, r.stderr
    for dn, old in (("one.example.com", both),
                    ("one.example.com-0001", single)):
        _, now = lineage(site.state, dn)
        assert now.serial_number != old.serial_number
        assert sorted(os.listdir(os.path.join(site.state, "archive",
                                              dn))) == ["1", "2"]
    r = run(site.issue("three.example.com",
                       extra=["--cert-name", "web"]))
    assert r.returncode == 0, r.stderr
    lineage(site.state, "web")
    assert sorted(os.listdir(os.path.join(site.state, "certs"))) == \
        ["one.example.com", "one.example.com-0001", "web"]


def test_paths_are_absolute_and_renew_runs_from_root(site, tmp_path):
    """Issue 20: relative --ca-bundle, --webroot, --state-dir and
    --deploy-hook are saved as absolute paths; "cd / && anvil renew"
    works and runs the hook."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(site.ca.tls_ca, work / "ca.pem")
    os.symlink(str(site.www), work / "www")
    hook = work / "hook.sh"
    hook.write_text("#!/bin/sh\necho \"$1\" >> \"$(dirname \"$0\")/ran\"\n")
    hook.chmod(0o755)
    r = run(["issue", "-d", "rel.example.com", "--webroot", "www",
             "--server", site.ca.directory, "--ca-bundle", "ca.pem",
             "--state-dir", "st", "--deploy-hook", "./hook.sh deployed"],
            cwd=str(work))
    assert r.returncode == 0, r.stderr
    state = str(work / "st")
    saved = json.loads(read(os.path.join(state, "certs", "rel.example.com",
                                         "renewal.json")))
    assert saved["ca_bundle"] == str(work / "ca.pem")
    assert saved["webroot"] == str(site.www)
    assert saved["deploy_hook"] == f"{work}/hook.sh deployed"
    r = run(["renew", "--all", "--force", "--state-dir", state], cwd="/")
    assert r.returncode == 0, r.stderr
    assert read(work / "ran") == "deployed\ndeployed\n"


def test_accounts_are_per_directory_url(site):
    """Issue 20: two directory URLs on one host keep two accounts; an
    account the CA no longer knows is registered again; an account of
    the layout before D61 (per host and port) is taken over."""
    r = run(site.issue("url1.example.com"))
    assert r.returncode == 0, r.stderr
    other = ["--server", site.ca.directory + "?p=2", "--ca-bundle",
             site.ca.tls_ca, "--state-dir", site.state]
    r = run(["issue", "-d", "url2.example.com", "--webroot", str(site.www),
             *other])
    assert r.returncode == 0, r.stderr
    assert len(accounts(site.state)) == 2
    assert site.ca.db("SELECT count(*) FROM accounts") == [(2,)]
    # The CA forgot the account (a reset CA): registered again.
    d = os.path.join(site.state, "accounts",
                     [a for a in accounts(site.state)
                      if json.loads(read(os.path.join(
                          site.state, "accounts", a, "account.json")))[
                              "server"] == site.ca.directory][0])
    acct = json.loads(read(os.path.join(d, "account.json")))
    acct["url"] = acct["url"].rsplit("/", 1)[0] + "/999999"
    with open(os.path.join(d, "account.json"), "w") as f:
        json.dump(acct, f)
    r = run(site.issue("url1.example.com"))
    assert r.returncode == 0, r.stderr
    assert "registering again" in r.stderr
    assert json.loads(read(os.path.join(d, "account.json")))["url"] != \
        acct["url"]
    # The layout before D61: accounts/<host_port>/ is adopted when it
    # was made for this URL.
    legacy = d.rsplit("-", 1)[0]
    os.rename(d, legacy)
    r = run(site.issue("url1.example.com"))
    assert r.returncode == 0, r.stderr
    assert os.path.isdir(d) and not os.path.exists(legacy)
    assert site.ca.db("SELECT count(*) FROM accounts") == [(2,)]


def self_signed(path, days_left, lifetime):
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dates")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(
                days=lifetime - days_left))
            .not_valid_after(now + datetime.timedelta(days=days_left))
            .sign(key, hashes.SHA256()))
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_renew_reads_dates_from_the_certificate(site):
    """Item 11: a cert.pem replaced by hand (2 days left of 90) is judged
    by its own dates: list shows them and renew --all renews it."""
    r = run(site.issue("dates.example.com"))
    assert r.returncode == 0, r.stderr
    cur = os.path.realpath(os.path.join(site.state, "certs",
                                        "dates.example.com"))
    fake = self_signed(os.path.join(cur, "cert.pem"), 2, 90)
    na = int(fake.not_valid_after.replace(
        tzinfo=datetime.timezone.utc).timestamp())
    rows = json.loads(run(["list", "--json", "--state-dir",
                           site.state]).stdout)["certificates"]
    assert rows[0]["expires"] == rfc3339(na)
    r = run(["renew", "--all", "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    _, cert = lineage(site.state, "dates.example.com")
    assert cert.serial_number != fake.serial_number


def test_ari_window_after_expiry_is_not_followed(site):
    """Item 10: a renewal window from the CA ending after notAfter does
    not delay renewal past the certificate's own schedule."""
    r = run(site.issue("late.example.com"))
    assert r.returncode == 0, r.stderr
    _, cert = lineage(site.state, "late.example.com")
    nb = int(cert.not_valid_before.replace(
        tzinfo=datetime.timezone.utc).timestamp())
    na = int(cert.not_valid_after.replace(
        tzinfo=datetime.timezone.utc).timestamp())
    path = os.path.join(site.state, "certs", "late.example.com",
                        "renewal.json")
    saved = json.loads(read(path))
    saved["ari"].update(start=na + 200 * 86400, end=na + 210 * 86400,
                        renew_at=na + 205 * 86400,
                        next_check=na + 300 * 86400)
    with open(path, "w") as f:
        json.dump(saved, f)
    rows = json.loads(run(["list", "--json", "--state-dir",
                           site.state]).stdout)["certificates"]
    assert rows[0]["renew_after"] == rfc3339(na - (na - nb) // 3)
