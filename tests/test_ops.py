"""cnnlib.ops: exact on the slides' worked examples, torch as the oracle everywhere else."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib import ops

# The slides' 6x6 image and 3x3 filter (lecture 2025-10-08, "Convolutions").
IMAGE = np.array(
    [
        [1, 1, 1, 1, 0, 0],
        [0, 1, 1, 0, 1, 0],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0, 0],
    ]
)
FILTER = np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1]])
POOL_INPUT = np.array([[1, 3, 1, 2], [-1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 2]])


# --------------------------------------------------------------------------- slides, exact


def test_stride1_matches_slide_with_row4_col3_corrected():
    out = ops.conv2d(IMAGE, FILTER)
    # The slide prints 1 at row 4, column 3; the window (rows 4-6, columns 3-5) gives
    # 1*1 + 1*1 + 0*(-1) = 2.
    np.testing.assert_array_equal(out, [[1, 1, 1, 2], [-1, 1, 1, 0], [0, 0, 1, 2], [0, 0, 2, 2]])
    assert out[3, 2] == IMAGE[3, 2] * 1 + IMAGE[4, 3] * 1 + IMAGE[5, 4] * -1 == 2


def test_stride2_matches_slide():
    np.testing.assert_array_equal(ops.conv2d(IMAGE, FILTER, stride=2), [[1, 1], [0, 1]])


def test_stride2_padding1_matches_slide():
    np.testing.assert_array_equal(
        ops.conv2d(IMAGE, FILTER, stride=2, padding=1), [[0, 1, 0], [0, 1, 0], [0, 0, 2]]
    )


def test_integer_inputs_give_integer_outputs():
    assert np.issubdtype(ops.conv2d(IMAGE, FILTER).dtype, np.integer)


def test_rgb_window_sums_to_three_as_on_slide():
    # The slide's RGB example: three channels, the same filter on each, products summed.
    r = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1]])
    g = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 1]])
    b = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 1]])
    x = np.stack([r, g, b])  # (3, 3, 3)
    w = np.stack([FILTER] * 3)[None]  # (1, 3, 3, 3)
    np.testing.assert_array_equal(ops.conv2d(x, w), [[[1 + 1 + 1]]])


def test_max_pool_k2_s2_matches_slide():
    np.testing.assert_array_equal(ops.pool2d(POOL_INPUT, 2, 2, "max"), [[3, 2], [1, 2]])


def test_avg_pool_k2_s2_matches_slide():
    np.testing.assert_array_equal(ops.pool2d(POOL_INPUT, 2, 2, "avg"), [[1, 1], [0.25, 1]])


def test_max_pool_k2_s1_matches_slide():
    np.testing.assert_array_equal(
        ops.pool2d(POOL_INPUT, 2, 1, "max"), [[3, 3, 2], [1, 1, 1], [1, 1, 2]]
    )


def test_pool_stride_defaults_to_kernel_size():
    np.testing.assert_array_equal(ops.pool2d(POOL_INPUT, 2), [[3, 2], [1, 2]])


def test_pooling_224x224x64_halves_height_and_width():
    x = np.zeros((64, 224, 224), dtype=np.float32)
    assert ops.pool2d(x, 2, 2).shape == (64, 112, 112)
    assert ops.conv_output_size(224, 2, 2) == 112


def test_parameter_counts_match_slides():
    assert ops.linear_params(36, 16, bias=False) == 36 * 16 == 576
    assert ops.conv_params(1, 1, 3, bias=False) == 9
    assert ops.linear_params(3 * 128 * 128, 16, bias=False) == 786_432
    assert ops.conv_params(3, 1, 3, bias=False) == 27
    assert ops.conv_params(3, 16, 3, bias=False) == 432


def test_parameter_counts_match_torch_modules():
    for cin, cout, k, bias in [(3, 16, 3, True), (6, 16, 5, False), (1, 6, (5, 3), True)]:
        layer = torch.nn.Conv2d(cin, cout, k, bias=bias)
        assert ops.conv_params(cin, cout, k, bias) == sum(p.numel() for p in layer.parameters())
    for fin, fout, bias in [(400, 120, True), (84, 10, False)]:
        layer = torch.nn.Linear(fin, fout, bias=bias)
        assert ops.linear_params(fin, fout, bias) == sum(p.numel() for p in layer.parameters())


def test_conv_output_size_on_slides():
    assert ops.conv_output_size(6, 3) == 4
    assert ops.conv_output_size(6, 3, stride=2) == 2
    assert ops.conv_output_size(6, 3, stride=2, padding=1) == 3
    assert ops.conv_output_size(32, 5) == 28  # LeNet-5's first layer


# --------------------------------------------------------------------------- torch as oracle

small = st.integers(min_value=1, max_value=3)


@st.composite
def conv_case(draw):
    n, c, f = draw(small), draw(small), draw(small)
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    seed = draw(st.integers(0, 2**31 - 1))
    return n, c, f, h, w, kh, kw, (sh, sw), (ph, pw), seed


@settings(max_examples=150, deadline=None)
@given(conv_case(), st.booleans())
def test_conv2d_matches_torch(case, with_bias):
    n, c, f, h, w, kh, kw, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    k = rng.standard_normal((f, c, kh, kw))
    b = rng.standard_normal(f) if with_bias else None
    expected = F.conv2d(
        torch.from_numpy(x), torch.from_numpy(k), None if b is None else torch.from_numpy(b),
        stride=stride, padding=padding,
    ).numpy()
    np.testing.assert_allclose(ops.conv2d(x, k, b, stride=stride, padding=padding), expected, rtol=0, atol=1e-8)
    # the unbatched (C, H, W) form gives the first item of the batch
    np.testing.assert_allclose(ops.conv2d(x[0], k, b, stride, padding), expected[0], rtol=0, atol=1e-8)


def test_conv2d_2d_form_matches_torch():
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((7, 5)), rng.standard_normal((3, 2))
    expected = F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None], stride=(2, 1), padding=1)
    np.testing.assert_allclose(ops.conv2d(x, k, stride=(2, 1), padding=1), expected[0, 0].numpy(), atol=1e-8)


def test_conv2d_accepts_torch_tensors_and_float32():
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    k = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(1))
    out = ops.conv2d(x, k, padding=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, F.conv2d(x, k, padding=1).numpy(), atol=1e-5)


@st.composite
def pool_case(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(kh, 10)), draw(st.integers(kw, 10))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    n, c = draw(small), draw(small)
    return n, c, h, w, (kh, kw), stride, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=100, deadline=None)
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_pool2d_matches_torch(case, mode):
    n, c, h, w, kernel, stride, seed = case
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    fn = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = fn(torch.from_numpy(x), kernel, stride=stride).numpy()
    np.testing.assert_allclose(ops.pool2d(x, kernel, stride, mode), expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ops.pool2d(x[0], kernel, stride, mode), expected[0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(ops.pool2d(x[0, 0], kernel, stride, mode), expected[0, 0], rtol=0, atol=1e-8)


@st.composite
def bn_case(draw):
    four_d = draw(st.booleans())
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape = (n, c, draw(st.integers(1, 4)), draw(st.integers(1, 4))) if four_d else (n, c)
    if int(np.prod(shape)) // c < 2:  # training needs more than one value per channel
        shape = (n + 1, *shape[1:])
    return shape, draw(st.integers(0, 2**31 - 1)), draw(st.floats(0.0, 1.0)), draw(st.sampled_from([1e-5, 1e-3]))


@settings(max_examples=100, deadline=None)
@given(bn_case(), st.booleans())
def test_batch_norm_training_matches_torch_running_stats_included(case, affine):
    shape, seed, momentum, eps = case
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    t_rm, t_rv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    expected = F.batch_norm(
        torch.from_numpy(x), t_rm, t_rv,
        None if gamma is None else torch.from_numpy(gamma), None if beta is None else torch.from_numpy(beta),
        training=True, momentum=momentum, eps=eps,
    ).numpy()
    out = ops.batch_norm(x, gamma, beta, eps, rm, rv, training=True, momentum=momentum)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(rm, t_rm.numpy(), rtol=0, atol=1e-8)  # updated in place
    np.testing.assert_allclose(rv, t_rv.numpy(), rtol=0, atol=1e-8)  # with the unbiased variance


@settings(max_examples=50, deadline=None)
@given(bn_case())
def test_batch_norm_eval_matches_torch_and_leaves_running_stats(case):
    shape, seed, _, eps = case
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.standard_normal(shape)
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    expected = F.batch_norm(
        torch.from_numpy(x), torch.from_numpy(rm), torch.from_numpy(rv),
        torch.from_numpy(gamma), torch.from_numpy(beta), training=False, eps=eps,
    ).numpy()
    before = (rm.copy(), rv.copy())
    np.testing.assert_allclose(ops.batch_norm(x, gamma, beta, eps, rm, rv, training=False), expected, atol=1e-8)
    np.testing.assert_array_equal(rm, before[0])
    np.testing.assert_array_equal(rv, before[1])


def test_batch_norm_gives_mean_zero_std_one():
    x = np.random.default_rng(0).standard_normal((64, 3, 4, 4)) * 5 + 7
    y = ops.batch_norm(x, eps=0.0)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-12)


def test_batch_norm_matches_batchnorm2d_module_over_steps():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3).double()
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = torch.randn(8, 3, 5, 5, dtype=torch.float64) * 2 + 1
        out = ops.batch_norm(x, running_mean=rm, running_var=rv, training=True)
        np.testing.assert_allclose(out, bn(x).detach().numpy(), atol=1e-8)
    np.testing.assert_allclose(rm, bn.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(rv, bn.running_var.numpy(), atol=1e-12)
    bn.eval()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    np.testing.assert_allclose(ops.batch_norm(x, running_mean=rm, running_var=rv, training=False),
                               bn(x).detach().numpy(), atol=1e-8)


# --------------------------------------------------------------------------- error paths


@pytest.mark.parametrize(
    "call, expected_words",
    [
        (lambda: ops.conv2d(np.zeros(5), FILTER), ["(H, W), (C, H, W) or (N, C, H, W)", "shape (5,)"]),
        (lambda: ops.conv2d(np.zeros((1, 1, 1, 5, 5)), np.zeros((1, 1, 3, 3))), ["5 dimensions"]),
        (lambda: ops.conv2d(IMAGE, np.zeros((1, 1, 3, 3))), ["2-D kernel", "(1, 1, 3, 3)"]),
        (lambda: ops.conv2d(np.zeros((3, 6, 6)), FILTER), ["(F, C, KH, KW)", "(3, 3)"]),
        (lambda: ops.conv2d(np.zeros((3, 6, 6)), np.zeros((4, 1, 3, 3))), ["channel mismatch", "C=1", "C=3"]),
        (lambda: ops.conv2d(np.zeros((2, 2)), FILTER), ["does not fit", "2x2"]),
        (lambda: ops.conv2d(np.zeros((2, 2)), FILTER, padding=0), ["kernel 3x3"]),
        (lambda: ops.conv2d(IMAGE, FILTER, stride=0), ["stride", "positive", "0"]),
        (lambda: ops.conv2d(IMAGE, FILTER, stride=(1, -1)), ["stride", "(1, -1)"]),
        (lambda: ops.conv2d(IMAGE, FILTER, stride=1.5), ["stride", "1.5"]),
        (lambda: ops.conv2d(IMAGE, FILTER, padding=-1), ["padding", "non-negative"]),
        (lambda: ops.conv2d(np.zeros((3, 6, 6)), np.zeros((4, 3, 3, 3)), b=np.zeros(3)), ["b must have shape (4,)"]),
        (lambda: ops.conv2d([[1, 2], [3]], FILTER), ["x must be an array of numbers"]),
        (lambda: ops.conv2d(np.array([["a"]]), FILTER), ["x must be an array of numbers", "dtype"]),
        (lambda: ops.pool2d(POOL_INPUT, 2, mode="min"), ["'max' or 'avg'", "'min'"]),
        (lambda: ops.pool2d(POOL_INPUT, 5), ["pooling kernel 5x5 does not fit", "4x4"]),
        (lambda: ops.pool2d(POOL_INPUT, 2, stride=0), ["stride"]),
        (lambda: ops.pool2d(np.zeros(4), 2), ["(H, W), (C, H, W) or (N, C, H, W)"]),
        (lambda: ops.batch_norm(np.zeros((2, 3, 4))), ["(N, C, H, W)", "(N, D)", "shape (2, 3, 4)"]),
        (lambda: ops.batch_norm(np.zeros((1, 3))), ["more than 1 value per channel"]),
        (lambda: ops.batch_norm(np.zeros((4, 3)), gamma=np.ones(2)), ["gamma must have shape (3,)"]),
        (lambda: ops.batch_norm(np.zeros((4, 3)), training=False), ["running_mean and running_var"]),
        (lambda: ops.batch_norm(np.zeros((4, 3)), running_mean=[0, 0, 0]), ["writable float ndarray", "list"]),
        (lambda: ops.batch_norm(np.zeros((4, 3)), running_var=np.ones(3, dtype=int)), ["writable float ndarray"]),
        (lambda: ops.batch_norm(np.zeros((4, 3)), momentum=2), ["momentum", "[0, 1]"]),
        (lambda: ops.batch_norm(np.zeros((4, 3)), eps=-1), ["eps"]),
        (lambda: ops.conv_output_size(6, 3, stride=0), ["stride must be an int >= 1"]),
        (lambda: ops.conv_output_size(2, 5), ["larger than the padded input"]),
        (lambda: ops.conv_output_size(6.0, 3), ["n must be an int"]),
        (lambda: ops.conv_params(0, 1, 3), ["in_channels must be a positive int"]),
        (lambda: ops.conv_params(3, 1, (3, 0)), ["kernel_size"]),
        (lambda: ops.linear_params(10, -1), ["out_features must be a positive int"]),
    ],
)
def test_bad_input_raises_value_error_saying_what_was_expected(call, expected_words):
    with pytest.raises(ValueError) as info:
        call()
    for word in expected_words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


def test_ops_are_vectorised_without_python_loops_over_pixels():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(ops))
    loops = [node for node in ast.walk(tree) if isinstance(node, (ast.For, ast.While))]
    # the only loops allowed: over a handful of arguments (names, running stats), and
    # conv2d's loop over blocks of whole images (range(0, n, block)), never over pixels
    for loop in loops:
        assert isinstance(loop, ast.For), ast.unparse(loop)[:80]
        ok = isinstance(loop.iter, ast.Tuple) or ast.unparse(loop.iter) == "range(0, n, block)"
        assert ok, ast.unparse(loop)[:80]
