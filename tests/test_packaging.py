"""The two-command setup: pyproject.toml, environment.yml, Makefile and CI agree."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pyproject_packages(*extras: str) -> set[str]:
    project = pyproject()["project"]
    reqs = list(project["dependencies"]) + [r for e in extras for r in project["optional-dependencies"][e]]
    return {_name(r) for r in reqs}


def environment_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:") :].splitlines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)", line)
        if m and not line.rstrip().endswith(":"):
            names.add(_name(m.group(1)))
    return names - {"python", "pip"}


def test_environment_yml_is_the_students_install():
    assert pyproject_packages() == environment_packages()


def test_students_install_no_grading_server_parts_and_instructors_get_them():
    student = pyproject_packages()
    assert {"torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "tqdm"} <= student
    assert not student & {"nbgrader", "psycopg2-binary", "sqlalchemy"}
    assert {"nbgrader", "psycopg2-binary"} <= pyproject_packages("course")
    data = pyproject()
    assert {"pytest", "hypothesis", "ruff", "pytest-xdist"} <= {_name(r) for r in data["project"]["optional-dependencies"]["dev"]}
    assert data["project"]["scripts"]["cnn-course"] == "cnn_course.cli:main"
    assert data["project"]["requires-python"] == ">=3.11"
    assert "'.[course,dev]'" in (ROOT / "Makefile").read_text()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_of_cnnlib_imports_the_instructor_package():
    for path in sorted((ROOT / "cnnlib").rglob("*.py")):
        assert not _imports(path) & {"cnn_course", "nbgrader", "psycopg2", "sqlalchemy"}, path.relative_to(ROOT)


def test_cnnlib_imports_without_the_course_extra():
    """Every cnnlib module imports with nbgrader, PostgreSQL drivers and cnn_course made impossible to import."""
    modules = sorted(p.stem for p in (ROOT / "cnnlib").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('cnn_course', 'nbgrader', 'psycopg2', 'sqlalchemy', 'alembic'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('cnnlib.' + m)\n"
        "print('imported', len(sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("imported")


def test_cnn_course_says_what_to_install_without_nbgrader():
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'nbgrader':\n"
            "            raise ImportError('blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from cnn_course.cli import main\n"
            "sys.exit(main(['report', 'lecture']))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "pip install -e '.[course]'" in proc.stderr


def _code_lines(func: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's code, from its first statement after the docstring to its end."""
    body = func.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return func.end_lineno - body[0].lineno + 1


def test_modules_and_functions_stay_small():
    """No module over about 400 lines, no function with over 60 lines of code, in either package."""
    for path in sorted([*(ROOT / "cnnlib").rglob("*.py"), *(ROOT / "cnn_course").rglob("*.py")]):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 410, f"{path.relative_to(ROOT)}: {len(lines)} lines"
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = _code_lines(node)
                assert length <= 60, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines"


def test_make_alone_prints_help_with_every_target():
    out = subprocess.run(["make", "-s"], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    for target in ("setup", "demo", "test", "test-browser", "lab", "release", "bench"):
        assert re.search(rf"^\s+{target}\s", out, re.MULTILINE), target


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "set -euo pipefail" in ci


def test_make_test_runs_every_test_browser_included_after_installing_chromium():
    make = (ROOT / "Makefile").read_text()
    recipes = dict(re.findall(r"^([a-z-]+):[^\n]*\n((?:\t[^\n]*\n)+)", make, re.MULTILINE))
    test = recipes["test"]
    assert test.index(".ci/ensure-chromium") < test.index("pytest -n")
    pytest_line = next(line for line in test.splitlines() if "pytest" in line)
    assert "--dist loadgroup" in pytest_line and " -m " not in pytest_line.replace("-m pytest", "")  # every marker
    assert ".ci/ensure-chromium" in recipes["test-browser"] and "pytest -m browser" in recipes["test-browser"]
    assert '-m "not slow"' in recipes["test-fast"]
    script = ROOT / ".ci" / "ensure-chromium"
    assert script.stat().st_mode & 0o111, ".ci/ensure-chromium must be executable"
    assert "apt-get" in script.read_text() and "set -euo pipefail" in script.read_text()
    dev = pyproject()["project"]["optional-dependencies"]["dev"]
    assert "playwright" in {_name(r) for r in dev}


def test_readme_leads_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make demo") < readme.index("make test") < readme.index("## Students")


def test_gitignore_keeps_grading_output_and_environments_out():
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in (".venv/", "submitted/", "autograded/*", "!autograded/README.md", "feedback/", "gradebook.db"):
        assert entry in ignored
    assert (ROOT / "autograded" / "README.md").exists()
