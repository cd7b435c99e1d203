"""The lecture's closing quiz, each question defined once, and practice questions for class.

* ``QUESTIONS``: the graded quiz ``source/quiz/quiz.ipynb`` (text, options, answer form and
  points). Its question cells are ``Question.markdown()`` (a test keeps them equal). Nothing
  here records their answers, not even hashed: a hash of a letter or a small number gives
  itself away to anyone who tries every option. The answers live only in the source
  notebook's hidden tests, and nothing a student installs can check a graded answer.
* ``PRACTICE``: ungraded practice questions, one per graded question's topic, with other
  numbers and wording, whose answers ship in the clear. In class, ``ask("p08")`` shows one
  with a *Check* button (ipywidgets) and ``check("p08", value)`` says whether an answer is
  right. Called with a graded id (``"q08"``), both raise ``KeyError``: a graded question
  has no self-check.

A practice choice question marks its right option with a leading ``*`` in its definition
(the star is stripped); a practice table or number is its ``answer``; a practice layer is
checked by running it, as the graded one is (its target shapes are part of the question).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import quiz
from .i18n import N_, _

__all__ = ["Question", "Practice", "QUESTIONS", "PRACTICE", "question", "practice", "check", "ask"]

ANSWER_FORMS = {
    "choice": N_("one letter in quotes ({letters})"),
    "number": N_("a whole number (an int)"),
    "array": N_("a list of rows of numbers of shape {shape}"),
    "code": N_("an `nn.Conv2d(...)` layer"),
}


@dataclass(frozen=True)
class Question:
    """One graded quiz question: what the student reads, and nothing about its answer.

    Attributes:
        qid: ``"q01"`` ... (also the answer variable's name; the grade id is ``quiz_<qid>``).
        title: a few words for headings and the item analysis.
        kind: ``"choice"``, ``"number"``, ``"array"`` or ``"code"``.
        text: the question in Markdown.
        points: what it is worth in the graded quiz.
        options: the texts of the choices A, B, ... (``kind == "choice"``).
        shape: the answer's shape (``kind == "array"``).
        spec: ``(in_shape, out_shape, kernel_size)`` of the layer (``kind == "code"``).
    """

    qid: str
    title: str
    kind: str
    text: str
    points: int
    options: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    spec: tuple = ()

    @property
    def letters(self) -> str:
        return "ABCDEFGH"[: len(self.options)]

    @property
    def grade_id(self) -> str:
        return f"quiz_{self.qid}"

    def heading(self) -> str:
        heading = N_("### Q{n} · {title} ({points} point)") if self.points == 1 else N_("### Q{n} · {title} ({points} points)")
        return _(heading).format(n=int(self.qid[1:]), title=_(self.title), points=self.points)

    def form(self) -> str:
        """How to write the answer: ``one letter in quotes (A, B, C, D)``, ... (in the current language)."""
        return _(ANSWER_FORMS[self.kind]).format(letters=", ".join(self.letters), shape=self.shape)

    def text_shown(self) -> str:
        """``text`` in the current language: its first paragraph is the catalog's message (a table after it stays)."""
        prose, sep, rest = self.text.strip().partition("\n\n")
        return _(prose) + sep + rest

    def body(self) -> list[str]:
        """The heading, the text and the options (Markdown lines), in the current language."""
        lines = [self.heading(), "", self.text_shown()]
        if self.options:
            lines += [""] + [f"- **{letter}.** {_(opt)}" for letter, opt in zip(self.letters, self.options, strict=True)]
        return lines

    def markdown(self) -> str:
        """The question as the quiz notebook shows it (in the current language: ``cnnlib.set_language``)."""
        return "\n".join(self.body() + ["", _("Answer: set `{qid}` to {form}.").format(qid=self.qid, form=self.form())])

    def read(self, value):
        """The answer read in this question's form (raises ``AssertionError`` with a message)."""
        if self.kind == "choice":
            return quiz.as_letter(value, self.qid, self.letters)
        if self.kind == "number":
            return quiz.as_int(value, self.qid)
        if self.kind == "array":
            return quiz.as_array(value, self.qid, self.shape)
        return quiz.as_conv2d(value, self.qid)


@dataclass(frozen=True)
class Practice(Question):
    """An ungraded practice question (``pid`` ``"p01"`` ...), its answer in the clear.

    ``answer``: the right letter (set from the option marked ``*``), the number, or the
    table; ``None`` for a layer (``spec`` says what it must do). ``points`` is 0.
    """

    points: int = 0
    answer: object = field(default=None)

    def __post_init__(self):
        if self.kind == "choice":
            starred = [i for i, opt in enumerate(self.options) if opt.startswith("*")]
            if len(starred) != 1:
                raise ValueError(f"{self.qid}: mark exactly one option with '*'; marked {len(starred)}")
            object.__setattr__(self, "answer", self.letters[starred[0]])
            object.__setattr__(self, "options", tuple(opt.removeprefix("*") for opt in self.options))

    def heading(self) -> str:
        return _("### Practice P{n} · {title} (ungraded)").format(n=int(self.qid[1:]), title=_(self.title))

    def markdown(self) -> str:
        """The question as ``ask`` shows it (in the current language)."""
        how = (_("Answer: pick one letter, then press *Check*.") if self.kind == "choice"
               else _("Answer: type {form}, then press *Check*.").format(form=self.form()))
        return "\n".join(self.body() + ["", how])

    def is_right(self, value) -> bool:
        """Whether ``value`` answers this question (``AssertionError`` when malformed)."""
        read = self.read(value)
        if self.kind == "code":
            return quiz.layer_fits(read, *self.spec)
        if self.kind == "array":
            return bool(np.all(np.abs(read - np.asarray(self.answer, dtype=np.float64)) <= 1e-6))
        return read == self.answer


def question(qid: str) -> Question:
    """The graded question ``qid`` (``"q01"`` ...), without its answer; ``KeyError`` names the ids."""
    for q in QUESTIONS:
        if q.qid == qid:
            return q
    raise KeyError(_("no quiz question {qid}; expected one of {ids}").format(
        qid=repr(qid), ids=", ".join(q.qid for q in QUESTIONS)))


def practice(pid: str) -> Practice:
    """The practice question ``pid`` (``"p01"`` ...).

    Raises:
        KeyError: ``pid`` is a graded question (it has no self-check) or unknown; the
            message names the practice ids.
    """
    for p in PRACTICE:
        if p.qid == pid:
            return p
    ids = ", ".join(p.qid for p in PRACTICE)
    if any(q.qid == pid for q in QUESTIONS):
        raise KeyError(_("{pid} is a graded quiz question and has no self-check (its answer is checked only at "
                         "grading); practise with the practice questions {ids}").format(pid=pid, ids=ids))
    raise KeyError(_("no practice question {pid}; expected one of {ids}").format(pid=repr(pid), ids=ids))


def check(pid: str, value) -> bool:
    """Whether ``value`` answers practice question ``pid`` right (ungraded self-check).

    The forms the graded quiz accepts work here too: a letter in lower case, a whole
    float for an int, a list, array or tensor for a table.

    Raises:
        KeyError: ``pid`` is a graded question or unknown (see :func:`practice`).
        AssertionError: the answer has the wrong form (the message says which form).
    """
    return practice(pid).is_right(value)


def ask(pid: str):
    """An ipywidgets box: practice question ``pid``, an answer field and a *Check* button.

    Typed answers are read as Python literals (a number such as ``17``, a table ``[[1, 2], [3, 4]]``);
    the layer question takes ``nn.Conv2d(...)``. ``KeyError`` for a graded or unknown id.
    """
    p = practice(pid)
    return quiz.answer_box(p, p.is_right)


def _table(*rows: tuple[int, ...]) -> str:
    """A Markdown table of numbers with an empty header row."""
    n = len(rows[0])
    return "\n".join(["| " + " | ".join(" " for _i in range(n)) + " |", "|" + "---|" * n]
                     + ["| " + " | ".join(str(v) for v in r) + " |" for r in rows])


QUESTIONS: tuple[Question, ...] = (
    Question(
        "q01", N_("Output size, stride 1"), "number",
        N_("A 32 x 32 feature map goes through a convolution with a 5 x 5 filter, "
           "stride 1 and no padding. How wide is the output?"),
        1,
    ),
    Question(
        "q02", N_("Output size, stride 4"), "number",
        N_("AlexNet's first layer: a 227 x 227 image, an 11 x 11 filter, stride 4, padding 0. "
           "How wide is the output?"),
        1,
    ),
    Question(
        "q03", N_("Parameters of a fully-connected layer"), "number",
        N_("A 32 x 32 **RGB** image is flattened and fed to a fully-connected layer with 64 "
           "units, **with** bias. How many learnable parameters does the layer have?"),
        2,
    ),
    Question(
        "q04", N_("Parameters of a convolution on RGB"), "number",
        N_("A convolutional layer takes an **RGB** image and has 32 filters of size 5 x 5, **without** bias. "
           "How many learnable parameters does it have?"),
        1,
    ),
    Question(
        "q05", N_("Parameters of a deeper convolution"), "number",
        N_("`nn.Conv2d(64, 128, kernel_size=3)`: 64 input channels, 128 output channels, "
           "**with** bias (the default). How many learnable parameters?"),
        2,
    ),
    Question(
        "q06", N_("A small convolution"), "array",
        N_("Convolve this 4 x 4 input with the slide's filter `[[1, 0, 0], [0, 1, 0], [0, 0, -1]]`, "
           "stride 1, no padding, the way `nn.Conv2d` does (no flipping).")
        + "\n\n" + _table((2, 1, 1, 4), (3, 2, 4, 2), (1, 3, 1, 4), (0, 0, 2, 4)),
        4, shape=(2, 2),
    ),
    Question(
        "q07", N_("Max pooling by hand"), "array",
        N_("Max pooling with kernel_size 2 and **stride 1** on this 4 x 4 feature map. "
           "Fill in the pooled matrix.")
        + "\n\n" + _table((2, 0, 5, 1), (4, 3, 1, 6), (0, 7, 2, 2), (1, 5, 8, 3)),
        3, shape=(3, 3),
    ),
    Question(
        "q08", N_("Pooling a stack of feature maps"), "choice",
        N_("Max pooling with kernel_size 2 and stride 2 takes a 128 x 128 x 32 (H x W x C) feature map. "
           "What shape comes out?"),
        1, options=("128 x 128 x 16", "64 x 64 x 32", "63 x 63 x 32", "64 x 64 x 16"),
    ),
    Question(
        "q09", N_("What batch normalization does"), "choice",
        N_("Batch normalization, before its learnable scale and shift: what holds for the "
           "values of one feature over the batch after BN?"),
        1, options=(
            N_("They all lie between 0 and 1."),
            N_("Their mean is 0, but their standard deviation is the same as before."),
            N_("Their mean is 0 and their standard deviation is 1."),
            N_("Each value is divided by the sum over the batch, so they add up to 1."),
        ),
    ),
    Question(
        "q10", N_("Conv2d, not Conv3d"), "choice",
        N_("Why does a CNN on RGB images use `nn.Conv2d` and not `nn.Conv3d`?"),
        1, options=(
            N_("A 2-D convolution slides only along height and width; each filter covers all the channels "
               "at once and adds up what it finds in them."),
            N_("`nn.Conv2d` convolves each colour channel with a filter of its own and keeps the three "
               "results apart."),
            N_("`nn.Conv2d` first turns the image into grayscale, so that only two dimensions are left."),
            N_("Because RGB images have only two dimensions, height and width."),
        ),
    ),
    Question(
        "q11", N_("What flatten is for"), "choice",
        N_("Why does a CNN for classification flatten its feature maps before the last layers?"),
        1, options=(
            N_("To make the network smaller and faster, like pooling does."),
            N_("To normalize the values to mean 0 and standard deviation 1."),
            N_("To average each feature map into one number, one per channel."),
            N_("To turn the (C, H, W) feature maps into one vector that fully-connected layers can take."),
        ),
    ),
    Question(
        "q12", N_("Which stack gives this shape?"), "choice",
        N_("An input of shape (3, 32, 32). Which stack gives an output of shape **(16, 5, 5)**? "
           "(`Conv2d(in, out, k)` has stride 1 and no padding unless written; `MaxPool2d(2)` has stride 2.)"),
        2, options=(
            "`Conv2d(3, 6, 5)`, `MaxPool2d(2)`, `Conv2d(6, 16, 5)`, `MaxPool2d(2)`",
            "`Conv2d(3, 6, 5, padding=2)`, `MaxPool2d(2)`, `Conv2d(6, 16, 5)`, `MaxPool2d(2)`",
            "`Conv2d(3, 6, 5)`, `MaxPool2d(2)`, `Conv2d(6, 16, 3)`, `MaxPool2d(2)`",
            "`Conv2d(3, 64, 5)`, `MaxPool2d(2)`, `Conv2d(64, 64, 5)`, `MaxPool2d(2)`",
        ),
    ),
    Question(
        "q13", N_("Write the layer"), "code",
        N_("Write the `nn.Conv2d` layer with a **3 x 3** kernel that takes a batch of shape (8, 3, 32, 32) "
           "to shape (8, 16, 16, 16)."),
        2, spec=((8, 3, 32, 32), (8, 16, 16, 16), 3),
    ),
    Question(
        "q14", N_("Batch norm in train and eval mode"), "choice",
        N_("A CNN with `nn.BatchNorm2d` layers has been trained. Still in train mode (`model.train()`), it "
           "classifies the same test image twice: once in a batch with 63 pictures of cats, once in a batch "
           "with 63 pictures of trucks, and gives two different answers. Why, and what does `model.eval()` "
           "change?"),
        2, options=(
            N_("In train mode BN changes its learnable scale and shift (gamma, beta) at every forward pass; "
               "running the test inside `torch.no_grad()` is enough to stop it."),
            N_("In train mode BN normalises with the mean and standard deviation of the current batch, so the "
               "other 63 images change this image's values; in eval mode it uses the running averages kept "
               "during training."),
            N_("In eval mode BN normalises each test image with its own mean and standard deviation, so the "
               "other images in the batch no longer matter."),
            N_("BN squeezes each batch into values between 0 and 1, so brighter neighbours change this image; "
               "`model.eval()` switches BN off."),
        ),
    ),
    Question(
        "q15", N_("Same padding"), "choice",
        N_("A 40 x 40 feature map goes through `nn.Conv2d` with a 5 x 5 kernel at stride 1. "
           "Which padding keeps the output at 40 x 40 (\"same\" padding)?"),
        1, options=("`padding=0`", "`padding=1`", "`padding=2`", "`padding=4`"),
    ),
)

# Ungraded practice, one question per graded topic (pNN practises qNN) with other numbers and
# wording: knowing these answers gives no graded one away (a test checks that they differ).
# A right option is marked "*" outside its N_(): the catalog holds the text a student reads.
PRACTICE: tuple[Practice, ...] = (
    Practice("p01", N_("Output size, stride 1"), "number",
             N_("A 64 x 64 feature map goes through a convolution with a 7 x 7 filter, "
                "stride 1 and no padding. How wide is the output?"), answer=58),
    Practice("p02", N_("Output size, stride 3"), "number",
             N_("A 99 x 99 image goes through a 7 x 7 filter with stride 3 and padding 2. How wide is the output?"),
             answer=33),
    Practice("p03", N_("Parameters of a fully-connected layer"), "number",
             N_("A 16 x 16 **RGB** image is flattened and fed to a fully-connected layer with 10 units, "
                "**with** bias. How many learnable parameters?"), answer=7690),
    Practice("p04", N_("Parameters of a convolution on RGB"), "number",
             N_("A convolutional layer takes an **RGB** image and has 8 filters of size 7 x 7, **without** bias. "
                "How many learnable parameters?"), answer=1176),
    Practice("p05", N_("Parameters of a deeper convolution"), "number",
             N_("`nn.Conv2d(32, 64, kernel_size=5)`, **with** bias (the default). How many learnable parameters?"),
             answer=51264),
    Practice("p06", N_("A small convolution"), "array",
             N_("Convolve this 4 x 4 input with the slide's filter `[[1, 0, 0], [0, 1, 0], [0, 0, -1]]`, stride 1, "
                "no padding, as `nn.Conv2d` does.")
             + "\n\n" + _table((1, 0, 2, 1), (2, 3, 1, 0), (0, 1, 2, 3), (1, 2, 0, 1)),
             shape=(2, 2), answer=[[2, -2], [3, 4]]),
    Practice("p07", N_("Max pooling by hand"), "array",
             N_("Max pooling with kernel_size 2 and stride 2 on this 4 x 4 feature map.")
             + "\n\n" + _table((3, 1, 0, 2), (5, 2, 4, 1), (0, 6, 1, 1), (2, 3, 7, 0)),
             shape=(2, 2), answer=[[5, 4], [6, 7]]),
    Practice("p08", N_("Pooling a stack of feature maps"), "choice",
             N_("Max pooling with kernel_size 2 and stride 2 on a 96 x 96 x 16 (H x W x C) feature map gives:"),
             options=("96 x 96 x 8", "47 x 47 x 16", "48 x 48 x 8", "*48 x 48 x 16")),
    Practice("p09", N_("What batch normalization does"), "choice",
             N_("One feature has the values 2, 4, 6, 8 over a batch of four. What does batch normalization "
                "make of them, before its scale and shift (and with a tiny eps)?"),
             options=("0, 0.33, 0.67, 1", "*-1.34, -0.45, 0.45, 1.34", "-3, -1, 1, 3", "0.1, 0.2, 0.3, 0.4")),
    Practice("p10", N_("Conv2d, not Conv3d"), "choice",
             N_("`nn.Conv2d(3, 8, kernel_size=5)` on RGB images: what shape does each of its 8 filters have, "
                "and along which axes does it slide?"),
             options=(N_("5 x 5, sliding along height, width and the channels"),
                      "*" + N_("3 x 5 x 5, sliding along height and width only"),
                      N_("5 x 5 x 5, sliding along all three axes"),
                      N_("8 x 5 x 5, one slice for each output channel"))),
    Practice("p11", N_("What flatten is for"), "choice",
             N_("The last pooling layer of LeNet-5 gives feature maps of shape (16, 5, 5). What does `nn.Flatten()` "
                "hand to the first fully-connected layer, per image?"),
             options=("*" + N_("A vector of 400 numbers: every value of every feature map, one after the other"),
                      N_("A vector of 16 numbers, one for each channel"),
                      N_("A 5 x 5 map with the 16 channels averaged"),
                      N_("A vector of 80 numbers, 16 times 5"))),
    Practice("p12", N_("Which stack gives this shape?"), "choice",
             N_("An input of shape (3, 64, 64). Which stack gives **(8, 14, 14)**? (Stride 1 and no padding unless "
                "written; `MaxPool2d(2)` has stride 2.)"),
             options=("`Conv2d(3, 8, 5, padding=2)`, `MaxPool2d(2)`, `Conv2d(8, 8, 3)`, `MaxPool2d(2)`",
                      "`Conv2d(3, 32, 5)`, `MaxPool2d(2)`, `Conv2d(32, 32, 3)`, `MaxPool2d(2)`",
                      "*`Conv2d(3, 8, 5)`, `MaxPool2d(2)`, `Conv2d(8, 8, 3)`, `MaxPool2d(2)`",
                      "`Conv2d(3, 8, 5)`, `Conv2d(8, 8, 3)`, `MaxPool2d(2)`")),
    Practice("p13", N_("Write the layer"), "code",
             N_("Write the `nn.Conv2d` layer with a **7 x 7** kernel that takes a batch of shape (2, 3, 224, 224) "
                "to shape (2, 64, 112, 112)."), spec=((2, 3, 224, 224), (2, 64, 112, 112), 7)),
    Practice("p14", N_("Batch norm in train and eval mode"), "choice",
             N_("`nn.BatchNorm2d` keeps `running_mean` and `running_var` while it trains. When does it normalise "
                "with them instead of the current batch's mean and standard deviation?"),
             options=("*" + N_("In eval mode, after `model.eval()`"),
                      N_("In train mode, from the second batch on"),
                      N_("Inside `with torch.no_grad():`, in either mode"),
                      N_("Never: they are kept only to plot the training"))),
    Practice("p15", N_("Same padding"), "choice",
             N_("A 64 x 64 feature map goes through `nn.Conv2d` with a 7 x 7 kernel at stride 1. Which padding keeps "
                "it at 64 x 64?"),
             options=("`padding=1`", "*`padding=3`", "`padding=6`", "`padding=7`")),
)
