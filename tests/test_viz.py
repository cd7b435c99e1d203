"""cnnlib.viz: every function returns a titled Figure that renders without warnings."""

import warnings

import numpy as np
import pytest
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
