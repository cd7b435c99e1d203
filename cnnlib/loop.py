"""The parts of ``cnnlib.train.fit``'s training loop: schedule, optimizer, weight averaging,
one step and one epoch. Internal to ``fit``; ``cnnlib.train`` re-exports these names.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from cnnlib import data as cdata
from cnnlib import machine, models

if TYPE_CHECKING:  # only for the annotations: cnnlib.train imports this module
    from cnnlib.train import TrainConfig


def amp_enabled(config: TrainConfig, dev: torch.device) -> bool:
    """bfloat16 autocast: on CUDA, and on a CPU that computes bfloat16 natively (where it is faster)."""
    return bool(config.amp) and (dev.type == "cuda" or (dev.type == "cpu" and machine.cpu_bf16_native()))


def _lr_factor(cfg: TrainConfig, progress: float) -> float:
    if cfg.schedule == "constant":
        return 1.0
    # triangle: 0.2 -> 1 over the first 23% of training, then down to 0.07 (airbench94)
    start, peak, end = 0.2, 0.23, 0.07
    if progress < peak:
        return start + (1 - start) * progress / peak
    return 1 + (end - 1) * min(1.0, (progress - peak) / (1 - peak))


class _Lookahead:
    """Exponential moving average of the weights, copied back into the net after each update."""

    def __init__(self, net: nn.Module):
        self.avg = {k: v.detach().clone() for k, v in net.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, net: nn.Module, decay: float) -> None:
        state = net.state_dict()
        for k, avg in self.avg.items():
            avg.lerp_(state[k], 1 - decay)
            state[k].copy_(avg)


def _optimizer(cfg: TrainConfig, model: nn.Module):
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD([p for _, p in params], lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay), [cfg.lr]
    scale = 1024 * (1 + 1 / (1 - cfg.momentum))  # Nesterov's step is this much larger than one gradient
    lr = cfg.lr / scale
    wd = cfg.weight_decay * cfg.batch_size / scale
    norm = [p for n, p in params if "norm" in n or (n.endswith("bias") and p.ndim == 1 and "whiten" not in n)]
    ids = {id(p) for p in norm}
    other = [p for _, p in params if id(p) not in ids]
    groups = [dict(params=other, lr=lr, weight_decay=wd / lr)]
    if norm:
        groups.append(dict(params=norm, lr=lr * cfg.bias_lr_scale, weight_decay=wd / (lr * cfg.bias_lr_scale)))
    opt = torch.optim.SGD(groups, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    return opt, [g["lr"] for g in groups]


@dataclass
class _Run:
    """One ``fit`` in progress: what it trains with, and how far it has got."""

    config: TrainConfig
    device: torch.device
    model: nn.Module
    loader: cdata.GpuLoader
    optimizer: torch.optim.Optimizer
    base_lrs: list
    loss_fn: nn.Module
    reduction: str
    use_amp: bool
    total_steps: int
    lookahead: _Lookahead | None = None
    steps: int = 0
    train_time: float = 0.0
    progress_frac: float = 0.0


def _start_run(config: TrainConfig, train: cdata.ImageSet, dev: torch.device,
               model: nn.Module | None) -> _Run:
    """Seed, then build the model (unless given), the loader, the optimizer and the loss."""
    torch.manual_seed(config.seed)
    if model is None:
        model = models.build(config.model, **config.model_kwargs)
    memory = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(dev).to(memory_format=memory)
    loader = cdata.GpuLoader(train, min(config.batch_size, len(train)), train=True, device=dev,
                             flip=config.flip, translate=config.translate, mean=config.mean,
                             std=config.std, channels_last=config.channels_last, seed=config.seed,
                             alternate_flip=config.alternate_flip)
    if isinstance(model, models.FastNet):
        first = cdata.normalize(loader.images[:5000], config.mean, config.std)
        model.init_whitening(first)
    optimizer, base_lrs = _optimizer(config, model)
    reduction = "sum" if config.optimizer == "nesterov" else "mean"
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing, reduction=reduction)
    use_amp = amp_enabled(config, dev)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    total_steps = max(1, math.ceil(config.epochs * len(loader)))
    return _Run(config, dev, model, loader, optimizer, base_lrs, loss_fn, reduction, use_amp, total_steps)


def _train_step(run: _Run, xb: torch.Tensor, yb: torch.Tensor):
    """One optimizer step at the schedule's learning rate: (model output, loss)."""
    factor = _lr_factor(run.config, run.progress_frac)
    for g, base in zip(run.optimizer.param_groups, run.base_lrs, strict=True):
        g["lr"] = base * factor
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.use_amp):
        out = run.model(xb)
        loss = run.loss_fn(out.float(), yb)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    run.steps += 1
    return out, loss


def _maybe_lookahead(run: _Run) -> None:
    """Every 5th step late in training: start the weight average, or update it."""
    cfg = run.config
    if cfg.lookahead and run.progress_frac >= cfg.lookahead_start and run.steps % 5 == 0:
        if run.lookahead is None:
            run.lookahead = _Lookahead(run.model)
        else:
            run.lookahead.update(run.model, decay=0.95**5 * run.progress_frac**3)


def _train_epoch(run: _Run, bar, progress: bool):
    """One pass over the loader, cut short when the schedule (steps or time) is done.

    Returns (summed loss, correct predictions, images seen) of the steps taken.
    """
    model, dev, budget = run.model, run.device, run.config.time_budget_s
    model.train()
    if isinstance(model, models.FastNet):
        model.whiten.bias.requires_grad_(run.progress_frac < run.config.whiten_bias_fraction)
    t0 = time.perf_counter()
    # running sums stay on the device: no GPU sync per step, only for the progress bar
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), device=dev, dtype=torch.long)
    seen = 0
    for xb, yb in run.loader:
        elapsed = run.train_time + time.perf_counter() - t0
        run.progress_frac = max(run.steps / run.total_steps, elapsed / budget if budget else 0.0)
        if run.progress_frac >= 1:
            break
        out, loss = _train_step(run, xb, yb)
        with torch.no_grad():
            loss_sum += loss.detach() * (1 if run.reduction == "sum" else len(yb))
            correct += (out.argmax(1) == yb).sum()
            seen += len(yb)
        _maybe_lookahead(run)
        bar.update(1)
        if progress and (run.steps % 10 == 0 or dev.type == "cpu"):
            bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{correct.item() / seen:.3f}")
    if run.lookahead is not None:
        run.lookahead.update(model, decay=1.0)
    run.train_time += time.perf_counter() - t0
    return loss_sum, correct, seen


def _record_epoch(history: dict, epoch: int, run: _Run, loss_sum, correct, seen: int, val_acc) -> None:
    """Append one epoch's numbers to ``fit``'s history."""
    history["epoch"].append(epoch)
    history["step"].append(run.steps)
    history["seconds"].append(round(run.train_time, 3))
    history["train_loss"].append(loss_sum.item() / seen)
    history["train_acc"].append(correct.item() / seen)
    history["val_acc"].append(val_acc)
