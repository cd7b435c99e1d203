"""cnnlib: the helper library of the CNN lecture workbook.

One module per concern (see DESIGN.md): ``ops`` (NumPy reference functions),
``checks`` (comparison helpers with hints), ``data`` (sample images that ship
with the course), ``slides`` (the slides' worked examples), ``viz`` (figures),
``widgets`` (convolution stepper, pooling explorer, self-check question), and
``course`` (instructor tooling: demo class, grading).
Notebooks import from here in one line, they never copy its code.
"""

__version__ = "0.1.0"
