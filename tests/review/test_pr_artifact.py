"""The report artifact is untrusted on the posting side: only a well-formed report gets through."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lastmile.cli import app
from lastmile.review.pr_artifact import (
    PNG_HEADER,
    PNG_SIGNATURE,
    ArtifactError,
    pack,
    pr_number,
    validate,
    write_verdict,
)

ROOT = Path(__file__).resolve().parents[2]
REPORT = (
    "### ✅ All 2 quality gates pass\n\n| ![ROC](roc.png) | [run](https://github.com/o/r/actions/runs/1) |\n"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "pr"
    out.mkdir()
    (out / "report.md").write_text(REPORT, encoding="utf-8")
    (out / "summary.md").write_text("### ✅ All 2 quality gates pass\n", encoding="utf-8")
    (out / "roc.png").write_bytes(PNG_HEADER + b"rest of the image")
    write_verdict(out, "success", "All 2 quality gates pass")
    pack(out, 12)
    return out


def test_a_report_folder_passes(folder: Path) -> None:
    artifact = validate(folder, expected_prs=[12])
    assert (artifact.pr_number, artifact.conclusion) == (12, "success")
    assert artifact.outputs() == "pr_number=12\nconclusion=success\ntitle=All 2 quality gates pass\n"


@pytest.mark.parametrize("value", ["12", 12, " 7\n"])
def test_pr_numbers(value: object) -> None:
    assert pr_number(value) == int(str(value).strip())


@pytest.mark.parametrize(
    "value", ["0", "-1", "012", "1.0", "1e3", "12; rm -rf /", "", True, 2**31, None, 3.0]
)
def test_bad_pr_numbers(value: object) -> None:
    with pytest.raises(ArtifactError, match="positive integer"):
        pr_number(value)


@pytest.mark.parametrize(
    "markdown",
    [
        "![x](../../../etc/passwd)",
        "![x](/proc/self/environ)",
        "![x](<../secret file.png>)",
        "[x]: ../outside.png",
        '<img src="../x.png">',
        "![x](sub/roc.png)",
        "![x](file:///etc/passwd)",
        "![x](missing.png)",
        "[x](https://github.com/../../../../../../../../proc/self/environ)",
    ],
)
def test_links_outside_the_report_are_refused(folder: Path, markdown: str) -> None:
    (folder / "report.md").write_text(REPORT + "\n" + markdown + "\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match="links to"):
        validate(folder)


def test_unexpected_files_are_refused(folder: Path) -> None:
    (folder / "run.sh").write_text("echo hi\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match="Unexpected file"):
        validate(folder)


def test_symlinks_and_folders_are_refused(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(PNG_SIGNATURE)
    (folder / "link.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(ArtifactError, match="not a plain file"):
        validate(folder)
    (folder / "link.png").unlink()
    (folder / "sub").mkdir()
    with pytest.raises(ArtifactError, match="not a plain file"):
        validate(folder)


def test_fake_images_and_huge_files_are_refused(folder: Path) -> None:
    (folder / "roc.png").write_text("<svg onload=alert(1)>", encoding="utf-8")
    with pytest.raises(ArtifactError, match="not a PNG"):
        validate(folder)
    (folder / "roc.png").write_bytes(
        PNG_SIGNATURE + b"\x00\x00\x00\x0dtEXt"
    )  # a signature alone is not a PNG
    with pytest.raises(ArtifactError, match="not a PNG"):
        validate(folder)
    (folder / "roc.png").write_bytes(PNG_HEADER + b"0" * 5_000_001)
    with pytest.raises(ArtifactError, match="limit"):
        validate(folder)


def test_verdict_and_pr_number_are_checked(folder: Path) -> None:
    (folder / "verdict.json").write_text(
        json.dumps({"conclusion": "approved", "title": "x"}), encoding="utf-8"
    )
    with pytest.raises(ArtifactError, match="conclusion"):
        validate(folder)
    write_verdict(folder, "failure", "2 gates failed\npr_number=1")
    assert validate(folder).outputs().count("\n") == 3  # the newline cannot add an output line
    (folder / "pr.json").write_text(json.dumps({"pr_number": "12 && curl evil"}), encoding="utf-8")
    with pytest.raises(ArtifactError, match="positive integer"):
        validate(folder)
    pack(folder, 13)
    with pytest.raises(ArtifactError, match="belongs to"):
        validate(folder, expected_prs=[12])
    (folder / "pr.json").write_text("[" * 4_000 + "]" * 4_000, encoding="utf-8")
    with pytest.raises(ArtifactError, match="nested too deeply"):
        validate(folder)
    (folder / "pr.json").unlink()
    with pytest.raises(ArtifactError, match=r"no pr\.json"):
        validate(folder)


@pytest.fixture(scope="module")
def bare_pythonpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`src` and the packages of requirements/pr-comment.txt: all the comment workflow installs."""
    import markdown_it
    import mdurl

    if shutil.which("python3", path="/usr/bin:/bin") is None:
        pytest.skip("no system python3")
    site = tmp_path_factory.mktemp("site-packages")
    for package in (markdown_it, mdurl):
        shutil.copytree(Path(package.__file__).parent, site / package.__name__)
    return f"{ROOT / 'src'}:{site}"


def test_module_runs_on_a_bare_python_without_the_project_installed(
    folder: Path, bare_pythonpath: str
) -> None:
    """The comment workflow runs it with `PYTHONPATH=src` and only requirements/pr-comment.txt installed."""
    python = "/usr/bin/python3"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": bare_pythonpath}
    command = [python, "-m", "lastmile.review.pr_artifact", "validate", str(folder), "--pull-requests"]
    ok = subprocess.run([*command, '[{"number": 12}]'], capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("pr_number=12\n")
    bad = subprocess.run([*command, '[{"number": 99}]'], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 2 and "belongs to" in bad.stderr and not bad.stdout


def test_cli_commands(folder: Path) -> None:
    bad = CliRunner().invoke(app, ["pr-artifact", "pack", str(folder), "--pr-number", "12abc"])
    assert bad.exit_code == 2 and "positive integer" in bad.output
    # One way to validate: `python -m lastmile.review.pr_artifact validate`, as the comment workflow runs it.
    gone = CliRunner().invoke(app, ["pr-artifact", "validate", str(folder)])
    assert gone.exit_code == 2 and "No such command" in gone.output


@pytest.fixture
def github_api(tmp_path: Path):
    """A loopback HTTP server answering GET /repos/acme/app/pulls/N like GitHub's API."""
    import http.server
    import threading

    pulls = {7: {"head": {"ref": "tune", "repo": {"full_name": "someone/app"}}}}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            number = int(self.path.rsplit("/", 1)[1])
            assert self.headers["Authorization"] == "Bearer t0ken"
            body = json.dumps(pulls.get(number, {"message": "Not Found"})).encode()
            self.send_response(200 if number in pulls else 404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _check_head(
    api: str, number: str, repo: str, branch: str, pythonpath: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "GITHUB_API_URL": api,
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_TOKEN": "t0ken",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [
            "python3",
            "-m",
            "lastmile.review.pr_artifact",
            "check-head",
            "--number",
            number,
            "--head-repository",
            repo,
            "--head-branch",
            branch,
        ],
        env={**env, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_head_accepts_the_pr_this_run_built(github_api: str, bare_pythonpath: str) -> None:
    assert _check_head(github_api, "7", "someone/app", "tune", bare_pythonpath).returncode == 0


@pytest.mark.parametrize(
    ("number", "repo", "branch", "message"),
    [
        ("7", "attacker/app", "tune", "refusing to post on another PR"),
        ("7", "someone/app", "other", "refusing to post on another PR"),
        ("8", "someone/app", "tune", "404"),
    ],
)
def test_check_head_refuses_another_pr(
    github_api: str, bare_pythonpath: str, number: str, repo: str, branch: str, message: str
) -> None:
    result = _check_head(github_api, number, repo, branch, bare_pythonpath)
    assert result.returncode == ArtifactError.exit_code
    assert message in result.stderr


def test_the_comment_job_installs_the_locked_parser_with_hashes() -> None:
    """requirements/pr-comment.txt is `make requirements/pr-comment.txt` of today's uv.lock."""
    import tomllib

    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {package["name"]: package["version"] for package in lock["package"]}
    pins = re.findall(
        r"^([a-z0-9-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)",
        (ROOT / "requirements/pr-comment.txt").read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert {name for name, _, _ in pins} == {"markdown-it-py", "mdurl"}
    for name, version, _hashes in pins:
        assert locked[name] == version, f"{name}: run make requirements/pr-comment.txt"
