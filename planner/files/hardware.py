"""Hardware profiles: YAML mapping → HardwareProfile, every problem collected."""

from __future__ import annotations

from pathlib import Path

from planner.domain import (
    COMPUTE_PRECISIONS,
    HARDWARE_CLASSES,
    Efficiency,
    HardwareProfile,
)
from planner.errors import short, suggest
from planner.files.checker import Checker, check_id

_HW_TOP = {"kind", "id", "name", "class", "vendor", "peak_flops", "memory", "interconnect", "power", "idle_power", "price",
           "efficiency", "sources", "notes"}
_HW_REQUIRED = {"id", "name", "class", "peak_flops", "memory", "power", "efficiency", "sources"}
_HW_MEMORY = {"capacity", "bandwidth", "reserve", "usable_fraction"}
_HW_INTERCONNECT = {"name", "intra_node_link", "intra_node_bandwidth", "inter_node_bandwidth", "devices_per_node"}
_HW_PRICE = {"usd_per_hour", "source"}
_HW_EFFICIENCY = {"compute", "memory_bandwidth", "compute_half_tokens", "dequant_bandwidth", "interconnect",
                  "calibrated", "note"}
# Moved to engine profiles (issue #9): what a serving engine pays per step, per layer and per collective.
_MOVED_TO_ENGINE = {"step_overhead", "layer_overhead", "collective_latency"}
_FABRIC_WORDS = ("nvlink", "nvswitch", "xgmi", "infinity fabric", "ici")

# Physical bounds (SI) that every value must meet: wide enough for any device from a phone NPU to a
# rack-scale accelerator, tight enough that no estimate overflows, divides by zero or goes negative.
MIN_PEAK_FLOP_PER_S, MAX_PEAK_FLOP_PER_S = 1e9, 1e18  # 1 GFLOP/s .. 1 EFLOP/s per device
MIN_CAPACITY_B, MAX_CAPACITY_B = 1e6, 1e14  # 1 MB .. 100 TB per device
MIN_BANDWIDTH_B_PER_S, MAX_BANDWIDTH_B_PER_S = 1e6, 1e15  # 1 MB/s .. 1 PB/s (memory and links)
MIN_POWER_W, MAX_POWER_W = 0.1, 1e5
MAX_PRICE_USD_PER_HOUR = 1e4
MIN_EFFICIENCY = 1e-3  # fractions of peak: (0.001, 1]
MAX_HALF_TOKENS = 1e7
MAX_OVERHEAD_S = 10.0
MAX_DEVICES_PER_NODE = 100_000


def _failed(c: Checker, prefix: str) -> bool:
    """Whether a field under ``prefix`` already has a problem (so a cross-field check would only repeat it)."""
    return any(p.field and p.field.startswith(prefix) for p in c.problems)


def _link(c: Checker, ic: dict, key: str) -> float:
    """An interconnect bandwidth: 0 (absent) or within the physical bounds."""
    value = c.quantity(ic, key, "bytes_per_s", "interconnect.", required=False, allow_zero=True, maximum=MAX_BANDWIDTH_B_PER_S)
    if 0 < value < MIN_BANDWIDTH_B_PER_S:
        c.fail(f"interconnect.{key}", f"expected 0 (none) or a value between {MIN_BANDWIDTH_B_PER_S:g} and "
                                      f"{MAX_BANDWIDTH_B_PER_S:g} B/s, got {short(ic.get(key))}")
        return 0.0
    return value


def parse_hardware(data: dict, path: Path) -> HardwareProfile:
    """Build a HardwareProfile from a YAML mapping, collecting every problem."""
    c = Checker(path, data)
    c.keys(data, _HW_TOP, _HW_REQUIRED)
    check_id(c, data, path)
    peaks_raw = c.mapping(data, "peak_flops")
    peaks = {}
    for key in peaks_raw:
        if key not in COMPUTE_PRECISIONS:
            hint = suggest(str(key), COMPUTE_PRECISIONS)
            c.fail(f"peak_flops.{key}", "unknown precision" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(COMPUTE_PRECISIONS)}"))
            continue
        peaks[key] = c.quantity(peaks_raw, key, "flop_per_s", "peak_flops.", minimum=MIN_PEAK_FLOP_PER_S, maximum=MAX_PEAK_FLOP_PER_S)
    if "peak_flops" in data and not any(v > 0 for v in peaks.values()) and not any(p.field and p.field.startswith("peak_flops") for p in c.problems):
        c.fail("peak_flops", "expected at least one precision with a peak, e.g. 'bf16: 989 TFLOP/s'")
    mem = c.mapping(data, "memory")
    c.keys(mem, _HW_MEMORY, {"capacity", "bandwidth"}, "memory.")
    ic = c.mapping(data, "interconnect")
    c.keys(ic, _HW_INTERCONNECT, set(), "interconnect.")
    price = c.mapping(data, "price")
    c.keys(price, _HW_PRICE, {"usd_per_hour", "source"} if price else set(), "price.")
    eff = c.mapping(data, "efficiency")
    for key in sorted(_MOVED_TO_ENGINE & set(eff)):
        c.fail(f"efficiency.{key}", "moved to engine profiles (profiles/engines/<id>.yaml, chosen with --engine): delete it here")
    eff = {k: v for k, v in eff.items() if k not in _MOVED_TO_ENGINE}
    c.keys(eff, _HW_EFFICIENCY, _HW_EFFICIENCY - {"calibrated", "note"}, "efficiency.")
    efficiency = Efficiency(
        compute=_per_precision(c, eff, "compute", minimum=MIN_EFFICIENCY, maximum=1.0, default=0.5),
        compute_half_tokens=_per_precision(c, eff, "compute_half_tokens", minimum=0.0, maximum=MAX_HALF_TOKENS, default=0.0, allow_zero=True),
        memory_bandwidth=c.quantity(eff, "memory_bandwidth", "number", "efficiency.", minimum=MIN_EFFICIENCY, maximum=1.0, default=0.8),
        dequant_bandwidth=c.quantity(eff, "dequant_bandwidth", "number", "efficiency.", minimum=MIN_EFFICIENCY, maximum=1.0, default=1.0),
        interconnect=c.quantity(eff, "interconnect", "number", "efficiency.", minimum=MIN_EFFICIENCY, maximum=1.0, default=0.7),
        calibrated=c.boolean(eff, "calibrated", "efficiency."),
        note=c.text(eff, "note", "efficiency."),
    )
    ic_name = c.text(ic, "name", "interconnect.")
    derived_link = "fabric" if any(w in ic_name.lower() for w in _FABRIC_WORDS) and "no nvlink" not in ic_name.lower() else "pcie"
    link = c.text(ic, "intra_node_link", "interconnect.", default=derived_link, choices=("fabric", "pcie"))
    capacity = c.quantity(mem, "capacity", "bytes", "memory.", default=1.0, minimum=MIN_CAPACITY_B, maximum=MAX_CAPACITY_B)
    reserve = c.quantity(mem, "reserve", "bytes", "memory.", required=False, allow_zero=True, maximum=MAX_CAPACITY_B)
    if reserve >= capacity and not _failed(c, "memory."):
        c.fail("memory.reserve", f"expected less than memory.capacity ({capacity:g} B), got {short(mem.get('reserve'))}")
    intra = _link(c, ic, "intra_node_bandwidth")
    devices_per_node = c.integer(ic, "devices_per_node", "interconnect.", default=1, maximum=MAX_DEVICES_PER_NODE)
    if devices_per_node > 1 and intra == 0 and not _failed(c, "interconnect."):
        c.fail("interconnect.intra_node_bandwidth",
               f"devices_per_node is {devices_per_node}: expected the bandwidth between them (e.g. '450 GB/s'), got nothing")
    profile = HardwareProfile(
        id=str(data.get("id", path.stem)),
        name=c.text(data, "name"),
        device_class=c.text(data, "class", choices=HARDWARE_CLASSES),
        vendor=c.text(data, "vendor"),
        peak_flops=peaks,
        memory_capacity_bytes=capacity,
        memory_bandwidth_bytes_per_s=c.quantity(mem, "bandwidth", "bytes_per_s", "memory.", default=1.0, minimum=MIN_BANDWIDTH_B_PER_S, maximum=MAX_BANDWIDTH_B_PER_S),
        memory_reserve_bytes=reserve,
        usable_memory_fraction=c.quantity(mem, "usable_fraction", "number", "memory.", required=False, default=0.9, minimum=MIN_EFFICIENCY, maximum=1.0),
        interconnect_name=ic_name,
        intra_node_link=link if link in ("fabric", "pcie") else derived_link,
        intra_node_bandwidth_bytes_per_s=intra,
        inter_node_bandwidth_bytes_per_s=_link(c, ic, "inter_node_bandwidth"),
        devices_per_node=devices_per_node,
        power_w=c.quantity(data, "power", "watts", default=1.0, minimum=MIN_POWER_W, maximum=MAX_POWER_W),
        idle_power_w=(c.quantity(data, "idle_power", "watts", required=False, allow_zero=True, maximum=MAX_POWER_W)
                      if "idle_power" in data else None),
        price_usd_per_hour=(c.quantity(price, "usd_per_hour", "number", "price.", allow_zero=True, maximum=MAX_PRICE_USD_PER_HOUR) if price else None),
        efficiency=efficiency,
        sources=(sources := c.sources(data, ("spec",))),
        power_source=sources.get("power", ""),
        notes=c.text(data, "notes"),
        path=str(path),
    )
    if price and "source" in price:
        c.text(price, "source", "price.")
    c.raise_if_any()
    return profile



def _per_precision(c: Checker, eff: dict, key: str, *, minimum: float, maximum: float, default: float,
                   allow_zero: bool = False) -> dict[str, float]:
    """A number (every precision) or a mapping {precision or 'default': number}."""
    value = eff.get(key)
    if not isinstance(value, dict):
        return {"default": c.quantity(eff, key, "number", "efficiency.", minimum=minimum, maximum=maximum, default=default,
                                      allow_zero=allow_zero)}
    out: dict[str, float] = {}
    allowed = (*COMPUTE_PRECISIONS, "default")
    for name in value:
        if name not in allowed:
            hint = suggest(str(name), allowed)
            c.fail(f"efficiency.{key}.{name}", "unknown precision" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(allowed)}"))
            continue
        out[str(name)] = c.quantity(value, name, "number", f"efficiency.{key}.", minimum=minimum, maximum=maximum, default=default,
                                    allow_zero=allow_zero)
    if "default" not in out:
        c.fail(f"efficiency.{key}.default", "required: the value for precisions not listed")
        out["default"] = default
    return out
