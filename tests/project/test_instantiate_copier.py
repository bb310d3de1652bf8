"""The copier path end to end: `copier copy` from a local git template, a real `make run`, then
`copier update` brings a later template change in, keeps the user's own change, and leaves the
trained model and its committed evaluation exactly as they were.

Slow (a fresh .venv and a pipeline run, and three renders for the update). The "Use this template"
path is in test_instantiate_init.py, a file of its own so that the two run on different workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, _copy_repo, git_add_commit, run
from tests.project.conftest import gate_results, instance_env, make_in

# A fresh .venv and a pipeline run per project (and three renders for `copier update`): minutes on a
# quiet machine, more than the suite's 900 s per test under heavy load.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_copier_copy_make_run_then_update(tmp_path: Path, breast_cancer_csv: Path) -> None:
    if not (ROOT / "copier.yml").exists():
        # Without it, copier copies every file as it is, this project's answers included.
        pytest.skip("no copier.yml: this project was made by `copier copy`, which leaves it out")
    template = _copy_repo(tmp_path / "template")
    project = tmp_path / "tumour-screen"
    answers = {
        "project_name": "tumour-screen",
        "github_owner": "acme",
        "data_source": str(breast_cancer_csv),
        "target_column": "target",
        "positive_label": "1",
        "sensitive_features": "",
    }
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    copier = [
        "copier",
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "HEAD",
        *data,
        str(template),
        str(project),
    ]
    run(copier, cwd=tmp_path, env=instance_env())
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["project_name"] == "tumour-screen" and recorded["_src_path"] == str(template)
    run(["git", "init", "-q", "-b", "main"], cwd=project)
    git_add_commit(project, "from the template")

    summary = make_in(project, "run")
    assert "data/breast_cancer.csv" in summary
    assert gate_results(project)["passed"] is True
    git_add_commit(project, "first model")

    # The user changes their project; the template improves later.
    with (project / "README.md").open("a") as readme:
        readme.write("\nOur team's notes.\n")
    git_add_commit(project, "our notes")
    with (template / "CONTRIBUTING.md").open("a") as contributing:
        contributing.write("\nA later template improvement.\n")
    git_add_commit(template, "template: a later improvement")

    run(["copier", "update", "--trust", "--defaults", "--vcs-ref", "HEAD"], cwd=project, env=instance_env())
    assert (project / "CONTRIBUTING.md").read_text().endswith("A later template improvement.\n")
    assert "Our team's notes." in (project / "README.md").read_text()
    changed = sorted(
        line[3:] for line in run(["git", "status", "--porcelain"], cwd=project).stdout.split("\n") if line
    )
    assert changed == [".copier-answers.yml", "CONTRIBUTING.md"]
    # The trained model, its lock and committed evaluation (figures included) are untouched by the
    # update: nothing to re-run.
    assert "up to date" in run(["dvc", "status"], cwd=project).stdout
