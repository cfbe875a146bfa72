# SPDX-License-Identifier: ISC
"""`make test-tsan`: anvil-ca built with ThreadSanitizer (build-tsan/)
under anvil-bench load, 16 workers for 30 s, with http-01 validated for
real.  Any data race, lock-order inversion or thread leak that TSan
reports makes anvil-ca exit non-zero (TSAN_OPTIONS exitcode) and its log
show the report: both fail the test.  Not part of `make test`: the
sanitised build is slow and separate; .ci/run runs it."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "interop"))

from conftest import (BUILD, ChallTestSrv, free_port,  # noqa: E402
                      start_ca)
import tsanlog  # noqa: E402

BENCH = os.path.join(BUILD, "src", "bench", "anvil-bench")
SUPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tsan.supp")


def test_tsan_anvil_ca_under_bench_load(tmp_path, monkeypatch):
    monkeypatch.setenv("TSAN_OPTIONS",
                       f"exitcode=66 halt_on_error=0 second_deadlock_stack=1"
                       f" suppressions={SUPP}")
    dns = ChallTestSrv(str(tmp_path))
    http01 = free_port()
    try:
        ca = start_ca(tmp_path, extra_init=[
            "--resolver", f"127.0.0.1:{dns.dns_port}",
            "--http01-port", str(http01)],
            config={"caa_identities": "anvil.test"})
        try:
            r = subprocess.run(
                [BENCH, "--directory", ca.directory, "--ca-bundle", ca.tls_ca,
                 "--http01-port", str(http01), "--concurrency", "16",
                 "--duration", "30", "--timeout", "60", "--json"],
                capture_output=True, text=True, timeout=300)
        finally:
            rc = ca.stop()
            ca.log.close()
        with open(os.path.join(ca.dir, "serve.log")) as f:
            log = f.read()
    finally:
        dns.stop()
    tsanlog.assert_none(log)
    assert rc == 0, f"anvil-ca exited {rc}"
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    print(f"{out['completed']} issuances, {out['errors']} errors under TSan")
    assert out["completed"] > 0
