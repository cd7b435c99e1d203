"""The demo class: a handful of students whose hand-ins show what grading must handle.

Each hand-in is built from the *release* notebook (what a student downloads), with the
answer cells replaced, exactly as a student would fill them in:

* ``ada_perfect``: every answer is the instructor's solution.
* ``ben_untouched``: hands in the release notebook as downloaded.
* ``cai_mistakes``: typical mistakes of this lecture (``reshape`` instead of ``permute``,
  averaging the channels for grayscale, a feature map worked out with the filter flipped, a
  flipped kernel in ``conv2d_single``, an output size off by one, forgotten padding, max instead of average
  pooling, the unbiased variance in batch norm, grading in train mode, a wrong flatten
  size; HW2: one coin for the whole batch in ``random_flip``, ``predict`` without
  ``model.eval()``): partial credit, hints name the mistake.
* ``dee_raises``: code that raises: an ``AttributeError`` inside a function and a stray
  call with a missing argument at the end of a cell.
* ``eve_broken``: a notebook file that is not valid JSON (edited in a text editor).
* ``sam_crashes``: the kernel dies (``os._exit``) in an answer cell of notebook 03 (lecture only).
* ``tia_loops``: an answer cell of notebook 04 that waits in a loop for a file that never
  appears, and no notebook 06 (lecture only).

HW2 is also graded on the saved weights, ``hw2_model.pt``: :mod:`.hw2` trains them at
demo time (ada: every accuracy tier, cai: a weak model, dee: a cut-off file, ben and eve: none).

Answers are keyed by ``grade_id``; ids are unique across the course (``nbNN_*``), so
new notebooks add their mistakes here without touching the builder.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import editions

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)

# grade_id of an answer cell -> what a student with typical mistakes wrote there.
TYPICAL_MISTAKES: dict[str, str] = {
    "nb01_to_chw_impl": '''\
def to_chw(img_hwc):
    """(H, W, C) NumPy array -> (C, H, W) torch.Tensor with the same values and dtype."""
    # the shape comes out right, so this must be fine?
    return torch.as_tensor(np.asarray(img_hwc)).reshape(3, img_hwc.shape[0], img_hwc.shape[1])


def to_hwc(img_chw):
    """(C, H, W) torch.Tensor -> (H, W, C) NumPy array with the same values and dtype."""
    c, h, w = img_chw.shape
    return torch.as_tensor(img_chw).reshape(h, w, c).numpy()
''',
    "nb01_grayscale_impl": '''\
LUMA = torch.tensor([0.299, 0.587, 0.114])  # weights of R, G, B


def rgb_to_gray(x_chw):
    """(3, H, W) float tensor -> (1, H, W) float tensor: 0.299 R + 0.587 G + 0.114 B."""
    return torch.as_tensor(x_chw, dtype=torch.float32).mean(dim=0, keepdim=True)
''',
    # 02: the feature map worked out with the filter flipped (a true convolution, as in signal processing)
    "nb02_feature_map_impl": '''\
feature_map_by_hand = [  # flipped the filter first, as a textbook convolution does
    [-1, 2, 1],
    [1, 1, -1],
    [2, -1, 0],
]
''',
    # 02: a true convolution (kernel flipped), as in a signal-processing course
    "nb02_conv2d_single_impl": '''\
def conv2d_single(image, kernel):
    """2-D convolution (cross-correlation: no flip), stride 1, no padding."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)[::-1, ::-1]  # convolution flips the kernel
    h, w = image.shape
    kh, kw = kernel.shape
    out = np.zeros((h - kh + 1, w - kw + 1))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    return out
''',
    # 03: output size off by one (the first window position not counted)
    "nb03_output_size_impl": '''\
def output_size(n, kernel_size, stride=1, padding=0):
    """Output length along one axis of a convolution."""
    return (n + 2 * padding - kernel_size) // stride
''',
    # 03: the padding argument is accepted but never used
    "nb03_conv2d_impl": '''\
def conv2d(x, w, stride=1, padding=0):
    """Multi-channel 2-D convolution (cross-correlation), no bias."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    _, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh = (h - kh) // stride + 1
    ow = (wd - kw) // stride + 1
    out = np.zeros((f, oh, ow))
    for k in range(f):
        for i in range(oh):
            for j in range(ow):
                top, left = i * stride, j * stride
                out[k, i, j] = np.sum(x[:, top : top + kh, left : left + kw] * w[k])
    return out
''',
    # 04: the max branch copied for both modes (max instead of average)
    "nb04_pool2d_impl": '''\
def pool2d(x, kernel_size, stride=None, mode="max"):
    """Max or average pooling of x (H, W) or (C, H, W) per channel -> (OH, OW) or (C, OH, OW)."""
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}")
    x = np.asarray(x, dtype=np.float64)
    k = kernel_size
    s = kernel_size if stride is None else stride
    oh = (x.shape[-2] - k) // s + 1
    ow = (x.shape[-1] - k) // s + 1
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[..., i, j] = x[..., i * s:i * s + k, j * s:j * s + k].max(axis=(-2, -1))
    return out
''',
    # 05: torch's default .var() is the unbiased one (wrong variance in the normalisation)
    "nb05_bn_impl": '''\
def batch_norm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    """Batch norm of x (N, C, H, W) per channel."""
    shape = (1, -1, 1, 1)
    if training:
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3))
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), new_mean, new_var
''',
    # 05: no model.eval(): graded in train mode
    "nb05_accuracy_impl": '''\
def accuracy(model, x, y, batch_size=8):
    """Fraction (a float in [0, 1]) of x (N, C, H, W) whose predicted class equals y (N,)."""
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            correct += (model(x[i:i + batch_size]).argmax(dim=1) == y[i:i + batch_size]).sum().item()
    return correct / len(x)
''',
    # 06: the sizes of a 28 x 28 MNIST input (wrong flatten size for 32 x 32)
    "nb06_lenet_impl": '''\
def build_lenet5():
    """LeNet-5 as an nn.Sequential: (N, 1, 32, 32) -> (N, 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.ReLU(),  # MNIST digits are 28 x 28: 28 -> 24 -> 12 -> 8 -> 4
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )
''',
    # HW2: one coin for the whole batch: all images mirrored, or none
    "hw2_flip_impl": '''\
def random_flip(x):
    """(N, C, H, W) -> (N, C, H, W): each image mirrored left-right with probability 1/2."""
    if torch.rand(1).item() < 0.5:
        return x.flip(-1)
    return x.clone()
''',
    # HW2: the loop moves the images to the device but not the labels (fails on a GPU, caught on a CPU)
    "hw2_train_model_impl": '''\
def train_model(model, train_batches, val_batches, optimizer, loss_fn, device, epochs,
                time_budget_min=None, checkpoint=None):
    """Train for `epochs` epochs (or until `time_budget_min` minutes have passed), validate after
    every epoch, save the best weights to `checkpoint`; returns {"loss": [...], "val_accuracy": [...]}."""
    history = {"loss": [], "val_accuracy": []}
    start = time.time()
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in tqdm(train_batches, desc=f"epoch {epoch + 1}"):
            xb = xb.to(device, non_blocking=True)
            total += train_step(model, augment(normalize_images(xb)), yb, optimizer, loss_fn)
        history["loss"].append(total / len(train_batches))
        right = sum(int((predict(model, normalize_images(xb.to(device))) == yb).sum()) for xb, yb in val_batches)
        history["val_accuracy"].append(right / sum(len(yb) for _, yb in val_batches))
        if checkpoint is not None and history["val_accuracy"][-1] == max(history["val_accuracy"]):
            save_checkpoint(checkpoint, model, accuracy=history["val_accuracy"][-1])
        if time_budget_min is not None and time.time() - start > 60 * time_budget_min:
            break
    model.eval()
    return history
''',
    # HW2: evaluated in training mode (batch norm with the batch's statistics, dropout on)
    "hw2_predict_impl": '''\
def predict(model, x, batch_size=500):
    """Predicted classes (N,) int64 on the CPU for x (N, 3, H, W), in batches of batch_size."""
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(x[i:i + batch_size]).argmax(dim=1).cpu())
    return torch.cat(out)
''',
}

# grade_id -> code that raises.
RAISING_CODE: dict[str, str] = {
    "nb01_to_float_impl": '''\
def to_float(img_uint8):
    """uint8 array or tensor (any shape), values 0-255 -> float32 tensor, values 0.0-1.0."""
    return img_uint8.float() / 255  # works for tensors, not for NumPy arrays
''',
    "nb03_param_counts_impl": '''\
def fc_params(channels, height, width, hidden, bias=False):
    """Parameters of a fully-connected layer from a flattened (C, H, W) image to `hidden` units."""
    return channels * height * width * hidden + (hidden if bias else 0)


def conv_layer_params(in_channels, num_filters, kernel_size, bias=False):
    """Learnable parameters of nn.Conv2d(in_channels, num_filters, kernel_size, bias=bias)."""
    return num_filters * in_channels * kernel_size * kernel_size + (num_filters if bias else 0)


print(fc_params(3, 128, 128))  # left-over debugging line: TypeError, missing argument
''',
    "hw2_per_class_impl": '''\
def per_class_accuracy(y_true, y_pred, num_classes=10):
    """(num_classes,) float array: accuracy on the images of each true class (nan if none)."""
    correct = y_pred.eq(y_true)  # tensors have .eq; lists and NumPy arrays do not: AttributeError
    return np.array([correct[y_true == k].float().mean().item() for k in range(num_classes)])
''',
}


# grade_id -> code that kills the kernel, or never ends (graded as `kernel-died` and `timeout`)
CRASHING_CODE: dict[str, str] = {
    "nb03_conv2d_impl": "import os\n\nos._exit(3)  # the kernel dies: the cells graded before keep their points\n",
}
LOOPING_CODE: dict[str, str] = {  # it waits (sleeps) for a file that never appears: stopped at the time limit
    "nb04_pool2d_impl": "import os\nimport time\n\nwhile not os.path.exists('pool2d_done.txt'):\n    time.sleep(0.2)\n",
}


@dataclass(frozen=True)
class DemoStudent:
    student_id: str
    description: str
    base: str  # "solution" (answers filled in), "release" (untouched) or "broken-json"
    answers: dict[str, str] = field(default_factory=dict)
    assignments: tuple[str, ...] = ("lecture", "hw2")  # what this student hands in
    left_out: tuple[str, ...] = ()  # notebooks (stems) this student forgot to hand in


DEMO_STUDENTS: tuple[DemoStudent, ...] = (
    DemoStudent("ada_perfect", "every answer right", "solution"),
    DemoStudent("ben_untouched", "hands in the release notebooks unchanged", "release"),
    DemoStudent("cai_mistakes", "typical mistakes of the lecture", "solution", TYPICAL_MISTAKES),
    DemoStudent("dee_raises", "code that raises errors", "solution", RAISING_CODE),
    DemoStudent("eve_broken", "notebook files that are not valid JSON", "broken-json"),
    DemoStudent("sam_crashes", "the kernel dies in notebook 03 (os._exit)", "solution", CRASHING_CODE, ("lecture",)),
    DemoStudent("tia_loops", "a loop that never ends in notebook 04; forgot to hand in 06", "solution",
                LOOPING_CODE, ("lecture",), ("06_cnn_in_pytorch",)),
)


def strip_solution_markers(source: str) -> str:
    """The instructor's answer as a student would type it: the solution markers removed."""
    return SOLUTION_MARKERS.sub("", source)


def fill_answers(release_nb, source_nb, answers: dict[str, str] | None = None):
    """A copy of ``release_nb`` with every answer cell filled in.

    Answer cells (nbgrader ``solution: true``) take the text of ``answers[grade_id]``
    when given, else the instructor's solution from ``source_nb``.
    """
    answers = answers or {}
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: strip_solution_markers(cell.source)
        for cell in source_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            gid = meta["grade_id"]
            cell.source = answers.get(gid, solutions[gid])
    return nb


def write_hand_in(student: DemoStudent, release_path: Path, source_path: Path, dest: Path) -> None:
    """Write ``student``'s version of one notebook to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if student.base == "broken-json":
        text = release_path.read_text(encoding="utf-8")
        # a hand edit gone wrong: the file is cut off in the middle
        dest.write_text(text[: len(text) // 2], encoding="utf-8")
        return
    release_nb = nbformat.read(release_path, as_version=4)
    if student.base == "release":
        nb = release_nb
    else:
        nb = fill_answers(release_nb, nbformat.read(source_path, as_version=4), student.answers)
    nbformat.write(nb, dest)


def create_demo_class(course: Path, assignment: str, timestamp: str = "2025-10-15 09:00:00.000000 UTC",
                      students: tuple[DemoStudent, ...] | None = None, lang: str = editions.DEFAULT) -> list[str]:
    """Create ``submitted/<student>/<assignment>/`` for the demo students who hand it in; return their ids.

    ``students`` defaults to :data:`DEMO_STUDENTS`; they work in the ``lang`` edition (its release
    folder, answers typed into it from that edition's source, built by ``cnn-course release``).
    """
    course = Path(course)
    release_dir = course / editions.release_dir(lang) / assignment
    source_dir = editions.edition_source(course, lang, assignment)
    notebooks = sorted(release_dir.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no release notebooks in {release_dir}; run `make release` first")
    ids = []
    for student in students or DEMO_STUDENTS:
        if assignment not in student.assignments:
            continue
        folder = course / "submitted" / student.student_id / assignment
        for nb_path in notebooks:
            if nb_path.stem in student.left_out:
                continue
            write_hand_in(student, nb_path, source_dir / nb_path.name, folder / nb_path.name)
        (folder / "timestamp.txt").write_text(timestamp, encoding="utf-8")
        ids.append(student.student_id)
    return ids
