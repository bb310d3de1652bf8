"""`lastmile init`: make this template one's own project, on one's own data.

It writes the configuration only (params.yaml, contract.yaml; dvc.yaml names the model artifact
`${project.model_name}`, which DVC reads from params.yaml);
the code stays the template's, so `copier update` can merge later improvements. When the data
(source, target or positive label) changes it drafts the contract and the features from the
file, sets gates for a first model and removes what the example's runs generated, so the first
`make run` trains anew and the first pull request has no stale baseline. Run again with the
same answers it changes nothing: a reviewed contract, tuned gates and a trained model stay.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.comments import CommentedMap

from lastmile import git, paths, prose
from lastmile.data import read_source
from lastmile.errors import LastmileError, read_yaml
from lastmile.files import write_text
from lastmile.params import DataParams, HistGradientBoostingParams, Params, ProjectParams, load_params
from lastmile.project import config
from lastmile.project.infer import Draft, TargetError, detect_reading, infer_source

DATA_DIR = Path("data")
README = Path("README.md")
# What only `copier copy` reads: it leaves them out of a project it makes; "Use this template" keeps
# them, and so does init (deleted, every template change to them would conflict with the deletion).
COPIER_FILES = ["copier.yml", "{{_copier_conf.answers_file}}.jinja"]
# The first line of the template's README (which describes Lastmile and its example data): init
# writes the project's own README in its place, once (docs/making-it-yours.md, "Your README").
TEMPLATE_README_MARK = "<!-- lastmile:template-readme"
# What the example's runs left behind: committed reports and lock, and the ignored outputs.
GENERATED = [
    Path("dvc.lock"),
    Path("reports"),
    paths.MODEL_DIR,
    paths.RAW_TABLE,
    paths.VALIDATED_TABLE,
    paths.TRAIN_TABLE,
    paths.TEST_TABLE,
]
# params.yaml's comments on the reading options, once they describe the project's own file.
DATA_COMMENTS = {
    "na_values": 'cell values that mean "missing" (empty cells always do)',
    "comment_prefix": "lines starting with this are skipped (null: none)",
    "label_suffix": 'stripped from the end of labels ("": none)',
}
SLICES_COMMENTS = {
    "bands": "numeric column -> band edges: `x: [10, 20]` gives <10, 10-19, 20+",
    "columns": "extra categorical columns to slice by, e.g. [a_column]",
}


class InitError(LastmileError):
    """`lastmile init` cannot go on; nothing has been written."""


@dataclass(frozen=True)
class Answers:
    name: str
    github_owner: str
    image: str
    source: str
    target: str
    positive: str
    sensitive: list[str]
    # What the model predicts (params.yaml `project.description`); empty: kept while the data stays,
    # else drafted from the target (`describe_target`).
    description: str = ""
    # Reading options of `data:`; None keeps what params.yaml says.
    na_values: list[str] | None = None
    comment_prefix: str | None = None
    label_suffix: str | None = None


@dataclass
class Outcome:
    data_changed: bool
    in_git: bool
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # the previous data source, no longer read
    draft: Draft | None = None
    # dvc.lock is here: `make run` has run on this configuration (a clone gets its model from it).
    trained: bool = False
    uncommitted: bool = False  # the working tree differs from the last commit, after init


# Gates for a first model (docs/making-it-yours.md, "Gates for a first model"): a floor that only
# asks for better than chance, since nobody knows yet what the data allows; the regression gates
# on from the first pull request (they pass while main has no evaluation to compare with); for
# each sensitive feature, no growth of its disparity beyond noise, without an absolute bound.
FIRST_GATES = """\
floors:              # a first model: better than chance. Raise them once you know what it reaches.
  roc_auc: 0.6
max_regression:      # largest worsening against the base branch (a significant one, by the bootstrap)
  roc_auc: 0.01
  pr_auc: 0.02
fairness:            # per sensitive feature: `max` bounds the value, `max_increase` its growth vs baseline
{fairness}bootstrap:
  resamples: 1000
  confidence: 0.95
  seed: 42
"""
FIRST_FAIRNESS = """\
  {feature}:
    demographic_parity_difference: {{max_increase: 0.05}}
    equalized_odds_difference: {{max_increase: 0.10}}
"""


# The gradient boosting of a first model (docs/making-it-yours.md, "A first model on small data").
# Below 10,000 training rows scikit-learn stops no boosting early, and 300 rounds of 31-leaf trees
# overfit a small table (five-fold CV on the trial data, Titanic: ROC AUC 0.81, log loss 0.57);
# fewer, smaller, shrunk trees do better there (0.84, 0.45) and no worse on the others measured.
SMALL_DATA_TRAIN_ROWS = 10_000
SMALL_DATA_BOOSTING = HistGradientBoostingParams(
    learning_rate=0.05, max_iter=100, max_leaf_nodes=8, min_samples_leaf=20, l2_regularization=1.0
)


def slug(text: str) -> str:
    """A project name from free text: `My Project` -> `my-project`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def service_name(name: str) -> str:
    """`breast-cancer` -> `BreastCancer`: a class name for the BentoML service."""
    return "".join(part.capitalize() for part in name.split("-") if part)


def origin_owner(root: Path) -> str:
    """The owner of the `origin` remote when it is on GitHub, else an empty string."""
    return (git.github_repository(root) or "").partition("/")[0]


def check_clean(root: Path) -> None:
    """Refuse to touch uncommitted work: init rewrites configuration and removes generated files."""
    status = git.output("status", "--porcelain", cwd=root)
    if status is None:
        raise InitError(
            f"{root} is not a git repository, so `lastmile init` cannot tell what it would overwrite. "
            "Run `git init && git add -A && git commit -m 'From the template'` first, "
            "or pass --allow-dirty."
        )
    if status.strip():
        changed = [line[3:] for line in status.splitlines()]
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise InitError(
            f"The working tree has uncommitted changes ({shown}): `lastmile init` rewrites "
            "params.yaml and contract.yaml and removes generated reports. Commit or stash them first, "
            "or pass --allow-dirty."
        )


def adopt_source(root: Path, source: str, *, copy: bool) -> str:
    """A local file outside the project is copied into data/ (with `copy`), so the repository
    carries its data. Returns the source as params.yaml names it: relative to the project if local.
    """
    if "://" in source:
        return source
    path = Path(source).expanduser()
    if not path.is_absolute():
        return source
    resolved, project = path.resolve(), root.resolve()
    if resolved.is_relative_to(project):
        return str(resolved.relative_to(project))
    if not resolved.is_file():
        raise InitError(f"Data source not found: {source}.")
    adopted = DATA_DIR / resolved.name
    if (root / adopted).is_file() and (root / adopted).read_bytes() == resolved.read_bytes():
        return str(adopted)
    if (root / adopted).exists():
        raise InitError(f"{adopted} exists and differs from {source}: rename one of them.")
    if copy:
        (root / DATA_DIR).mkdir(exist_ok=True)
        shutil.copyfile(resolved, root / adopted)
    return str(adopted)


def updated_project() -> Path | None:
    """The project a `copier update` is for, when this runs as its task, else None.

    copier renders the template twice in throwaway folders (the old and the new version, with the
    project's answers) besides the project itself, running init in each. Those folders hold
    nothing of the project's own, so its data is found in the folder `copier update` was started
    from, as the shell records it ($PWD): the project (docs/making-it-yours.md).
    """
    if os.environ.get("COPIER_OPERATION") != "update" or not os.environ.get("PWD"):
        return None
    return Path(os.environ["PWD"])


def locate_source(root: Path, source: str) -> str:
    """`source` as given, or, during `copier update`, where the project keeps it.

    The answers record the data source as first given (an absolute path, often a download folder),
    but init copied it into the project's data/: the copy is what an update reads, wherever the
    original went (moved, deleted, another machine).
    """
    project = updated_project()
    if project is None or "://" in source or Path(_readable(root, source)).is_file():
        return source
    path = Path(source).expanduser()
    for candidate in (project / path, project / DATA_DIR / path.name):
        if candidate.is_file():
            return str(candidate.resolve())
    raise InitError(
        f"Data source not found: {source}, nor in {project / DATA_DIR} (copier update reads it from the "
        "project: run `copier update` from the project's folder, where data/ holds it)."
    )


def _readable(root: Path, source: str) -> str:
    """Where to read `source` from: relative paths are relative to the project, as in dvc.yaml."""
    if "://" in source or Path(source).is_absolute():
        return source
    return str(root / source)


def _reading(
    current: DataParams,
    source: str,
    read_from: str,
    target: str | None,
    given: tuple[list[str] | None, str | None, str | None],
) -> DataParams:
    """How to read `source` (as params.yaml names it; read from `read_from`): params.yaml's options
    for the file it already names, else what `detect_reading` finds in the new file (not the
    example's quirks); options given replace either."""
    data = current
    if source != current.source:
        data = detect_reading(read_from, target).model_copy(update={"source": source})
    na_values, comment_prefix, label_suffix = given
    given_options = {"na_values": na_values, "comment_prefix": comment_prefix, "label_suffix": label_suffix}
    return data.model_copy(update={key: value for key, value in given_options.items() if value is not None})


def describe_target(target: str, positive: str, source: str) -> str:
    """A first `project.description`, for the model card: the user rewrites it in their words."""
    return f"Predicts whether `{target}` is `{positive}`, from the other columns of `{source}`."


def _project(answers: Answers, description: str) -> ProjectParams:
    try:
        return ProjectParams(
            name=answers.name,
            description=description,
            github_owner=answers.github_owner,
            model_name=answers.name,
            service_name=service_name(answers.name),
            image=answers.image,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InitError(
            f"Invalid project names ({problems}). The project name is lower case letters, digits and "
            "dashes, starting with a letter; the GitHub owner a GitHub user or organisation; the image "
            "a lower-case image name such as ghcr.io/owner/name."
        ) from exc


def _check_answers(answers: Answers, draft: Draft) -> None:
    if answers.positive not in draft.labels:
        raise InitError(
            f"The positive label {answers.positive!r} is not among the labels of {answers.target!r} in "
            f"{answers.source}: {draft.labels}."
        )
    features = _features(draft)
    unknown = [name for name in answers.sensitive if name not in features]
    if unknown:
        raise InitError(
            f"Sensitive feature(s) {unknown} are not features drafted from {answers.source}; "
            f"choose among {features}, or none."
        )


def _set_project(document: CommentedMap, project: ProjectParams) -> None:
    node = config.section(document, "project")
    for key, value in project.model_dump().items():
        if node.get(key) != value:
            node[key] = value


def _set_data(document: CommentedMap, answers: Answers, reading: DataParams, *, new_source: bool) -> None:
    data = config.section(document, "data")
    data["source"] = answers.source
    if list(data.get("na_values", [])) != reading.na_values:
        data["na_values"] = config.flow_list(reading.na_values)
    for key, value in (("comment_prefix", reading.comment_prefix), ("label_suffix", reading.label_suffix)):
        if data.get(key) != value:
            data[key] = value
    if new_source:  # the old comments described the old file's quirks
        for key, comment in DATA_COMMENTS.items():
            config.set_comment(data, key, comment)
    target = config.section(document, "target")
    target["column"] = answers.target
    target["positive"] = answers.positive


def _fairness_text(features: list[str]) -> str:
    return "".join(FIRST_FAIRNESS.format(feature=feature) for feature in features) or "  {}\n"


def _set_features(document: CommentedMap, draft: Draft, sensitive: list[str]) -> None:
    features = config.section(document, "features")
    features["numeric"] = config.flow_list(draft.features("numeric"))
    features["categorical"] = config.flow_list(draft.features("categorical"))
    features["sensitive"] = config.flow_list(sensitive)
    slices = config.section(config.section(document, "evaluation"), "slices")
    slices["bands"] = CommentedMap()
    slices["columns"] = config.flow_list([])
    for key, comment in SLICES_COMMENTS.items():  # the example's named its columns
        config.set_comment(slices, key, comment)
    config.replace(document, "gates", config.parse(FIRST_GATES.format(fairness=_fairness_text(sensitive))))


def _set_first_model(document: CommentedMap, rows: int, test_size: float) -> None:
    """The gradient boosting's settings for a first model on `rows` rows: regularised on a small
    table, scikit-learn's defaults (with early stopping) on a larger one. The model kind stays."""
    train_rows = round(rows * (1 - test_size))
    small = train_rows < SMALL_DATA_TRAIN_ROWS
    settings = SMALL_DATA_BOOSTING if small else HistGradientBoostingParams()
    model = config.section(document, "model")
    boosting = config.section(model, "hist_gradient_boosting")
    for key, value in settings.model_dump().items():
        if boosting.get(key) != value:
            boosting[key] = value
    size = f"{train_rows:,} training rows"
    why = f"regularised for a small table ({size})" if small else f"defaults for {size}"
    config.set_comment(model, "hist_gradient_boosting", f"{why}: docs/making-it-yours.md")


def _set_sensitive(document: CommentedMap, sensitive: list[str]) -> None:
    """Same data, maybe other sensitive features: keep the gates of those that stay."""
    features = config.section(document, "features")
    if list(features.get("sensitive", [])) == sensitive:
        return
    features["sensitive"] = config.flow_list(sensitive)
    gates = config.section(document, "gates")
    config.prune(gates, "fairness", lambda name: name in sensitive)
    fairness = config.section(gates, "fairness")
    for feature in sensitive:
        if feature not in fairness:
            fairness.update(config.parse(FIRST_FAIRNESS.format(feature=feature)))


def _retire_source(root: Path, old: str, new: str) -> list[str]:
    """The data file params.yaml named before (the example's, after the template), when the project
    moves to another: nothing reads it any more. Its notes in data/README.md go with it."""
    if old == new or "://" in old or Path(old).is_absolute():
        return []
    path = root / old
    if not path.is_file() or not path.resolve().is_relative_to((root / DATA_DIR).resolve()):
        return []
    path.unlink()
    removed = [old]
    notes = root / DATA_DIR / "README.md"
    if notes.is_file() and Path(old).name in notes.read_text(encoding="utf-8"):
        notes.unlink()
        removed.append(str(DATA_DIR / "README.md"))
    return removed


def _is_template_readme(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open(encoding="utf-8") as readme:
        return readme.readline().startswith(TEMPLATE_README_MARK)


def _doc_title(path: Path) -> str:
    """A Markdown file's first `# ` heading (its name when it has none)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def project_readme(root: Path, params: Params) -> str:
    """The project's README: its name, what it predicts from which data, how to run it, and the
    template's documentation (docs/) it keeps, linked."""
    docs = [
        (_doc_title(path), path.relative_to(root).as_posix()) for path in sorted((root / "docs").glob("*.md"))
    ]
    template = prose.templates("lastmile.project").get_template("README.md.j2")
    copier_files = [name for name in COPIER_FILES if (root / name).is_file()]
    return template.render(params=params, docs=docs, copier_files=copier_files)


def _reset_generated(root: Path) -> list[str]:
    removed = []
    for relative in GENERATED:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(str(relative))
    return removed


def apply(
    root: Path, answers: Answers, *, allow_dirty: bool = False, keep_generated: bool = False
) -> Outcome:
    """Write the configuration for `answers`; see the module docstring for what changes when.

    `keep_generated` leaves dvc.lock, reports and models in place even when the data changes:
    `copier update` runs init in the project after writing the template's example configuration
    over it, then merges the project's own configuration back; without it, that run would delete
    the project's trained model and the committed evaluation the merge cannot bring back.
    """
    if not allow_dirty:
        check_clean(root)
    params_file = root / paths.PARAMS
    current = load_params(params_file)
    given_source = answers.source
    answers = replace(answers, source=adopt_source(root, given_source, copy=False))
    data_changed = (current.data.source, current.target.column, str(current.target.positive)) != (
        answers.source,
        answers.target,
        answers.positive,
    )
    description = answers.description or (
        describe_target(answers.target, answers.positive, answers.source)
        if data_changed
        else current.project.description
    )
    project = _project(answers, description)  # validates the names before anything is read or written
    new_source = answers.source != current.data.source
    reading = _reading(
        current.data,
        answers.source,
        _readable(root, given_source),
        answers.target,
        (answers.na_values, answers.comment_prefix, answers.label_suffix),
    )
    draft = infer_source(
        _readable(root, given_source),
        answers.target,
        na_values=reading.na_values,
        comment_prefix=reading.comment_prefix,
        label_suffix=reading.label_suffix,
        shown_as=answers.source,
    )
    _check_answers(answers, draft)

    document = config.load(params_file)
    _set_project(document, project)
    _set_data(document, answers, reading, new_source=new_source)
    if data_changed:
        _set_features(document, draft, answers.sensitive)
        _set_first_model(document, draft.rows, current.split.test_size)  # init leaves `split:` as it is
    else:
        _set_sensitive(document, answers.sensitive)
    # Check the result as the pipeline will read it before writing anything.
    try:
        written = Params.model_validate(read_yaml(config.dump(document)))
    except ValidationError as exc:
        raise InitError(
            f"The params.yaml these answers give would be invalid, so nothing was written: {exc}"
        ) from exc

    in_git = git.output("rev-parse", "--git-dir", cwd=root) is not None
    outcome = Outcome(data_changed=data_changed, in_git=in_git, draft=draft)
    if answers.source != given_source and not (root / answers.source).exists():
        adopt_source(root, given_source, copy=True)
        outcome.written.append(f"{answers.source} (a copy of {given_source})")
    if config.save(params_file, document):
        outcome.written.append(str(paths.PARAMS))
    if data_changed:
        contract = root / paths.CONTRACT
        text = draft.contract_yaml()
        if not contract.exists() or contract.read_text(encoding="utf-8") != text:
            write_text(contract, text)
            outcome.written.append(str(paths.CONTRACT))
        if not keep_generated:
            outcome.removed = _reset_generated(root)
    if new_source:
        outcome.retired = _retire_source(root, current.data.source, answers.source)
    if _is_template_readme(root / README):
        write_text(root / README, project_readme(root, written))
        outcome.written.append(str(README))
    outcome.trained = (root / "dvc.lock").is_file()
    outcome.uncommitted = in_git and bool((git.output("status", "--porcelain", cwd=root) or "").strip())
    return outcome


def next_steps(outcome: Outcome, answers: Answers) -> str:
    """What init did and what to do next; during `copier update`, the update's own steps, said once
    (in the project, not in copier's throwaway renders: an empty string there)."""
    if updated_project() is not None:
        if not outcome.in_git:
            return ""
        return "\n".join(
            [
                f"lastmile init: the configuration of {answers.name} rewritten for the merge",
                "",
                "Next steps, once copier has merged:",
                "  1. git diff                 # review the template's changes; resolve any conflict markers",
                "  2. make run                  # if params.yaml, contract.yaml or the code changed",
                "  3. make test",
                "  4. git add -A && git commit -m 'Update from the template'",
            ]
        )
    changed = bool(outcome.written or outcome.removed or outcome.retired)
    lines = [f"wrote {name}" for name in outcome.written]
    lines += [f"removed {name} (generated by the example's runs)" for name in outcome.removed]
    lines += [f"removed {name} (the previous data: nothing reads it now)" for name in outcome.retired]
    if not changed:
        lines.append("nothing to change: the configuration already says this")
    # Only the steps that still apply: a run with nothing changed has nothing to review, and one on a
    # trained model whose tree is clean has nothing to train or commit either.
    steps = []
    if outcome.data_changed and changed:
        reviews = sum(bool(c.review) for c in outcome.draft.columns) if outcome.draft else 0
        steps.append(
            f"Review contract.yaml ({reviews} columns marked `# REVIEW`) and params.yaml "
            "(`project.description`, `features:`, `gates:`)."
        )
    elif changed:
        steps.append("Review params.yaml (`project:`, `features.sensitive`, `gates.fairness`).")
    # DVC runs the pipeline only in a git repository, and the gates compare with `main`.
    if not outcome.in_git:
        steps.append("git init -b main && git add -A && git commit -m 'From the template'")
    train = changed or not outcome.trained
    if train:
        steps.append("make run                   # train and evaluate your first model, build the bento")
    if train or outcome.uncommitted:  # `make run` writes dvc.lock and reports/ to commit
        steps.append(f"git add -A && git commit -m 'Make it ours: {answers.name}'")
    steps += [
        "make doctor                # what GitHub needs: remote, secrets, runner, branch protection",
        "make test                  # linters and the test suite, as CI runs them",
    ]
    lines += ["", "Next steps:" if changed else "Next steps, if not done yet:"]
    lines += [f"  {number}. {step}" for number, step in enumerate(steps, start=1)]
    return "\n".join(lines)


# What each name of `project:` must look like, said when a typed one does not (params.py has the rules).
NAME_RULES = {
    "name": "lower case letters, digits and dashes, starting with a letter (my-model)",
    "github_owner": "a GitHub user or organisation (letters, digits, dashes), or empty",
    "image": "a lower-case image name such as ghcr.io/owner/name, or empty",
}


def _name_problem(key: str, value: str) -> str | None:
    """What is wrong with `value` as `project.<key>`, or None."""
    try:
        TypeAdapter(Annotated[str, ProjectParams.model_fields[key]]).validate_python(value)
    except ValidationError:
        return f"{value!r} is not a valid answer: {NAME_RULES[key]}."
    return None


def _fine(_: str) -> str | None:
    return None


@dataclass
class _Questions:
    """Asking for the answers not given, and reading the data they name."""

    root: Path
    given: dict[str, str | None]
    prompt: Callable[[str, str | None], str]
    tell: Callable[[str], None] | None
    current: Params
    options: tuple[list[str] | None, str | None, str | None]
    # Each file is read once however often an answer is checked (a URL, a large table).
    _columns: dict[str, list[str]] = field(default_factory=dict)
    _drafts: dict[tuple[str, str], Draft] = field(default_factory=dict)

    def answer(
        self, key: str, question: str, default: str | None, problem: Callable[[str], str | None] = _fine
    ) -> str:
        """The option given, else the answer typed; a wrong typed answer is said and asked again."""
        value = self.given.get(key)
        if value is not None:
            return value
        while True:
            value = self.prompt(question, default)
            wrong = problem(value)
            if wrong is None:
                return value
            if self.tell is None:
                raise InitError(wrong)
            self.tell(wrong)

    def _reading(self, source: str, target: str | None) -> DataParams:
        params_source = adopt_source(self.root, source, copy=False)
        return _reading(self.current.data, params_source, _readable(self.root, source), target, self.options)

    def columns(self, source: str) -> list[str]:
        if source not in self._columns:
            reading = self._reading(source, None)
            self._columns[source] = _columns(self.root, source, reading.na_values, reading.comment_prefix)
        return self._columns[source]

    def drafted(self, source: str, target: str) -> Draft:
        if (source, target) not in self._drafts:
            reading = self._reading(source, target)
            self._drafts[source, target] = infer_source(
                _readable(self.root, source),
                target,
                na_values=reading.na_values,
                comment_prefix=reading.comment_prefix,
                label_suffix=reading.label_suffix,
                shown_as=source,
            )
        return self._drafts[source, target]

    def unreadable(self, source: str) -> str | None:
        try:
            self.columns(locate_source(self.root, source))
        except LastmileError as exc:
            return f"{exc} Give a CSV file with a header row: a path, or a URL."
        return None

    def target_and_label(self, source: str, same_source: bool) -> tuple[str, str, Draft | None]:
        """The target and its positive label (the configured ones proposed only for the same file)."""
        if self.given.get("target") is not None and self.given.get("positive") is not None:
            return str(self.given["target"]), str(self.given["positive"]), None
        found = self.columns(source)

        def not_a_target(typed: str) -> str | None:
            if typed not in found:
                return f"{typed!r} is not a column of {source}; its columns are {found}."
            try:
                self.drafted(source, typed)
            except TargetError as exc:
                return f"{exc} Choose another column among {found}."
            return None

        configured = self.current.target
        # No guess for new data: the last column is as often a feature (a year, a group) as the target.
        default_target = configured.column if same_source and configured.column in found else None
        target = self.answer("target", f"Target column, one of {found}", default_target, not_a_target)
        draft = self.drafted(source, target)
        labels = draft.labels
        positive_default = str(configured.positive) if str(configured.positive) in labels else labels[-1]
        positive = self.answer(
            "positive",
            f"Positive label, one of {labels}",
            positive_default,
            lambda typed: None if typed in labels else f"{typed!r} is not a label of {target!r}: {labels}.",
        )
        return target, positive, draft


def ask(
    root: Path,
    given: dict[str, str | None],
    prompt: Callable[[str, str | None], str],
    tell: Callable[[str], None] | None = None,
) -> Answers:
    """Fill in the answers not `given`, proposing defaults read from the project and the data.

    `prompt(question, default)` returns the answer (`default` None: there is none, an answer is
    needed); with every option given it is never called. An answer typed that cannot be right (a
    name that is not one, a source that cannot be read, a target that is not a column or has one
    label, a label the target lacks, a sensitive feature that is not a feature) is explained through
    `tell`, with the valid choices, and asked again; without `tell` (nobody to ask: --no-input) it is
    an InitError. An answer `given` as an option is never asked again: `apply` refuses a wrong one.
    The `data:` reading options (`na_values`, comma-separated, `comment_prefix`, `label_suffix`)
    are never asked: given, they replace params.yaml's.
    """
    current = load_params(root / paths.PARAMS)
    na_values = (
        None if given.get("na_values") is None else [v.strip() for v in str(given["na_values"]).split(",")]
    )
    asked = _Questions(
        root,
        given,
        prompt,
        tell,
        current,
        (na_values, given.get("comment_prefix"), given.get("label_suffix")),
    )
    name = slug(
        asked.answer(
            "name",
            "Project name (lower case, dashes)",
            slug(root.resolve().name),
            lambda typed: _name_problem("name", slug(typed)),
        )
    )
    owner = asked.answer(
        "github_owner",
        "GitHub owner (user or organisation)",
        origin_owner(root),
        lambda typed: _name_problem("github_owner", typed),
    )
    image = asked.answer(
        "image",
        "Serving image",
        f"ghcr.io/{owner.lower()}/{name}" if owner else "",
        lambda typed: _name_problem("image", typed),
    )
    source = locate_source(
        root, asked.answer("source", "Data source (CSV path or URL)", current.data.source, asked.unreadable)
    )
    # The configuration's choices are proposed only for the file it describes: a column of the same
    # name in another file may mean something else (a penguin table's `sex` is no census field).
    same_source = adopt_source(root, source, copy=False) == current.data.source
    target, positive, draft = asked.target_and_label(source, same_source)

    def not_features(typed: str) -> str | None:
        features = _features(draft or asked.drafted(source, target))
        unknown = [name for name in _listed(typed) if name not in features]
        if unknown:
            return f"{unknown} are not features of {source}; choose among {features}, or none (empty)."
        return None

    sensitive = asked.answer(
        "sensitive",
        "Sensitive features (comma-separated; empty for none)",
        ",".join(current.features.sensitive) if same_source else "",
        not_features,
    )
    same_data = (source, target, positive) == (
        current.data.source,
        current.target.column,
        str(current.target.positive),
    )
    description = asked.answer(
        "description",
        "What the model predicts, in a sentence (empty: drafted from the target)",
        current.project.description if same_data else "",
    )
    return Answers(
        name=name,
        github_owner=owner,
        image=image,
        source=source,
        target=target,
        positive=positive,
        sensitive=_listed(sensitive),
        description=description.strip(),
        na_values=na_values,
        comment_prefix=given.get("comment_prefix"),
        label_suffix=given.get("label_suffix"),
    )


def _listed(text: str) -> list[str]:
    """`a, b` -> [a, b]: a comma-separated answer."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _features(draft: Draft) -> list[str]:
    return draft.features("numeric") + draft.features("categorical")


def _columns(root: Path, source: str, na_values: list[str], comment_prefix: str | None) -> list[str]:
    return [
        str(c)
        for c in read_source(
            _readable(root, source), na_values=na_values, comment_prefix=comment_prefix
        ).columns
    ]
