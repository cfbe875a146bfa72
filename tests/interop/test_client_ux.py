# SPDX-License-Identifier: ISC
"""What the client says and does for a new admin (issue 20, D75, D76):
an "anvil issue" run twice keeps the certificate that is not due,
--dry-run saves nothing, usage mistakes are one named line, help goes
to stdout, and renew/list always say what they did."""
import json
import os
import subprocess

import pytest

from test_client import anvil
from test_client_state import Site, lineage, run


@pytest.fixture
def site(validating_ca, tmp_path):
    s = Site(validating_ca, tmp_path)
    yield s
    s.close()


def versions(state, dn):
    return sorted(os.listdir(os.path.join(state, "archive", dn)))


def test_issue_twice_keeps_a_certificate_not_due(site):
    """A2/A19: the same names (any case, any order) a second time keep
    the certificate, exit 0 and say until when; --force reissues."""
    r = run(site.issue("b.example.com", "a.example.com"))
    assert r.returncode == 0, r.stderr
    _, first = lineage(site.state, "b.example.com")
    r = run(site.issue("A.example.com", "B.Example.com", force=False))
    assert r.returncode == 0, r.stderr
    assert "not due until" in r.stdout, r.stdout
    assert versions(site.state, "b.example.com") == ["1"]
    r = run(site.issue("a.example.com", "b.example.com", extra=["--json"],
                       force=False))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "not_due" and out["name"] == "b.example.com"
    assert out["renew_after"] < out["not_after"]
    _, same = lineage(site.state, "b.example.com")
    assert same.serial_number == first.serial_number
    r = run(site.issue("a.example.com", "b.example.com", force=False,
                       extra=["--force"]))
    assert r.returncode == 0, r.stderr
    assert versions(site.state, "b.example.com") == ["1", "2"]
    _, again = lineage(site.state, "b.example.com")
    assert again.serial_number != first.serial_number


def test_dry_run_issues_and_saves_nothing(site):
    """--dry-run goes through order, validation and finalization and
    writes no certificate, no lineage, runs no hook."""
    hook = os.path.join(str(site.www), "..", "hook-ran")
    r = run(site.issue("dry.example.com", force=False, extra=[
        "--dry-run", "--deploy-hook", f"touch {hook}"]))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("dry run: the CA issued dry.example.com"), \
        r.stdout
    assert not os.path.exists(os.path.join(site.state, "certs",
                                           "dry.example.com"))
    assert not os.path.exists(os.path.join(site.state, "archive",
                                           "dry.example.com"))
    assert not os.path.exists(hook)
    # After a real issuance, --dry-run still goes to the CA.
    r = run(site.issue("dry.example.com"))
    assert r.returncode == 0, r.stderr
    r = run(site.issue("dry.example.com", force=False,
                       extra=["--dry-run", "--json"]))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "dry_run"
    assert versions(site.state, "dry.example.com") == ["1"]


MISTAKES = [
    ([], "no command given"),
    (["bogus"], 'unknown command "bogus"'),
    (["issue", "-d", "x.example"], "no solver given"),
    (["issue", "--standalone"], "no name given"),
    (["issue", "-d", "x.example", "--standalone", "--webroot", "/tmp"],
     "give one solver, not 2"),
    (["issue", "-d", "x.example", "--standalone", "--bogus"],
     "unknown option --bogus"),
    (["issue", "-d", "x.example", "--server"],
     "option --server needs a value"),
    (["issue", "-d", "*.x.example", "--standalone", "--server",
      "https://127.0.0.1:1/dir"],
     "*.x.example: wildcards need dns-01: use --dns-hook or --dns-rfc2136"),
    (["issue", "-d", "x.example", "--standalone", "--eab-kid", "k"],
     "--eab-kid and --eab-hmac-key go together"),
    (["renew"], "name a certificate or use --all"),
    (["revoke"], "name a certificate or use --cert FILE"),
    (["account"], "no action given"),
    (["account", "update"], "account update needs --email ADDR"),
    (["account", "bogus"], 'unknown action "bogus"'),
    (["list", "extra"], 'unexpected argument "extra"'),
    (["delete"], "name a certificate"),
]


@pytest.mark.parametrize("args,line", MISTAKES,
                         ids=[" ".join(a) or "none" for a, _ in MISTAKES])
def test_usage_mistake_is_named_on_one_line(args, line):
    """A6: the first line names the mistake, a short synopsis follows
    (not the whole usage), exit 2, nothing on stdout.  The wildcard
    is refused before any CA is contacted (the server is port 1)."""
    r = anvil(*args)
    assert r.returncode == 2, r
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0].startswith("anvil: " + line), r.stderr
    assert lines[1].startswith("usage: anvil")
    assert len(lines) <= 3


@pytest.mark.parametrize("cmd", ["", "issue", "renew", "revoke", "list",
                                 "profiles", "account", "delete"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_goes_to_stdout(cmd, flag):
    """A5: help on stdout, exit 0, one line per option."""
    r = anvil(*([cmd] if cmd else []), flag)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith("usage: anvil")
    if cmd:
        opts = [ln for ln in r.stdout.splitlines() if ln.startswith("  -")]
        assert any(ln.startswith("  --state-dir") or
                   ln.startswith("  --server") for ln in opts)
        assert any(ln.startswith("  -h, --help") for ln in opts)
    if cmd == "issue":
        for opt in ("--force", "--dry-run", "--webroot DIR", "--dns-hook"):
            assert f"  {opt}" in r.stdout


def test_renew_and_list_say_what_they_did(site, tmp_path):
    """A8/A9/A16/A19: nothing managed is said; a not-due certificate is
    named with its date; --json is one object with renewed, skipped
    and failed (each with its reason); list is sorted, with paths,
    days left and status, revoked marked."""
    empty = str(tmp_path / "empty")
    r = run(["renew", "--all", "--state-dir", empty])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("nothing managed here"), r.stdout
    r = run(["list", "--state-dir", empty])
    assert r.returncode == 0 and r.stdout.startswith("nothing managed here")
    for n in ("b.example.com", "a.example.com", "c.example.com"):
        assert run(site.issue(n)).returncode == 0
    r = run(["renew", "--all", "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines[:3]] == \
        ["a.example.com", "b.example.com", "c.example.com"]
    assert all(": not due until 20" in ln for ln in lines[:3])
    assert lines[3] == "renewed 0, not due 3, failed 0"
    # One lineage renews, one fails (its renewal.json names no server).
    broken = os.path.join(site.state, "certs", "c.example.com",
                          "renewal.json")
    saved = json.loads(open(broken).read())
    del saved["server"]
    open(broken, "w").write(json.dumps(saved))
    r = run(["renew", "--all", "--force", "--json", "--state-dir",
             site.state])
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert sorted(x["name"] for x in out["renewed"]) == \
        ["a.example.com", "b.example.com"]
    assert out["renewed"][0]["serial"] and out["renewed"][0]["not_after"]
    assert out["skipped"] == []
    assert out["failed"] == [{"name": "c.example.com",
                              "reason": "renewal.json is incomplete"}]
    r = run(["renew", "a.example.com", "--json", "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["renewed"] == [] and out["failed"] == []
    assert out["skipped"][0]["reason"].startswith("not due until 20")
    r = run(["revoke", "b.example.com", "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    r = run(["list", "--json", "--state-dir", site.state])
    certs = json.loads(r.stdout)["certificates"]
    assert [c["name"] for c in certs] == \
        ["a.example.com", "b.example.com", "c.example.com"]
    status = {c["name"]: c["status"] for c in certs}
    assert status == {"a.example.com": "valid", "b.example.com": "revoked",
                      "c.example.com": "valid"}
    a = certs[0]
    assert a["fullchain"] == os.path.join(site.state, "certs",
                                          "a.example.com", "fullchain.pem")
    assert os.path.isfile(a["fullchain"]) and os.path.isfile(a["privkey"])
    assert 80 <= a["days_left"] <= 90
    r = run(["list", "--state-dir", site.state])
    assert r.stdout.splitlines()[0].startswith(
        "a.example.com: valid, %d days left" % a["days_left"])
    assert "b.example.com: revoked" in r.stdout
    assert f"  fullchain: {a['fullchain']}" in r.stdout
    assert r.stdout.splitlines()[-1] == \
        f"3 certificate(s) in {site.state}"


def test_hints_where_users_get_stuck(site, tmp_path):
    """A18/A20/A12: a private CA without --ca-bundle, a URL that is not
    a directory, a state directory that cannot be made, and a dns hook
    that went missing each end in one line with the way out."""
    base = ["issue", "-d", "hint.example.com", "--webroot", str(site.www)]
    r = run([*base, "--server", site.ca.directory, "--state-dir",
             site.state])
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1, r.stderr
    assert "TLS certificate verification failed" in r.stderr
    assert r.stderr.rstrip().endswith(
        "(a private CA? pass --ca-bundle FILE with its root certificate)")
    url = site.ca.directory.rsplit("/", 1)[0] + "/not-a-directory"
    r = run([*base, "--server", url, "--ca-bundle", site.ca.tls_ca,
             "--state-dir", site.state])
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1, r.stderr
    assert f"directory {url}: HTTP 404 (is this an ACME directory URL?)" \
        in r.stderr, r.stderr
    r = run([*base, *site.ca_args(state="/proc/self/anvil-state")])
    assert r.returncode == 1
    assert r.stderr.startswith("anvil: state directory /proc/self/"), \
        r.stderr
    assert r.stderr.rstrip().endswith("(choose another with --state-dir DIR)")
    # A hook that does not exist is named as missing, not "not
    # executable": at issue time (a usage error) and at renewal.
    r = run(["issue", "-d", "hook.example.com", "--dns-hook",
             str(tmp_path / "no-hook"), *site.ca_args()])
    assert r.returncode == 2
    assert "no-hook: No such file or directory" in r.stderr
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    os.makedirs(os.path.join(site.state, "certs"))
    r = run(site.issue("moved.example.com"))
    assert r.returncode == 0, r.stderr
    rj = os.path.join(site.state, "certs", "moved.example.com",
                      "renewal.json")
    saved = json.loads(open(rj).read())
    saved.update(solver="dns-hook", dns_hook=str(tmp_path / "gone.sh"))
    open(rj, "w").write(json.dumps(saved))
    r = run(["renew", "moved.example.com", "--force", "--state-dir",
             site.state])
    assert r.returncode == 1
    assert f"dns hook {tmp_path}/gone.sh does not exist" in r.stderr, \
        r.stderr


def test_D45_default_build_links_the_shared_openssl():
    """A15: a build configured without options links the system's
    OpenSSL (security updates reach anvil without a rebuild); the static
    link is an option."""
    from conftest import TOP
    out = subprocess.run(["meson", "introspect", "--buildoptions",
                          os.path.join(TOP, "meson.build")],
                         capture_output=True, text=True, check=True).stdout
    opt = [o for o in json.loads(out) if o["name"] == "client_static_crypto"]
    assert [o["value"] for o in opt] == [False]


def run_tty(args, answer, env=None):
    """anvil with a terminal on stdin and stderr (a pty), answering the
    question with answer; (exit status, what the terminal showed)."""
    import pty
    import select
    from test_client import ANVIL
    master, slave = pty.openpty()
    p = subprocess.Popen([ANVIL, *args], stdin=slave, stdout=subprocess.PIPE,
                         stderr=slave, env=dict(os.environ, **(env or {})))
    os.close(slave)
    shown = b""
    while b"[y/N]" not in shown:
        r, _, _ = select.select([master], [], [], 30)
        assert r, shown
        shown += os.read(master, 1024)
    os.write(master, answer.encode() + b"\n")
    p.wait(timeout=60)
    try:
        while select.select([master], [], [], 0.5)[0]:
            shown += os.read(master, 1024)
    except OSError:
        pass
    os.close(master)
    return p.returncode, shown.decode()


def test_environment_defaults_delete_and_deactivate_confirmation(site):
    """A14/A13/A5: ANVIL_SERVER, ANVIL_CA_BUNDLE, ANVIL_STATE_DIR and
    ANVIL_EMAIL stand for the options; delete stops managing a
    certificate; deactivate and delete ask at a terminal (no keeps
    everything), --yes or no terminal does not ask."""
    env = {"ANVIL_SERVER": site.ca.directory,
           "ANVIL_CA_BUNDLE": site.ca.tls_ca, "ANVIL_STATE_DIR": site.state,
           "ANVIL_EMAIL": "admin@example.com"}
    r = run(["issue", "-d", "env.example.com", "--webroot", str(site.www)],
            env=env)
    assert r.returncode == 0, r.stderr
    lineage(site.state, "env.example.com")
    r = run(["account", "show"], env=env)
    assert r.returncode == 0, r.stderr
    assert "mailto:admin@example.com" in r.stdout, r.stdout
    # The command line wins over the environment.
    r = run(["list", "--state-dir", site.state + "-other"], env=env)
    assert r.stdout.startswith("nothing managed here"), r.stdout
    rc, shown = run_tty(["delete", "env.example.com"], "n", env)
    assert rc == 1 and "not deleted" in shown, shown
    lineage(site.state, "env.example.com")
    r = run(["delete", "env.example.com"], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("deleted env.example.com"), r.stdout
    assert not os.path.lexists(os.path.join(site.state, "certs",
                                            "env.example.com"))
    assert not os.path.exists(os.path.join(site.state, "archive",
                                           "env.example.com"))
    r = run(["delete", "env.example.com"], env=env)
    assert r.returncode == 1 and "no certificate env.example.com" in \
        r.stderr, r.stderr
    rc, shown = run_tty(["account", "deactivate"], "n", env)
    assert rc == 1 and "account not deactivated" in shown, shown
    assert run(["account", "show"], env=env).returncode == 0
    r = run(["account", "deactivate", "--yes"], env=env)
    assert r.returncode == 0, r.stderr
    assert "deactivated" in r.stdout


def test_renew_name_saves_options_and_runs_hooks_once(site, tmp_path):
    """A10/A7: renew NAME takes the issuance options that can change and
    keeps them in renewal.json (paths absolute); pre and post hooks run
    once per run around the renewals; STATE/hooks/deploy/ applies to
    every certificate; renew, revoke accept --agree-tos."""
    log = tmp_path / "log"
    for n in ("a.example.com", "b.example.com"):
        assert run(site.issue(n)).returncode == 0
    hooks = ["--pre-hook", f"echo pre >> {log}", "--post-hook",
             f"echo post >> {log}"]
    r = run(["renew", "a.example.com", "--deploy-hook",
             f"echo deployed-a >> {log}", *hooks, "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    assert "a.example.com: saved for this and later renewals" in r.stdout
    assert "a.example.com: not due until" in r.stdout
    r = run(["renew", "b.example.com", *hooks, "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    assert not log.exists()  # nothing was due: no hook ran
    saved = json.loads(open(os.path.join(
        site.state, "certs", "a.example.com", "renewal.json")).read())
    assert saved["deploy_hook"] == f"echo deployed-a >> {log}"
    assert saved["pre_hook"] == f"echo pre >> {log}"
    d = os.path.join(site.state, "hooks", "deploy")
    os.makedirs(d)
    with open(os.path.join(d, "10-log"), "w") as f:
        f.write(f"#!/bin/sh\necho \"dir $ANVIL_CERT_NAME\" >> {log}\n")
    os.chmod(os.path.join(d, "10-log"), 0o755)
    with open(os.path.join(d, "20-not-executable"), "w") as f:
        f.write(f"#!/bin/sh\necho never >> {log}\n")
    r = run(["renew", "--all", "--force", "--agree-tos", "--state-dir",
             site.state])
    assert r.returncode == 0, r.stderr
    assert log.read_text().splitlines() == [
        "pre", "deployed-a", "dir a.example.com", "dir b.example.com",
        "post"]
    # A solver change is saved and replaces the old solver's keys.
    r = run(["renew", "b.example.com", "--standalone", "--http-port",
             str(site.ca.http01_port), "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    saved = json.loads(open(os.path.join(
        site.state, "certs", "b.example.com", "renewal.json")).read())
    assert saved["solver"] == "standalone" and "webroot" not in saved
    assert saved["http_port"] == site.ca.http01_port
    # Options that change a certificate need its name; revoke has none.
    r = run(["renew", "--all", "--deploy-hook", "true", "--state-dir",
             site.state])
    assert r.returncode == 2
    assert r.stderr.startswith(
        "anvil: --deploy-hook changes one certificate: name it")
    r = run(["revoke", "a.example.com", "--webroot", "/tmp", "--state-dir",
             site.state])
    assert r.returncode == 2
    assert r.stderr.startswith("anvil: --webroot goes with renew NAME")
    r = run(["revoke", "a.example.com", "--agree-tos", "--state-dir",
             site.state])
    assert r.returncode == 0, r.stderr
    # issue runs its own pre and post hooks around validation, then
    # the hooks directory's.
    log.unlink()
    r = run(site.issue("c.example.com", extra=hooks))
    assert r.returncode == 0, r.stderr
    assert log.read_text().splitlines() == ["pre", "post",
                                            "dir c.example.com"]


def test_S_REV_revoke_with_the_certificates_own_key(site, tmp_path):
    """A7, RFC 8555 7.6: revoke --cert FILE --key FILE signs with the
    certificate's key (a jwk, no account) and needs no state directory;
    another certificate's key is refused by the CA."""
    for n in ("own.example.com", "other.example.com"):
        assert run(site.issue(n)).returncode == 0
    cert = os.path.join(site.state, "certs", "own.example.com", "cert.pem")
    other = os.path.join(site.state, "certs", "other.example.com",
                         "privkey.pem")
    nostate = str(tmp_path / "no-state")
    ca = ["--server", site.ca.directory, "--ca-bundle", site.ca.tls_ca,
          "--state-dir", nostate]
    r = run(["revoke", "--cert", cert, "--key", other, *ca])
    assert r.returncode == 1
    assert site.ca.db("SELECT count(*) FROM certs WHERE revoked_at > 0") \
        == [(0,)]
    r = run(["revoke", "--cert", cert, "--key", cert.replace(
        "cert.pem", "privkey.pem"), "--reason", "keycompromise", *ca])
    assert r.returncode == 0, r.stderr
    assert site.ca.db("SELECT reason FROM certs WHERE revoked_at > 0") == \
        [(1,)]
    assert not os.path.exists(nostate)
    r = run(["revoke", "own.example.com", "--key", other, *ca])
    assert r.returncode == 2 and "--key goes with --cert FILE" in r.stderr


def test_S_DNS_hook_styles_and_propagation_wait(site, tmp_path):
    """A12: a lego exec script (present|cleanup FQDN. VALUE) works with
    --dns-hook-style lego, certbot's CERTBOT_DOMAIN/CERTBOT_VALIDATION
    are set, the style is kept for renewals; a record that never shows
    is waited for --dns-timeout seconds with progress naming the
    server, then one line."""
    from test_client import HOOK
    log = tmp_path / "hook.log"
    wrapper = tmp_path / "lego-exec.sh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"echo \"$1 $2 $CERTBOT_DOMAIN $CERTBOT_VALIDATION\" >> {log}\n"
        f"exec {HOOK} \"$@\"\n")
    wrapper.chmod(0o755)
    dns = f"127.0.0.1:{site.ca.dns.dns_port}"
    env = {"CTS_MGMT": str(site.ca.dns.mgmt_port)}
    r = run(["issue", "-d", "lego.example.com", "--dns-hook", str(wrapper),
             "--dns-hook-style", "lego", "--dns-check-server", dns,
             *site.ca_args()], env=env)
    assert r.returncode == 0, r.stderr
    lines = [ln.split() for ln in log.read_text().splitlines()]
    assert [ln[:3] for ln in lines] == [
        ["present", "_acme-challenge.lego.example.com.", "lego.example.com"],
        ["cleanup", "_acme-challenge.lego.example.com.", "lego.example.com"]]
    assert len(lines[0][3]) == 43 and lines[0][3] == lines[1][3]
    saved = json.loads(open(os.path.join(
        site.state, "certs", "lego.example.com", "renewal.json")).read())
    assert saved["dns_hook_style"] == "lego"
    silent = tmp_path / "silent.sh"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    r = run(["issue", "-d", "slow.example.com", "--dns-hook", str(silent),
             "--dns-check-server", dns, "--dns-timeout", "2",
             *site.ca_args()])
    assert r.returncode == 1
    assert (f"anvil: waiting for _acme-challenge.slow.example.com TXT at "
            f"{dns}: 0 of 2 s") in r.stderr, r.stderr
    assert r.stderr.splitlines()[-1].endswith(
        f"_acme-challenge.slow.example.com TXT not visible at {dns} after "
        "2 s (--dns-timeout)"), r.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["init", "--help"],
                                  ["serve", "--help"], ["eab", "-h"],
                                  ["crl", "--help"], ["rotate", "--help"],
                                  ["admin", "--help"], ["ari", "--help"],
                                  ["migrate", "--help"], ["check", "-h"]])
def test_anvil_ca_help_goes_to_stdout(args):
    """Issue 20: anvil-ca's help, whole or per command, is on stdout with
    exit 0 (it was on stderr with exit 2)."""
    from conftest import ANVIL_CA
    r = subprocess.run([ANVIL_CA, *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith("usage: anvil-ca ")
    if len(args) == 2:
        assert r.stdout.startswith(f"usage: anvil-ca {args[0]}")
        assert "anvil-ca serve" not in r.stdout or args[0] == "serve"
        # One line per option: every option of the synopsis begins a
        # line of its own below it.
        import re
        lines = r.stdout.splitlines()
        opt_lines = [ln for ln in lines if re.match(r"  [^ ]", ln)]
        synopsis = " ".join(ln for ln in lines if ln not in opt_lines)
        described = {m for ln in opt_lines
                     for m in re.findall(r"--[a-z0-9-]+", ln)}
        for opt in re.findall(r"--[a-z0-9-]+", synopsis):
            assert opt in described, (opt, r.stdout)


def test_revoke_then_delete_and_reasons_listed(site):
    """A16: --delete-after-revoke stops managing the revoked certificate;
    a bad --reason lists the good ones."""
    assert run(site.issue("gone.example.com")).returncode == 0
    r = run(["revoke", "gone.example.com", "--reason", "bogus",
             "--state-dir", site.state])
    assert r.returncode == 2
    assert "(unspecified, keyCompromise, affiliationChanged, superseded, " \
        "cessationOfOperation, or 0-10)" in r.stderr
    r = run(["revoke", "gone.example.com", "--delete-after-revoke",
             "--state-dir", site.state])
    assert r.returncode == 0, r.stderr
    assert "deleted gone.example.com" in r.stdout
    assert site.ca.db("SELECT count(*) FROM certs WHERE revoked_at > 0") \
        == [(1,)]
    assert not os.path.lexists(os.path.join(site.state, "certs",
                                            "gone.example.com"))


def test_json_failure_is_one_object(site):
    """A9: with --json a failing command still prints its one object
    on stdout (status failed, the reason), besides the stderr line."""
    r = run(["issue", "-d", "fail.example.com", "--webroot", str(site.www),
             "--server", site.ca.directory, "--state-dir", site.state,
             "--json"])
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["status"] == "failed" and out["command"] == "issue"
    assert out["name"] == "fail.example.com"
    assert "TLS certificate verification failed" in out["reason"]
    r = run(["revoke", "nothing.example.com", "--json", "--state-dir",
             site.state])
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["status"] == "failed" and out["command"] == "revoke"
