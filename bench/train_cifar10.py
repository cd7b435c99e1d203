"""Benchmark: the reference recipe in figures that travel between machines, beside the tutorial's recipe.

Data: ``../shared/data/cifar10/cifar10_train.npz`` (or ``--data``): the first 45,000 images
train, the last 5,000 validate. One process, one run, these rows side by side:

* **sample efficiency**: the reference recipe trained for at most 10 epochs with no time budget
  (``cnnlib.train.reference_config(device, budgeted=False)``: airbench94's network and schedule),
  validation accuracy with its test-time augmentation. Target >= 92%.
* **hardware efficiency**: that run's achieved FLOP rate: the FLOPs of one training step
  (convolutions and linear layers, forward and backward, counted by ``torch.utils.flop_counter``)
  times the steps, over its training seconds (the data pipeline included), as a share of this
  machine's own fp32 ``torch.matmul`` rate (2048 x 2048, measured in the same run). Target >= 40%.
  Mixed precision is chosen as ``fit`` chooses it (bfloat16 autocast on CUDA and on CPUs with
  native bfloat16, else fp32) and printed, with the CPU model and its vector extensions.
* the PyTorch tutorial's recipe, its own 2 epochs (batch 4, SGD), for comparison;
* with ``--budget-run``: the command line's default, the reference recipe within 560 s.

On CUDA: the reference, >= 94% mean validation accuracy over 5 seeds with <= 3 s of training
each, beside ``airbench``'s airbench94 when that package is installed.

Exits 1 when a target is missed (or 2 when there is no data).

    python bench/train_cifar10.py [--data PATH.npz] [--epochs 10] [--seeds N] [--device cpu] [--budget-run]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cnnlib import data, models, train  # noqa: E402
from cnnlib.loop import amp_enabled  # noqa: E402
from cnnlib.machine import describe_cpu  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cifar10" / "cifar10_train.npz"
SAMPLE_TARGET, MAX_EPOCHS = 0.92, 10.0
SHARE_TARGET = 0.40
CLI_BUDGET_S = 560.0
GPU_TARGET, GPU_TRAIN_S = 0.94, 3.0
EVAL_RESERVE = 0.06  # share of a budget kept for loading, whitening and the final evaluation


def run_recipe(name, cfg, tr, va, dev, budget):
    """Train and evaluate ``cfg``; a budget (seconds, CPU only) covers both, None: the recipe's epochs."""
    if budget is not None and dev.type != "cuda":
        cfg = dataclasses.replace(cfg, time_budget_s=budget * (1 - EVAL_RESERVE))
    t0 = time.perf_counter()
    res = train.fit(cfg, tr, va, device=dev, progress=sys.stderr.isatty(), log=None, validate_each_epoch=False)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    steps = res.history["step"][-1] if res.history["step"] else 0
    per_epoch = len(tr) // cfg.batch_size
    widths = f" {cfg.model_kwargs['widths']}" if "widths" in cfg.model_kwargs else ""
    return {"recipe": name, "model": type(res.model).__name__ + widths, "config": cfg,
            "params": models.count_parameters(res.model), "steps": steps, "epochs": steps / per_epoch,
            "train_s": res.seconds, "wall_s": wall, "acc": res.val_accuracy,
            "precision": "bf16 autocast" if amp_enabled(cfg, dev) else "fp32"}


def step_flops(cfg, dev) -> float:
    """FLOPs of one training step of ``cfg`` (forward and backward), counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    model = models.build(cfg.model, **cfg.model_kwargs).to(dev)
    x = torch.randn(cfg.batch_size, 3, 32, 32, device=dev)
    y = torch.randint(0, 10, (cfg.batch_size,), device=dev)
    counter = FlopCounterMode(display=False)
    with counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    return float(counter.get_total_flops())


def matmul_rate(dev, n: int = 2048, repeats: int = 8) -> float:
    """This machine's fp32 ``torch.matmul`` rate in FLOP/s (the best of ``repeats``, n x n)."""
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    best = float("inf")
    for i in range(repeats + 2):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def airbench94(tr, va, seed, workdir):
    """(accuracy, seconds) of the ``airbench`` package's airbench94 on our split (CUDA only),
    or None when the package is not installed. Its loader reads ``train.pt`` / ``test.pt``
    (uint8 images, N x 32 x 32 x 3) from a folder, so our split is written there first."""
    try:
        import airbench
    except ImportError:
        return None
    for name, ds in (("train.pt", tr), ("test.pt", va)):
        if not (workdir / name).exists():
            torch.save({"images": torch.from_numpy(ds.x), "labels": torch.from_numpy(ds.y),
                        "classes": list(ds.classes)}, workdir / name)
    train_loader = airbench.CifarLoader(str(workdir), train=True, batch_size=1024,
                                        aug=dict(flip=True, translate=2), altflip=True)
    test_loader = airbench.CifarLoader(str(workdir), train=False, batch_size=2000)
    torch.manual_seed(seed)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    net = airbench.train94(train_loader=train_loader, run=seed, verbose=False)
    torch.cuda.synchronize()
    return airbench.evaluate(net, test_loader, tta_level=2), time.perf_counter() - t0


def _table(rows) -> None:
    print(f"{'recipe':18s} {'model':22s} {'params':>9s} {'precision':>13s} {'steps':>6s} {'epochs':>7s} "
          f"{'train s':>8s} {'wall s':>7s} {'val acc':>8s}")
    for r in rows:
        print(f"{r['recipe']:18s} {r['model']:22s} {r['params']:9,d} {r['precision']:>13s} {r['steps']:6d} "
              f"{r['epochs']:7.2f} {r['train_s']:8.1f} {r['wall_s']:7.1f} {r['acc']:8.4f}")


def cpu_figures(rows, sample, dev) -> bool:
    """Print the two CPU figures and whether they meet their targets."""
    flops = step_flops(sample["config"], dev)
    peak = matmul_rate(dev)
    achieved = flops * sample["steps"] / sample["train_s"]
    share = achieved / peak
    ok_sample = sample["acc"] >= SAMPLE_TARGET and sample["epochs"] <= MAX_EPOCHS + 1e-9
    ok_share = share >= SHARE_TARGET
    print(f"\nsample efficiency: {sample['acc']:.4f} after {sample['epochs']:.2f} epochs (target >= {SAMPLE_TARGET} "
          f"after <= {MAX_EPOCHS:g}): {'OK' if ok_sample else 'MISSED'}")
    print(f"hardware efficiency: {flops / 1e9:.0f} GFLOP per step x {sample['steps']} steps in {sample['train_s']:.0f} s "
          f"= {achieved / 1e9:.0f} GFLOP/s; fp32 matmul here {peak / 1e9:.0f} GFLOP/s; share {share:.0%} "
          f"(target >= {SHARE_TARGET:.0%}): {'OK' if ok_share else 'MISSED'}")
    return ok_sample and ok_share


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--epochs", type=float, default=MAX_EPOCHS, help="epochs of the sample-efficiency run")
    ap.add_argument("--seeds", type=int, help="runs of the reference on CUDA (default 5)")
    ap.add_argument("--device", help="cuda or cpu (default: the best there is)")
    ap.add_argument("--budget-run", action="store_true", help="also the command line's 560 s budget run (CPU)")
    ap.add_argument("--skip-tutorial", action="store_true")
    args = ap.parse_args()
    if not Path(args.data).is_file():
        print(f"no data at {args.data}: pass --data PATH.npz (x uint8 N x 32 x 32 x 3, y)", file=sys.stderr)
        return 2
    dev = train.pick_device(args.device)
    tr, va = data.load_npz(args.data).split(5000)
    load_before = os.getloadavg()[0]
    sample_cfg = dataclasses.replace(train.reference_config(dev, budgeted=False), epochs=args.epochs)
    seeds = (args.seeds or 5) if dev.type == "cuda" else 1
    rows = [run_recipe("reference", dataclasses.replace(sample_cfg, seed=s), tr, va, dev, None) for s in range(seeds)]
    if args.budget_run and dev.type != "cuda":
        rows.append(run_recipe("reference, 560 s", train.reference_config(dev), tr, va, dev, CLI_BUDGET_S))
    if not args.skip_tutorial:
        rows.append(run_recipe("tutorial", train.RECIPES["tutorial"], tr, va, dev, None))
    print(f"\nCIFAR-10 {args.data}: {len(tr):,} train / {len(va):,} validation, device {dev}; {describe_cpu()}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    _table(rows)
    refs = [r for r in rows if r["recipe"] == "reference"]
    if dev.type == "cuda":
        extra_lines = []
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="airbench-split-"))
        for s in range(seeds):
            out = airbench94(tr, va, s, workdir)
            if out is None:
                extra_lines.append("airbench package not installed: no airbench94 comparison")
                break
            extra_lines.append(f"airbench94 seed {s}: {out[0]:.4f} in {out[1]:.2f} s")
        print("\n".join(extra_lines))
        mean_acc = statistics.mean(r["acc"] for r in refs)
        mean_train = statistics.mean(r["train_s"] for r in refs)
        ok = mean_acc >= GPU_TARGET and mean_train <= GPU_TRAIN_S
        print(f"\nreference: mean accuracy {mean_acc:.4f} over {len(refs)} seeds (target >= {GPU_TARGET}), "
              f"mean training {mean_train:.2f} s (target <= {GPU_TRAIN_S:g} s): {'OK' if ok else 'MISSED'}")
    else:
        ok = cpu_figures(rows, refs[0], dev)
    if not ok:
        print("MISSED a target", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
