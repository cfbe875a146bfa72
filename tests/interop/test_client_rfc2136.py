# SPDX-License-Identifier: ISC
"""anvil's RFC 2136 solver (--dns-rfc2136 --tsig-key) against a real
BIND9: the zone example.net accepts updates signed with the key
"anvil-test" made by tsig-keygen, and the CA (pebble 2.4.0 or anvil-ca)
resolves through the same BIND, so a certificate is issued only if the
TXT records really were added there.  Each run also checks that the
records are gone afterwards, that the zone's serial moved (one update per
add and per delete), and what renewal.json recorded."""
import json
import os
import subprocess

import pytest
import requests
from cryptography import x509

from bindhelp import Named
from conftest import start_ca
from test_client import Pebble, anvil, anvil_env, check_files

ZONE = "example.net"  # not .test: libunbound answers that locally
NAMES = ["*.www.example.net", "www.example.net"]
CHALLENGE = "_acme-challenge.www.example.net"


def tsig_keygen(name, alg="hmac-sha256"):
    return subprocess.run(["tsig-keygen", "-a", alg, name], check=True,
                          capture_output=True, text=True).stdout


def start_ddns(d, addr="127.0.0.1", port=None):
    """BIND with "net" (static, so that CAA lookups up the tree get
    answers; ns.net is addr), "example.net" (dynamic): key "anvil-test"
    may update it, key "other-key" is known but may not; and
    "open.example.net", which takes unsigned updates from 127.0.0.1."""
    named = Named(d, addr, port)
    key = tsig_keygen("anvil-test")
    other = tsig_keygen("other-key")
    soa = "@ IN SOA ns.net. admin.net. 1 3600 600 86400 60\n@ IN NS ns.net.\n"
    with open(os.path.join(d, "net.zone"), "w") as f:
        f.write("$TTL 300\n" + soa + f"ns IN A {addr}\n")
    with open(os.path.join(d, ZONE + ".zone"), "w") as f:
        f.write("$TTL 300\n" + soa + "www IN A 127.0.0.1\n")
    with open(os.path.join(d, "open.zone"), "w") as f:
        f.write("$TTL 300\n" + soa)
    named.configure(key + other + f"""
zone "net" {{ type primary; file "{d}/net.zone"; }};
zone "{ZONE}" {{ type primary; file "{d}/{ZONE}.zone";
    allow-update {{ key "anvil-test"; }}; }};
zone "open.{ZONE}" {{ type primary; file "{d}/open.zone";
    allow-update {{ 127.0.0.1; }}; }};""")
    named.start(ZONE)
    named.keyfile = os.path.join(d, "anvil-test.key")
    write_key(named.keyfile, key)
    named.key_text = key
    named.other_key_text = other
    return named


@pytest.fixture
def ddns(tmp_path):
    named = start_ddns(str(tmp_path / "bind"))
    yield named
    named.stop()


def serial(named):
    soa = [rr for rr in named.records(ZONE, "SOA") if rr[3] == "SOA"]
    assert len(soa) == 1, soa
    return int(soa[0][6])


def txt_records(named, name=CHALLENGE):
    return [rr for rr in named.records(name, "TXT") if rr[3] == "TXT"]


def write_key(path, text, mode=0o600):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode),
              "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return str(path)


@pytest.fixture
def dns_ca(tmp_path, ddns):
    """anvil-ca resolving through the BIND of ddns, without reusing
    authorizations (so that a renewal validates again)."""
    ca = start_ca(tmp_path, extra_init=["--resolver", f"127.0.0.1:{ddns.port}"],
                  config={"authz_reuse": False})
    ca.root_pem = open(ca.root).read()
    yield ca
    assert ca.stop() == 0
    ca.log.close()


@pytest.fixture
def dns_pebble(tmp_path, ddns):
    """pebble resolving through the BIND of ddns, without reusing
    authorizations (so that a renewal validates again)."""
    class Dns:
        dns_port = ddns.port
    p = Pebble(tmp_path, Dns, env={"PEBBLE_AUTHZREUSE": "0"})
    p.tls_ca = p.ca_bundle
    p.root_pem = requests.get(f"https://127.0.0.1:{p.mgmt}/roots/0",
                              verify=p.ca_bundle).text
    yield p
    p.stop()


@pytest.mark.parametrize("ca_kind", ["pebble", "anvil-ca"])
def test_S_DNS_7_rfc2136_wildcard_and_apex_then_renew(ca_kind, request,
                                                      tmp_path, ddns):
    ca = request.getfixturevalue("dns_pebble" if ca_kind == "pebble"
                                 else "dns_ca")
    state = str(tmp_path / "state")
    before = serial(ddns)
    args = ["issue", *[a for n in NAMES for a in ("-d", n)],
            "--dns-rfc2136", f"127.0.0.1:{ddns.port}", "--tsig-key",
            ddns.keyfile, "--server", ca.directory, "--ca-bundle", ca.tls_ca,
            "--state-dir", state, "--agree-tos"]
    r = anvil(*args)
    assert r.returncode == 0, r.stdout + r.stderr
    cert = check_files(state, NAMES[0], ca.root_pem)
    names = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == sorted(NAMES)
    # Both TXT records (wildcard and apex share the name) were added and
    # deleted: four updates, each a new serial; none is left.
    assert txt_records(ddns) == []
    assert serial(ddns) >= before + 4
    saved = json.load(open(os.path.join(state, "certs", "_.www.example.net",
                                        "renewal.json")))
    assert saved["solver"] == "rfc2136"
    assert saved["rfc2136_server"] == f"127.0.0.1:{ddns.port}"
    assert saved["tsig_key"] == ddns.keyfile
    # renew --force replays it through RFC 2136.
    first = cert.serial_number
    mid = serial(ddns)
    r = anvil("renew", NAMES[0], "--force", "--state-dir", state)
    assert r.returncode == 0, r.stdout + r.stderr
    cert = check_files(state, NAMES[0], ca.root_pem)
    assert cert.serial_number != first
    assert txt_records(ddns) == []
    # At least one UPDATE added and one deleted: the two values of one
    # name may travel in one UPDATE when both authorizations are ready
    # together (seen under ASan: +2 instead of +4).
    assert serial(ddns) >= mid + 2


def test_rfc2136_tsig_failures_are_one_line(tmp_path, ddns, dns_ca):
    good = ddns.key_text
    secret = good.split('secret "')[1].split('"')[0]
    # The same length and alphabet, another secret.
    wrong = ("A" if secret[0] != "A" else "B") + secret[1:]
    cases = [
        (good.replace(secret, wrong), ["NOTAUTH", "BADSIG"]),
        (good.replace('"anvil-test"', '"nobody-knows"'),
         ["NOTAUTH", "BADKEY", "nobody-knows"]),
        (ddns.other_key_text, ["REFUSED", "other-key"]),
    ]
    before = serial(ddns)
    for i, (text, needles) in enumerate(cases):
        key = write_key(tmp_path / f"key{i}", text)
        state = tmp_path / f"s{i}"
        r = anvil("issue", "-d", "fail.www.example.net", "--dns-rfc2136",
                  f"127.0.0.1:{ddns.port}", "--tsig-key", key, "--server",
                  dns_ca.directory, "--ca-bundle", dns_ca.tls_ca,
                  "--state-dir", str(state))
        assert r.returncode == 1, r.stdout + r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        for n in needles:
            assert n in lines[0], lines[0]
        assert f"127.0.0.1:{ddns.port}" in lines[0] and ZONE in lines[0]
        assert not os.path.exists(state / "certs")
    assert serial(ddns) == before
    assert txt_records(ddns, "_acme-challenge.fail.www.example.net") == []


def test_rfc2136_unsigned_updates(tmp_path, ddns, dns_ca):
    common = ["--dns-rfc2136", f"127.0.0.1:{ddns.port}", "--server",
              dns_ca.directory, "--ca-bundle", dns_ca.tls_ca]
    # Without a key, a zone that wants one refuses, on one line.
    r = anvil("issue", "-d", "nokey.www.example.net", *common,
              "--state-dir", str(tmp_path / "s0"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "REFUSED" in lines[0], r.stderr
    assert "without a TSIG key" in lines[0]
    # A zone that allows this address takes them.
    state = str(tmp_path / "s1")
    before = [rr[6] for rr in ddns.records("open." + ZONE, "SOA")]
    r = anvil("issue", "-d", "host.open.example.net", *common,
              "--state-dir", state)
    assert r.returncode == 0, r.stdout + r.stderr
    check_files(state, "host.open.example.net", dns_ca.root_pem)
    assert txt_records(ddns, "_acme-challenge.host.open.example.net") == []
    assert [rr[6] for rr in ddns.records("open." + ZONE, "SOA")] != before
    saved = json.load(open(os.path.join(state, "certs",
                                        "host.open.example.net",
                                        "renewal.json")))
    assert saved["solver"] == "rfc2136" and "tsig_key" not in saved


@pytest.mark.parametrize("mode,text,needle", [
    (0o644, None, "chmod o-rwx"),
    (0o600, "not a key\n", "line 1"),
    (0o600, 'key "k" { algorithm hmac-md5; secret "AAAA"; };\n', "hmac-md5"),
    (0o600, 'key "k" { algorithm hmac-sha256; secret "!!"; };\n', "base64"),
    (0o600, 'key "a" { algorithm hmac-sha256; secret "AAAA"; };\n'
            'key "b" { algorithm hmac-sha256; secret "AAAA"; };\n', "second"),
])
def test_rfc2136_bad_key_file_is_a_usage_error(tmp_path, mode, text, needle):
    key = write_key(tmp_path / "k.key", text or tsig_keygen("k"), mode)
    r = anvil("issue", "-d", "x.example.net", "--dns-rfc2136", "127.0.0.1",
              "--tsig-key", key, "--server", "https://127.0.0.1:1/dir",
              "--state-dir", str(tmp_path / "s"))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and key in lines[0], r.stderr
    assert not os.path.exists(tmp_path / "s")


def test_rfc2136_option_combinations(tmp_path):
    key = write_key(tmp_path / "k.key", tsig_keygen("k"))
    base = ["issue", "-d", "x.example.net", "--state-dir", str(tmp_path / "s")]
    # --tsig-key belongs to --dns-rfc2136; solvers exclude each other.
    assert anvil(*base, "--standalone", "--tsig-key", key).returncode == 2
    assert anvil(*base, "--dns-rfc2136", "127.0.0.1", "--standalone"
                 ).returncode == 2
    assert anvil(*base, "--dns-rfc2136", "127.0.0.1", "--dns-hook",
                 "/bin/true").returncode == 2
    assert anvil(*base, "--dns-rfc2136", "127.0.0.1", "--dns-check-server",
                 "127.0.0.1").returncode == 2
    # hmac-sha1 works but is warned about (here the CA is unreachable).
    sha1 = write_key(tmp_path / "sha1.key", tsig_keygen("k", "hmac-sha1"))
    r = anvil(*base, "--dns-rfc2136", "127.0.0.1", "--tsig-key", sha1,
              "--server", "https://127.0.0.1:1/dir")
    assert r.returncode == 1
    assert "warning" in r.stderr and "hmac-sha1" in r.stderr


LATE_HOOK = """#!/bin/sh
# anvil --dns-hook through nsupdate (add|remove FQDN VALUE).  An "add"
# lands 2 s after the hook has returned, so the CA finds the record only
# if anvil waited until the zone's authoritative server answers it.
set -eu
case "$1" in
add)
	( sleep 2; printf 'server {addr} 53\\nupdate add %s. 60 IN TXT "%s"\\nsend\\n' \\
	    "$2" "$3" | nsupdate -k {key} ) >/dev/null 2>&1 &
	;;
remove)
	printf 'server {addr} 53\\nupdate delete %s. IN TXT "%s"\\nsend\\n' \\
	    "$2" "$3" | nsupdate -k {key}
	;;
esac
"""


@pytest.fixture
def loopback_addr():
    """A 127/8 address of our own, added to lo for the test and removed
    after it: the authoritative server found through NS records is asked
    on port 53, so BIND needs port 53 on an address nobody else uses, and
    BIND listens only on addresses an interface has."""
    import random
    addr = "127.%d.%d.%d" % (random.randint(100, 250), random.randint(1, 250),
                             random.randint(1, 250))
    subprocess.run(["ip", "addr", "add", addr + "/32", "dev", "lo"],
                   check=True, capture_output=True)
    yield addr
    subprocess.run(["ip", "addr", "del", addr + "/32", "dev", "lo"],
                   check=True, capture_output=True)


def test_S_DNS_7_dns_hook_waits_for_the_authoritative_server(tmp_path,
                                                            loopback_addr):
    """Without --dns-check-server, the hook solver finds the zone's NS
    through the resolver in ANVIL_RESOLV_CONF (here BIND itself) and
    waits until that server answers the record."""
    addr = loopback_addr
    named = start_ddns(str(tmp_path / "bind"), addr, 53)
    ca = None
    try:
        ca = start_ca(tmp_path, extra_init=["--resolver", f"{addr}:53"])
        resolv = tmp_path / "resolv.conf"
        resolv.write_text(f"nameserver {addr}\n")
        hook = tmp_path / "late-hook"
        hook.write_text(LATE_HOOK.replace("{addr}", addr)
                        .replace("{key}", named.keyfile))
        hook.chmod(0o700)
        state = str(tmp_path / "state")
        name = "late.www.example.net"
        r = anvil_env({"ANVIL_RESOLV_CONF": str(resolv)}, "issue", "-d",
                      name, "--dns-hook", str(hook), "--server",
                      ca.directory, "--ca-bundle", ca.tls_ca, "--state-dir",
                      state)
        assert r.returncode == 0, r.stdout + r.stderr
        check_files(state, name, open(ca.root).read())
        assert txt_records(named, "_acme-challenge." + name) == []
    finally:
        if ca is not None:
            assert ca.stop() == 0
            ca.log.close()
        named.stop()
