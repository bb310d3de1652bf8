"""On drift, one GitHub issue labelled `drift`: opened once, then updated in place by later runs.

Plain REST calls (urllib) with the workflow's GITHUB_TOKEN: list the open issues with the label,
update the oldest if there is one, else open it. Without drift nothing is written.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from lastmile.errors import LastmileError

LABEL = "drift"
TITLE_PREFIX = "Drift detected"
# The report is cut to this many characters (GitHub allows 65,536 in an issue body).
MAX_BODY = 60_000


class GitHubError(LastmileError):
    """The GitHub API refused or could not be reached."""


@dataclass(frozen=True)
class IssueResult:
    action: str  # "opened", "updated" or "none"
    number: int | None
    url: str | None


class GitHub:
    def __init__(self, api_url: str, repository: str, token: str) -> None:
        if repository.count("/") != 1:
            raise GitHubError(f"repository {repository!r} is not OWNER/NAME.")
        if not token:
            raise GitHubError("GITHUB_TOKEN is not set: the workflow must pass it to this step.")
        self.base = f"{api_url.rstrip('/')}/repos/{repository}"
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if not self.base.startswith(("https://", "http://")):
            raise GitHubError(f"GitHub API URL {self.base} is not http(s).")
        request = urllib.request.Request(  # noqa: S310  # scheme checked above
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": "lastmile-monitor",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            raise GitHubError(
                f"GitHub API {method} {path} answered {exc.code}: {detail}. "
                "The workflow needs `permissions: issues: write`."
            ) from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise GitHubError(f"GitHub API {self.base} unreachable: {exc}") from exc


def _body(report: str, run_url: str | None) -> str:
    link = (
        f"\n\nRun: {run_url} (the HTML report with plots is in its `monitor-report` artifact)."
        if run_url
        else ""
    )
    note = (
        "\n\n_Updated in place by the monitor workflow on every run that finds drift; close it once "
        "handled (a retrained model, or thresholds changed in params.yaml `monitor:`)._"
    )
    text = report + link + note
    return text if len(text) <= MAX_BODY else text[:MAX_BODY] + "\n\n(report cut: see the run's artifact)"


def sync(github: GitHub, report: dict[str, Any], markdown: str, run_url: str | None = None) -> IssueResult:
    """Open or update the one `drift` issue when the report found drift; else do nothing."""
    if not report.get("drift"):
        return IssueResult("none", None, None)
    title = f"{TITLE_PREFIX}: {', '.join(report.get('drifted_features') or ['data contract'])}"[:200]
    body = _body(markdown, run_url)
    issues = github.call("GET", f"/issues?state=open&labels={LABEL}&per_page=100")
    # The issues API also lists pull requests; only real issues count.
    open_issues = sorted(
        (i for i in issues if "pull_request" not in i), key=lambda issue: int(issue["number"])
    )
    if open_issues:
        number = int(open_issues[0]["number"])
        updated = github.call("PATCH", f"/issues/{number}", {"title": title, "body": body})
        return IssueResult("updated", number, updated.get("html_url"))
    created = github.call("POST", "/issues", {"title": title, "body": body, "labels": [LABEL]})
    return IssueResult("opened", int(created["number"]), created.get("html_url"))
