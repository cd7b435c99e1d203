"""cnnlib.viz.show_kernels / show_feature_maps: titled figures with labelled axes, one panel per map."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnnlib import slides
from cnnlib.viz import show_feature_maps, show_kernels


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


def test_show_kernels_one_kernel_writes_its_values():
    fig = show_kernels(slides.conv_kernel(), title="The slide's filter")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "The slide's filter"
    (ax,) = visible_axes(fig)
    assert ax.get_xlabel() == "width (W)" and ax.get_ylabel() == "height (H)"
    assert [t.get_text() for t in ax.texts] == ["1", "0", "0", "0", "1", "0", "0", "0", "-1"]


def test_show_kernels_conv2d_weight_one_panel_per_filter_and_channel():
    w = torch.nn.Conv2d(3, 4, 5).weight  # (4, 3, 5, 5), requires grad
    fig = show_kernels(w, ncols=6)
    assert fig.get_suptitle() == "Kernels (filters)"
    axes = visible_axes(fig)
    assert len(axes) == 12 and axes[5].get_title() == "f1 c2"


def test_show_kernels_rejects_other_ranks():
    with pytest.raises(ValueError, match=r"\(KH, KW\) or \(F, C, KH, KW\)"):
        show_kernels(np.zeros((3, 3, 3)))


def test_show_feature_maps_default_title_and_sizes():
    maps = np.random.default_rng(0).normal(size=(5, 12, 10))
    fig = show_feature_maps(maps, ncols=3)
    assert fig.get_suptitle() == "Feature maps (特徵圖)"
    axes = visible_axes(fig)
    assert len(axes) == 5 and axes[4].get_title() == "map 4: 12x10"
    assert all(ax.get_xlabel() == "width (W)" for ax in axes)
    assert len(fig.axes) == 6  # 2 rows of 3, the last panel hidden


def test_show_feature_maps_small_map_shows_numbers():
    fig = show_feature_maps(np.array([[1, 1], [0, 1]]), title="stride 2")
    (ax,) = visible_axes(fig)
    assert fig.get_suptitle() == "stride 2" and ax.get_title() == "2x2"
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "1"]


def test_show_feature_maps_rejects_a_batch():
    with pytest.raises(ValueError, match="for a batch pass out\\[0\\]"):
        show_feature_maps(np.zeros((2, 3, 4, 4)))
