"""Sample images that ship with the course: no download needed for the lecture notebooks.

* ``sample_rgb_image()``: a 128x128 RGB picture drawn in code, (H, W, 3) uint8, as an
  image file would load.
* ``sample_digit()``: a handwritten-style digit, (28, 28) uint8, the size of MNIST.
* ``cifar10_samples()``: 30 real CIFAR-10 training images (3 per class) that ship
  with cnnlib (Krizhevsky, 2009), as (N, 32, 32, 3) uint8 and labels.
* ``CIFAR10_CLASSES``: the ten class names in label order.
* ``synthetic_lines()``: a generated, learnable set of noisy line images in four
  orientations (``LINE_CLASSES``), for training a small CNN in seconds without a download.

Notebooks import these from ``cnnlib.data``, which re-exports every name here.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from .i18n import _

__all__ = [
    "CIFAR10_CLASSES",
    "LINE_CLASSES",
    "cifar10_samples",
    "sample_digit",
    "sample_rgb_image",
    "synthetic_lines",
]

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# Labels of synthetic_lines(), in order: the orientation of the line in the image.
LINE_CLASSES = ("horizontal", "vertical", "diagonal \\", "diagonal /")


def sample_rgb_image(size: int = 128) -> np.ndarray:
    """A small landscape (sky, sun, hill, red house), shape (size, size, 3), dtype uint8.

    Channels last (H, W, C), like a picture read by matplotlib or PIL. Deterministic.
    """
    if not isinstance(size, int) or size < 16:
        raise ValueError(_("size must be an int >= 16; got {value}").format(value=repr(size)))
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)  # (H, W) in [0, 1]
    img = np.zeros((size, size, 3))
    # sky: light blue at the top fading to white at the horizon
    img[..., 0] = 0.45 + 0.5 * yy
    img[..., 1] = 0.65 + 0.3 * yy
    img[..., 2] = 0.95
    # sun: a yellow disc, top right
    sun = (xx - 0.78) ** 2 + (yy - 0.2) ** 2 < 0.11**2
    img[sun] = (1.0, 0.85, 0.1)
    # hill: green, darker towards the bottom
    hill = yy > 0.62 + 0.12 * np.cos(3.0 * xx)
    img[hill] = np.stack([0.15 + 0 * yy, 0.55 - 0.25 * yy, 0.15 + 0 * yy], -1)[hill]
    # house: a red wall with a dark door, on the hill
    wall = (xx > 0.18) & (xx < 0.42) & (yy > 0.45) & (yy < 0.68)
    img[wall] = (0.8, 0.1, 0.1)
    door = (xx > 0.27) & (xx < 0.33) & (yy > 0.56) & (yy < 0.68)
    img[door] = (0.25, 0.12, 0.05)
    roof = (yy > 0.3) & (yy <= 0.45) & (np.abs(xx - 0.3) < (yy - 0.3) * 1.0)
    img[roof] = (0.35, 0.2, 0.1)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def sample_digit() -> np.ndarray:
    """A handwritten-style "7", shape (28, 28), dtype uint8, white on black like MNIST."""
    yy, xx = np.mgrid[0:28, 0:28].astype(float)

    def stroke(y0, x0, y1, x1, width=1.6):
        # distance from every pixel to the segment (y0, x0)-(y1, x1)
        d = np.array([y1 - y0, x1 - x0])
        t = ((yy - y0) * d[0] + (xx - x0) * d[1]) / (d @ d)
        t = np.clip(t, 0, 1)
        dist = np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1]))
        return np.clip(width + 0.5 - dist, 0, 1)

    ink = np.maximum(stroke(6, 7, 6, 21), stroke(6, 21, 23, 12))
    ink = np.maximum(ink, stroke(14, 12, 14, 20, width=1.2))
    return np.round(ink * 255).astype(np.uint8)


def cifar10_samples() -> tuple[np.ndarray, np.ndarray]:
    """30 CIFAR-10 training images that ship with cnnlib, 3 per class.

    Returns:
        x: (30, 32, 32, 3) uint8, channels last; y: (30,) int64 labels 0-9
        (names in ``CIFAR10_CLASSES``). Krizhevsky, "Learning Multiple Layers of
        Features from Tiny Images", 2009.
    """
    with resources.files("cnnlib").joinpath("assets/cifar10_samples.npz").open("rb") as fh:
        data = np.load(fh)
        return data["x"].copy(), data["y"].copy()


def synthetic_lines(n: int = 2048, size: int = 32, seed: int = 0, noise: float = 0.15):
    """A generated data set (not real photos): one noisy line per image, four orientations.

    Each image holds one bright line (length, position and thickness random) that is
    horizontal, vertical, diagonal ``\\`` or diagonal ``/`` (labels 0-3, names in
    ``LINE_CLASSES``), on Gaussian noise. A small CNN learns it in a few seconds on a
    CPU, and its first-layer filters come out as oriented edge detectors.

    Args:
        n: number of images (>= 1); the classes are balanced (label ``i % 4``, shuffled).
        size: height and width in pixels (>= 12).
        seed: the same seed gives the same images.
        noise: standard deviation of the background noise (>= 0).

    Returns:
        x: (n, 1, size, size) float32 in [0, 1], channels first; y: (n,) int64.

    Raises:
        ValueError: an argument out of range.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(_("n must be an int >= 1; got {value}").format(value=repr(n)))
    if not isinstance(size, int) or size < 12:
        raise ValueError(_("size must be an int >= 12; got {value}").format(value=repr(size)))
    if not noise >= 0:
        raise ValueError(_("noise must be a number >= 0; got {value}").format(value=repr(noise)))
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(LINE_CLASSES))
    direction = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [-1.0, 1.0]])[y]  # (dy, dx)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    half = rng.uniform(0.2, 0.35, n) * size  # half the line length
    margin = half[:, None] * np.abs(direction) + 1  # keep the line inside the image
    centre = rng.uniform(margin, size - 1 - margin)  # (n, 2): (row, column)
    width = rng.uniform(0.8, 1.6, n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    # distance from every pixel to the segment centre +- half * direction
    py = yy[None] - centre[:, 0, None, None]
    px = xx[None] - centre[:, 1, None, None]
    t = np.clip(py * direction[:, 0, None, None] + px * direction[:, 1, None, None],
                -half[:, None, None], half[:, None, None])
    dist = np.hypot(py - t * direction[:, 0, None, None], px - t * direction[:, 1, None, None])
    ink = np.clip(width[:, None, None] + 0.5 - dist, 0, 1)
    x = np.clip(ink + rng.normal(0, noise, ink.shape), 0, 1)
    return x[:, None].astype(np.float32), y.astype(np.int64)
