"""Batches for a training loop that students write themselves (HW2), as PyTorch's tutorial has them.

``Batches(data, batch_size, shuffle=...)`` yields ``(xb, yb)`` pairs **on the CPU**: ``xb`` uint8
images ``(B, 3, H, W)`` (channels first), ``yb`` int64 labels ``(B,)``. Moving them to the device
is the loop's job (``xb.to(device, non_blocking=True)``), as with ``torch.utils.data.DataLoader``.
Unlike a ``DataLoader`` over a ``TensorDataset``, a batch is one slice of a tensor (no per-image
indexing and collating), and when a CUDA GPU is present the batches are in pinned memory, so that
``non_blocking=True`` copies while the GPU computes.

``probe=True`` marks every batch as still on the host (:class:`cnnlib.probes.OnHost`): the course's
tests then see whether the loop moved images and labels to the device, even on a CPU-only machine.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .i18n import _

__all__ = ["Batches"]


class Batches:
    """Iterable of ``(images, labels)`` batches on the CPU; a new order every epoch with ``shuffle``.

    Args:
        data: an ``ImageSet`` (uint8 ``(N, H, W, 3)``) or a pair ``(x, y)`` of tensors or arrays,
            ``x`` ``(N, C, H, W)``.
        batch_size: images per batch.
        shuffle: a new random order every pass, and the last partial batch dropped (training);
            False: in order, every image (validation).
        pin_memory: pinned batches for fast ``non_blocking`` copies (default: when CUDA is available).
        seed: seed of the shuffling (default: torch's global generator).
        probe, delay_s: for the course's tests: batches marked as host tensors, a pause before each.
    """

    def __init__(self, data, batch_size: int = 128, *, shuffle: bool = False, pin_memory: bool | None = None,
                 seed: int | None = None, probe: bool = False, delay_s: float = 0.0):
        x, y = _tensors(data)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(_("batch_size must be an int >= 1; got {value}").format(value=repr(batch_size)))
        if shuffle and batch_size > len(y):
            raise ValueError(_("batch_size {batch_size} is larger than the {n} images to shuffle").format(
                batch_size=batch_size, n=len(y)))
        self.images, self.labels = x, y
        self.batch_size, self.shuffle = batch_size, shuffle
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)
        self.probe, self.delay_s = probe, float(delay_s)

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.shuffle else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for i in range(len(self)):
            if self.delay_s:
                time.sleep(self.delay_s)
            if order is None:
                xb = self.images[i * self.batch_size:(i + 1) * self.batch_size]
                yb = self.labels[i * self.batch_size:(i + 1) * self.batch_size]
            else:
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                xb, yb = self.images[idx], self.labels[idx]
            if self.pin_memory:
                xb, yb = xb.pin_memory(), yb.pin_memory()
            if self.probe:
                from .probes import OnHost

                xb, yb = xb.as_subclass(OnHost), yb.as_subclass(OnHost)
            yield xb, yb

    def __repr__(self) -> str:
        return (f"Batches({len(self.labels):,} images, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"pin_memory={self.pin_memory})")


def _tensors(data) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (N, C, H, W), y (N,) int64) CPU tensors from an ImageSet or an (x, y) pair."""
    if hasattr(data, "x") and hasattr(data, "y") and hasattr(data, "classes"):  # an ImageSet
        x = torch.from_numpy(np.ascontiguousarray(data.x)).permute(0, 3, 1, 2).contiguous()
        y = torch.from_numpy(np.asarray(data.y)).long()
        return x, y
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(_("Batches needs an ImageSet or a pair (x, y): images (N, C, H, W) and labels (N,); "
                           "got {kind}").format(kind=type(data).__name__))
    x, y = (torch.as_tensor(v) for v in data)
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(_("Batches needs images (N, C, H, W) and labels (N,) of the same N; got {x_shape} and "
                           "{y_shape}").format(x_shape=tuple(x.shape), y_shape=tuple(y.shape)))
    return x.cpu(), y.cpu().long()
