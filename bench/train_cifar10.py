"""Benchmark: HW2's reference recipe against the PyTorch tutorial's, same wall-clock budget.

Data: ``../shared/data/cifar10/cifar10_train.npz`` (or ``--data``): the first 45,000 images
train, the last 5,000 validate. Both recipes run one after the other in this process, each
with the same budget for training plus evaluation, and the table shows steps, epochs,
seconds and validation accuracy side by side.

Targets:
* CPU (the course VM, 2 cores): the reference reaches >= 88% validation accuracy within
  600 s (training and evaluation together).
* CUDA (H100 class): >= 94% mean validation accuracy over 5 seeds with <= 3 s of training
  per run; when the ``airbench`` package is installed, its airbench94 runs on the same
  split in the same process for comparison.

Exits 1 when a target is missed (or 2 when there is no data).

    python bench/train_cifar10.py [--data PATH.npz] [--budget 600] [--seeds N] [--device cpu]
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

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cifar10" / "cifar10_train.npz"
CPU_TARGET, CPU_BUDGET_S = 0.88, 600.0
GPU_TARGET, GPU_TRAIN_S = 0.94, 3.0
EVAL_RESERVE = 0.06  # share of the budget kept for loading, whitening and the final evaluation


def run_recipe(name, cfg, tr, va, dev, budget):
    """Train and evaluate; the budget covers both (training gets budget minus a reserve)."""
    if dev.type != "cuda":
        cfg = dataclasses.replace(cfg, epochs=max(cfg.epochs, 1000.0) if name == "tutorial" else cfg.epochs,
                                  time_budget_s=budget * (1 - EVAL_RESERVE))
    t0 = time.perf_counter()
    res = train.fit(cfg, tr, va, device=dev, progress=sys.stderr.isatty(), log=None, validate_each_epoch=False)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    steps = res.history["step"][-1] if res.history["step"] else 0
    per_epoch = len(tr) // cfg.batch_size
    return {"recipe": name, "model": type(res.model).__name__ + (f" {cfg.model_kwargs['widths']}"
                                                                 if "widths" in cfg.model_kwargs else ""),
            "params": models.count_parameters(res.model), "steps": steps, "epochs": steps / per_epoch,
            "train_s": res.seconds, "wall_s": wall, "acc": res.val_accuracy}


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
    secs = time.perf_counter() - t0
    return airbench.evaluate(net, test_loader, tta_level=2), secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--budget", type=float, default=CPU_BUDGET_S, help="seconds per recipe on a CPU")
    ap.add_argument("--seeds", type=int, help="runs of the reference (default: 5 on CUDA, 1 on a CPU)")
    ap.add_argument("--device", help="cuda or cpu (default: the best there is)")
    ap.add_argument("--skip-tutorial", action="store_true")
    args = ap.parse_args()
    if not Path(args.data).is_file():
        print(f"no data at {args.data}: pass --data PATH.npz (x uint8 N x 32 x 32 x 3, y)", file=sys.stderr)
        return 2
    dev = train.pick_device(args.device)
    ds = data.load_npz(args.data)
    tr, va = ds.split(5000)
    seeds = args.seeds or (5 if dev.type == "cuda" else 1)
    ref = train.reference_config(dev)
    rows = [run_recipe("reference", dataclasses.replace(ref, seed=s), tr, va, dev, args.budget)
            for s in range(seeds)]
    if not args.skip_tutorial:
        rows.append(run_recipe("tutorial", train.RECIPES["tutorial"], tr, va, dev, args.budget))
    extra = []
    if dev.type == "cuda":
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="airbench-split-"))
        for s in range(seeds):
            out = airbench94(tr, va, s, workdir)
            if out is None:
                extra.append("airbench package not installed: no airbench94 comparison")
                break
            extra.append(f"airbench94 seed {s}: {out[0]:.4f} in {out[1]:.2f} s")

    load = os.getloadavg()
    print(f"\nCIFAR-10 {args.data}: {len(tr):,} train / {len(va):,} validation, device {dev}, "
          f"{torch.get_num_threads()} threads, load average {load[0]:.1f}")
    print(f"budget per recipe: {args.budget:g} s (training + evaluation) on a CPU; epochs on a GPU\n")
    print(f"{'recipe':10s} {'model':26s} {'params':>9s} {'steps':>6s} {'epochs':>7s} {'train s':>8s} "
          f"{'wall s':>7s} {'val acc':>8s}")
    for r in rows:
        print(f"{r['recipe']:10s} {r['model']:26s} {r['params']:9,d} {r['steps']:6d} {r['epochs']:7.2f} "
              f"{r['train_s']:8.1f} {r['wall_s']:7.1f} {r['acc']:8.4f}")
    for line in extra:
        print(line)
    refs = [r for r in rows if r["recipe"] == "reference"]
    mean_acc = statistics.mean(r["acc"] for r in refs)
    if dev.type == "cuda":
        mean_train = statistics.mean(r["train_s"] for r in refs)
        ok = mean_acc >= GPU_TARGET and mean_train <= GPU_TRAIN_S
        print(f"\nreference: mean accuracy {mean_acc:.4f} over {len(refs)} seeds (target >= {GPU_TARGET}), "
              f"mean training {mean_train:.2f} s (target <= {GPU_TRAIN_S:g} s): {'OK' if ok else 'MISSED'}")
    else:
        worst_wall = max(r["wall_s"] for r in refs)
        ok = mean_acc >= CPU_TARGET and worst_wall <= args.budget
        print(f"\nreference: accuracy {mean_acc:.4f} (target >= {CPU_TARGET}) in {worst_wall:.0f} s "
              f"(target <= {args.budget:g} s): {'OK' if ok else 'MISSED'}")
    tut = [r for r in rows if r["recipe"] == "tutorial"]
    if tut:
        print(f"tutorial recipe in the same budget: {tut[0]['acc']:.4f}")
    if not ok:
        print("MISSED a target", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
