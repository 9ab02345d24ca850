"""The frontier as a PNG or SVG (matplotlib, from the optional `plot` extra, imported only here and only when asked)."""

from __future__ import annotations

import io

from planner.errors import InputError
from planner.report.recommend import OBJECTIVE_UNITS, title

FORMATS = (".png", ".svg")


def frontier_figure(rec, suffix: str) -> bytes:
    """The accuracy-vs-objective frontier drawn as ``suffix`` ('.png' or '.svg'); bytes ready to write."""
    if suffix not in FORMATS:
        raise InputError(f"--plot: expected a .png or .svg file name, got '{suffix}'")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'llm-compute-planner[plot]' (or pip install matplotlib)") from None
    points = [(c.objective(rec.objective), c) for c in rec.frontier if c.objective(rec.objective)]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    xs = [x for x, _ in points]
    ys = [c.accuracy * 100 for _, c in points]
    lo = [(c.accuracy - c.accuracy_lower) * 100 for _, c in points]
    hi = [(c.accuracy_upper - c.accuracy) * 100 for _, c in points]
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", ms=3, lw=1, capsize=2, color="#1f5fa8", ecolor="#9bb7d9")
    if rec.best is not None and rec.best.objective(rec.objective):
        ax.plot([rec.best.objective(rec.objective)], [rec.best.accuracy * 100], "r*", ms=12, label=rec.best.label)
        ax.legend(loc="lower right", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(OBJECTIVE_UNITS[rec.objective])
    ax.set_ylabel(f"predicted {rec.task} accuracy (%)")
    ax.set_title(title(rec), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    buffer = io.BytesIO()
    metadata = {"Software": None} if suffix == ".png" else {"Date": None, "Creator": None}
    fig.savefig(buffer, format=suffix[1:], bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return buffer.getvalue()
