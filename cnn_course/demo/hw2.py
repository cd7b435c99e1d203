"""The demo class's HW2 checkpoints (``hw2_model.pt``), trained at demo time, seeded.

HW2 is graded on the student's saved weights, so the demo hand-ins need some. They are
made here from the instructor's own ``Net`` (the answer cell of ``source/hw2``), on the
generated data set (``synthetic_cifar``): a few seconds on a CPU, no download.

* ``ada_perfect``: the ``Net`` trained on generated images, about 90% and more on the
  generated test set: every accuracy tier.
* ``cai_mistakes``: the same weights with the first class's output biased up, so the network
  predicts that class far too often: 65% on the test set (the bias is chosen on it, far from
  every tier boundary), the 50% and 60% tiers only.
* ``dee_raises``: a file cut off while it was written: not a readable checkpoint.
* ``ben_untouched`` and ``eve_broken`` hand in no checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np

ASSIGNMENT = "hw2"
CHECKPOINT = "hw2_model.pt"
NET_CELL = "hw2_net_impl"
WEAK_TARGET = 0.65  # cai's accuracy: mid-way between the 60% and 70% tiers


def solution_net(source_nb: Path):
    """The ``Net`` class of the instructor's answer cell (``hw2_net_impl``) in ``source_nb``."""
    import torch
    from torch import nn

    from .lecture import strip_solution_markers

    nb = nbformat.read(source_nb, as_version=4)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == NET_CELL]
    if not cells:
        raise ValueError(f"{source_nb} has no cell {NET_CELL!r} defining Net")
    namespace = {"torch": torch, "nn": nn, "__name__": "hw2_solution"}
    exec(compile(strip_solution_markers(cells[0].source), f"{source_nb}:{NET_CELL}", "exec"), namespace)
    return namespace["Net"]


def train(net_cls, data, *, epochs: int = 5, batch_size: int = 128, lr: float = 3e-3, seed: int = 0):
    """``net_cls()`` trained on ``data`` (an ImageSet) as the notebook trains it (AdamW, flip, shift)."""
    import torch
    from torch import nn

    from cnnlib.data import normalize, random_flip, random_translate

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = net_cls()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.from_numpy(data.x).permute(0, 3, 1, 2)  # (N, 3, 32, 32) uint8
    y = torch.from_numpy(data.y)
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for i in range(len(y) // batch_size):
            idx = order[i * batch_size:(i + 1) * batch_size]
            xb = random_translate(random_flip(normalize(x[idx]), gen), 2, gen)
            model.train()
            opt.zero_grad()
            loss_fn(model(xb), y[idx]).backward()
            opt.step()
    return model.eval()


def favour_class(model, data, cls: int = 0, target: float = WEAK_TARGET) -> float:
    """Raise the last ``nn.Linear``'s bias of class ``cls`` until accuracy on ``data`` is ``target``.

    The network then predicts ``cls`` far too often. The bias is put half-way between the
    margins of two images (the one it flips and the next), so the accuracy does not hinge
    on rounding. Returns the bias added.
    """
    import torch
    from torch import nn

    from cnnlib.data import normalize

    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    if head.bias is None:
        raise ValueError("favour_class needs a last nn.Linear with a bias")
    model.eval()
    with torch.no_grad():
        logits = model(normalize(torch.from_numpy(data.x).permute(0, 3, 1, 2))).double().numpy()
    y = data.y
    correct = logits.argmax(1) == y
    # an image of another class, predicted right, flips to ``cls`` once the bias passes its margin
    others = correct & (y != cls)
    margins = np.sort(logits[others, y[others]] - logits[others, cls])
    flips = int(correct.sum() - round(target * len(y)))
    if not 0 < flips < len(margins):
        raise ValueError(f"cannot bring the accuracy {correct.mean():.1%} down to {target:.1%} with class {cls}")
    bias = float(margins[flips - 1] + margins[flips]) / 2
    with torch.no_grad():
        head.bias[cls] += bias
    return bias


def write_checkpoints(course: Path, log=print) -> dict[str, float | None]:
    """Write ``submitted/<student>/hw2/hw2_model.pt`` for the demo class; return test accuracies.

    Needs the demo hand-ins (``create_demo_class(course, "hw2")``) first. The test set is
    the generated one (``hw2_test_set("synthetic")``), which the demo grades with.
    """
    import torch

    from cnnlib.data import CIFAR10_MEAN, CIFAR10_STD, hw2_test_set, synthetic_cifar
    from cnnlib.train import predict, save_checkpoint

    torch.set_num_threads(min(2, torch.get_num_threads()))
    net_cls = solution_net(course / "source" / ASSIGNMENT / "hw2_cifar10.ipynb")
    data = synthetic_cifar(5000, seed=0).subset(3000)
    test = hw2_test_set("synthetic", verbose=False)
    model = train(net_cls, data)
    scores = predict(model, test)
    good = float((scores.argmax(1) == test.y).mean())
    folder = course / "submitted"
    save_checkpoint(folder / "ada_perfect" / ASSIGNMENT / CHECKPOINT, model, classes=data.classes, accuracy=good,
                    mean=CIFAR10_MEAN, std=CIFAR10_STD, note=f"demo: trained on {data.source}")
    favour_class(model, test)
    weak = float((predict(model, test).argmax(1) == test.y).mean())
    save_checkpoint(folder / "cai_mistakes" / ASSIGNMENT / CHECKPOINT, model, classes=data.classes, accuracy=weak,
                    mean=CIFAR10_MEAN, std=CIFAR10_STD, note=f"demo: predicts {data.classes[0]!r} far too often")
    good_bytes = (folder / "ada_perfect" / ASSIGNMENT / CHECKPOINT).read_bytes()
    (folder / "dee_raises" / ASSIGNMENT / CHECKPOINT).write_bytes(good_bytes[: len(good_bytes) // 3])
    log(f"      hw2 checkpoints: ada_perfect {good:.1%}, cai_mistakes {weak:.1%} on the generated test set, "
        f"dee_raises a cut-off file, ben_untouched and eve_broken none")
    return {"ada_perfect": good, "cai_mistakes": weak, "dee_raises": None}
