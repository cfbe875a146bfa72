# SPDX-License-Identifier: ISC
"""`make test-tsan`: SIGHUP reloads (D67) while clients issue and poll,
under ThreadSanitizer (D89).  Every reload flips terms_of_service and
website together; a reader polls the directory, which names both, and
anvil-bench issues with http-01 validated for real.  A request or a
validation reading the configuration pointer as reload stores it is a
data race TSan reports (anvil-ca exits non-zero, the report is in its
log); a directory naming one configuration's terms and another's
website would be a request that mixed two.  No request may fail: the
replaced listener answers what it accepted, with Connection: close
(D89).  Each reload is sequenced on
sd_notify's RELOADING=1 / READY=1, so there is no waiting on timing.
The admin listener speaks HTTPS (admin_tls, D95) and a scraper reads
/metrics throughout, so each reload also replaces that daemon while it
serves; it drains as the ACME listener does (D97): no scrape may fail."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "interop"))

from conftest import (ANVIL_CA, BUILD, CA, ChallTestSrv,  # noqa: E402
                      free_port, init_ca, wait_port)
import tsanlog  # noqa: E402

BENCH = os.path.join(BUILD, "src", "bench", "anvil-bench")
SUPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tsan.supp")
RELOADS = 20


def version(i):
    """The two reloadable settings of configuration i, changed together."""
    return {"terms_of_service": f"https://ca.test/tos/{i}",
            "website": f"https://ca.test/site/{i}"}


def directory_meta(port, tls_ca):
    """One GET /directory on a fresh connection: (status, meta)."""
    ctx = ssl.create_default_context(cafile=tls_ca)
    con = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                      timeout=30)
    try:
        con.request("GET", "/directory")
        r = con.getresponse()
        body = r.read()
        return r.status, json.loads(body).get("meta", {})
    finally:
        con.close()


def consistent(meta):
    """The version both settings name, or None when they differ."""
    tos = meta["termsOfService"].rsplit("/", 1)[1]
    site = meta["website"].rsplit("/", 1)[1]
    return tos if tos == site else None


def test_D89_sighup_under_load_is_race_free_and_never_mixes(tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("TSAN_OPTIONS",
                       f"exitcode=66 halt_on_error=0 second_deadlock_stack=1"
                       f" suppressions={SUPP}")
    dns = ChallTestSrv(str(tmp_path))
    http01 = free_port()
    port = free_port()
    admin = free_port()
    workdir = str(tmp_path / "ca")
    conf = init_ca(workdir, port, extra_init=[
        "--resolver", f"127.0.0.1:{dns.dns_port}",
        "--http01-port", str(http01),
        "--admin-listen", f"127.0.0.1:{admin}", "--admin-tls"],
        config=dict(version(0), caa_identities="anvil.test"))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(60)

    def message():
        data = notify.recv(4096).decode()
        return dict(ln.split("=", 1) for ln in data.splitlines()
                    if "=" in ln)

    log = open(os.path.join(workdir, "serve.log"), "w")
    proc = subprocess.Popen(
        [ANVIL_CA, "serve", "-c", conf], stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify.sock")))
    ca = CA(workdir, port, proc, log)
    seen, bad, dropped = set(), [], []
    scrapes = []
    done = threading.Event()

    def scraper():
        ctx = ssl.create_default_context(cafile=ca.tls_ca)
        while not done.is_set():
            con = http.client.HTTPSConnection("127.0.0.1", admin,
                                              context=ctx, timeout=30)
            try:
                con.request("GET", "/metrics")
                r = con.getresponse()
                scrapes.append(r.status == 200 and
                               b"anvil_issuances_total" in r.read())
            except (OSError, http.client.HTTPException):
                scrapes.append(False)
            finally:
                con.close()

    s = threading.Thread(target=scraper)

    def reader():
        while not done.is_set():
            try:
                status, meta = directory_meta(port, ca.tls_ca)
            except (OSError, http.client.HTTPException) as e:
                dropped.append(repr(e))
                continue
            v = consistent(meta) if status == 200 else None
            if v is None:
                bad.append((status, meta))
            seen.add(v)

    try:
        assert message().get("READY") == "1"
        wait_port(port, proc)
        bench = subprocess.Popen(
            [BENCH, "--directory", ca.directory, "--ca-bundle", ca.tls_ca,
             "--http01-port", str(http01), "--concurrency", "4",
             "--duration", "8", "--timeout", "60", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t = threading.Thread(target=reader)
        t.start()
        wait_port(admin, proc)
        s.start()
        try:
            with open(conf) as f:
                base = json.load(f)
            # At least RELOADS, and on until the load ends: every
            # request of the bench runs next to reloads.
            i = 0
            while i < RELOADS or bench.poll() is None:
                i += 1
                with open(conf + ".new", "w") as f:
                    json.dump(dict(base, **version(i)), f)
                os.rename(conf + ".new", conf)
                proc.send_signal(signal.SIGHUP)
                assert "RELOADING" in message()
                assert message().get("READY") == "1"
                # The reload is done: a request now sees it, whole.
                status, meta = directory_meta(port, ca.tls_ca)
                assert status == 200 and consistent(meta) == str(i), meta
            out, err = bench.communicate(timeout=120)
        finally:
            done.set()
            t.join()
            if s.ident is not None:
                s.join()
            if bench.poll() is None:
                bench.kill()
                bench.wait()
    finally:
        rc = ca.stop()
        log.close()
        notify.close()
        dns.stop()
    with open(os.path.join(workdir, "serve.log")) as f:
        text = f.read()
    tsanlog.assert_none(text)
    assert rc == 0, f"anvil-ca exited {rc}"
    reloaded = [ln for ln in text.splitlines()
                if "msg=reloaded " in ln or 'msg="reloaded"' in ln]
    assert len(reloaded) == i, "a reload was refused"
    assert bench.returncode == 0, err
    res = json.loads(out)
    print(f"{i} reloads, {res['completed']} issuances, "
          f"{res['errors']} errors {res['errors_by_type']}, {len(seen)} "
          f"versions seen, {len(dropped)} connections dropped, "
          f"{scrapes.count(True)} of {len(scrapes)} scrapes answered")
    assert bad == [], bad[:5]
    assert dropped == [], dropped[:5]
    assert len(seen) > 1
    assert len(scrapes) > 0 and all(scrapes), (
        f"{scrapes.count(False)} of {len(scrapes)} scrapes failed")
    assert res["completed"] > 0 and res["errors"] == 0, (
        res["errors_by_type"], res["error_examples"])
