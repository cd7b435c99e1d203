"""cnnlib.viz: every function returns a titled Figure that renders without warnings."""

import warnings

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnnlib import viz
from cnnlib.data import CIFAR10_CLASSES, cifar10_samples, sample_rgb_image


def render(fig: Figure) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph missing" warning would reach stderr in a notebook
        return viz.figure_png(fig)


def test_show_channels_accepts_hwc_and_chw_and_is_titled():
    img = sample_rgb_image()
    for arr in (img, np.transpose(img, (2, 0, 1))):
        fig = viz.show_channels(arr, title="channels")
        assert isinstance(fig, Figure) and fig.get_suptitle() == "channels"
        titles = [ax.get_title() for ax in fig.axes]
        assert titles[0] == "RGB, shape " + str(tuple(arr.shape))
        assert [t.split(" (")[0] for t in titles[1:]] == ["Red channel", "Green channel", "Blue channel"]
        assert all(ax.get_xlabel() == "width (W)" for ax in fig.axes)
        assert render(fig).startswith(b"\x89PNG")


def test_show_images_labels_each_image_with_its_class():
    x, y = cifar10_samples()
    fig = viz.show_images(x[:4], y[:4], CIFAR10_CLASSES, title="four", ncols=2)
    assert fig.get_suptitle() == "four"
    assert [ax.get_title() for ax in fig.axes[:4]] == [CIFAR10_CLASSES[i] for i in y[:4]]
    render(fig)


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\(3, H, W\) or \(H, W, 3\)"):
        viz.show_channels(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        viz.show_images(np.zeros(5))


def test_chinese_labels_are_dropped_without_a_cjk_font(monkeypatch):
    monkeypatch.setattr(viz, "cjk_font", lambda: None)
    fig = viz.show_channels(sample_rgb_image())
    fig.axes[0].set_title("Feature maps (特徵圖)")
    render(fig)
    assert fig.axes[0].get_title() == "Feature maps"
    assert fig.axes[1].get_title() == "Red channel (0)"


def test_chinese_labels_use_a_cjk_font_when_one_is_installed(monkeypatch):
    monkeypatch.setattr(viz, "cjk_font", lambda: "DejaVu Sans")  # stands in for an installed CJK font
    fig = viz.show_channels(sample_rgb_image())
    viz.fit_text_to_fonts(fig)
    assert fig.axes[1].get_title() == "Red channel (通道 0)"
    assert fig.axes[1].title.get_fontfamily()[0] == "DejaVu Sans"


def test_figures_display_only_inside_ipython():
    assert viz.register_ipython_display() is False  # plain pytest: no IPython shell


def test_show_curves_one_panel_per_metric():
    fig = viz.show_curves({"loss": [2.0, 1.0, 0.5], "accuracy": [0.2, 0.6, 0.9]}, title="Training")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "Training"
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [2.0, 1.0, 0.5])
    assert "last 0.5" in axes[0].get_title()


def test_show_curves_takes_a_plain_list_and_tensors():
    fig = viz.show_curves(torch.tensor([3.0, 2.0]))
    assert fig.get_suptitle() == "Training curves"
    assert fig.get_axes()[0].get_ylabel() == "loss"


@pytest.mark.parametrize("bad", [{}, {"loss": []}, {"loss": [[1.0, 2.0]]}])
def test_show_curves_rejects_empty_or_2d_history(bad):
    with pytest.raises(ValueError, match="history"):
        viz.show_curves(bad)


def test_show_histograms_per_channel_before_and_after():
    x = torch.randn(8, 3, 4, 4) * torch.tensor([1.0, 5.0, 0.2]).reshape(1, 3, 1, 1)
    y = torch.nn.BatchNorm2d(3)(x).detach()
    fig = viz.show_histograms(x, y, title="BN")
    assert fig.get_suptitle() == "BN"
    before, after = fig.get_axes()
    assert (before.get_title(), after.get_title()) == ("before", "after")
    labels = [t.get_text() for t in after.get_legend().get_texts()]
    assert len(labels) == 3 and all("mean 0.00, std 1.00" in t or "mean -0.00, std 1.00" in t for t in labels)


def test_show_histograms_rejects_channel_mismatch_and_bad_rank():
    with pytest.raises(ValueError, match="before has 3 channels, after has 2"):
        viz.show_histograms(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), \(N, C\) or \(values,\)"):
        viz.show_histograms(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
