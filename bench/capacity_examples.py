"""Capacity figures of the example plans and the speed of `planner plan` (run by hand).

    python bench/capacity_examples.py

Prints, for every plan in examples/: each check (predicted vs limit), the saturation rate, goodput,
utilisation at peak, load multiplier, monthly cost and energy per query, as `planner check` computes
them; then the wall time of `planner check examples/*.yaml` and of a `planner plan` search over every
built-in device (median of 3 in-process runs).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.capacity.check import check_files  # noqa: E402
from planner.capacity.plan import search  # noqa: E402
from planner.files.catalog import Catalog  # noqa: E402
from planner.files.disk import parse_yaml_text  # noqa: E402
from planner.files.plans import parse_plan  # noqa: E402
from planner.report.capacity import format_value  # noqa: E402

DRAFT = """\
workload:
  requests_per_second: 10
  peak_factor: 2
  prompt_tokens: {mean: 1000, p99: 4000}
  output_tokens: 300
slo:
  ttft_p99_s: 2 s
  tpot_p99_s: 80 ms
  e2e_p99_s: 60 s
  min_headroom: 0.2
deployment:
  model: llama-3.1-70b
  precision: fp8
"""


def main() -> None:
    catalog = Catalog()
    plans = sorted((ROOT / "examples").glob("*.yaml"))
    result = check_files(plans, catalog)
    print("| plan | status | saturation | goodput | peak | utilisation | load × | monthly cost | energy/query |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for p in result.plans:
        f = p.figures
        load = f"{f['load_multiplier']:g}" + (f" + {f['reward_model_load']:.3g}" if f.get("reward_model_load") else "")
        print(f"| {Path(p.path).name} | {'PASS' if p.passed else 'FAIL'} | {format_value(f['saturation_rps'], 'requests/s')} "
              f"| {format_value(f['goodput_rps'], 'requests/s')} | {format_value(f['peak_requests_per_second'], 'requests/s')} "
              f"| {format_value(f['utilisation_at_peak'], 'fraction')} | {load} | {format_value(f['monthly_cost_usd'], 'USD/month')} "
              f"| {format_value(f['energy_per_query_j'], 'J')} |")
    print()
    for p in result.plans:
        print(f"{Path(p.path).name}: " + "; ".join(
            f"{v.check} {format_value(v.predicted, v.unit)} vs {format_value(v.limit, v.unit)}" for v in p.verdicts))
    print()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        check_files(plans, catalog)
        times.append(time.perf_counter() - t0)
    print(f"planner check examples/*.yaml (4 plans, goodput included): median {statistics.median(times):.2f} s")
    draft = parse_plan(parse_yaml_text(DRAFT, Path("draft.yaml")), Path("draft.yaml"), draft=True)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        found = search(draft, catalog)
        times.append(time.perf_counter() - t0)
    d = found.best.plan.deployment
    print(f"planner plan (llama-3.1-70b fp8, every device): {found.evaluated} candidates, median {statistics.median(times):.2f} s; "
          f"chosen {d.replicas} × {d.hardware} tp {d.tp}, {format_value(found.best.monthly_cost_usd, 'USD/month')}")


if __name__ == "__main__":
    main()
