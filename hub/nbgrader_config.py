"""nbgrader configuration of every user on the course hub (students and the instructor).

`cnn-course hub start` copies this file into <hub dir>/etc/student/ and etc/instructor/, the
JUPYTER_CONFIG_PATH of the users' servers, which set CNN_HUB_EXCHANGE (and, for the instructor,
CNN_HUB_COURSE_ROOT). nbgrader reads it for the Assignments tab, Validate, fetch and submit
(students) and for formgrader and the course list (the instructor).
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# The course id of the course's own nbgrader_config.py (tests/test_hub.py checks they agree).
c.CourseDirectory.course_id = "cnn-lecture-2025"

# One exchange for the class: release -> fetch, submit -> collect, release_feedback -> fetch_feedback.
# nbgrader's documented permissions: the folder is world-writable (1777 here: the sticky bit keeps
# each entry its owner's); nbgrader makes <course>/inbound 0733 (students can drop a submission
# but not list others'), outbound 0755 and feedback 0711 (a student finds only their own feedback).
c.Exchange.root = os.environ.get("CNN_HUB_EXCHANGE", "/srv/cnn-course/exchange")
c.Exchange.path_includes_course = False  # one course on this hub

course_root = os.environ.get("CNN_HUB_COURSE_ROOT")
if course_root:  # the instructor: formgrader and the course list work on the course folder
    c.CourseDirectory.root = course_root
    # the course's own settings too (limits, redacted feedback, ...): formgrader runs from the home folder
    load_subconfig(os.path.join(course_root, "nbgrader_config.py"))  # noqa: F821 (traitlets provides it)
    c.CourseDirectory.root = course_root
    c.CourseDirectory.db_url = f"sqlite:///{os.path.join(course_root, 'gradebook.db')}"
