"""The slides' worked examples (lecture 2025-10-08), as fresh NumPy arrays.

Each function returns a new, writable array, so a notebook may change its copy
freely. Values are exactly those on the slides:

* ``conv_image()``: the 6x6 binary image of the convolution slides, (6, 6) int64.
* ``conv_kernel()``: the 3x3 filter ``[[1, 0, 0], [0, 1, 0], [0, 0, -1]]``, (3, 3) int64.
* ``conv_feature_map_as_printed()``: the 4x4 feature map *as the slide prints it*, with
  its typo at row 4, column 3 (1-based): it shows 1, the arithmetic gives 2.
* ``rgb_window()``: the RGB example's three 3x3 windows, (3, 3, 3) = (C, H, W); each
  channel times the slide's filter, summed over channels, gives 3.
* ``pool_input()``: the 4x4 pooling example, (4, 4) int64.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "conv_image",
    "conv_kernel",
    "conv_feature_map_as_printed",
    "rgb_window",
    "pool_input",
]


def conv_image() -> np.ndarray:
    """The slides' 6x6 input image, shape (6, 6), dtype int64."""
    return np.array(
        [
            [1, 1, 1, 1, 0, 0],
            [0, 1, 1, 0, 1, 0],
            [0, 0, 1, 1, 0, 0],
            [0, 0, 1, 1, 1, 0],
            [0, 0, 0, 1, 1, 0],
            [0, 0, 0, 0, 0, 0],
        ],
        dtype=np.int64,
    )


def conv_kernel() -> np.ndarray:
    """The slides' 3x3 filter, shape (3, 3), dtype int64."""
    return np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1]], dtype=np.int64)


def conv_feature_map_as_printed() -> np.ndarray:
    """The stride-1 feature map exactly as the slide prints it (typo at [3, 2] included)."""
    return np.array([[1, 1, 1, 2], [-1, 1, 1, 0], [0, 0, 1, 2], [0, 0, 1, 2]], dtype=np.int64)


def rgb_window() -> np.ndarray:
    """The RGB slide's three 3x3 windows (R, G, B), shape (3, 3, 3) = (C, H, W), int64."""
    return np.array(
        [
            [[1, 1, 1], [0, 1, 1], [0, 0, 1]],
            [[1, 0, 1], [0, 1, 1], [0, 0, 1]],
            [[1, 0, 0], [0, 1, 1], [1, 0, 1]],
        ],
        dtype=np.int64,
    )


def pool_input() -> np.ndarray:
    """The pooling slides' 4x4 input, shape (4, 4), dtype int64."""
    return np.array([[1, 3, 1, 2], [-1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 2]], dtype=np.int64)
