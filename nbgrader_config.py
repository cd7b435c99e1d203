"""nbgrader configuration of the CNN lecture course (nbgrader 0.9.x, cell metadata schema v3).

The course root is the folder holding this file: source/, release/, submitted/,
autograded/ and feedback/ live beside it, and the gradebook is gradebook.db here.
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "cnn-lecture-2025"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Files nbgrader never copies between source/, release/, submitted/ and autograded/.
# Not "*.pt": HW2 hand-ins include the student's trained weights, hw2_model.pt, which
# autograde must copy next to the notebook (grading loads it instead of training).
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "data",
    "*.pth",
    "*.ckpt",
    ".cache",
]

# autograde copies the files of source/<assignment>/ over the hand-in's; never a checkpoint
# left in source/hw2 over the student's own (cnn-course release refuses such files, too).
c.Autograde.exclude_overwriting = {"hw2": ["hw2_model.pt"]}

# Per-cell time limit while grading: a cell that runs longer is stopped and scores zero.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# Test cells must write nothing to stderr (nbgrader scores that zero). As a second
# line, drop stderr output that is only a benign warning raised inside a library.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"^(\S*(torch|torchvision|numpy|matplotlib|ipykernel)\S*:\d+: "
    r"(UserWarning|DeprecationWarning|FutureWarning|RuntimeWarning): [^\n]*\n"
    r"(  [^\n]*\n)?)+$"
)

# A hand-in with deleted or edited test cells gets them back from source/.
c.OverwriteCells.add_missing_cells = True

# Huge outputs (a print in a loop) are cut before they reach the gradebook and feedback.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# The course's grading (the instructor's package cnn_course, `pip install -e '.[course]'`):
# graded test cells run outside the student's kernel, which only produces the values they
# check (a hand-in cannot rebind its way to points), and feedback never shows hidden tests.
try:
    from cnn_course.nbgrader_setup import configure
except ImportError:
    import sys

    print("nbgrader_config.py: cnn_course is not installed: test cells run in the student's kernel and "
          "feedback shows hidden tests; install it with pip install -e '.[course]'", file=sys.stderr)
else:
    configure(c)
