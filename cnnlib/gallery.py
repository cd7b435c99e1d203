"""Galleries of images: many small pictures with captions, drawn as one picture (one axes).

A figure of 80 images with an axes each takes seconds to draw (matplotlib lays out and
renders every axes); one canvas with the images side by side and a caption above each takes
a tenth of that. ``cnnlib.viz`` re-exports these functions.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .checks import to_numpy
from .i18n import _

__all__ = ["show_images", "show_misclassified"]


def _hwc(img: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W, C) or (H, W) -> something ``imshow`` takes."""
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = np.transpose(img, (1, 2, 0))
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


def show_images(images, labels=None, class_names=None, title: str = "Images", ncols: int = 10) -> Figure:
    """A grid of images with their labels (one picture: quick to draw for a hundred images).

    Args:
        images: (N, H, W, C), (N, C, H, W) or (N, H, W); uint8 or float in [0, 1].
        labels: optional (N,) ints; shown as ``class_names[label]`` when names are given.
    """
    arr = to_numpy(images, "images")
    if arr.ndim not in (3, 4):
        raise ValueError(_("images must have shape (N, H, W), (N, H, W, C) or (N, C, H, W); got {shape}").format(
            shape=arr.shape))
    if labels is None:
        return _mosaic(arr, None, ncols, title)
    name = (lambda i: str(class_names[i])) if class_names is not None else str
    return _mosaic(arr, [name(int(v)) for v in np.asarray(labels).ravel()[: len(arr)]], ncols, title)


def _tile(img: np.ndarray) -> np.ndarray:
    """One image as float RGB in [0, 1], scaled as ``imshow`` scales it (grey: its own min to max)."""
    img = _hwc(np.asarray(img))
    if img.ndim == 2:
        g = img.astype(np.float64) - img.min()
        return np.repeat((g / g.max() if g.max() > 0 else g)[..., None], 3, axis=-1)
    return img / 255.0 if img.dtype == np.uint8 else np.clip(img.astype(np.float64), 0.0, 1.0)


def _mosaic(arr, captions, ncols: int, title: str, color: str = "black") -> Figure:
    """The images side by side in rows of ``ncols``, each with its caption above it, in ONE axes."""
    tiles = [_tile(a) for a in arr]
    n, (h, w) = len(tiles), tiles[0].shape[:2]
    ncols = max(1, min(ncols, n))
    nrows, gap = -(-n // ncols), max(2, w // 8)
    px_per_in = (w + gap) / 1.3  # each column 1.3 inches wide
    lines = max(c.count("\n") + 1 for c in captions) if captions else 0
    band = int(np.ceil(0.2 * lines * px_per_in))  # room for the caption above each image
    canvas = np.ones((nrows * (h + band + gap), ncols * (w + gap), 3))
    fig_h = canvas.shape[0] / px_per_in + 0.45
    fig = Figure(figsize=(canvas.shape[1] / px_per_in, fig_h))
    ax = fig.add_axes((0, 0, 1, 1 - 0.45 / fig_h))
    for k, tile in enumerate(tiles):
        y0, x0 = divmod(k, ncols)
        y0, x0 = y0 * (h + band + gap) + band, x0 * (w + gap) + gap // 2
        canvas[y0:y0 + h, x0:x0 + w] = tile
        if captions:
            ax.text(x0 + w / 2, y0 - 1, captions[k], ha="center", va="bottom", fontsize=8, color=color)
    ax.imshow(canvas, interpolation="nearest")
    ax.set_axis_off()
    fig.suptitle(title)
    return fig


def show_misclassified(images, y_true, y_pred, class_names=None, n: int = 20,
                       title: str = "Misclassified images", ncols: int = 10) -> Figure:
    """A gallery of the first ``n`` images whose prediction is wrong, titled "true -> predicted".

    Args:
        images: (N, H, W, C), (N, C, H, W) or (N, H, W); uint8 or float in [0, 1].
        y_true, y_pred: (N,) class indices; names from ``class_names`` when given.

    Raises:
        ValueError: lengths that do not match the images.
    """
    arr = to_numpy(images, "images")
    t = np.asarray(to_numpy(y_true, "y_true")).astype(np.int64).ravel()
    p = np.asarray(to_numpy(y_pred, "y_pred")).astype(np.int64).ravel()
    if arr.ndim not in (3, 4) or not len(arr) == len(t) == len(p):
        raise ValueError(_("expected images (N, ...) with N labels each in y_true and y_pred; got images {images}, "
                           "y_true {y_true}, y_pred {y_pred}").format(images=arr.shape, y_true=t.shape, y_pred=p.shape))
    wrong = np.flatnonzero(t != p)
    show = wrong[:n]
    name = (lambda i: str(class_names[i])) if class_names is not None else str
    head = f"{title}: {len(wrong):,} of {len(t):,} wrong"
    if len(show) == 0:
        fig = Figure(figsize=(5, 1.2), layout="constrained")
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        fig.suptitle(head)
        return fig
    more = f" (first {len(show)})" if len(wrong) > len(show) else ""
    return _mosaic(arr[show], [f"{name(t[i])}\n-> {name(p[i])}" for i in show], ncols, head + more,
                   color="darkred")
