"""Build source/hw2/hw2_cifar10.ipynb (HW2: a CNN on CIFAR-10) from the cells below.

    python tools/build_hw2.py            # writes source/hw2/hw2_cifar10.ipynb
    make release                         # then regenerate release/hw2/ with nbgrader

Cells carry nbgrader schema-v3 metadata and stable ids (the grade_id), so rebuilding
gives the same file. Grade ids start with ``hw2_``; the test cells add up to 50 points.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "source" / "hw2" / "hw2_cifar10.ipynb"


# -- cell helpers (as for the lecture notebooks) ---------------------------------------

def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def _src(s):
    return textwrap.dedent(s).strip("\n")


def md(text, grade_id):
    c = new_markdown_cell(_src(text))
    c.metadata.update(_meta(grade_id, locked=True))
    return c


def code(text, grade_id=None):
    """A locked cell of the course's code (nbgrader restores it at grading); no id: a free cell."""
    c = new_code_cell(_src(text))
    if grade_id:
        c.metadata.update(_meta(grade_id, locked=True))
    return c


def solution(text, grade_id):
    c = new_code_cell(_src(text))
    c.metadata.update(_meta(grade_id, solution=True))
    return c


def test(text, grade_id, points):
    c = new_code_cell(_src(text))
    c.metadata.update(_meta(grade_id, grade=True, locked=True, points=points))
    return c


def write(cells, path: Path) -> None:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(nb.cells):
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        c["id"] = gid.replace("_", "-") if gid else f"cell-{i:02d}"
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


TIERS = (50, 60, 70, 80)

CELLS = [
md("""
# HW2 · A CNN on CIFAR-10 (卷積神經網路)

*Deep Learning, lecture "Convolutional Neural Networks" (2025-10-08), homework 2.*

You will train your own convolutional network on CIFAR-10 (60,000 colour images of 32 x 32
pixels, 10 classes) and hand in the notebook **and** the trained weights, `hw2_model.pt`.

1. look at the data;
2. write the **normalisation** (正規化) and a **data augmentation** (資料擴增);
3. define your network `Net`;
4. write one **training step** and the **evaluation**;
5. train (on a GPU if you have one), save `hw2_model.pt`;
6. measure the test accuracy, per class, with a confusion matrix (混淆矩陣) and the mistakes.

**Grading (50 points).** 30 points for the functions (visible and hidden tests), 20 for the
accuracy of your saved model on the instructor's test set: 5 points each for at least
50%, 60%, 70% and 80%. While grading, the training cell is **skipped**: the grader loads
`hw2_model.pt` from the folder of this notebook and evaluates it (on a CPU, in seconds). No
checkpoint, no accuracy points; the other tests are graded anyway.

**Hardware.** Training uses the GPU when there is one (`cuda`, or `mps` on a Mac). Without
CIFAR-10 on disk or an internet connection, the notebook falls back to a small **generated**
look-alike data set and says so: fine for trying things out, but train on the real data
before you hand in.
""", "hw2_intro"),
code("""
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

import cnnlib.train
from cnnlib.checks import assert_close, assert_does_not_use, assert_equal, assert_shape, assert_true
from cnnlib.data import CIFAR10_MEAN, CIFAR10_STD, hw2_test_set, load_cifar10, random_translate
from cnnlib.models import count_parameters
from cnnlib.train import CheckpointError, confusion_matrix, load_checkpoint, pick_device, save_checkpoint
from cnnlib.viz import show_confusion_matrix, show_curves, show_images, show_misclassified

GRADING = os.environ.get("NBGRADER_EXECUTION", "")  # "autograde" / "validate" while nbgrader runs this notebook
QUICK = os.environ.get("CNNLIB_HW2_QUICK", "") not in ("", "0")  # the course's tests: generated data, seconds
CHECKPOINT = Path("hw2_model.pt")  # next to this notebook: hand it in together with the notebook
device = pick_device()
_ = torch.manual_seed(0)
""", "hw2_setup"),
md("""
## 1. The data (資料)

`load_cifar10` finds CIFAR-10 on disk (`$CNNLIB_DATA_DIR`, torchvision's cache) or downloads it
once (170 MB). It prints where the images come from. The images are `uint8`, **channels last**
`(N, 32, 32, 3)`, as the files store them; we hold out the last images for **validation**
(驗證集): you choose your settings on those, never on the test set.
""", "hw2_md_data"),
code("""
if GRADING or QUICK:  # grading does not train: a small generated set stands in for the pictures below
    train_full = load_cifar10(train=True, synthetic="only")
else:
    train_full = load_cifar10(train=True, synthetic=True)  # the real data, else generated look-alikes
if GRADING:
    print("grading: these generated images only stand in for the pictures below; the grader "
          "evaluates the hw2_model.pt you trained")
elif train_full.synthetic:
    print("NOTE: these are GENERATED images (shapes), not CIFAR-10 photos: fine for a test run, "
          "but train on the real CIFAR-10 before you hand in.")
n_val = len(train_full) // 10
train_set, val_set = train_full.split(n_val)
if QUICK:
    train_set, val_set = train_set.subset(2000), val_set.subset(500)
print(f"training {len(train_set):,} images, validation {len(val_set):,}; x {train_set.x.shape} "
      f"{train_set.x.dtype}, classes: {', '.join(train_set.classes)}")
""", "hw2_load_data"),
code("""
# One column per class, eight examples each (the first images of that class).
columns = [np.flatnonzero(train_full.y == k)[:8] for k in range(len(train_full.classes))]
grid = np.stack(columns, axis=1).ravel()  # row by row: each row shows one image of every class
print("images per class:", dict(zip(train_full.classes, np.bincount(train_full.y).tolist(), strict=True)))
show_images(train_full.x[grid], train_full.y[grid], train_full.classes,
            title=f"{train_full.source}: eight images per class", ncols=len(train_full.classes))
""", "hw2_show_data"),
md("""
## 2. Normalisation (正規化) and augmentation (資料擴增)

Networks train best on inputs centred around 0 with a spread of about 1. Per **channel** (通道)
`c`, with the mean and standard deviation of the CIFAR-10 training images:

$$x' = \\frac{x / 255 - \\text{mean}_c}{\\text{std}_c}, \\qquad
\\text{mean} = (0.4914, 0.4822, 0.4465), \\quad \\text{std} = (0.2470, 0.2435, 0.2616)$$

Write `normalize_images`: a `uint8` tensor `(N, 3, H, W)` (channels first, any device) becomes a
`float32` tensor of the same shape and device. Use `CIFAR10_MEAN` and `CIFAR10_STD`, compute it
yourself (no `cnnlib.data.normalize`, no torchvision), and do not change the input.
""", "hw2_md_normalize"),
solution("""
def normalize_images(x):
    \"\"\"uint8 (N, 3, H, W) -> float32 (N, 3, H, W): (x / 255 - mean) / std per channel.\"\"\"
    ### BEGIN SOLUTION
    mean = torch.tensor(CIFAR10_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, device=x.device).view(1, 3, 1, 1)
    return (x.float() / 255 - mean) / std
    ### END SOLUTION
""", "hw2_normalize_impl"),
test("""
x = torch.randint(0, 256, (4, 3, 5, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
before = x.clone()
out = normalize_images(x)
assert_true(isinstance(out, torch.Tensor), f"normalize_images should return a tensor; got {type(out).__name__}")
assert_shape(out, (4, 3, 5, 6), "normalize_images(x)")
assert_true(out.dtype == torch.float32, f"normalize_images should return float32; got {out.dtype}",)
assert_true(torch.equal(x, before), "normalize_images changed its input: compute a new tensor instead")
expected = (x.double() / 255 - torch.tensor(CIFAR10_MEAN, dtype=torch.float64).view(1, 3, 1, 1)) \\
    / torch.tensor(CIFAR10_STD, dtype=torch.float64).view(1, 3, 1, 1)
assert_close(out, expected, "normalize_images(x)", atol=1e-5,
             hint="divide by 255 first, then subtract the channel's mean and divide by its std; "
                  "the channel axis is axis 1 (N, C, H, W)")
print("normalize_images: visible tests passed")
### BEGIN HIDDEN TESTS
from cnnlib.data import normalize as _reference_normalize

for shape in [(1, 3, 1, 1), (7, 3, 32, 32), (2, 3, 9, 4)]:
    r = torch.randint(0, 256, shape, dtype=torch.uint8)
    assert_close(normalize_images(r), _reference_normalize(r), f"normalize_images of a {shape} batch", atol=1e-5)
assert_close(normalize_images(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8))[0, :, 0, 0],
             [(1 - m) / s for m, s in zip(CIFAR10_MEAN, CIFAR10_STD, strict=True)], "white pixels", atol=1e-5)
assert_does_not_use(normalize_images, forbidden=("cnnlib.data.normalize", "torchvision"), name="normalize_images")
### END HIDDEN TESTS
""", "hw2_normalize", 5),
md("""
**Augmentation** shows the network a slightly different picture every epoch, so it learns the
object and not the exact pixels. A horse looking left is still a horse: mirror each image
**left-right** (the width axis, the last one) with probability 1/2, each image on its own.
Do not flip upside down (the sky stays on top). Write `random_flip`: `(N, C, H, W)` in, same
shape, dtype and device out; every image is either unchanged or mirrored.
""", "hw2_md_flip"),
solution("""
def random_flip(x):
    \"\"\"(N, C, H, W) -> (N, C, H, W): each image mirrored left-right with probability 1/2.\"\"\"
    ### BEGIN SOLUTION
    flip = torch.rand(len(x), device=x.device) < 0.5  # (N,) one coin per image
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    ### END SOLUTION
""", "hw2_flip_impl"),
test("""
torch.manual_seed(1)
x = torch.arange(1000 * 1 * 2 * 3, dtype=torch.float32).view(1000, 1, 2, 3)  # every pixel different
before = x.clone()
out = random_flip(x)
assert_shape(out, (1000, 1, 2, 3), "random_flip(x)")
assert_true(out.dtype == x.dtype, f"random_flip changed the dtype: {x.dtype} -> {out.dtype}")
assert_true(torch.equal(x, before), "random_flip changed its input: return a new tensor")
same = (out == x).flatten(1).all(1)
mirrored = (out == x.flip(-1)).flatten(1).all(1)
assert_true(bool((same | mirrored).all()),
            "every image must come out unchanged or mirrored left-right (x.flip(-1), the width axis); "
            f"{int((~(same | mirrored)).sum())} images are neither (flipped upside down? shuffled?)")
share = mirrored.float().mean().item()
assert_true(0.4 <= share <= 0.6, f"about half of the images should be mirrored; got {share:.0%} "
            "(one coin per image, not one for the whole batch)")
print(f"random_flip: visible tests passed ({share:.0%} mirrored)")
### BEGIN HIDDEN TESTS
u8 = torch.randint(0, 256, (400, 3, 4, 5), dtype=torch.uint8)
a, b = random_flip(u8), random_flip(u8)
assert_true(a.dtype == torch.uint8, "random_flip must keep uint8")
m_a = (a == u8.flip(-1)).flatten(1).all(1) & ~(a == u8).flatten(1).all(1)
m_b = (b == u8.flip(-1)).flatten(1).all(1) & ~(b == u8).flatten(1).all(1)
assert_true(not torch.equal(m_a, m_b), "two calls flip the same images: draw new random numbers every call")
one = torch.arange(6.0).view(1, 1, 2, 3)
outs = {tuple(random_flip(one).flatten().tolist()) for _ in range(40)}
assert_true(outs == {(0.0, 1.0, 2.0, 3.0, 4.0, 5.0), (2.0, 1.0, 0.0, 5.0, 4.0, 3.0)},
            f"a single image should sometimes be mirrored, sometimes not; got {sorted(outs)}")
### END HIDDEN TESTS
""", "hw2_flip", 5),
code("""
def augment(x):
    \"\"\"Your flip, then a random shift of up to 2 pixels (cnnlib.data.random_translate).\"\"\"
    return random_translate(random_flip(x), pad=2)


sample = torch.from_numpy(train_full.x[:10]).permute(0, 3, 1, 2)  # (10, 3, 32, 32) uint8
show_images(torch.cat([sample, augment(sample)]), np.concatenate([train_full.y[:10]] * 2), train_full.classes,
            title="top: as stored; bottom: augmented (mirrored, shifted)", ncols=10)
""", "hw2_show_augment"),
md("""
## 3. Your network (卷積神經網路)

Define `Net`: input `(N, 3, 32, 32)` normalised images, output `(N, 10)` class scores (logits,
no softmax: `nn.CrossEntropyLoss` applies it). Use convolutions (卷積層); at most **5 million**
parameters, so that grading on a CPU stays fast. A proven pattern: blocks of
`Conv2d(3x3, padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2)` that double the channels while
they halve height and width, then a global pooling and one `Linear` layer. Write the shape of
each step next to it (`# (N, 64, 16, 16)`). Grading evaluates your network on a CPU: the cell
after the test estimates whether it is fast enough.
""", "hw2_md_net"),
solution("""
class Net(nn.Module):
    \"\"\"Your CIFAR-10 CNN: (N, 3, 32, 32) normalised images -> (N, 10) class scores.\"\"\"

    def __init__(self, num_classes=10):
        super().__init__()
        ### BEGIN SOLUTION
        def block(c_in, c_out):  # conv 3x3 (same size) -> batch norm -> ReLU -> halve H and W
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                                 nn.ReLU(), nn.MaxPool2d(2))

        # small on purpose: it trains in seconds on a CPU; wider blocks (64, 128, 256, 512) score higher
        self.features = nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 128))
        self.head = nn.Linear(128, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = self.features(x)           # (N, 128, 2, 2): 32 -> 16 -> 8 -> 4 -> 2
        x = torch.amax(x, dim=(2, 3))  # global max-pool: (N, 128)
        return self.head(x)            # (N, 10)
        ### END SOLUTION
""", "hw2_net_impl"),
test("""
net = Net()
out = net(torch.randn(2, 3, 32, 32))
assert_shape(out, (2, 10), "Net()(x) for x of shape (2, 3, 32, 32)")
n_params = count_parameters(net)
assert_true(n_params <= 5_000_000, f"Net has {n_params:,} parameters; at most 5,000,000 are allowed")
assert_true(any(isinstance(m, nn.Conv2d) for m in net.modules()),
            "Net has no nn.Conv2d layer: this homework is about convolutional networks")
print(f"Net: output {tuple(out.shape)}, {n_params:,} parameters")
### BEGIN HIDDEN TESTS
net.eval()
with torch.no_grad():
    one = net(torch.randn(1, 3, 32, 32))
    five = net(torch.randn(5, 3, 32, 32))
assert_shape(one, (1, 10), "Net in eval mode, batch of 1")
assert_shape(five, (5, 10), "Net, batch of 5")
assert_true(one.dtype == torch.float32 and bool(torch.isfinite(five).all()), "Net should give finite float32 scores")
### END HIDDEN TESTS
""", "hw2_net", 5),
code("""
# Grading runs on a CPU, one core, with a 60 s limit per cell: estimate how long your Net
# takes to classify 10,000 test images there (the accuracy tests need it to finish).
threads = torch.get_num_threads()
torch.set_num_threads(1)
with torch.no_grad():
    probe = Net().eval()
    probe(torch.randn(10, 3, 32, 32))  # warm-up
    t0 = time.perf_counter()
    probe(torch.randn(200, 3, 32, 32))
    estimate = (time.perf_counter() - t0) * 10_000 / 200
torch.set_num_threads(threads)
print(f"about {estimate:.0f} s for 10,000 images on one CPU core"
      + ("" if estimate < 30 else ": WARNING, too slow for grading (60 s per cell); make Net smaller"))
""", "hw2_net_speed"),
md("""
## 4. Training (訓練) and evaluation (評估)

One **training step** on a batch `(xb, yb)`, in this order:

1. `model.train()`: batch norm and dropout in training mode (the evaluation below switches to eval mode);
2. `optimizer.zero_grad()`: PyTorch **adds** gradients up; clear the last batch's;
3. forward: `scores = model(xb)`;
4. loss: `loss = loss_fn(scores, yb)`;
5. backward: `loss.backward()` computes the gradients;
6. `optimizer.step()` changes the weights.

Return the loss as a Python `float` (`loss.item()`), the loss **before** the step.
""", "hw2_md_step"),
solution("""
def train_step(model, xb, yb, optimizer, loss_fn):
    \"\"\"One optimisation step on the batch xb (N, 3, H, W), yb (N,); returns the loss (float).\"\"\"
    ### BEGIN SOLUTION
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION
""", "hw2_train_step_impl"),
test("""
def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


g = torch.Generator().manual_seed(0)
xb, yb = torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)
loss_fn = nn.CrossEntropyLoss()
m = tiny_model()
opt = torch.optim.SGD(m.parameters(), lr=0.1)
with torch.no_grad():
    start = loss_fn(m(xb), yb).item()
returned = train_step(m, xb, yb, opt, loss_fn)
assert_true(isinstance(returned, float), f"train_step should return the loss as a float (loss.item()); "
            f"got {type(returned).__name__}")
assert_close(returned, start, "the loss train_step returned", atol=1e-5,
             hint="return the loss of this batch computed before optimizer.step()")
with torch.no_grad():
    after = loss_fn(m(xb), yb).item()
assert_true(after < start, f"one step should lower the loss on this batch: {start:.4f} before, {after:.4f} "
            "after. Did you call loss.backward() and optimizer.step()?")
print(f"train_step: visible tests passed (loss {start:.3f} -> {after:.3f})")
### BEGIN HIDDEN TESTS
# stale gradients in the parameters: a step without zero_grad (or zero_grad after backward) goes astray
m, ref = tiny_model(), tiny_model()
opt, ref_opt = torch.optim.SGD(m.parameters(), lr=0.1), torch.optim.SGD(ref.parameters(), lr=0.1)
for p in m.parameters():
    p.grad = torch.full_like(p, 3.0)
ref_opt.zero_grad()
loss_fn(ref(xb), yb).backward()
ref_opt.step()
train_step(m, xb, yb, opt, loss_fn)
for (name, p), q in zip(m.named_parameters(), ref.parameters(), strict=True):
    assert_close(p, q, f"parameter {name} after one step with stale gradients", atol=1e-5,
                 hint="call optimizer.zero_grad() before loss.backward(): PyTorch adds gradients up")
# training mode during the forward pass, even if the model comes in eval mode
modes = []
m = tiny_model()
m[0].register_forward_hook(lambda mod, i, o: modes.append(mod.training))
m.eval()
train_step(m, xb, yb, torch.optim.SGD(m.parameters(), lr=0.1), loss_fn)
assert_true(modes == [True], f"the forward pass of train_step ran with model.training={modes}: call model.train()")
### END HIDDEN TESTS
""", "hw2_train_step", 5),
md("""
**Evaluation** (評估) predicts a class for every image, in batches, and must not change the model:

* `model.eval()`: batch norm uses its running statistics, dropout is off;
* `torch.no_grad()`: no gradients are recorded (faster, less memory);
* leave the model in eval mode (or put back the mode it came in); never switch an eval-mode model to training.

Write `predict(model, x, batch_size)`: `x` float `(N, 3, H, W)` normalised, on the model's
device; return the predicted classes, an `int64` tensor `(N,)` on the CPU.
""", "hw2_md_predict"),
solution("""
def predict(model, x, batch_size=500):
    \"\"\"Predicted classes (N,) int64 on the CPU for x (N, 3, H, W), in batches of batch_size.\"\"\"
    ### BEGIN SOLUTION
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(x[i:i + batch_size]).argmax(dim=1).cpu())
    return torch.cat(out)
    ### END SOLUTION
""", "hw2_predict_impl"),
test("""
torch.manual_seed(0)
m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                  nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
with torch.no_grad():
    m[1].running_mean.uniform_(-1, 1)
    m[1].running_var.uniform_(0.5, 2)
x = torch.randn(37, 3, 8, 8, generator=torch.Generator().manual_seed(1))
m.eval()
with torch.no_grad():
    expected = m(x).argmax(1)
m.train()
seen = []
m[0].register_forward_hook(lambda mod, i, o: seen.append((mod.training, torch.is_grad_enabled())))
stats = m[1].running_mean.clone()
pred = predict(m, x, batch_size=10)
assert_true(isinstance(pred, torch.Tensor), f"predict should return a tensor; got {type(pred).__name__}")
assert_shape(pred, (37,), "predict(model, x)")
assert_true(pred.dtype == torch.int64, f"predict should return class indices (int64, argmax); got {pred.dtype}")
assert_true(all(not training for training, _ in seen),
            "the model ran in training mode: call model.eval() before predicting (batch norm, dropout)")
assert_true(all(not grad for _, grad in seen), "gradients were recorded: predict inside `with torch.no_grad():`")
assert_true(torch.equal(m[1].running_mean, stats), "predict changed batch norm's running statistics")
assert_equal(pred.tolist(), expected.tolist(), "predict(model, x)")
print("predict: visible tests passed")
### BEGIN HIDDEN TESTS
assert_true(len(seen) == 4, f"37 images in batches of 10 should take 4 forward passes; got {len(seen)}")
assert_true(all(p.grad is None for p in m.parameters()), "predict computed gradients")
m.eval()
predict(m, x)
assert_true(not m.training, "predict switched a model in eval mode to training mode")
assert_equal(predict(m, x[:1], batch_size=500).tolist(), expected[:1].tolist(), "predict of one image")
### END HIDDEN TESTS
""", "hw2_predict", 5),
md("""
## 5. Train your network

Your choices go in the next cell (it is yours to edit: epochs, batch size, learning rate,
optimizer). The cell after it trains with your functions, shows a progress bar, checks the
validation accuracy after every epoch and saves the weights to `hw2_model.pt`.
On a GPU the defaults take a few minutes on CIFAR-10; on a CPU, much longer.
""", "hw2_md_train"),
code("""
# Your settings (你的設定): change them to train a better network.
EPOCHS = (4 if QUICK else 8) if train_set.synthetic else 30
BATCH_SIZE = 128
LEARNING_RATE = 3e-3


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=5e-4)
"""),
code("""
if GRADING:
    print(f"nbgrader is grading ({GRADING}): training skipped; the tests below load {CHECKPOINT}")
else:
    if device.type == "cpu" and not train_set.synthetic:
        print(f"WARNING: training {EPOCHS} epochs of CIFAR-10 on a CPU takes a long time; use a GPU if you can")
    torch.manual_seed(0)
    model = Net().to(device)
    optimizer, loss_fn = make_optimizer(model), nn.CrossEntropyLoss()
    x_train = torch.from_numpy(train_set.x).to(device).permute(0, 3, 1, 2)  # (N, 3, 32, 32) uint8, on the device
    y_train = torch.from_numpy(train_set.y).to(device)
    x_val = normalize_images(torch.from_numpy(val_set.x).to(device).permute(0, 3, 1, 2))
    steps = len(train_set) // BATCH_SIZE
    history = {"loss": [], "validation accuracy": []}
    print(f"training Net ({count_parameters(model):,} parameters) on {device.type}: {EPOCHS} epochs of "
          f"{len(train_set):,} images from {train_set.source}")
    bar = tqdm(total=EPOCHS * steps, desc=f"training on {device.type}", unit="step")
    for epoch in range(EPOCHS):
        order = torch.randperm(len(y_train), device=device)
        for i in range(steps):
            idx = order[i * BATCH_SIZE:(i + 1) * BATCH_SIZE]
            loss = train_step(model, augment(normalize_images(x_train[idx])), y_train[idx], optimizer, loss_fn)
            history["loss"].append(loss)
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}")
        val_accuracy = (predict(model, x_val).numpy() == val_set.y).mean()
        history["validation accuracy"].append(val_accuracy)
        bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}", val=f"{val_accuracy:.1%}")
    bar.close()
    save_checkpoint(CHECKPOINT, model, classes=train_set.classes, accuracy=val_accuracy,
                    mean=CIFAR10_MEAN, std=CIFAR10_STD, note=f"trained on {train_set.source}")
    print(f"validation accuracy {val_accuracy:.1%}; saved {CHECKPOINT} ({CHECKPOINT.stat().st_size / 1e6:.1f} MB)")
    display(show_curves(history, title="Your training run"))
""", "hw2_train"),
md("""
## 6. Test accuracy (測試準確率)

The test set is one the network has never seen. While grading it is the instructor's choice
(`$CNNLIB_HW2_TEST`); here it is CIFAR-10's test split, or generated images if you trained on
generated ones. The next cell loads **your saved file** into a fresh `Net()`, exactly as the
grader does: if it works here, it works there.
""", "hw2_md_test"),
code("""
if GRADING:
    test_set = hw2_test_set()  # the instructor's test set ($CNNLIB_HW2_TEST), else CIFAR-10's test split
else:
    test_set = hw2_test_set("synthetic" if train_full.synthetic else None)
""", "hw2_test_data"),
code("""
model = Net()  # your architecture; the weights come from the file
test_accuracy, checkpoint_problem = None, None
try:
    model, info = load_checkpoint(CHECKPOINT, model=model)
except (FileNotFoundError, CheckpointError) as exc:
    checkpoint_problem = str(exc)
    print(f"NO USABLE CHECKPOINT: {checkpoint_problem}\\n"
          "The accuracy tests below score 0 points; the other tests are graded as usual.")
else:
    scores = cnnlib.train.predict(model, test_set, mean=tuple(info["mean"]), std=tuple(info["std"]))
    test_pred = scores.argmax(1)  # (N,) predicted classes
    test_accuracy = float((test_pred == test_set.y).mean())
    print(f"{CHECKPOINT}: {info.get('note') or 'weights'}; test accuracy {test_accuracy:.1%} "
          f"on {len(test_set):,} images from {test_set.source}")
""", "hw2_evaluate"),
*[test(f"""
assert_true(test_accuracy is not None, "no test accuracy: " + (checkpoint_problem or
            "the cell that loads and evaluates hw2_model.pt failed (see above)"))
assert_true(test_accuracy >= {t / 100}, f"test accuracy {{test_accuracy:.1%}} is below {t}%")
print(f"test accuracy {{test_accuracy:.1%}} >= {t}%: 5 points")
""", f"hw2_accuracy_{t}", 5) for t in TIERS],
md("""
### Per class

The overall accuracy hides which classes are hard. Write `per_class_accuracy`: for each class
`k`, the share of the images of class `k` that were predicted as `k` (`nan` when there is no
image of class `k`).
""", "hw2_md_per_class"),
solution("""
def per_class_accuracy(y_true, y_pred, num_classes=10):
    \"\"\"(num_classes,) float array: accuracy on the images of each true class (nan if none).\"\"\"
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    ### BEGIN SOLUTION
    acc = np.full(num_classes, np.nan)
    for k in range(num_classes):
        mine = y_true == k
        if mine.any():
            acc[k] = (y_pred[mine] == k).mean()
    return acc
    ### END SOLUTION
""", "hw2_per_class_impl"),
test("""
got = per_class_accuracy([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 0], num_classes=4)
assert_shape(got, (4,), "per_class_accuracy(...)")
assert_close(got[:3], [0.5, 2 / 3, 0.0], "per_class_accuracy for classes 0, 1, 2", atol=1e-9,
             hint="divide by the number of images of the TRUE class k (a row of the confusion matrix)")
assert_true(np.isnan(got[3]), f"class 3 has no images: expected nan, got {got[3]}")
print("per_class_accuracy: visible tests passed")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(3)
t, p = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
cm = confusion_matrix(t, p)
assert_close(per_class_accuracy(t, p), np.diag(cm) / cm.sum(1), "per_class_accuracy of random labels", atol=1e-9)
assert_close(per_class_accuracy(torch.tensor([2, 2]), torch.tensor([2, 1]), num_classes=3)[2], 0.5,
             "per_class_accuracy of tensors")
### END HIDDEN TESTS
""", "hw2_per_class", 5),
code("""
if test_accuracy is not None:
    for name, acc in zip(test_set.classes, per_class_accuracy(test_set.y, test_pred, len(test_set.classes)), strict=True):
        print(f"{name:>20s} {acc:6.1%} " + "#" * int(round(40 * acc)))
    display(show_confusion_matrix(confusion_matrix(test_set.y, test_pred, len(test_set.classes)),
                                  test_set.classes, title="Test set: confusion matrix (混淆矩陣)"))
    display(show_misclassified(test_set.x, test_set.y, test_pred, test_set.classes, n=20,
                               title="Test images your network got wrong (true -> predicted)"))
""", "hw2_show_results"),
md("""
## Hand in

Hand in **both** files from this folder: `hw2_cifar10.ipynb` and `hw2_model.pt`. Before you do,
*Validate* (or *Restart & Run All* with the training cell's output kept): the accuracy tests
above must load your file. Questions to think about (not graded): which classes are confused
most, and why? What did augmentation change on the validation accuracy?
""", "hw2_md_hand_in"),
]


def main() -> int:
    write(CELLS, OUT)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
