"""cnnlib: the helper library of the CNN lecture workbook.

One module per concern (see DESIGN.md): ``ops`` (NumPy reference functions),
``checks`` (comparison helpers with hints), ``images`` (sample images that ship
with the course), and ``course`` (instructor tooling: demo class, grading).
Notebooks import from here in one line, they never copy its code.
"""

__version__ = "0.1.0"
