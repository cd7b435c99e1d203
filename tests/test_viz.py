"""cnnlib.viz: every function returns a titled Figure and rejects shapes it cannot draw."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnnlib import viz


def _title(fig: Figure) -> str:
    return fig._suptitle.get_text() if fig._suptitle is not None else ""


def test_show_curves_one_panel_per_metric():
    fig = viz.show_curves({"loss": [2.0, 1.0, 0.5], "accuracy": [0.2, 0.6, 0.9]}, title="Training")
    assert isinstance(fig, Figure) and _title(fig) == "Training"
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [2.0, 1.0, 0.5])
    assert "last 0.5" in axes[0].get_title()


def test_show_curves_takes_a_plain_list_and_tensors():
    fig = viz.show_curves(torch.tensor([3.0, 2.0]))
    assert _title(fig) == "Training curves"
    assert fig.get_axes()[0].get_ylabel() == "loss"


@pytest.mark.parametrize("bad", [{}, {"loss": []}, {"loss": [[1.0, 2.0]]}])
def test_show_curves_rejects_empty_or_2d_history(bad):
    with pytest.raises(ValueError, match="history"):
        viz.show_curves(bad)


def test_show_histograms_per_channel_before_and_after():
    x = torch.randn(8, 3, 4, 4) * torch.tensor([1.0, 5.0, 0.2]).reshape(1, 3, 1, 1)
    y = torch.nn.BatchNorm2d(3)(x).detach()
    fig = viz.show_histograms(x, y, title="BN")
    assert _title(fig) == "BN"
    before, after = fig.get_axes()
    assert (before.get_title(), after.get_title()) == ("before", "after")
    labels = [t.get_text() for t in after.get_legend().get_texts()]
    assert len(labels) == 3 and all("mean 0.00, std 1.00" in t or "mean -0.00, std 1.00" in t for t in labels)


def test_show_histograms_rejects_channel_mismatch_and_bad_rank():
    with pytest.raises(ValueError, match="before has 3 channels, after has 2"):
        viz.show_histograms(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), \(N, C\) or \(values,\)"):
        viz.show_histograms(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


def test_show_kernels_one_panel_per_filter():
    fig = viz.show_kernels(torch.randn(5, 1, 3, 3), title="Filters", ncols=4)
    assert _title(fig) == "Filters"
    titled = [ax.get_title() for ax in fig.get_axes() if ax.get_title()]
    assert titled == [f"filter {k}" for k in range(5)]
    assert viz.show_kernels(np.ones((3, 3))).get_axes()[0].get_title() == "filter 0"
    rgb = viz.show_kernels(torch.randn(2, 3, 5, 5))
    assert rgb.get_axes()[0].images[0].get_array().shape == (5, 5, 3)
    with pytest.raises(ValueError, match=r"\(F, C, KH, KW\) or \(KH, KW\)"):
        viz.show_kernels(np.zeros((2, 3, 3)))


def test_show_feature_maps_one_panel_per_channel():
    fig = viz.show_feature_maps(torch.rand(3, 8, 8))
    assert _title(fig).startswith("Feature maps")
    assert [ax.get_title() for ax in fig.get_axes()] == ["channel 0", "channel 1", "channel 2"]
    assert len(viz.show_feature_maps(np.zeros((4, 4))).get_axes()) == 1
    with pytest.raises(ValueError, match=r"\(F, H, W\) or \(H, W\)"):
        viz.show_feature_maps(np.zeros((1, 2, 4, 4)))


def test_chinese_terms_are_dropped_cleanly_without_a_cjk_font(monkeypatch):
    monkeypatch.setattr(viz, "_cjk_font", lambda: None)
    assert viz._text("Feature maps (特徵圖)") == ("Feature maps", {})
    assert viz._text("Filters (kernels, 卷積核)")[0] == "Filters (kernels)"
    assert viz._text("Red channel (通道 0)")[0] == "Red channel (0)"
    monkeypatch.setattr(viz, "_cjk_font", lambda: "Noto Sans CJK TC")
    assert viz._text("Feature maps (特徵圖)") == ("Feature maps (特徵圖)", {"fontfamily": ["DejaVu Sans", "Noto Sans CJK TC"]})
