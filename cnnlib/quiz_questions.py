"""The lecture's closing quiz, each question defined once: text, options, form and points.

Two uses of the same questions:

* the graded quiz ``source/quiz/quiz.ipynb``: its question cells are ``Question.markdown()``
  (a test keeps them equal); the answers are checked only by its hidden tests;
* in class, one question at a time, ungraded: ``ask("q08")`` shows the question with a
  *Check* button (ipywidgets). The cell source holds only the question id.

No answer is stored here in the clear. A choice, number or table question carries a
salted SHA-256 digest of its answer (``digest``) that ``check`` compares with the digest
of what the student typed. A digest hides nothing from someone who tries every letter
or every small number: the widget is a practice aid, and the graded quiz does not rely
on it (its answers live in hidden tests). The code question is checked by running the
layer (its target shapes are part of the question).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from . import quiz

__all__ = ["Question", "QUESTIONS", "question", "check", "digest", "ask"]

SALT = "cnn-lecture-2025-10-08/quiz"

ANSWER_FORMS = {
    "choice": "one letter in quotes",
    "number": "a whole number (an int)",
    "array": "a list of rows of numbers",
    "code": "an `nn.Conv2d(...)` layer",
}


@dataclass(frozen=True)
class Question:
    """One quiz question.

    Attributes:
        qid: ``"q01"`` ... (also the answer variable's name; the grade id is ``quiz_<qid>``).
        title: a few words for headings and the item analysis.
        kind: ``"choice"``, ``"number"``, ``"array"`` or ``"code"``.
        text: the question in Markdown.
        points: what it is worth in the graded quiz.
        options: the texts of the choices A, B, ... (``kind == "choice"``).
        shape: the answer's shape (``kind == "array"``).
        spec: ``(in_shape, out_shape, kernel_size)`` of the layer (``kind == "code"``).
        digest: salted SHA-256 of the canonical answer (``check`` uses it); empty for code.
    """

    qid: str
    title: str
    kind: str
    text: str
    points: int
    options: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    spec: tuple = ()
    digest: str = ""

    @property
    def letters(self) -> str:
        return "ABCDEFGH"[: len(self.options)]

    @property
    def grade_id(self) -> str:
        return f"quiz_{self.qid}"

    def markdown(self) -> str:
        """The question as the quiz notebook shows it."""
        number = int(self.qid[1:])
        unit = "point" if self.points == 1 else "points"
        lines = [f"### Q{number} · {self.title} ({self.points} {unit})", "", self.text.strip()]
        if self.options:
            lines += [""] + [f"- **{letter}.** {opt}" for letter, opt in zip(self.letters, self.options, strict=True)]
        form = ANSWER_FORMS[self.kind]
        if self.kind == "choice":
            form += f" ({', '.join(self.letters)})"
        if self.kind == "array":
            form += f" of shape {self.shape}"
        lines += ["", f"Answer: set `{self.qid}` to {form}."]
        return "\n".join(lines)

    def read(self, value):
        """The answer read in this question's form (raises ``AssertionError`` with a message)."""
        if self.kind == "choice":
            return quiz.as_letter(value, self.qid, self.letters)
        if self.kind == "number":
            return quiz.as_int(value, self.qid)
        if self.kind == "array":
            return quiz.as_array(value, self.qid, self.shape)
        return quiz.as_conv2d(value, self.qid)


def digest(qid: str, canonical: str) -> str:
    """Salted SHA-256 of a canonical answer text (``quiz.show`` of the read answer)."""
    return hashlib.sha256(f"{SALT}/{qid}/{canonical}".encode()).hexdigest()


def check(qid: str, value) -> bool:
    """Whether ``value`` answers question ``qid`` right (ungraded self-check).

    Raises:
        KeyError: unknown ``qid``.
        AssertionError: the answer has the wrong form (the message says which form).
    """
    q = question(qid)
    read = q.read(value)
    if q.kind == "code":
        import torch

        in_shape, out_shape, k = q.spec
        with torch.no_grad():
            try:
                got = tuple(read(torch.zeros(in_shape)).shape)
            except RuntimeError:
                return False
        return got == tuple(out_shape) and tuple(read.kernel_size) == (k, k)
    return digest(qid, quiz.show(read)) == q.digest


def question(qid: str) -> Question:
    """The question with id ``qid`` (``"q01"`` ...); ``KeyError`` names the known ids."""
    for q in QUESTIONS:
        if q.qid == qid:
            return q
    raise KeyError(f"no quiz question {qid!r}; expected one of {', '.join(q.qid for q in QUESTIONS)}")


def ask(qid: str):
    """An ipywidgets box: the question, an answer field and a *Check* button (ungraded).

    Typed answers are read as Python literals (a number such as ``17``, a table ``[[1, 2], [3, 4]]``);
    the code question takes ``nn.Conv2d(...)``.
    """
    import ast

    import ipywidgets as widgets
    from IPython.display import Markdown, display

    q = question(qid)
    out = widgets.Output()
    if q.kind == "choice":
        field = widgets.RadioButtons(options=list(q.letters), value=None, description="answer")
    else:
        field = widgets.Text(placeholder=ANSWER_FORMS[q.kind], description="answer")
    button = widgets.Button(description="Check", button_style="primary")
    verdict = widgets.HTML()

    def on_click(_):
        raw = field.value
        try:
            if q.kind == "code":
                import torch.nn as nn

                value = eval(raw, {"nn": nn, "__builtins__": {}})  # the student's own text, in their kernel
            elif q.kind == "choice":
                value = raw
            else:
                value = ast.literal_eval(raw.strip())
            ok = check(qid, value)
            verdict.value = "<b>Right.</b>" if ok else "Not yet: think again (see the slide)."
        except (AssertionError, ValueError, SyntaxError, TypeError, NameError) as exc:
            verdict.value = f"Check the form: {exc}"

    button.on_click(on_click)
    with out:
        display(Markdown(q.markdown()))
    return widgets.VBox([out, widgets.HBox([field, button]), verdict])


_X_POOL = "| 2 | 0 | 5 | 1 |\n| 4 | 3 | 1 | 6 |\n| 0 | 7 | 2 | 2 |\n| 1 | 5 | 8 | 3 |"
_Y_CONV = "| 2 | 1 | 0 | 3 |\n| 1 | 3 | 2 | 0 |\n| 0 | 1 | 2 | 1 |\n| 4 | 0 | 1 | 1 |"


def _table(body: str) -> str:
    n = body.splitlines()[0].count("|") - 1
    return "| " + " | ".join(" " for _ in range(n)) + " |\n|" + "---|" * n + "\n" + body


QUESTIONS: tuple[Question, ...] = (
    Question(
        "q01", "Output size, stride 1", "number",
        "A 32 x 32 feature map (特徵圖) goes through a convolution (卷積) with a 5 x 5 filter, "
        "stride (步長) 1 and no padding (補零). How wide is the output?",
        1,
    ),
    Question(
        "q02", "Output size, stride 4", "number",
        "AlexNet's first layer: a 227 x 227 image, an 11 x 11 filter, stride 4, padding 0. "
        "How wide is the output?",
        1,
    ),
    Question(
        "q03", "Parameters of a fully-connected layer", "number",
        "A 32 x 32 **RGB** image is flattened and fed to a fully-connected layer (全連接層) with 64 "
        "units, **with** bias. How many learnable parameters does the layer have?",
        2,
    ),
    Question(
        "q04", "Parameters of a convolution on RGB", "number",
        "A convolutional layer takes an **RGB** image and has 32 filters of size 5 x 5, **without** bias. "
        "How many learnable parameters does it have?",
        1,
    ),
    Question(
        "q05", "Parameters of a deeper convolution", "number",
        "`nn.Conv2d(64, 128, kernel_size=3)`: 64 input channels (通道), 128 output channels, "
        "**with** bias (the default). How many learnable parameters?",
        2,
    ),
    Question(
        "q06", "A small convolution", "array",
        "Convolve this 4 x 4 input with the slide's filter `[[1, 0, 0], [0, 1, 0], [0, 0, -1]]`, "
        "stride 1, no padding, the way `nn.Conv2d` does (no flipping).\n\n" + _table(_Y_CONV),
        2, shape=(2, 2),
    ),
    Question(
        "q07", "Max pooling by hand", "array",
        "Max pooling (池化) with kernel_size 2 and **stride 1** on this 4 x 4 feature map. "
        "Fill in the pooled matrix.\n\n" + _table(_X_POOL),
        3, shape=(3, 3),
    ),
    Question(
        "q08", "Pooling a stack of feature maps", "choice",
        "Max pooling with kernel_size 2 and stride 2 takes a 128 x 128 x 32 (H x W x C) feature map. "
        "What shape comes out?",
        1, options=("128 x 128 x 16", "64 x 64 x 32", "127 x 127 x 32", "64 x 64 x 16"),
    ),
    Question(
        "q09", "What batch normalization does", "choice",
        "Batch normalization (批次正規化), before its learnable scale and shift: what holds for the "
        "values of one feature over the batch after BN?",
        1, options=(
            "They all lie between 0 and 1.",
            "They are all positive.",
            "Their mean is 0 and their standard deviation is 1.",
            "Their mean is 1 and their standard deviation is 0.",
        ),
    ),
    Question(
        "q10", "Conv2d, not Conv3d", "choice",
        "Why does a CNN on RGB images use `nn.Conv2d` and not `nn.Conv3d`?",
        1, options=(
            "A 2-D convolution moves only along height and width; each filter covers all channels at once.",
            "Because PyTorch has no `nn.Conv3d`.",
            "Because `nn.Conv2d` throws away two of the three colour channels.",
            "Because RGB images have only two dimensions.",
        ),
    ),
    Question(
        "q11", "What flatten is for", "choice",
        "Why does a CNN for classification flatten its feature maps before the last layers?",
        1, options=(
            "To make the feature maps smaller, like pooling does.",
            "To normalize the values to mean 0 and standard deviation 1.",
            "To add padding around the feature maps.",
            "To turn the (C, H, W) feature maps into one vector that fully-connected layers can take.",
        ),
    ),
    Question(
        "q12", "Which stack gives this shape?", "choice",
        "An input of shape (3, 32, 32). Which stack gives an output of shape **(16, 5, 5)**? "
        "(`Conv2d(in, out, k)` has stride 1 and no padding unless written; `MaxPool2d(2)` has stride 2.)",
        2, options=(
            "`Conv2d(3, 6, 5, padding=2)`, `MaxPool2d(2)`, `Conv2d(6, 16, 5)`, `MaxPool2d(2)`",
            "`Conv2d(3, 16, 5)`, `MaxPool2d(2)`, `Conv2d(16, 16, 3)`, `MaxPool2d(2)`",
            "`Conv2d(3, 6, 5)`, `MaxPool2d(2)`, `Conv2d(6, 16, 5)`, `MaxPool2d(2)`",
            "`Conv2d(3, 6, 5)`, `Conv2d(6, 16, 5)`, `MaxPool2d(2)`",
        ),
    ),
    Question(
        "q13", "Write the layer", "code",
        "Write the `nn.Conv2d` layer with a **3 x 3** kernel that takes a batch of shape (8, 3, 32, 32) "
        "to shape (8, 16, 16, 16).",
        2, spec=((8, 3, 32, 32), (8, 16, 16, 16), 3),
    ),
)

# Salted digests of the answers (see the module docstring); the answers are not here.
_DIGESTS = {
    "q01": "45496ec71cebdb6026e631c1eb79054be96fc091a76aa231ae025b0bf7ff4bf2",
    "q02": "bc759c2b2697323c57a1c14569029a369b5daabdcb408cb96e40280d82f54589",
    "q03": "09dab32c4466b30937103b0184306b7b07fe638138a2fc4cc42dfc5ae06adc65",
    "q04": "1f4ce152ead68d5a70b9c64d8bd9436343a0fdb923f62bfc3f6f0d984f5c03ad",
    "q05": "eeb17479058af2cae0e3b15a0a7f8a65b18b88e762a3fb9027b2274f2e0a4fd9",
    "q06": "724e82158c8cb336f3acc5f9fab0654d240106ed9858ca76867c143be92793ff",
    "q07": "bc7e5d9b638f8e2f26bcf04663de1ccbbe35dff028aa1022a6d9b73f96d24bc9",
    "q08": "fdd18f47339cad046bbadd33855d405c41fe886321e9ff9ccc05836dab73cc3c",
    "q09": "8a4da980eb57c2a7ad9de254d51413d0fdf5341f431ed7f9c630fd641fea1e89",
    "q10": "fc6d5d05b5d23bd0c8de69256e4091d04a60dd528ba8d0e0dca0f11502383164",
    "q11": "c2a655825a515df3896216218d8ac295241b93c846b0c530a09db187c8c72332",
    "q12": "a40566e0dd98c250be198ccfc378ccb5754c9c694dbcfb1d212898f1dc2cfbf3",
}

QUESTIONS = tuple(replace(q, digest=_DIGESTS.get(q.qid, "")) for q in QUESTIONS)
