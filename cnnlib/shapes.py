"""Shapes through a network: what each layer of an ``nn.Sequential`` makes of an input.

``layer_shapes(model, input_shape)`` runs a zero input through the layers one by one and
returns the shape after each; when a layer cannot take what the layer before gives, it
raises a ``ValueError`` that names the layer and the likely mistake (a wrong flatten size,
a missing ``nn.Flatten``, a wrong number of input channels).
"""

from __future__ import annotations

import torch
from torch import nn

from .i18n import _

__all__ = ["layer_shapes"]


def _describe(name: str, layer: nn.Module) -> str:
    return _("layer {name} ({kind})").format(name=name, kind=type(layer).__name__)


def layer_shapes(model: nn.Module, input_shape) -> list[tuple[str, tuple[int, ...]]]:
    """The output shape of every layer of ``model`` for an input of ``input_shape``.

    Args:
        model: an ``nn.Sequential`` (or any module whose children run in order).
        input_shape: the input's shape, e.g. (1, 1, 32, 32) for one 32x32 grayscale image.

    Returns:
        ``[("input", input_shape), (name, shape after that layer), ...]`` where ``name`` is
        the child's name in the model ("0", "1", ... or the names given) and its class,
        e.g. ``("0 Conv2d", (1, 6, 28, 28))``. The model is run in eval mode without
        gradients and put back in the mode it was in.

    Raises:
        ValueError: a bad ``input_shape``, a model without layers, or a layer that cannot
            take the shape the layer before gives (the message names the layer and why).
    """
    try:
        shape = tuple(int(d) for d in input_shape)
    except TypeError:
        raise ValueError(_("input_shape must be a tuple of ints such as (1, 1, 32, 32); got {value}").format(
            value=repr(input_shape))) from None
    if not shape or any(d < 1 for d in shape):
        raise ValueError(_("input_shape must be a tuple of positive ints; got {value}").format(value=repr(input_shape)))
    layers = list(model.named_children())
    if not layers:
        raise ValueError(_("model has no layers (children); got {kind}").format(kind=type(model).__name__))
    was_training = model.training
    model.eval()
    out = [("input", shape)]
    last_map = shape if len(shape) == 4 else None  # the last (N, C, H, W) seen
    x = torch.zeros(shape)
    try:
        with torch.no_grad():
            for name, layer in layers:
                where = _describe(name, layer)
                if isinstance(layer, nn.Linear):
                    if x.dim() > 2:
                        raise ValueError(_(
                            "{where} gets a {ndim}-D input of shape {shape}: a Linear layer (全連接層) needs one "
                            "vector per image; add nn.Flatten() before it (why flatten)"
                        ).format(where=where, ndim=x.dim(), shape=tuple(x.shape)))
                    if x.shape[-1] != layer.in_features:
                        msg = _("{where} expects {expected} input features but the layer before gives {got} "
                                "(shape {shape})").format(where=where, expected=layer.in_features,
                                                          got=x.shape[-1], shape=tuple(x.shape))
                        if last_map is not None:
                            c, h, w = last_map[1:]
                            msg += _(": wrong flatten size: after Flatten there are C x H x W = {c} x {h} x {w} = "
                                     "{n} features, so use nn.Linear({n}, ...)").format(c=c, h=h, w=w, n=c * h * w)
                        raise ValueError(msg)
                if isinstance(layer, nn.Conv2d) and x.dim() in (3, 4) and x.shape[-3] != layer.in_channels:
                    raise ValueError(_(
                        "{where} expects {expected} input channels (通道) but the layer before gives {got} "
                        "(shape {shape}): in_channels must equal the previous layer's out_channels"
                    ).format(where=where, expected=layer.in_channels, got=x.shape[-3], shape=tuple(x.shape)))
                try:
                    x = layer(x)
                except RuntimeError as exc:
                    raise ValueError(_("{where} cannot take an input of shape {shape}: {error}").format(
                        where=where, shape=tuple(x.shape), error=str(exc).splitlines()[0])) from None
                if x.dim() == 4:
                    last_map = tuple(x.shape)
                out.append((f"{name} {type(layer).__name__}", tuple(x.shape)))
    finally:
        model.train(was_training)
    return out
