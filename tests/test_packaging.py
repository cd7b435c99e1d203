"""The two-command setup: pyproject.toml, environment.yml, Makefile and CI agree."""

from __future__ import annotations

import re
import subprocess
import tomllib

from conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_packages() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return {_name(r) for r in reqs}


def environment_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:") :].splitlines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)", line)
        if m and not line.rstrip().endswith(":"):
            names.add(_name(m.group(1)))
    return names - {"python", "pip"}


def test_environment_yml_names_the_same_packages_as_pyproject():
    assert pyproject_packages() == environment_packages()


def test_pyproject_has_the_required_dependencies_and_script():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert {"torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "nbgrader", "tqdm"} <= (
        pyproject_packages()
    )
    assert {"pytest", "hypothesis", "ruff"} <= {_name(r) for r in data["project"]["optional-dependencies"]["dev"]}
    assert data["project"]["scripts"]["cnn-course"] == "cnnlib.course.cli:main"
    assert data["project"]["requires-python"] == ">=3.11"


def test_make_alone_prints_help_with_every_target():
    out = subprocess.run(["make", "-s"], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    for target in ("setup", "demo", "test", "test-browser", "lab", "release", "bench"):
        assert re.search(rf"^\s+{target}\s", out, re.MULTILINE), target


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "set -euo pipefail" in ci


def test_make_test_runs_the_browser_tests_after_installing_chromium():
    make = (ROOT / "Makefile").read_text()
    recipes = dict(re.findall(r"^([a-z-]+):[^\n]*\n((?:\t[^\n]*\n)+)", make, re.MULTILINE))
    assert "test-browser" in recipes["test"] and 'pytest -m "not browser"' in recipes["test"]
    assert ".ci/ensure-chromium" in recipes["test-browser"] and "pytest -m browser" in recipes["test-browser"]
    script = ROOT / ".ci" / "ensure-chromium"
    assert script.stat().st_mode & 0o111, ".ci/ensure-chromium must be executable"
    assert "apt-get" in script.read_text() and "set -euo pipefail" in script.read_text()
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert "playwright" in {_name(r) for r in dev}


def test_readme_leads_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make demo") < readme.index("make test") < readme.index("## Students")


def test_gitignore_keeps_grading_output_and_environments_out():
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in (".venv/", "submitted/", "autograded/*", "!autograded/README.md", "feedback/", "gradebook.db"):
        assert entry in ignored
    assert (ROOT / "autograded" / "README.md").exists()
