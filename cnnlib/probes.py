"""Layers and tensors that watch a training loop, for the course's tests (HW2).

A loop that a student writes is checked for what a CPU can show:

* :class:`OnHost`: a tensor that is still where the data loader put it. ``Batches(...,
  probe=True)`` yields its batches as ``OnHost``; every result computed from one stays
  ``OnHost``, and only a move to a device (``.to(device)``, ``.to(device, non_blocking=True)``,
  ``.to(device=...)``, ``.to(device, dtype)``, ``.to(other_tensor)``, ``.cuda()``)
  gives a plain tensor. So even where the device is the CPU, a probe can tell whether the loop
  moved a batch before using it.
* :class:`StepProbe`: put first in a model; counts forward passes with gradients (training
  steps) and without (evaluation), in which mode, and how many inputs were never moved.
* :class:`LossProbe`: a cross-entropy loss that counts the labels that reached it unmoved.

Counts live in buffers, so they travel with the model's ``state_dict``.
"""

from __future__ import annotations

import torch
from torch import nn

from .i18n import _

__all__ = ["LossProbe", "OnHost", "StepProbe", "unmoved", "with_devices"]

_MOVES = {torch.Tensor.to, torch.Tensor.cuda}


def _names_a_device(func, args, kwargs) -> bool:
    if kwargs.get("device") is not None:
        return True
    if func is torch.Tensor.cuda:
        return True
    if func is torch.Tensor.to:
        return any(isinstance(a, (torch.device, str, int, torch.Tensor)) and not isinstance(a, bool)
                   for a in args[1:])
    return False


class OnHost(torch.Tensor):
    """A batch that has not been moved to a device yet (see the module's text)."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = super().__torch_function__(func, types, args, kwargs)
        if func in _MOVES and _names_a_device(func, args, kwargs) and isinstance(out, torch.Tensor):
            return out.as_subclass(torch.Tensor)
        return out


def unmoved(t) -> bool:
    """True for an :class:`OnHost` tensor: one the loop never moved to its device."""
    return isinstance(t, OnHost)


class StepProbe(nn.Module):
    """Passes its input through; ``calls`` counts (a buffer of five):

    0. forward passes with gradients enabled (training steps),
    1. of those, passes in training mode,
    2. forward passes without gradients (evaluation),
    3. of those, passes in eval mode,
    4. passes whose input was never moved to the device (an ``OnHost`` batch).
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(5, dtype=torch.long))

    def forward(self, x):
        grad = torch.is_grad_enabled()
        counts = [int(grad), int(grad and self.training), int(not grad), int(not grad and not self.training),
                  int(unmoved(x))]
        with torch.no_grad():
            self.calls += torch.tensor(counts, device=self.calls.device)
        return x.as_subclass(torch.Tensor) if unmoved(x) else x

    def report(self) -> dict:
        keys = ("training passes", "in training mode", "evaluation passes", "in eval mode", "unmoved inputs")
        return dict(zip(keys, self.calls.tolist(), strict=True))


class LossProbe(nn.CrossEntropyLoss):
    """``nn.CrossEntropyLoss`` that counts its calls and the labels that reached it unmoved (``calls``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer("calls", torch.zeros(2, dtype=torch.long))

    def forward(self, input, target):
        with torch.no_grad():
            self.calls += torch.tensor([1, int(unmoved(target))], device=self.calls.device)
        plain = [t.as_subclass(torch.Tensor) if unmoved(t) else t for t in (input, target)]
        return super().forward(*plain)


def with_devices(fn, *, cuda: bool, mps: bool):
    """``fn()`` while torch reports an NVIDIA GPU (``cuda``) and an Apple GPU (``mps``), or not.

    The course's tests of a device choice, on a machine with neither: ``torch.cuda.is_available``,
    ``device_count`` and ``get_device_name``, ``torch.backends.mps.is_available`` and ``is_built``
    answer as asked while ``fn`` runs (``torch.device("cuda")`` itself needs no GPU).
    """
    import contextlib
    from unittest import mock

    answers = {(torch.cuda, "is_available"): cuda, (torch.cuda, "device_count"): int(cuda),
               (torch.cuda, "get_device_name"): _("a GPU the test pretends to have"),
               (torch.backends.mps, "is_available"): mps, (torch.backends.mps, "is_built"): mps}
    if hasattr(torch, "mps") and hasattr(torch.mps, "device_count"):
        answers[(torch.mps, "device_count")] = int(mps)
    with contextlib.ExitStack() as stack:
        for (owner, name), value in answers.items():
            stack.enter_context(mock.patch.object(owner, name, return_value=value))
        return fn()
