"""Quantization-penalty files: YAML mapping → QuantPenalty."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from planner.accuracy.quantization import FORMS, LOSSLESS, REFERENCE_PARAMS, QuantPenalty
from planner.errors import InputError, ProfileError

_TOP = {"kind", "id", "form", "alpha", "reference_params", "weight", "kv", "kv_aliases", "intervals", "fit",
        "coverage", "sources", "notes"}
_REQUIRED = {"id", "form", "alpha", "weight", "sources"}


def parse_penalty(data: dict, path) -> QuantPenalty:
    """Validate a YAML mapping (``kind: quantization``) and build a QuantPenalty.

    Raises ProfileError(path, field, message) on the first problem found.
    """
    path = Path(path) if path is not None else None
    if not isinstance(data, Mapping):
        raise ProfileError(path, None, "expected a mapping of fields")
    for key in data:
        if key not in _TOP:
            raise ProfileError(path, str(key), f"unknown key; expected one of: {', '.join(sorted(_TOP))}")
    for key in sorted(_REQUIRED - set(data)):
        raise ProfileError(path, key, "required field is missing")
    if data.get("kind", "quantization") != "quantization":
        raise ProfileError(path, "kind", f"expected 'quantization', got {data['kind']!r}")
    if path is not None and str(data["id"]) != path.stem:
        raise ProfileError(path, "id", f"expected '{path.stem}' (the file name without .yaml), got {data['id']!r}")
    form = data["form"]
    if form not in FORMS:
        raise ProfileError(path, "form", f"expected one of {', '.join(FORMS)}, got {form!r}")
    alpha = _number(data, "alpha", path, maximum=3.0)
    if "reference_params" in data and _number(data, "reference_params", path) != REFERENCE_PARAMS:
        raise ProfileError(path, "reference_params", f"expected {REFERENCE_PARAMS:g} (coefficients are quoted at 1e9 parameters)")
    weight = _coefficients(data, "weight", path)
    kv = _coefficients(data, "kv", path) if data.get("kv") is not None else {}
    aliases = data.get("kv_aliases") or {}
    if not isinstance(aliases, Mapping):
        raise ProfileError(path, "kv_aliases", "expected a mapping like {fp8: int8}")
    for alias, target in aliases.items():
        if target not in kv:
            raise ProfileError(path, f"kv_aliases.{alias}", f"'{target}' is not a fitted KV precision ({', '.join(kv) or 'none'})")
    intervals: dict[str, tuple[float, float]] = {}
    raw_intervals = data.get("intervals") or {}
    if not isinstance(raw_intervals, Mapping):
        raise ProfileError(path, "intervals", "expected a mapping of name: [low, high]")
    for name, pair in raw_intervals.items():
        if not (isinstance(pair, Sequence) and len(pair) == 2 and all(_is_number(v) for v in pair) and float(pair[0]) <= float(pair[1])):
            raise ProfileError(path, f"intervals.{name}", f"expected [low, high] with low ≤ high, got {pair!r}")
        intervals[str(name)] = (float(pair[0]), float(pair[1]))
    sources = data["sources"]
    if not isinstance(sources, Mapping) or not sources:
        raise ProfileError(path, "sources", "expected a mapping of citations")
    for key, value in sources.items():
        if not isinstance(value, str) or not value.strip():
            raise ProfileError(path, f"sources.{key}", "expected a citation (text or URL)")
    coverage = data.get("coverage") or {}
    params_range = (0.0, math.inf)
    if coverage:
        if not isinstance(coverage, Mapping):
            raise ProfileError(path, "coverage", "expected a mapping")
        rng = coverage.get("params")
        if rng is not None:
            if not (isinstance(rng, Sequence) and len(rng) == 2 and all(_is_number(v) for v in rng) and 0 < float(rng[0]) <= float(rng[1])):
                raise ProfileError(path, "coverage.params", f"expected [smallest, largest] parameter counts, got {rng!r}")
            params_range = (float(rng[0]), float(rng[1]))
    fit = data.get("fit") or {}
    if not isinstance(fit, Mapping):
        raise ProfileError(path, "fit", "expected a mapping")
    try:
        return QuantPenalty(id=str(data["id"]), form=form, alpha=alpha, weight=weight, kv=kv,
                            kv_aliases={str(a): str(t) for a, t in aliases.items()}, intervals=intervals,
                            fit=dict(fit), params_range=params_range, sources={str(k): v for k, v in sources.items()},
                            notes=str(data.get("notes") or ""), path=str(path or ""))
    except InputError as exc:
        raise ProfileError(path, None, str(exc)) from None


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, (int, float)) and math.isfinite(value)


def _number(data: Mapping, key: str, path, *, prefix: str = "", minimum: float = 0.0, maximum: float = math.inf) -> float:
    value = data[key]
    if not _is_number(value):
        raise ProfileError(path, prefix + key, f"expected a number, got {value!r}")
    value = float(value)  # PyYAML reads 1e9 as text (YAML 1.1)
    if not (minimum <= value <= maximum):
        raise ProfileError(path, prefix + key, f"expected a value between {minimum:g} and {maximum:g}, got {value:g}")
    return value


def _coefficients(data: Mapping, key: str, path) -> dict[str, float]:
    raw = data[key]
    if not isinstance(raw, Mapping) or not raw:
        raise ProfileError(path, key, "expected a mapping of precision: coefficient")
    out = {}
    for name, value in raw.items():
        name = str(name).strip().lower()
        if name in LOSSLESS:
            raise ProfileError(path, f"{key}.{name}", "is the unquantized reference; its penalty is zero by definition")
        out[name] = _number(raw, next(k for k in raw if str(k).strip().lower() == name), path, prefix=f"{key}.", maximum=50.0)
    return out


# ---------------------------------------------------------------------------------------------
# Data: published bf16-vs-quantized pairs


