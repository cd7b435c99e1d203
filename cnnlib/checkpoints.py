"""Checkpoints of trained networks (HW2): weights, config, class names, accuracy.

* ``save_checkpoint()`` / ``load_checkpoint()``: a file that ``torch.load(weights_only=True)``
  reads safely; ``load_checkpoint`` also takes a bare ``state_dict``.
* ``CheckpointError``: a file that cannot be used, with what went wrong.

``cnnlib.train`` re-exports every name here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from cnnlib import data as cdata
from cnnlib import models
from cnnlib.i18n import _

if TYPE_CHECKING:  # only for the annotation: cnnlib.train imports this module
    from cnnlib.train import TrainConfig

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "cnnlib-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: unreadable, or not for this model."""


def save_checkpoint(path, model: nn.Module, *, config: TrainConfig | None = None,
                    classes=cdata.CIFAR10_CLASSES, accuracy: float | None = None,
                    mean=None, std=None, note: str = "") -> Path:
    """Save weights (on the CPU), the config, class names, accuracy and normalisation.

    Loadable with ``load_checkpoint`` (safely: ``torch.load(weights_only=True)``). For a
    model of your own class, ``load_checkpoint(path, model=YourNet())`` restores it.
    """
    name = next((k for k, cls in models.MODELS.items() if type(model) is cls), None)
    kwargs = dict(config.model_kwargs) if config is not None and config.model == name else {}
    if isinstance(model, models.FastNet):
        kwargs.setdefault("widths", model.widths)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_name": name,
        "model_class": type(model).__name__,
        "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        "config": _plain(config.to_dict()) if config is not None else None,
        "classes": list(classes),
        "accuracy": None if accuracy is None else float(accuracy),
        "mean": list(mean if mean is not None else (config.mean if config else cdata.CIFAR10_MEAN)),
        "std": list(std if std is not None else (config.std if config else cdata.CIFAR10_STD)),
        "note": note,
        "torch": str(torch.__version__),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # never leave half a checkpoint behind
    return path


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def load_checkpoint(path, model: nn.Module | None = None, map_location="cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode, info) from ``save_checkpoint``'s file (or a bare ``state_dict``).

    ``model``: an instance to load the weights into; needed for a class of your own, else
    the checkpoint's model is built by name. ``info`` holds config, classes, accuracy, mean
    and std. Raises ``FileNotFoundError`` or ``CheckpointError`` with what went wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(_("no checkpoint at {path}: train the model and save it first").format(path=path))
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(_("{path} is not a readable PyTorch checkpoint ({error})").format(
            path=path, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")) from None
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        info = {k: v for k, v in obj.items() if k != "state_dict"}
        state = obj["state_dict"]
    elif isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        info = {"model_name": None, "classes": list(cdata.CIFAR10_CLASSES), "accuracy": None,
                "mean": list(cdata.CIFAR10_MEAN), "std": list(cdata.CIFAR10_STD), "config": None}
        state = obj
    else:
        raise CheckpointError(_("{path} holds a {kind}, not a model checkpoint: save one with "
                                "cnnlib.train.save_checkpoint(path, model) or torch.save(model.state_dict(), path)"
                                ).format(path=path, kind=type(obj).__name__))
    if model is None:
        if not info.get("model_name"):
            raise CheckpointError(_("{path} holds the weights of a {kind} model: pass an instance, "
                                    "load_checkpoint(path, model=YourNet())").format(
                path=path, kind=info.get("model_class", "custom")))
        model = models.build(info["model_name"], **info.get("model_kwargs", {}))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise CheckpointError(_("the weights in {path} do not fit {kind}: {detail}").format(
            path=path, kind=type(model).__name__, detail=detail[:600])) from None
    model.eval()
    return model, info
