"""`lastmile`: one subcommand per pipeline stage, plus the faces around it.

Stage modules are imported inside each command so that `lastmile --help` stays instant.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from lastmile import paths
from lastmile.errors import LastmileError

app = typer.Typer(
    help="Lastmile: the pipeline stages (run them all with `dvc repro`) and the tools around them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
T = TypeVar("T")
_state = {"debug": False}

ParamsOption = Annotated[Path, typer.Option("--params", help="Parameters file.")]
ContractOption = Annotated[Path, typer.Option("--contract", help="Data contract file.")]


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print warnings and errors.")] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )


def _guard(action: Callable[[], T]) -> T:
    """Run a command; turn errors into a short message and a non-zero exit (traceback with --debug)."""
    try:
        return action()
    except LastmileError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except Exception as exc:
        if _state["debug"]:
            raise
        typer.echo(
            f"unexpected error: {type(exc).__name__}: {exc}\n"
            "Re-run with `lastmile --debug ...` for the traceback.",
            err=True,
        )
        raise typer.Exit(1) from None


def _with_threads(action: Callable[[], T]) -> T:
    """Run compute-bound work with as many threads as the machine can give (`lastmile.compute`)."""
    from lastmile.compute import limited_threads

    with limited_threads():
        return action()


def _params(path: Path) -> Any:
    from lastmile.params import load_params

    return load_params(path)


@app.command()
def check(params: ParamsOption = paths.PARAMS, contract: ContractOption = paths.CONTRACT) -> None:
    """Check params.yaml and contract.yaml (each value, and how they fit) before any stage runs."""
    from lastmile.stages import check as stage

    _guard(lambda: stage.run(params, contract))


@app.command()
def ingest(params: ParamsOption = paths.PARAMS) -> None:
    """Read `data.source`, normalise it and write a typed table plus a data summary."""
    from lastmile.stages import ingest as stage

    _guard(lambda: stage.run(_params(params)))


@app.command()
def validate(contract: ContractOption = paths.CONTRACT) -> None:
    """Check the ingested table against the data contract; write Markdown and JSON reports."""
    from lastmile.contract import load_contract
    from lastmile.stages import validate as stage

    _guard(lambda: stage.run(load_contract(contract)))


@app.command()
def split(params: ParamsOption = paths.PARAMS) -> None:
    """Split the validated table into stratified, seeded train and test tables."""
    from lastmile.stages import split as stage

    _guard(lambda: stage.run(_params(params)))


@app.command()
def train(params: ParamsOption = paths.PARAMS) -> None:
    """Fit the model pipeline (preprocessing inside), choose its decision threshold, save both."""
    from lastmile.stages import train as stage

    _guard(lambda: _with_threads(lambda: stage.run(_params(params))))


@app.command()
def evaluate(params: ParamsOption = paths.PARAMS) -> None:
    """Score the model on the test split at the model's decision threshold (chosen by `train`).

    Writes metrics, predictions, slices, fairness, permutation importance, curves and figures.
    """
    from lastmile.stages import evaluate as stage

    _guard(lambda: _with_threads(lambda: stage.run(_params(params))))


@app.command()
def summary() -> None:
    """Print the headline metrics, where the artifacts are and what to do next."""
    from lastmile.review.summary import render

    typer.echo(_guard(render))


@app.command()
def gate(
    base: Annotated[
        str | None,
        typer.Option("--base", help="Git ref whose committed reports/ are the baseline, e.g. origin/main."),
    ] = None,
    baseline_dir: Annotated[
        Path | None,
        typer.Option("--baseline-dir", help="Folder with a baseline's metrics.json (fairness, predictions)."),
    ] = None,
    params: ParamsOption = paths.PARAMS,
) -> None:
    """Check the quality gates (`gates:` in params.yaml) on reports/; exit 1 if any fails.

    Prints a table and writes reports/gates.json. Without a baseline, regression gates pass.
    """
    from lastmile.review import gate as gates

    result = _guard(lambda: gates.run(_params(params), base_ref=base, baseline_dir=baseline_dir))
    typer.echo(gates.render_table(result))
    if not result.passed:
        raise typer.Exit(1)


release_app = typer.Typer(
    help="Release: version, model card, build context, SBOM and the serving image.", no_args_is_help=True
)
app.add_typer(release_app, name="release")

RepositoryOption = Annotated[
    str | None,
    typer.Option(
        "--repository",
        envvar="GITHUB_REPOSITORY",
        help="OWNER/NAME; the image is ghcr.io/<owner>/<name>. Default: the GitHub `origin` remote.",
    ),
]
VersionOption = Annotated[
    str | None,
    typer.Option(
        "--version", envvar="RELEASE_VERSION", help="Release this version instead of the computed one."
    ),
]
BentoOption = Annotated[str, typer.Option("--bento", envvar="BENTO", help="Bento tag to release.")]
ImageOption = Annotated[str, typer.Option("--image", envvar="IMAGE", help="Local image name and tag.")]
BackendOption = Annotated[
    str, typer.Option("--backend", envvar="IMAGE_BACKEND", help="Container tool: docker, buildah or podman.")
]


GithubOutputOption = Annotated[
    Path | None,
    typer.Option("--github-output", envvar="GITHUB_OUTPUT", help="Append step outputs (key=value) here."),
]


def _append_outputs(path: Path | None, text: str) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)


@release_app.command("version")
def release_version(
    repository: RepositoryOption = None,
    version: VersionOption = None,
    github_output: GithubOutputOption = None,
) -> None:
    """Print the next version, its git tag and image tags as JSON (rule: `lastmile.release.version` docs)."""
    from lastmile.release import version as versions

    def run() -> str:
        # The image is params.yaml's `project.image` when set; a repository without params.yaml (a
        # history of tags only) releases to the origin remote's default image.
        image = _params(paths.PARAMS).project.image if paths.PARAMS.is_file() else ""
        plan = versions.plan_release(Path.cwd(), repository, version, image)
        _append_outputs(github_output, versions.github_outputs(plan))
        return versions.describe(plan)

    typer.echo(_guard(run))


@release_app.command("prepare")
def release_prepare(
    out: Annotated[Path, typer.Option("--out", help="Output folder (replaced).")] = Path("dist/release"),
    bento: BentoOption = "lastmile:latest",
    repository: RepositoryOption = None,
    version: VersionOption = None,
    github_output: GithubOutputOption = None,
    params: ParamsOption = paths.PARAMS,
) -> None:
    """Everything a release publishes, up to the network: version, tags, build context, SBOM, model card."""
    from lastmile.release import prepare as release

    def run() -> None:
        done = release.prepare(
            Path.cwd(),
            out,
            bento_tag=bento,
            repository=repository,
            params=_params(params),
            explicit_version=version,
        )
        _append_outputs(github_output, done.github_outputs())
        typer.echo(
            f"release {done.plan.version} ({done.plan.bump}) of bento {done.bento} prepared in {out}/:"
        )
        typer.echo("  " + "  ".join(done.files))
        typer.echo("  image tags: " + " ".join(done.plan.image_tags))

    _guard(run)


@release_app.command("image")
def release_image(
    bento: BentoOption = "lastmile:latest",
    image: ImageOption = "localhost/lastmile:dev",
    backend: BackendOption = "docker",
) -> None:
    """Build the serving image from the bento with `bentoml containerize`."""
    from lastmile.release import image as images

    def run() -> None:
        seconds = images.build(bento, image, backend)
        size = images.image_size_mb(image, backend)
        typer.echo(f"built {image} with {backend} in {seconds:.0f} s: {size:.0f} MB")

    _guard(run)


@release_app.command("smoke")
def release_smoke(
    image: ImageOption = "localhost/lastmile:dev",
    backend: BackendOption = "docker",
    port: Annotated[int, typer.Option("--port", envvar="PORT", help="Loopback port to serve on.")] = 3000,
    out: Annotated[Path, typer.Option("--out", help="JSON result.")] = Path("dist/image-smoke.json"),
    params: ParamsOption = paths.PARAMS,
) -> None:
    """Start the image, wait for /readyz, send a good and a bad request, check it runs as non-root."""
    from lastmile.files import write_json
    from lastmile.release import image as images

    def run() -> bool:
        record = images.sample_record(paths.TEST_TABLE, _params(params).features.all)
        result = images.smoke(image, backend, port, record)
        write_json(out, images.as_json(result))
        typer.echo(images.report(result))
        return result.passed

    if not _guard(run):
        raise typer.Exit(1)


@app.command()
def report(
    base: Annotated[
        str, typer.Option("--base", help="Git ref to compare with (a local or remote branch, tag or commit).")
    ] = "main",
    out: Annotated[
        Path, typer.Option("--out", help="Folder for report.md, its plots and verdict.json.")
    ] = paths.PR_REPORT_DIR,
    run_url: Annotated[
        str | None, typer.Option("--run-url", help="Link to the CI run whose artifacts hold the report.")
    ] = None,
) -> None:
    """Write the pull-request comment (Markdown + PNG plots) comparing this workspace with --base."""
    from lastmile.review import report as face

    result = _guard(lambda: face.run(base, out, run_url))
    typer.echo(f"{result.title}\nreport: {result.markdown}")


pr_artifact_app = typer.Typer(help="The report artifact that CI passes from the PR run to the comment run.")
app.add_typer(pr_artifact_app, name="pr-artifact")


@pr_artifact_app.command("pack")
def pr_artifact_pack(
    folder: Annotated[Path, typer.Argument(help="Report folder written by `lastmile report`.")],
    pr_number: Annotated[str, typer.Option("--pr-number", help="The pull request's number.")],
) -> None:
    """Record the PR number in the report folder and check it as the comment workflow will."""
    from lastmile.review import pr_artifact

    artifact = _guard(lambda: pr_artifact.pack(folder, pr_number))
    typer.echo(f"report for PR #{artifact.pr_number} ready: {artifact.conclusion} ({artifact.title})")


monitor_app = typer.Typer(
    help="Drift monitor: logged predictions against the reference profile (docs/monitoring.md).",
    invoke_without_command=True,
)
app.add_typer(monitor_app, name="monitor")


def _since(text: str | None) -> Any:
    """An ISO 8601 time (UTC if no zone) or a duration back from now: 30m, 24h, 7d."""
    from datetime import UTC, datetime, timedelta

    if not text:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[:-1].isdigit() and text[-1] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is neither an ISO 8601 time nor a duration like 24h or 7d"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@monitor_app.callback()
def monitor(
    ctx: typer.Context,
    logs: Annotated[
        str | None,
        typer.Option(
            "--logs",
            envvar="LASTMILE_MONITOR_LOGS",
            help="Prediction log: a *.jsonl file (gzip allowed) or a folder of them; path or fsspec URL.",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only records from this time (ISO 8601) or age (24h, 7d).")
    ] = None,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Only the newest N records.")] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for monitor.json/.md/.html.")
    ] = paths.MONITOR_DIR,
    profile_file: Annotated[
        Path, typer.Option("--profile", help="Reference profile written by `lastmile evaluate`.")
    ] = paths.PROFILE,
    params: ParamsOption = paths.PARAMS,
    contract: ContractOption = paths.CONTRACT,
) -> None:
    """Compare a window of logged predictions with the reference profile; exit 1 on drift, 2 on bad input.

    Prints the verdict first, then writes Markdown, HTML (with plots) and JSON reports.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not logs:
        raise typer.BadParameter("give the prediction log with --logs PATH_OR_URL", param_hint="--logs")
    from lastmile import artifacts
    from lastmile.contract import load_contract
    from lastmile.monitoring import monitor as monitoring
    from lastmile.monitoring import report

    def run() -> Any:
        result = monitoring.assess(
            logs,
            artifacts.read(profile_file, artifacts.Profile),
            load_contract(contract),
            _params(params).monitor,
            monitoring.Window(since=_since(since), last=last),
        )
        typer.echo(result.verdict)
        written = report.write(result, out)
        typer.echo("reports: " + " ".join(str(p) for p in written.values()))
        return result

    try:
        result = _guard(run)
    except typer.Exit:
        # Whatever failed (no profile, bad params, unreadable log), there is no verdict: never 1 (drift).
        raise typer.Exit(2) from None
    if result.drifted:
        raise typer.Exit(1)


@monitor_app.command("issue")
def monitor_issue(
    report_dir: Annotated[
        Path, typer.Option("--report", help="Folder written by `lastmile monitor`.")
    ] = paths.MONITOR_DIR,
    repository: Annotated[
        str, typer.Option("--repository", envvar="GITHUB_REPOSITORY", help="OWNER/NAME.")
    ] = "",
    api_url: Annotated[
        str, typer.Option("--api-url", envvar="GITHUB_API_URL", help="GitHub REST API root.")
    ] = "https://api.github.com",
    run_url: Annotated[
        str | None, typer.Option("--run-url", help="Link to the CI run holding the full report.")
    ] = None,
) -> None:
    """On drift, open the one issue labelled `drift` or update the open one (GITHUB_TOKEN from the env)."""
    import json
    import os

    from lastmile.monitoring import issue
    from lastmile.monitoring.report import JSON_FILE, MARKDOWN_FILE

    def run() -> Any:
        try:
            found = json.loads((report_dir / JSON_FILE).read_text(encoding="utf-8"))
            markdown = (report_dir / MARKDOWN_FILE).read_text(encoding="utf-8")
        except (FileNotFoundError, json.JSONDecodeError) as exc:
            raise LastmileError(
                f"No monitor report in {report_dir} ({exc}): run `lastmile monitor` first."
            ) from exc
        github = issue.GitHub(api_url, repository, os.environ.get("GITHUB_TOKEN", ""))
        return issue.sync(github, found, markdown, run_url)

    result = _guard(run)
    if result.action == "none":
        typer.echo("no drift: no issue opened or updated")
    else:
        typer.echo(f"drift issue #{result.number} {result.action}: {result.url}")


@monitor_app.command("demo")
def monitor_demo(
    bento: Annotated[str, typer.Option("--bento", envvar="BENTO", help="Bento tag to serve.")],
    records: Annotated[int, typer.Option("--records", min=200, help="Records per traffic stream.")] = 2000,
    out: Annotated[Path, typer.Option("--out", help="Logs and reports.")] = paths.MONITOR_DIR / "demo",
    params: ParamsOption = paths.PARAMS,
    contract: ContractOption = paths.CONTRACT,
) -> None:
    """Serve the bento, send normal then shifted traffic, run the monitor on each (exit 1 if it misjudges)."""
    from lastmile import artifacts
    from lastmile.contract import load_contract
    from lastmile.monitoring import demo

    def run() -> Any:
        return demo.run(
            bento,
            _params(params),
            load_contract(contract),
            artifacts.read(paths.PROFILE, artifacts.Profile),
            paths.VALIDATED_TABLE,
            out,
            typer.echo,
            records=records,
        )

    outcome = _guard(run)
    if not outcome.as_expected:
        typer.echo("demo: the monitor did not judge the two streams as expected", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"demo: no alarm on normal traffic; drift in {', '.join(outcome.shifted_features)} found. "
        f"Reports: {out}/normal, {out}/shifted; the service's prediction log: {out}/log"
    )


@app.command()
def package(
    build: Annotated[
        bool, typer.Option("--build/--no-build", help="Also build the bento (`bentoml build`).")
    ] = True,
    tag_file: Annotated[
        Path | None, typer.Option("--tag-file", help="Write the built bento's tag to this file.")
    ] = None,
) -> None:
    """Import the trained model (models/) into the BentoML model store and build the bento."""
    from lastmile.serving import packaging

    result = _guard(lambda: packaging.package(build=build, tag_file=tag_file))
    typer.echo(f"model {result.model_tag}" + (" (already in the store)" if result.reused_model else ""))
    if result.bento_tag:
        typer.echo(f"bento {result.bento_tag}")


schema_app = typer.Typer(help="The data contract (contract.yaml).", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


def _reading_options(params: Path) -> Any:
    """`data:` of params.yaml when it is readable, so a draft reads the file as ingest will."""
    from lastmile.params import DataParams

    try:
        return _params(params).data
    except LastmileError:
        return DataParams(source="-")


@schema_app.command("infer")
def schema_infer(
    source: Annotated[str, typer.Option("--source", help="CSV path or URL to draft the contract from.")],
    target: Annotated[
        str | None, typer.Option("--target", help="Target column. Default: params.yaml `target.column`.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Contract file to write ('-' for stdout).")
    ] = paths.CONTRACT,
    features: Annotated[
        bool, typer.Option("--features", help="Also write the drafted `features:` into params.yaml.")
    ] = False,
    max_categories: Annotated[
        int, typer.Option("--max-categories", min=2, help="Most values a category column may list.")
    ] = 50,
    margin: Annotated[
        float, typer.Option("--margin", min=0.0, help="Widen numeric ranges by this share of their span.")
    ] = 0.1,
    params: ParamsOption = paths.PARAMS,
) -> None:
    """Draft contract.yaml from a table: kinds, nullability, ranges, categories, the target.

    Reads the file as `ingest` does (params.yaml `data:` options). Review the `# REVIEW` notes.
    """
    from lastmile.files import write_text
    from lastmile.project import infer

    def run() -> None:
        reading = _reading_options(params)
        column = target or _params(params).target.column
        draft = infer.infer_source(
            source,
            column,
            na_values=reading.na_values,
            comment_prefix=reading.comment_prefix,
            label_suffix=reading.label_suffix,
            max_categories=max_categories,
            margin=margin,
        )
        text = draft.contract_yaml()
        if str(out) == "-":
            typer.echo(text, nl=False)
        else:
            write_text(out, text)
            typer.echo(f"draft contract for {len(draft.columns)} columns written to {out}", err=True)
        if features:
            infer.write_features(params, draft)
            typer.echo(f"features drafted into {params} (`features:`)", err=True)

    _guard(run)


@app.command()
def init(
    name: Annotated[str | None, typer.Option("--name", help="Project name (lower case, dashes).")] = None,
    github_owner: Annotated[
        str | None, typer.Option("--github-owner", help="GitHub user or organisation.")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", help="Serving image name.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Data source: CSV path or URL.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Target column.")] = None,
    positive: Annotated[str | None, typer.Option("--positive", help="Positive label of the target.")] = None,
    sensitive: Annotated[
        str | None, typer.Option("--sensitive", help="Sensitive features, comma-separated ('' for none).")
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="What the model predicts, in a sentence ('' drafts one)."),
    ] = None,
    na_values: Annotated[
        str | None, typer.Option("--na-values", help="Cell values meaning 'missing', comma-separated.")
    ] = None,
    comment_prefix: Annotated[
        str | None, typer.Option("--comment-prefix", help="Skip source lines starting with this.")
    ] = None,
    label_suffix: Annotated[
        str | None, typer.Option("--label-suffix", help="Strip this from the end of labels.")
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask: use defaults for options not given.")
    ] = False,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Run even with uncommitted changes (or outside git).")
    ] = False,
    keep_generated: Annotated[
        bool,
        typer.Option(
            "--keep-generated/--reset-generated",
            help="When the data changes, keep dvc.lock, reports and models (copier update does).",
        ),
    ] = False,
) -> None:
    """Make this template your project: names, data, contract, gates (asks for what is not given).

    Refuses a dirty working tree; running it again with the same answers changes nothing.
    """
    from lastmile.project import init as instantiate

    given = {
        "name": name,
        "github_owner": github_owner,
        "image": image,
        "source": source,
        "target": target,
        "positive": positive,
        "sensitive": sensitive,
        "description": description,
        "na_values": na_values,
        "comment_prefix": comment_prefix,
        "label_suffix": label_suffix,
    }

    def prompt(question: str, default: str | None) -> str:
        if no_input:
            if default is None:
                raise LastmileError(
                    f"--no-input, but nothing to propose for: {question}. Give it as an option "
                    "(`lastmile init --help`)."
                )
            return default
        try:
            return str(typer.prompt(question, default=default))
        except typer.Abort:  # input ended (a pipe, a script) or Ctrl-C
            raise LastmileError(
                f"No answer to: {question}. Nothing was changed. Answer in a terminal, or give every "
                "option with --no-input (`lastmile init --help`)."
            ) from None

    def run() -> str:
        root = Path.cwd()
        if not allow_dirty:
            instantiate.check_clean(root)
        # Asked in a terminal, a wrong answer is explained and asked again; with --no-input it stops.
        tell = None if no_input else (lambda problem: typer.echo(problem, err=True))
        answers = instantiate.ask(root, given, prompt, tell)
        outcome = instantiate.apply(root, answers, allow_dirty=allow_dirty, keep_generated=keep_generated)
        return instantiate.next_steps(outcome, answers)

    said = _guard(run)
    if said:  # nothing in copier update's throwaway renders
        typer.echo(said)


@app.command()
def doctor() -> None:
    """Check what the GitHub loop needs: here what can be checked here, and a list for GitHub."""
    from lastmile.project import doctor as checks

    findings = _guard(lambda: checks.run(Path.cwd()))
    typer.echo(checks.render(findings))
    if checks.failed(findings):
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app()
