# SPDX-License-Identifier: ISC
"""The operator page on admin_listen (issue 19, D86), driven in Debian's
headless chromium through python3-selenium: the login, the issuance plot
moving after a real issuance, a failed validation's error shown as text
(its <script> inert), the certificate search finding the serial; and,
over plain HTTP, what needs no browser: redirects, 401s, the cookie's
attributes, the throttle, /metrics without a login, and the page off
without admin_password_hash."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

import pytest
from cryptography import x509

from acmehelp import Account, Client
from conftest import ANVIL_CA, ChallTestSrv, free_port, start_ca, wait_port
from http01 import Responder
from test_server_finalize import chain_of, finalize
from test_server_orders import answer_all, ready_order

PASSWORD = "operator pass phrase"
CHROMEDRIVER = "/usr/bin/chromedriver"
# SIGHUPs in a row in the admin listener's drain test (D97).
RELOADS = 40
EVIL = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


def passwd(password):
    r = subprocess.run([ANVIL_CA, "admin", "passwd"], input=password + "\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A validating CA with an admin listener and a password, an ACME
    account and an http-01 responder."""
    tmp = tmp_path_factory.mktemp("webui")
    dns = ChallTestSrv(str(tmp))
    http01, admin = free_port(), free_port()
    h = passwd(PASSWORD)
    assert h.startswith("$y$") or h.startswith("$6$"), h
    ca = start_ca(tmp, extra_init=[
        "--resolver", f"127.0.0.1:{dns.dns_port}",
        "--http01-port", str(http01), "--admin-listen", f"127.0.0.1:{admin}"],
        config={"caa_identities": "anvil.test", "admin_password_hash": h})
    wait_port(admin, ca.proc)
    ca.admin = f"http://127.0.0.1:{admin}"
    ca.admin_port = admin
    resp = Responder(http01)
    ca.acct = Account(Client(ca))
    ca.resp = resp
    yield ca
    resp.close()
    rc = ca.stop()
    ca.log.close()
    dns.stop()
    assert rc == 0


def request(ca, method, path, body=None, cookie=None, source="127.0.0.1"):
    con = http.client.HTTPConnection("127.0.0.1", ca.admin_port, timeout=10,
                                     source_address=(source, 0))
    headers = {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(body)
    if cookie:
        headers["Cookie"] = cookie
    con.request(method, path, body=body, headers=headers)
    r = con.getresponse()
    r.text = r.read().decode()
    con.close()
    return r


def sighup(ca):
    """SIGHUP to serve; returns once it logged one reload more."""
    log = os.path.join(ca.dir, "serve.log")
    before = open(log).read().count("msg=reloaded")
    ca.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while open(log).read().count("msg=reloaded") <= before:
        assert time.monotonic() < deadline, "no reload logged"
        time.sleep(0.05)


def test_D86_page_needs_a_login_and_metrics_does_not(page):
    r = request(page, "GET", "/")
    assert r.status == 303 and r.getheader("Location") == "/login"
    r = request(page, "GET", "/api/rates")
    assert r.status == 401
    assert "unauthorized" in r.text
    r = request(page, "GET", "/metrics")
    assert r.status == 200 and "anvil_issuances_total" in r.text
    r = request(page, "POST", "/login", {"password": "wrong"})
    assert r.status == 401 and r.getheader("Set-Cookie") is None
    assert "Wrong password." in r.text
    r = request(page, "POST", "/login", {"password": PASSWORD})
    assert r.status == 303 and r.getheader("Location") == "/"
    cookie = r.getheader("Set-Cookie")
    attrs = [a.strip() for a in cookie.split(";")]
    name, _, token = attrs[0].partition("=")
    assert name == "anvil_admin" and len(token) == 64
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs
    r = request(page, "GET", "/api/rates", cookie=attrs[0])
    assert r.status == 200 and json.loads(r.text)["minutes"] == 60
    assert r.getheader("Content-Security-Policy").startswith("default-src 'none'")
    # Read-only: the page has no route that changes the CA.
    assert request(page, "POST", "/api/certs", cookie=attrs[0]).status == 405
    r = request(page, "POST", "/logout", cookie=attrs[0])
    assert r.status == 303 and r.getheader("Location") == "/login"
    assert request(page, "GET", "/api/rates", cookie=attrs[0]).status == 401


def test_D86_failed_logins_are_throttled_per_address(page):
    # From 127.0.0.2, so that the browser's 127.0.0.1 is not held up.
    for _ in range(5):
        r = request(page, "POST", "/login", {"password": "guess"},
                    source="127.0.0.2")
        assert r.status == 401
    r = request(page, "POST", "/login", {"password": PASSWORD},
                source="127.0.0.2")
    assert r.status == 429 and r.getheader("Set-Cookie") is None
    assert 0 < int(r.getheader("Retry-After")) <= 60
    # Another address still logs in.
    r = request(page, "POST", "/login", {"password": PASSWORD})
    assert r.status == 303


def test_D86_page_off_without_a_password_hash(tmp_path):
    admin = free_port()
    ca = start_ca(tmp_path, extra_init=["--admin-listen", f"127.0.0.1:{admin}"])
    try:
        wait_port(admin, ca.proc)
        ca.admin_port = admin
        r = request(ca, "GET", "/")
        assert r.status == 404 and "admin_password_hash" in r.text
        assert request(ca, "POST", "/login", {"password": ""}).status == 404
        assert request(ca, "GET", "/metrics").status == 200
    finally:
        assert ca.stop() == 0
        ca.log.close()


def test_D86_a_new_hash_at_sighup_ends_the_sessions(tmp_path):
    admin = free_port()
    ca = start_ca(tmp_path, extra_init=["--admin-listen", f"127.0.0.1:{admin}"],
                  config={"admin_password_hash": passwd("old one")})
    try:
        wait_port(admin, ca.proc)
        ca.admin_port = admin
        r = request(ca, "POST", "/login", {"password": "old one"})
        cookie = r.getheader("Set-Cookie").split(";")[0]
        assert request(ca, "GET", "/api/rates", cookie=cookie).status == 200
        path = os.path.join(ca.dir, "anvil-ca.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["admin_password_hash"] = passwd("new one")
        with open(path, "w") as f:
            json.dump(cfg, f)
        sighup(ca)
        assert request(ca, "GET", "/api/rates", cookie=cookie).status == 401
        assert request(ca, "POST", "/login", {"password": "old one"}).status == 401
        assert request(ca, "POST", "/login", {"password": "new one"}).status == 303
    finally:
        assert ca.stop() == 0
        ca.log.close()


def test_D86_a_hash_that_is_not_crypt_is_refused(tmp_path):
    path = str(tmp_path / "ca" / "anvil-ca.json")
    subprocess.run([ANVIL_CA, "init", str(tmp_path / "ca")], check=True,
                   capture_output=True)
    import json
    with open(path) as f:
        cfg = json.load(f)
    cfg["admin_password_hash"] = PASSWORD
    with open(path, "w") as f:
        json.dump(cfg, f)
    r = subprocess.run([ANVIL_CA, "check", "-c", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert "admin_password_hash" in r.stderr


def peer_serial(port, cafile):
    """The serial of the certificate port presents, verified against
    cafile for 127.0.0.1."""
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).serial_number


def test_D95_admin_tls_serves_https_a_secure_cookie_and_a_new_certificate_at_sighup(tmp_path):
    admin = free_port()
    ca = start_ca(tmp_path, extra_init=["--admin-listen", f"127.0.0.1:{admin}",
                                        "--admin-tls"],
                  config={"admin_password_hash": passwd(PASSWORD)})
    try:
        wait_port(admin, ca.proc)
        path = os.path.join(ca.dir, "anvil-ca.json")
        with open(path) as f:
            assert json.load(f)["admin_tls"] is True
        ctx = ssl.create_default_context(cafile=ca.tls_ca)

        def https(method, path, body=None, cookie=None):
            con = http.client.HTTPSConnection("127.0.0.1", admin, timeout=10,
                                              context=ctx)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if cookie:
                headers["Cookie"] = cookie
            con.request(method, path, headers=headers,
                        body=urllib.parse.urlencode(body) if body else None)
            r = con.getresponse()
            r.text = r.read().decode()
            con.close()
            return r

        r = https("GET", "/metrics")
        assert r.status == 200 and "anvil_issuances_total" in r.text
        # Plain HTTP gets no page: the listener speaks only TLS.
        with pytest.raises((http.client.HTTPException, OSError)):
            request(type("A", (), {"admin_port": admin}), "GET", "/metrics")
        r = https("POST", "/login", {"password": PASSWORD})
        assert r.status == 303
        attrs = [a.strip() for a in r.getheader("Set-Cookie").split(";")]
        assert "Secure" in attrs and "HttpOnly" in attrs, attrs
        assert https("GET", "/api/rates", cookie=attrs[0]).status == 200
        r = https("POST", "/logout", cookie=attrs[0])
        assert "Secure" in r.getheader("Set-Cookie")
        # The listener certificate re-signed, then SIGHUP: the admin
        # listener serves the new one, as the ACME listener does.
        before = peer_serial(admin, ca.tls_ca)
        assert before == peer_serial(ca.port, ca.tls_ca)
        r = subprocess.run([ANVIL_CA, "rotate", "tls", "-c", path],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        sighup(ca)
        after = peer_serial(admin, ca.tls_ca)
        assert after != before
        assert after == peer_serial(ca.port, ca.tls_ca)
        assert https("GET", "/metrics").status == 200
    finally:
        assert ca.stop() == 0
        ca.log.close()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMEDRIVER, os.X_OK):
        pytest.fail("chromium-driver is not installed (scripts/install-deps --test)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    # Tests run as root: chromium's sandbox wants a user namespace.
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1200,1600"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield drv
    drv.quit()


def wait_for(drv, pred, what, timeout=30):
    """pred's first true value, polled; an element found missing or
    replaced meanwhile (a page loading, a table redrawn) is polled again."""
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException)
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(
            drv, timeout, poll_frequency=0.2,
            ignored_exceptions=(NoSuchElementException,
                                StaleElementReferenceException)).until(
            lambda d: pred(d))
    except Exception as e:
        try:
            body = drv.find_element("tag name", "body").text
        except Exception as again:
            body = repr(again)
        raise AssertionError(f"{what}: not within {timeout} s ({e!r}); "
                             f"page text: {body}")


def total(drv, plot):
    """The plot's data-points and data-total, read together."""
    return tuple(drv.execute_script(
        "const s = document.getElementById(arguments[0]);"
        "return [s.getAttribute('data-points'),"
        " s.getAttribute('data-total')];", plot))


def snapshot(drv, css, cell_css=None):
    """The text of every element css matches (with cell_css: of each one's
    cells, a list per element), read in one script run: the page redraws
    its plots and tables every few seconds, so elements found by one
    WebDriver call may be gone by the next."""
    return drv.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " e => arguments[1] ? Array.from(e.querySelectorAll(arguments[1]),"
        " c => c.textContent) : e.textContent);", css, cell_css)


def bar_counts(drv, plot):
    return [int(v) for v in drv.execute_script(
        "return Array.from(document.querySelectorAll("
        "'#' + arguments[0] + ' rect'), r => r.getAttribute('data-count'));",
        plot)]


def issue(ca, name):
    order, loc = ready_order(ca.acct, ca.resp, [name])
    assert finalize(ca.acct, order, [name]).status_code == 200
    done = ca.acct.wait(loc).json()
    assert done["status"] == "valid", done
    return format(chain_of(ca.acct, done)[0].serial_number, "x")


def test_D86_browser_login_plot_validations_and_search(page, browser):
    from selenium.webdriver.common.by import By
    drv = browser
    drv.get(page.admin + "/")
    assert drv.current_url == page.admin + "/login"
    drv.find_element(By.ID, "password").send_keys("not it")
    drv.find_element(By.ID, "login").click()
    wait_for(drv, lambda d: "Wrong password." in
             d.find_element(By.ID, "message").text, "refusal shown")
    assert drv.get_cookie("anvil_admin") is None
    drv.find_element(By.ID, "password").send_keys(PASSWORD)
    drv.find_element(By.ID, "login").click()
    wait_for(drv, lambda d: d.current_url == page.admin + "/", "logged in")
    # HttpOnly: the page's script cannot read the session.
    assert drv.get_cookie("anvil_admin")["httpOnly"] is True
    assert "anvil_admin" not in drv.execute_script("return document.cookie")
    wait_for(drv, lambda d: total(d, "plot-issued")[0] == "60", "plot drawn")
    before = int(total(drv, "plot-issued")[1])

    serial = issue(page, "webui.example.com")
    wait_for(drv, lambda d: int(total(d, "plot-issued")[1]) == before + 1,
             "issuance plotted")
    bars = bar_counts(drv, "plot-issued")
    assert len(bars) == 60 and sum(bars) == before + 1
    wait_for(drv, lambda d: "webui.example.com" in
             d.find_element(By.ID, "validations").text, "validation listed")

    # A validation fails quoting what the requester's server answered.
    r = page.acct.new_order(["evil.example.com"])
    answer_all(page.acct, page.resp, r.json(), body=EVIL)
    assert page.acct.wait(r.headers["Location"], until=("invalid",)) \
        .json()["status"] == "invalid"
    cells = wait_for(drv, lambda d: [
        row for row in snapshot(d, "#validations tbody tr", "td")
        if "evil.example.com" in row], "failed validation listed")[0]
    assert cells[3] == "invalid" and cells[4] == "incorrectResponse"
    assert "<script>document.title='pwned'</script>" in cells[5]
    assert not drv.find_elements(By.CSS_SELECTOR, "#validations script, "
                                 "#validations img")
    assert drv.title == "anvil-ca: operator"
    wait_for(drv, lambda d: "incorrectResponse" in
             d.find_element(By.ID, "failures").text, "failure by type")
    assert int(total(drv, "plot-failed")[1]) >= 1

    # The search finds the certificate by name, with its serial.
    box = drv.find_element(By.ID, "name")
    box.send_keys("WebUI.example.com")
    drv.find_element(By.ID, "find").click()
    cell = wait_for(drv, lambda d: d.find_elements(
        By.CSS_SELECTOR, "#certs tbody td.serial"), "search result")[0]
    assert cell.text == serial
    assert "1 certificate(s) for webui.example.com" in \
        drv.find_element(By.ID, "search-result").text
    # A searched name is text too.
    box.clear()
    box.send_keys("<b id=x>bold</b>")
    drv.find_element(By.ID, "find").click()
    wait_for(drv, lambda d: "<b id=x>bold</b>" in
             d.find_element(By.ID, "search-result").text, "echo as text")
    assert not drv.find_elements(By.ID, "x")
    assert not drv.find_elements(By.CSS_SELECTOR, "#certs tbody tr")

    drv.find_element(By.ID, "logout").click()
    wait_for(drv, lambda d: d.current_url == page.admin + "/login", "logged out")
    drv.get(page.admin + "/")
    assert drv.current_url == page.admin + "/login"


def test_D97_admin_listener_drains_at_sighup(tmp_path):
    """With admin_tls, a SIGHUP starts a new admin daemon with the new
    certificate; the old one finishes the scrapes it accepted before it
    stops, as the ACME listener does (D67).  Two scrapers on new
    connections and one on a kept connection, back to back, through
    RELOADS reloads: every scrape is answered.  Before D97 the old daemon stopped at once and cut
    about a third of them (44 of 150 here)."""
    admin = free_port()
    ca = start_ca(tmp_path, extra_init=["--admin-listen", f"127.0.0.1:{admin}",
                                        "--admin-tls"])
    scrapes, failures = [], []
    done = threading.Event()

    def scraper(keep_alive):
        ctx = ssl.create_default_context(cafile=ca.tls_ca)
        con = None
        while not done.is_set():
            if con is None:
                con = http.client.HTTPSConnection("127.0.0.1", admin,
                                                  context=ctx, timeout=30)
            try:
                con.request("GET", "/metrics")
                r = con.getresponse()
                ok = r.status == 200 and b"anvil_build_info" in r.read()
                scrapes.append(ok)
                if not ok:
                    failures.append(r.status)
            except (OSError, http.client.HTTPException) as e:
                scrapes.append(False)
                failures.append(repr(e))
                keep_alive = False
            finally:
                # A kept connection the daemon closes (Connection:
                # close) is opened again by http.client.
                if not keep_alive:
                    con.close()
                    con = None
        if con is not None:
            con.close()

    threads = [threading.Thread(target=scraper, args=(k,))
               for k in (False, False, True)]
    try:
        wait_port(admin, ca.proc)
        for t in threads:
            t.start()
        for _ in range(RELOADS):
            sighup(ca)
    finally:
        done.set()
        for t in threads:
            if t.ident is not None:
                t.join()
        rc = ca.stop()
        ca.log.close()
    assert rc == 0
    print(f"{scrapes.count(True)} of {len(scrapes)} scrapes answered")
    assert len(scrapes) > RELOADS
    assert failures == [], failures[:5]
