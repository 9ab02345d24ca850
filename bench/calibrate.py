"""Calibrate the efficiency blocks of the hardware profiles on measured_perf_calibration.csv.

Usage: python bench/calibrate.py [--write]

What is fitted (scipy least_squares, soft_l1 loss, on log(predicted / measured)):
  per device with measurements: compute (fraction of dense peak), memory_bandwidth (fraction of peak);
  per device group ('server' = datacenter GPUs, 'client' = every other class): compute_half_tokens,
  step_overhead, layer_overhead, dequant_bandwidth; shared by all: interconnect, collective_latency.
Per-device fractions are pulled toward their group's value (a weak prior, so a device with two rows
cannot run away), and devices without measurements get their group's value. With ``--write`` the
efficiency block of every built-in hardware profile is rewritten (only that block).
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

from calibration_rows import DATA, load_cases  # noqa: E402

from planner.cost.roofline import estimate  # noqa: E402
from planner.domain import Efficiency  # noqa: E402
from planner.files.catalog import Catalog, bundled_dir  # noqa: E402

GROUP = {"datacenter-gpu": "server"}
PRIOR_WEIGHT = 0.35  # pseudo-residual weight per logit unit of a device's departure from its group


def group_of(device_class: str) -> str:
    return GROUP.get(device_class, "client")


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclasses.dataclass
class Layout:
    devices: list[str]
    groups: list[str]

    def names(self) -> list[str]:
        out = []
        for g in self.groups:
            out += [f"{g}.compute", f"{g}.memory_bandwidth", f"{g}.compute_half_tokens", f"{g}.step_overhead",
                    f"{g}.layer_overhead", f"{g}.dequant_bandwidth"]
        out += ["interconnect", "collective_latency"]
        for d in self.devices:
            out += [f"{d}.compute", f"{d}.memory_bandwidth"]
        return out


def unpack(x: np.ndarray, layout: Layout) -> tuple[dict, dict, dict]:
    i = 0
    groups = {}
    for g in layout.groups:
        c, m, h, so, lo, dq = x[i:i + 6]
        i += 6
        groups[g] = dict(compute=sigmoid(c), memory_bandwidth=sigmoid(m), compute_half_tokens=math.exp(h),
                         step_overhead_s=math.exp(so), layer_overhead_s=math.exp(lo), dequant_bandwidth=sigmoid(dq),
                         _c=c, _m=m)
    shared = dict(interconnect=sigmoid(x[i]), collective_latency_s=math.exp(x[i + 1]))
    i += 2
    devices = {}
    for d in layout.devices:
        devices[d] = dict(_c=x[i], _m=x[i + 1], compute=sigmoid(x[i]), memory_bandwidth=sigmoid(x[i + 1]))
        i += 2
    return groups, shared, devices


def efficiency_for(device_id: str, device_class: str, groups, shared, devices, note: str) -> Efficiency:
    g = groups.get(group_of(device_class)) or groups["server"]
    d = devices.get(device_id, {})
    return Efficiency(
        compute=d.get("compute", g["compute"]),
        memory_bandwidth=d.get("memory_bandwidth", g["memory_bandwidth"]),
        compute_half_tokens=g["compute_half_tokens"],
        dequant_bandwidth=g["dequant_bandwidth"],
        interconnect=shared["interconnect"],
        step_overhead_s=g["step_overhead_s"],
        layer_overhead_s=g["layer_overhead_s"],
        collective_latency_s=shared["collective_latency_s"],
        calibrated=device_id in devices,
        note=note,
    )


def fit(cases):
    from scipy.optimize import least_squares

    devices = sorted({c.scenario.hardware.id for c in cases})
    groups = sorted({group_of(c.scenario.hardware.device_class) for c in cases} | {"server", "client"})
    layout = Layout(devices, groups)
    x0 = []
    for _ in groups:
        x0 += [logit(0.6), logit(0.8), math.log(128), math.log(1e-3), math.log(1e-5), logit(0.6)]
    x0 += [logit(0.7), math.log(8e-6)]
    for _ in devices:
        x0 += [logit(0.6), logit(0.8)]
    x0 = np.array(x0)

    def residuals(x):
        groups_p, shared, devs = unpack(x, layout)
        res = []
        for case in cases:
            hw = case.scenario.hardware
            eff = efficiency_for(hw.id, hw.device_class, groups_p, shared, devs, "")
            sc = dataclasses.replace(case.scenario, hardware=dataclasses.replace(hw, efficiency=eff))
            res.append(math.log(case.extract(estimate(sc)) / case.measured))
        for d in devices:
            cls = next(c.scenario.hardware.device_class for c in cases if c.scenario.hardware.id == d)
            g = groups_p[group_of(cls)]
            res += [PRIOR_WEIGHT * (devs[d]["_c"] - g["_c"]), PRIOR_WEIGHT * (devs[d]["_m"] - g["_m"])]
        return np.array(res)

    result = least_squares(residuals, x0, loss="soft_l1", f_scale=0.2, x_scale="jac", max_nfev=400)
    return layout, result


def format_block(eff: Efficiency) -> str:
    def us(seconds: float) -> str:
        return f"{seconds * 1e6:.3g} us"

    return (
        "efficiency:\n"
        f"  compute: {eff.compute:.3f}\n"
        f"  memory_bandwidth: {eff.memory_bandwidth:.3f}\n"
        f"  compute_half_tokens: {eff.compute_half_tokens:.0f}\n"
        f"  dequant_bandwidth: {eff.dequant_bandwidth:.3f}\n"
        f"  interconnect: {eff.interconnect:.3f}\n"
        f"  step_overhead: {us(eff.step_overhead_s)}\n"
        f"  layer_overhead: {us(eff.layer_overhead_s)}\n"
        f"  collective_latency: {us(eff.collective_latency_s)}\n"
        f"  calibrated: {'true' if eff.calibrated else 'false'}\n"
        f"  note: \"{eff.note}\"\n"
    )


def rewrite_efficiency(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(r"^efficiency:\n(?:[ \t]+.*\n|\n)*", block, text, count=1, flags=re.M)
    if n != 1:
        raise SystemExit(f"{path}: no efficiency block found")
    path.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the efficiency blocks of the built-in profiles")
    parser.add_argument("--rows", action="store_true", help="print the rows fitted worst")
    parser.add_argument("--cross-validate", action="store_true",
                        help="leave each device out in turn: fit on the others, predict it with its group's values")
    args = parser.parse_args()
    catalog = Catalog()
    cases, total = load_cases(catalog, DATA)
    if args.cross_validate:
        cross_validate(cases)
        return
    layout, result = fit(cases)
    groups, shared, devices = unpack(result.x, layout)
    fitted = result.fun[: len(cases)]
    print(f"cases: {len(cases)} of {total} rows; success={result.success}; nfev={result.nfev}")
    print(f"median |log error| {statistics.median(abs(r) for r in fitted):.3f}; rms {math.sqrt(np.mean(fitted ** 2)):.3f}")
    for g, p in groups.items():
        print(g, {k: round(v, 6) for k, v in p.items() if not k.startswith("_")})
    print("shared", {k: round(v, 8) for k, v in shared.items()})
    for d, p in devices.items():
        n = sum(1 for c in cases if c.scenario.hardware.id == d)
        print(f"{d:<22} rows {n:>3}  compute {p['compute']:.3f}  memory_bandwidth {p['memory_bandwidth']:.3f}")
    if args.rows:
        worst_rows(cases, result)
    if args.write:
        counts = {d: sum(1 for c in cases if c.scenario.hardware.id == d) for d in devices}
        for hw_id in catalog.names("hardware"):
            hw = catalog.hardware(hw_id)
            if hw_id in devices:
                note = f"fitted by bench/calibrate.py on {counts[hw_id]} rows of measured_perf_calibration.csv"
            else:
                note = f"{group_of(hw.device_class)}-group values fitted by bench/calibrate.py; no measurements of this device"
            eff = efficiency_for(hw_id, hw.device_class, groups, shared, devices, note)
            rewrite_efficiency(bundled_dir() / "hardware" / f"{hw_id}.yaml", format_block(eff))
        print("efficiency blocks rewritten")



def worst_rows(cases, result, n=25) -> None:
    """Print the rows the fit explains worst (log error)."""
    order = np.argsort(-np.abs(result.fun[: len(cases)]))[:n]
    for i in order:
        c = cases[i]
        s = c.scenario
        print(f"{result.fun[i]:+.2f} {c.metric:<18} {s.hardware.id:<14} {s.model.id:<12} tp{s.tp} {s.weight_precision.name:<5} b{s.batch:<5} "
              f"{s.prompt_tokens}/{s.output_tokens} [{c.row['engine'][:26]}]")


def cross_validate(cases) -> None:
    """Leave-one-device-out: how well the group values predict a device the fit has never seen."""
    from fidelity import percentile

    held: dict[str, list[float]] = {}
    for device in sorted({c.scenario.hardware.id for c in cases}):
        train = [c for c in cases if c.scenario.hardware.id != device]
        test = [c for c in cases if c.scenario.hardware.id == device]
        layout, result = fit(train)
        groups, shared, devices = unpack(result.x, layout)
        for c in test:
            hw = c.scenario.hardware
            eff = efficiency_for(hw.id, hw.device_class, groups, shared, devices, "")
            sc = dataclasses.replace(c.scenario, hardware=dataclasses.replace(hw, efficiency=eff))
            err = abs(c.extract(estimate(sc)) - c.measured) / c.measured * 100
            held.setdefault(c.metric, []).append(err)
            held.setdefault(f"device {device}", []).append(err)
    for key, errs in sorted(held.items()):
        print(f"held-out {key:<30} rows {len(errs):>3}  median APE {statistics.median(errs):5.1f}%  p90 {percentile(errs, 0.9):5.1f}%")


if __name__ == "__main__":
    main()
