"""cnn_course: the instructor's tools for the CNN lecture course (the ``cnn-course`` command).

The student's library is :mod:`cnnlib`; this package imports it, never the other way round.
It is installed with the course extra (``pip install -e '.[course]'``: nbgrader, PostgreSQL
drivers). The grading pipeline, in the order a hand-in goes through it:

* :mod:`.layout`: where everything lives in a course folder (the gradebook URL included);
* :mod:`.grading`: hand-ins repaired (``handin``), graded by stock nbgrader in parallel
  private runs (``autograde``) whose kernels are sandboxed (``sandbox``, ``confine``,
  ``mounts``) and forked (``kernels``, ``zygote``) and whose cells run under a hardened
  executor (``execute``); results copied into the course (``results``, ``gradebook``);
* :mod:`.reports`: one row per student (``report``), item analysis (``items``), feedback
  without hidden tests (``feedback``), the quiz's answer key and leak scan (``answer_key``);
* :mod:`.demo`: the demo classes (lecture, quiz, HW2) and ``cnn-course demo``.
"""
