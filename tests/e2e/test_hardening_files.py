"""Hardening of what renewlab and mock-idp read (docs/hardening.md): FIFOs, devices,
directories, oversized files, NUL bytes, silent caps; and observe mode over a trace written
by 4 worker loops serving concurrent clients."""
import json
import os
import subprocess
import threading

import pytest
from conftest import BIN, MockIdp
from harness_util import renewlab, trace_entries, write_scenario

TIMEOUT = 20  # a hang fails the test instead of the run


def entry(seq, **kw):
    e = {"seq": seq, "t": 1000 + seq, "method": "GET", "endpoint": "jwks", "path": "/jwks",
         "status": 200, "session_cookie": False}
    e.update(kw)
    return json.dumps(e)


def judge(*args):
    return renewlab("judge", *args, timeout=TIMEOUT)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo.json"
    os.mkfifo(path)
    return str(path)


def test_a_fifo_is_refused_at_once_everywhere(tmp_path, fifo):
    r = judge(fifo)
    assert r.returncode == 2 and "not a regular file" in r.stderr
    r = renewlab("run", fifo, timeout=TIMEOUT)
    assert r.returncode == 2 and "not a regular file" in r.stderr
    for flag in ("--config", "--signing-key"):
        p = subprocess.run([BIN, "--listen", "127.0.0.1:0", flag, fifo], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert p.returncode == 2 and "not a regular file" in p.stderr, (flag, p.stderr)


def test_a_config_whose_signing_key_is_a_fifo_is_refused(tmp_path, fifo):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"signing_key": fifo}))
    p = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr


def test_devices_and_directories_are_refused(tmp_path):
    for path, why in (("/dev/zero", "not a regular file"), (str(tmp_path), "is a directory")):
        r = judge(path)
        assert r.returncode == 2 and why in r.stderr, r.stderr
    p = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--config", "/dev/zero"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 2 and "not a regular file" in p.stderr


def test_files_over_the_cap_are_refused_with_the_cap(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"id": "x", "pad": "' + "a" * (1 << 20) + '"}')
    r = renewlab("run", str(big), timeout=TIMEOUT)
    assert r.returncode == 2 and "larger than 1048576 bytes" in r.stderr
    big_trace = tmp_path / "big.jsonl"
    with open(big_trace, "w") as f:
        line = entry(1) + "\n"
        f.write(line * ((1 << 20) // len(line) + 2))
    r = judge(str(big_trace), "--max-trace-mb", "1")
    assert r.returncode == 2 and "larger than 1048576 bytes" in r.stderr


def test_a_nul_byte_in_a_trace_is_an_error_with_its_line(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_bytes((entry(1) + "\n" + entry(2) + "\n").encode() + b"\0" + (entry(3) + "\n").encode())
    r = judge(str(trace))
    assert r.returncode == 2 and f"{trace}:3: holds a NUL byte" in r.stderr, r.stderr


def test_a_one_entry_trace_is_graded(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text(entry(1) + "\n")
    r = judge(str(trace))
    assert r.returncode == 0, r.stderr + r.stdout


def test_a_gap_names_the_missing_seq_numbers(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text("\n".join(entry(i) for i in (1, 2, 3, 7, 8)) + "\n")
    r = judge(str(trace))
    assert r.returncode == 2 and "seq 4 to 6 are missing" in r.stderr, r.stderr
    trace.write_text("\n".join(entry(i) for i in (1, 2, 4)) + "\n")
    r = judge(str(trace))
    assert r.returncode == 2 and "seq 3 is missing" in r.stderr
    trace.write_text("\n".join(entry(i) for i in (1, 2, 1)) + "\n")
    r = judge(str(trace))
    assert r.returncode == 2 and "seq 1 appears twice" in r.stderr and "more than one run" in r.stderr


def test_judge_refuses_an_empty_check_list(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text(entry(1) + "\n")
    for checks in ("", ","):
        r = judge(str(trace), "--checks", checks)
        assert r.returncode == 2 and "names no check" in r.stderr


def test_every_scenario_of_a_large_directory_runs(tmp_path):
    scn = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "scenarios",
                                      "rt_rotating_happy.json")))
    for i in range(1100):
        write_scenario(tmp_path, {**scn, "id": f"s{i:04d}"}, name=f"s{i:04d}.json")
    r = renewlab("list", str(tmp_path), timeout=120)
    assert r.returncode == 0, r.stderr
    assert sum(1 for line in r.stdout.splitlines() if line.startswith("s")) == 1100


@pytest.mark.parametrize("count,ok", [(0, False), (-3, False), (10001, False), (1000000000, False),
                                      (10000, True)])
def test_use_count_is_bounded(tmp_path, count, ok):
    scn = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "scenarios",
                                      "rt_rotating_happy.json")))
    scn["steps"] = [{"do": "login"}, {"do": "use", "count": count}]
    path = write_scenario(tmp_path, scn)
    r = renewlab("list", path, timeout=TIMEOUT)
    if ok:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 2 and "/steps/1/count: must be 1 to 10000" in r.stderr, r.stderr


def test_a_4_worker_trace_of_concurrent_clients_is_in_seq_order_and_graded(tmp_path):
    trace = tmp_path / "t.jsonl"
    idp = MockIdp("--workers", "4", "--trace-out", str(trace))
    try:
        def client():
            t = idp.code_flow()
            rt = t["refresh_token"]
            for _ in range(25):  # 100 requests a client with the jwks reads
                r = idp.refresh(rt)
                assert r.status == 200, r.text
                rt = r.json()["refresh_token"]
                idp.get("/jwks")
                idp.get("/.well-known/openid-configuration")
                idp.get("/userinfo", headers={"Authorization": "Bearer " + r.json()["access_token"]})
        threads = [threading.Thread(target=client) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        served = idp.trace()
    finally:
        assert idp.stop() == 0
    seqs = [e["seq"] for e in trace_entries(trace)]
    assert len(seqs) >= 400
    assert seqs == list(range(1, len(seqs) + 1)), "the file is in seq order"
    assert [e["seq"] for e in served] == seqs, "GET /_mock/trace is in seq order"
    out = trace.parent / "r.json"
    r = judge(str(trace), "--json", str(out))
    assert r.returncode in (0, 1) and "lost entries" not in r.stderr, r.stderr + r.stdout
    checks = {c["name"]: c["passed"] for c in json.loads(out.read_text())["runs"][0]["checks"]}
    # graded, not refused: each client rotated its own family in turn, 100 times in a
    # second (which the rate bound rightly reports)
    assert checks["no_reuse_of_rotated_token"] is True
    assert checks["no_retry_after_invalid_grant"] is True
    assert checks["renewal_rate_bounded"] is False
