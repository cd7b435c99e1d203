"""Where the course hub keeps everything, and the names of its accounts.

One folder, ``/srv/cnn-course`` unless ``--dir`` says otherwise::

    hub.json          these settings (0644): every later command and the hub's config read them
    exchange/         nbgrader's exchange (1777, as nbgrader's docs ask: everyone writes, the
                      sticky bit keeps their entries their own)
    etc/student/      JUPYTER_CONFIG_PATH of a student's server: nbgrader_config.py (course id,
    etc/instructor/   exchange), which of nbgrader's extensions are on; the instructor's adds the course
    lib/student/      what a student's Python imports from this repository: cnnlib only
    lib/course/       the instructor's too: cnn_course
    state/            root only (0700): the hub's database, cookie secret, log, pid, accounts.json
                      (the passwords), the proxy's log, and ``stage/`` for private mounts

The instructor's course folder is ``/home/<instructor>/<course id>`` (0700).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_DIR = Path("/srv/cnn-course")
SETTINGS = "hub.json"
REPO = Path(__file__).resolve().parents[2]  # the checkout the hub runs from (its config: hub/)


@dataclass(frozen=True)
class Hub:
    """The settings of one course hub."""

    dir: str = str(DEFAULT_DIR)
    port: int = 8000  # the address students open: http://127.0.0.1:PORT
    ip: str = "127.0.0.1"
    prefix: str = "cnn-"  # of every account and group the hub makes
    students: int = 3  # accounts cnn-student1 ... made by `make hub`
    course_id: str = "course"
    hub_port: int = 8081  # the hub's own API, behind the proxy (127.0.0.1 only)
    proxy_api_port: int = 8001
    python: str = ""  # real path of the virtual environment's python (user servers run it)
    repo: str = str(REPO)

    # -- folders ------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return Path(self.dir)

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def etc(self, role: str) -> Path:
        return self.root / "etc" / role

    def lib(self, role: str) -> Path:
        return self.root / "lib" / role

    @property
    def venv_bin(self) -> Path:
        return Path(self.python).parent

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    # -- accounts -----------------------------------------------------------------------------
    @property
    def instructor(self) -> str:
        return f"{self.prefix}instructor"

    @property
    def student_group(self) -> str:
        return f"{self.prefix}students"

    @property
    def instructor_group(self) -> str:
        return f"{self.prefix}instructors"

    def student_names(self) -> list[str]:
        return [f"{self.prefix}student{i}" for i in range(1, self.students + 1)]

    def course_dir(self, home: str | None = None) -> Path:
        """The instructor's course folder: ``<instructor's home>/<course id>``."""
        return Path(home or f"/home/{self.instructor}") / self.course_id

    # -- on disk ------------------------------------------------------------------------------
    def save(self) -> Path:
        path = self.root / SETTINGS
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        path.chmod(0o644)
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike = DEFAULT_DIR) -> Hub:
        """The settings ``cnn-course hub start`` saved in ``folder``; FileNotFoundError when none."""
        path = Path(folder) / SETTINGS
        if not path.exists():
            raise FileNotFoundError(f"no course hub in {folder} ({path} is missing): run `make hub` first")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def this_python() -> str:
    """The real path of the running interpreter (the virtual environment's, links resolved):
    user servers are started with it, so the hub and every user run the same packages."""
    python = Path(sys.prefix).resolve() / "bin" / Path(sys.executable).name  # the venv's own link, kept
    return str(python) if python.exists() else os.path.realpath(sys.executable)
