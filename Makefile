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
# make hub: the course hub's folder and port (see README, "Run the course for a class")
HUB_DIR ?= /srv/cnn-course
HUB_PORT ?= 8000
HUB_STUDENTS ?= 3
CHP := .hub/node_modules/.bin/configurable-http-proxy

.PHONY: help setup demo test test-browser test-hub test-fast lint lab lab-en release i18n bench wheel clean hub hub-stop proxy

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

test: setup ## run every test: lint, library, notebooks, grading, demo scores, browser, hub (about 11 min on 2 cores)
	$(PY) -m ruff check cnnlib cnn_course tests bench source hub
	@.ci/ensure-chromium
	@$(MAKE) --no-print-directory proxy || echo "make test: no configurable-http-proxy: tests/test_hub.py will say it skips"
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

test-browser: setup ## JupyterLab in headless Chromium: a student's and an instructor's path
	@.ci/ensure-chromium
	$(PY) -m pytest -m browser

test-hub: setup ## the class on a real JupyterHub in Chromium, and 30 students submitting at once (root)
	@.ci/ensure-chromium
	@$(MAKE) --no-print-directory proxy
	$(PY) -m pytest tests/test_hub.py tests/test_hub_config.py

test-fast: setup ## the tests that run no notebook and no grading (about a minute)
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not slow"

lint: setup ## ruff on cnnlib/, cnn_course/, tests/, bench/, hub/ and the source notebooks
	$(PY) -m ruff check cnnlib cnn_course tests bench source hub

hub: setup proxy ## start the course hub on 127.0.0.1 (HUB_PORT=8000; root): JupyterHub, PAM logins, nbgrader exchange
	$(PY) -m cnn_course hub start --dir $(HUB_DIR) --port $(HUB_PORT) --students $(HUB_STUDENTS)

hub-stop: ## stop the course hub and every user's server (root)
	$(PY) -m cnn_course hub stop --dir $(HUB_DIR)

# the official configurable-http-proxy, from npm, into .hub/ of this checkout when it is not on PATH;
# version 5 needs Node.js 20, so an older Node.js (Debian 12 has 18) gets version 4
proxy:
	@command -v configurable-http-proxy >/dev/null || test -x $(CHP) || { \
	    command -v npm >/dev/null || { echo "make hub: npm is missing: apt-get install nodejs npm" >&2; exit 1; }; \
	    major=$$(node -p 'process.versions.node.split(".")[0]'); \
	    version=$$([ "$$major" -ge 20 ] && echo 5 || echo 4); \
	    echo "installing configurable-http-proxy@$$version with npm into .hub/"; \
	    npm install --prefix .hub --no-audit --no-fund --silent configurable-http-proxy@$$version; }

lab: setup ## JupyterLab on release/ (繁體中文, the default edition), as a student sees it
	@echo "Opening the Traditional Chinese edition (release/); the English edition: make lab-en (release-en/)"
	cd release && $(abspath $(BIN))/jupyter lab

lab-en: setup ## JupyterLab on release-en/, the English edition
	cd release-en && $(abspath $(BIN))/jupyter lab

release: setup ## regenerate both editions from source/ with nbgrader: release/ (zh_TW), release-en/ (never edit them by hand)
	$(PY) -m cnn_course release --course .

i18n: setup ## cnnlib's messages: merge new ones into cnnlib/locale/*/cnnlib.po, compile, list untranslated
	$(PY) -m cnn_course.catalogs

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
