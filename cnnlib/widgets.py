"""Interactive widgets for the lecture: convolution stepper, pooling explorer, self-check question.

``ipywidgets`` is imported inside the functions that build widgets, so importing this
module is cheap and the logic classes work without Jupyter or a browser (the tests
drive them directly, and drive the widgets by setting their values).

* ``conv_stepper(image=None, kernel=None, stride=1, padding=0)``: a slider moves the
  window over the (padded) image; the figure shows the window, the element-wise products
  and the feature map (特徵圖) filled so far; a line of text gives ``sum = <value>``.
  Defaults: the slides' 6x6 image and 3x3 filter. Logic: :class:`ConvStepper`.
  For browser tests, the slider carries the CSS class ``cnn-stepper-slider`` (description
  ``window``, values 1 .. OH*OW: window 1 is the top-left one, as the text says) and the text the class ``cnn-stepper-sum``.
* ``pooling_explorer(x=None)``: kernel, stride and mode ("max"/"avg") controls over the
  slides' 4x4 pooling example; the output comes from ``cnnlib.ops.pool2d``. Logic:
  :class:`PoolingExplorer`. CSS classes ``cnn-pool-kernel``, ``cnn-pool-stride``,
  ``cnn-pool-mode``, ``cnn-pool-output``.
* ``self_check(question, options, answer_hash, *, salt=DEFAULT_SALT, explanation=None,
  hints=None)``: an ungraded in-class question. The right option is given only as
  ``answer_hash = hash_answer(right_option, salt)`` (16 hex digits of a salted SHA-256),
  so the cell's source does not show the answer in plain text. ``hints`` maps a wrong
  option to the hint shown when it is picked; ``explanation`` is shown after the right
  answer (write it so it does not give the answer away by itself). Building the widget
  raises ``ValueError`` when the hash matches no option (e.g. another salt). Logic:
  :class:`SelfCheck`. The instructor computes the hash once::

      >>> from cnnlib.widgets import hash_answer
      >>> hash_answer("16")
      '…16 hex digits…'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import ops, slides
from .i18n import _
from .viz import figure_png

__all__ = [
    "DEFAULT_SALT",
    "ConvStepper",
    "PoolingExplorer",
    "SelfCheck",
    "StepState",
    "conv_stepper",
    "hash_answer",
    "pooling_explorer",
    "self_check",
]

DEFAULT_SALT = "cnn-lecture-2025"


def _num(v) -> str:
    """A number as the slides write it: 2, -1, 0.25."""
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:.4g}"


# --------------------------------------------------------------------------- convolution stepper


@dataclass(frozen=True)
class StepState:
    """What the stepper shows at step ``k`` (window number k, counted row by row from 0).

    ``row``/``col``: position in the feature map; ``top``/``left``: the window's top-left
    corner in the padded input; ``window`` and ``products`` are (KH, KW); ``feature_map``
    is (OH, OW) with the values computed so far (steps 0..k) and 0 elsewhere; ``filled``
    says which entries those are.
    """

    k: int
    row: int
    col: int
    top: int
    left: int
    window: np.ndarray
    products: np.ndarray
    total: float | int
    feature_map: np.ndarray
    filled: np.ndarray

    def partial_map(self) -> list[list]:
        """The feature map so far as nested lists, ``None`` where not computed yet."""
        return [
            [self.feature_map[i, j].item() if self.filled[i, j] else None for j in range(self.filled.shape[1])]
            for i in range(self.filled.shape[0])
        ]


class ConvStepper:
    """A 2-D convolution (cross-correlation, no flip) taken one window at a time.

    Args:
        image: (H, W) numbers; default the slides' 6x6 image.
        kernel: (KH, KW) numbers; default the slides' 3x3 filter.
        stride: int >= 1 (步長). padding: int >= 0 (補零), zeros on every side.

    Raises:
        ValueError: not 2-D, a kernel larger than the padded image, bad stride/padding
            (the messages of ``cnnlib.ops.conv2d``).
    """

    def __init__(self, image=None, kernel=None, stride: int = 1, padding: int = 0):
        image = slides.conv_image() if image is None else image
        kernel = slides.conv_kernel() if kernel is None else kernel
        self.image = ops._as_array(image, "image")
        self.kernel = ops._as_array(kernel, "kernel")
        if self.image.ndim != 2 or self.kernel.ndim != 2:
            raise ValueError(
                f"the stepper takes a 2-D image (H, W) and a 2-D kernel (KH, KW); got image "
                f"{self.image.shape} and kernel {self.kernel.shape}"
            )
        self.result = ops.conv2d(self.image, self.kernel, stride=stride, padding=padding)  # validates
        self.stride, self.padding = int(stride), int(padding)
        p = self.padding
        self.padded = np.pad(self.image, ((p, p), (p, p)))
        self.out_shape = self.result.shape
        self.n_steps = int(self.result.size)

    def state(self, k: int) -> StepState:
        """The window at step ``k`` (0 <= k < n_steps), its products, sum and the map so far."""
        if not isinstance(k, (int, np.integer)) or not 0 <= k < self.n_steps:
            raise ValueError(f"k must be an int in 0..{self.n_steps - 1}; got {k!r}")
        oh, ow = self.out_shape
        row, col = divmod(int(k), ow)
        kh, kw = self.kernel.shape
        top, left = row * self.stride, col * self.stride
        window = self.padded[top : top + kh, left : left + kw]
        products = window * self.kernel
        filled = (np.arange(oh * ow) <= k).reshape(oh, ow)
        fmap = np.where(filled, self.result, 0).astype(self.result.dtype)
        return StepState(int(k), row, col, top, left, window.copy(), products, products.sum().item(), fmap, filled)

    def sum_text(self, k: int) -> str:
        """One line: ``window 1 of 16 (feature map row 1, column 1): 1×1 + ... = sum = 1``."""
        s = self.state(k)
        terms = " + ".join(
            f"{_num(a) if a >= 0 else f'({_num(a)})'}×{_num(b) if b >= 0 else f'({_num(b)})'}"
            for a, b in zip(s.window.ravel(), self.kernel.ravel(), strict=True)
        )
        return _("window {k} of {n} (feature map row {row}, column {col}): {terms} = sum = {total}").format(
            k=k + 1, n=self.n_steps, row=s.row + 1, col=s.col + 1, terms=terms, total=_num(s.total))

    def figure(self, k: int) -> Figure:
        """Input with the window highlighted, the products, and the feature map so far."""
        s = self.state(k)
        kh, kw = self.kernel.shape
        p = self.padding
        fig = Figure(figsize=(11, 3.6), layout="constrained")
        ax_in, ax_prod, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [self.padded.shape[1], kw + 1,
                                                                                   self.out_shape[1] + 1]})
        # input: original pixels white, padding (補零) orange as on the slides
        shade = np.zeros(self.padded.shape)
        if p:
            shade[:p, :] = shade[-p:, :] = shade[:, :p] = shade[:, -p:] = 1
        ax_in.imshow(shade, cmap="Oranges", vmin=0, vmax=2.5)
        self._write(ax_in, self.padded)
        ax_in.add_patch(Rectangle((s.left - 0.5, s.top - 0.5), kw, kh, fill=False, ec="red", lw=3, gid="window"))
        ax_in.set_title(_("input {h}x{w}").format(h=self.image.shape[0], w=self.image.shape[1])
                        + (f", padding {p}" if p else "") + f", stride {self.stride}")
        # products
        ax_prod.imshow(np.zeros(s.products.shape), cmap="Greens", vmin=0, vmax=1)
        self._write(ax_prod, s.products)
        ax_prod.set_title(_("window × kernel\nsum = {total}").format(total=_num(s.total)))
        # feature map so far
        ax_out.imshow(np.where(s.filled, 0.4, 0.0), cmap="Blues", vmin=0, vmax=1)
        self._write(ax_out, s.feature_map, s.filled)
        ax_out.add_patch(Rectangle((s.col - 0.5, s.row - 0.5), 1, 1, fill=False, ec="red", lw=3, gid="current"))
        ax_out.set_title(_("feature map {h}x{w}").format(h=self.out_shape[0], w=self.out_shape[1]))
        for ax in (ax_in, ax_prod, ax_out):
            ax.set_xlabel(_("column"))
            ax.set_ylabel(_("row"))
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(_("Convolution step {k} of {n}").format(k=k + 1, n=self.n_steps))
        return fig

    @staticmethod
    def _write(ax, grid: np.ndarray, mask: np.ndarray | None = None) -> None:
        for (i, j), v in np.ndenumerate(grid):
            if mask is None or mask[i, j]:
                ax.text(j, i, _num(v), ha="center", va="center", fontsize=10, gid=f"cell-{i}-{j}")


def conv_stepper(image=None, kernel=None, stride: int = 1, padding: int = 0):
    """A slider over the windows of a convolution; returns an ``ipywidgets.VBox``.

    Args: as :class:`ConvStepper` (defaults: the slides' image and filter, stride 1, no padding).

    The box holds an ``IntSlider`` (description ``window``, 1..OH*OW, CSS class
    ``cnn-stepper-slider``), an ``HTML`` line with ``sum = <value>`` (class
    ``cnn-stepper-sum``) and an ``Image`` with :meth:`ConvStepper.figure`; moving the
    slider updates both. ``box.stepper`` is the logic object, ``box.current_figure``
    the figure shown now.

    Raises:
        ValueError: as :class:`ConvStepper`.
    """
    import ipywidgets as widgets

    stepper = ConvStepper(image, kernel, stride, padding)
    slider = widgets.IntSlider(value=1, min=1, max=stepper.n_steps, step=1, description=_("window"),
                               continuous_update=False)  # windows counted from 1, as the text counts them
    slider.add_class("cnn-stepper-slider")
    text = widgets.HTML()
    text.add_class("cnn-stepper-sum")
    picture = widgets.Image(format="png")
    box = widgets.VBox([slider, text, picture])
    box.stepper = stepper

    def show(k: int) -> None:
        text.value = f"<code>{stepper.sum_text(k)}</code>"
        box.current_figure = stepper.figure(k)
        picture.value = figure_png(box.current_figure, dpi=72)

    slider.observe(lambda change: show(change["new"] - 1), names="value")
    show(0)
    return box


# --------------------------------------------------------------------------- pooling explorer


class PoolingExplorer:
    """Max or average pooling (池化) of one 2-D input with any kernel and stride.

    Args:
        x: (H, W) numbers; default the slides' 4x4 pooling example.

    Raises:
        ValueError: x not 2-D.
    """

    def __init__(self, x=None):
        self.x = ops._as_array(slides.pool_input() if x is None else x, "x")
        if self.x.ndim != 2:
            raise ValueError(f"x must be a 2-D array (H, W); got shape {self.x.shape}")

    def result(self, kernel_size: int, stride: int, mode: str) -> np.ndarray:
        """``cnnlib.ops.pool2d(x, kernel_size, stride, mode)``; raises its ``ValueError``."""
        return ops.pool2d(self.x, kernel_size, stride, mode)

    def size_text(self, kernel_size: int, stride: int) -> str:
        """The output-size arithmetic, e.g. ``output 2x2: (4 - 2) // 2 + 1 = 2``."""
        h, w = self.x.shape
        oh = ops.conv_output_size(h, kernel_size, stride)
        ow = ops.conv_output_size(w, kernel_size, stride)
        return _("output {oh}x{ow}: ({h} - {k}) // {s} + 1 = {oh}").format(oh=oh, ow=ow, h=h, k=kernel_size, s=stride)

    def html(self, kernel_size: int, stride: int, mode: str) -> str:
        """Input and output as HTML tables with the size arithmetic, or the error message."""
        try:
            out = self.result(kernel_size, stride, mode)
            size = self.size_text(kernel_size, stride)
        except ValueError as exc:
            return f"<p class='cnn-pool-error'>{exc}</p>"
        name = _("max pooling") if mode == "max" else _("average pooling")
        return (
            f"<div style='display:flex;gap:2em'><div><b>{_('input {h}x{w}').format(h=self.x.shape[0], w=self.x.shape[1])}</b>"
            f"{_table(self.x)}</div><div><b>{name}, kernel_size={kernel_size}, stride={stride}</b>"
            f"{_table(out)}<p>{size}</p></div></div>"
        )


def _table(a: np.ndarray) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td style='border:1px solid #999;padding:2px 8px'>{_num(v)}</td>" for v in r) + "</tr>"
        for r in a
    )
    return f"<table style='border-collapse:collapse;text-align:center'>{rows}</table>"


def pooling_explorer(x=None):
    """Kernel, stride and mode controls over a pooling example; returns an ``ipywidgets.VBox``.

    Args:
        x: (H, W) numbers; default the slides' 4x4 example ``[[1, 3, 1, 2], [-1, 1, 1, 0],
            [0, 1, 1, 0], [0, 0, 1, 2]]``.

    The box holds two ``IntSlider`` (``kernel_size``, ``stride``; classes ``cnn-pool-kernel``,
    ``cnn-pool-stride``), ``ToggleButtons`` for the mode ``max``/``avg`` (``cnn-pool-mode``)
    and an ``HTML`` output (``cnn-pool-output``) with input, output and the size arithmetic.
    ``box.explorer`` is the :class:`PoolingExplorer`.

    Raises:
        ValueError: x not 2-D.
    """
    import ipywidgets as widgets

    explorer = PoolingExplorer(x)
    top = min(explorer.x.shape)
    kernel = widgets.IntSlider(value=min(2, top), min=1, max=top, description="kernel_size")
    stride = widgets.IntSlider(value=min(2, top), min=1, max=top, description="stride")
    mode = widgets.ToggleButtons(options=["max", "avg"], value="max", description="mode")
    output = widgets.HTML()
    for w, cls in ((kernel, "cnn-pool-kernel"), (stride, "cnn-pool-stride"), (mode, "cnn-pool-mode"),
                   (output, "cnn-pool-output")):
        w.add_class(cls)

    def show(_change=None) -> None:
        output.value = explorer.html(kernel.value, stride.value, mode.value)

    for w in (kernel, stride, mode):
        w.observe(show, names="value")
    show()
    box = widgets.VBox([widgets.HBox([kernel, stride, mode]), output])
    box.explorer = explorer
    return box


# --------------------------------------------------------------------------- self-check question


def hash_answer(option: str, salt: str = DEFAULT_SALT) -> str:
    """16 hex digits of ``sha256(salt + "|" + option)``: what ``self_check`` takes as the answer."""
    if not isinstance(option, str) or not isinstance(salt, str):
        raise ValueError(f"option and salt must be strings; got {type(option).__name__}, {type(salt).__name__}")
    return hashlib.sha256(f"{salt}|{option.strip()}".encode()).hexdigest()[:16]


class SelfCheck:
    """The logic of an ungraded question: which option is right, and what to say.

    Raises:
        ValueError: fewer than two options, duplicate options, or an ``answer_hash``
            that matches no option (or more than one).
    """

    def __init__(self, question: str, options, answer_hash: str, *, salt: str = DEFAULT_SALT,
                 explanation: str | None = None, hints: dict | None = None):
        options = [str(o) for o in options]
        if len(options) < 2 or len(set(options)) != len(options):
            raise ValueError(f"options must be at least two different strings; got {options!r}")
        # the right option's text, or its position "#1", "#2", ... (the same in every language)
        matches = [i for i, o in enumerate(options) if answer_hash in (hash_answer(o, salt), hash_answer(f"#{i + 1}", salt))]
        if len(matches) != 1:
            raise ValueError(
                f"answer_hash {answer_hash!r} matches {len(matches)} of the options; expected exactly one "
                f"(compute it with cnnlib.widgets.hash_answer(right_option, salt={salt!r}))"
            )
        hints = {options[k - 1] if isinstance(k, int) and 0 < k <= len(options) else k: v
                 for k, v in (hints or {}).items()}  # a hint's key: its option, or the option's position 1, 2, ...
        unknown = set(hints) - set(options)
        if unknown:
            raise ValueError(f"hints name options that do not exist: {sorted(unknown)}")
        self.question, self.options, self._right = question, options, matches[0]
        self.explanation, self.hints = explanation, hints

    def is_right(self, option: str) -> bool:
        return str(option) in self.options and self.options.index(str(option)) == self._right

    def feedback(self, option: str | None) -> str:
        """What the student sees after pressing "Check" with ``option`` selected."""
        if option is None:
            return _("Pick an answer first.")
        if self.is_right(option):
            return _("Right.") + (f" {self.explanation}" if self.explanation else "")
        return _("Not quite: {hint}").format(hint=self.hints.get(option, _("think again, then try another option.")))


def self_check(question: str, options, answer_hash: str, *, salt: str = DEFAULT_SALT,
               explanation: str | None = None, hints: dict | None = None):
    """An ungraded multiple-choice question for class; returns an ``ipywidgets.VBox``.

    Args:
        question: the question (HTML allowed).
        options: the answers to choose from (strings).
        answer_hash: ``hash_answer(right_option, salt)``; the right option itself never
            appears in the cell.
        salt: the salt used for the hash.
        explanation: shown after a right answer.
        hints: wrong option -> the hint shown when it is picked.

    The box holds the question (``HTML``), ``RadioButtons`` (class ``cnn-check-options``),
    a "Check" ``Button`` (``cnn-check-button``) and the feedback ``HTML``
    (``cnn-check-feedback``). ``box.check`` is the :class:`SelfCheck`.

    Raises:
        ValueError: as :class:`SelfCheck`.
    """
    import ipywidgets as widgets

    logic = SelfCheck(question, options, answer_hash, salt=salt, explanation=explanation, hints=hints)
    choice = widgets.RadioButtons(options=logic.options, value=None, layout={"width": "max-content"})
    button = widgets.Button(description=_("Check"), button_style="info")
    feedback = widgets.HTML()
    for w, cls in ((choice, "cnn-check-options"), (button, "cnn-check-button"), (feedback, "cnn-check-feedback")):
        w.add_class(cls)

    def check(_button=None) -> None:
        feedback.value = logic.feedback(choice.value)

    button.on_click(check)
    box = widgets.VBox([widgets.HTML(_("<b>Self-check (ungraded):</b> {question}").format(question=question)),
                        choice, button, feedback])
    box.check = logic
    return box
