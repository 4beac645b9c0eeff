"""exec+faketime: clients that read the wall clock run the long scenarios on the virtual
clock through Debian's libfaketime (docs/exec-protocol.md). Two such clients: the C
reference adapter with --wall-clock (time() and clock_gettime()) and a Node client that
reads Date.now() and has no helper clock."""
import glob
import json
import os
import sys

import pytest

from conftest import ROOT
from harness_util import BUILD, SCENARIOS, catalogue, run_json

C_CLIENT = os.path.join(BUILD, "bin", "renew-adapter") + " --wall-clock"
NODE_CLIENT = "node " + os.path.join(ROOT, "tests", "e2e", "adapters", "wall_clock_client.mjs")
MULTI_TAB = {"rt_reuse_multi_tab", "rp_logout_other_tabs"}
# long scenarios a refresh-only client without backoff or single flight must pass
NODE_SCENARIOS = ["rt_rotating_happy", "rt_non_rotating", "rt_same_refresh_token",
                  "clock_client_fast", "clock_client_slow", "rt_scope_narrowed",
                  "revoke_on_signout"]


def faketime_dirs():
    return set(glob.glob("/tmp/renewlab-faketime-*"))


def test_a_c_client_reading_the_wall_clock_runs_the_core_catalogue(tmp_path):
    before = faketime_dirs()
    r, report = run_json(tmp_path, "--target", "exec+faketime:" + C_CLIENT, "--jobs", "2")
    runs = {run["scenario"]: run for run in report["runs"]}
    skipped = {k for k, v in runs.items() if v["verdict"] == "skip"}
    assert skipped == MULTI_TAB
    bad = {k: (v["verdict"], v.get("reason")) for k, v in runs.items()
           if v["verdict"] not in ("pass", "skip")}
    assert not bad and r.returncode == 0, bad
    longest = max(sum(st.get("seconds", 0) for st in s["steps"])
                  for _, s in catalogue() if "core" in s["targets"])
    assert longest > 3600  # hours of virtual time, read through time() and clock_gettime()
    assert faketime_dirs() <= before, "a run's timestamp folder was left behind"


def test_the_same_client_without_faketime_fails(tmp_path):
    """The negative control: its clock is then the machine's, not the scenario's."""
    r, report = run_json(tmp_path, "--target", "exec:" + C_CLIENT,
                         f"{SCENARIOS}/rt_rotating_happy.json", f"{SCENARIOS}/rt_non_rotating.json")
    assert r.returncode != 0
    assert all(run["verdict"] in ("fail", "error") for run in report["runs"])


@pytest.mark.parametrize("scenario", NODE_SCENARIOS)
def test_a_node_client_reading_date_now_runs_long_scenarios(tmp_path, scenario):
    r, report = run_json(tmp_path, "--target", "exec+faketime:" + NODE_CLIENT,
                         f"{SCENARIOS}/{scenario}.json")
    run = report["runs"][0]
    assert run["verdict"] == "pass" and r.returncode == 0, (run.get("reason"), run.get("stderr"))


def test_a_client_on_another_clock_is_named_at_once(tmp_path):
    """Without faketime the Node client's wake_at is the real clock's, years before the
    scenario's time: every advance runs nothing, which is said at once, not a hang."""
    r, report = run_json(tmp_path, "--target", "exec:" + NODE_CLIENT,
                         f"{SCENARIOS}/rt_rotating_happy.json")
    run = report["runs"][0]
    assert r.returncode == 3 and run["verdict"] == "error"
    assert "a clock other than the lines' \"now\"" in run["reason"], run["reason"]


def test_without_libfaketime_the_run_is_an_infrastructure_error(tmp_path):
    env_before = os.environ.get("RENEWLAB_LIBFAKETIME")
    os.environ["RENEWLAB_LIBFAKETIME"] = str(tmp_path / "nope.so")
    try:
        r, report = run_json(tmp_path, "--target", "exec+faketime:" + C_CLIENT,
                             f"{SCENARIOS}/rt_rotating_happy.json")
    finally:
        if env_before is None:
            del os.environ["RENEWLAB_LIBFAKETIME"]
        else:
            os.environ["RENEWLAB_LIBFAKETIME"] = env_before
    run = report["runs"][0]
    assert r.returncode == 3 and run["verdict"] == "error"
    assert "exec+faketime needs libfaketime" in run["reason"] and "nope.so" in run["reason"]


def test_an_adapter_with_its_own_clock_is_skipped_under_faketime(tmp_path):
    adapter = f"{sys.executable} {ROOT}/harness/adapters/py_adapter.py --real-time"
    r, report = run_json(tmp_path, "--target", "exec+faketime:" + adapter,
                         f"{SCENARIOS}/rt_rotating_happy.json")
    run = report["runs"][0]
    assert run["verdict"] == "skip" and "needs capability virtual_clock" in run["reason"]
