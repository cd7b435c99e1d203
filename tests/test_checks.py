"""cnnlib.checks: failures name the likely mistake; nothing is ever written to stderr."""

import numpy as np
import pytest
import torch

from cnnlib import checks, ops
from cnnlib.checks import assert_close, assert_dtype, assert_equal, assert_shape, assert_true


def message(call) -> str:
    with pytest.raises(AssertionError) as info:
        call()
    return str(info.value)


def test_passing_comparisons_return_none():
    assert assert_close([1.0, 2.0], np.array([1.0, 2.0 + 1e-9]), "x") is None
    assert assert_close(torch.ones(2, 2, requires_grad=True), np.ones((2, 2)), "x") is None
    assert assert_equal((3, 128, 128), (3, 128, 128), "shape") is None
    assert assert_equal(576, 576, "count") is None
    assert assert_shape(torch.zeros(3, 4), (3, 4), "t") is None
    assert assert_dtype(np.zeros(2, np.uint8), "uint8", "img") is None


def test_wrong_output_size_names_the_formula():
    msg = message(lambda: assert_close(np.zeros((3, 3)), np.zeros((4, 4)), "feature_map"))
    assert msg.startswith("feature_map: expected shape (4, 4), got (3, 3): output size is (n + 2p - k) / s + 1")


def test_first_wrong_element_is_named_with_its_index():
    expected = ops.conv2d(np.eye(6), np.eye(3))
    actual = expected.copy()
    actual[2, 1] += 1
    msg = message(lambda: assert_close(actual, expected, "out"))
    assert "first wrong value at index (2, 1)" in msg
    assert f"expected {expected[2, 1]:g}, got {actual[2, 1]:g}" in msg
    assert "1 of 16 values differ" in msg


def test_slide_typo_value_is_reported_exactly():
    image = np.array([[1, 1, 1, 1, 0, 0], [0, 1, 1, 0, 1, 0], [0, 0, 1, 1, 0, 0],
                      [0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0]])
    kernel = np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1]])
    as_on_slide = [[1, 1, 1, 2], [-1, 1, 1, 0], [0, 0, 1, 2], [0, 0, 1, 2]]
    msg = message(lambda: assert_equal(as_on_slide, ops.conv2d(image, kernel), "feature_map"))
    assert "first wrong value at index (3, 2): expected 2, got 1" in msg


def test_hwc_vs_chw_is_recognised():
    msg = message(lambda: assert_close(np.zeros((128, 128, 3)), np.zeros((3, 128, 128)), "img"))
    assert "another order" in msg and "(C, H, W)" in msg


def test_missing_channel_axis_is_recognised():
    msg = message(lambda: assert_shape(np.zeros((128, 128)), (1, 128, 128), "gray"))
    assert "axis of size 1" in msg


def test_scale_by_255_is_recognised():
    x = np.random.default_rng(0).random((2, 3))
    assert "divide by 255" in message(lambda: assert_close(x * 255, x, "img"))
    assert "255 times too small" in message(lambda: assert_close(x / 255, x, "img"))


def test_rotated_kernel_result_and_transpose_are_recognised():
    x = np.arange(9.0).reshape(3, 3)
    assert "rotated by 180 degrees" in message(lambda: assert_close(x[::-1, ::-1], x, "out"))
    assert "transpose" in message(lambda: assert_close(x.T, x, "out"))
    assert "wrong sign" in message(lambda: assert_close(-(x + 1), x + 1, "out"))


def test_none_and_callables_and_strings_get_clear_messages():
    assert "forget to `return`" in message(lambda: assert_close(None, [1], "conv2d(x, w)"))
    assert "instead of calling it" in message(lambda: assert_close(len, [1], "f"))
    assert "got str" in message(lambda: assert_close("12", [1], "f"))
    assert "rows of different lengths" in message(lambda: assert_close([[1, 2], [3]], [[1, 2], [3, 4]], "m"))


def test_dtype_problems_are_explained():
    msg = message(lambda: assert_dtype(np.zeros(3, dtype=np.int64), "float", "x"))
    assert "expected float values, got dtype int64" in msg and ".float()" in msg


def test_nan_is_reported():
    assert "NaN" in message(lambda: assert_close([np.nan, 1.0], [0.0, 1.0], "bn"))


def test_equal_for_tuples_names_types():
    msg = message(lambda: assert_equal([3, 128, 128], (3, 128, 128), "shape"))
    assert "a list, expected a tuple" in msg


def test_notebook_hint_is_appended():
    msg = message(lambda: assert_close([1.0], [2.0], "x", hint="did you add the bias?"))
    assert msg.endswith("Hint: did you add the bias?")


def test_assert_true_survives_python_O():
    assert "custom" in message(lambda: assert_true(False, "custom"))


def test_checks_never_write_to_stderr(capfd):
    for call in [
        lambda: assert_close(np.zeros((3, 3)), np.zeros((4, 4)), "a"),
        lambda: assert_close([np.inf, 0.0], [1.0, 0.0], "b"),
        lambda: assert_close(np.float32([np.inf, -np.inf]), [1.0, 1e300], "c"),
        lambda: assert_close(np.zeros(3, dtype=np.uint8) - 1, np.zeros(3), "d"),
    ]:
        with pytest.raises(AssertionError):
            call()
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_rel_error_is_cs231n_style():
    assert checks.rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert checks.rel_error([1.0], [3.0]) == pytest.approx(0.5)


# --------------------------------------------------------------------------- assert_does_not_use

import functools  # noqa: E402
import types  # noqa: E402

import torch.nn.functional as F  # noqa: E402

import cnnlib  # noqa: E402
import cnnlib.ops  # noqa: E402
from cnnlib.checks import assert_does_not_use  # noqa: E402
from cnnlib.ops import conv2d as reference_conv2d  # noqa: E402

scipy_like = types.ModuleType("scipy")  # scipy need not be installed: a stand-in module
scipy_like.signal = types.ModuleType("scipy.signal")
scipy_like.signal.correlate2d = lambda a, b: a
scipy_like.signal.correlate2d.__module__ = "scipy.signal"


def loops_only(image, kernel):
    h, w = image.shape
    kh, kw = kernel.shape
    out = np.zeros((h - kh + 1, w - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out


def via_functional(image, kernel):
    return F.conv2d(torch.as_tensor(image)[None, None], torch.as_tensor(kernel)[None, None])[0, 0]


def via_ops_module(image, kernel):
    return ops.conv2d(image, kernel)


def via_imported_name(image, kernel):
    return reference_conv2d(image, kernel)


def via_attribute_chain(image, kernel):
    return cnnlib.ops.conv2d(image, kernel)


def via_scipy(image, kernel):
    return scipy_like.signal.correlate2d(image, kernel)


def via_import_inside(image, kernel):
    import torch as t

    return t.zeros(1)


def _helper(image, kernel):
    return torch.nn.functional.conv2d(image, kernel)


def via_helper(image, kernel):
    return _helper(image, kernel)


def via_tensor_sum_in_loop(image, kernel):
    return [[torch.sum(torch.as_tensor(image[i : i + 3, j : j + 3]) * kernel) for j in range(4)] for i in range(4)]


@pytest.mark.parametrize(
    "func, what",
    [
        (via_functional, "F.conv2d (from torch)"),
        (via_ops_module, "ops.conv2d (from cnnlib.ops)"),
        (via_imported_name, "reference_conv2d (from cnnlib.ops)"),
        (via_attribute_chain, "cnnlib.ops.conv2d (from cnnlib.ops)"),
        (via_scipy, "scipy_like.signal.correlate2d (from scipy)"),
        (via_import_inside, "import torch (from torch)"),
        (via_helper, "torch.nn.functional.conv2d (from torch)"),
        (via_tensor_sum_in_loop, "torch.sum (from torch)"),
        (F.conv2d, "(from torch)"),
        (functools.partial(reference_conv2d, stride=1), "cnnlib.ops.conv2d (from cnnlib.ops)"),
        (lambda image, kernel: ops.conv2d(image, kernel), "ops.conv2d (from cnnlib.ops)"),
    ],
)
def test_does_not_use_catches_library_shortcuts(func, what):
    msg = message(lambda: assert_does_not_use(func, name="conv2d_single"))
    assert msg.startswith("conv2d_single uses ")
    assert what in msg
    assert "compute the result yourself" in msg


def test_does_not_use_passes_loops_and_numpy():
    assert assert_does_not_use(loops_only, name="conv2d_single") is None
    assert np.array_equal(loops_only(np.eye(6), np.eye(3)), ops.conv2d(np.eye(6), np.eye(3)))


def test_does_not_use_takes_custom_prefixes_and_checks_its_arguments():
    def uses_convolve(a, b):
        return np.convolve(a, b)

    assert_does_not_use(uses_convolve)  # numpy is allowed by default
    msg = message(lambda: assert_does_not_use(uses_convolve, forbidden=("numpy.convolve",)))
    assert "np.convolve (from numpy.convolve)" in msg
    with pytest.raises(ValueError, match="tuple of dotted module names"):
        assert_does_not_use(loops_only, forbidden="torch")
    assert "expected a function; got int" in message(lambda: assert_does_not_use(3, name="f"))
