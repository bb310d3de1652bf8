"""`lastmile monitor issue` against a local HTTP server standing in for GitHub's REST API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from lastmile.cli import app


class FakeGitHub(ThreadingHTTPServer):
    """Keeps issues like GitHub: list with state/labels filters (pull requests included), create, update."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.issues: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeGitHub

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", 0))
        return json.loads(self.rfile.read(length)) if length else {}

    def _record(self) -> bool:
        self.server.requests.append((self.command, self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != "Bearer test-token":
            self._answer(401, {"message": "Bad credentials"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._record():
            return
        url = urlparse(self.path)
        assert url.path == "/repos/acme/shop/issues"
        query = parse_qs(url.query)
        labels = query.get("labels", [""])[0].split(",")
        state = query.get("state", ["open"])[0]
        found = [
            i
            for i in self.server.issues
            if i["state"] == state and all(name in [x["name"] for x in i["labels"]] for name in labels)
        ]
        self._answer(200, found)

    def do_POST(self) -> None:
        if not self._record():
            return
        data = self._body()
        number = 1 + len(self.server.issues)
        issue = {
            "number": number,
            "state": "open",
            "title": data["title"],
            "body": data["body"],
            "labels": [{"name": name} for name in data.get("labels", [])],
            "html_url": f"https://github.com/acme/shop/issues/{number}",
        }
        self.server.issues.append(issue)
        self._answer(201, issue)

    def do_PATCH(self) -> None:
        if not self._record():
            return
        number = int(self.path.rsplit("/", 1)[1])
        issue = next(i for i in self.server.issues if i["number"] == number)
        issue.update(self._body())
        self._answer(200, issue)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    server = FakeGitHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _report(folder: Path, drift: bool, features: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    verdict = f"DRIFT in 900 logged records: {', '.join(features)}." if drift else "OK: no drift."
    (folder / "monitor.json").write_text(
        json.dumps({"drift": drift, "drifted_features": features, "verdict": verdict})
    )
    (folder / "monitor.md").write_text(f"## {verdict}\n")
    return folder


def _issue(github: FakeGitHub, report: Path, token: str = "test-token") -> tuple[int, str, str]:
    env = {"GITHUB_TOKEN": token, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": github.url}
    result = CliRunner().invoke(
        app, ["monitor", "issue", "--report", str(report), "--run-url", "https://ci/run/7"], env=env
    )
    return result.exit_code, result.stdout, result.stderr


def test_drift_opens_one_issue_and_later_runs_update_it(github: FakeGitHub, tmp_path: Path) -> None:
    # A pull request labelled drift is listed by the issues API too: it must not count.
    github.issues.append(
        {"number": 90, "state": "open", "title": "retrain", "labels": [{"name": "drift"}], "pull_request": {}}
    )
    code, out, err = _issue(github, _report(tmp_path / "first", True, ["amount"]))
    assert code == 0, err
    assert out.strip() == "drift issue #2 opened: https://github.com/acme/shop/issues/2"
    code, out, err = _issue(github, _report(tmp_path / "second", True, ["amount", "probability"]))
    assert code == 0, err
    assert "drift issue #2 updated" in out
    issues = [i for i in github.issues if "pull_request" not in i]
    assert len(issues) == 1
    assert issues[0]["labels"] == [{"name": "drift"}]
    assert issues[0]["title"] == "Drift detected: amount, probability"
    assert issues[0]["body"].startswith("## DRIFT in 900 logged records: amount, probability.")
    assert "https://ci/run/7" in issues[0]["body"]


def test_no_drift_opens_nothing(github: FakeGitHub, tmp_path: Path) -> None:
    code, out, _ = _issue(github, _report(tmp_path / "ok", False, []))
    assert code == 0 and "no issue opened" in out
    assert github.issues == [] and github.requests == []


def test_closed_issues_do_not_count_and_errors_are_clear(github: FakeGitHub, tmp_path: Path) -> None:
    github.issues.append({"number": 1, "state": "closed", "title": "old", "labels": [{"name": "drift"}]})
    code, out, _ = _issue(github, _report(tmp_path / "a", True, ["group"]))
    assert code == 0 and "#2 opened" in out
    code, _, err = _issue(github, _report(tmp_path / "b", True, ["group"]), token="wrong")
    assert code == 1 and "answered 401" in err and "issues: write" in err
    code, _, err = _issue(github, tmp_path / "missing")
    assert code == 1 and "No monitor report in" in err
