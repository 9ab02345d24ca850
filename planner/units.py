"""SI units: parsing quantities with units from profiles, and formatting for reports.

Everything inside the planner is SI (bytes, seconds, FLOP/s, bytes/s, watts, USD).
Conversion happens only here, when reading profiles and when rendering.
"""

from __future__ import annotations

import math
import re

from planner.errors import short

KILO, MEGA, GIGA, TERA, PETA = 1e3, 1e6, 1e9, 1e12, 1e15
KIB, MIB, GIB = 1024.0, 1024.0**2, 1024.0**3

_PREFIX = {"": 1.0, "k": KILO, "K": KILO, "M": MEGA, "G": GIGA, "T": TERA, "P": PETA}
_BINARY_PREFIX = {"Ki": KIB, "Mi": MIB, "Gi": GIB, "Ti": 1024.0**4}

# unit stem -> dimension name; a quantity's dimension must match what the field expects.
_STEMS = {
    "B": "bytes",
    "B/s": "bytes_per_s",
    "FLOP/s": "flop_per_s",
    "FLOPS": "flop_per_s",
    "OP/s": "flop_per_s",
    "OPS": "flop_per_s",
    "FLOP": "flop",
    "W": "watts",
    "s": "seconds",
    "ms": "seconds",
    "us": "seconds",
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/]*)\s*$")


class QuantityError(ValueError):
    """A string could not be read as a quantity of the expected dimension."""


def parse_quantity(value: object, dimension: str) -> float:
    """Read ``value`` (a number or a string such as ``"3.35 TB/s"``) as a float in SI units.

    ``dimension`` is one of ``bytes, bytes_per_s, flop_per_s, flop, watts, seconds, number``.
    Bare numbers are taken to be SI already. YAML 1.1 reads ``80e9`` as a string; that is handled.
    """
    if isinstance(value, bool):
        raise QuantityError(f"expected a number with unit for {dimension}, got a boolean")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        match = _QUANTITY.match(value.replace("_", "").replace(",", ""))
        if not match:
            raise QuantityError(f"cannot read {short(value)} as a quantity ({_example(dimension)})")
        number, unit = float(match.group(1)), match.group(2)
        result = number * _unit_factor(unit, dimension, value)
    else:
        raise QuantityError(f"expected a number or a string like {_example(dimension)}, got {type(value).__name__}")
    if not math.isfinite(result):
        raise QuantityError(f"{short(value)} is not a finite number")
    return result


def _unit_factor(unit: str, dimension: str, original: str) -> float:
    if unit == "":
        return 1.0
    if unit in ("ms", "us") and dimension == "seconds":
        return 1e-3 if unit == "ms" else 1e-6
    for prefixes in (_BINARY_PREFIX, _PREFIX):
        for prefix, factor in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
            stem = unit[len(prefix):]
            if unit.startswith(prefix) and stem in _STEMS:
                if _STEMS[stem] != dimension:
                    raise QuantityError(f"{short(original)} is in {_STEMS[stem]}, expected {dimension} ({_example(dimension)})")
                return factor
    raise QuantityError(f"unknown unit {short(unit, 20)} in {short(original)} ({_example(dimension)})")


def _example(dimension: str) -> str:
    return {
        "bytes": "e.g. '80 GB'",
        "bytes_per_s": "e.g. '3.35 TB/s'",
        "flop_per_s": "e.g. '989 TFLOP/s'",
        "flop": "e.g. '3.4e12 FLOP'",
        "watts": "e.g. '700 W'",
        "seconds": "e.g. '20 ms'",
    }.get(dimension, "a number")


def format_si(value: float, unit: str, digits: int = 3) -> str:
    """Format ``value`` with an SI prefix: ``format_si(3.35e12, 'B/s') == '3.35 TB/s'``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    exponent = int(math.floor(math.log10(abs(value)) / 3))
    exponent = max(-2, min(exponent, 5))
    prefix = {-2: "u", -1: "m", 0: "", 1: "k", 2: "M", 3: "G", 4: "T", 5: "P"}[exponent]
    scaled = value / 1000.0**exponent
    return f"{scaled:.{digits}g} {prefix}{unit}".strip()
