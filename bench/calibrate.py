"""Calibrate hardware efficiency blocks and engine fixed costs on measured_perf_calibration.csv.

Usage: python bench/calibrate.py [--write] [--rows] [--cross-validate]

What is fitted (scipy least_squares, soft_l1 loss, on log(predicted / measured)):
  hardware, per device with measurements: compute fraction for each compute precision it has rows
    for (fp16 = bf16/fp16/int4-W4A16 matmuls, fp8), and memory_bandwidth;
  hardware, per device group ('server' = datacenter GPUs, 'client' = every other class) and
    precision: compute, compute_half_tokens; per group: memory_bandwidth, dequant_bandwidth;
    shared: interconnect;
  engines: step and layer overheads of trtllm (TensorRT-LLM and FasterTransformer rows) and of
    generic (llama.cpp, TinyChat, MLC, HF transformers rows); collective step latency per link kind
    (fabric, pcie), shared by both engines (only TensorRT-LLM rows use tensor parallelism).
Per-device fractions are pulled toward their group's value (a weak prior, so a device with two rows
cannot run away); devices and precisions without measurements get their group's values. With
``--write`` the efficiency block of every built-in hardware profile and the overheads/allreduce blocks
of the engine profiles are rewritten (vllm and sglang take trtllm's fixed costs), and the p10-p90 bands
of measured/predicted per regime go to profiles/calibration/bands.yaml.
``--cross-validate`` leaves each device out in turn (warm-started from the full fit, so it finishes
in a few minutes on two cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from calibration_rows import DATA, load_cases, regimes

from planner.cost.roofline import estimate
from planner.domain import Efficiency
from planner.files.catalog import Catalog, bundled_dir

GROUP = {"datacenter-gpu": "server"}
PRIOR_WEIGHT = 0.35  # pseudo-residual weight per logit unit of a device's departure from its group
ENGINES = ("trtllm", "generic")


def group_of(device_class: str) -> str:
    return GROUP.get(device_class, "client")


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def compute_key(case) -> str:
    s = case.scenario
    return s.hardware.peak_flops_for(s.weight_precision.compute, s.weight_precision.compute_fallback)[1].replace("bf16", "fp16")


@dataclasses.dataclass
class Layout:
    """Names of the fitted parameters (in the transformed space) and their starting values."""

    names: list[str]
    x0: list[float]

    @classmethod
    def for_cases(cls, cases) -> Layout:
        names, x0 = [], []

        def add(name, value):
            names.append(name)
            x0.append(value)

        groups = sorted({group_of(c.scenario.hardware.device_class) for c in cases})
        for g in groups:
            precs = sorted({compute_key(c) for c in cases if group_of(c.scenario.hardware.device_class) == g})
            for p in precs:
                add(f"{g}.compute.{p}", logit(0.6))
                add(f"{g}.half.{p}", math.log(100.0))
            add(f"{g}.memory_bandwidth", logit(0.8))
            add(f"{g}.dequant_bandwidth", logit(0.7))
        add("interconnect", logit(0.7))
        for e in ENGINES:
            add(f"{e}.step", math.log(30e-6))
            add(f"{e}.layer", math.log(3e-6))
        add("latency.fabric", math.log(10e-6))
        add("latency.pcie_extra", math.log(10e-6))  # PCIe steps cost at least a fabric step: pcie = fabric + extra
        for d in sorted({c.scenario.hardware.id for c in cases}):
            for p in sorted({compute_key(c) for c in cases if c.scenario.hardware.id == d}):
                add(f"{d}.compute.{p}", logit(0.6))
            add(f"{d}.memory_bandwidth", logit(0.8))
        return cls(names, x0)


def values(x: np.ndarray, layout: Layout) -> dict[str, float]:
    """Parameters in natural units (fractions, rows, seconds)."""
    out = {}
    for name, v in zip(layout.names, x):
        kind = name.split(".")[-1] if not name.startswith("latency.") else "latency"
        if ".half." in name or kind in ("step", "layer", "latency"):
            out[name] = math.exp(v)
        else:
            out[name] = sigmoid(v)
    return out


def efficiency_for(hw, p: dict[str, float], note: str) -> Efficiency:
    """The efficiency block of device ``hw`` under fitted values ``p`` (device values where fitted, else its group's)."""
    g = group_of(hw.device_class)
    if f"{g}.memory_bandwidth" not in p:
        g = "server"
    compute, half = {}, {}
    for prec in ("fp16", "fp8"):
        group_value = p.get(f"{g}.compute.{prec}")
        value = p.get(f"{hw.id}.compute.{prec}", group_value)
        if value is not None:
            compute[prec] = value
        if f"{g}.half.{prec}" in p:
            half[prec] = p[f"{g}.half.{prec}"]
    # int8 and fp4 have no rows: they take fp8's values (the same doubled- or quadrupled-rate tensor paths
    # reach a similar fraction of their peak), where the device group has fp8 rows.
    for other in ("int8", "fp4"):
        if "fp8" in compute:
            compute[other] = compute["fp8"]
        if "fp8" in half:
            half[other] = half["fp8"]
    compute["default"] = compute.get("fp16", next(iter(compute.values())))
    half["default"] = half.get("fp16", next(iter(half.values())))
    return Efficiency(
        compute=compute,
        compute_half_tokens=half,
        memory_bandwidth=p.get(f"{hw.id}.memory_bandwidth", p[f"{g}.memory_bandwidth"]),
        dequant_bandwidth=p[f"{g}.dequant_bandwidth"],
        interconnect=p["interconnect"],
        calibrated=any(k.startswith(hw.id + ".") for k in p),
        note=note,
    )


def engine_for(engine, p: dict[str, float], source: str | None = None):
    src = source or engine.id
    latency = dict(engine.allreduce_step_latency_s)
    latency["fabric"] = p["latency.fabric"]
    latency["pcie"] = p["latency.fabric"] + p["latency.pcie_extra"]
    latency["network"] = max(latency["network"], latency["pcie"])  # not fitted: no multi-node rows
    return dataclasses.replace(engine, step_overhead_s=p[f"{src}.step"], layer_overhead_s=p[f"{src}.layer"],
                               allreduce_step_latency_s=latency)


def apply(case, p: dict[str, float]):
    """The case's scenario with fitted hardware efficiency and engine fixed costs."""
    s = case.scenario
    hw = dataclasses.replace(s.hardware, efficiency=efficiency_for(s.hardware, p, ""))
    return dataclasses.replace(s, hardware=hw, engine=engine_for(s.engine, p))


def predict(case, p):
    return case.extract(estimate(apply(case, p)))


def fitted_rows(cases):
    """Rows the fit uses: all but the llama.cpp/MLC 2023 prefill-throughput averages (runs of unstated length,
    'use with care' in shared/data/README.md), which are still reported by bench/fidelity.py."""
    return [c for c in cases if c.metric != "prefill_throughput"]


def fit(cases, x0: np.ndarray | None = None, max_nfev: int = 400):
    from scipy.optimize import least_squares

    cases = fitted_rows(cases)

    layout = Layout.for_cases(cases)
    start = np.array(layout.x0 if x0 is None else x0)
    priors = []
    for i, name in enumerate(layout.names):
        parts = name.split(".")
        if parts[0] in ("server", "client") or len(parts) < 2 or parts[1] not in ("compute", "memory_bandwidth"):
            continue
        cls = next(c.scenario.hardware.device_class for c in cases if c.scenario.hardware.id == parts[0])
        gname = ".".join([group_of(cls), *parts[1:]])
        if gname in layout.names:
            priors.append((i, layout.names.index(gname)))

    def residuals(x):
        p = values(x, layout)
        res = [math.log(predict(c, p) / c.measured) for c in cases]
        res += [PRIOR_WEIGHT * (x[i] - x[j]) for i, j in priors]
        return np.array(res)

    result = least_squares(residuals, start, loss="soft_l1", f_scale=0.2, x_scale="jac", max_nfev=max_nfev)
    return layout, result


def format_efficiency(eff: Efficiency) -> str:
    def table(mapping) -> str:
        return "{" + ", ".join(f"{k}: {v:.3g}" for k, v in mapping.items()) + "}"

    return (
        "efficiency:\n"
        f"  compute: {table(eff.compute)}   # fraction of each precision's dense peak (large matmuls)\n"
        f"  compute_half_tokens: {table({k: round(v) for k, v in eff.compute_half_tokens.items()})}\n"
        f"  memory_bandwidth: {eff.memory_bandwidth:.3f}\n"
        f"  dequant_bandwidth: {eff.dequant_bandwidth:.3f}\n"
        f"  interconnect: {eff.interconnect:.3f}\n"
        f"  calibrated: {'true' if eff.calibrated else 'false'}\n"
        f"  note: \"{eff.note}\"\n"
    )


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.3g} us"


def rewrite_block(path: Path, key: str, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(rf"^{key}:\n(?:[ \t]+.*\n|\n)*", block, text, count=1, flags=re.MULTILINE)
    if n != 1:
        raise SystemExit(f"{path}: no {key} block found")
    path.write_text(new, encoding="utf-8")


def write_engine(path: Path, engine, calibrated: bool, note: str) -> None:
    text = path.read_text(encoding="utf-8")  # only the fitted lines: other overheads (request) are another fit's
    text = re.sub(r"^  step: .*$", f"  step: {us(engine.step_overhead_s)}", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^  layer: .*$", f"  layer: {us(engine.layer_overhead_s)}", text, count=1, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")
    lat = engine.allreduce_step_latency_s
    algo = engine.allreduce_algorithm
    def names(k):
        return algo[k][0] if len(algo[k]) == 1 else "[" + ", ".join(algo[k]) + "]"

    rewrite_block(path, "allreduce", "allreduce:\n  algorithm:\n" + "".join(f"    {k}: {names(k)}\n" for k in ("fabric", "pcie", "network"))
                  + "  step_latency:\n"
                  + "".join(f"    {k}: {us(lat[k])}\n" for k in ("fabric", "pcie", "network")))
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^calibrated: .*$", f"calibrated: {'true' if calibrated else 'false'}", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^note: .*$", f'note: "{note}"', text, count=1, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")


def bands(cases, p) -> dict[str, tuple[float, float, int]]:
    """p10 and p90 of measured/predicted per regime (and per regime axis, as fallbacks)."""
    from fidelity import percentile

    ratios: dict[str, list[float]] = {}
    for c in cases:
        r = c.measured / predict(c, p)
        if c.metric in ("output_throughput", "prefill_throughput"):
            r = 1.0 / r  # a time-like ratio: measured time / predicted time
        keys = regimes(c.scenario)
        for key in ("/".join(keys), *keys, "all"):
            ratios.setdefault(key, []).append(r)
    return {k: (percentile(v, 0.1), percentile(v, 0.9), len(v)) for k, v in sorted(ratios.items())}


def write_bands(table, path: Path) -> None:
    lines = [
        "kind: bands",
        "# Measured time / predicted time on the rows of bench/data/measured_perf_calibration.csv after calibration,",
        "# per regime (batch-1|batched / single-device|multi-device / datacenter|edge), written by bench/calibrate.py --write.",
        "# An estimate's band is [low, high] x its predicted times (throughputs divided), from its regime's row when that",
        "# has at least min_rows rows, else from the narrowest axis that has.",
        "min_rows: 8",
        "source: \"bench/calibrate.py --write on bench/data/measured_perf_calibration.csv (copy of shared/data, sources per row)\"",
        "regimes:",
    ]
    for key, (lo, hi, n) in table.items():
        lines.append(f"  {key}: {{low: {lo:.3f}, high: {hi:.3f}, rows: {n}}}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the efficiency and engine blocks of the built-in profiles")
    parser.add_argument("--rows", action="store_true", help="print the rows fitted worst")
    parser.add_argument("--cross-validate", action="store_true",
                        help="leave each device out in turn: fit on the others, predict it with its group's values")
    args = parser.parse_args()
    catalog = Catalog()
    cases, total = load_cases(catalog, DATA)
    layout, result = fit(cases)
    p = values(result.x, layout)
    fitted = result.fun[: len(fitted_rows(cases))]
    print(f"cases: {len(fitted)} fitted, {len(cases)} expressed, of {total} rows; success={result.success}; nfev={result.nfev}")
    print(f"median |log error| {statistics.median(abs(r) for r in fitted):.3f}; rms {math.sqrt(np.mean(fitted ** 2)):.3f}")
    for name in layout.names:
        v = p[name]
        print(f"  {name:<34} {us(v) if v < 1e-2 and ('step' in name or 'layer' in name or 'latency' in name) else f'{v:.4g}'}")
    h100 = catalog.hardware("h100-sxm")
    bf16 = efficiency_for(h100, p, "").compute_for("bf16")
    print(f"out of sample: h100-sxm bf16 large-matmul efficiency {bf16:.3f} -> {bf16 * 989.5:.0f} TFLOP/s "
          "(bench/gpu/results/h100_sxm_2026-11-23.json measured 762-774 TFLOP/s at 8k-16k rows)")
    if args.rows:
        worst_rows(fitted_rows(cases), result)
    if args.cross_validate:
        cross_validate(cases, result.x, layout)
    if args.write:
        counts = {}
        for c in cases:
            counts[c.scenario.hardware.id] = counts.get(c.scenario.hardware.id, 0) + 1
        for hw_id in catalog.names("hardware"):
            hw = catalog.hardware(hw_id)
            if hw_id in counts:
                note = f"fitted by bench/calibrate.py on {counts[hw_id]} rows of measured_perf_calibration.csv"
            else:
                note = f"{group_of(hw.device_class)}-group values fitted by bench/calibrate.py; no measurements of this device"
            rewrite_block(bundled_dir() / "hardware" / f"{hw_id}.yaml", "efficiency", format_efficiency(efficiency_for(hw, p, note)))
        engines_rows = {e: sum(1 for c in cases if c.scenario.engine.id == e) for e in ENGINES}
        for eid in ("trtllm", "generic", "vllm", "sglang"):
            src = eid if eid in ENGINES else "trtllm"
            note = (f"fitted by bench/calibrate.py on {engines_rows[src]} rows" if src == eid
                    else "fixed costs copied from trtllm's fit: no rows of this engine in measured_perf_calibration.csv")
            write_engine(bundled_dir() / "engines" / f"{eid}.yaml", engine_for(catalog.engine(eid), p, src), src == eid, note)
        write_bands(bands(cases, p), bundled_dir() / "calibration" / "bands.yaml")
        print("efficiency blocks, engine fixed costs and bands rewritten")


def worst_rows(cases, result, n=25) -> None:
    """Print the rows the fit explains worst (log error)."""
    order = np.argsort(-np.abs(result.fun[: len(cases)]))[:n]
    for i in order:
        c = cases[i]
        s = c.scenario
        print(f"{result.fun[i]:+.2f} {c.metric:<18} {s.hardware.id:<14} {s.model.id:<12} tp{s.tp} {s.weight_precision.name:<5} b{s.batch:<5} "
              f"{s.prompt_tokens}/{s.output_tokens} [{c.row['engine'][:26]}]")


def cross_validate(cases, x_full, layout_full) -> None:
    """Leave-one-device-out: fit without a device (warm start from the full fit), predict it with its group's values."""
    from fidelity import percentile, subset_keys

    held: dict[str, list[float]] = {}
    full = dict(zip(layout_full.names, x_full))
    for device in sorted({c.scenario.hardware.id for c in cases}):
        train = [c for c in cases if c.scenario.hardware.id != device]
        test = [c for c in cases if c.scenario.hardware.id == device]
        layout = Layout.for_cases(train)
        x0 = np.array([full.get(n, v) for n, v in zip(layout.names, layout.x0)])
        layout, result = fit(train, x0=x0, max_nfev=25)
        p = values(result.x, layout)
        for c in test:
            err = abs(predict(c, p) - c.measured) / c.measured * 100
            for key in subset_keys(c):
                held.setdefault(key, []).append(err)
            held.setdefault(f"device {device}", []).append(err)
        print(f"  left out {device}: {len(test)} rows, nfev {result.nfev}", flush=True)
    for key, errs in sorted(held.items()):
        print(f"held-out {key:<34} rows {len(errs):>3}  median APE {statistics.median(errs):5.1f}%  p90 {percentile(errs, 0.9):5.1f}%")


if __name__ == "__main__":
    main()
