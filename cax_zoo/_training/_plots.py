"""Figures a release carries: the training loss curve (``training.png`` beside the weights).

matplotlib is optional (the ``docs`` extra); without it, :func:`training_figures` returns
no figure and says so once, so a release never fails for want of a plot.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence

TRAINING_PLOT = "training.png"


def loss_curve_png(history: Sequence[Sequence[float]], *, title: str = "training loss",
                   smooth: int | None = None) -> bytes:
    """A PNG (bytes) of the loss against the step, from a run's ``[[step, loss], ...]``
    history (``checkpoint.json``'s ``meta["history"]``, ``Trained.history``): the raw
    losses faintly and a running mean of ``smooth`` steps (default: 1/50 of the run) on a
    log scale."""
    import numpy as np

    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    rows = [(float(s), float(v)) for s, v in history if math.isfinite(float(v))]
    if not rows:
        raise ValueError("the training history holds no finite loss to plot")
    steps, losses = (np.asarray(c) for c in zip(*rows))
    window = max(1, smooth or len(losses) // 50)
    fig = Figure(figsize=(5, 3), dpi=100)
    ax = fig.add_subplot()
    ax.plot(steps, losses, color="#1f77b4", alpha=0.25, lw=0.8, label="loss")
    if window > 1 and len(losses) > window:
        mean = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], mean, color="#1f77b4", lw=1.6, label=f"mean of {window} steps")
        ax.legend(fontsize=8)
    if (losses > 0).all():
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")  # 0.02, not 2 x 10^-2
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def training_figures(history: Sequence[Sequence[float]], *, title: str = "training loss") -> dict[str, bytes]:
    """``{"training.png": PNG bytes}`` for ``finish(..., files=...)``, or ``{}`` (with a
    warning) when matplotlib is not installed or the history is empty."""
    try:
        return {TRAINING_PLOT: loss_curve_png(history, title=title)}
    except ImportError:
        warnings.warn("matplotlib is not installed (pip install 'cax_zoo[docs]'): the release gets no "
                      f"{TRAINING_PLOT}", stacklevel=2)
    except ValueError as e:
        warnings.warn(f"no {TRAINING_PLOT}: {e}", stacklevel=2)
    return {}
