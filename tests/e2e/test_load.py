"""renewlab load: the load model's counts, determinism, outages, jitter, reports and usage
errors. Small models (a few hundred clients, hours of virtual time): each runs in well
under a second; the 100,000-client day is measured by bench/run, not here."""
import json

import pytest

from harness_util import renewlab


def load(tmp_path, *args, name="load"):
    out = tmp_path / f"{name}.json"
    r = renewlab("load", *args, "--json", str(out))
    assert r.returncode == 0, r.stderr
    return r, json.loads(out.read_text())


def test_every_client_renews_about_once_per_access_token_lifetime(tmp_path):
    r, doc = load(tmp_path, "--clients", "400", "--duration", "6h", "--access-token", "30m")
    run = doc["runs"][0]
    s = run["summary"]
    assert s["logins"] == 400 and s["refused"] == 0 and s["clients_lost"] == 0
    # logins spread over the first 30 min, then one refresh every ~29 min per client
    expected = 400 * (6 * 60 - 15) / (30 - 1 - 0.25)
    assert abs(s["refresh_requests"] - expected) < 0.05 * expected, s
    assert s["renewed"] == s["refresh_requests"]
    assert len(run["series"]["refresh"]) == 6 * 60  # one-minute buckets
    assert sum(run["series"]["refresh"]) == s["refresh_requests"]
    assert "nothing is signed" in run["tokens"] and "in-memory" in run["transport"]
    assert "400 clients" in r.stdout and "refresh requests" in r.stdout


def test_clients_split_evenly_among_access_token_lifetimes(tmp_path):
    _, doc = load(tmp_path, "--clients", "600", "--duration", "6h", "--access-token", "30m,1h",
                  "--login-spread", "0")
    run = doc["runs"][0]
    assert run["model"]["access_tokens_s"] == [1800, 3600]
    # 300 clients renew every ~29 min (12 times in 6 h), 300 every ~59 min (6 times)
    assert 5300 <= run["summary"]["refresh_requests"] <= 5500, run["summary"]


def test_the_same_seed_gives_the_same_series_and_another_seed_another(tmp_path):
    args = ("--clients", "200", "--duration", "3h", "--access-token", "20m")
    _, a = load(tmp_path, *args, "--seed", "5", name="a")
    _, b = load(tmp_path, *args, "--seed", "5", name="b")
    _, c = load(tmp_path, *args, "--seed", "6", name="c")
    series = lambda d: d["runs"][0]["series"]
    assert series(a) == series(b)
    assert series(a)["refresh"] != series(c)["refresh"]


def test_an_outage_is_refused_and_followed_by_a_herd(tmp_path):
    _, doc = load(tmp_path, "--clients", "600", "--duration", "4h", "--access-token", "30m",
                  "--outage", "2h+10m")
    run = doc["runs"][0]
    s, refused = run["summary"], run["series"]["refused"]
    assert s["refused"] > 0 and sum(refused) == s["refused"]
    # refusals only inside the outage (buckets 120..129, the last answer may land just after)
    assert all(n == 0 for i, n in enumerate(refused) if not 120 <= i <= 130)
    assert s["clients_gave_up"] > 0 and s["clients_lost"] == 0
    herd = s["after_outages"][0]["peak_per_s"]
    assert herd > 4 * s["mean_per_s"], s
    assert 2 * 3600 + 600 <= s["after_outages"][0]["peak_at_s"] < 2 * 3600 + 1200


def test_jitter_spreads_synchronised_logins(tmp_path):
    _, doc = load(tmp_path, "--clients", "1000", "--duration", "3h", "--access-token", "30m",
                  "--login-spread", "0", "--bucket", "10s", "--compare-jitter", "0")
    jittered, plain = doc["runs"]
    assert jittered["model"]["jitter_s"] == 30 and plain["model"]["jitter_s"] == 0
    # without jitter every client renews in the same instant, every time
    assert plain["summary"]["peak_per_s"] >= 2 * jittered["summary"]["peak_per_s"]
    # and the jittered herd keeps spreading: its last peak is lower than its first
    series = jittered["series"]["refresh"]
    first, last = max(series[:180]), max(series[-180:])
    assert last < first


def test_html_report_has_the_plot_and_the_table(tmp_path):
    html = tmp_path / "load.html"
    r = renewlab("load", "--clients", "100", "--duration", "2h", "--outage", "1h+5m",
                 "--html", str(html))
    assert r.returncode == 0, r.stderr
    page = html.read_text()
    assert page.count("<polyline") == 2 and "<svg" in page and "outage" in page
    assert "refresh requests" in page and "nothing is signed" in page


@pytest.mark.parametrize("args, message", [
    (("--clients", "0"), "--clients needs a whole number from 1"),
    (("--duration", "tomorrow"), "--duration needs a positive duration"),
    (("--outage", "6h"), "--outage needs START+LENGTH"),
    (("--access-token", "30m,0s"), "--access-token needs lifetimes of at least 1 s"),
    (("--jitter", "40m", "--access-token", "2h,30m"), "must stay below every --access-token"),
    (("--frobnicate",), "unknown or incomplete option"),
    (("extra",), "takes no arguments"),
])
def test_bad_options_exit_2_with_the_reason(args, message):
    r = renewlab("load", *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr
