"""What the course's ``nbgrader_config.py`` adds to stock nbgrader (``configure(c)``).

* ``nbgrader autograde`` runs graded test cells outside the student's kernel
  (:class:`~cnn_course.grading.judged.JudgeExecute` in place of ``Execute``), so a hand-in
  cannot rebind its way to points under stock nbgrader either;
* ``nbgrader generate_feedback`` removes hidden tests from every feedback page
  (:class:`~cnn_course.reports.feedback.RedactHiddenTests`).

``cnn-course autograde`` loads the same configuration, then its own (sandboxed kernels).
"""

from __future__ import annotations


def configure(c) -> None:
    """Set the course's preprocessors on the nbgrader config object ``c``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from .grading.judged import JudgeExecute
    from .reports.feedback import RedactHiddenTests

    # nbgrader's own lists, with Execute replaced and the redaction put first
    c.Autograde.autograde_preprocessors = [JudgeExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    c.GenerateFeedback.preprocessors = [RedactHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
