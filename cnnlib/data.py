"""Images and data sets for the course: no download needed for the lecture notebooks.

* ``sample_rgb_image()``: a 128x128 RGB picture drawn in code, (H, W, 3) uint8, as an
  image file would load.
* ``sample_digit()``: a handwritten-style digit, (28, 28) uint8, the size of MNIST.
* ``cifar10_samples()``: 30 real CIFAR-10 training images (3 per class) that ship
  with cnnlib (Krizhevsky, 2009), as (N, 32, 32, 3) uint8 and labels.
* ``CIFAR10_CLASSES``: the ten class names in label order.
* ``synthetic_lines()``: a generated, learnable set of noisy line images in four
  orientations (``LINE_CLASSES``), for training a small CNN in seconds without a download.

HW2 (CIFAR-10 training):

* ``load_cifar10()``: the real data set from torchvision's download, from a ``.npz`` file
  (an argument or ``$CNNLIB_DATA_DIR``), or, when asked, ``synthetic_cifar()``: a small
  generated look-alike (10 classes of shapes) for offline tests, labelled as such.
* ``ImageSet``: images (N, 32, 32, 3) uint8, labels, class names and where they came from.
* ``normalize``, ``random_flip``, ``random_translate``: tensor augmentation, on any device.
* ``GpuLoader``: keeps the uint8 images on the device and augments batches there, seeded,
  with no worker processes.
* ``hw2_test_set()``: the instructor's HW2 test set, chosen by ``$CNNLIB_HW2_TEST`` (a
  ``.npz`` or ``synthetic``), else CIFAR-10's test split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DATA_ENV",
    "GpuLoader",
    "HW2_TEST_ENV",
    "ImageSet",
    "LINE_CLASSES",
    "cifar10_samples",
    "hw2_test_set",
    "load_cifar10",
    "load_npz",
    "normalize",
    "random_flip",
    "random_translate",
    "synthetic_cifar",
    "sample_digit",
    "sample_rgb_image",
    "synthetic_lines",
]

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# Labels of synthetic_lines(), in order: the orientation of the line in the image.
LINE_CLASSES = ("horizontal", "vertical", "diagonal \\", "diagonal /")


def sample_rgb_image(size: int = 128) -> np.ndarray:
    """A small landscape (sky, sun, hill, red house), shape (size, size, 3), dtype uint8.

    Channels last (H, W, C), like a picture read by matplotlib or PIL. Deterministic.
    """
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be an int >= 16; got {size!r}")
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)  # (H, W) in [0, 1]
    img = np.zeros((size, size, 3))
    # sky: light blue at the top fading to white at the horizon
    img[..., 0] = 0.45 + 0.5 * yy
    img[..., 1] = 0.65 + 0.3 * yy
    img[..., 2] = 0.95
    # sun: a yellow disc, top right
    sun = (xx - 0.78) ** 2 + (yy - 0.2) ** 2 < 0.11**2
    img[sun] = (1.0, 0.85, 0.1)
    # hill: green, darker towards the bottom
    hill = yy > 0.62 + 0.12 * np.cos(3.0 * xx)
    img[hill] = np.stack([0.15 + 0 * yy, 0.55 - 0.25 * yy, 0.15 + 0 * yy], -1)[hill]
    # house: a red wall with a dark door, on the hill
    wall = (xx > 0.18) & (xx < 0.42) & (yy > 0.45) & (yy < 0.68)
    img[wall] = (0.8, 0.1, 0.1)
    door = (xx > 0.27) & (xx < 0.33) & (yy > 0.56) & (yy < 0.68)
    img[door] = (0.25, 0.12, 0.05)
    roof = (yy > 0.3) & (yy <= 0.45) & (np.abs(xx - 0.3) < (yy - 0.3) * 1.0)
    img[roof] = (0.35, 0.2, 0.1)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def sample_digit() -> np.ndarray:
    """A handwritten-style "7", shape (28, 28), dtype uint8, white on black like MNIST."""
    yy, xx = np.mgrid[0:28, 0:28].astype(float)

    def stroke(y0, x0, y1, x1, width=1.6):
        # distance from every pixel to the segment (y0, x0)-(y1, x1)
        d = np.array([y1 - y0, x1 - x0])
        t = ((yy - y0) * d[0] + (xx - x0) * d[1]) / (d @ d)
        t = np.clip(t, 0, 1)
        dist = np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1]))
        return np.clip(width + 0.5 - dist, 0, 1)

    ink = np.maximum(stroke(6, 7, 6, 21), stroke(6, 21, 23, 12))
    ink = np.maximum(ink, stroke(14, 12, 14, 20, width=1.2))
    return np.round(ink * 255).astype(np.uint8)


def cifar10_samples() -> tuple[np.ndarray, np.ndarray]:
    """30 CIFAR-10 training images that ship with cnnlib, 3 per class.

    Returns:
        x: (30, 32, 32, 3) uint8, channels last; y: (30,) int64 labels 0-9
        (names in ``CIFAR10_CLASSES``). Krizhevsky, "Learning Multiple Layers of
        Features from Tiny Images", 2009.
    """
    with resources.files("cnnlib").joinpath("assets/cifar10_samples.npz").open("rb") as fh:
        data = np.load(fh)
        return data["x"].copy(), data["y"].copy()


def synthetic_lines(n: int = 2048, size: int = 32, seed: int = 0, noise: float = 0.15):
    """A generated data set (not real photos): one noisy line per image, four orientations.

    Each image holds one bright line (length, position and thickness random) that is
    horizontal, vertical, diagonal ``\\`` or diagonal ``/`` (labels 0-3, names in
    ``LINE_CLASSES``), on Gaussian noise. A small CNN learns it in a few seconds on a
    CPU, and its first-layer filters come out as oriented edge detectors.

    Args:
        n: number of images (>= 1); the classes are balanced (label ``i % 4``, shuffled).
        size: height and width in pixels (>= 12).
        seed: the same seed gives the same images.
        noise: standard deviation of the background noise (>= 0).

    Returns:
        x: (n, 1, size, size) float32 in [0, 1], channels first; y: (n,) int64.

    Raises:
        ValueError: an argument out of range.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    if not isinstance(size, int) or size < 12:
        raise ValueError(f"size must be an int >= 12; got {size!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be a number >= 0; got {noise!r}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(LINE_CLASSES))
    direction = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [-1.0, 1.0]])[y]  # (dy, dx)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    half = rng.uniform(0.2, 0.35, n) * size  # half the line length
    margin = half[:, None] * np.abs(direction) + 1  # keep the line inside the image
    centre = rng.uniform(margin, size - 1 - margin)  # (n, 2): (row, column)
    width = rng.uniform(0.8, 1.6, n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    # distance from every pixel to the segment centre +- half * direction
    py = yy[None] - centre[:, 0, None, None]
    px = xx[None] - centre[:, 1, None, None]
    t = np.clip(py * direction[:, 0, None, None] + px * direction[:, 1, None, None],
                -half[:, None, None], half[:, None, None])
    dist = np.hypot(py - t * direction[:, 0, None, None], px - t * direction[:, 1, None, None])
    ink = np.clip(width[:, None, None] + 0.5 - dist, 0, 1)
    x = np.clip(ink + rng.normal(0, noise, ink.shape), 0, 1)
    return x[:, None].astype(np.float32), y.astype(np.int64)


# --------------------------------------------------------------------------------------
# HW2: CIFAR-10 for training
# --------------------------------------------------------------------------------------

#: Per-channel mean and standard deviation of the CIFAR-10 training images, in [0, 1].
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

#: Where torchvision's download of CIFAR-10 goes when no ``root`` is given.
DEFAULT_ROOT = Path.home() / ".cache" / "cnnlib" / "cifar10"

#: Environment variable naming a folder that holds ``cifar10_train.npz`` / ``cifar10_test.npz``.
DATA_ENV = "CNNLIB_DATA_DIR"

SYNTHETIC_CLASSES = (
    "disc", "square", "ring", "cross", "horizontal stripes",
    "vertical stripes", "diagonal stripes", "checkerboard", "triangle", "frame",
)


@dataclass(frozen=True)
class ImageSet:
    """Images with labels.

    Attributes:
        x: (N, 32, 32, 3) uint8, channels last, as the files store them.
        y: (N,) int64 labels, ``0 <= y < len(classes)``.
        classes: class names in label order.
        source: where the images came from, in words (a path, ``torchvision``, or
            ``synthetic``), so a notebook can say plainly what it trained on.
    """

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    source: str

    def __post_init__(self):
        x, y = self.x, self.y
        if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 4 and x.shape[3] == 3):
            raise ValueError(f"ImageSet.x must be a uint8 array (N, H, W, 3); got "
                             f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}")
        if not (isinstance(y, np.ndarray) and y.ndim == 1 and len(y) == len(x)):
            raise ValueError(f"ImageSet.y must be a 1-D array with one label per image ({len(x)}); "
                             f"got shape {getattr(y, 'shape', type(y).__name__)}")
        if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
            raise ValueError(f"labels must lie in 0..{len(self.classes) - 1}; got {y.min()}..{y.max()}")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def synthetic(self) -> bool:
        return self.source.startswith("synthetic")

    def describe(self) -> str:
        """One line for people: how many images, whether they are real, where from."""
        what = "GENERATED look-alike images, not CIFAR-10" if self.synthetic else "CIFAR-10"
        return f"{len(self):,} images, {what}, from {self.source}"

    def split(self, n_val: int) -> tuple[ImageSet, ImageSet | None]:
        """(train, validation): the last ``n_val`` images are the validation set (None if 0)."""
        if not isinstance(n_val, int) or not 0 <= n_val < len(self):
            raise ValueError(f"n_val must be an int in 0..{len(self) - 1} (images held out for "
                             f"validation out of {len(self)}); got {n_val!r}")
        if n_val == 0:
            return self, None
        cut = len(self) - n_val
        return (ImageSet(self.x[:cut], self.y[:cut], self.classes, self.source),
                ImageSet(self.x[cut:], self.y[cut:], self.classes, self.source + f" (last {n_val})"))

    def subset(self, n: int) -> ImageSet:
        """The first ``n`` images."""
        return ImageSet(self.x[:n], self.y[:n], self.classes, self.source)


def load_npz(path) -> ImageSet:
    """An ``ImageSet`` from a ``.npz`` with ``x`` uint8 (N, 32, 32, 3) and ``y`` labels 0-9.

    That is the format of the course's ``cifar10_train.npz`` and of the instructor's test
    file. Raises ``FileNotFoundError`` or ``ValueError`` that says what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}: expected a .npz with arrays x "
                                f"(uint8, N x 32 x 32 x 3) and y (labels 0-9)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as exc:  # not a zip / truncated / a pickle
        raise ValueError(f"{path} is not a readable .npz file ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array; expected a .npz with arrays x (images) and y (labels)")
    with loaded as data:
        if "x" not in data or "y" not in data:
            raise ValueError(f"{path} holds arrays {sorted(data.files)}; expected x (images) and y (labels)")
        x, y = data["x"], data["y"]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise ValueError(f"{path}: x must be uint8 (N, 32, 32, 3), channels last; got {x.dtype} {x.shape}")
    return ImageSet(np.ascontiguousarray(x), y.astype(np.int64), CIFAR10_CLASSES, str(path))


def _torchvision_cifar10(root, train: bool, download: bool) -> ImageSet:
    import torchvision  # imported here: only this path needs it

    ds = torchvision.datasets.CIFAR10(root=str(root), train=train, download=download)
    return ImageSet(np.asarray(ds.data, dtype=np.uint8), np.asarray(ds.targets, dtype=np.int64),
                    tuple(ds.classes), f"torchvision CIFAR10 ({'train' if train else 'test'}, {root})")


def load_cifar10(path=None, *, train: bool = True, root=None, download: bool = True,
                 synthetic: bool | str = False, verbose: bool = True) -> ImageSet:
    """CIFAR-10 (Krizhevsky, 2009) from the first source that works.

    1. ``path``: a ``.npz`` file (see ``load_npz``), or a folder holding
       ``cifar10_train.npz`` / ``cifar10_test.npz``.
    2. ``$CNNLIB_DATA_DIR``: a folder holding those files.
    3. torchvision's ``CIFAR10(root, download=download)`` (``root`` defaults to
       ``~/.cache/cnnlib/cifar10``; the download needs the internet once).
    4. ``synthetic=True``: when all of the above fail, ``synthetic_cifar()``, a small
       generated set; ``synthetic="only"`` skips the real sources.

    Args:
        train: the training split (True) or the test split (False).
        verbose: print one line saying which source was used.

    Returns:
        An ``ImageSet``; ``.source`` says where it came from and ``.synthetic`` whether it
        is generated.

    Raises:
        FileNotFoundError: no source worked; the message lists every way to provide data.
    """
    split = "train" if train else "test"
    root = Path(root) if root is not None else DEFAULT_ROOT
    tried = []

    def done(ds: ImageSet) -> ImageSet:
        if verbose:
            print(f"data: {split} split, {ds.describe()}")
        return ds

    if synthetic != "only":
        candidates = []
        if path is not None:
            p = Path(path)
            candidates.append(p / f"cifar10_{split}.npz" if p.is_dir() else p)
        if os.environ.get(DATA_ENV):
            candidates.append(Path(os.environ[DATA_ENV]) / f"cifar10_{split}.npz")
        for c in candidates:
            if c.is_file():
                return done(load_npz(c))  # a broken file is an error, not a reason to go on
            if path is not None and c == candidates[0]:
                # a path the caller named is not there: say so now, do not download instead
                raise FileNotFoundError(f"no data file at {c}: expected a .npz with arrays x (uint8, "
                                        f"N x 32 x 32 x 3) and y (labels 0-9), or a folder holding "
                                        f"cifar10_{split}.npz; " + _ways(split, root))
            tried.append(f"{c}: no such file")
        try:
            return done(_torchvision_cifar10(root, train, download))
        except Exception as exc:  # offline, no torchvision, a broken cache
            tried.append(f"torchvision CIFAR10(root={root}, download={download}): {type(exc).__name__}: {exc}")
    if synthetic:
        return done(synthetic_cifar(n=5000 if train else 1000, seed=0 if train else 1))
    raise FileNotFoundError(f"no CIFAR-10 {split} data found. Tried:\n  - " + "\n  - ".join(tried) + "\n"
                            + _ways(split, root))


def _ways(split: str, root: Path) -> str:
    return (f"Provide data in one of these ways:\n"
            f"  - connect to the internet once: torchvision downloads CIFAR-10 (170 MB) to {root}\n"
            f"  - pass a path: load_cifar10('cifar10_{split}.npz') (arrays x uint8 N x 32 x 32 x 3, y)\n"
            f"  - set ${DATA_ENV} to a folder holding cifar10_{split}.npz\n"
            f"  - for a quick offline run, load_cifar10(synthetic=True) uses generated shapes")


#: Environment variable that names the HW2 test set: a ``.npz`` file or the word ``synthetic``.
HW2_TEST_ENV = "CNNLIB_HW2_TEST"


def hw2_test_set(spec: str | os.PathLike | None = None, *, download: bool | None = None,
                 verbose: bool = True) -> ImageSet:
    """The test set that HW2 hand-ins are graded on (the instructor's choice).

    ``spec`` (or, when None, ``$CNNLIB_HW2_TEST``) is either

    * a path to a ``.npz`` with ``x`` uint8 (N, 32, 32, 3) and ``y`` labels 0-9, or
    * the word ``synthetic``: ``synthetic_cifar(1000, seed=1)``, the generated look-alike
      that ``load_cifar10(train=False, synthetic="only")`` gives (offline demos, tests);

    and when neither is given, CIFAR-10's real test split through ``load_cifar10(train=False)``
    (``$CNNLIB_DATA_DIR``, torchvision's cache or download).

    Args:
        download: let torchvision download CIFAR-10; default: yes, except while nbgrader
            grades (``$NBGRADER_EXECUTION`` set), where every hand-in would download it again.
        verbose: print one line saying which test set is used.

    Raises:
        FileNotFoundError: the named file is missing, or no CIFAR-10 test split is found;
            the message says what to set.
        ValueError: the named file is not a test set (see ``load_npz``).
    """
    if spec is None:
        spec = os.environ.get(HW2_TEST_ENV) or None
    if download is None:
        download = not os.environ.get("NBGRADER_EXECUTION")
    if spec is not None and str(spec).strip().lower() == "synthetic":
        ds = synthetic_cifar(n=1000, seed=1)
    elif spec is not None:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"HW2 test set: no file at {path} (from {HW2_TEST_ENV} or the argument); "
                                    f"expected a .npz with x (uint8, N x 32 x 32 x 3) and y (labels 0-9), "
                                    f"or the word 'synthetic'")
        ds = load_npz(path)
    else:
        try:
            ds = load_cifar10(train=False, download=download, verbose=False)
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"HW2 test set: {HW2_TEST_ENV} is not set and CIFAR-10's test split is not available "
                f"here (download={download}). Instructor: set {HW2_TEST_ENV} to a .npz file with arrays x "
                f"(uint8, N x 32 x 32 x 3) and y (labels 0-9), e.g. {HW2_TEST_ENV}=/srv/course/cifar10_test.npz, "
                f"or to 'synthetic' for generated images; or set {DATA_ENV} to a folder holding "
                f"cifar10_test.npz.\nDetails: {exc}") from None
    if verbose:
        print(f"test set: {ds.describe()}")
    return ds


def synthetic_cifar(n: int = 5000, seed: int = 0, noise: float = 20.0) -> ImageSet:
    """A GENERATED look-alike of CIFAR-10 (not photos): 10 classes of coloured shapes.

    Every image is 32x32 RGB uint8 with one shape (``SYNTHETIC_CLASSES``: disc, square,
    ring, ...) of random colour, size and position on a random background, plus noise. A
    small CNN learns it to high accuracy in seconds on a CPU, a linear model does not; it
    exists so that tests and offline runs exercise the whole training path.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10).astype(np.int64)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    cy = rng.uniform(11, 21, (n, 1, 1)).astype(np.float32)
    cx = rng.uniform(11, 21, (n, 1, 1)).astype(np.float32)
    r = rng.uniform(6, 10, (n, 1, 1)).astype(np.float32)
    dy, dx = yy - cy, xx - cx
    d = np.hypot(dy, dx)
    box = (np.abs(dy) < r) & (np.abs(dx) < r)
    period = rng.uniform(3, 5, (n, 1, 1)).astype(np.float32)
    masks = [
        d < r,                                                      # disc
        box,                                                        # square
        (d < r) & (d > 0.6 * r),                                    # ring
        ((np.abs(dy) < 0.25 * r) | (np.abs(dx) < 0.25 * r)) & box,  # cross
        box & (np.mod(yy, period) < period / 2),                    # horizontal stripes
        box & (np.mod(xx, period) < period / 2),                    # vertical stripes
        box & (np.mod(xx + yy, period * 1.4) < period * 0.7),       # diagonal stripes
        box & ((np.floor(dy / 3) + np.floor(dx / 3)) % 2 == 0),     # checkerboard
        (dy < r) & (np.abs(dx) < (dy + r) / 2),                     # triangle
        box & ~((np.abs(dy) < 0.6 * r) & (np.abs(dx) < 0.6 * r)),   # frame
    ]
    shape = np.zeros((n, 32, 32), bool)
    for k, m in enumerate(masks):
        sel = y == k
        shape[sel] = np.broadcast_to(m, (n, 32, 32))[sel]
    fg = rng.uniform(0, 255, (n, 1, 1, 3)).astype(np.float32)
    bg = rng.uniform(0, 255, (n, 1, 1, 3)).astype(np.float32)
    # keep the shape visible: push the foreground away from the background
    fg = np.where(np.abs(fg - bg).sum(-1, keepdims=True) < 150, 255 - bg, fg)
    img = np.where(shape[..., None], fg, bg) + rng.normal(0, noise, (n, 32, 32, 3)).astype(np.float32)
    x = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return ImageSet(x, y, SYNTHETIC_CLASSES, f"synthetic (generated shapes, n={n}, seed={seed})")


# --------------------------------------------------------------------------------------
# Augmentation on tensors and a loader that keeps everything on the device
# --------------------------------------------------------------------------------------

def normalize(x, mean=CIFAR10_MEAN, std=CIFAR10_STD, dtype=None):
    """uint8 images (N, 3, H, W) on any device -> float, (x / 255 - mean) / std per channel.

    ``dtype`` defaults to float32. Raises ValueError for anything but (N, 3, H, W).
    """
    import torch

    if not (isinstance(x, torch.Tensor) and x.ndim == 4 and x.shape[1] == len(mean)):
        raise ValueError(f"normalize expects a tensor (N, {len(mean)}, H, W), channels first; got "
                         f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
    dtype = dtype or torch.float32
    m = torch.tensor(mean, device=x.device, dtype=dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=dtype).view(1, -1, 1, 1)
    return (x.to(dtype) / 255 - m) / s


def random_flip(x, generator=None):
    """Mirror each image left-right with probability 1/2 (x: (N, C, H, W), any device)."""
    import torch

    flip = torch.rand(len(x), generator=generator).to(x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def random_translate(x, pad: int, generator=None):
    """Shift each image by up to ``pad`` pixels in each direction (reflect padding, then a
    random crop of the original size). x: (N, C, H, W) on any device; pad 0 returns x."""
    import torch
    import torch.nn.functional as F

    if pad == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (pad,) * 4, mode="reflect")
    shifts = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator).to(x.device)
    out = torch.empty_like(x)
    # one masked copy per possible shift: (2 pad + 1)^2 slices, no per-image loop
    for sy in range(2 * pad + 1):
        for sx in range(2 * pad + 1):
            sel = (shifts[:, 0] == sy) & (shifts[:, 1] == sx)
            out[sel] = padded[sel, :, sy:sy + h, sx:sx + w]
    return out


class GpuLoader:
    """Batches of (images, labels) that stay on ``device`` from start to finish.

    The uint8 images go to the device once (a quarter of float32's memory); every epoch
    they are normalised, flipped and translated there with a seeded generator, so there
    are no worker processes and two loaders with the same seed give the same batches.

    Args:
        data: an ``ImageSet``.
        batch_size: images per batch.
        train: shuffle, augment and drop the last partial batch (False: in order, all).
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``.
        flip, translate: augmentations (train only).
        alternate_flip: instead of a fresh coin per image every epoch, mirror a random half
            in the first epoch and the other half in the next, and so on (airbench's
            alternating flip: every image is seen both ways within two epochs).
        mean, std: normalisation; ``dtype``: float type of the batches;
        channels_last: memory format of the batches; ``seed``: shuffling and augmentation.
    """

    def __init__(self, data: ImageSet, batch_size: int, *, train: bool = True, device="cpu",
                 flip: bool = True, translate: int = 2, mean=CIFAR10_MEAN, std=CIFAR10_STD,
                 dtype=None, channels_last: bool = False, seed: int = 0, alternate_flip: bool = False):
        import torch

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
        if train and batch_size > len(data):
            raise ValueError(f"batch_size {batch_size} is larger than the {len(data)} training images")
        self.device = torch.device(device)
        self.images = torch.from_numpy(data.x).to(self.device).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.from_numpy(data.y).to(self.device)
        self.batch_size, self.train = batch_size, train
        self.flip, self.translate = flip and train, translate if train else 0
        self.mean, self.std = mean, std
        self.dtype = dtype or torch.float32
        self.channels_last = channels_last
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.flip_mask = None
        if self.flip and alternate_flip:
            self.flip_mask = (torch.rand(len(self.labels), generator=self.generator) < 0.5).to(self.device)

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.train else -(-n // self.batch_size)

    def _prepare(self):
        import torch

        x = normalize(self.images, self.mean, self.std, self.dtype)
        if self.flip_mask is not None:
            mask = self.flip_mask if self.epoch % 2 == 0 else ~self.flip_mask
            x = torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)
        elif self.flip:
            x = random_flip(x, self.generator)
        x = random_translate(x, self.translate, self.generator)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def __iter__(self):
        import torch

        x = self._prepare()
        n = len(self.labels)
        order = (torch.randperm(n, generator=self.generator) if self.train else torch.arange(n)).to(self.device)
        self.epoch += 1
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield x[idx], self.labels[idx]
