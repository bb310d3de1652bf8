"""The image helpers that need no container engine, its base image and the Kubernetes manifests."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from lastmile.release import image
from tests.conftest import run

ROOT = Path(__file__).resolve().parents[2]


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
    assert image.base_image(path) == expected


@pytest.mark.parametrize(
    "text",
    ["FROM python\n", "FROM python:3.11-slim@sha256:abc\n", "FROM a:1\nFROM b:2\n", "FROM $(id):1\n", ""],
)
def test_a_malformed_base_image_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "base.Dockerfile"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(image.ImageError, match="exactly one line"):
        image.base_image(path)


def test_the_repository_base_image_file_is_what_dependabot_watches() -> None:
    ref = image.base_image(ROOT / image.BASE_IMAGE_FILE)
    assert ref.startswith("python:3.11-slim")  # the Python of bentofile.yaml's docker.python_version
    dependabot = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text(encoding="utf-8"))
    docker = [u for u in dependabot["updates"] if u["package-ecosystem"] == "docker"]
    assert [u["directory"] for u in docker] == ["/" + image.BASE_IMAGE_FILE.parent.as_posix()]


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
    assert {env["BENTOML_HOME"], "/tmp", env["LASTMILE_PREDICTION_LOG_DIR"]} <= mounts
    volumes = {v["name"] for v in pod["spec"]["volumes"] if "emptyDir" in v}
    assert {m["name"] for m in container["volumeMounts"]} <= volumes
    # A rolling update drops nothing: the pod keeps serving while traffic is routed away, then
    # finishes queued work (at most the batcher's queue limit) before it is killed.
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    assert int(pause[1]) >= 5
    queue_limit_s = int(env["LASTMILE_MAX_LATENCY_MS"]) / 1000
    assert pod["spec"]["terminationGracePeriodSeconds"] > int(pause[1]) + queue_limit_s

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


def test_buildah_smoke_takes_the_oci_local_tools_from_the_environment_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("OCI_LOCAL_TOOLS", raising=False)
    with (
        pytest.raises(image.ImageError, match="OCI_LOCAL_TOOLS is not set"),
        image.running("localhost/lastmile:dev", "buildah", 20000),
    ):
        pass
    monkeypatch.setenv("OCI_LOCAL_TOOLS", str(tmp_path))
    with (
        pytest.raises(image.ImageError, match=r"run-image\.sh not found: set OCI_LOCAL_TOOLS"),
        image.running("localhost/lastmile:dev", "buildah", 20000),
    ):
        pass
