"""Calibration bands: measured/predicted time ratios per regime (written by bench/calibrate.py --write)."""

from __future__ import annotations

from pathlib import Path

from planner.domain import Band, BandTable
from planner.files.checker import Checker

_TOP = {"kind", "min_rows", "source", "regimes"}
_REGIME = {"low", "high", "rows"}


def parse_bands(data: dict, path: Path) -> BandTable:
    """Build a BandTable from a YAML mapping, collecting every problem."""
    c = Checker(path)
    c.keys(data, _TOP, {"regimes", "source"})
    regimes = c.mapping(data, "regimes")
    table = {}
    for name, raw in regimes.items():
        prefix = f"regimes.{name}."
        if not isinstance(raw, dict):
            c.fail(f"regimes.{name}", "expected a mapping {low, high, rows}")
            continue
        c.keys(raw, _REGIME, _REGIME, prefix)
        # A factor on predicted times: beyond ×1000 either way a band says nothing (and could overflow a time).
        low = c.quantity(raw, "low", "number", prefix, default=1.0, minimum=1e-3, maximum=1e3)
        high = c.quantity(raw, "high", "number", prefix, default=1.0, minimum=1e-3, maximum=1e3)
        if low > high:
            c.fail(prefix + "low", f"expected low ≤ high ({high}), got {low}")
        table[str(name)] = Band(low=low, high=high, rows=c.integer(raw, "rows", prefix, default=1), regime=str(name))
    bands = BandTable(regimes=table, min_rows=c.integer(data, "min_rows", default=8), source=c.text(data, "source"), path=str(path))
    c.raise_if_any()
    return bands
