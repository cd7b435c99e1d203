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
from .gallery import show_images, show_misclassified
from .i18n import _

__all__ = [
    "show_channels",
    "show_confusion_matrix",
    "show_curves",
    "show_feature_maps",
    "show_histograms",
    "show_images",
    "show_kernels",
    "show_misclassified",
]


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


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes, its Chinese labels fitted to the installed fonts."""
    fit_text_to_fonts(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
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
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    return True


register_ipython_display()


def show_channels(img, title: str = "An RGB image and its channels") -> Figure:
    """The image and each of its channels in grey, side by side.

    Args:
        img: (3, H, W) channels first, or (H, W, 3) channels last; uint8 0-255 or float 0-1.
    """
    arr = to_numpy(img, "img")
    if arr.ndim != 3 or 3 not in (arr.shape[0], arr.shape[-1]):
        raise ValueError(_("img must have shape (3, H, W) or (H, W, 3); got {shape}").format(shape=arr.shape))
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


def _grid(n: int, ncols: int, size: float, title: str):
    """A figure with n small axes in rows of ncols (extra axes hidden); returns (fig, axes)."""
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(_("ncols must be a positive int; got {value}").format(value=repr(ncols)))
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(size * ncols + 0.6, size * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.axis("off")
    fig.suptitle(title)
    return fig, axes[:n]


def _annotate(ax, grid: np.ndarray) -> None:
    """Write each value into its cell (small grids only)."""
    for (i, j), v in np.ndenumerate(grid):
        text = f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="black", bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.6, "lw": 0})


def show_kernels(weights, title: str = "Kernels (filters)", ncols: int = 8) -> Figure:
    """Each 2-D kernel as a small image, blue negative, red positive, zero white.

    Args:
        weights: (KH, KW) one kernel, or (F, C, KH, KW) as ``nn.Conv2d.weight``: one panel
            per filter and input channel (titled ``f{i} c{j}``). Numbers are written into
            the cells of at most four kernels of at most 7x7 (hand-made filters; a layer's
            learned filters show as colours only).
        title: the figure's title.
        ncols: panels per row.

    Returns:
        A titled ``Figure``.

    Raises:
        ValueError: weights of another rank.
    """
    w = np.asarray(to_numpy(weights, "weights"), dtype=np.float64)
    if w.ndim == 2:
        w = w[None, None]
    if w.ndim != 4:
        raise ValueError(_("weights must have shape (KH, KW) or (F, C, KH, KW); got {shape}").format(shape=w.shape))
    f, c, kh, kw = w.shape
    fig, axes = _grid(f * c, ncols, 1.4 if max(kh, kw) > 7 else 1.7, title)
    vmax = float(np.abs(w).max()) or 1.0
    for k, ax in enumerate(axes):
        i, j = divmod(k, c)
        ax.imshow(w[i, j], cmap="bwr", vmin=-vmax, vmax=vmax)
        if max(kh, kw) <= 7 and f * c <= 4:
            _annotate(ax, w[i, j])
        ax.set_title(f"f{i} c{j}" if w.shape[:2] != (1, 1) else f"{kh}x{kw} kernel", fontsize=8)
        ax.set_xlabel("width (W)", fontsize=7)
        ax.set_ylabel("height (H)", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def show_feature_maps(maps, title: str = "Feature maps (特徵圖)", ncols: int = 8) -> Figure:
    """Feature maps (特徵圖) in grey, one panel each, with their size in the panel title.

    Args:
        maps: (H, W) one map, or (F, H, W) one per filter (e.g. ``conv(x)[0]``). Values are
            written into the cells when a map is at most 8x8.
        title: the figure's title.
        ncols: panels per row.

    Returns:
        A titled ``Figure``.

    Raises:
        ValueError: maps of another rank (pass one image of a batch: ``out[0]``).
    """
    m = np.asarray(to_numpy(maps, "maps"), dtype=np.float64)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(
            _("maps must have shape (H, W) or (F, H, W); got {shape} (for a batch pass out[0])").format(shape=m.shape)
        )
    n, h, w = m.shape
    fig, axes = _grid(n, ncols, 1.8 if max(h, w) > 8 else 2.0, title)
    for k, ax in enumerate(axes):
        ax.imshow(m[k], cmap="gray")
        if max(h, w) <= 8:
            _annotate(ax, m[k])
        ax.set_title(f"map {k}: {h}x{w}" if n > 1 else f"{h}x{w}", fontsize=8)
        ax.set_xlabel("width (W)", fontsize=7)
        ax.set_ylabel("height (H)", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
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
        raise ValueError(_("history is empty; expected a dict like {'loss': [2.3, 1.9, ...]}"))
    series = {}
    for name, values in history.items():
        arr = np.asarray(to_numpy(values, f"history[{name!r}]"), dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(_("{what} must be a non-empty 1-D sequence of numbers; got shape {shape}").format(
                what=f"history[{name!r}]", shape=arr.shape))
        series[str(name)] = arr
    fig = Figure(figsize=(4.5 * len(series), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(series)))
    for ax, (name, arr) in zip(axes, series.items(), strict=True):
        ax.plot(np.arange(1, arr.size + 1), arr, marker="." if arr.size <= 50 else None)
        ax.set_xlabel("step")
        ax.set_ylabel(name)
        ax.set_title(f"{name}: first {arr[0]:.3g}, last {arr[-1]:.3g}")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def _per_channel(arr: np.ndarray, name: str) -> np.ndarray:
    """(N, C, H, W) or (N, C) -> (C, values); 1-D -> (1, values)."""
    if arr.ndim == 1:
        return arr[None]
    if arr.ndim == 2:
        return arr.T
    if arr.ndim == 4:
        return np.moveaxis(arr, 1, 0).reshape(arr.shape[1], -1)
    raise ValueError(_("{name} must have shape (N, C, H, W), (N, C) or (values,); got {shape}").format(
        name=name, shape=arr.shape))


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
        raise ValueError(_("before has {before} channels, after has {after}; expected the same").format(
            before=b.shape[0], after=a.shape[0]))
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
    fig.suptitle(title)
    return fig


def show_confusion_matrix(cm, class_names=None, title: str = "Confusion matrix (混淆矩陣)",
                          normalize: bool = True) -> Figure:
    """A confusion matrix as a heat map: row = true class, column = predicted class.

    Args:
        cm: (K, K) counts, e.g. from ``cnnlib.train.confusion_matrix``.
        class_names: K names for the axes (default ``0 .. K-1``).
        normalize: colour and label each cell by its share of the row (the true class),
            so the diagonal is each class's accuracy; False shows the counts.

    Raises:
        ValueError: ``cm`` not square, negative, or a wrong number of class names.
    """
    arr = np.asarray(to_numpy(cm, "cm"), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(_("cm must be a square (K, K) matrix of counts; got shape {shape}").format(shape=arr.shape))
    if (arr < 0).any():
        raise ValueError(_("cm holds negative counts; expected counts >= 0"))
    k = arr.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(_("class_names has {n} names for a {k} x {k} matrix").format(n=len(names), k=k))
    rows = arr.sum(axis=1, keepdims=True)
    shown = np.divide(arr, rows, out=np.zeros_like(arr), where=rows > 0) if normalize else arr
    fig = Figure(figsize=(0.55 * k + 2.6, 0.5 * k + 1.8), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(shown.max(), 1))
    fig.colorbar(im, ax=ax, label="share of the true class" if normalize else "count")
    if k <= 20:
        for (i, j), v in np.ndenumerate(shown):
            text = f"{v:.2f}" if normalize else f"{int(v)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * (1 if normalize else shown.max()) else "black")
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = arr.sum()
    acc = np.trace(arr) / total if total else 0.0
    ax.set_title(f"{int(total):,} images, accuracy {acc:.1%}", fontsize=9)
    fig.suptitle(title)
    return fig
