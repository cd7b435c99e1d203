"""cnnlib.widgets: the widgets are driven by setting their values, and show the slides' numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle

from cnnlib import ops, slides, widgets
from cnnlib.widgets import ConvStepper, PoolingExplorer, SelfCheck, hash_answer

ipywidgets = pytest.importorskip("ipywidgets")

SLIDE_MAP = [[1, 1, 1, 2], [-1, 1, 1, 0], [0, 0, 1, 2], [0, 0, 2, 2]]  # the slide's typo at [3][2] fixed


def find(box, cls):
    """The widget inside ``box`` (any depth) that carries the CSS class ``cls``."""
    stack = [box]
    while stack:
        w = stack.pop()
        if cls in getattr(w, "_dom_classes", ()):
            return w
        stack.extend(getattr(w, "children", ()))
    raise AssertionError(f"no widget with class {cls!r}")


def window_rect(fig):
    ax_in = fig.axes[0]
    rects = [p for p in ax_in.patches if isinstance(p, Rectangle) and p.get_gid() == "window"]
    assert len(rects) == 1
    r = rects[0]
    return r.get_xy(), r.get_width(), r.get_height()


def shown_values(ax):
    """{(row, col): text} written in an axes by the stepper."""
    out = {}
    for t in ax.texts:
        gid = t.get_gid() or ""
        if gid.startswith("cell-"):
            _, i, j = gid.split("-")
            out[int(i), int(j)] = t.get_text()
    return out


# --------------------------------------------------------------------------- stepper logic


def test_stepper_defaults_are_the_slides_example():
    s = ConvStepper()
    assert s.n_steps == 16 and s.out_shape == (4, 4)
    assert s.result.tolist() == SLIDE_MAP
    np.testing.assert_array_equal(s.image, slides.conv_image())
    np.testing.assert_array_equal(s.kernel, slides.conv_kernel())


def test_stepper_state_at_the_slides_typo_position():
    st = ConvStepper().state(14)  # row 4, column 3 (1-based): the slide prints 1
    assert (st.row, st.col, st.top, st.left) == (3, 2, 3, 2)
    assert st.window.tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 0]]
    assert st.products.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert st.total == 2
    assert st.partial_map() == [[1, 1, 1, 2], [-1, 1, 1, 0], [0, 0, 1, 2], [0, 0, 2, None]]


def test_every_step_sum_is_the_reference_value():
    s = ConvStepper()
    for k in range(s.n_steps):
        st = s.state(k)
        assert st.total == SLIDE_MAP[k // 4][k % 4]
        assert st.filled.sum() == k + 1


def test_stepper_stride2_padding1_matches_slide():
    s = ConvStepper(stride=2, padding=1)
    assert s.result.tolist() == [[0, 1, 0], [0, 1, 0], [0, 0, 2]]
    assert s.padded.shape == (8, 8)
    st = s.state(8)
    assert (st.top, st.left) == (4, 4) and st.total == 2
    st = s.state(1)
    assert (st.top, st.left) == (0, 2)
    assert st.window.tolist() == [[0, 0, 0], [1, 1, 1], [1, 1, 0]] and st.total == 1


def test_stepper_own_kernel_agrees_with_torch():
    rng = np.random.default_rng(0)
    img, ker = rng.normal(size=(7, 5)), rng.normal(size=(2, 3))
    s = ConvStepper(img, ker, stride=2, padding=1)
    ref = F.conv2d(torch.from_numpy(img)[None, None], torch.from_numpy(ker)[None, None], stride=2, padding=1)[0, 0]
    for k in range(s.n_steps):
        assert s.state(k).total == pytest.approx(ref.flatten()[k].item(), abs=1e-12)


def test_stepper_sum_text_lists_products_and_sum():
    text = ConvStepper().sum_text(14)
    assert text.startswith("window 15 of 16 (feature map row 4, column 3): ")
    assert "1×1 + 1×0 + 1×0 + 0×0 + 1×1 + 1×0 + 0×0 + 0×0 + 0×(-1)" in text
    assert text.endswith("= sum = 2")


def test_stepper_rejects_bad_input_clearly():
    with pytest.raises(ValueError, match="2-D image"):
        ConvStepper(np.zeros((3, 6, 6)))
    with pytest.raises(ValueError, match="does not fit"):
        ConvStepper(np.zeros((2, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"k must be an int in 0\.\.15"):
        ConvStepper().state(16)


# --------------------------------------------------------------------------- stepper widget


def test_conv_stepper_widget_follows_the_slider():
    box = widgets.conv_stepper()
    slider = find(box, "cnn-stepper-slider")
    text = find(box, "cnn-stepper-sum")
    assert isinstance(slider, ipywidgets.IntSlider) and isinstance(text, ipywidgets.HTML)
    assert (slider.description, slider.min, slider.max, slider.value) == ("window", 1, 16, 1)  # as the text counts
    assert "window 1 of 16" in text.value
    assert "sum = 1" in text.value
    assert window_rect(box.current_figure) == ((-0.5, -0.5), 3, 3)
    first_png = find_image(box).value

    slider.value = 15
    assert "sum = 2" in text.value and "window 15 of 16 (feature map row 4, column 3)" in text.value
    assert window_rect(box.current_figure) == ((1.5, 2.5), 3, 3)
    fmap = shown_values(box.current_figure.axes[2])
    assert len(fmap) == 15 and fmap[3, 2] == "2" and (3, 3) not in fmap
    assert fmap[1, 0] == "-1"
    assert find_image(box).value != first_png

    slider.value = 5
    assert "sum = -1" in text.value and "window 5 of 16" in text.value
    assert window_rect(box.current_figure) == ((-0.5, 0.5), 3, 3)
    assert len(shown_values(box.current_figure.axes[2])) == 5


def find_image(box):
    return next(w for w in box.children if isinstance(w, ipywidgets.Image))


def test_conv_stepper_widget_with_padding_and_stride():
    box = widgets.conv_stepper(stride=2, padding=1)
    slider, text = find(box, "cnn-stepper-slider"), find(box, "cnn-stepper-sum")
    assert (slider.min, slider.max) == (1, 9)
    assert "sum = 0" in text.value
    slider.value = 9
    assert "sum = 2" in text.value
    assert window_rect(box.current_figure) == ((3.5, 3.5), 3, 3)
    assert [v for _, v in sorted(shown_values(box.current_figure.axes[2]).items())] == \
        ["0", "1", "0", "0", "1", "0", "0", "0", "2"]


def test_stepper_figure_is_titled_and_labelled():
    fig = ConvStepper().figure(0)
    assert fig.get_suptitle() == "Convolution step 1 of 16"
    assert all(ax.get_xlabel() == "column" and ax.get_ylabel() == "row" for ax in fig.axes)


# --------------------------------------------------------------------------- pooling explorer


@pytest.mark.parametrize(
    "kernel, stride, mode, expected",
    [
        (2, 2, "max", [[3, 2], [1, 2]]),
        (2, 2, "avg", [[1, 1], [0.25, 1]]),
        (2, 1, "max", [[3, 3, 2], [1, 1, 1], [1, 1, 2]]),
    ],
)
def test_pooling_explorer_matches_slides(kernel, stride, mode, expected):
    assert PoolingExplorer().result(kernel, stride, mode).tolist() == expected


def test_pooling_explorer_widget_follows_its_controls():
    box = widgets.pooling_explorer()
    out = find(box, "cnn-pool-output")
    kernel, stride, mode = (find(box, c) for c in ("cnn-pool-kernel", "cnn-pool-stride", "cnn-pool-mode"))
    assert (kernel.value, stride.value, mode.value) == (2, 2, "max")
    assert "output 2x2: (4 - 2) // 2 + 1 = 2" in out.value
    assert cells(out.value)[-4:] == ["3", "2", "1", "2"]
    mode.value = "avg"
    assert cells(out.value)[-4:] == ["1", "1", "0.25", "1"] and "average pooling" in out.value
    mode.value, stride.value = "max", 1
    assert cells(out.value)[-9:] == ["3", "3", "2", "1", "1", "1", "1", "1", "2"]
    assert "output 3x3" in out.value
    kernel.value = 4
    assert cells(out.value)[-1:] == ["3"]


def cells(html: str) -> list[str]:
    import re

    return re.findall(r"<td[^>]*>([^<]*)</td>", html)


def test_pooling_explorer_rejects_non_2d():
    with pytest.raises(ValueError, match="2-D array"):
        PoolingExplorer(np.zeros((2, 4, 4)))


def test_pooling_explorer_shows_errors_instead_of_raising():
    html = PoolingExplorer(np.zeros((3, 3))).html(2, 0, "max")
    assert "stride must be" in html


# --------------------------------------------------------------------------- self-check


def test_self_check_hides_the_answer_and_checks_it():
    h = hash_answer("16")
    assert len(h) == 16 and "16" != h
    q = SelfCheck("How many windows?", ["9", "16", "36"], h, hints={"9": "count along one side first"})
    assert q.is_right("16") and not q.is_right("9")
    assert q.feedback(None) == "Pick an answer first."
    assert q.feedback("9") == "Not quite: count along one side first"
    assert q.feedback("36").startswith("Not quite")
    assert q.feedback("16") == "Right."


def test_self_check_widget_gives_feedback_on_click():
    box = widgets.self_check("Q?", ["a", "b"], hash_answer("b"), explanation="because")
    choice, button, feedback = (find(box, c) for c in ("cnn-check-options", "cnn-check-button",
                                                      "cnn-check-feedback"))
    button.click()
    assert feedback.value == "Pick an answer first."
    choice.value = "a"
    button.click()
    assert feedback.value.startswith("Not quite")
    choice.value = "b"
    button.click()
    assert feedback.value == "Right. because"


def test_self_check_rejects_a_hash_of_no_option():
    with pytest.raises(ValueError, match="matches 0 of the options"):
        SelfCheck("Q?", ["a", "b"], hash_answer("c"))
    with pytest.raises(ValueError, match="matches 0 of the options"):
        SelfCheck("Q?", ["a", "b"], hash_answer("a", salt="other"))
    with pytest.raises(ValueError, match="at least two different"):
        SelfCheck("Q?", ["a"], hash_answer("a"))


def test_ops_reference_is_what_the_stepper_shows():
    s = ConvStepper(stride=2)
    np.testing.assert_array_equal(s.result, ops.conv2d(slides.conv_image(), slides.conv_kernel(), stride=2))
    assert s.result.tolist() == [[1, 1], [0, 1]]
