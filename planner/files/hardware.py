"""Hardware profiles: YAML mapping → HardwareProfile, every problem collected."""

from __future__ import annotations

from pathlib import Path

from planner.domain import COMPUTE_PRECISIONS, HARDWARE_CLASSES, Efficiency, HardwareProfile
from planner.errors import suggest
from planner.files.checker import Checker, check_id

_HW_TOP = {"kind", "id", "name", "class", "vendor", "peak_flops", "memory", "interconnect", "power", "price",
           "efficiency", "sources", "notes"}
_HW_REQUIRED = {"id", "name", "class", "peak_flops", "memory", "power", "efficiency", "sources"}
_HW_MEMORY = {"capacity", "bandwidth", "reserve", "usable_fraction"}
_HW_INTERCONNECT = {"name", "intra_node_bandwidth", "inter_node_bandwidth", "devices_per_node"}
_HW_PRICE = {"usd_per_hour", "source"}
_HW_EFFICIENCY = {"compute", "memory_bandwidth", "compute_half_tokens", "dequant_bandwidth", "interconnect",
                  "step_overhead", "layer_overhead", "collective_latency", "calibrated", "note"}


def parse_hardware(data: dict, path: Path) -> HardwareProfile:
    """Build a HardwareProfile from a YAML mapping, collecting every problem."""
    c = Checker(path, data)
    c.keys(data, _HW_TOP, _HW_REQUIRED)
    check_id(c, data, path)
    peaks_raw = c.mapping(data, "peak_flops")
    peaks = {}
    for key, value in peaks_raw.items():
        if key not in COMPUTE_PRECISIONS:
            hint = suggest(str(key), COMPUTE_PRECISIONS)
            c.fail(f"peak_flops.{key}", "unknown precision" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(COMPUTE_PRECISIONS)}"))
            continue
        peaks[key] = c.quantity(peaks_raw, key, "flop_per_s", "peak_flops.")
    if "peak_flops" in data and not any(v > 0 for v in peaks.values()) and not any(p.field and p.field.startswith("peak_flops") for p in c.problems):
        c.fail("peak_flops", "expected at least one precision with a peak, e.g. 'bf16: 989 TFLOP/s'")
    mem = c.mapping(data, "memory")
    c.keys(mem, _HW_MEMORY, {"capacity", "bandwidth"}, "memory.")
    ic = c.mapping(data, "interconnect")
    c.keys(ic, _HW_INTERCONNECT, set(), "interconnect.")
    price = c.mapping(data, "price")
    c.keys(price, _HW_PRICE, {"usd_per_hour", "source"} if price else set(), "price.")
    eff = c.mapping(data, "efficiency")
    c.keys(eff, _HW_EFFICIENCY, _HW_EFFICIENCY - {"calibrated", "note"}, "efficiency.")
    efficiency = Efficiency(
        compute=c.quantity(eff, "compute", "number", "efficiency.", maximum=1.0, default=0.5),
        memory_bandwidth=c.quantity(eff, "memory_bandwidth", "number", "efficiency.", maximum=1.0, default=0.8),
        compute_half_tokens=c.quantity(eff, "compute_half_tokens", "number", "efficiency.", allow_zero=True),
        dequant_bandwidth=c.quantity(eff, "dequant_bandwidth", "number", "efficiency.", maximum=1.0, default=1.0),
        interconnect=c.quantity(eff, "interconnect", "number", "efficiency.", maximum=1.0, default=0.7),
        step_overhead_s=c.quantity(eff, "step_overhead", "seconds", "efficiency.", allow_zero=True),
        layer_overhead_s=c.quantity(eff, "layer_overhead", "seconds", "efficiency.", allow_zero=True),
        collective_latency_s=c.quantity(eff, "collective_latency", "seconds", "efficiency.", allow_zero=True),
        calibrated=c.boolean(eff, "calibrated", "efficiency."),
        note=c.text(eff, "note", "efficiency."),
    )
    profile = HardwareProfile(
        id=str(data.get("id", path.stem)),
        name=c.text(data, "name"),
        device_class=c.text(data, "class", choices=HARDWARE_CLASSES),
        vendor=c.text(data, "vendor"),
        peak_flops=peaks,
        memory_capacity_bytes=c.quantity(mem, "capacity", "bytes", "memory.", default=1.0),
        memory_bandwidth_bytes_per_s=c.quantity(mem, "bandwidth", "bytes_per_s", "memory.", default=1.0),
        memory_reserve_bytes=c.quantity(mem, "reserve", "bytes", "memory.", required=False, allow_zero=True),
        usable_memory_fraction=c.quantity(mem, "usable_fraction", "number", "memory.", required=False, default=0.9, maximum=1.0),
        interconnect_name=c.text(ic, "name", "interconnect."),
        intra_node_bandwidth_bytes_per_s=c.quantity(ic, "intra_node_bandwidth", "bytes_per_s", "interconnect.", required=False, allow_zero=True),
        inter_node_bandwidth_bytes_per_s=c.quantity(ic, "inter_node_bandwidth", "bytes_per_s", "interconnect.", required=False, allow_zero=True),
        devices_per_node=c.integer(ic, "devices_per_node", "interconnect.", default=1),
        power_w=c.quantity(data, "power", "watts", default=1.0),
        price_usd_per_hour=(c.quantity(price, "usd_per_hour", "number", "price.", allow_zero=True) if price else None),
        efficiency=efficiency,
        sources=c.sources(data, ("spec",)),
        notes=c.text(data, "notes"),
        path=str(path),
    )
    if price and "source" in price:
        c.text(price, "source", "price.")
    c.raise_if_any()
    return profile

