# CNN lecture workbook. `make` alone prints this help.
#   make demo    the main job: release/, a demo class, autograde, feedback, grades
#   make test    the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# the stamp names the hash of pyproject.toml: a changed dependency list reinstalls
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

# Tools from the venv first (nbgrader calls `alembic` by name); cnnlib from this checkout;
# plots off-screen.
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export MPLBACKEND := Agg
# pytest-xdist workers: the graded demo course, the hostile hand-ins and HW2 each stay on one
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-browser test-fast lint lab release bench wheel clean

help: ## print this help
	@echo "CNN lecture workbook: make TARGET"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv once (cnnlib, the course tools, dev tools) and reuse it

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e '.[course,dev]'
	@touch $@

demo: setup ## regenerate release/, grade the demo class, print scores and where the feedback is
	$(PY) -m cnn_course demo --course .

test: setup ## run every test: lint, library, notebooks, grading, demo scores, browser (about 6 min on 2 cores)
	$(PY) -m ruff check cnnlib cnn_course tests bench source
	@.ci/ensure-chromium
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

test-browser: setup ## JupyterLab in headless Chromium: a student's and an instructor's path
	@.ci/ensure-chromium
	$(PY) -m pytest -m browser

test-fast: setup ## the tests that run no notebook and no grading (under a minute)
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not slow"

lint: setup ## ruff on cnnlib/, cnn_course/, tests/, bench/ and the source notebooks
	$(PY) -m ruff check cnnlib cnn_course tests bench source

lab: setup ## JupyterLab on release/, as a student sees it
	cd release && $(abspath $(BIN))/jupyter lab

release: setup ## regenerate release/ from source/ with nbgrader (never edit release/ by hand)
	$(PY) -m cnn_course release --course .

bench: setup ## benchmarks: print tables, exit non-zero when a target is missed (about an hour on 2 cores)
	$(PY) bench/ops.py
	$(PY) bench/autograde.py
	$(PY) bench/hw2_notebook.py
	$(PY) bench/train_cifar10.py

wheel: setup ## build dist/cnnlib-*.whl: the course's library for Google Colab (HW2's first cell installs it)
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/cnnlib-*.whl

clean: ## remove grading output (submitted/, autograded/, feedback/, gradebook.db, grades.csv)
	rm -rf submitted feedback gradebook.db grades.csv
	find autograded -mindepth 1 ! -name README.md -exec rm -rf {} +
