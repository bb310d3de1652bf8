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
    """Fit the model pipeline (preprocessing inside) and save it with its metadata."""
    from lastmile.stages import train as stage

    _guard(lambda: _with_threads(lambda: stage.run(_params(params))))


@app.command()
def evaluate(params: ParamsOption = paths.PARAMS) -> None:
    """Score the model on the test split at the decision threshold chosen by params.yaml.

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
    """Print the next version, its git tag and image tags as JSON (rule: `lastmile.release.prepare` docs)."""
    from lastmile.release import prepare as release

    def run() -> str:
        plan = release.plan_release(Path.cwd(), repository, version, _params(paths.PARAMS).project.image)
        _append_outputs(github_output, release.github_outputs(plan))
        return release.describe(plan)

    typer.echo(_guard(run))


@release_app.command("model-card")
def release_model_card(
    out: Annotated[Path, typer.Option("--out", help="Markdown file to write.")] = Path("dist/model-card.md"),
    repository: RepositoryOption = None,
    version: VersionOption = None,
    params: ParamsOption = paths.PARAMS,
) -> None:
    """Write the model card (intended use, data, metrics, gates, per-group metrics, limitations)."""
    from lastmile.data import write_text
    from lastmile.release import prepare as release

    def run() -> None:
        project = _params(params)
        plan = release.plan_release(Path.cwd(), repository, version, project.project.image)
        write_text(out, release.render_model_card(plan, release.Evidence.load(Path.cwd()), project))
        typer.echo(f"model card for {plan.version} written to {out}")

    _guard(run)


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
        _append_outputs(github_output, release.github_outputs(done.plan, out))
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
    from lastmile.data import write_json
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
    ] = Path("reports/pr"),
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


@pr_artifact_app.command("validate")
def pr_artifact_validate(
    folder: Annotated[Path, typer.Argument(help="Downloaded report folder.")],
) -> None:
    """Check a downloaded report folder; print pr_number, conclusion and title as key=value lines."""
    from lastmile.review import pr_artifact

    typer.echo(_guard(lambda: pr_artifact.validate(folder)).outputs(), nl=False)


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


if __name__ == "__main__":  # pragma: no cover
    app()
