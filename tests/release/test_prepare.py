"""Releases: versions from a real git history, the model card from real metrics, the image helpers."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from lastmile.params import load_params
from lastmile.release import image
from lastmile.release import prepare as release
from tests.conftest import git_add_commit, run

REPOSITORY = "Acme/Lastmile"
ROOT = Path(__file__).resolve().parents[2]


def commit(repo: Path, message: str) -> None:
    with (repo / "log.txt").open("a") as log:
        log.write(message + "\n")
    git_add_commit(repo, message)


def tag(repo: Path, name: str) -> None:
    run(["git", "tag", name], cwd=repo)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    repo = tmp_path / "history"
    repo.mkdir()
    run(["git", "init", "-q", "-b", "main"], cwd=repo)
    commit(repo, "chore: start")
    return repo


def test_first_release_is_0_1_0(history: Path) -> None:
    commit(history, "feat: a model")
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.tag, plan.previous_tag, plan.bump) == ("0.1.0", "v0.1.0", None, "first")
    head = run(["git", "rev-parse", "HEAD"], cwd=history).stdout.strip()
    assert plan.commit == head
    assert plan.image == "ghcr.io/acme/lastmile"
    assert plan.image_tags == [
        "ghcr.io/acme/lastmile:0.1.0",
        f"ghcr.io/acme/lastmile:{head}",
        "ghcr.io/acme/lastmile:latest",
    ]


@pytest.mark.parametrize(
    ("messages", "expected", "bump"),
    [
        (["fix: handle empty batches", "docs: typo"], "1.4.3", "patch"),
        (["fix: x", "feat(service): metadata endpoint"], "1.5.0", "minor"),
        (["feat!: drop the v1 payload"], "2.0.0", "major"),
        (["refactor(api)!: rename fields"], "2.0.0", "major"),
        (["feat: new field\n\nBREAKING CHANGE: records need `age`"], "2.0.0", "major"),
        (["Merge pull request #3 from someone/branch"], "1.4.3", "patch"),
    ],
)
def test_bump_follows_conventional_commits(
    history: Path, messages: list[str], expected: str, bump: str
) -> None:
    tag(history, "v1.4.2")
    for message in messages:
        commit(history, message)
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.bump, plan.previous_tag) == (expected, bump, "v1.4.2")
    assert [c.subject for c in plan.commits] == [m.split("\n")[0] for m in reversed(messages)]


def test_latest_semver_tag_on_this_branch_wins(history: Path) -> None:
    tag(history, "v0.9.0")
    commit(history, "fix: a")
    tag(history, "v0.10.0")  # numeric, not text, order: 0.10.0 > 0.9.0
    tag(history, "latest")  # not a version
    tag(history, "v1.0")  # not MAJOR.MINOR.PATCH
    run(["git", "checkout", "-q", "-b", "other"], cwd=history)
    commit(history, "feat: elsewhere")
    tag(history, "v3.0.0")  # on another branch, not merged into main
    run(["git", "checkout", "-q", "main"], cwd=history)
    commit(history, "fix: b")
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.previous_tag) == ("0.10.1", "v0.10.0")


def test_a_tagged_commit_keeps_its_version(history: Path) -> None:
    tag(history, "v0.1.0")
    commit(history, "feat: b")
    tag(history, "v0.2.0")
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.bump, plan.previous_tag) == ("0.2.0", "none", "v0.1.0")
    assert "already_released=true" in release.github_outputs(plan, Path("dist/release"))


def test_explicit_version_must_be_higher(history: Path) -> None:
    tag(history, "v1.2.0")
    commit(history, "fix: a")
    assert release.plan_release(history, REPOSITORY, explicit="2.0.0").bump == "explicit"
    with pytest.raises(release.ReleaseError, match=r"not higher than the last release v1\.2\.0"):
        release.plan_release(history, REPOSITORY, explicit="1.2.0")
    with pytest.raises(release.ReleaseError, match="not a semantic version"):
        release.plan_release(history, REPOSITORY, explicit="2.0")


def test_a_rerun_for_a_released_commit_does_not_move_latest(history: Path) -> None:
    tag(history, "v0.1.0")
    commit(history, "feat: b")
    tag(history, "v0.2.0")
    commit(history, "fix: c")
    tag(history, "v0.2.1")
    run(["git", "checkout", "-q", "v0.2.0"], cwd=history)  # re-run the release of an older commit
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.bump, plan.latest) == ("0.2.0", "none", False)
    assert not any(t.endswith(":latest") for t in plan.image_tags)
    run(["git", "checkout", "-q", "main"], cwd=history)  # ...and of the newest one
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.latest) == ("0.2.1", False)
    assert "latest=false\n" in release.github_outputs(plan)
    # The version already on HEAD, given explicitly: a re-run too.
    assert release.plan_release(history, REPOSITORY, explicit="0.2.1").bump == "none"


def test_a_new_release_moves_latest_only_above_every_tag(history: Path) -> None:
    tag(history, "v1.0.0")
    commit(history, "fix: a")
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.latest) == ("1.0.1", True)
    assert plan.image_tags[-1] == "ghcr.io/acme/lastmile:latest"
    assert "latest=true\n" in release.github_outputs(plan)
    run(["git", "checkout", "-q", "-b", "next"], cwd=history)
    commit(history, "feat!: elsewhere")
    tag(history, "v2.0.0")  # a higher release on another branch
    run(["git", "checkout", "-q", "main"], cwd=history)
    plan = release.plan_release(history, REPOSITORY)
    assert (plan.version, plan.latest) == ("1.0.1", False)


@pytest.mark.parametrize("where", ["head", "ancestor", "other-branch"])
def test_an_explicit_version_below_an_existing_tag_is_refused(history: Path, where: str) -> None:
    if where == "other-branch":
        run(["git", "checkout", "-q", "-b", "other"], cwd=history)
        commit(history, "feat: elsewhere")
    tag(history, "v1.0.0")
    if where != "head":
        run(["git", "checkout", "-q", "main"], cwd=history)
        commit(history, "fix: later")
    for lower in ["0.5.0"] if where == "head" else ["0.5.0", "1.0.0"]:  # 1.0.0 on HEAD is a re-run
        with pytest.raises(release.ReleaseError, match=r"not higher than the last release v1\.0\.0"):
            release.plan_release(history, REPOSITORY, explicit=lower)
    assert release.plan_release(history, REPOSITORY, explicit="1.1.0").latest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM python:3.11-slim\n", "python:3.11-slim"),
        (f"# comment\nFROM python:3.11-slim@sha256:{'a' * 64}\n", f"python:3.11-slim@sha256:{'a' * 64}"),
    ],
)
def test_base_image_is_read_from_the_file_dependabot_updates(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "base.Dockerfile"
    path.write_text(text, encoding="utf-8")
    assert release.base_image(path) == expected


@pytest.mark.parametrize(
    "text",
    ["FROM python\n", "FROM python:3.11-slim@sha256:abc\n", "FROM a:1\nFROM b:2\n", "FROM $(id):1\n", ""],
)
def test_a_malformed_base_image_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "base.Dockerfile"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(release.ReleaseError, match="exactly one line"):
        release.base_image(path)


def test_the_repository_base_image_file_is_what_dependabot_watches() -> None:
    ref = release.base_image(ROOT / release.BASE_IMAGE_FILE)
    assert ref.startswith("python:3.11-slim")  # the Python of bentofile.yaml's docker.python_version
    dependabot = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text(encoding="utf-8"))
    docker = [u for u in dependabot["updates"] if u["package-ecosystem"] == "docker"]
    assert [u["directory"] for u in docker] == ["/" + release.BASE_IMAGE_FILE.parent.as_posix()]


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("git@github.com:Acme/Thing.git", "ghcr.io/acme/thing"),
        ("https://github.com/acme/thing", "ghcr.io/acme/thing"),
        ("https://gitlab.com/acme/thing.git", "ghcr.io/local/lastmile"),
        (None, "ghcr.io/local/lastmile"),
    ],
)
def test_image_name_defaults_to_the_github_remote(history: Path, remote: str | None, expected: str) -> None:
    if remote:
        run(["git", "remote", "add", "origin", remote], cwd=history)
    assert release.plan_release(history).image == expected


def test_bad_repository_and_no_git(tmp_path: Path, history: Path) -> None:
    with pytest.raises(release.ReleaseError, match="OWNER/NAME"):
        release.plan_release(history, "not a repo")
    with pytest.raises(release.ReleaseError, match="git rev-parse HEAD"):
        release.plan_release(tmp_path, REPOSITORY)


def test_version_command_prints_the_plan(history: Path) -> None:
    tag(history, "v0.3.0")
    commit(history, "feat: more")
    outputs = history / "github_output"
    command = ["lastmile", "release", "version", "--repository", REPOSITORY, "--github-output", str(outputs)]
    result = run(command, cwd=history)
    assert json.loads(result.stdout)["version"] == "0.4.0"
    assert "version=0.4.0\ntag=v0.4.0\nprevious_tag=v0.3.0\n" in outputs.read_text()
    bad = run(["lastmile", "release", "version", "--version", "0.1.0"], cwd=history, check=False)
    assert bad.returncode == 1 and "not higher than the last release v0.3.0" in bad.stderr
    assert "Traceback" not in bad.stderr


# --- model card and release notes, from a real pipeline run -------------------------------


def test_model_card_reports_the_real_metrics(trained_repo: Path) -> None:
    evidence = release.Evidence.load(trained_repo)
    metrics = json.loads((trained_repo / "reports/metrics.json").read_text())
    metadata = json.loads((trained_repo / "models/model.json").read_text())
    plan = release.plan_release(trained_repo, REPOSITORY)
    card = release.render_model_card(plan, evidence, load_params(trained_repo / "params.yaml"))

    for section in ("Intended use", "Data", "Metrics", "Quality gates", "Per-group metrics", "Limitations"):
        assert f"\n## {section}\n" in card
    assert f"| roc_auc | {metrics['roc_auc']:.4f} |" in card
    assert f"| f1 | {metrics['f1']:.4f} |" in card
    assert f"Training rows: {metadata['training_rows']:,}; test rows: {metrics['test_rows']:,}" in card
    assert metadata["model_version"] in card and metadata["training_data_hash"] in card
    assert "ghcr.io/acme/lastmile:0.1.0" in card

    params = load_params(trained_repo / "params.yaml")
    assert f"# Model card: {params.project.model_name} 0.1.0" in card and params.project.description in card
    assert evidence.fairness is not None and set(evidence.fairness) == set(params.features.sensitive)
    if not params.features.sensitive:
        assert "None configured" in card
    for feature, report in evidence.fairness.items():
        assert f"**{feature}**: demographic parity difference" in card
        for group, stats in report["groups"].items():
            assert f"| {group} | {stats['rows']:,} | {stats['selection_rate']:.4f} |" in card

    notes = release.render_release_notes(plan, evidence)
    assert f"roc_auc {metrics['roc_auc']:.4f}" in notes
    assert "(first release)" in notes and "ghcr.io/acme/lastmile:latest" in notes
    many = [release.Commit(f"{n:040x}", f"fix: change {n}") for n in range(35)]
    notes = release.render_release_notes(replace(plan, commits=many, previous_tag="v0.1.0"), evidence)
    assert "## Changes since `v0.1.0`" in notes and "- fix: change 29 (" in notes
    assert "- fix: change 30 (" not in notes and "- ... and 5 earlier commits" in notes


def test_model_card_shows_gates_and_refuses_failed_ones(trained_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    gates = {
        "passed": False,
        "gates": [
            {"name": "roc_auc", "kind": "min", "value": 0.91, "threshold": 0.85, "passed": True},
            {"name": "dp_group", "kind": "max", "value": 0.3, "threshold": 0.2, "passed": False},
        ],
    }
    (repo / "reports" / "gates.json").write_text(json.dumps(gates))
    (repo / "reports" / "fairness.json").unlink()
    evidence = release.Evidence.load(repo)
    card = release.render_model_card(
        release.plan_release(repo, REPOSITORY), evidence, load_params(repo / "params.yaml")
    )
    assert "Verdict: **FAILED**." in card
    assert "| dp_group | max | 0.3000 | 0.2000 | FAIL |" in card
    params = load_params(repo / "params.yaml")
    expected = "Per-group metrics were not computed" if params.features.sensitive else "None configured"
    assert expected in card

    out = repo / "dist" / "release"
    result = run(["lastmile", "release", "prepare", "--out", str(out)], cwd=repo, check=False)
    assert result.returncode == 1
    assert "quality gates failed (dp_group)" in result.stderr
    assert not out.exists()


# --- image helpers that need no container engine ------------------------------------------


def test_image_requirements_keep_what_installs_on_linux_cpython() -> None:
    pins = "\n".join(
        [
            "# generated",
            "--index-url https://pypi.org/simple",
            'numpy==2.4.6 ; python_full_version < "3.12"',
            'numpy==2.5.5 ; python_full_version >= "3.12"',
            'pywin32==311 ; sys_platform == "win32"',
            "scikit-learn==1.9.1  # via lastmile",
        ]
    )
    assert release.image_requirements(pins, "3.11").split() == ["numpy==2.4.6", "scikit-learn==1.9.1"]
    assert release.image_requirements(pins, "3.13").split() == ["numpy==2.5.5", "scikit-learn==1.9.1"]
    with pytest.raises(release.ReleaseError, match="Unreadable requirement"):
        release.image_requirements("numpy=2", "3.11")


def test_sbom_names_the_image_and_each_pinned_package(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("scikit-learn==1.9.1\nnumpy==2.4.6\n")
    out = tmp_path / "sbom.cdx.json"
    release.write_sbom(requirements, out, "ghcr.io/acme/lastmile", "1.2.3")
    sbom = json.loads(out.read_text())
    assert sbom["metadata"]["component"]["name"] == "ghcr.io/acme/lastmile"
    assert sbom["metadata"]["component"]["version"] == "1.2.3"
    purls = sorted(c["purl"] for c in sbom["components"])
    assert purls == ["pkg:pypi/numpy@2.4.6", "pkg:pypi/scikit-learn@1.9.1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt", "sbom.cdx.json"]
    with pytest.raises(release.ReleaseError, match="Could not write the SBOM"):
        release.write_sbom(tmp_path / "missing.txt", tmp_path / "other.json", "x", "1.0.0")


def test_sample_record_is_a_complete_row(trained_repo: Path, params, contract) -> None:
    record = image.sample_record(trained_repo / "data/processed/test.parquet", params.features.all)
    assert set(record) == set(params.features.all)
    assert all(value is not None for value in record.values())
    json_types = {"integer": int, "number": (int, float), "category": str, "boolean": bool}
    for name in params.features.all:
        assert isinstance(record[name], json_types[contract.columns[name].kind]), name


def test_smoke_report_says_what_failed() -> None:
    result = image.SmokeResult(
        image="localhost/lastmile:dev",
        backend="buildah",
        size_mb=480.2,
        cold_start_s=3.21,
        prediction_status=200,
        prediction={"predictions": [{"label": "yes", "probability": 0.7}]},
        bad_request_status=500,
        bad_request_body="Internal Server Error",
        server_uid=1034,
    )
    text = image.report(result)
    assert "size        480 MB" in text and "cold start  3.2 s" in text
    assert "FAIL POST /predict, a field set to an object -> 500" in text and text.endswith("FAILED")
    assert image.as_json(result)["passed"] is False


def test_unknown_or_missing_container_tool_is_a_clear_error() -> None:
    with pytest.raises(image.ImageError, match="IMAGE_BACKEND='kaniko' is not supported"):
        image.build("lastmile:latest", "localhost/lastmile:dev", "kaniko")
    # Without Docker: "docker is not installed"; with it: "not found by docker".
    with pytest.raises(image.ImageError, match="docker"):
        image.image_size_mb("localhost/lastmile:never-built", "docker")


# --- the whole dry run, from a real bento -----------------------------------------------------


@pytest.mark.slow
def test_dry_run_writes_everything_a_release_publishes(trained_repo: Path, tmp_path: Path) -> None:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml")}
    tag_file = tmp_path / "bento.tag"
    run(["lastmile", "package", "--tag-file", str(tag_file)], cwd=trained_repo, env=env)
    bento = tag_file.read_text().strip()
    out, outputs = tmp_path / "dist" / "release", tmp_path / "github_output"
    relative_out = os.path.relpath(out, trained_repo)  # as `make release-dry-run` passes it
    command = ["lastmile", "release", "prepare", "--out", relative_out, "--bento", bento]
    command += ["--repository", REPOSITORY, "--github-output", str(outputs)]
    result = run(command, cwd=trained_repo, env=env)
    assert "release 0.1.0 (first)" in result.stdout

    assert sorted(p.name for p in out.iterdir()) == [
        "Dockerfile",
        "context",
        "metrics.json",
        "model-card.md",
        "release-notes.md",
        "release.json",
        "sbom.cdx.json",
    ]
    manifest = json.loads((out / "release.json").read_text())
    assert (manifest["version"], manifest["tag"], manifest["bento"]) == ("0.1.0", "v0.1.0", bento)
    assert manifest["image_tags"][0] == "ghcr.io/acme/lastmile:0.1.0"
    assert "version=0.1.0\ntag=v0.1.0\nprevious_tag=\nimage=ghcr.io/acme/lastmile\n" in outputs.read_text()
    assert f"context={out / 'context'}\n" in outputs.read_text()

    # The build context is what `docker buildx build` gets: the lean Dockerfile, the bento and its model.
    dockerfile = (out / "Dockerfile").read_text()
    assert dockerfile == (out / manifest["dockerfile"]).read_text()
    assert "AS builder" in dockerfile and "COPY --from=builder /app/.venv /app/.venv" in dockerfile
    # The base image comes from a build argument (the release passes the digest-pinned reference).
    assert dockerfile.index("ARG BASE_IMAGE=python:3.11-slim\n") < dockerfile.index("FROM ")
    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE) == ["${BASE_IMAGE}", "${BASE_IMAGE}"]
    assert f"base_image={release.base_image(trained_repo / release.BASE_IMAGE_FILE)}\n" in outputs.read_text()
    assert "build-essential" not in dockerfile and "\nUSER bentoml\n" in dockerfile
    model_files = {p.name for p in (out / "context" / "models").rglob("*") if p.is_file()}
    assert {"model.joblib", "model.json"} <= model_files
    assert (out / "context" / "env" / "python" / "requirements.txt").exists()

    # SBOM: every pinned serving requirement, at its version, under the image as root component.
    sbom = json.loads((out / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "ghcr.io/acme/lastmile"
    assert sbom["metadata"]["component"]["version"] == "0.1.0"
    components = [(c["name"].lower(), c.get("version")) for c in sbom["components"]]
    pins = (out / "context" / "env" / "python" / "requirements.txt").read_text()
    installed = release.image_requirements(pins, "3.11").split()
    assert sorted(components) == sorted(tuple(line.lower().split("==")) for line in installed)
    assert {"scikit-learn", "bentoml", "numpy"} <= {name for name, _ in components}
    assert len([name for name, _ in components if name == "numpy"]) == 1  # one per Python in the lock

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metrics"] == json.loads((trained_repo / "reports" / "metrics.json").read_text())
    assert "## Per-group metrics" in (out / "model-card.md").read_text()

    # A second run replaces the folder whole and leaves no staging folder behind.
    run(command, cwd=trained_repo, env=env)
    assert sorted(p.name for p in out.parent.iterdir()) == ["release"]


# --- Kubernetes manifests: consistent with the image (schemas: `make lint-k8s`) -----------------


def test_kubernetes_manifests_fit_the_image() -> None:
    import yaml
    from bentoml._internal.container.generate import BENTO_UID_GID

    folder = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
    docs = {p.name: yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml")}
    kustomization = docs.pop("kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(docs)
    by_kind = {doc["kind"]: doc for doc in docs.values()}

    deployment = by_kind["Deployment"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == kustomization["images"][0]["name"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == BENTO_UID_GID  # the image's `bentoml` user
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["ports"][0]["containerPort"] == 3000
    assert {"requests", "limits"} <= set(container["resources"])
    # What BentoML writes at run time lands on emptyDir volumes, not on the read-only image.
    env = {e["name"]: e["value"] for e in container["env"]}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {env["BENTOML_HOME"], "/tmp"} <= mounts
    volumes = {v["name"] for v in pod["spec"]["volumes"] if "emptyDir" in v}
    assert {m["name"] for m in container["volumeMounts"]} <= volumes

    labels = pod["metadata"]["labels"]
    assert by_kind["Service"]["spec"]["selector"].items() <= labels.items()
    assert by_kind["Service"]["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    assert (
        by_kind["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    )
    assert by_kind["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_server_user_is_read_from_the_started_process_group() -> None:
    # A process named like the server, in its own process group, as run-image.sh starts it.
    process = subprocess.Popen(
        ["bash", "-c", "exec -a 'bentoml serve /bento' sleep 30"], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 10
        while (
            "bentoml serve" not in run(["ps", "-o", "args=", "-p", str(process.pid)], cwd=Path.cwd()).stdout
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert image._server_uid_in_group(process.pid) == os.getuid()
        with pytest.raises(image.ImageError, match="No `bentoml serve` process"):
            image._server_uid_in_group(os.getpgid(0))
    finally:
        process.kill()
        process.wait()


def test_readiness_wait_and_requests_over_http() -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/readyz" else 404)
            self.end_headers()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            ok = isinstance(body["records"][0]["amount"], int)
            self.send_response(200 if ok else 422)
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if ok else b'{"error": "amount"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        image._wait_ready(port)
        assert image._post(port, "/predict", b'{"records": [{"amount": 30}]}') == (200, '{"ok": true}')
        assert image._post(port, "/predict", b'{"records": [{"amount": "x"}]}') == (
            422,
            '{"error": "amount"}',
        )
    finally:
        server.shutdown()
