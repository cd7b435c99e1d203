"""Figures for the notebooks: every function returns a titled matplotlib ``Figure``.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so nothing is
drawn twice in Jupyter and nothing piles up in pyplot's global state: a notebook
shows a figure by leaving it as the last expression of a cell.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure

from .checks import to_numpy

__all__ = [
    "show_channels",
    "show_curves",
    "show_feature_maps",
    "show_histograms",
    "show_images",
    "show_kernels",
]


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Fonts with Traditional Chinese glyphs, most common first (Linux, macOS, Windows).
_CJK_FONTS = ("Noto Sans CJK TC", "Noto Sans TC", "Noto Sans CJK JP", "Source Han Sans TC", "WenQuanYi Micro Hei",
              "WenQuanYi Zen Hei", "PingFang TC", "Heiti TC", "Microsoft JhengHei", "Arial Unicode MS")


@functools.cache
def _cjk_font() -> str | None:
    """The first installed font that has the lecture's Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def _text(s: str) -> tuple[str, dict]:
    """A title with Chinese terms: a CJK font as fallback where one is installed; otherwise the
    Chinese characters are dropped (no "missing glyph" warnings, no empty boxes)."""
    if not _CJK.search(s):
        return s, {}
    font = _cjk_font()
    if font:
        return s, {"fontfamily": ["DejaVu Sans", font]}
    s = _CJK.sub("", s)
    s = re.sub(r"[,;]?\s*\)", ")", re.sub(r"\(\s*", "(", s))  # "(kernels, )" -> "(kernels)"
    s = re.sub(r"\(\)", "", s)
    return re.sub(r"\s{2,}", " ", s).strip(), {}


def _suptitle(fig: Figure, title: str) -> None:
    text, kw = _text(title)
    fig.suptitle(text, **kw)


def _title(ax, title: str, **kwargs) -> None:
    text, kw = _text(title)
    ax.set_title(text, **kw, **kwargs)


def _hwc(img: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W, C) or (H, W) -> something ``imshow`` takes."""
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = np.transpose(img, (1, 2, 0))
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


def show_channels(img, title: str = "An RGB image and its channels") -> Figure:
    """The image and each of its channels in grey, side by side.

    Args:
        img: (3, H, W) channels first, or (H, W, 3) channels last; uint8 0-255 or float 0-1.
    """
    arr = to_numpy(img, "img")
    if arr.ndim != 3 or 3 not in (arr.shape[0], arr.shape[-1]):
        raise ValueError(f"img must have shape (3, H, W) or (H, W, 3); got {arr.shape}")
    hwc = arr if arr.shape[-1] == 3 else np.transpose(arr, (1, 2, 0))
    fig = Figure(figsize=(10, 2.8), layout="constrained")
    axes = fig.subplots(1, 4)
    axes[0].imshow(hwc)
    axes[0].set_title(f"RGB, shape {tuple(arr.shape)}")
    vmax = 255 if hwc.dtype == np.uint8 else 1.0
    for ax, k, name in zip(axes[1:], range(3), ("Red", "Green", "Blue"), strict=True):
        ax.imshow(hwc[..., k], cmap="gray", vmin=0, vmax=vmax)
        _title(ax, f"{name} channel (通道 {k})")
    for ax in axes:
        ax.set_xlabel("width (W)")
        ax.set_ylabel("height (H)")
    _suptitle(fig, title)
    return fig


def show_images(images, labels=None, class_names=None, title: str = "Images", ncols: int = 10) -> Figure:
    """A grid of images with their labels.

    Args:
        images: (N, H, W, C), (N, C, H, W) or (N, H, W); uint8 or float in [0, 1].
        labels: optional (N,) ints; shown as ``class_names[label]`` when names are given.
    """
    arr = to_numpy(images, "images")
    if arr.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, H, W), (N, H, W, C) or (N, C, H, W); got {arr.shape}")
    n = arr.shape[0]
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = Figure(figsize=(1.3 * ncols, 1.5 * nrows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(_hwc(arr[i]), cmap="gray")
        if labels is not None:
            lab = int(np.asarray(labels)[i])
            ax.set_title(class_names[lab] if class_names is not None else str(lab), fontsize=8)
    _suptitle(fig, title)
    return fig


def _grid(fig: Figure, n: int, ncols: int):
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    return np.atleast_1d(fig.subplots(nrows, ncols)).ravel()


def show_kernels(weights, title: str = "Filters (kernels, 卷積核)", ncols: int = 8) -> Figure:
    """Each filter of a convolution layer as a small image.

    Args:
        weights: (F, C, KH, KW) (``conv.weight``) or one kernel (KH, KW). Filters with 3
            channels are shown in colour (scaled to 0-1 together), other filters show the
            mean over their channels in grey (blue negative, red positive).
    """
    arr = np.asarray(to_numpy(weights, "weights"), dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None, None]
    if arr.ndim != 4:
        raise ValueError(f"weights must have shape (F, C, KH, KW) or (KH, KW); got {arr.shape}")
    n = arr.shape[0]
    fig = Figure(figsize=(1.4 * min(ncols, n) + 0.6, 1.5 * -(-n // max(1, min(ncols, n))) + 0.5),
                 layout="constrained")
    for k, ax in enumerate(_grid(fig, n, ncols)):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        if arr.shape[1] == 3:
            rgb = np.transpose(arr[k], (1, 2, 0))
            ax.imshow((rgb - rgb.min()) / (np.ptp(rgb) or 1.0))
        else:
            kern = arr[k].mean(axis=0)
            lim = np.abs(kern).max() or 1.0
            ax.imshow(kern, cmap="bwr", vmin=-lim, vmax=lim)
        ax.set_title(f"filter {k}", fontsize=8)
    _suptitle(fig, title)
    return fig


def show_feature_maps(maps, title: str = "Feature maps (特徵圖)", ncols: int = 8) -> Figure:
    """Each channel of a layer's output as a grey image.

    Args:
        maps: (F, H, W) (one image's feature maps, e.g. ``conv(x)[0]``) or one map (H, W).
    """
    arr = np.asarray(to_numpy(maps, "maps"), dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"maps must have shape (F, H, W) or (H, W); got {arr.shape}")
    n = arr.shape[0]
    fig = Figure(figsize=(1.5 * min(ncols, n) + 0.6, 1.6 * -(-n // max(1, min(ncols, n))) + 0.5),
                 layout="constrained")
    for k, ax in enumerate(_grid(fig, n, ncols)):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(arr[k], cmap="gray")
        ax.set_title(f"channel {k}", fontsize=8)
    _suptitle(fig, title)
    return fig


def show_curves(history, title: str = "Training curves") -> Figure:
    """Training curves: one panel per metric, values against the step (or epoch).

    Args:
        history: a sequence of numbers (plotted as "loss") or a dict mapping metric names
            to sequences, e.g. ``{"loss": [...], "accuracy": [...]}``.

    Raises:
        ValueError: an empty history or a metric that is not a 1-D sequence of numbers.
    """
    if not isinstance(history, dict):
        history = {"loss": history}
    if not history:
        raise ValueError("history is empty; expected a dict like {'loss': [2.3, 1.9, ...]}")
    series = {}
    for name, values in history.items():
        arr = np.asarray(to_numpy(values, f"history[{name!r}]"), dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"history[{name!r}] must be a non-empty 1-D sequence of numbers; got shape {arr.shape}")
        series[str(name)] = arr
    fig = Figure(figsize=(4.5 * len(series), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(series)))
    for ax, (name, arr) in zip(axes, series.items(), strict=True):
        ax.plot(np.arange(1, arr.size + 1), arr, marker="." if arr.size <= 50 else None)
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.set_title(f"{name}: first {arr[0]:.3g}, last {arr[-1]:.3g}")
        ax.grid(alpha=0.3)
    _suptitle(fig, title)
    return fig


def _per_channel(arr: np.ndarray, name: str) -> np.ndarray:
    """(N, C, H, W) or (N, C) -> (C, values); 1-D -> (1, values)."""
    if arr.ndim == 1:
        return arr[None]
    if arr.ndim == 2:
        return arr.T
    if arr.ndim == 4:
        return np.moveaxis(arr, 1, 0).reshape(arr.shape[1], -1)
    raise ValueError(f"{name} must have shape (N, C, H, W), (N, C) or (values,); got {arr.shape}")


def show_histograms(
    before,
    after,
    title: str = "Values before and after batch normalization (批次正規化)",
    bins: int = 40,
) -> Figure:
    """Histograms of each channel's values before and after a normalisation, side by side.

    Args:
        before, after: (N, C, H, W), (N, C) or 1-D values; one histogram per channel,
            labelled with its mean and standard deviation.

    Raises:
        ValueError: a shape other than those, or different channel counts.
    """
    b = _per_channel(np.asarray(to_numpy(before, "before"), dtype=np.float64), "before")
    a = _per_channel(np.asarray(to_numpy(after, "after"), dtype=np.float64), "after")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"before has {b.shape[0]} channels, after has {a.shape[0]}; expected the same")
    fig = Figure(figsize=(10, 3.3), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, data, what in ((axes[0], b, "before"), (axes[1], a, "after")):
        for c, values in enumerate(data):
            ax.hist(values, bins=bins, alpha=0.5,
                    label=f"channel {c}: mean {values.mean():.2f}, std {values.std():.2f}")
        ax.set_title(what)
        ax.set_xlabel("value")
        ax.set_ylabel("count")
        ax.legend(fontsize=7)
    _suptitle(fig, title)
    return fig
