"""`cnn-course demo` end to end on a copy of the course: exact scores, statuses, hints, feedback, grades.

Everything here reads the session's one graded demo course (``graded_demo`` in conftest).
"""

from __future__ import annotations

import csv

import nbformat
import pytest
from conftest import DEMO_TIMEOUT_S, cnn_course, grade_meta
from test_autograde import grades_by_cell, make_course

from cnn_course.demo import lecture as demo_class
from cnn_course.layout import Course
from cnn_course.nbgrader_run import nbgrader
from cnn_course.reports import report

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]

# Exact expected scores of the demo class, per student: notebook stem -> points.
FULL = {
    "01_images_as_tensors": 15,
    "02_convolution_by_hand": 15,
    "03_stride_padding_channels": 20,
    "04_pooling": 15,
    "05_batch_norm": 20,
    "06_cnn_in_pytorch": 20,
}
EXPECTED = {
    "ada_perfect": dict(FULL),
    "ben_untouched": dict.fromkeys(FULL, 0),
    "cai_mistakes": {
        "01_images_as_tensors": 7,  # reshape (-4), channel mean for gray (-4)
        "02_convolution_by_hand": 4,  # the feature map worked out with the filter flipped (-5), kernel flipped (-6)
        "03_stride_padding_channels": 14,  # output size off by one (-3), padding forgotten (-3)
        "04_pooling": 8,  # max instead of average: nb04_pool2d_avg (-3), nb04_pool2d_torch hidden avg (-4)
        "05_batch_norm": 10,  # unbiased variance in the normalisation (-5), graded in train mode (-5)
        "06_cnn_in_pytorch": 15,  # wrong flatten size, Linear(16 * 4 * 4, 120) (-5)
    },
    "dee_raises": {**FULL, "01_images_as_tensors": 12},  # to_float raises AttributeError (-3)
    "eve_broken": dict.fromkeys(FULL, 0),
    # the kernel dies in 03's conv2d answer: 03's output-size test (3) counts, the rest of 03 is not run
    "sam_crashes": {**FULL, "03_stride_padding_channels": 3},
    # 04's pool2d answer loops until the time limit: only the by-hand cell (3) counts in 04; no 06 handed in
    "tia_loops": {**FULL, "04_pooling": 3, "06_cnn_in_pytorch": 0},
}
NB01 = "01_images_as_tensors"
STATUS = {"ada_perfect": "graded", "ben_untouched": "graded", "cai_mistakes": "graded", "dee_raises": "graded",
          "eve_broken": "invalid", "sam_crashes": "kernel-died", "tia_loops": "timeout"}
REASONS = {
    "sam_crashes": "03_stride_padding_channels.ipynb: cell 12 (nb03_conv2d_impl): the kernel died in this cell: "
                   "exit code 3",
    "tia_loops": "06_cnn_in_pytorch.ipynb not handed in (0 points); "
                 f"04_pooling.ipynb: cell 9 (nb04_pool2d_impl) ran past the {DEMO_TIMEOUT_S} s limit (interrupted)",
}

# What cai_mistakes sees: notebook stem -> {failed grade_id: words its hint must contain}.
HINTS = {
    # the demo grades the default edition, Traditional Chinese (cnnlib's messages and the notebooks' own hints)
    "01_images_as_tensors": {"nb01_to_chw": "permute 才會搬動軸",
                             "nb01_grayscale": "你把 R、G、B 平均了"},
    "02_convolution_by_hand": {
        "nb02_feature_map": "feature_map_by_hand：這是翻轉後 filter 的值（真正的 convolution）",
        "nb02_conv2d_single": "conv2d_single(image, kernel) 把 kernel 翻轉了：你算的是真正的 convolution（kernel 轉 "
                              "180 度，訊號處理的定義）；CNN 和 PyTorch 算的是 cross-correlation：每個 window 乘上"
                              "原本的 kernel，不翻轉",
    },
    "03_stride_padding_channels": {
        "nb03_output_size": "output_size(6, 3)：第一個錯的值：應該是 4，拿到 3 (1 個值中有 1 個不同). "
                            "提示：輸出大小是 (n + 2p - k) / s + 1，無條件捨去；差了 1 嗎？+ 1 算的是 window 的"
                            "第一個位置",
        "nb03_conv2d_padding": "conv2d(x1, w1, stride=2, padding=1)：shape 應該是 (1, 3, 3)，拿到 (1, 2, 2)："
                               "忘了 padding（補零）嗎？",
    },
    "04_pooling": {"nb04_pool2d_avg": "（用了 max 而不是 average）",
                   "nb04_pool2d_torch": "mode='avg' 回傳的是 window 的最大值（用了 max 而不是 average）"},
    "05_batch_norm": {"nb05_bn_train": "你用了 unbiased variance 來正規化（除以 m - 1",
                      "nb05_accuracy": "在 train mode 下評分"},
    "06_cnn_in_pytorch": {"nb06_lenet": "flatten 的大小錯了 (wrong flatten size)：Flatten 之後有 C x H x W = 16 x 5 x 5 = 400"},
}


# HW2 (60 points): 40 for eight functions, 5 for each accuracy tier (50/60/70/80%) of hw2_model.pt
# on the generated test set. Checkpoints come from cnn_course.demo.hw2, trained at demo time.
HW2_EXPECTED = {
    "ada_perfect": 60,  # about 90% and more: every tier
    "ben_untouched": 0,  # the release notebook, no checkpoint
    # one coin for the batch (-5), predict in train mode (-5), labels never moved to the device (-5);
    # ~65%: 70 and 80 tiers (-10)
    "cai_mistakes": 35,
    "dee_raises": 35,  # per_class_accuracy raises (-5); a cut-off checkpoint: no tier (-20)
    "eve_broken": 0,  # not valid JSON
}
HW2_FAILED = {  # student -> {failed grade_id: words its message must contain}
    "ada_perfect": {},
    # the default edition's (Traditional Chinese) messages
    "cai_mistakes": {"hw2_flip": "每張影像各擲一次硬幣", "hw2_predict": "預測之前要呼叫 model.eval()",
                     "hw2_train_model": "個 batch 的 label 沒有 .to(device) 就到了 loss_fn",
                     "hw2_accuracy_70": "低於 70%", "hw2_accuracy_80": "低於 80%"},
    "dee_raises": {"hw2_per_class": "has no attribute 'eq'",
                   **{f"hw2_accuracy_{t}": "不是可以讀取的 PyTorch checkpoint" for t in (50, 60, 70, 80)}},
}


@pytest.fixture(scope="module")
def graded_course(graded_demo):
    return graded_demo.root, graded_demo.stdout


def test_demo_scores_are_exact(graded_demo):
    rows = {r.student_id: r for r in report.assignment_report(graded_demo.course, "lecture")}
    assert set(rows) == set(EXPECTED)
    for sid, expected in EXPECTED.items():
        assert rows[sid].notebooks == pytest.approx(expected), sid
        assert rows[sid].score == sum(expected.values())
        assert rows[sid].max_score == sum(FULL.values())


def test_demo_shows_the_hardened_graders_statuses(graded_demo):
    rows = {r.student_id: r for r in report.assignment_report(graded_demo.course, "lecture")}
    assert {sid: r.status for sid, r in rows.items()} == STATUS
    for sid, reason in REASONS.items():
        assert rows[sid].reason == reason
    lines = {line.split()[0]: line for line in graded_demo.stdout.splitlines() if line[:3] in {"sam", "tia"}}
    assert "kernel-died" in lines["sam_crashes"] and "exit code 3" in lines["sam_crashes"]
    assert "timeout" in lines["tia_loops"] and f"{DEMO_TIMEOUT_S} s limit" in lines["tia_loops"]
    assert "cnn-course autograde --jobs 2" in graded_demo.stdout


def test_demo_hw2_scores_are_exact(graded_demo):
    stdout = graded_demo.stdout
    rows = {r.student_id: r for r in report.assignment_report(graded_demo.course, "hw2")}
    assert {sid: r.score for sid, r in rows.items()} == HW2_EXPECTED
    assert all(r.max_score == 60 for r in rows.values())
    assert rows["eve_broken"].status == "invalid"
    assert "hw2 checkpoints: ada_perfect" in stdout


@pytest.mark.parametrize("sid", sorted(HW2_FAILED))
def test_demo_hw2_failures_say_why(graded_course, sid):
    course, _ = graded_course
    folder = course / "autograded" / sid / "hw2"
    assert (folder / "hw2_model.pt").exists()  # autograde kept the hand-in's checkpoint
    nb = nbformat.read(folder / "hw2_cifar10.ipynb", as_version=4)
    failed = {grade_meta(c)["grade_id"]: o.evalue for c in nb.cells
              if c.cell_type == "code" and grade_meta(c).get("grade")
              for o in c.outputs if o.output_type == "error"}
    assert set(failed) == set(HW2_FAILED[sid])
    for gid, words in HW2_FAILED[sid].items():
        assert words in failed[gid], (gid, failed[gid])


def test_broken_hand_in_gets_a_row_and_does_not_stop_the_others(graded_demo):
    rows = {r.student_id: r for r in report.assignment_report(graded_demo.course, "lecture")}
    assert rows["eve_broken"].status == "invalid"
    assert "is not valid JSON" in rows["eve_broken"].reason
    assert all(rows[s].status == "graded" for s in EXPECTED if STATUS[s] == "graded")
    assert "eve_broken" in graded_demo.stdout and "invalid" in graded_demo.stdout


@pytest.mark.parametrize("notebook", sorted(HINTS))
def test_mistakes_get_hints_that_name_them(graded_course, notebook):
    course, _ = graded_course
    nb = nbformat.read(course / f"autograded/cai_mistakes/lecture/{notebook}.ipynb", as_version=4)
    failed = {
        grade_meta(c)["grade_id"]: o.evalue
        for c in nb.cells if c.cell_type == "code" and grade_meta(c).get("grade")
        for o in c.outputs if o.output_type == "error"
    }
    assert set(failed) == set(HINTS[notebook])
    for gid, words in HINTS[notebook].items():
        assert words in failed[gid], (gid, failed[gid])


def test_raising_code_costs_only_the_cells_it_breaks(graded_course):
    course, _ = graded_course
    errors = {}
    for notebook in ("01_images_as_tensors", "03_stride_padding_channels"):
        nb = nbformat.read(course / f"autograded/dee_raises/lecture/{notebook}.ipynb", as_version=4)
        errors.update({grade_meta(c)["grade_id"]: o.ename for c in nb.cells if c.cell_type == "code"
                       for o in c.outputs if o.output_type == "error"})
    # 03's answer cell raises after both functions are defined: its test still passes
    assert errors == {"nb01_to_float": "AttributeError", "nb03_param_counts_impl": "TypeError"}


def test_feedback_and_grades_csv_are_written(graded_course):
    course, stdout = graded_course
    for sid in EXPECTED:
        for notebook in FULL:
            html = course / "feedback" / sid / "lecture" / f"{notebook}.html"
            assert html.exists(), (sid, notebook)  # a page saying why for a notebook that was not graded
            placeholder = sid == "eve_broken" or (sid, notebook) == ("tia_loops", "06_cnn_in_pytorch")
            assert ("could not be graded" in html.read_text(encoding="utf-8")) == placeholder, (sid, notebook)
    with open(course / "grades.csv", newline="") as fh:
        grades = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == "lecture"}
    for sid in EXPECTED:
        assert grades[sid] == sum(EXPECTED[sid].values())
    assert "grades.csv" in stdout and "feedback" in stdout


def test_report_command_prints_and_writes_csv(graded_course, tmp_path):
    course, _ = graded_course
    out_csv = tmp_path / "lecture.csv"
    proc = cnn_course("report", "lecture", "--course", str(course), "--csv", str(out_csv), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ada_perfect" in proc.stdout and "invalid" in proc.stdout
    with open(out_csv, newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert float(rows["cai_mistakes"]["score"]) == sum(EXPECTED["cai_mistakes"].values())
    assert rows["eve_broken"]["status"] == "invalid"


def test_report_rejects_unknown_assignment(graded_course):
    course, _ = graded_course
    proc = cnn_course("report", "hw9", "--course", str(course), timeout=120)
    assert proc.returncode == 2
    assert "unknown assignment 'hw9'; expected one of hw2, lecture, quiz" in proc.stderr


def test_cli_rejects_a_folder_that_is_not_a_course(tmp_path):
    proc = cnn_course("demo", "--course", str(tmp_path), timeout=60)
    assert proc.returncode != 0
    assert "expected nbgrader_config.py there" in proc.stderr


def test_perfect_hand_in_has_the_solutions_without_markers(tmp_path):
    from conftest import RELEASE, SOURCE

    rel = RELEASE / "lecture" / "01_images_as_tensors.ipynb"
    nb = demo_class.fill_answers(nbformat.read(rel, as_version=4),
                                 nbformat.read(SOURCE / "lecture" / rel.name, as_version=4))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in code and "NotImplementedError" not in code
    assert "permute(2, 0, 1)" in code


def test_demo_grades_the_quiz_class_and_prints_its_item_analysis(graded_course):
    from cnn_course.demo import quiz as quiz_class

    course, stdout = graded_course
    rows = {r.student_id: r for r in report.assignment_report(Course(course), "quiz")}
    assert set(rows) == {s.student_id for s in quiz_class.QUIZ_STUDENTS}  # the lecture's five take no quiz
    assert rows["fay_full"].score == 25 and rows["gus_blank"].score == 0
    assert "Item analysis of 'quiz': 12 students graded, 25 points" in stdout
    with open(course / "grades.csv", newline="") as fh:
        quiz_grades = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == "quiz"}
    assert quiz_grades["fay_full"] == 25 and quiz_grades["hal_malformed"] == 10
    assert (course / "autograded" / "quiz_items.csv").exists() and (course / "autograded" / "quiz_items.png").exists()


def test_scores_equal_stock_nbgrader_in_the_other_edition(graded_demo, tmp_path):
    """Notebook 01 of the well-behaved demo students, handed in in the English edition and graded by stock
    nbgrader, gets per cell what the demo's grader gave their Traditional Chinese hand-ins."""
    from cnn_course import editions

    stock = make_course(tmp_path / "stock")
    well_behaved = tuple(s for s in demo_class.DEMO_STUDENTS if s.student_id in ("ada_perfect", "cai_mistakes",
                                                                                    "dee_raises"))
    editions.build(stock, "en", ["lecture"])
    assert nbgrader(stock, "generate_assignment", "lecture", "--force", *editions.generate_args("en")).ok
    demo_class.create_demo_class(stock, "lecture", students=well_behaved, lang="en")
    handed_in = (stock / "submitted" / "cai_mistakes" / "lecture" / f"{NB01}.ipynb").read_text(encoding="utf-8")
    assert "Images as tensors" in handed_in and "影像就是張量" not in handed_in
    res = nbgrader(stock, "autograde", "lecture", "--force")
    assert res.ok, res.output[-3000:]
    want = grades_by_cell(f"sqlite:///{stock / 'gradebook.db'}")
    assert want[("ada_perfect", "nb01_to_chw")] == 4 and want[("cai_mistakes", "nb01_to_chw")] == 0
    got = grades_by_cell(graded_demo.course.gradebook_url("lecture"), notebook=NB01)
    assert {k: v for k, v in got.items() if k[0] in {s.student_id for s in well_behaved}} == want
