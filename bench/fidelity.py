"""Fidelity benchmark: the estimator against every measured row it can express.

Usage: python bench/fidelity.py [--csv PATH] [--rows]
Prints median and 90th-percentile absolute percentage error per metric, per hardware class and per
subset (batch-1 vs batched, single vs multi-device, datacenter vs edge), and the share of rows
expressed. Goal (issue #2): median ≤ 15 %, p90 ≤ 35 % on output throughput, TTFT and TPOT.
Leave-one-device-out figures: python bench/calibrate.py --cross-validate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from calibration_rows import DATA, load_cases

from planner.cost.roofline import estimate


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def subset_keys(case) -> list[str]:
    """Keys a row's error is counted under: all, its metric, and each subset it belongs to."""
    return ["all", f"metric {case.metric}", *(f"subset {k}" for k in case.subsets)]


def errors(cases) -> list[tuple[object, float, float]]:
    out = []
    for case in cases:
        predicted = case.extract(estimate(case.scenario))
        out.append((case, predicted, abs(predicted - case.measured) / case.measured * 100.0))
    return out


def summarise(results) -> str:
    groups: dict[str, list[float]] = defaultdict(list)
    for case, _, err in results:
        for key in subset_keys(case):
            groups[key].append(err)
        groups[f"class {case.hardware_class}"].append(err)
    lines = [f"{'rows of':<34} {'rows':>5} {'median APE':>11} {'p90 APE':>9}"]
    for key, errs in sorted(groups.items()):
        lines.append(f"{key:<34} {len(errs):>5} {statistics.median(errs):>10.1f}% {percentile(errs, 0.9):>8.1f}%")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DATA)
    parser.add_argument("--rows", action="store_true", help="print every row's prediction")
    args = parser.parse_args()
    cases, total = load_cases(path=args.csv)
    results = errors(cases)
    if args.rows:
        for case, predicted, err in sorted(results, key=lambda t: -t[2]):
            s = case.scenario
            print(f"{err:6.1f}%  {case.metric:<18} {s.hardware.id:<14} {s.model.id:<12} tp{s.tp} {s.weight_precision.name:<5} "
                  f"b{s.batch:<5} {s.prompt_tokens}/{s.output_tokens}  measured {case.measured:.4g}  predicted {predicted:.4g}  [{case.row['engine'][:28]}]")
    print(f"rows expressed: {len(cases)} of {total} ({len(cases) / total:.0%})")
    print(summarise(results))


if __name__ == "__main__":
    main()
