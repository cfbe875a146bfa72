# SPDX-License-Identifier: ISC
"""anvil-ca killed with SIGKILL under load, 20 times, and restarted.

anvil-bench drives full flows (http-01 validated for real) the whole
time and lists every certificate it received (--record).  Afterwards the
database must hold every one of them (an answer is never given for a
certificate that a crash can take back), nothing may stay `processing`
(finalize claims are given back at start, validation jobs resume), and
SQLite's integrity check must pass.  The kills land at random moments;
the seed is printed so that a failure can be replayed (ANVIL_CRASH_SEED).
"""
import os
import random
import signal
import subprocess
import time

from conftest import BUILD, rounds

BENCH = os.path.join(BUILD, "src", "bench", "anvil-bench")
ST_PROCESSING = 2
KILLS = rounds(20, 8)


def test_sigkill_under_load_loses_nothing(validating_ca, tmp_path):
    ca = validating_ca
    seed = int(os.environ.get("ANVIL_CRASH_SEED", random.randrange(1 << 30)))
    print(f"ANVIL_CRASH_SEED={seed}")
    rng = random.Random(seed)
    record = tmp_path / "serials"
    bench_log = open(tmp_path / "bench.log", "w")
    bench = subprocess.Popen(
        [BENCH, "--directory", ca.directory, "--ca-bundle", ca.tls_ca,
         "--http01-port", str(ca.http01_port), "--concurrency", "4",
         "--duration", "600", "--poll-ms", "5", "--timeout", "20",
         "--record", str(record), "--json"],
        stdout=bench_log, stderr=subprocess.STDOUT)
    try:
        # The workers make their accounts before the clock starts, and
        # anvil-bench gives up if one cannot: kill only once flows run.
        deadline = time.monotonic() + 120
        while not record.exists() or record.stat().st_size == 0:
            assert bench.poll() is None, "anvil-bench stopped early"
            assert time.monotonic() < deadline, "nothing issued in 120 s"
            time.sleep(0.05)
        for i in range(KILLS):
            # Let some flows get under way, then kill at a random point.
            time.sleep(rng.uniform(0.15, 0.9))
            assert bench.poll() is None, "anvil-bench stopped early"
            ca.proc.send_signal(signal.SIGKILL)
            ca.proc.wait()
            ca.restart()
        time.sleep(1.0)
    finally:
        bench.send_signal(signal.SIGINT)
        try:
            bench.wait(timeout=60)
        except subprocess.TimeoutExpired:
            bench.kill()
            bench.wait()
        bench_log.close()

    serials = [s for s in record.read_text().split() if s]
    assert len(serials) > 0, "no certificate was issued between the kills"
    assert len(set(serials)) == len(serials)
    stored = {r[0] for r in ca.db("SELECT serial FROM certs")}
    missing = [s for s in serials if s not in stored]
    assert missing == [], f"received but not in the database: {missing}"

    # Whatever a crash left in flight is resolved by the running CA:
    # orders given back at start, validation jobs resumed.
    deadline = time.monotonic() + 30
    while True:
        left = ca.db("SELECT (SELECT count(*) FROM orders WHERE status=?)"
                     " + (SELECT count(*) FROM authzs WHERE status=?)"
                     " + (SELECT count(*) FROM challs WHERE status=?)",
                     (ST_PROCESSING,) * 3)[0][0]
        if left == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == 0, f"{left} objects still processing"
    assert ca.db("PRAGMA integrity_check") == [("ok",)]
    print(f"{len(serials)} certificates over {KILLS} kills")
