# SPDX-License-Identifier: ISC
"""anvil-ca in the production configuration, in the test bed of
netbed.py (D60): public addresses, the system resolver, validation on
ports 80 and 443, no allow_private_addresses, the optimised build.

certbot, lego and anvil each obtain certificates through http-01,
tls-alpn-01 (lego, anvil; certbot has none) and dns-01 (RFC 2136 into
the bed's BIND), and every chain verifies against the CA's root and
names exactly what was asked for.
Names that resolve to loopback, private, link-local, CGNAT and the other
special-purpose addresses in netbed.TRAPS are refused before any
connection: the challenge ends invalid with a problem that says why, and
the listener on that address saw no connection."""
import os
import re

import pytest
from cryptography import x509

from acmehelp import Account, Client
from netbed import CLI_ADDR, DNS_ADDR, NET6, TRAPS, ZONE, Bed, in_netns
from test_client import ANVIL, check_files
from test_server_certbot import check_cert

HERE = os.path.dirname(os.path.abspath(__file__))
HOOK = os.path.join(HERE, "nsupdate-hook")


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    b = Bed(str(tmp_path_factory.mktemp("netbed")))
    try:
        b.start()
    except BaseException:
        b.stop()
        raise
    yield b
    rcs = b.stop()
    assert rcs.get("anvil-ca") == 0, "anvil-ca did not exit cleanly"


def names_of(pem_path):
    with open(pem_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return sorted(san.value.get_values_for_type(x509.DNSName))


def verify(bed, leaf, untrusted):
    r = bed.run("nb-cli", ["openssl", "verify", "-CAfile", bed.ca.root,
                           "-untrusted", untrusted, leaf])
    assert r.returncode == 0 and ": OK" in r.stdout, r.stdout + r.stderr


def challenge_types(bed, names):
    """The challenge types that made the authorizations for names valid."""
    ph = ",".join("?" * len(names))
    return sorted({t for (t,) in bed.ca.db(
        "SELECT c.type FROM challs c JOIN authzs a ON c.authz_id = a.id "
        f"WHERE c.status = 4 AND a.ident_value IN ({ph})", names)})


# -- certbot ---------------------------------------------------------------

def certbot(bed, wd, *args):
    return bed.run("nb-cli", [
        "certbot", "--non-interactive", "--agree-tos",
        "--register-unsafely-without-email", "--no-eff-email",
        "--server", bed.ca.directory, "--config-dir", f"{wd}/config",
        "--work-dir", f"{wd}/work", "--logs-dir", f"{wd}/logs", *args],
        env={"REQUESTS_CA_BUNDLE": bed.ca.tls_ca, **bed.hook_env})


def test_S_HTTP_2_certbot_http01_on_port_80(bed, tmp_path):
    names = [f"certbot-http.{ZONE}", f"www.certbot-http.{ZONE}"]
    for n in names:
        bed.add_name(n)
    r = certbot(bed, tmp_path, "certonly", "--standalone",
                "--preferred-challenges", "http-01",
                *sum((["-d", n] for n in names), []))
    assert r.returncode == 0, r.stdout + r.stderr
    check_cert(bed.ca, str(tmp_path / "config/live" / names[0]), names)
    assert challenge_types(bed, names) == [1]  # http-01


def test_S_DNS_2_certbot_dns01_wildcard(bed, tmp_path):
    base = f"certbot-dns.{ZONE}"
    hook = f"{HOOK} %s _acme-challenge.$CERTBOT_DOMAIN $CERTBOT_VALIDATION"
    r = certbot(bed, tmp_path, "certonly", "--manual",
                "--preferred-challenges", "dns",
                "--manual-auth-hook", hook % "present",
                "--manual-cleanup-hook", hook % "cleanup",
                "-d", "*." + base, "-d", base)
    assert r.returncode == 0, r.stdout + r.stderr
    check_cert(bed.ca, str(tmp_path / "config/live" / base),
               ["*." + base, base])
    assert challenge_types(bed, [base]) == [2]  # dns-01


# -- lego ------------------------------------------------------------------

def lego(bed, wd, *args, env=None):
    return bed.run("nb-cli", [
        "lego", "--server", bed.ca.directory, "--accept-tos",
        "--email", "admin@example.org", "--path", str(wd),
        "--key-type", "ec256", *args],
        env={"LEGO_CA_CERTIFICATES": bed.ca.tls_ca, **(env or {})})


def check_lego(bed, wd, names):
    crt = str(wd / "certificates" / (names[0].replace("*", "_") + ".crt"))
    verify(bed, crt, crt)  # NAME.crt is the leaf, then its issuer
    assert names_of(crt) == sorted(names)


def test_S_HTTP_2_lego_http01_on_port_80(bed, tmp_path):
    names = [f"lego-http.{ZONE}"]
    bed.add_name(names[0])
    r = lego(bed, tmp_path, "--http", "--http.port", ":80",
             "-d", names[0], "run")
    assert r.returncode == 0, r.stdout + r.stderr
    check_lego(bed, tmp_path, names)
    assert challenge_types(bed, names) == [1]


def test_S_ALPN_5_lego_tls_alpn01_on_port_443(bed, tmp_path):
    names = [f"lego-alpn.{ZONE}", f"www.lego-alpn.{ZONE}"]
    for n in names:
        bed.add_name(n)
    r = lego(bed, tmp_path, "--tls", "--tls.port", ":443",
             *sum((["-d", n] for n in names), []), "run")
    assert r.returncode == 0, r.stdout + r.stderr
    check_lego(bed, tmp_path, names)
    assert challenge_types(bed, names) == [3]  # tls-alpn-01


def test_S_DNS_2_lego_dns01_rfc2136_wildcard(bed, tmp_path):
    base = f"lego-dns.{ZONE}"
    r = lego(bed, tmp_path, "--dns", "rfc2136", "--dns.resolvers",
             f"{DNS_ADDR}:53", "-d", "*." + base, "-d", base, "run",
             env={"RFC2136_NAMESERVER": f"{DNS_ADDR}:53",
                  "RFC2136_TSIG_KEY": "netbed",
                  "RFC2136_TSIG_ALGORITHM": "hmac-sha256.",
                  "RFC2136_TSIG_SECRET": bed.tsig_secret,
                  "RFC2136_TTL": "1", "RFC2136_POLLING_INTERVAL": "1",
                  "RFC2136_PROPAGATION_TIMEOUT": "30",
                  "RFC2136_SEQUENCE_INTERVAL": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    check_lego(bed, tmp_path, ["*." + base, base])
    assert challenge_types(bed, [base]) == [2]


# -- anvil -----------------------------------------------------------------

def anvil(bed, state, *args, env=None):
    return bed.run("nb-cli", [
        ANVIL, "issue", *args, "--server", bed.ca.directory,
        "--ca-bundle", bed.ca.tls_ca, "--state-dir", str(state)], env=env)


def check_anvil(bed, state, names):
    with open(bed.ca.root) as f:
        cert = check_files(str(state), names[0], f.read())
    d = os.path.join(state, "certs", names[0].replace("*", "_"))
    verify(bed, os.path.join(d, "cert.pem"), os.path.join(d, "chain.pem"))
    assert sorted(cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)) == sorted(names)


def test_S_HTTP_2_anvil_http01_on_port_80(bed, tmp_path):
    names = [f"anvil-http.{ZONE}", f"www.anvil-http.{ZONE}"]
    for n in names:
        bed.add_name(n)
    r = anvil(bed, tmp_path, *sum((["-d", n] for n in names), []),
              "--standalone")
    assert r.returncode == 0, r.stdout + r.stderr
    check_anvil(bed, tmp_path, names)
    assert challenge_types(bed, names) == [1]


def test_S_ALPN_5_anvil_tls_alpn01_on_port_443(bed, tmp_path):
    names = [f"anvil-alpn.{ZONE}"]
    bed.add_name(names[0])
    r = anvil(bed, tmp_path, "-d", names[0], "--tls-alpn")
    assert r.returncode == 0, r.stdout + r.stderr
    check_anvil(bed, tmp_path, names)
    assert challenge_types(bed, names) == [3]


def test_S_DNS_2_anvil_dns01_rfc2136_wildcard(bed, tmp_path):
    base = f"anvil-dns.{ZONE}"
    r = anvil(bed, tmp_path, "-d", "*." + base, "-d", base,
              "--dns-rfc2136", f"{DNS_ADDR}:53", "--tsig-key", bed.tsig_key)
    assert r.returncode == 0, r.stdout + r.stderr
    check_anvil(bed, tmp_path, ["*." + base, base])
    assert challenge_types(bed, [base]) == [2]


# -- refusals --------------------------------------------------------------

def trap_name(tid):
    return f"trap-{tid}.{ZONE}"


def drive(ca, names, kinds, before=None):
    """For each challenge type in kinds, one account orders names and
    answers that challenge of every authorization, after before(name,
    token, key authorization) when given; returns {(type, name): final
    challenge object}.  Runs in nb-cli."""
    c = Client(ca)
    started = []
    for kind in kinds:
        acct = Account(c)
        r = acct.new_order(names)
        assert r.status_code == 201, r.text
        for url in r.json()["authorizations"]:
            authz = acct.get(url).json()
            ch = [x for x in authz["challenges"] if x["type"] == kind][0]
            if before is not None:
                before(authz["identifier"]["value"], ch["token"],
                       acct.key_authorization(ch["token"]))
            rr = acct.post(ch["url"], {})
            assert rr.status_code == 200, rr.text
            started.append((acct, kind, authz["identifier"]["value"], url,
                            ch["url"]))
    out = {}
    for acct, kind, name, url, ch_url in started:
        acct.wait(url, timeout=60)
        out[(kind, name)] = acct.get(ch_url).json()
    return out


@pytest.fixture(scope="module")
def refusals(bed):
    """Every trap name through http-01 and tls-alpn-01, all at once; then
    the traps have recorded whatever the CA connected to."""
    bed.add_names({trap_name(t[0]): (t[1],) for t in TRAPS})
    got = in_netns("nb-cli", drive, bed.ca,
                   [trap_name(t[0]) for t in TRAPS], ("http-01", "tls-alpn-01"))
    bed.settle()
    return got


# What a refusal says: the name, and that its addresses are not ones the
# CA will connect to.
REFUSAL = re.compile(r"public|private|reserved|special|not allowed", re.I)


def refused(bed, refusals, kind, port, tid, addr, what):
    name = trap_name(tid)
    ch = refusals[(kind, name)]
    assert ch["status"] == "invalid", ch
    err = ch.get("error", {})
    assert name in err.get("detail", "") and REFUSAL.search(err["detail"]), \
        (what, err)
    assert bed.accepts(addr, port) == 0, \
        f"the CA connected to {addr} port {port} ({what}) for {name}"


@pytest.mark.parametrize("tid,addr,what,land", TRAPS,
                         ids=[t[0] for t in TRAPS])
def test_S_HTTP_6_http01_special_address_refused_before_connecting(
        bed, refusals, tid, addr, what, land):
    refused(bed, refusals, "http-01", 80, tid, addr, what)


@pytest.mark.parametrize("tid,addr,what,land", TRAPS,
                         ids=[t[0] for t in TRAPS])
def test_S_HTTP_6_tls_alpn01_special_address_refused_before_connecting(
        bed, refusals, tid, addr, what, land):
    refused(bed, refusals, "tls-alpn-01", 443, tid, addr, what)


@pytest.mark.parametrize("solver", [["--standalone"], ["--tls-alpn"]],
                         ids=["http-01", "tls-alpn-01"])
def test_S_HTTP_6_private_addresses_skipped_for_the_public_one(
        bed, tmp_path, solver):
    """A name with private and public addresses, in both families: the
    CA validates at the public one and never connects to the others."""
    name = f"mixed-{solver[0][2:]}.{ZONE}"
    private = ["10.20.0.1", "127.0.0.1", "::1", "64:ff9b::10.20.0.4"]
    bed.add_name(name, *private, CLI_ADDR)
    r = anvil(bed, tmp_path, "-d", name, *solver)
    assert r.returncode == 0, r.stdout + r.stderr
    check_anvil(bed, tmp_path, [name])
    bed.settle()
    for addr in private:
        assert bed.accepts(addr) == 0, f"the CA connected to {addr}"


def test_S_HTTP_2_anvil_http01_over_ipv6(bed, tmp_path):
    """A name with only an AAAA record is validated over IPv6."""
    name = f"v6-only.{ZONE}"
    bed.add_name(name, NET6 + "20")
    r = anvil(bed, tmp_path, "-d", name, "--standalone")
    assert r.returncode == 0, r.stdout + r.stderr
    check_anvil(bed, tmp_path, [name])


# Where a public http-01 responder redirects: literal addresses, a name
# resolving to NAT64 of RFC 1918, and https to a TEST-NET address.
REDIRECTS = [
    ("rfc1918-literal", "http://10.20.0.1/", "10.20.0.1", 80),
    ("loopback6-literal", "http://[::1]/", "::1", 80),
    ("linklocal-literal", "http://169.254.9.1/", "169.254.9.1", 80),
    ("nat64-name", f"http://{trap_name('nat64')}/", "64:ff9b::10.20.0.4", 80),
    ("testnet1-https", "https://192.0.2.1/", "192.0.2.1", 443),
]


class Redirector:
    """An HTTP server on port 80 of nb-cli answering each token with a
    302 to its target (+ the challenge path)."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import threading
        self.targets = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                token = self.path.rsplit("/", 1)[-1]
                base = outer.targets.get(token)
                self.send_response(302 if base else 404)
                if base:
                    self.send_header("Location", base + self.path[1:])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = in_netns("nb-cli", ThreadingHTTPServer, ("0.0.0.0", 80),
                              Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("rid,target,addr,port", REDIRECTS,
                         ids=[r[0] for r in REDIRECTS])
def test_S_HTTP_4_redirect_to_special_address_refused_before_connecting(
        bed, rid, target, addr, port):
    name = f"redirect-{rid}.{ZONE}"
    bed.add_names({name: (CLI_ADDR,), trap_name("nat64"): ("64:ff9b::a14:4",)})
    red = Redirector()
    try:
        got = in_netns("nb-cli", drive, bed.ca, [name], ("http-01",),
                       lambda n, token, ka: red.targets.update({token: target}))
    finally:
        red.close()
    ch = got[("http-01", name)]
    assert ch["status"] == "invalid", ch
    assert REFUSAL.search(ch["error"]["detail"]), ch["error"]
    bed.settle()
    assert bed.accepts(addr, port) == 0, f"the CA followed {target}"

