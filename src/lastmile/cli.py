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


def _params(path: Path) -> Any:
    from lastmile.params import load_params

    return load_params(path)


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

    _guard(lambda: stage.run(_params(params)))


@app.command()
def evaluate(params: ParamsOption = paths.PARAMS) -> None:
    """Score the model on the test split: metrics, curves for `dvc plots`, and PNG figures."""
    from lastmile.stages import evaluate as stage

    _guard(lambda: stage.run(_params(params)))


@app.command()
def summary() -> None:
    """Print the headline metrics, where the artifacts are and what to do next."""
    from lastmile.summary import render

    typer.echo(_guard(render))


if __name__ == "__main__":  # pragma: no cover
    app()
