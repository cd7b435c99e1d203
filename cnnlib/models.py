"""Networks for CIFAR-10 (3 x 32 x 32 inputs, 10 classes).

* ``TutorialNet``: the network of PyTorch's "Training a Classifier" tutorial (two 5x5
  convolutions, three linear layers); about 55% after two epochs, a baseline.
* ``LeNet5``: LeCun et al. (1998), as on the slides, for 3 x 32 x 32 inputs.
* ``FastNet``: the HW2 reference, in the spirit of Keller Jordan's airbench (2024): a
  frozen 2x2 whitening convolution, three blocks of (conv, max-pool, BatchNorm, GELU,
  conv, BatchNorm, GELU) with identity-initialised convolutions, global max-pool, one
  linear layer; few, wide layers that run well in channels_last.

``build(name, **kwargs)`` makes any of them by name, as checkpoints store them.
"""

from __future__ import annotations

import torch
from torch import nn

from .i18n import _

__all__ = ["MODELS", "FastNet", "LeNet5", "ModeProbe", "TutorialNet", "build", "classify", "count_parameters"]


class TutorialNet(nn.Module):
    """PyTorch tutorial CNN: conv(3->6, 5) pool conv(6->16, 5) pool fc 400-120-84-10, ReLU."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))  # (N, 6, 14, 14)
        x = self.pool(torch.relu(self.conv2(x)))  # (N, 16, 5, 5)
        x = torch.flatten(x, 1)                   # (N, 400)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) for (N, in_channels, 32, 32): C1 6@28x28, S2 avg-pool,
    C3 16@10x10, S4 avg-pool, F5 120, F6 84, output 10; tanh as in the paper.

    With ``in_channels=1`` it has the slides' 61,706 parameters; with 3 (CIFAR) 62,006.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
            nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def _identity_init(conv: nn.Conv2d) -> None:
    """Default init, then the first in_channels filters pass their input through unchanged:
    an implicit residual connection that makes a plain stack train like a ResNet early on."""
    w = conv.weight.data
    nn.init.dirac_(w[: min(w.shape[0], w.shape[1])])


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, bn_momentum: float):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = nn.BatchNorm2d(c_out, eps=1e-12, momentum=bn_momentum)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(c_out, eps=1e-12, momentum=bn_momentum)
        self.act = nn.GELU()
        for conv in (self.conv1, self.conv2):
            _identity_init(conv)
        for norm in (self.norm1, self.norm2):
            norm.weight.requires_grad_(False)  # scale fixed at 1: only the shift is learned

    def forward(self, x):
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


class FastNet(nn.Module):
    """The HW2 reference network (airbench-style), for (N, 3, 32, 32) normalised images.

    Args:
        widths: output channels of the three blocks (airbench94 uses 64, 256, 256).
        whiten_width: channels of the 2x2 whitening convolution (2 x 3 x 2 x 2 = 24: each
            whitened patch direction and its negative).
        bn_momentum: PyTorch's BatchNorm momentum (weight of the newest batch).
        logit_scale: the logits are multiplied by this (small: calm, confident-late training).
    """

    def __init__(self, widths=(64, 256, 256), whiten_width: int = 24, bn_momentum: float = 0.4,
                 logit_scale: float = 1 / 9, num_classes: int = 10):
        super().__init__()
        if len(widths) != 3 or not all(isinstance(w, int) and w > 0 for w in widths):
            raise ValueError(_("widths must be three positive ints; got {value}").format(value=repr(widths)))
        self.widths = tuple(widths)
        self.whiten = nn.Conv2d(3, whiten_width, 2, bias=True)
        self.whiten.weight.requires_grad_(False)
        nn.init.zeros_(self.whiten.bias)
        self.blocks = nn.Sequential(
            _Block(whiten_width, widths[0], bn_momentum),
            _Block(widths[0], widths[1], bn_momentum),
            _Block(widths[1], widths[2], bn_momentum),
        )
        self.head = nn.Linear(widths[2], num_classes, bias=False)
        self.logit_scale = logit_scale
        self.act = nn.GELU()

    def forward(self, x):
        x = self.blocks(self.act(self.whiten(x)))   # (N, w3, 3, 3) from 31 -> 15 -> 7 -> 3
        x = torch.amax(x, dim=(2, 3))              # global max-pool
        return self.head(x) * self.logit_scale

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor, eps: float = 5e-4) -> None:
        """Set the frozen first layer to whiten 2x2 patches of ``images`` (N, 3, H, W), normalised:
        the eigenvectors of the patch covariance, scaled by 1/sqrt(eigenvalue), and their negatives."""
        c, (kh, kw) = images.shape[1], self.whiten.kernel_size
        patches = images.float().unfold(2, kh, 1).unfold(3, kw, 1)       # (N, C, H', W', kh, kw)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * kh * kw)
        cov = patches.T @ patches / len(patches)
        eigval, eigvec = torch.linalg.eigh(cov)                           # ascending
        eigval, eigvec = eigval.flip(0), eigvec.T.flip(0)                 # largest first, rows
        filters = (eigvec / torch.sqrt(eigval + eps)[:, None]).reshape(-1, c, kh, kw)
        w = self.whiten.weight
        w.copy_(torch.cat([filters, -filters])[: w.shape[0]].to(w.dtype))


MODELS = {"tutorial": TutorialNet, "lenet5": LeNet5, "fast": FastNet}


def build(name: str, **kwargs) -> nn.Module:
    """A model by name: ``"tutorial"``, ``"lenet5"`` or ``"fast"`` (keyword arguments go to it)."""
    if name not in MODELS:
        raise ValueError(_("unknown model {name}; expected one of {names}").format(name=repr(name), names=sorted(MODELS)))
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class ModeProbe(nn.Module):
    """A layer that passes its input through and counts how it was called (for tests).

    ``calls`` (a buffer, so it is part of the state dict) holds three counts: forward passes,
    passes in training mode, passes with gradients enabled. Put it first in a model to see
    whether your ``predict`` switched to eval mode and turned gradients off.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(3, dtype=torch.long))

    def forward(self, x):
        with torch.no_grad():
            self.calls += torch.tensor([1, int(self.training), int(torch.is_grad_enabled())])
        return x


def classify(model: nn.Module, images, normalize, predict) -> torch.Tensor:
    """``predict(model, normalize(images))``: classes (N,) for uint8 images (N, 3, H, W), with your own functions."""
    return predict(model, normalize(images))
