"""Quiz answers: read a student's answer in the form a question asks for, and grade it.

The quiz notebook's test cells call these. A *visible* test reads the answer's form
(``check_letter``, ``check_int``, ``check_array``, ``check_conv2d``), prints one line
and returns ``None`` (so the cell shows no value)::

    q01 = 17: the form is right (a whole number); the value is checked at grading

A *hidden* test grades the value (``grade_choice``, ``grade_number``, ``grade_cells``,
``grade_conv2d``). Partial-credit graders return a plain ``float`` as the cell's last
expression, which nbgrader reads as the score of the cell (``get_partial_grade``).

Every problem with an answer (missing, empty, the wrong type or shape, a wrong value)
is an ``AssertionError`` whose message says what was expected and what came: that
question scores zero, the message shows in the feedback, and grading goes on.
Nothing here prints to stderr (nbgrader scores stderr output in a test cell as zero).

The answers themselves are never in this module: they live in the hidden tests of
``source/quiz/quiz.ipynb`` only. For the ungraded practice questions of
``cnnlib.quiz_questions``, :func:`answer_box` builds the widget with a *Check* button and
:func:`layer_fits` tells whether a layer does what a layer question asks.
"""

from __future__ import annotations

import numbers

import numpy as np

from .i18n import N_, _

__all__ = [
    "as_letter",
    "as_int",
    "as_array",
    "as_conv2d",
    "show",
    "check_letter",
    "check_int",
    "check_array",
    "check_conv2d",
    "grade_choice",
    "grade_number",
    "grade_cells",
    "grade_conv2d",
    "layer_fits",
    "answer_box",
]

FORM_LINE = N_("{name} = {shown}: the form is right ({what}); the value is checked at grading")
NO_ANSWER_CHOICE = N_("{name}: no answer yet: write one letter in quotes, one of {choices}")
NO_ANSWER_INT = N_("{name}: no answer yet: write a whole number (an int), without quotes")
NO_ANSWER_ARRAY = N_("{name}: no answer yet: write a list of {rows} rows with {cols} numbers each, e.g. [[.., ..], ..]")
NO_ANSWER_LAYER = N_("{name}: no answer yet: assign a layer, nn.Conv2d(...) with its arguments")


def _missing(value) -> bool:
    return value is None or value is Ellipsis or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------- reading answers


def as_letter(value, name: str, options: str = "ABCD") -> str:
    """The answer as one capital letter among ``options`` (lower case and spaces around it are fine).

    Raises:
        AssertionError: no answer, not a string, or not exactly one of the letters.
    """
    choices = ", ".join(options)
    if _missing(value):
        raise AssertionError(_(NO_ANSWER_CHOICE).format(
            name=name, choices=choices))
    if not isinstance(value, str):
        raise AssertionError(_("{name}: expected one letter in quotes (a str), one of {choices}; got {got}").format(
            name=name, choices=choices, got=f"{type(value).__name__} {value!r}"))
    letter = value.strip().upper().rstrip(".)")
    if len(letter) != 1 or letter not in options:
        raise AssertionError(_("{name}: expected exactly one letter among {choices}; got {got}").format(
            name=name, choices=choices, got=repr(value)))
    return letter


def as_int(value, name: str) -> int:
    """The answer as a Python ``int`` (a whole float such as ``17.0`` or a NumPy int counts).

    Raises:
        AssertionError: no answer, a string, a bool, or a number with a fraction.
    """
    if _missing(value):
        raise AssertionError(_(NO_ANSWER_INT).format(name=name))
    if hasattr(value, "item") and hasattr(value, "shape") and int(np.prod(tuple(value.shape))) == 1:
        value = value.item()  # a NumPy scalar, a 0-d array or tensor
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AssertionError(_("{name}: expected a whole number (an int, no quotes); got {got}").format(
            name=name, got=f"{type(value).__name__} {value!r}"))
    if not float(value).is_integer():
        raise AssertionError(_("{name}: expected a whole number; got {got}, which has a fraction").format(
            name=name, got=repr(value)))
    return int(value)


def as_array(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The answer as a float64 array of exactly ``shape`` (lists, arrays and tensors work).

    Raises:
        AssertionError: no answer, not numbers, ragged rows, or another shape.
    """
    shape = tuple(int(d) for d in shape)
    rows, cols = (shape + (1,))[:2]
    if value is None or value is Ellipsis or (isinstance(value, (list, tuple)) and len(value) == 0):
        raise AssertionError(_(NO_ANSWER_ARRAY).format(name=name, rows=rows, cols=cols))
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes, dict, set)):
        raise AssertionError(_("{name}: expected a list of lists of numbers; got {got}").format(
            name=name, got=f"{type(value).__name__} {value!r}"))
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise AssertionError(_("{name}: could not read the answer as a {rows} x {cols} table of numbers (rows of "
                               "different lengths, or something that is not a number?)").format(
            name=name, rows=rows, cols=cols)) from None
    if arr.shape != shape:
        raise AssertionError(_("{name}: expected shape {shape} ({rows} rows, {cols} columns); got shape {got}").format(
            name=name, shape=shape, rows=rows, cols=cols, got=arr.shape))
    if not np.all(np.isfinite(arr)):
        raise AssertionError(_("{name}: the answer contains NaN or inf").format(name=name))
    return arr


def as_conv2d(value, name: str):
    """The answer as a ``torch.nn.Conv2d`` layer (a class, not an instance, is a mistake).

    Raises:
        AssertionError: no answer or anything that is not an ``nn.Conv2d`` instance.
    """
    import torch.nn as nn

    if value is None:
        raise AssertionError(_(NO_ANSWER_LAYER).format(name=name))
    if isinstance(value, type):
        raise AssertionError(_("{name}: you assigned the class {cls}; call it: nn.Conv2d(in, out, ...)").format(
            name=name, cls=value.__name__))
    if not isinstance(value, nn.Conv2d):
        raise AssertionError(_("{name}: expected an nn.Conv2d layer; got {got}").format(name=name, got=type(value).__name__))
    return value


def show(value) -> str:
    """A short canonical text of a read answer: the letter, the number, ``[[1, 2], [3, 4]]``, a layer."""
    if isinstance(value, np.ndarray):
        return str([[_num(v) for v in row] for row in np.atleast_2d(value)]).replace("'", "")
    if hasattr(value, "kernel_size") and hasattr(value, "in_channels"):
        k, s, p = value.kernel_size, value.stride, value.padding
        one = (lambda t: t[0] if isinstance(t, tuple) and len(set(t)) == 1 else t)  # noqa: E731
        bias = "" if value.bias is not None else ", bias=False"
        return (f"Conv2d({value.in_channels}, {value.out_channels}, kernel_size={one(k)}, "
                f"stride={one(s)}, padding={one(p)}{bias})")
    return str(value)


def _num(v: float) -> str:
    return f"{v:g}"


# --------------------------------------------------------------------------- visible tests


def _form(name: str, shown: str, what: str) -> None:
    print(_(FORM_LINE).format(name=name, shown=shown, what=what))


def check_letter(value, name: str, options: str = "ABCD") -> None:
    """Visible test: the answer is one letter among ``options``; print it."""
    letter = as_letter(value, name, options)
    _form(name, letter, _("one letter among {choices}").format(choices=", ".join(options)))


def check_int(value, name: str) -> None:
    """Visible test: the answer is a whole number; print it."""
    _form(name, str(as_int(value, name)), _("a whole number"))


def check_array(value, name: str, shape: tuple[int, ...]) -> None:
    """Visible test: the answer is a table of numbers of ``shape``; print it."""
    _form(name, show(as_array(value, name, shape)), _("shape {shape}").format(shape=tuple(shape)))


def check_conv2d(value, name: str) -> None:
    """Visible test: the answer is an ``nn.Conv2d`` layer; print its arguments."""
    _form(name, show(as_conv2d(value, name)), _("an nn.Conv2d layer"))


# --------------------------------------------------------------------------- hidden tests


def grade_choice(value, name: str, key: str, options: str = "ABCD") -> None:
    """Hidden test: all or nothing. Raises ``AssertionError`` unless the letter is ``key``."""
    letter = as_letter(value, name, options)
    if letter != key:
        raise AssertionError(_("{name}: you chose {letter}; the right answer is {key}").format(name=name, letter=letter, key=key))


def grade_number(value, name: str, key: int, points: float, half: int | None = None,
                 half_hint: str = "") -> float:
    """Hidden test: ``points`` for ``key``, half of them for ``half`` (a typical slip), else zero.

    Returns the score as a plain ``float`` (the cell's last expression is its score).

    Raises:
        AssertionError: the answer is malformed, or neither ``key`` nor ``half``.
    """
    n = as_int(value, name)
    if n == key:
        return float(points)
    if half is not None and n == half:
        print(_("{name}: half credit: {n} is close: {hint}").format(name=name, n=n, hint=half_hint) if half_hint
              else _("{name}: half credit: {n} is close").format(name=name, n=n))
        return float(points) / 2
    raise AssertionError(_("{name}: your answer {n} is not right; the right answer is {key}").format(name=name, n=n, key=key))


def grade_cells(value, name: str, key, points: float, atol: float = 1e-6) -> float:
    """Hidden test: a share of ``points`` for each cell of the table equal to ``key``.

    Returns ``points * right_cells / all_cells`` as a plain ``float`` rounded to 4 places.

    Raises:
        AssertionError: the answer is malformed (no answer, not numbers, another shape).
    """
    exp = np.asarray(key, dtype=np.float64)
    arr = as_array(value, name, exp.shape)
    right = np.abs(arr - exp) <= atol
    n_right, n = int(right.sum()), right.size
    print(_("{name}: {right} of {n} cells right").format(name=name, right=n_right, n=n))
    if n_right < n:
        print(_("{name}: expected {table}").format(name=name, table=show(exp)))
    return round(float(points) * n_right / n, 4)


def grade_conv2d(value, name: str, in_shape, out_shape, kernel_size: int, points: float) -> float:
    """Hidden test: half of ``points`` for the channels, half for the output size with the kernel.

    The layer is run on zeros of ``in_shape``; the second half needs the output shape
    ``out_shape`` and a square ``kernel_size`` kernel. Returns a plain ``float``.

    Raises:
        AssertionError: not an ``nn.Conv2d`` layer.
    """
    import torch

    layer = as_conv2d(value, name)
    score = 0.0
    if (layer.in_channels, layer.out_channels) == (in_shape[1], out_shape[1]):
        score += points / 2
        print(_("{name}: channels right: {cin} in, {cout} out").format(name=name, cin=layer.in_channels, cout=layer.out_channels))
    else:
        print(_("{name}: channels: expected {want_in} in and {want_out} out; got {cin} in and {cout} out").format(
            name=name, want_in=in_shape[1], want_out=out_shape[1], cin=layer.in_channels, cout=layer.out_channels))
    try:
        with torch.no_grad():
            got = tuple(layer(torch.zeros(in_shape)).shape)
    except RuntimeError as exc:
        got = _("an error ({error})").format(error=str(exc).splitlines()[0][:120])
    if got == tuple(out_shape) and tuple(layer.kernel_size) == (kernel_size, kernel_size):
        score += points / 2
        print(_("{name}: output shape right: {got}").format(name=name, got=got))
    else:
        print(_("{name}: on input {shape} with a {k}x{k} kernel expected output {want}; got {got} with kernel "
                "{kernel}").format(name=name, shape=tuple(in_shape), k=kernel_size, want=tuple(out_shape), got=got,
                                   kernel=tuple(layer.kernel_size)))
    return float(score)


# --------------------------------------------------------------------------- practice (ungraded)


def layer_fits(layer, in_shape, out_shape, kernel_size: int) -> bool:
    """Whether ``layer`` takes zeros of ``in_shape`` to ``out_shape`` with a square ``kernel_size`` kernel."""
    import torch

    with torch.no_grad():
        try:
            got = tuple(layer(torch.zeros(in_shape)).shape)
        except RuntimeError:
            return False
    return got == tuple(out_shape) and tuple(layer.kernel_size) == (kernel_size, kernel_size)


def answer_box(question, is_right):
    """An ipywidgets box: ``question.markdown()``, an answer field and a *Check* button.

    ``question`` is a ``cnnlib.quiz_questions.Practice`` (``kind``, ``letters``, ``form()``,
    ``markdown()``).
    ``is_right(value) -> bool`` judges the answer (``AssertionError`` for a malformed one).
    A choice question (``question.kind == "choice"``) gets radio buttons with its letters; the
    others a text field read as a Python literal (``17``, ``[[1, 2], [3, 4]]``), or as
    ``nn.Conv2d(...)`` for a layer question.
    """
    import ast

    import ipywidgets as widgets
    from IPython.display import Markdown, display

    kind, markdown = question.kind, question.markdown()
    out = widgets.Output()
    if kind == "choice":
        field = widgets.RadioButtons(options=list(question.letters), value=None, description=_("answer"))
    else:
        field = widgets.Text(placeholder=question.form(), description=_("answer"))
    button = widgets.Button(description=_("Check"), button_style="primary")
    verdict = widgets.HTML()

    def on_click(_button):
        raw = field.value
        try:
            if kind == "code":
                import torch.nn as nn

                value = eval(raw, {"nn": nn, "__builtins__": {}})  # the student's own text, in their kernel
            elif kind == "choice":
                value = raw
            else:
                value = ast.literal_eval(raw.strip())
            verdict.value = _("<b>Right.</b>") if is_right(value) else _("Not yet: think again (see the slide).")
        except (AssertionError, ValueError, SyntaxError, TypeError, NameError) as exc:
            verdict.value = _("Check the form: {error}").format(error=exc)

    button.on_click(on_click)
    with out:
        display(Markdown(markdown))
    return widgets.VBox([out, widgets.HBox([field, button]), verdict])
