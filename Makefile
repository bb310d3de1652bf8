# One task runner. `make run` and `make test` are all a new user needs; `make help` lists the rest.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
# Installing compiled bytecode once saves seconds on every stage start (PYTHONDONTWRITEBYTECODE is common on
# CI); it is most of a cold `make run`'s set-up time on a slow machine (UV_COMPILE_BYTECODE=0 skips it).
export UV_COMPILE_BYTECODE ?= 1
export UV_PYTHON_DOWNLOADS := never
# Trust the operating system's certificates (corporate proxies install theirs there).
export UV_SYSTEM_CERTS := 1
export BENTOML_DO_NOT_TRACK := true
export DVC_NO_ANALYTICS := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
# Exported so that tests which run `make` in a copy of the project use the same uv.
export UV
# Two environments in one .venv: what the pipeline and the service need (`make run`, `make serve`,
# `make init`), and on top of it the development tools (`make test`, `make setup`: linters, mypy,
# fuzzer, schema validators, SBOM tools). --inexact keeps the tools when both are installed.
RUN_SYNCED := $(VENV)/.synced-run
SYNCED := $(VENV)/.synced

.PHONY: help setup setup-run run init doctor test lint typecheck lint-workflows pytest bench clean test-second-dataset
.PHONY: lint-k8s

help: ## List the targets
	@grep -E '^[A-Za-z0-9][A-Za-z0-9_.-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	@echo "Installing uv $(UV_VERSION) from PyPI into .tools/ ..."
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(RUN_SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --no-dev --inexact --python $(PYTHON)
	@touch $@

$(SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON)
	@touch $@ $(RUN_SYNCED)

setup: $(SYNCED) ## Create .venv from uv.lock with the development tools (installs uv first if needed)

setup-run: $(RUN_SYNCED) ## Create .venv with only what the pipeline and the service need

# Gates first, then the bento in a second make: the bento holds gates.json, and SERVING_INPUTS lists
# it only once it exists (built before it, the bento would be built again by the next run).
run: $(RUN_SYNCED) ## Set up (make setup-run), run the pipeline (dvc repro), build the bento, summarise
	dvc repro
	@$(MAKE) --no-print-directory --silent $(GATES_FILE)
	@$(MAKE) --no-print-directory --silent bento
	@lastmile summary

# ARGS: options of `lastmile init` (`make init ARGS=--help`); without them it asks.
init: $(RUN_SYNCED) ## Make the template yours: names, data, contract, first gates (docs/making-it-yours.md)
	lastmile init $(ARGS)

doctor: $(RUN_SYNCED) ## What the GitHub loop needs: checks here, and what to set on GitHub
	lastmile doctor

test: lint typecheck lint-workflows lint-k8s pytest ## Lint, type-check, lint workflows, run all tests

lint: $(SYNCED) ## ruff lint and format check
	ruff check .
	ruff format --check .

typecheck: $(SYNCED) ## mypy (strict on src/)
	mypy

lint-workflows: $(SYNCED) ## zizmor and the GitHub workflow schema, offline
	zizmor --offline --min-severity=low .github/workflows
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

lint-k8s: $(SYNCED) ## Validate deploy/kubernetes against the Kubernetes schemas, offline
	kubernetes-validate --strict --quiet $(filter-out %/kustomization.yaml,$(wildcard deploy/kubernetes/*.yaml))

pytest: $(SYNCED) ## The test suite with coverage (at least 80 % of the lastmile package)
	pytest --cov=lastmile --cov-report=term-missing:skip-covered --cov-fail-under=80

test-second-dataset: $(SYNCED) ## make run + make test in a temporary copy set up for another dataset (slow)
	python .ci/second_dataset.py

bench: $(SYNCED) bento ## Benchmarks (prints figures; not part of make test)
	python benchmarks/pipeline.py
	python benchmarks/serving.py
	python benchmarks/monitor.py

clean: ## Remove the virtual environment and tool caches (not data or models)
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache .coverage

# ---- pull-request report (docs/pr-report.md)
# BASE is the git ref to compare with; `main` falls back to `origin/main` (CI checkouts have no local main).
# RUN_URL (set by CI) links the comment to the run whose artifacts hold the full report.
BASE ?= main
.PHONY: gate report
# `make run` checks the gates only when the evaluation changed; a failure is shown in its summary.
GATES_FILE := reports/gates.json
$(GATES_FILE): reports/metrics.json reports/fairness.json reports/predictions.csv params.yaml
	@lastmile gate --base '$(BASE)' > /dev/null || true

gate: $(RUN_SYNCED) ## Quality gates (params.yaml `gates:`) on reports/ against BASE's committed evaluation
	lastmile gate --base '$(BASE)'

report: $(RUN_SYNCED) ## PR comment (Markdown + plots) in reports/pr/, comparing with BASE (default main)
	lastmile report --base '$(BASE)' $(if $(RUN_URL),--run-url '$(RUN_URL)')

# ---- serving (docs/serving.md)
# BentoML's model and bento store lives in the project (gitignored), not in ~/bentoml: clones and test
# runs never see each other's models, and `rm -rf .bentoml` forgets everything. Export it to use the
# bentoml CLI by hand: `export BENTOML_HOME=$PWD/.bentoml`.
export BENTOML_HOME ?= $(CURDIR)/.bentoml
# Written by `make bento`: the tag of the bento built from the current model (make serve/image use it).
BENTO_TAG_FILE := $(BENTOML_HOME)/bento.tag
PORT ?= 3000
# params.yaml: its `project:` names the stored model, the bento and the service.
SERVING_INPUTS := bentofile.yaml requirements/serving.txt contract.yaml params.yaml \
	$(wildcard models/model.json models/model.joblib reports/metrics.json reports/gates.json \
	reports/profile.json) \
	$(wildcard src/lastmile/serving/*.py) \
	src/lastmile/monitoring/__init__.py src/lastmile/monitoring/prediction_log.py \
	$(addprefix src/lastmile/,__init__.py contract.py model.py params.py data.py paths.py errors.py \
	  artifacts.py metrics.py git.py)
.PHONY: bento serve

requirements/serving.txt: uv.lock | $(UV)
	$(UV) export --frozen --only-group serving --no-emit-project --no-hashes --format requirements-txt \
		--quiet -o $@

# What .github/workflows/pr-comment.yml installs (pip --require-hashes) to check the fork's report.
requirements/pr-comment.txt: uv.lock | $(UV)
	$(UV) export --frozen --only-group pr-comment --no-emit-project --format requirements-txt --quiet -o $@

$(BENTO_TAG_FILE): $(SERVING_INPUTS) | $(RUN_SYNCED)
	lastmile package --tag-file $@

bento: $(BENTO_TAG_FILE) ## Import the trained model into BentoML and build the bento (skipped if unchanged)

# The prediction log goes to ./monitoring/ of the project (BentoML runs the server in the bento's folder).
serve: export LASTMILE_PREDICTION_LOG_DIR ?= $(CURDIR)/monitoring
serve: bento ## Serve the current model on 127.0.0.1:PORT (default 3000) in the foreground
	bentoml serve "$$(cat $(BENTO_TAG_FILE))" --host 127.0.0.1 --port $(PORT)

# ---- release and image (docs/release.md)
# IMAGE_BACKEND: the container tool `bentoml containerize` uses (docker, or buildah where there is no
# Docker engine: source the oci-local tools' env.sh and set OCI_LOCAL_TOOLS to their folder, for
# image-smoke; docs/release.md). Not part of `make test`.
IMAGE_BACKEND ?= docker
IMAGE ?= localhost/lastmile:dev
RELEASE_DIR ?= dist/release
.PHONY: image image-smoke release-dry-run dvc-pull

# The bento carries a copy of the Dockerfile template: a changed template needs a new bento.
$(BENTO_TAG_FILE): deploy/docker/Dockerfile.template

image: bento ## Build the serving image IMAGE from the bento (IMAGE_BACKEND=docker|buildah|podman)
	lastmile release image --bento "$$(cat $(BENTO_TAG_FILE))" --image '$(IMAGE)' --backend '$(IMAGE_BACKEND)'

image-smoke: $(SYNCED) ## Start IMAGE on PORT: /readyz, a prediction, a bad request, non-root; size, cold start
	lastmile release smoke --image '$(IMAGE)' --backend '$(IMAGE_BACKEND)' --port $(PORT)

release-dry-run: bento ## Everything a release publishes, without publishing, in RELEASE_DIR (dist/release)
	lastmile release prepare --out '$(RELEASE_DIR)' --bento "$$(cat $(BENTO_TAG_FILE))"

dvc-pull: $(RUN_SYNCED) ## Pull pipeline outputs from DVC_REMOTE_URL if set (CI secret); without it they re-run
	@if [ -z "$${DVC_REMOTE_URL:-}" ]; then \
		echo "No DVC remote configured (DVC_REMOTE_URL): dvc repro re-runs what the cache lacks."; \
	else \
		dvc remote add --local --force ci "$$DVC_REMOTE_URL" && dvc pull --remote ci --allow-missing; \
	fi

# ---- drift monitor (docs/monitoring.md)
# LOGS: the prediction log, a path or fsspec URL (file or folder of *.jsonl[.N][.gz]); default: the
# folder the service writes and the Kubernetes Deployment mounts. MONITOR_ARGS: e.g. --since 7d, --last 50000.
LOGS ?= monitoring
MONITOR_ARGS ?=
.PHONY: monitor demo-drift retrain-pr

monitor: $(SYNCED) ## Drift monitor: LOGS against reports/profile.json; reports in reports/monitor/; exit 1 on drift
	lastmile monitor --logs '$(LOGS)' $(MONITOR_ARGS)

demo-drift: bento ## Serve the model, send normal then shifted traffic, run the monitor on each (under a minute)
	lastmile monitor demo --bento "$$(cat $(BENTO_TAG_FILE))"

# A PR is a diff: `dvc repro ingest` records the source's current content in dvc.lock. Its pull
# request runs the PR workflow, which retrains and reports on the new data. Needs CML on PATH.
retrain-pr: $(SYNCED) ## Refresh the data pointer (dvc.lock's record of data.source) and open a retraining PR
	dvc repro ingest
	@if git diff --quiet -- dvc.lock; then \
		echo "data.source has not changed since the last run: no retraining pull request."; \
	else \
		cml pr create --title "Retrain on fresh data (drift monitor)" \
			--body "The drift monitor found drift. This PR refreshes the data pointer so the PR workflow retrains and reports on the current data." \
			dvc.lock reports/data_summary.json; \
	fi
