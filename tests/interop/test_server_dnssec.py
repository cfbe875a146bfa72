# SPDX-License-Identifier: ISC
"""DNSSEC-validated dns-01 (S-DNS-5): BIND9 on loopback serves a signed
zone; anvil-ca forwards to it with the zone's key as trust anchor.  A
correctly signed TXT record validates; a record changed after signing is
bogus and the challenge fails with a dns error."""
import hashlib
import os
import subprocess

import pytest

from acmehelp import Account, Client, b64
from bindhelp import Named
from conftest import start_ca

ZONE = "secure.example.net"  # not .test: resolvers answer that locally


def keygen(d):
    ksk = subprocess.run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f",
                          "KSK", "-K", d, ZONE], capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-K", d,
                    ZONE], capture_output=True, check=True)
    with open(os.path.join(d, ksk + ".key")) as f:
        return [l for l in f if not l.startswith(";")][0]


def write_zone(d, txt):
    with open(os.path.join(d, ZONE + ".zone"), "w") as f:
        f.write(f"""$TTL 300
@ IN SOA ns.{ZONE}. admin.{ZONE}. 1 3600 600 86400 300
@ IN NS ns.{ZONE}.
ns IN A 127.0.0.1
""")
        for name, value in txt.items():
            f.write(f'_acme-challenge.{name} IN TXT "{value}"\n')
        for d2 in ("*",):
            f.write(f"{d2} IN A 127.0.0.1\n")
        import glob
        for k in glob.glob(os.path.join(d, "K*.key")):
            f.write(f"$INCLUDE {k}\n")
    subprocess.run(["dnssec-signzone", "-q", "-S", "-K", d, "-d", d, "-o", ZONE,
                    "-f", os.path.join(d, ZONE + ".signed"),
                    os.path.join(d, ZONE + ".zone")],
                   capture_output=True, check=True, cwd=d)


@pytest.fixture
def bind(tmp_path):
    named = Named(str(tmp_path / "bind"))
    d = named.dir
    anchor = keygen(d)
    with open(os.path.join(d, "test.zone"), "w") as f:
        # The parent delegates the zone (unsigned, no DS): without the
        # delegation a DS query for it would be NXDOMAIN here and
        # a resolver rightly treats everything below as nonexistent.
        f.write("$TTL 300\n@ IN SOA ns.net. a.net. 1 3600 600 86400 300\n"
                "@ IN NS ns.net.\nns IN A 127.0.0.1\n"
                "secure.example IN NS ns.secure.example\n"
                "ns.secure.example IN A 127.0.0.1\n")
    named.configure(f"""zone "net" {{ type primary; file "{d}/test.zone"; }};
zone "{ZONE}" {{ type primary; file "{d}/{ZONE}.signed"; }};""")
    ta = os.path.join(d, "anchor.key")
    with open(ta, "w") as f:
        f.write(anchor)
    named.trust_anchor = ta

    def start(txt):
        write_zone(d, txt)
        named.start(ZONE)
    named.start_with = start
    yield named
    named.stop()


def test_S_DNS_5_signed_txt_validates_and_tampered_is_bogus(tmp_path, bind):
    ca = start_ca(tmp_path, extra_init=["--resolver", f"127.0.0.1:{bind.port}"],
                  config={"dnssec_trust_anchor": bind.trust_anchor})
    try:
        acct = Account(Client(ca))
        tokens = {}
        for name in ("good", "bad"):
            order = acct.new_order([f"{name}.{ZONE}"]).json()
            az = acct.get(order["authorizations"][0]).json()
            ch = [c for c in az["challenges"] if c["type"] == "dns-01"][0]
            digest = b64(hashlib.sha256(
                acct.key_authorization(ch["token"]).encode()).digest())
            tokens[name] = (order["authorizations"][0], ch["url"], digest)
        bind.start_with({"good": tokens["good"][2], "bad": tokens["bad"][2]})
        # Change the "bad" TXT after signing: its RRSIG no longer matches.
        signed = os.path.join(bind.dir, ZONE + ".signed")
        with open(signed) as f:
            text = f.read()
        assert tokens["bad"][2] in text
        with open(signed, "w") as f:
            bad = tokens["bad"][2]
            # Change the first character to a different one, always.
            f.write(text.replace(bad, ("A" if bad[0] != "A" else "B") + bad[1:]))
        bind.restart(ZONE)
        acct.post(tokens["good"][1], {})
        good = acct.wait(tokens["good"][0]).json()
        assert good["status"] == "valid", good
        acct.post(tokens["bad"][1], {})
        bad = acct.wait(tokens["bad"][0]).json()
        assert bad["status"] == "invalid"
        err = [c for c in bad["challenges"] if c["type"] == "dns-01"][0]["error"]
        assert err["type"] == "urn:ietf:params:acme:error:dns", err
        assert "DNSSEC" in err["detail"]
    finally:
        assert ca.stop() == 0
        ca.log.close()
