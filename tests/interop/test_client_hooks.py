# SPDX-License-Identifier: ISC
"""anvil's deploy hook (run after the files are in place, with the
certificate in its environment, saved for renewals, its failure
reported) and External Account Binding against pebble's EAB
configuration."""
import json
import os

import pytest

from test_client import Pebble, anvil, check_files, serial_of


def hook_script(tmp_path, exit_code=0):
    """A hook that records its environment and what the files held."""
    out = tmp_path / "hook.out"
    script = tmp_path / "hook.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"env | grep -E '^(ANVIL_|RENEWED_)' | sort >> {out}\n"
        f"openssl x509 -noout -serial -in \"$ANVIL_CERT\" >> {out}\n"
        f"echo --- >> {out}\n"
        f"exit {exit_code}\n")
    script.chmod(0o755)
    return str(script), out


def runs(out):
    text = out.read_text() if out.exists() else ""
    return [dict(line.split("=", 1) for line in block.strip().splitlines())
            for block in text.split("---") if block.strip()]


def test_deploy_hook_runs_after_issue_and_renew(validating_ca, tmp_path):
    ca = validating_ca
    state = str(tmp_path / "state")
    script, out = hook_script(tmp_path)
    r = anvil("issue", "-d", "hook.example.com", "-d", "www.hook.example.com",
              "--standalone", "--http-port", str(ca.http01_port),
              "--server", ca.directory, "--ca-bundle", ca.tls_ca,
              "--state-dir", state, "--deploy-hook", f"{script} --reload")
    assert r.returncode == 0, r.stderr
    check_files(state, "hook.example.com", open(ca.root).read())
    [env] = runs(out)
    certdir = os.path.join(state, "certs", "hook.example.com")
    assert env["ANVIL_CERT_DIR"] == certdir == env["RENEWED_LINEAGE"]
    assert env["ANVIL_DOMAINS"] == "hook.example.com www.hook.example.com"
    assert env["ANVIL_FULLCHAIN"] == os.path.join(certdir, "fullchain.pem")
    assert env["ANVIL_PRIVKEY"] == os.path.join(certdir, "privkey.pem")
    # The files were in place when it ran: it saw the new serial.
    serial = serial_of(state, "hook.example.com")
    assert int(env["serial"], 16) == serial
    assert int(env["ANVIL_SERIAL"], 16) == serial
    # Saved for renewals, and run again by them.
    with open(os.path.join(certdir, "renewal.json")) as f:
        assert json.load(f)["deploy_hook"] == f"{script} --reload"
    r = anvil("renew", "hook.example.com", "--force", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert len(runs(out)) == 2
    assert int(runs(out)[1]["serial"], 16) == serial_of(state, "hook.example.com") != serial


def test_failing_deploy_hook_is_reported(validating_ca, tmp_path):
    ca = validating_ca
    state = str(tmp_path / "state")
    script, out = hook_script(tmp_path, exit_code=3)
    r = anvil("issue", "-d", "badhook.example.com", "--standalone",
              "--http-port", str(ca.http01_port), "--server", ca.directory,
              "--ca-bundle", ca.tls_ca, "--state-dir", state,
              "--deploy-hook", script)
    # The certificate is saved, but the run fails, on one line.
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "deploy hook exited 3" in r.stderr
    check_files(state, "badhook.example.com", open(ca.root).read())
    assert len(runs(out)) == 1
    # A renewal whose hook fails records it for anvil list.
    r = anvil("renew", "badhook.example.com", "--force", "--state-dir", state)
    assert r.returncode == 1 and "deploy hook exited 3" in r.stderr
    rows = json.loads(anvil("list", "--json", "--state-dir", state).stdout)["certificates"]
    assert "deploy hook exited 3" in rows[0]["last_error"]


EAB_KID = "kid-1"
EAB_KEY = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"


@pytest.fixture
def pebble_eab(tmp_path, challtestsrv):
    """pebble with /usr/share/doc/pebble/examples' EAB configuration."""
    p = Pebble(tmp_path, challtestsrv, {
        "externalAccountBindingRequired": True,
        "externalAccountMACKeys": {EAB_KID: EAB_KEY}})
    yield p
    p.stop()


def test_S_EAB_anvil_against_pebble_eab(pebble_eab, tmp_path):
    p = pebble_eab
    state = str(tmp_path / "state")
    common = ["--standalone", "--http-port", str(p.http01_port), "--server",
              p.directory, "--ca-bundle", p.ca_bundle, "--state-dir", state,
              "--agree-tos"]
    # Without a binding pebble refuses the account: one line, its detail.
    r = anvil("issue", "-d", "eab.example.com", *common)
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "external account" in r.stderr.lower()
    # A wrong HMAC key is refused too.
    r = anvil("issue", "-d", "eab.example.com", *common, "--eab-kid", EAB_KID,
              "--eab-hmac-key=" + EAB_KEY[::-1])
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    # The right binding registers and issues.
    r = anvil("issue", "-d", "eab.example.com", *common, "--eab-kid", EAB_KID,
              "--eab-hmac-key=" + EAB_KEY)
    assert r.returncode == 0, r.stderr
    import urllib.request
    import ssl
    ctx = ssl.create_default_context(cafile=p.ca_bundle)
    root = urllib.request.urlopen(
        f"https://127.0.0.1:{p.mgmt}/roots/0", context=ctx).read().decode()
    check_files(state, "eab.example.com", root)
    # The account is reused: a second certificate needs no binding.
    r = anvil("issue", "-d", "eab2.example.com", *common)
    assert r.returncode == 0, r.stderr
