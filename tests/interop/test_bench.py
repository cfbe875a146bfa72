# SPDX-License-Identifier: ISC
"""anvil-bench against a real anvil-ca that validates http-01 for real
(names resolved through pebble-challtestsrv to 127.0.0.1, where
anvil-bench's own responder answers).  The tests check what was issued,
in anvil-ca's database, never how fast: benchmarks print figures, tests
never assert timings."""
import json
import os
import subprocess

from cryptography import x509

from conftest import BUILD, TOP, free_port

BENCH = os.path.join(BUILD, "src", "bench", "anvil-bench")


def bench(ca, *args, port=None, timeout=180):
    cmd = [BENCH, "--directory", ca.directory, "--ca-bundle", ca.tls_ca,
           "--http01-port", str(port if port is not None else ca.http01_port),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout)


def leaf_names(chain_pem):
    cert = x509.load_pem_x509_certificate(chain_pem.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return sorted(san.value.get_values_for_type(x509.DNSName))


def test_bench_issues_20_with_4_workers(validating_ca):
    r = bench(validating_ca, "--orders", "20", "--concurrency", "4", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["completed"] == 20
    assert out["errors"] == 0
    assert out["errors_by_type"] == {}
    for k in ("p50", "p90", "p99"):
        assert out["latency_ms"][k] > 0
    assert out["latency_ms"]["p50"] <= out["latency_ms"]["p99"]
    for step in ("new_order", "authz", "challenge", "finalize", "download"):
        assert out["steps_ms"][step]["n"] == 20
    assert out["issuances_per_second"] > 0
    # newOrder, authz, challenge, >= 1 poll, finalize, download.
    assert out["jws_per_issuance"] >= 6
    assert out["http01_served"] >= 20
    # What the CA holds: 20 certificates for 20 distinct bench names,
    # from 4 accounts (one per worker, made once).
    rows = validating_ca.db("SELECT account_id, chain_pem FROM certs")
    assert len(rows) == 20
    names = [n for _, pem in rows for n in leaf_names(pem)]
    assert len(names) == 20 and len(set(names)) == 20
    assert all(n.endswith(".bench.example.com") for n in names)
    assert len({a for a, _ in rows}) == 4
    assert validating_ca.db("SELECT count(*) FROM accounts")[0][0] == 4


def test_bench_new_account_per_order_and_two_names(validating_ca):
    r = bench(validating_ca, "--orders", "4", "--concurrency", "2",
              "--names-per-order", "2", "--new-account-per-order",
              "--key-type", "ec384", "--poll-ms", "1", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["completed"] == 4 and out["errors"] == 0
    assert out["steps_ms"]["account"]["n"] == 4
    rows = validating_ca.db("SELECT account_id, chain_pem FROM certs")
    assert len(rows) == 4
    assert len({a for a, _ in rows}) == 4
    for _, pem in rows:
        cert = x509.load_pem_x509_certificate(pem.encode())
        assert len(leaf_names(pem)) == 2
        assert cert.public_key().curve.name == "secp384r1"
    # One account per order and none made before the clock started.
    assert validating_ca.db("SELECT count(*) FROM accounts")[0][0] == 4


def test_bench_account_keys_reuse_accounts_across_runs(validating_ca,
                                                      tmp_path):
    """--account-keys keeps each worker's key: a second run finds the
    same accounts (newAccount with a known key) instead of making new
    ones."""
    keys = tmp_path / "keys"
    keys.mkdir()
    for _ in range(2):
        r = bench(validating_ca, "--orders", "4", "--concurrency", "2",
                  "--account-keys", str(keys), "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["completed"] == 4
    assert sorted(os.listdir(keys)) == ["account-0.pem", "account-1.pem"]
    assert (keys / "account-0.pem").stat().st_mode & 0o777 == 0o600
    assert validating_ca.db("SELECT count(*) FROM accounts")[0][0] == 2
    rows = validating_ca.db("SELECT account_id FROM certs")
    assert len(rows) == 8 and len(set(rows)) == 2


def test_bench_counts_failures_by_problem_type(validating_ca):
    """Nobody answers on the port the CA validates: every order fails
    with the CA's connection problem, nothing is issued, exit 1."""
    other = free_port()
    r = bench(validating_ca, "--orders", "3", "--concurrency", "1", "--json",
              port=other)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["completed"] == 0
    assert out["errors"] == 3
    assert out["errors_by_type"] == {"connection": 3}
    assert validating_ca.db("SELECT count(*) FROM certs")[0][0] == 0
    assert r.stderr.strip() == "anvil-bench: nothing was issued"


def test_bench_bad_arguments_one_line(tmp_path):
    cases = [
        [],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "0",
         "--orders", "1"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "2",
         "--orders", "5", "--duration", "5"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "2"],
        ["--directory", "http://127.0.0.1:1/dir", "--concurrency", "2",
         "--orders", "1"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "2",
         "--orders", "1", "--key-type", "dsa1024"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "x",
         "--orders", "1"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "2",
         "--orders", "1", "--bogus"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "2",
         "--orders", "1", "extra"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "2",
         "--orders", "1", "--account-keys", str(tmp_path),
         "--new-account-per-order"],
        ["--directory", "https://127.0.0.1:1/dir", "--concurrency", "2",
         "--orders", "1", "--account-keys", str(tmp_path / "missing")],
    ]
    for args in cases:
        r = subprocess.run([BENCH, *args], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("anvil-bench: "), \
            (args, r.stderr)
        assert r.stdout == ""


def test_bench_unreachable_ca_one_line():
    """A CA that does not answer: set-up fails, one line, exit 1."""
    port = free_port()
    r = subprocess.run([BENCH, "--directory", f"https://127.0.0.1:{port}/dir",
                        "--concurrency", "2", "--orders", "2",
                        "--http01-port", str(free_port())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("anvil-bench: "), r.stderr
    assert "127.0.0.1" in lines[0]


def test_bench_run_postgres_prints_the_table():
    """Issue 18: bench/run --postgres, as small as it goes (one round of
    4 orders per setup), prints its one table: SQLite and 1, 2, 3
    instances on PostgreSQL, each with figures, every certificate issued
    in the database.  Figures are printed, never judged."""
    r = subprocess.run([os.path.join(TOP, "bench", "run"), "--postgres",
                        "--rounds", "1", "--orders", "4",
                        "--concurrency", "2"],
                       capture_output=True, text=True, timeout=240,
                       env=dict(os.environ, ANVIL_BUILD=BUILD))
    assert r.returncode == 0, r.stderr[-2000:]
    # The first table: a header, its rule, a row a setup.
    text = r.stdout.split("\n\n")
    lines = next(t for t in text if t.startswith("| setup |")).splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(head, (c.strip() for c in ln.strip("|").split("|"))))
            for ln in lines[2:]]
    assert [x["setup"] for x in rows] == [
        "SQLite, 1 instance", "PostgreSQL, 1 instance (HAProxy)",
        "PostgreSQL, 2 instances (HAProxy)",
        "PostgreSQL, 3 instances (HAProxy)"]
    rt = "DB round trips/issuance (anvil-ca's count)"
    for x in rows:
        assert x["errors (all rounds)"] == "0"
        assert float(x["issuances/s"]) > 0
        assert float(x["anvil-ca CPU ms/issuance"]) >= 0
        # An issuance is dozens of statements (D84): at least one per
        # JWS request.
        assert float(x[rt]) >= 6
        assert x["certificates in the database / issued"] == "4 / 4"
        if x["setup"].startswith("PostgreSQL"):
            assert float(x["PostgreSQL CPU ms/issuance"]) >= 0
            assert float(x["HAProxy CPU ms/issuance"]) >= 0
            assert float(x["statements/issuance (pg_stat_statements)"]) >= 6
            assert float(x["commits/issuance"]) > 0
        else:
            assert x["PostgreSQL CPU ms/issuance"] == ""
