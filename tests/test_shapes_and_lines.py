"""cnnlib.shapes.layer_shapes names shape mistakes; cnnlib.data.synthetic_lines is a learnable set."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnlib.data import LINE_CLASSES, synthetic_lines
from cnnlib.shapes import layer_shapes


def lenet(flat=16 * 5 * 5):
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, 10))


def test_layer_shapes_of_lenet5():
    net = lenet().train()
    trace = layer_shapes(net, (2, 1, 32, 32))
    assert trace[0] == ("input", (2, 1, 32, 32))
    assert [s for n, s in trace if not n.endswith("ReLU")][1:] == [
        (2, 6, 28, 28), (2, 6, 14, 14), (2, 16, 10, 10), (2, 16, 5, 5), (2, 400), (2, 120), (2, 84), (2, 10)]
    assert trace[1][0] == "0 Conv2d"
    assert net.training  # the mode it was in


def test_layer_shapes_names_a_wrong_flatten_size():
    with pytest.raises(ValueError, match=r"layer 7 \(Linear\) expects 256 input features but the layer before "
                                         r"gives 400 .*wrong flatten size.*16 x 5 x 5 = 400"):
        layer_shapes(lenet(flat=256), (1, 1, 32, 32))


def test_layer_shapes_names_a_missing_flatten_and_wrong_channels():
    with pytest.raises(ValueError, match=r"gets a 4-D input .* add nn.Flatten\(\)"):
        layer_shapes(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 2)), (1, 1, 6, 6))
    with pytest.raises(ValueError, match="expects 3 input channels .* gives 1"):
        layer_shapes(nn.Sequential(nn.Conv2d(3, 2, 3)), (1, 1, 6, 6))
    with pytest.raises(ValueError, match="cannot take an input of shape"):
        layer_shapes(nn.Sequential(nn.Conv2d(1, 2, 7)), (1, 1, 4, 4))
    with pytest.raises(ValueError, match="input_shape must be"):
        layer_shapes(lenet(), (1, 0, 32, 32))
    with pytest.raises(ValueError, match="model has no layers"):
        layer_shapes(nn.ReLU(), (1, 3))


def test_synthetic_lines_shapes_balance_and_seed():
    x, y = synthetic_lines(64, size=16, seed=3)
    assert x.shape == (64, 1, 16, 16) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0 <= x.min() and x.max() <= 1
    assert np.bincount(y).tolist() == [16] * len(LINE_CLASSES)
    x2, y2 = synthetic_lines(64, size=16, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(synthetic_lines(64, size=16, seed=4)[0], x)


def test_synthetic_lines_orientation_matches_the_label():
    x, y = synthetic_lines(40, noise=0.0, seed=0)
    for img, label in zip(x[:, 0], y, strict=True):
        rows, cols = np.nonzero(img > 0.5)
        spread_r, spread_c = np.ptp(rows), np.ptp(cols)
        if LINE_CLASSES[label] == "horizontal":
            assert spread_c > 3 * max(spread_r, 1)
        elif LINE_CLASSES[label] == "vertical":
            assert spread_r > 3 * max(spread_c, 1)
        else:
            corr = np.corrcoef(rows, cols)[0, 1]
            assert corr > 0.9 if label == 2 else corr < -0.9


def test_synthetic_lines_is_learnable_by_a_tiny_cnn_in_a_few_steps():
    torch.manual_seed(0)
    x, y = (torch.from_numpy(a) for a in synthetic_lines(512, size=16, seed=0))
    xt, yt = (torch.from_numpy(a) for a in synthetic_lines(256, size=16, seed=1))
    net = nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4, 4))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        assert (net(xt).argmax(1) == yt).float().mean() > 0.9


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"size": 8}, {"noise": -1.0}])
def test_synthetic_lines_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        synthetic_lines(**kwargs)
