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
    (ax,) = fig.axes  # one picture, a caption above each image
    assert [t.get_text() for t in ax.texts] == [CIFAR10_CLASSES[i] for i in y[:4]]
    canvas = ax.images[0].get_array()
    assert canvas.shape[1] == 2 * (32 + 4) and (np.asarray(canvas[-36:-4, 38:70]) == x[3] / 255).all()  # gaps of 4 px
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


def test_show_confusion_matrix_labels_rows_true_and_columns_predicted():
    from cnnlib.train import confusion_matrix

    cm = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), num_classes=3)
    fig = viz.show_confusion_matrix(cm, ["cat", "dog", "frog"], title="cm")
    assert fig.get_suptitle() == "cm"
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "frog"]
    assert ax.get_title() == "6 images, accuracy 66.7%"
    cells = {t.get_text() for t in ax.texts}
    assert {"0.50", "1.00", "0.67", "0.33"} <= cells  # row shares: the diagonal is per-class accuracy
    counts = viz.show_confusion_matrix(cm, normalize=False)
    assert "2" in {t.get_text() for t in counts.axes[0].texts}
    render(fig)
    render(counts)


def test_show_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match=r"square \(K, K\)"):
        viz.show_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3 names for a 2 x 2"):
        viz.show_confusion_matrix(np.eye(2), ["a", "b", "c"])


def test_show_misclassified_shows_only_wrong_predictions_true_then_predicted():
    x, y = cifar10_samples()
    pred = y.copy()
    pred[[1, 4, 7]] = (y[[1, 4, 7]] + 1) % 10
    fig = viz.show_misclassified(x, y, torch.from_numpy(pred), CIFAR10_CLASSES, n=2)
    assert fig.get_suptitle() == "Misclassified images: 3 of 30 wrong (first 2)"
    titles = [t.get_text() for t in fig.axes[0].texts]
    assert titles == [f"{CIFAR10_CLASSES[y[i]]}\n-> {CIFAR10_CLASSES[pred[i]]}" for i in (1, 4)]
    render(fig)
    none = viz.show_misclassified(x, y, y)
    assert none.get_suptitle() == "Misclassified images: 0 of 30 wrong"
    render(none)
    with pytest.raises(ValueError, match="N labels"):
        viz.show_misclassified(x, y[:3], y)
