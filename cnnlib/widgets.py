"""Small ipywidgets for the lecture, imported lazily; their logic is testable without a browser.

* ``pooling_explorer(x=None)``: kernel size, stride and max/avg controls over a 2-D input
  (default: the slide's 4x4 pooling example); shows the input with the chosen window
  highlighted, and the pooled output (池化) computed by ``cnnlib.ops.pool2d``.

The state and the text/HTML a widget shows live in a small pure class (``PoolingExplorer``)
that tests drive directly; the widget function only wires sliders to it.
"""

from __future__ import annotations

import html

import numpy as np

from . import ops

__all__ = ["SLIDE_POOL_INPUT", "PoolingExplorer", "pooling_explorer"]

# The slides' pooling example (lecture 2025-10-08, "Pooling").
SLIDE_POOL_INPUT = np.array([[1, 3, 1, 2], [-1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 2]])


def _fmt(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.4g}"


class PoolingExplorer:
    """What the pooling explorer shows, for a 2-D input x (H, W).

    Settings: ``kernel_size`` (1..min(H, W)), ``stride`` (>= 1), ``mode`` ("max" or "avg")
    and ``position`` (index of the highlighted output cell, row-major).

    Raises:
        ValueError: x not 2-D, or a setting out of range (from ``set``).
    """

    def __init__(self, x=None, kernel_size: int = 2, stride: int = 2, mode: str = "max"):
        x = SLIDE_POOL_INPUT if x is None else x
        arr = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
        if arr.ndim != 2 or min(arr.shape) < 1:
            raise ValueError(f"x must be a 2-D array (H, W); got shape {arr.shape}")
        self.x = arr
        self.kernel_size, self.stride, self.mode, self.position = 2, 2, "max", 0
        self.set(kernel_size=kernel_size, stride=stride, mode=mode, position=0)

    def set(self, kernel_size=None, stride=None, mode=None, position=None) -> PoolingExplorer:
        """Change some settings; the highlighted position is clipped to the new output."""
        k = self.kernel_size if kernel_size is None else kernel_size
        s = self.stride if stride is None else stride
        m = self.mode if mode is None else mode
        if m not in ("max", "avg"):
            raise ValueError(f"mode must be 'max' or 'avg'; got {m!r}")
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(self.x.shape):
            raise ValueError(f"kernel_size must be an int from 1 to {min(self.x.shape)}; got {k!r}")
        if not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"stride must be an int >= 1; got {s!r}")
        self.kernel_size, self.stride, self.mode = int(k), int(s), m
        p = self.position if position is None else int(position)
        self.position = min(max(p, 0), self.output.size - 1)
        return self

    @property
    def output(self) -> np.ndarray:
        """ops.pool2d(x, kernel_size, stride, mode), shape (OH, OW)."""
        return ops.pool2d(self.x, self.kernel_size, self.stride, self.mode)

    @property
    def output_shape(self) -> tuple[int, int]:
        return tuple(int(ops.conv_output_size(n, self.kernel_size, self.stride)) for n in self.x.shape)

    def window(self) -> tuple[slice, slice]:
        """Rows and columns of x under the highlighted output cell."""
        i, j = divmod(self.position, self.output_shape[1])
        r, c = i * self.stride, j * self.stride
        return slice(r, r + self.kernel_size), slice(c, c + self.kernel_size)

    def explain(self) -> str:
        """One line: the highlighted window, its values and what pooling makes of them."""
        rows, cols = self.window()
        values = self.x[rows, cols].ravel()
        i, j = divmod(self.position, self.output_shape[1])
        what = "max" if self.mode == "max" else "mean"
        return (
            f"output[{i}, {j}] = {what}({', '.join(_fmt(v) for v in values)}) = "
            f"{_fmt(self.output[i, j])}; output size ({self.x.shape[0]} - {self.kernel_size}) // "
            f"{self.stride} + 1 = {self.output_shape[0]} x {self.output_shape[1]}"
        )

    def to_html(self) -> str:
        """The input (window highlighted), the output (cell highlighted) and the explanation."""
        rows, cols = self.window()
        i, j = divmod(self.position, self.output_shape[1])

        def table(a, mark):
            cells = "".join(
                "<tr>" + "".join(
                    f'<td style="border:1px solid #999;padding:4px 8px;text-align:center;'
                    f'{"background:#ffd54f;" if mark(r, c) else ""}">{_fmt(v)}</td>'
                    for c, v in enumerate(row)
                ) + "</tr>"
                for r, row in enumerate(a)
            )
            return f'<table style="border-collapse:collapse">{cells}</table>'

        inp = table(self.x, lambda r, c: rows.start <= r < rows.stop and cols.start <= c < cols.stop)
        out = table(self.output, lambda r, c: (r, c) == (i, j))
        return (
            '<div style="display:flex;gap:24px;align-items:flex-start">'
            f"<div><b>input {self.x.shape[0]}x{self.x.shape[1]}</b>{inp}</div>"
            f"<div><b>{self.mode} pooling (池化), k={self.kernel_size}, s={self.stride}</b>{out}</div>"
            f"</div><p>{html.escape(self.explain())}</p>"
        )


def pooling_explorer(x=None):
    """A widget: sliders for kernel size, stride and output position, a max/avg toggle.

    Args:
        x: a 2-D array (H, W); default the slide's 4x4 example ``SLIDE_POOL_INPUT``.

    Returns:
        An ``ipywidgets.VBox``; its ``.explorer`` attribute is the ``PoolingExplorer`` it shows,
        and ``.controls`` maps "kernel_size", "stride", "mode", "position" to the controls.
    """
    import ipywidgets as w  # lazy: cnnlib imports without ipywidgets

    state = PoolingExplorer(x)
    n = min(state.x.shape)
    kernel = w.IntSlider(value=state.kernel_size, min=1, max=n, description="kernel_size")
    stride = w.IntSlider(value=state.stride, min=1, max=n, description="stride")
    mode = w.ToggleButtons(options=["max", "avg"], value=state.mode, description="mode")
    position = w.IntSlider(value=0, min=0, max=state.output.size - 1, description="window")
    view = w.HTML(state.to_html())

    def update(_change=None):
        state.set(kernel_size=kernel.value, stride=stride.value, mode=mode.value, position=position.value)
        position.max = state.output.size - 1
        view.value = state.to_html()

    for control in (kernel, stride, mode, position):
        control.observe(update, names="value")
    box = w.VBox([w.HBox([kernel, stride]), w.HBox([mode, position]), view])
    box.explorer = state
    box.controls = {"kernel_size": kernel, "stride": stride, "mode": mode, "position": position}
    return box
