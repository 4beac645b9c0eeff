"""Reports: golden JSON, JUnit XML read by junitparser, and the HTML report rendered in
headless Chromium with assertions on its DOM."""
import html.parser
import os
import re
import shutil
import subprocess
import tempfile

import junitparser
import pytest

from harness_util import SCENARIOS, catalogue, renewlab, run_json, scenario, write_scenario

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
CHROMIUM = "/usr/lib/chromium/chromium"


def normalise(text):
    return re.sub(r'"wall_ms": \d+', '"wall_ms": 0', text)


def test_json_report_matches_the_golden_file(tmp_path):
    out = tmp_path / "r.json"
    r = renewlab("run", os.path.join(GOLDEN, "golden_rotation.json"), "--seed", "3", "--json", str(out))
    assert r.returncode == 0, r.stdout
    got = normalise(out.read_text())
    golden = os.path.join(GOLDEN, "golden_rotation.report.json")
    if os.environ.get("RENEWLAB_UPDATE_GOLDEN"):
        open(golden, "w").write(got)
    assert got == open(golden).read(), "report changed: inspect, then RENEWLAB_UPDATE_GOLDEN=1"


def failing_report(tmp_path, fmt):
    s = scenario("revoke_on_signout")
    s["client"] = {"misbehave": ["no_revoke"]}
    a = write_scenario(tmp_path, s, "a.json")
    b = os.path.join(SCENARIOS, "rt_rotating_happy.json")
    c = os.path.join(SCENARIOS, "sr_xfo_deny.json")  # browser only: not planned for core
    out = tmp_path / f"r.{fmt}"
    r = renewlab("run", a, b, c, "--target", "core", f"--{fmt}", str(out))
    assert r.returncode == 1
    return out


def test_junit_is_read_by_junitparser(tmp_path):
    xml = junitparser.JUnitXml.fromfile(str(failing_report(tmp_path, "junit")))
    suites = {s.name: s for s in xml}
    assert set(suites) == {"renewlab.core"}
    core = suites["renewlab.core"]
    assert core.tests == 2 and core.failures == 1 and core.errors == 0
    cases = {c.name: c for c in core}
    failed = cases["revoke_on_signout"]
    assert failed.result and isinstance(failed.result[0], junitparser.Failure)
    assert "revoked_on_logout" in failed.result[0].text
    assert "was never revoked" in failed.result[0].text
    assert cases["rt_rotating_happy"].is_passed


class DomCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def render(path):
    """The DOM Chromium builds from the report (not the file's text)."""
    with tempfile.TemporaryDirectory() as profile:
        env = dict(os.environ, HOME=profile, TMPDIR=profile)
        out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                              "--disable-quic", "--no-first-run", "--disable-background-networking",
                              "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}/udd", "--dump-dom", f"file://{path}"],
                             capture_output=True, text=True, timeout=120, env=env,
                             start_new_session=True)
    assert out.returncode == 0, out.stderr[-2000:]
    dom = DomCollector()
    dom.feed(out.stdout)
    return dom.elements


@pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
                    reason="chromium is installed by scripts/setup-deps.sh")
def test_html_report_renders_timelines_that_carry_the_events(tmp_path):
    out = tmp_path / "r.html"
    r = renewlab("run", "--filter", "rt_response_lost_after_rotation", "--html", str(out))
    assert r.returncode == 0
    els = render(out)
    svgs = [a for t, a in els if t == "svg" and "timeline" in a.get("class", "")]
    assert [s["data-scenario"] for s in svgs] == ["rt_response_lost_after_rotation"]
    bars = [a for t, a in els if t == "rect" and a.get("class") == "at"]
    assert [b["data-token"] for b in bars] == [f"at#{i}" for i in range(1, len(bars) + 1)]
    assert all(float(b["data-expires"]) - float(b["data-issued"]) == 300 for b in bars)
    refreshes = [a for t, a in els if t == "circle" and "refresh" in a.get("class", "")]
    assert [r["data-status"] for r in refreshes][-2:] == ["200", "400"]
    faults = [a for t, a in els if t == "polygon" and a.get("class") == "fault"]
    assert len(faults) == 1 and faults[0]["data-action"] == "reset"
    events = [a["data-event"] for t, a in els if t == "rect" and "event" in a.get("class", "").split()]
    assert events[0] == "logged_in" and events[-1] == "session_lost"
    summary = next(a for t, a in els if a.get("id") == "summary")
    assert summary["data-total"] == "1" and summary["data-pass"] == "1"
    checks = {a["data-check"]: a["class"] for t, a in els if t == "tr" and "data-check" in a}
    assert checks["no_retry_after_invalid_grant"] == "passed"


def test_html_report_marks_failures_with_their_evidence(tmp_path):
    text = failing_report(tmp_path, "html").read_text()
    assert 'data-verdict="fail"' in text and 'data-check="revoked_on_logout"' in text
    assert "was never revoked" in text


@pytest.fixture
def tiny_disk(tmp_path):
    """A 4 KiB tmpfs (one page): a real ENOSPC for the report writers (needs root to mount)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_a_full_disk_is_an_error_and_the_previous_report_survives(tiny_disk):
    previous = tiny_disk / "report.json"
    previous.write_text('{"previous": true}\n')
    r = renewlab("run", "--filter", "rt_rotating_happy", "--json", str(previous))
    assert r.returncode == 3
    assert "cannot write" in r.stderr and "No space left on device" in r.stderr
    assert previous.read_text() == '{"previous": true}\n', "never half-written"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["report.json"], "no temporary left"


def test_a_run_on_several_targets_prints_and_writes_the_client_matrix(tmp_path):
    """Scenarios x targets, each cell pass, fail, skip (with why) or not in that target's
    catalogue: in the terminal, as Markdown (--matrix) and at the top of the HTML report."""
    s = scenario("revoke_on_signout")
    s["client"] = {"misbehave": ["no_revoke"]}
    broken = write_scenario(tmp_path, s, "broken.json")
    py = f"exec:/usr/bin/python3 {os.path.dirname(SCENARIOS)}/harness/adapters/py_adapter.py"
    md, page = tmp_path / "m.md", tmp_path / "r.html"
    r = renewlab("run", "--target", "core", "--target", py, broken,
                 os.path.join(SCENARIOS, "rt_rotating_happy.json"),
                 os.path.join(SCENARIOS, "sr_login_required.json"),
                 "--matrix", str(md), "--html", str(page))
    assert r.returncode == 1, r.stdout  # the broken scenario fails on core
    lines = r.stdout[r.stdout.index("\nmatrix"):].splitlines()[1:]
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines if ln and not ln.startswith("(")}
    assert rows["rt_rotating_happy"] == ["pass", "pass"]
    assert rows["sr_login_required"] == ["pass", "skip"]
    assert rows[s["id"]][0] == "fail"
    table = md.read_text().splitlines()
    assert table[0] == f"| scenario | `core` | `{py}` |"
    row = next(ln for ln in table if ln.startswith("| `sr_login_required`"))
    assert row == "| `sr_login_required` | pass | skip (needs capability silent) |"
    text = page.read_text()
    assert text.index('<table class="matrix">') < text.index('<table class="index">')
    assert 'data-state="skip"' in text and 'data-state="fail"' in text


def test_the_shipped_client_matrix_covers_every_browser_client_and_scenario():
    """docs/clients.md (make clients-matrix) has a column per browser client folder and a row
    per browser scenario, and the README shows the same table."""
    root = os.path.dirname(SCENARIOS)
    doc = open(os.path.join(root, "docs", "clients.md")).read()
    table = doc.split("<!-- matrix -->")[1].split("<!-- /matrix -->")[0]
    rows = [ln for ln in table.splitlines() if ln.startswith("| `")]
    head = next(ln for ln in table.splitlines() if ln.startswith("| scenario"))
    clients = sorted(os.listdir(os.path.join(root, "harness", "web", "clients")))
    assert sorted(re.findall(r"`([^`]+)`", head)) == clients
    browser = sorted(s["id"] for _, s in catalogue() if "browser" in s["targets"])
    assert sorted(re.match(r"\| `([^`]+)`", ln).group(1) for ln in rows) == browser
    readme = open(os.path.join(root, "README.md")).read()
    copy = readme.split("<!-- client matrix -->")[1].split("<!-- /client matrix -->")[0]
    assert copy.strip() == "\n".join([head, table.splitlines()[table.splitlines().index(head) + 1]] + rows)
