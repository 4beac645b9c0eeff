"""The CI recipes of docs/ci/ (docs/ci.md): each YAML file parses (python3-yaml), and every
run: step (GitHub Actions) and script line (GitLab CI) of their test jobs runs as written,
in a workspace standing for the user's repository, against the built tree. What a CI
service provides is stood in for: the step that installs renewlab (the built tree on PATH),
services: (a started mock-idp with the service's issuer and control secret; the job's
OIDC_ISSUER then points at it) and the image job (make container-test builds that
Containerfile). Matrix and parallel shards run one after the other."""
import glob
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import ROOT, MockIdp
from harness_util import BUILD, catalogue, clean_env

RECIPES = os.path.join(ROOT, "docs", "ci")
GITHUB = os.path.join(RECIPES, "github-actions.yml")
GITLAB = os.path.join(RECIPES, "gitlab-ci.yml")


def base_env(**extra):
    return clean_env(PATH=os.path.join(BUILD, "bin") + os.pathsep + os.environ["PATH"], **extra)


@pytest.fixture
def workspace(tmp_path):
    """The user's repository as a job checks it out: renewlab's source beside it as
    .renewlab (the recipes' second checkout) and the committed baseline, written from a run
    as docs/ci.md says."""
    ws = tmp_path / "ws"
    ws.mkdir()
    os.symlink(ROOT, ws / ".renewlab")
    r = subprocess.run(["renewlab", "run", "--target", "exec:renew-adapter", "--write-baseline",
                        "renewal-baseline.json"], cwd=ws, env=base_env(), capture_output=True,
                       text=True)
    assert r.returncode == 0 and (ws / "renewal-baseline.json").exists(), r.stdout + r.stderr
    return ws


def stand_in_service(env):
    """mock-idp standing in for a service container: the service's control secret."""
    secret = env.get("MOCK_IDP_CONTROL_SECRET")
    return MockIdp("--no-key-cache", *(["--control-secret", secret] if secret else []))


def run_script(script, ws, env, what):
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ws, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{what}: exit {r.returncode}\n{script}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


# -- GitHub Actions -------------------------------------------------------------------------
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def github_value(expr, ctx):
    """An expression of the recipes: dotted names and 'literals' joined by ||."""
    for operand in (o.strip() for o in expr.split("||")):
        if operand.startswith("'"):
            value = operand.strip("'")
        else:
            value = ctx
            for part in operand.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        if value:
            return str(value)
    return ""


def github_subst(text, ctx):
    return EXPR.sub(lambda m: github_value(m.group(1), ctx), str(text))


def github_job(doc, name, ws, matrix):
    job = doc["jobs"][name]
    ctx = {"matrix": matrix, "secrets": {}, "env": {}, "github": {"repository": "you/app"}}
    for scope in (doc.get("env", {}), job.get("env", {})):
        for k, v in scope.items():
            ctx["env"][k] = github_subst(v, ctx)
    env = base_env(**ctx["env"])
    service = None
    if "services" in job:
        (svc,) = job["services"].values()
        svc_env = {k: github_subst(v, ctx) for k, v in svc.get("env", {}).items()}
        assert svc_env["MOCK_IDP_ISSUER"] == env["OIDC_ISSUER"]
        assert svc_env["MOCK_IDP_CONTROL_SECRET"] == env["MOCK_IDP_CONTROL_SECRET"]
        service = stand_in_service(svc_env)
        env["OIDC_ISSUER"] = service.issuer
    uploads = []
    try:
        for step in job["steps"]:
            if "uses" in step:
                if step["uses"].startswith("actions/upload-artifact"):
                    uploads.append(github_subst(step["with"]["path"], ctx))
                continue
            if step.get("id") == "install-renewlab":
                continue  # the built tree is on PATH
            run_script(github_subst(step["run"], ctx), ws, env, f"{name}: {step.get('name')}")
    finally:
        if service:
            assert service.stop() == 0
    for path in uploads:
        assert (ws / path).exists(), path
    return env


def junit_cases(paths):
    cases = []
    for p in paths:
        for tc in ET.parse(p).getroot().iter("testcase"):
            cases.append(tc.get("name"))
    return cases


def core_ids():
    return sorted(s["id"] for _, s in catalogue() if "core" in s.get("targets", ["core"]))


def test_the_github_recipe_parses_and_names_what_it_stands_on():
    doc = yaml.safe_load(open(GITHUB))
    assert set(doc["jobs"]) == {"renewal-catalogue", "mock-idp-image", "app-tests-with-mock-idp"}
    image = "\n".join(s.get("run", "") for s in doc["jobs"]["mock-idp-image"]["steps"])
    assert "packaging/Containerfile" in image and os.path.exists(
        os.path.join(ROOT, "packaging", "Containerfile"))
    assert [s.get("id") for s in doc["jobs"]["renewal-catalogue"]["steps"]].count(
        "install-renewlab") == 1


def test_the_github_catalogue_job_runs_every_shard_once(workspace):
    doc = yaml.safe_load(open(GITHUB))
    shards = doc["jobs"]["renewal-catalogue"]["strategy"]["matrix"]["shard"]
    for shard in shards:
        github_job(doc, "renewal-catalogue", workspace, {"shard": shard})
    cases = junit_cases(sorted(glob.glob(str(workspace / "reports" / "junit-*.xml"))))
    assert len(cases) == len(set(cases)) and len(cases) == len(core_ids())


def test_the_github_app_job_runs_the_app_tests_and_judges_the_trace(workspace):
    doc = yaml.safe_load(open(GITHUB))
    github_job(doc, "app-tests-with-mock-idp", workspace, {})
    judged = ET.parse(workspace / "reports" / "judge.xml").getroot()
    assert list(judged.iter("testcase")) and not list(judged.iter("failure"))
    assert (workspace / "reports" / "judge.html").exists()


# -- GitLab CI -----------------------------------------------------------------------------
def gitlab_job(doc, name):
    """The job with what it extends merged in (one level, as the recipe uses)."""
    job = dict(doc[name])
    for base in [job.pop("extends")] if "extends" in job else []:
        merged = dict(doc[base])
        merged.update(job)
        merged["_extends"] = base
        job = merged
    return job


def gitlab_run(doc, name, ws, node=None):
    job = gitlab_job(doc, name)
    env = base_env(**{k: str(v) for k, v in doc.get("variables", {}).items()})
    env.update({k: str(v) for k, v in job.get("variables", {}).items()})
    env["MOCK_IDP_CONTROL_SECRET"] = "ci-" + os.urandom(6).hex()  # the masked CI variable
    if node:
        env["CI_NODE_INDEX"], env["CI_NODE_TOTAL"] = str(node[0]), str(node[1])
    service = None
    if "services" in job:
        (svc,) = job["services"]
        svc_env = dict(env, **svc.get("variables", {}))  # services get the job's variables
        assert svc_env["MOCK_IDP_ISSUER"] == env["OIDC_ISSUER"]
        assert svc["alias"] == "mock-idp" and svc["name"] == "$MOCK_IDP_IMAGE"
        service = stand_in_service(svc_env)
        env["OIDC_ISSUER"] = service.issuer
    assert job.get("_extends") == ".install-renewlab"  # before_script: the built tree on PATH
    try:
        run_script("\n".join(job["script"]), ws, env, name)
    finally:
        if service:
            assert service.stop() == 0
    for path in job["artifacts"]["paths"]:
        assert (ws / path).exists(), path
    return job


def test_the_gitlab_recipe_parses_and_names_what_it_stands_on():
    doc = yaml.safe_load(open(GITLAB))
    assert doc["stages"] == ["image", "test"]
    image = " ".join(doc["mock-idp-image"]["script"])
    assert "packaging/Containerfile" in image
    assert doc["app-tests-with-mock-idp"]["needs"] == ["mock-idp-image"]


def test_the_gitlab_catalogue_job_runs_every_parallel_node_once(workspace):
    doc = yaml.safe_load(open(GITLAB))
    total = doc["renewal-catalogue"]["parallel"]
    for i in range(1, total + 1):
        job = gitlab_run(doc, "renewal-catalogue", workspace, (i, total))
    reported = sorted(glob.glob(str(workspace / job["artifacts"]["reports"]["junit"])))
    assert len(reported) == total
    cases = junit_cases(reported)
    assert len(cases) == len(set(cases)) and len(cases) == len(core_ids())


def test_the_gitlab_app_job_runs_the_app_tests_and_judges_the_trace(workspace):
    doc = yaml.safe_load(open(GITLAB))
    gitlab_run(doc, "app-tests-with-mock-idp", workspace)
    judged = ET.parse(workspace / "reports" / "judge.xml").getroot()
    assert list(judged.iter("testcase")) and not list(judged.iter("failure"))
