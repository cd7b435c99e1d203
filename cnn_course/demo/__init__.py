"""The demo classes: lecture, quiz and HW2 hand-ins that show what grading must handle."""
