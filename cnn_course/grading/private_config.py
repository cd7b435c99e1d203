"""nbgrader configuration of one private grading run of ``cnn-course autograde`` (not a module to import).

Each worker of :mod:`cnn_course.grading.autograde` runs plain ``nbgrader autograde`` in a
private course folder whose ``nbgrader_config.py`` loads the course's own configuration and
then this file (``load_subconfig``), so that the course's settings (time limit, ignored
files, late penalties, ...) apply unchanged and only these differ:

* the course root and gradebook are the private folder's own (a throw-away SQLite file,
  written without fsync; the supervisor copies the grades into the course gradebook);
* cells run under :class:`~cnn_course.grading.execute.SandboxExecute`, whose kernels start
  through :class:`~cnn_course.grading.kernels.SandboxKernelManager` (sandboxed, forked).
"""

import os

import sqlalchemy
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from cnn_course.grading.execute import SandboxExecute

c = get_config()  # noqa: F821 (traitlets provides it to configuration files)

root = os.getcwd()
c.CourseDirectory.root = root
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "gradebook.db")
# nbgrader's own list, with Execute replaced
c.Autograde.autograde_preprocessors = [SandboxExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.SandboxExecute.kernel_manager_class = "cnn_course.grading.kernels.SandboxKernelManager"


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "connect")
def _no_fsync(dbapi_connection, _record):
    """This gradebook is a private, throw-away copy: no fsync after every commit."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA synchronous = OFF")
