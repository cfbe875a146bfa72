# SPDX-License-Identifier: ISC
"""OddCA: a small ACME CA (RFC 8555) in Python for testing anvil the
client against CAs that behave oddly, legally or not.

It speaks just enough ACME over HTTPS on loopback (rawhttps.RawHTTPS, a
throwaway TLS certificate; pass ca.tls_ca as --ca-bundle): directory,
nonces, accounts, orders, authorizations that turn valid as soon as a
challenge is answered (nothing is validated), finalize, certificates from
two test roots ("OddCA Root A" by default, "OddCA Root B" as the
alternate chain) and renewalInfo.  JWS signatures are not checked.

A scenario is a function on the CA: ca.on["<endpoint>"] = fn(ca, req,
ctx) returns what to send (bytes from response()/problem(), or a
(bytes, rawhttps.KEEP|CLOSE|STALL) pair) to take over that endpoint, or
None to let the CA answer normally.  Endpoints: directory, nonce,
account (newAccount), account_get, order (newOrder), authz, challenge,
finalize, order_get, cert, renewal_info.  ctx holds the parsed request: payload (dict, or None for
POST-as-GET), and the object concerned (order, authz).  Every request is
logged in ca.log as (time, endpoint, payload) for the test to inspect.
"""
import base64
import datetime
import json
import secrets
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rawhttps import CLOSE, KEEP, RawHTTPS, response


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jresponse(status, obj, headers=(), ctype="application/json"):
    return response(status, json.dumps(obj),
                    [("Content-Type", ctype), *headers],
                    reason="X")


def problem(status, ptype, detail, headers=(), **extra):
    doc = {"type": "urn:ietf:params:acme:error:" + ptype, "detail": detail,
           "status": status, **extra}
    return jresponse(status, doc, headers, "application/problem+json")


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class _Issuer:
    """A root and an intermediate under it; the intermediate's key is
    shared by both roots' intermediates, so one leaf has two chains."""

    def __init__(self, inter_key, root_cn):
        now = datetime.datetime.now(datetime.timezone.utc)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = (x509.CertificateBuilder().subject_name(_name(root_cn))
                     .issuer_name(_name(root_cn))
                     .public_key(self.root_key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=365))
                     .add_extension(x509.BasicConstraints(ca=True,
                                                          path_length=None),
                                    True)
                     .sign(self.root_key, hashes.SHA256()))
        self.inter = (x509.CertificateBuilder()
                      .subject_name(_name("OddCA Intermediate"))
                      .issuer_name(_name(root_cn))
                      .public_key(inter_key.public_key())
                      .serial_number(x509.random_serial_number())
                      .not_valid_before(now - datetime.timedelta(days=1))
                      .not_valid_after(now + datetime.timedelta(days=300))
                      .add_extension(x509.BasicConstraints(ca=True,
                                                           path_length=0),
                                     True)
                      .sign(self.root_key, hashes.SHA256()))


class OddCA(RawHTTPS):
    def __init__(self, tmp_path, relative=False, ari=False):
        self.lock_ = threading.Lock()
        self.on = {}
        self.log = []
        self.relative = relative  # Location and Link as relative URLs
        self.ari = ari            # offer renewalInfo
        self.orders = {}
        self.authzs = {}
        self.certs = {}
        self.next_id = 1
        self.inter_key = ec.generate_private_key(ec.SECP256R1())
        self.a = _Issuer(self.inter_key, "OddCA Root A")
        self.b = _Issuer(self.inter_key, "OddCA Root B")
        RawHTTPS.__init__(self, tmp_path, self._handle)
        self.tls_ca = self.ca
        self.directory = self.url("/directory")

    # --- helpers for scenarios ---

    def requests_to(self, endpoint):
        return [e for e in self.log if e[1] == endpoint]

    def _id(self):
        with self.lock_:
            n = self.next_id
            self.next_id += 1
            return n

    def _loc(self, path):
        return path if self.relative else self.url(path)

    def _order_view(self, o):
        v = {k: o[k] for k in ("status", "identifiers", "authorizations",
                               "finalize", "expires")}
        if o.get("certificate"):
            v["certificate"] = o["certificate"]
        if o.get("error"):
            v["error"] = o["error"]
        return v

    def _issue(self, csr_der, o):
        csr = x509.load_der_x509_csr(csr_der)
        now = datetime.datetime.now(datetime.timezone.utc)
        sans = []
        for i in o["identifiers"]:
            if i["type"] == "ip":
                import ipaddress
                sans.append(x509.IPAddress(ipaddress.ip_address(i["value"])))
            else:
                sans.append(x509.DNSName(i["value"]))
        pub = csr.public_key()
        if o.get("wrong_key"):
            pub = ec.generate_private_key(ec.SECP256R1()).public_key()
        if o.get("wrong_names"):
            sans = [x509.DNSName("other.example")]
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(
            self.inter_key.public_key())
        leaf = (x509.CertificateBuilder().subject_name(_name("oddca leaf"))
                .issuer_name(_name("OddCA Intermediate")).public_key(pub)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=90))
                .add_extension(x509.SubjectAlternativeName(sans), False)
                .add_extension(aki, False)
                .sign(self.inter_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        return {"leaf": leaf.public_bytes(pem),
                "a": self.a.inter.public_bytes(pem),
                "b": self.b.inter.public_bytes(pem)}

    # --- the protocol ---

    def _handle(self, req):
        path = req.target
        ctx = {"payload": None}
        if req.method == "POST":
            try:
                jws = json.loads(req.body)
                if jws.get("payload"):
                    ctx["payload"] = json.loads(b64d(jws["payload"]))
            except ValueError:
                return problem(400, "malformed", "not a JWS"), KEEP
        endpoint, obj_id = self._route(req.method, path)
        ctx["id"] = obj_id
        self.log.append((time.monotonic(), endpoint, ctx["payload"]))
        if endpoint is None:
            return problem(404, "malformed", "no such resource"), KEEP
        if endpoint in self.on:
            out = self.on[endpoint](self, req, ctx)
            if out is not None:
                return out if isinstance(out, tuple) else (out, KEEP)
        return getattr(self, "_" + endpoint)(req, ctx), KEEP

    def _route(self, method, path):
        if path == "/directory":
            return "directory", None
        if path == "/nonce":
            return "nonce", None
        if path == "/account":
            return "account", None
        if path == "/acct/1":
            return "account_get", None
        if path == "/new-order":
            return "order", None
        if path.startswith("/renewal-info/"):
            return "renewal_info", path[len("/renewal-info/"):]
        for prefix, name in (("/authz/", "authz"), ("/chall/", "challenge"),
                             ("/finalize/", "finalize"),
                             ("/order/", "order_get"), ("/cert/", "cert")):
            if path.startswith(prefix):
                return name, path[len(prefix):]
        return None, None

    def nonce_headers(self):
        return [("Replay-Nonce", b64e(secrets.token_bytes(16)))]

    def _directory(self, req, ctx):
        d = {"newNonce": self.url("/nonce"),
             "newAccount": self.url("/account"),
             "newOrder": self.url("/new-order"),
             "revokeCert": self.url("/revoke"),
             "keyChange": self.url("/key-change"),
             "meta": {}}
        if self.ari:
            d["renewalInfo"] = self.url("/renewal-info")
        return jresponse(200, d)

    def _nonce(self, req, ctx):
        return response(200, b"", self.nonce_headers())

    def _account(self, req, ctx):
        return jresponse(201, {"status": "valid"},
                         [("Location", self.url("/acct/1")),
                          *self.nonce_headers()])

    def _account_get(self, req, ctx):
        return jresponse(200, {"status": "valid"}, self.nonce_headers())

    def _order(self, req, ctx):
        n = self._id()
        ids = ctx["payload"]["identifiers"]
        azs = []
        for ident in ids:
            a = self._id()
            value = ident["value"]
            wildcard = value.startswith("*.")
            self.authzs[str(a)] = {
                "status": "pending",
                "identifier": {"type": ident["type"],
                               "value": value[2:] if wildcard else value},
                "challenges": [
                    {"type": t, "url": self.url(f"/chall/{a}-{t}"),
                     "token": b64e(secrets.token_bytes(24)),
                     "status": "pending"}
                    for t in ("http-01", "dns-01", "tls-alpn-01")],
                "expires": "2099-01-01T00:00:00Z"}
            if wildcard:
                self.authzs[str(a)]["wildcard"] = True
            azs.append(self.url(f"/authz/{a}"))
        o = {"status": "pending", "identifiers": ids, "authorizations": azs,
             "finalize": self.url(f"/finalize/{n}"),
             "expires": "2099-01-01T00:00:00Z", "replaces":
             ctx["payload"].get("replaces")}
        self.orders[str(n)] = o
        return jresponse(201, self._order_view(o),
                         [("Location", self._loc(f"/order/{n}")),
                          *self.nonce_headers()])

    def _authz(self, req, ctx):
        return jresponse(200, self.authzs[ctx["id"]], self.nonce_headers())

    def _challenge(self, req, ctx):
        a, _, t = ctx["id"].partition("-")
        az = self.authzs[a]
        az["status"] = "valid"
        for ch in az["challenges"]:
            if ch["type"] == t:
                ch["status"] = "valid"
                ch_out = ch
        return jresponse(200, ch_out, self.nonce_headers())

    def order_status(self, o):
        if o["status"] == "pending" and all(
                self.authzs[u.rsplit("/", 1)[1]]["status"] == "valid"
                for u in o["authorizations"]):
            o["status"] = "ready"
        return o["status"]

    def _finalize(self, req, ctx):
        o = self.orders[ctx["id"]]
        self.order_status(o)
        if o["status"] != "ready":
            return problem(403, "orderNotReady", "not ready",
                           self.nonce_headers())
        chains = self._issue(b64d(ctx["payload"]["csr"]), o)
        c = self._id()
        self.certs[str(c)] = chains
        o["status"] = "valid"
        o["certificate"] = self.url(f"/cert/{c}")
        return jresponse(200, self._order_view(o), self.nonce_headers())

    def _order_get(self, req, ctx):
        o = self.orders[ctx["id"]]
        self.order_status(o)
        return jresponse(200, self._order_view(o), self.nonce_headers())

    def _cert(self, req, ctx):
        cid, _, alt = ctx["id"].partition("/")
        chains = self.certs[cid]
        body = chains["leaf"] + (chains["b"] if alt else chains["a"])
        links = [] if alt else [
            ("Link", f"<{self._loc(f'/cert/{cid}/alt')}>;rel=alternate")]
        if self.relative and not alt:
            # RFC 8288 as a CA may write it: several Link headers, a
            # quoted list of relations, a dot segment.
            links = [("Link", '<../directory>;rel="index"'),
                     ("Link", f'<./{cid}/alt> ; title="B;c" ; '
                              'rel="index alternate"')]
        return response(200, body, [("Content-Type",
                                     "application/pem-certificate-chain"),
                                    *links, *self.nonce_headers()])

    def _renewal_info(self, req, ctx):
        now = datetime.datetime.now(datetime.timezone.utc)
        w = {"start": (now + datetime.timedelta(days=50)).strftime(
                 "%Y-%m-%dT%H:%M:%SZ"),
             "end": (now + datetime.timedelta(days=55)).strftime(
                 "%Y-%m-%dT%H:%M:%SZ")}
        return jresponse(200, {"suggestedWindow": w},
                         [("Retry-After", "21600")])
