"""Figures for the notebooks: every function returns a titled matplotlib ``Figure``.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so nothing is
drawn twice in Jupyter and nothing piles up in pyplot's global state: a notebook
shows a figure by leaving it as the last expression of a cell. Importing this
module inside IPython/Jupyter registers a PNG formatter for ``Figure`` so that
works whatever matplotlib backend is active (without it a bare ``Figure`` shows
as ``<Figure size ...>`` text until pyplot has been imported).
"""

from __future__ import annotations

import functools
import io
import re

import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

from .checks import to_numpy

__all__ = ["show_channels", "show_images"]


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")
_CJK_FONTS = (
    "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans TC", "Source Han Sans TW",
    "Microsoft JhengHei", "PingFang TC", "Heiti TC", "WenQuanYi Zen Hei", "AR PL UMing TW",
)


@functools.cache
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def fit_text_to_fonts(fig: Figure) -> Figure:
    """Make the figure's Chinese labels (通道, 特徵圖, ...) render.

    With a CJK font installed, texts holding Chinese use it; without one, the Chinese
    words are dropped (with their brackets when nothing else is inside) rather than
    drawn as empty boxes with a "Glyph missing" warning on stderr.
    """
    font = cjk_font()
    for text in fig.findobj(Text):
        label = text.get_text()
        if not _CJK.search(label):
            continue
        if font:
            text.set_fontfamily([font, "DejaVu Sans"])
        else:
            cleaned = _CJK.sub("", label)
            cleaned = re.sub(r"\(\s*\)", "", re.sub(r"\(\s+", "(", cleaned))  # "( 0)" -> "(0)", "()" -> ""
            text.set_text(re.sub(r"\s{2,}", " ", cleaned).strip())
    return fig


def _figure_png(fig: Figure) -> bytes:
    fit_text_to_fonts(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def register_ipython_display() -> bool:
    """Show ``Figure`` objects as PNG in the running IPython kernel; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters["image/png"].for_type(Figure, _figure_png)
    return True


register_ipython_display()


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
        ax.set_title(f"{name} channel (通道 {k})")
    for ax in axes:
        ax.set_xlabel("width (W)")
        ax.set_ylabel("height (H)")
    fig.suptitle(title)
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
    fig.suptitle(title)
    return fig
