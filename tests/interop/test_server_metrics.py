# SPDX-License-Identifier: ISC
"""The admin listener's /metrics (D73), scraped by Debian's real
Prometheus: after lego gets a certificate, Prometheus's HTTP API answers
the issuance and request counters with the values anvil-ca counted."""
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, start_ca, wait_port
from test_server_lego import lego

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@pytest.fixture
def metrics_ca(tmp_path, challtestsrv):
    http01, alpn, admin = free_port(), free_port(), free_port()
    ca = start_ca(tmp_path, extra_init=[
        "--resolver", f"127.0.0.1:{challtestsrv.dns_port}",
        "--http01-port", str(http01), "--tls-alpn01-port", str(alpn),
        "--admin-listen", f"127.0.0.1:{admin}"],
        config={"caa_identities": "anvil.test"})
    ca.http01_port = http01
    ca.admin_port = admin
    wait_port(admin, ca.proc)
    yield ca
    rc = ca.stop()
    ca.log.close()
    assert rc == 0


def scrape(ca):
    with urllib.request.urlopen(
            f"http://127.0.0.1:{ca.admin_port}/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


def samples(text):
    """{'name{labels}': value} of a text-format page; checks every line
    is a comment or NAME[{LABELS}] VALUE."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        key, _, value = line.rpartition(" ")
        assert key and not line.startswith("#"), line
        out[key] = float(value)
    return out


def issue(ca, tmp_path, name):
    r = lego(ca, tmp_path / "lego", "--http",
             "--http.port", f"127.0.0.1:{ca.http01_port}", "-d", name, "run")
    assert r.returncode == 0, r.stdout + r.stderr


def test_metrics_text_format_counts_an_issuance(metrics_ca, tmp_path):
    before = samples(scrape(metrics_ca))
    assert before['anvil_issuances_total'] == 0
    assert before['anvil_build_info{version="0.1.0"}'] == 1
    issue(metrics_ca, tmp_path, "metrics.example.net")
    page = scrape(metrics_ca)
    s = samples(page)
    assert s["anvil_issuances_total"] == 1
    assert s['anvil_http_requests_total{route="new-order",code="201"}'] == 1
    assert s['anvil_http_requests_total{route="new-account",code="201"}'] == 1
    assert s['anvil_validations_total{type="http-01",result="valid"}'] == 1
    # A histogram: cumulative buckets ending in +Inf == _count.
    inf = s['anvil_http_request_duration_seconds_bucket{route="new-order",le="+Inf"}']
    assert inf == s['anvil_http_request_duration_seconds_count{route="new-order"}'] == 1
    assert s['anvil_db_duration_seconds_count{op="commit"}'] >= 2
    # D84: every transaction is at least BEGIN and COMMIT, sent and
    # counted, on top of what the first scrape's own reads sent.
    commits = s['anvil_db_duration_seconds_count{op="commit"}']
    assert (s["anvil_db_roundtrips_total"] >=
            before["anvil_db_roundtrips_total"] + 2 * commits)
    assert "# TYPE anvil_db_roundtrips_total counter" in page
    assert s["anvil_validation_queue_depth"] == 0
    assert s["anvil_revocations_total"] == 0
    assert "# TYPE anvil_http_request_duration_seconds histogram" in page
    # Only /metrics, only GET and HEAD.
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_ca.admin_port}/x",
                               timeout=5)
    assert e.value.code == 404


def prom_query(port, q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
        {"query": q})
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.load(r)
    assert doc["status"] == "success", doc
    return [float(x["value"][1]) for x in doc["data"]["result"]]


def wait_value(port, q, want, timeout=60):
    got = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = prom_query(port, q)
        except OSError:
            got = None
        if got == [want]:
            return
        time.sleep(0.5)
    raise AssertionError(f"{q}: {got!r}, wanted [{want}]")


def test_prometheus_scrapes_issuance_and_requests(metrics_ca, tmp_path):
    if not os.access(PROMETHEUS, os.X_OK):
        pytest.fail("prometheus is not installed (scripts/install-deps)")
    port = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: anvil-ca\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_ca.admin_port}']\n")
    log = open(tmp_path / "prometheus.log", "w")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={conf}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, timeout=60)
        # The target is up and anvil-ca has issued nothing yet.
        wait_value(port, 'up{job="anvil-ca"}', 1)
        wait_value(port, "anvil_issuances_total", 0)
        issue(metrics_ca, tmp_path, "prom.example.net")
        wait_value(port, "anvil_issuances_total", 1)
        wait_value(port, 'anvil_http_requests_total{route="new-order",'
                   'code="201"}', 1)
        wait_value(port, 'anvil_validations_total{type="http-01",'
                   'result="valid"}', 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_log_format_json_lines(tmp_path):
    """log_format "json" (D73): every line serve writes is one JSON object
    with time, level and msg, the request lines' fields typed."""
    import urllib.request as ur
    import ssl
    ca = start_ca(tmp_path, config={"log_format": "json"})
    try:
        ctx = ssl.create_default_context(cafile=ca.tls_ca)
        with ur.urlopen(ca.directory, context=ctx, timeout=5) as r:
            assert r.status == 200
    finally:
        assert ca.stop() == 0
        ca.log.close()
    with open(os.path.join(ca.dir, "serve.log")) as f:
        # libmicrohttpd's own messages (the port probe's TLS error) are not ours.
        lines = [json.loads(ln) for ln in f if not ln.startswith("Error:")]
    assert lines and all({"time", "level", "msg"} <= set(x) for x in lines)
    req = [x for x in lines if x["msg"] == "request"]
    assert req[0]["path"] == "/directory" and req[0]["status"] == 200
    assert lines[-1]["msg"] == "stopped"
