"""Images and data sets for the course: no download needed for the lecture notebooks.

* ``sample_rgb_image()``: a 128x128 RGB picture drawn in code, (H, W, 3) uint8, as an
  image file would load.
* ``sample_digit()``: a handwritten-style digit, (28, 28) uint8, the size of MNIST.
* ``cifar10_samples()``: 30 real CIFAR-10 training images (3 per class) that ship
  with cnnlib (Krizhevsky, 2009), as (N, 32, 32, 3) uint8 and labels.
* ``CIFAR10_CLASSES``: the ten class names in label order.
* ``synthetic_lines()``: a generated, learnable set of noisy line images in four
  orientations (``LINE_CLASSES``), for training a small CNN in seconds without a download.

(These are defined in ``cnnlib.samples``.)

HW2 (CIFAR-10 training):

* ``load_cifar10()``: the real data set from torchvision's download, from a ``.npz`` file
  (an argument or ``$CNNLIB_DATA_DIR``), or, when asked, ``synthetic_cifar()``: a small
  generated look-alike (10 classes of shapes) for offline tests, labelled as such.
* ``ImageSet``: images (N, 32, 32, 3) uint8, labels, class names and where they came from.
* ``normalize``, ``random_flip``, ``random_translate``: tensor augmentation, on any device;
  ``GpuLoader``: keeps the uint8 images on the device and augments batches there, seeded,
  with no worker processes (defined in ``cnnlib.augment``, with ``CIFAR10_MEAN``/``STD``);
  ``Batches``: CPU batches for a loop that moves them itself (``cnnlib.batches``).
* ``hw2_test_set()``: the instructor's HW2 test set, chosen by ``$CNNLIB_HW2_TEST`` (a
  ``.npz`` or ``synthetic``), else CIFAR-10's test split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Re-exported: the sample images and the augmentation live in their own modules, and
# notebooks keep importing them from here (``from cnnlib.data import normalize, ...``).
from .augment import CIFAR10_MEAN, CIFAR10_STD, GpuLoader, normalize, random_flip, random_translate
from .batches import Batches
from .i18n import _
from .samples import (
    CIFAR10_CLASSES,
    LINE_CLASSES,
    cifar10_samples,
    sample_digit,
    sample_rgb_image,
    synthetic_lines,
)

__all__ = [
    "Batches",
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


# --------------------------------------------------------------------------------------
# HW2: CIFAR-10 for training
# --------------------------------------------------------------------------------------

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
            raise ValueError(_("ImageSet.x must be a uint8 array (N, H, W, 3); got {got}").format(
                got=f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}"))
        if not (isinstance(y, np.ndarray) and y.ndim == 1 and len(y) == len(x)):
            raise ValueError(_("ImageSet.y must be a 1-D array with one label per image ({n}); got shape {shape}").format(
                n=len(x), shape=getattr(y, "shape", type(y).__name__)))
        if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
            raise ValueError(_("labels must lie in 0..{last}; got {low}..{high}").format(
                last=len(self.classes) - 1, low=y.min(), high=y.max()))

    def __len__(self) -> int:
        return len(self.y)

    @property
    def synthetic(self) -> bool:
        return self.source.startswith("synthetic")

    def describe(self) -> str:
        """One line for people: how many images, whether they are real, where from."""
        if self.synthetic:
            return _("{n} images, GENERATED look-alike images, not CIFAR-10, from {source}").format(
                n=f"{len(self):,}", source=self.source)
        return _("{n} images, CIFAR-10, from {source}").format(n=f"{len(self):,}", source=self.source)

    def split(self, n_val: int) -> tuple[ImageSet, ImageSet | None]:
        """(train, validation): the last ``n_val`` images are the validation set (None if 0)."""
        if not isinstance(n_val, int) or not 0 <= n_val < len(self):
            raise ValueError(_("n_val must be an int in 0..{last} (images held out for validation out of {n}); "
                               "got {value}").format(last=len(self) - 1, n=len(self), value=repr(n_val)))
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
        raise FileNotFoundError(_("no data file at {path}: expected a .npz with arrays x (uint8, N x 32 x 32 x 3) "
                                  "and y (labels 0-9)").format(path=path))
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as exc:  # not a zip / truncated / a pickle
        raise ValueError(_("{path} is not a readable .npz file ({error})").format(
            path=path, error=str(exc).splitlines()[0][:120])) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(_("{path} holds a single array; expected a .npz with arrays x (images) and y (labels)").format(
            path=path))
    with loaded as data:
        if "x" not in data or "y" not in data:
            raise ValueError(_("{path} holds arrays {names}; expected x (images) and y (labels)").format(
                path=path, names=sorted(data.files)))
        x, y = data["x"], data["y"]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise ValueError(_("{path}: x must be uint8 (N, 32, 32, 3), channels last; got {dtype} {shape}").format(
            path=path, dtype=x.dtype, shape=x.shape))
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
            print(_("data: {split} split, {description}").format(split=split, description=ds.describe()))
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
                raise FileNotFoundError(_("no data file at {path}: expected a .npz with arrays x (uint8, N x 32 x 32 "
                                          "x 3) and y (labels 0-9), or a folder holding cifar10_{split}.npz; ").format(
                    path=c, split=split) + _ways(split, root))
            tried.append(_("{path}: no such file").format(path=c))
        try:
            return done(_torchvision_cifar10(root, train, download))
        except Exception as exc:  # offline, no torchvision, a broken cache
            tried.append(f"torchvision CIFAR10(root={root}, download={download}): {type(exc).__name__}: {exc}")
    if synthetic:
        return done(synthetic_cifar(n=5000 if train else 1000, seed=0 if train else 1))
    raise FileNotFoundError(_("no CIFAR-10 {split} data found. Tried:\n  - {tried}\n").format(
        split=split, tried="\n  - ".join(tried)) + _ways(split, root))


def _ways(split: str, root: Path) -> str:
    return _("Provide data in one of these ways:\n"
             "  - connect to the internet once: torchvision downloads CIFAR-10 (170 MB) to {root}\n"
             "  - pass a path: load_cifar10('cifar10_{split}.npz') (arrays x uint8 N x 32 x 32 x 3, y)\n"
             "  - set ${env} to a folder holding cifar10_{split}.npz\n"
             "  - for a quick offline run, load_cifar10(synthetic=True) uses generated shapes").format(
        root=root, split=split, env=DATA_ENV)


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
            raise FileNotFoundError(_("HW2 test set: no file at {path} (from {env} or the argument); expected a .npz "
                                      "with x (uint8, N x 32 x 32 x 3) and y (labels 0-9), or the word 'synthetic'"
                                      ).format(path=path, env=HW2_TEST_ENV))
        ds = load_npz(path)
    else:
        try:
            ds = load_cifar10(train=False, download=download, verbose=False)
        except FileNotFoundError as exc:
            raise FileNotFoundError(_(
                "HW2 test set: {env} is not set and CIFAR-10's test split is not available here "
                "(download={download}). Instructor: set {env} to a .npz file with arrays x (uint8, N x 32 x 32 x 3) "
                "and y (labels 0-9), e.g. {env}=/srv/course/cifar10_test.npz, or to 'synthetic' for generated "
                "images; or set {data_env} to a folder holding cifar10_test.npz.\nDetails: {error}"
            ).format(env=HW2_TEST_ENV, download=download, data_env=DATA_ENV, error=exc)) from None
    if verbose:
        print(_("test set: {description}").format(description=ds.describe()))
    return ds


def _shape_mask(k: int, yy, xx, cy, cx, r, period) -> np.ndarray:
    """(m, 32, 32) bool: where shape ``SYNTHETIC_CLASSES[k]`` covers each of m images."""
    dy, dx = yy - cy, xx - cx
    d = np.hypot(dy, dx)
    box = (np.abs(dy) < r) & (np.abs(dx) < r)
    masks = (
        lambda: d < r,                                                      # disc
        lambda: box,                                                        # square
        lambda: (d < r) & (d > 0.6 * r),                                    # ring
        lambda: ((np.abs(dy) < 0.25 * r) | (np.abs(dx) < 0.25 * r)) & box,  # cross
        lambda: box & (np.mod(yy, period) < period / 2),                    # horizontal stripes
        lambda: box & (np.mod(xx, period) < period / 2),                    # vertical stripes
        lambda: box & (np.mod(xx + yy, period * 1.4) < period * 0.7),       # diagonal stripes
        lambda: box & ((np.floor(dy / 3) + np.floor(dx / 3)) % 2 == 0),     # checkerboard
        lambda: (dy < r) & (np.abs(dx) < (dy + r) / 2),                     # triangle
        lambda: box & ~((np.abs(dy) < 0.6 * r) & (np.abs(dx) < 0.6 * r)),   # frame
    )
    return np.broadcast_to(masks[k](), (len(cy), 32, 32))


def synthetic_cifar(n: int = 5000, seed: int = 0, noise: float = 20.0) -> ImageSet:
    """A GENERATED look-alike of CIFAR-10 (not photos): 10 classes of coloured shapes.

    Every image is 32x32 RGB uint8 with one shape (``SYNTHETIC_CLASSES``: disc, square,
    ring, ...) of random colour, size and position on a random background, plus noise. A
    small CNN learns it to high accuracy in seconds on a CPU, a linear model does not; it
    exists so that tests and offline runs exercise the whole training path.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(_("n must be an int >= 1; got {value}").format(value=repr(n)))
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10).astype(np.int64)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    cy = rng.uniform(11, 21, (n, 1, 1)).astype(np.float32)
    cx = rng.uniform(11, 21, (n, 1, 1)).astype(np.float32)
    r = rng.uniform(6, 10, (n, 1, 1)).astype(np.float32)
    period = rng.uniform(3, 5, (n, 1, 1)).astype(np.float32)
    shape = np.zeros((n, 32, 32), bool)
    for k in range(10):  # each class's mask, computed for that class's images only
        sel = np.flatnonzero(y == k)
        shape[sel] = _shape_mask(k, yy, xx, cy[sel], cx[sel], r[sel], period[sel])
    fg = rng.uniform(0, 255, (n, 1, 1, 3)).astype(np.float32)
    bg = rng.uniform(0, 255, (n, 1, 1, 3)).astype(np.float32)
    # keep the shape visible: push the foreground away from the background
    fg = np.where(np.abs(fg - bg).sum(-1, keepdims=True) < 150, 255 - bg, fg)
    img = np.where(shape[..., None], fg, bg) + rng.normal(0, noise, (n, 32, 32, 3)).astype(np.float32)
    x = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return ImageSet(x, y, SYNTHETIC_CLASSES, f"synthetic (generated shapes, n={n}, seed={seed})")
