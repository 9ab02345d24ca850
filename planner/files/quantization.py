"""Quantization-penalty files: YAML mapping → QuantPenalty."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from planner.accuracy.quantization import FORMS, LOSSLESS, REFERENCE_PARAMS, QuantPenalty
from planner.errors import InputError
from planner.files.checker import Checker

_TOP = {"kind", "id", "form", "alpha", "reference_params", "weight", "kv", "kv_aliases", "weight_aliases", "intervals", "fit",
        "coverage", "sources", "notes"}
_REQUIRED = {"id", "form", "alpha", "weight", "sources"}


def parse_penalty(data: dict, path) -> QuantPenalty:
    """Validate a YAML mapping (``kind: quantization``) and build a QuantPenalty; raises every problem found."""
    path = Path(path) if path is not None else None
    c = Checker(path, data)
    with c.collecting():
        penalty = _parse_fields(c, data, path)
    return penalty


def _parse_fields(c: Checker, data: Mapping, path: Path | None) -> QuantPenalty | None:
    c.keys(data, _TOP, _REQUIRED)
    if not isinstance(data, Mapping):
        return None
    if data.get("kind", "quantization") != "quantization":
        c.fail("kind", f"expected 'quantization', got {data['kind']!r}")
    if path is not None and "id" in data and str(data["id"]) != path.stem:
        c.fail("id", f"expected '{path.stem}' (the file name without .yaml), got {data['id']!r}")
    form = c.text(data, "form", required=True, choices=FORMS)
    alpha = c.number(data, "alpha", lo=0.0, hi=3.0)
    if "reference_params" in data and c.number(data, "reference_params", lo=0.0) != REFERENCE_PARAMS:
        c.fail("reference_params", f"expected {REFERENCE_PARAMS:g} (coefficients are quoted at 1e9 parameters)")
    weight = _coefficients(c, data, "weight")
    kv = _coefficients(c, data, "kv") if data.get("kv") is not None else {}
    aliases = _aliases(c, data, "kv_aliases", kv, "KV", "{fp8: int8}")
    waliases = _aliases(c, data, "weight_aliases", weight, "weight", "{fp4-w4a16: int4}")
    intervals: dict[str, tuple[float, float]] = {}
    raw_intervals = data.get("intervals") or {}
    if not isinstance(raw_intervals, Mapping):
        c.fail("intervals", "expected a mapping of name: [low, high]")
        raw_intervals = {}
    for name in raw_intervals:
        pair = c.pair(raw_intervals, name, "intervals.")
        if pair is not None:
            intervals[str(name)] = pair
    sources = c.sources(data, ())
    if "sources" in data and isinstance(data["sources"], Mapping) and not data["sources"]:
        c.fail("sources", "expected a mapping of citations")
    params_range = (0.0, math.inf)
    coverage = c.mapping(data, "coverage")
    if coverage.get("params") is not None:
        rng = c.pair(coverage, "params", "coverage.")
        if rng is not None and rng[0] <= 0:
            c.fail("coverage.params", f"expected [smallest, largest] parameter counts > 0, got {coverage['params']!r}")
        elif rng is not None:
            params_range = rng
    fit = c.mapping(data, "fit")
    if c.problems:
        return None
    try:
        return QuantPenalty(id=str(data["id"]), form=form, alpha=alpha, weight=weight, kv=kv,
                            kv_aliases={str(a): str(t) for a, t in aliases.items()},
                            weight_aliases={str(a): str(t) for a, t in waliases.items()}, intervals=intervals,
                            fit=dict(fit), params_range=params_range, sources=sources,
                            notes=str(data.get("notes") or ""), path=str(path or ""))
    except InputError as exc:
        c.fail(None, str(exc))
        return None


def _coefficients(c: Checker, data: Mapping, key: str) -> dict[str, float]:
    raw = data.get(key)
    if not isinstance(raw, Mapping) or not raw:
        if key in data:
            c.fail(key, "expected a mapping of precision: coefficient")
        return {}
    out = {}
    for name in raw:
        label = str(name).strip().lower()
        if label in LOSSLESS:
            c.fail(f"{key}.{name}", "is the unquantized reference; its penalty is zero by definition")
            continue
        value = c.number(raw, name, f"{key}.", lo=0.0, hi=50.0)
        if value is not None:
            out[label] = value
    return out


def _aliases(c: Checker, data: Mapping, key: str, fitted: Mapping[str, float], what: str, example: str) -> Mapping:
    """``key``: precision → a fitted precision whose coefficient it borrows; every target must be fitted."""
    aliases = data.get(key) or {}
    if not isinstance(aliases, Mapping):
        c.fail(key, f"expected a mapping like {example}")
        return {}
    for alias, target in aliases.items():
        if target not in fitted:
            c.fail(f"{key}.{alias}", f"'{target}' is not a fitted {what} precision ({', '.join(fitted) or 'none'})")
    return aliases
