"""Speed of `recommend`: candidates evaluated per second in-process, and cold-start wall time of the CLI.

    python bench/recommend_speed.py [--runs 5]

1. In-process: the default math500 space (profiles already loaded, as in a notebook): time ``grid.build``
   (the roofline, law and token-count evaluations and the array combination) and the search on top,
   and report candidates per second for the whole and for the array combination alone.
2. Cold start: medians over ``--runs`` fresh processes of
   ``planner recommend --task math500 --target-accuracy 0.45 --format json`` and of
   ``python -c "import numpy, typer, rich, yaml"`` (the issue's reference), run alternately in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.files.catalog import Catalog  # noqa: E402
from planner.optimizer import grid, search  # noqa: E402
from planner.optimizer.request import SearchRequest  # noqa: E402


def in_process(repeats: int = 3) -> dict[str, float]:
    catalog = Catalog()
    law, source = catalog.law("math500")
    request = SearchRequest(target_accuracy=0.45)
    inputs = search.prepare(catalog, law, source, request)
    grid.build(inputs)  # warm caches (vote tables, lazy imports)
    build_s, total_s, n = [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        table = grid.build(inputs)
        t1 = time.perf_counter()
        search.recommend(catalog, law, source, request)
        t2 = time.perf_counter()
        build_s.append(t1 - t0)
        total_s.append(t2 - t1)
        n = len(table)
    # The array combination alone: every candidate's objective, masks and pick, on the built table.
    t0 = time.perf_counter()
    for _ in range(5):
        objective = search.objective_values(table, "cost", False)
        masks = search.constraint_masks(table, request, False)
        feasible = search._all(masks, len(table)) & (table.accuracy >= 0.45)
        search.pick(table, feasible, objective, maximize_accuracy=False)
    combine_s = (time.perf_counter() - t0) / 5
    return {"candidates": n, "build_s": statistics.median(build_s), "recommend_s": statistics.median(total_s),
            "candidates_per_s_end_to_end": n / statistics.median(total_s), "candidates_per_s_masks_and_pick": n / combine_s}


def cold_start(runs: int) -> dict[str, float]:
    planner_cmd = [sys.executable, "-m", "planner", "recommend", "--task", "math500", "--target-accuracy", "0.45", "--format", "json"]
    reference_cmd = [sys.executable, "-c", "import numpy, typer, rich, yaml"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    planner_s, reference_s = [], []
    for _ in range(runs):
        for cmd, out in ((reference_cmd, reference_s), (planner_cmd, planner_s)):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env, cwd="/")
            out.append(time.perf_counter() - t0)
    p, r = statistics.median(planner_s), statistics.median(reference_s)
    return {"planner_recommend_s": p, "import_reference_s": r, "ratio": p / r}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    inner = in_process()
    print(f"in-process: {inner['candidates']:,} candidates; grid.build {inner['build_s']:.2f} s; recommend {inner['recommend_s']:.2f} s "
          f"= {inner['candidates_per_s_end_to_end']:,.0f} candidates/s end to end; masks + pick "
          f"{inner['candidates_per_s_masks_and_pick']:,.0f} candidates/s")
    cold = cold_start(args.runs)
    print(f"cold start (median of {args.runs}): planner recommend {cold['planner_recommend_s']:.2f} s; "
          f"python -c 'import numpy, typer, rich, yaml' {cold['import_reference_s']:.2f} s; ratio {cold['ratio']:.1f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
