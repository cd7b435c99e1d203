"""Copy grades from a private nbgrader gradebook into the course gradebook (SQLite or PostgreSQL).

Parallel grading gives every worker its own SQLite gradebook, so workers never wait on
one another's locks; the supervisor then copies each student's results into the course
gradebook, one writer at a time, through nbgrader's own ``Gradebook`` API. The course
gradebook may be any database nbgrader supports (``sqlite:///...``,
``postgresql+psycopg2://...``).
"""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry


def copy_assignment_structure(src: Gradebook, dst: Gradebook, assignment: str) -> None:
    """Create ``assignment`` (notebooks, graded/solution/task/source cells) in ``dst`` when missing.

    An assignment that ``dst`` has without notebooks (``nbgrader db assignment add``) keeps
    its due date and gets the notebooks.
    """
    try:
        if dst.find_assignment(assignment).notebooks:
            return
        duedate = dst.find_assignment(assignment).duedate
    except MissingEntry:
        duedate = None
    a = src.find_assignment(assignment)
    dst.update_or_create_assignment(assignment, duedate=duedate or a.duedate)
    for nb in a.notebooks:
        dst.update_or_create_notebook(nb.name, assignment)
        for c in nb.grade_cells:
            dst.update_or_create_grade_cell(c.name, nb.name, assignment, max_score=c.max_score, cell_type=c.cell_type)
        for c in nb.solution_cells:
            dst.update_or_create_solution_cell(c.name, nb.name, assignment)
        for c in nb.task_cells:
            dst.update_or_create_task_cell(c.name, nb.name, assignment, max_score=c.max_score, cell_type=c.cell_type)
        for c in nb.source_cells:
            dst.update_or_create_source_cell(
                c.name, nb.name, assignment, cell_type=c.cell_type, locked=c.locked, source=c.source,
                checksum=c.checksum,
            )


def copy_submission(src: Gradebook, dst: Gradebook, assignment: str, student: str) -> None:
    """Copy one student's autograde results for ``assignment`` from ``src`` to ``dst``.

    Raises nbgrader's ``MissingEntry`` when ``src`` has no such submission.
    """
    sub = src.find_submission(assignment, student)
    s = sub.student
    dst.update_or_create_student(student, first_name=s.first_name, last_name=s.last_name, email=s.email)
    dst.update_or_create_submission(assignment, student, timestamp=sub.timestamp)
    for nb in sub.notebooks:
        target = dst.find_submission_notebook(nb.name, assignment, student)
        target.late_submission_penalty = nb.late_submission_penalty
        for g in nb.grades:
            t = dst.find_grade(g.name, nb.name, assignment, student)
            t.auto_score = g.auto_score
            t.needs_manual_grade = g.needs_manual_grade
        for c in nb.comments:
            dst.find_comment(c.name, nb.name, assignment, student).auto_comment = c.auto_comment
    dst.db.commit()


def record_ungraded(dst: Gradebook, assignment: str, student: str, timestamp=None) -> None:
    """A submission in ``dst`` that scores zero everywhere (nothing of it could be graded)."""
    dst.update_or_create_student(student)
    dst.update_or_create_submission(assignment, student, timestamp=timestamp)
    for nb in dst.find_submission(assignment, student).notebooks:
        for g in nb.grades:
            g.auto_score = 0.0
            g.needs_manual_grade = False
    dst.db.commit()


def set_duedate(gb: Gradebook, assignment: str, duedate) -> None:
    """Give ``assignment`` in ``gb`` the course's due date (late hand-ins are flagged against it)."""
    gb.update_or_create_assignment(assignment, duedate=duedate)


def open_gradebook(url: str, course_id: str = "cnn-lecture-2025") -> Gradebook:
    """nbgrader's Gradebook for ``url`` (any SQLAlchemy URL nbgrader supports)."""
    return Gradebook(url, course_id)
