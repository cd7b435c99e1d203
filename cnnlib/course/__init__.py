"""Instructor tooling: the demo class, grading through nbgrader, and grade reports."""
