"""NumPy reference implementations of the lecture's operations.

Every function here is vectorised (no Python loop over pixels), documented with
the shapes it takes, exact on the slides' worked examples, and agrees with
``torch.nn.functional`` to 1e-8 in float64 (the tests use torch as the oracle).

Bad input raises ``ValueError`` with a message that says what was expected and
what came, so a student's mistake is named rather than hidden in a traceback.

Conventions follow PyTorch: channels first, ``(N, C, H, W)``; convolution is
cross-correlation (the kernel is *not* flipped).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "conv2d",
    "pool2d",
    "batch_norm",
    "conv_output_size",
    "conv_params",
    "linear_params",
]


# --------------------------------------------------------------------------- helpers


def _as_array(value, name: str) -> np.ndarray:
    """Turn an array-like (list, NumPy array, CPU torch tensor) into an ndarray."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be an array of numbers; could not convert it: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ValueError(
            f"{name} must be an array of numbers; got dtype {arr.dtype} "
            f"(from {type(value).__name__})"
        )
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    return arr


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    """Accept an int or a pair of ints, each >= minimum; return a pair."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    ok = len(items) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= minimum
        for v in items
    )
    if not ok:
        kind = "positive" if minimum >= 1 else "non-negative"
        raise ValueError(
            f"{name} must be a {kind} int or a pair of {kind} ints (>= {minimum}); got {value!r}"
        )
    return int(items[0]), int(items[1])


def _spatial_windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]):
    """Windows over the last two axes: (..., OH, OW, KH, KW), a strided view (no copy)."""
    win = sliding_window_view(x, kernel, axis=(-2, -1))
    return win[..., :: stride[0], :: stride[1], :, :]


def _check_fits(h: int, w: int, kernel: tuple[int, int], padding: tuple[int, int], what: str):
    if kernel[0] > h + 2 * padding[0] or kernel[1] > w + 2 * padding[1]:
        raise ValueError(
            f"{what} {kernel[0]}x{kernel[1]} does not fit into the "
            f"{'padded ' if any(padding) else ''}input of size "
            f"{h + 2 * padding[0]}x{w + 2 * padding[1]} "
            f"(H + 2*padding = {h} + 2*{padding[0]}, W + 2*padding = {w} + 2*{padding[1]}); "
            f"expected a kernel no larger than the padded input"
        )


def _conv_batch(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """conv2d's x and w as a batch (N, C, H, W) and filters (F, C, KH, KW), checked."""
    if x.ndim == 2:
        if w.ndim != 2:
            raise ValueError(
                f"for a 2-D input x of shape {x.shape} (H, W), expected a 2-D kernel w "
                f"(KH, KW); got w of shape {w.shape}"
            )
        x4, w4 = x[None, None], w[None, None]
    elif x.ndim in (3, 4):
        if w.ndim != 4:
            raise ValueError(
                f"for an input x of shape {x.shape}, expected w of shape (F, C, KH, KW) "
                f"(F filters, C input channels); got w of shape {w.shape}"
            )
        x4, w4 = (x[None] if x.ndim == 3 else x), w
    else:
        raise ValueError(
            f"x must have shape (H, W), (C, H, W) or (N, C, H, W); got {x.ndim} dimensions, "
            f"shape {x.shape}"
        )
    c, cw, kh, kw = x4.shape[1], *w4.shape[1:]
    if cw != c:
        raise ValueError(
            f"channel mismatch: w of shape {w.shape} expects C={cw} input channels "
            f"(w.shape[1]), but x of shape {x.shape} has C={c}"
        )
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel must be at least 1x1; got w of shape {w.shape}")
    return x4, w4


def _conv_bias(b, x_ndim: int, f: int) -> np.ndarray:
    """conv2d's bias as an array (F,), checked (a scalar is accepted for a 2-D input)."""
    bias = _as_array(b, "b")
    if x_ndim == 2 and bias.ndim == 0:
        bias = bias.reshape(1)
    if bias.shape != (f,):
        raise ValueError(f"b must have shape ({f},), one bias per filter; got shape {bias.shape}")
    return bias


def _bn_axes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """batch_norm's axes of the statistics and the shape that broadcasts them over x."""
    if x.ndim == 4:
        return (0, 2, 3), (1, -1, 1, 1)
    if x.ndim == 2:
        return (0,), (1, -1)
    raise ValueError(
        f"x must have shape (N, C, H, W) (per channel) or (N, D) (per feature); "
        f"got {x.ndim} dimensions, shape {x.shape}"
    )


def _update_running(name: str, running, stat: np.ndarray, c: int, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * stat`` in place, as PyTorch does."""
    if not (
        isinstance(running, np.ndarray)
        and running.shape == (c,)
        and np.issubdtype(running.dtype, np.floating)
        and running.flags.writeable
    ):
        raise ValueError(
            f"{name} must be a writable float ndarray of shape ({c},) so it can be "
            f"updated in place; got {type(running).__name__} "
            f"{getattr(running, 'shape', '')} {getattr(running, 'dtype', '')}".rstrip()
        )
    running *= 1 - momentum
    running += momentum * stat


# --------------------------------------------------------------------------- sizes and counts


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution or pooling along one axis.

    ``floor((n + 2 * padding - kernel_size) / stride) + 1``. The slide's 6x6 image
    with a 3x3 filter: stride 1 -> 4, stride 2 -> 2, stride 2 and padding 1 -> 3.

    Raises:
        ValueError: non-integer or out-of-range arguments, or a kernel larger than
            the padded input (the result would be < 1).
    """
    for name, value, minimum in (
        ("n", n, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
    ):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    if kernel_size > n + 2 * padding:
        raise ValueError(
            f"kernel_size {kernel_size} is larger than the padded input n + 2*padding = "
            f"{n + 2 * padding}; expected kernel_size <= n + 2*padding"
        )
    return (n + 2 * padding - kernel_size) // stride + 1


def conv_params(in_channels: int, out_channels: int, kernel_size, bias: bool = True) -> int:
    """Number of learnable parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size)``.

    ``out_channels * in_channels * KH * KW`` weights, plus ``out_channels`` biases
    when ``bias``. One 3x3 filter over RGB without bias: ``conv_params(3, 1, 3, False) == 27``.
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    return int(out_channels * in_channels * kh * kw + (out_channels if bias else 0))


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Number of learnable parameters of ``nn.Linear(in_features, out_features)``.

    ``in_features * out_features`` weights plus ``out_features`` biases when ``bias``.
    A flattened 6x6 image into 16 units without bias: ``linear_params(36, 16, False) == 576``.
    """
    for name, value in (("in_features", in_features), ("out_features", out_features)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    return int(in_features * out_features + (out_features if bias else 0))


# --------------------------------------------------------------------------- convolution


def conv2d(x, w, b=None, stride=1, padding=0) -> np.ndarray:
    """2-D convolution (cross-correlation, as ``torch.nn.functional.conv2d``).

    Shapes:
        x (H, W)        with w (KH, KW)        -> (OH, OW)
        x (C, H, W)     with w (F, C, KH, KW)  -> (F, OH, OW)
        x (N, C, H, W)  with w (F, C, KH, KW)  -> (N, F, OH, OW)
    where ``OH = (H + 2*ph - KH) // sh + 1`` and likewise for OW.

    Args:
        x: input image(s); any array-like of numbers (a CPU torch tensor works too).
        w: filter(s). The kernel is used as is, not flipped.
        b: optional bias, shape (F,) (a scalar for the 2-D case).
        stride: int or (sh, sw), each >= 1 (步長).
        padding: int or (ph, pw), each >= 0: zeros added on every side (補零).

    Returns:
        An ndarray. Integer inputs give integer outputs (the slides' examples stay exact).

    Raises:
        ValueError: wrong rank, channel mismatch, bias of the wrong shape, a kernel larger
            than the padded input, stride < 1 or padding < 0.
    """
    x = _as_array(x, "x")
    w = _as_array(w, "w")
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    x4, w4 = _conv_batch(x, w)
    n, c, h, wd = x4.shape
    f, _, kh, kw = w4.shape
    _check_fits(h, wd, (kh, kw), (ph, pw), "kernel")
    bias = None if b is None else _conv_bias(b, x.ndim, f)

    dtype = np.result_type(x4, w4, *(() if bias is None else (bias,)))
    if ph or pw:
        x4 = np.pad(x4, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    # im2col: every window becomes a column of C*KH*KW numbers, then one matrix product
    # per block of images. The (C, KH, KW, N, OH, OW) order keeps the copy's inner loop
    # along contiguous pixels (about 9x faster than a row per window), and blocks of
    # about 64K numbers stay in cache instead of faulting in fresh pages (about 3x).
    win = _spatial_windows(x4, (kh, kw), (sh, sw))  # (N, C, OH, OW, KH, KW)
    oh, ow = win.shape[2], win.shape[3]
    wmat = w4.reshape(f, c * kh * kw).astype(dtype, copy=False)  # (F, C*KH*KW)
    out = np.empty((n, f, oh, ow), dtype=dtype)
    block = max(1, 65536 // max(1, c * kh * kw * oh * ow))
    for start in range(0, n, block):
        part = win[start : start + block]
        cols = part.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, -1)  # (C*KH*KW, B*OH*OW)
        res = wmat @ cols.astype(dtype, copy=False)  # (F, B*OH*OW)
        if bias is not None:
            res += bias.astype(dtype, copy=False)[:, None]
        out[start : start + block] = res.reshape(f, part.shape[0], oh, ow).transpose(1, 0, 2, 3)
    if x.ndim == 2:
        return out[0, 0]
    if x.ndim == 3:
        return out[0]
    return out


# --------------------------------------------------------------------------- pooling


def pool2d(x, kernel_size, stride=None, mode: str = "max") -> np.ndarray:
    """2-D max or average pooling (池化) over the last two axes, per channel.

    Shapes: x (H, W) -> (OH, OW); (C, H, W) -> (C, OH, OW); (N, C, H, W) -> (N, C, OH, OW),
    with ``OH = (H - KH) // sh + 1`` (no padding), as ``F.max_pool2d`` / ``F.avg_pool2d``.

    Args:
        kernel_size: int or (KH, KW), each >= 1.
        stride: int or (sh, sw), each >= 1; defaults to ``kernel_size`` (as in PyTorch).
        mode: ``"max"`` or ``"avg"``.

    Returns:
        An ndarray; "max" keeps the input's dtype, "avg" gives floats.

    Raises:
        ValueError: unknown mode, wrong rank, a kernel larger than the input, stride < 1.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}")
    x = _as_array(x, "x")
    if x.ndim not in (2, 3, 4):
        raise ValueError(
            f"x must have shape (H, W), (C, H, W) or (N, C, H, W); got {x.ndim} dimensions, "
            f"shape {x.shape}"
        )
    kernel = _pair(kernel_size, "kernel_size", 1)
    strides = kernel if stride is None else _pair(stride, "stride", 1)
    _check_fits(x.shape[-2], x.shape[-1], kernel, (0, 0), "pooling kernel")
    win = _spatial_windows(x, kernel, strides)  # (..., OH, OW, KH, KW)
    if mode == "max":
        return win.max(axis=(-2, -1))
    return win.mean(axis=(-2, -1))


# --------------------------------------------------------------------------- batch norm


def batch_norm(
    x,
    gamma=None,
    beta=None,
    eps: float = 1e-5,
    running_mean=None,
    running_var=None,
    training: bool = True,
    momentum: float = 0.1,
) -> np.ndarray:
    """Batch normalisation (批次正規化), as ``torch.nn.functional.batch_norm``.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` per channel of x (N, C, H, W)
    (statistics over N, H, W) or per feature of x (N, D) (statistics over N).

    * ``training=True``: mean and the *biased* variance (divide by m) come from the batch.
      When ``running_mean`` / ``running_var`` are given they are **updated in place**,
      exactly like PyTorch: ``running = (1 - momentum) * running + momentum * batch_stat``,
      where the running variance uses the *unbiased* batch variance (divide by m - 1).
      Pass float ndarrays of shape (C,) and read them after the call; the function
      returns only the normalised output.
    * ``training=False``: normalise with ``running_mean`` and ``running_var`` (both
      required); nothing is updated.

    Args:
        x: (N, C, H, W) or (N, D).
        gamma, beta: optional scale and shift, shape (C,); default 1 and 0.
        eps: added to the variance before the square root.
        running_mean, running_var: optional float ndarrays of shape (C,).
        training: batch statistics (True) or running statistics (False).
        momentum: weight of the new batch statistic in the running update, in [0, 1].

    Raises:
        ValueError: wrong rank, parameters of the wrong shape, only one value per channel
            in training mode, eval mode without running statistics, running statistics
            that cannot be updated in place.
    """
    x = _as_array(x, "x")
    axes, shape = _bn_axes(x)
    c = x.shape[1]
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"eps must be a non-negative number; got {eps!r}")
    if not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be a number in [0, 1]; got {momentum!r}")
    x = x.astype(np.result_type(x.dtype, np.float32), copy=False)

    def param(value, name, default):
        if value is None:
            return np.full(c, default, dtype=x.dtype)
        arr = _as_array(value, name)
        if arr.shape != (c,):
            raise ValueError(f"{name} must have shape ({c},), one value per channel; got {arr.shape}")
        return arr

    g = param(gamma, "gamma", 1.0)
    bt = param(beta, "beta", 0.0)

    if training:
        m = x.size // c
        if m <= 1:
            raise ValueError(
                f"training mode needs more than 1 value per channel to compute a variance; "
                f"got x of shape {x.shape}"
            )
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)  # biased: divide by m
        for name, running, stat in (
            ("running_mean", running_mean, mean),
            ("running_var", running_var, var * m / (m - 1)),  # unbiased for the running update
        ):
            if running is not None:
                _update_running(name, running, stat, c, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "training=False normalises with running statistics: pass running_mean and "
                "running_var (shape (C,)), or use training=True"
            )
        mean = param(running_mean, "running_mean", 0.0)
        var = param(running_var, "running_var", 1.0)

    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return g.reshape(shape) * x_hat + bt.reshape(shape)
