"""cnnlib.widgets: the pooling explorer's logic and its controls, driven without a browser."""

import numpy as np
import pytest

from cnnlib import ops
from cnnlib.widgets import SLIDE_POOL_INPUT, PoolingExplorer, pooling_explorer


def test_explorer_shows_the_slides_three_pooling_examples():
    ex = PoolingExplorer()
    np.testing.assert_array_equal(ex.output, [[3, 2], [1, 2]])
    np.testing.assert_array_equal(ex.set(mode="avg").output, [[1, 1], [0.25, 1]])
    np.testing.assert_array_equal(ex.set(mode="max", stride=1).output, [[3, 3, 2], [1, 1, 1], [1, 1, 2]])


def test_explorer_explains_the_highlighted_window():
    ex = PoolingExplorer()
    assert ex.explain().startswith("output[0, 0] = max(1, 3, -1, 1) = 3")
    ex.set(mode="avg", position=2)  # bottom-left window: 0, 1, 0, 0
    assert ex.window() == (slice(2, 4), slice(0, 2))
    assert ex.explain().startswith("output[1, 0] = mean(0, 1, 0, 0) = 0.25")
    html = ex.to_html()
    assert "avg pooling" in html and "0.25" in html
    assert html.count("background:#ffd54f") == 4 + 1  # the 2x2 window and the output cell


def test_explorer_clips_the_position_when_the_output_shrinks():
    ex = PoolingExplorer(kernel_size=2, stride=1)
    ex.set(position=8)  # last of 3 x 3
    ex.set(stride=2)  # now 2 x 2
    assert ex.position == 3
    assert ex.output_shape == (2, 2)


def test_explorer_rejects_bad_settings():
    with pytest.raises(ValueError, match="mode must be 'max' or 'avg'"):
        PoolingExplorer(mode="median")
    with pytest.raises(ValueError, match="kernel_size must be an int from 1 to 4"):
        PoolingExplorer(kernel_size=5)
    with pytest.raises(ValueError, match="stride must be an int >= 1"):
        PoolingExplorer(stride=0)
    with pytest.raises(ValueError, match="x must be a 2-D array"):
        PoolingExplorer(np.zeros((2, 3, 3)))


def test_widget_controls_drive_what_is_shown():
    box = pooling_explorer()
    c, ex = box.controls, box.explorer
    assert "max(1, 3, -1, 1) = 3" in box.children[-1].value
    c["mode"].value = "avg"
    assert "mean(1, 3, -1, 1) = 1" in box.children[-1].value
    c["stride"].value = 1
    assert c["position"].max == 8
    c["position"].value = 8
    assert "output[2, 2] = mean(1, 0, 1, 2) = 1" in box.children[-1].value
    c["kernel_size"].value = 3
    np.testing.assert_allclose(ex.output, ops.pool2d(SLIDE_POOL_INPUT, 3, 1, "avg"))
    assert c["position"].max == 3 and ex.position == 3


def test_widget_takes_another_input():
    x = np.arange(36).reshape(6, 6)
    box = pooling_explorer(x)
    box.controls["kernel_size"].value = 3
    box.controls["stride"].value = 3
    np.testing.assert_array_equal(box.explorer.output, [[14, 17], [32, 35]])
