"""cnnlib: the student's library of the CNN lecture workbook.

One module per concern (see DESIGN.md): ``ops`` (NumPy reference functions),
``checks`` (comparison helpers with hints), ``slides`` (the slides' worked examples),
``samples`` (pictures that ship with the course), ``data`` (CIFAR-10 and friends),
``augment`` (normalisation, flips, shifts, the on-device loader), ``batches`` (CPU batches for
a loop students write), ``probes`` (what the tests of such a loop watch), ``machine`` (the CPU,
for timings and precision), ``models``, ``train`` (``fit``, ``predict``; its loop in ``loop``),
``checkpoints``, ``commands`` (the
``python -m cnnlib.train`` / ``cnnlib.evaluate`` command lines), ``shapes``, ``viz``
(figures), ``widgets`` (convolution stepper, pooling explorer, self-check question) and
``quiz`` / ``quiz_questions``; ``i18n`` picks the language of every message
(``cnnlib.set_language("zh_TW")`` or ``"en"``; catalogs in ``cnnlib/locale``).
Notebooks import from here in one line, they never copy its code. Nothing here grades:
the instructor's tools are the separate package ``cnn_course``.
"""

__version__ = "0.1.0"

from .i18n import get_language, set_language  # noqa: E402,F401 (one setting, in every setup cell)
